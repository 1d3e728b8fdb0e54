"""The fit and preparation choices are values: frozen all the way down, equal by content."""

from __future__ import annotations

import json

import pytest

from segtui.clustering.specs import FitSpec, PrepSpec
from segtui.errors import InputError


def test_a_fit_spec_cannot_change_after_it_is_made() -> None:
    params = {"k": 4}
    spec = FitSpec("kmeans", params, seed=1)
    params["k"] = 9
    assert spec.params["k"] == 4
    with pytest.raises(TypeError):
        spec.params["k"] = 5  # type: ignore[index]
    assert spec == FitSpec("kmeans", {"k": 4}, seed=1)
    assert hash(spec) == hash(FitSpec("kmeans", {"k": 4}, seed=1))
    assert spec != FitSpec("kmeans", {"k": 5}, seed=1)
    assert {spec: "fit"}[FitSpec("kmeans", {"k": 4}, seed=1)] == "fit"


def test_fit_spec_round_trips_through_json_and_refuses_bad_shapes() -> None:
    spec = FitSpec("gmm", {"k": 3, "covariance_type": "full"}, seed=2, sample_size=500)
    assert FitSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert spec.without("k").params == {"covariance_type": "full"}
    for bad, key in (
        ({"seed": "0"}, "seed"),
        ({"params": []}, "params"),
        ({"algorithm": 3}, "alg"),
    ):
        with pytest.raises(InputError, match=key):
            FitSpec.from_dict(bad)


def test_a_prep_spec_copies_what_it_is_given() -> None:
    transforms = {"x": "rank"}
    spec = PrepSpec(["x", "y"], transforms=transforms)  # type: ignore[arg-type]
    transforms["x"] = "none"
    assert spec.features == ("x", "y") and spec.transforms["x"] == "rank"
    with pytest.raises(TypeError):
        spec.transforms["x"] = "none"  # type: ignore[index]
