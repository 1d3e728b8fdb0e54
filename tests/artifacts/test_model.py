"""The model JSON: feature declarations as data, round trips, and refusing damaged files."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from segtui.artifacts.fitted import Provenance
from segtui.artifacts.model import (
    SCHEMA_VERSION,
    build_model,
    model_to_json,
    needed_specs,
    parse_model,
    read_model,
    spec_to_dict,
)
from segtui.clustering.specs import FitSpec, PrepSpec
from segtui.errors import InputError
from segtui.features.catalog import CATALOG, CATALOG_BY_NAME
from segtui.features.tables import spec_from_dict
from segtui.pipeline import run_segmentation
from segtui.segments.edits import edit_to_dict


@pytest.mark.parametrize("spec", CATALOG, ids=lambda s: s.name)
def test_every_catalog_spec_round_trips(spec) -> None:
    data = json.loads(json.dumps(spec_to_dict(spec)))
    assert spec_from_dict(data) == replace(spec, fallback=None)


def test_needed_specs_follow_operands() -> None:
    ratio = next(s for s in CATALOG if s.agg.kind == "ratio" and s.agg.references())
    names = [s.name for s in needed_specs(CATALOG, [ratio.name])]
    assert names[0] == ratio.name
    assert set(names[1:]) >= ratio.agg.references()


def users_table(n: int = 90) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    group = np.arange(n) % 3
    X = group[:, None] * 8.0 + rng.normal(0, 0.5, (n, 3))
    return pl.DataFrame(
        {"user_id": [f"u{i:03d}" for i in range(n)], "a": X[:, 0], "b": X[:, 1], "c": X[:, 2]}
    )


def make_model(algorithm: str = "kmeans") -> tuple[dict[str, Any], Any]:
    users = users_table()
    run = run_segmentation(users, PrepSpec(("a", "b")), FitSpec(algorithm, {"k": 3}, seed=1))
    seg = (
        run.segmentation.rename(0, "First")
        .merge([1, 2], name="Rest")
        .add_rule_segment("High c", "c > 17")
    )
    sub = np.asarray(
        run.prepared.X[seg.members(0)][:, 0] > np.median(run.prepared.X[seg.members(0)][:, 0]), int
    )
    seg = seg.split(0, sub)
    model = build_model(run.fitted(seg), Provenance(id_column="user_id"))
    return model, seg


def test_build_and_parse_round_trip(tmp_path: Path) -> None:
    model, _ = make_model()
    text = model_to_json(model)
    assert json.loads(text) == model
    path = tmp_path / "m.model.json"
    path.write_text(text, encoding="utf-8")
    parsed = read_model(path)
    assert parsed.data == model
    assert parsed.kind == "users_table"
    assert parsed.features == ["a", "b"]
    assert parsed.columns == ["a", "b", "c"]  # c is read by the rule segment
    assert parsed.specs is None
    assert model["schema_version"] == SCHEMA_VERSION
    assert model["fingerprint"]["users"] == 90
    assert model["fingerprint"]["rows"] == 90
    assert set(model["fingerprint"]["feature_means"]) == {"a", "b", "c"}
    assert len(model["fingerprint"]["user_ids_sha256"]) == 64


def test_segmentation_edits_survive_the_model() -> None:
    model, seg = make_model()
    saved = seg.to_dict()
    stored = model["segmentation"]
    assert "user_ids" not in stored and "labels" not in stored
    assert stored["names"] == saved["names"]
    assert stored["noise_id"] == saved["noise_id"]
    assert stored["n_users"] == 90
    expected = [{k: v for k, v in e.items() if k != "member_ids"} for e in saved["edits"]]
    assert stored["edits"] == expected
    assert [e["op"] for e in stored["edits"]] == ["rename", "merge", "add_rule", "split"]
    assert {s["name"] for s in model["segments"]} == set(seg.names.values())
    split = model["splits"][0]
    assert split["edit"] == 3 and split["segment_id"] == 0
    assert len(split["centers"]) == 2 and len(split["centers"][0]) == 2
    parsed = parse_model(json.loads(model_to_json(model)))
    assert parsed.segment_names == seg.names
    saved_ops = [edit_to_dict(e)["op"] for e in parsed.segmentation.edits]
    assert saved_ops == ["rename", "merge", "add_rule", "split"]


def test_model_keeps_no_per_user_lists_and_copies_none(monkeypatch: pytest.MonkeyPatch) -> None:
    from segtui.segments.segmentation import Segmentation

    copied: list[int] = []
    to_dict = Segmentation.to_dict

    def spy(self: Segmentation) -> dict[str, Any]:
        copied.append(len(self.user_ids))
        return to_dict(self)

    monkeypatch.setattr(Segmentation, "to_dict", spy)
    model, seg = make_model()
    assert copied == [0]  # serialised once, without the 90 user ids and labels
    saved = to_dict(seg)
    slim = {k: v for k, v in saved.items() if k not in ("user_ids", "labels", "undone")}
    slim["edits"] = [{k: v for k, v in e.items() if k != "member_ids"} for e in saved["edits"]]
    slim["n_users"] = 90
    assert json.dumps(model["segmentation"]) == json.dumps(slim)  # same keys, same order
    ids = "\n".join(sorted(users_table()["user_id"].to_list()))
    assert model["fingerprint"]["user_ids_sha256"] == hashlib.sha256(ids.encode()).hexdigest()


def damaged(change) -> dict[str, Any]:
    model, _ = make_model()
    data = copy.deepcopy(model)
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d.pop("prepare"), "'prepare' is missing"),
        (lambda d: d["cluster"].pop("state"), "'cluster.state' is missing"),
        (lambda d: d["cluster"].__setitem__("seed", "zero"), "'cluster.seed' must be an integer"),
        (lambda d: d["cluster"].__setitem__("algorithm", "kmeens"), "'cluster.algorithm'"),
        (
            lambda d: [row.pop() for row in d["cluster"]["state"]["centers"]],
            "'cluster.state.centers' has rows of 1 values for 2 features",
        ),
        (lambda d: d["cluster"]["state"]["centers"][0].pop(), "'cluster.state.centers' must be"),
        (lambda d: d["projection"]["mean"].append(0.0), "'projection.mean' has 3 values"),
        (lambda d: d["features"]["names"].reverse(), "'prepare.features' do not match"),
        (lambda d: d["segmentation"]["edits"][1].pop("target_id"), "edits[1].target_id' is"),
        (lambda d: d["segmentation"]["edits"][0].__setitem__("op", "zap"), "edits[0].op"),
        (lambda d: d["splits"].clear(), "'splits' has no centers"),
        (lambda d: d["source"].__setitem__("kind", "sql"), "'source.kind'"),
        (lambda d: d["splits"][0]["centers"].pop(), "'splits[0].centers' has 1 centers"),
    ],
)
def test_damaged_models_name_the_key(change, key: str) -> None:
    with pytest.raises(InputError) as info:
        parse_model(damaged(change), file="m.model.json")
    assert key in info.value.message
    assert "export it again" in (info.value.hint or "")


def test_newer_schema_is_refused() -> None:
    data = damaged(lambda d: d.__setitem__("schema_version", SCHEMA_VERSION + 1))
    with pytest.raises(InputError, match="newer segtui") as info:
        parse_model(data)
    assert "Upgrade segtui" in (info.value.hint or "")


def test_not_json_and_not_a_model(tmp_path: Path) -> None:
    bad = tmp_path / "bad.model.json"
    bad.write_text('{"format": "segtui.model",', encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        read_model(bad)
    with pytest.raises(InputError, match="not a segtui model"):
        parse_model({"hello": 1})
    with pytest.raises(InputError, match="not found"):
        read_model(tmp_path / "nope.model.json")


def test_events_model_needs_specs_and_mapping() -> None:
    data = damaged(lambda d: d["source"].__setitem__("kind", "events"))
    with pytest.raises(InputError, match=r"'features\.specs' is missing"):
        parse_model(data)
    spec = spec_to_dict(CATALOG_BY_NAME["events"])
    data["features"]["specs"] = [{**spec, "name": n} for n in ("a", "b", "c")]
    with pytest.raises(InputError, match="'mapping' is missing"):
        parse_model(data)
    data["features"]["specs"][0]["kind"] = "median"
    with pytest.raises(InputError, match=r"'features.specs\[0\]' is not a valid feature"):
        parse_model(data)


def test_fills_are_recorded_per_feature_and_old_files_mean_median() -> None:
    users = users_table().with_columns(
        pl.when(pl.col("a") > 12).then(None).otherwise(pl.col("a")).alias("a")
    )
    run = run_segmentation(
        users, PrepSpec(("a", "b"), default_fills={"a": "max"}), FitSpec("kmeans", {"k": 3}, seed=1)
    )
    model = build_model(run.fitted(), Provenance(id_column="user_id"))
    data = json.loads(model_to_json(model))
    a, b = data["prepare"]["features"]
    assert (a["fill"], b["fill"]) == ("max", "median")
    assert a["impute"] == users["a"].max() and a["n_missing"] == 30
    parsed = parse_model(data)
    assert parsed.fills == {"a": "max", "b": "median"}
    assert parsed.prepare == run.prepared.params
    # written before fills existed (schema version 1): read as the median it was
    old = copy.deepcopy(data)
    for feature in old["prepare"]["features"]:
        del feature["fill"]
    old["schema_version"] = 1
    assert parse_model(old).fills == {"a": "median", "b": "median"}
    assert parse_model(old).prepare.features[0].impute == a["impute"]
    data["prepare"]["features"][0]["fill"] = "mode"
    with pytest.raises(InputError, match=r"'prepare' is not valid .*unknown fill 'mode'"):
        parse_model(data)


def test_event_specs_in_the_model_carry_their_fill() -> None:
    data = json.loads(json.dumps(spec_to_dict(CATALOG_BY_NAME["cart_abandonment"])))
    assert data["fill"] == "zero"
    assert spec_from_dict(data).fill == "zero"
