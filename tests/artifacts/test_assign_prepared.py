"""assign applies every preparation step a model records: weights and Yeo-Johnson lambdas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from segtui.artifacts.assign import assign
from segtui.artifacts.export import export_segments
from segtui.artifacts.fitted import ExportTarget
from segtui.artifacts.model import read_model
from segtui.clustering.prepare import prepare
from segtui.clustering.specs import FitSpec, PrepSpec
from segtui.pipeline import load_users, run_segmentation
from segtui.sample import generate


@pytest.mark.parametrize("weighting", ["within-segment", "time-position", "family"])
def test_assign_on_the_training_files_reproduces_the_fit(tmp_path: Path, weighting: str) -> None:
    events, _ = generate(200, seed=3)
    path = tmp_path / "events.csv"
    events.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    data = load_users([path])
    prep = PrepSpec.for_data(data)
    # the time-position features are out of the default set; a person can still cluster on them
    time_position = tuple(n for n in ("tenure_days", "days_since_last_event") if n in data.features)
    spec = PrepSpec(
        (*prep.features, *time_position),
        default_transforms=prep.default_transforms,
        default_fills=prep.default_fills,
        families=prep.families,
        weighting=weighting,
        power="yeo-johnson",
    )
    run = run_segmentation(data.users, spec, FitSpec("kmeans", {"k": 4}, seed=0))
    params = run.prepared.params
    assert any(f.weight != 1.0 for f in params.features)
    assert any(f.power is not None for f in params.features)
    written = export_segments(
        ExportTarget(tmp_path / "segments.parquet"), run.fitted(), data.provenance
    )
    expected = pl.read_parquet(written.parquet).select("user_id", "segment", "segment_id")
    model = read_model(tmp_path / "segments.model.json")
    assert model.prepare == params
    assert model.prepare.weighting == weighting
    assert assign(model, [path]).equals(expected)


@pytest.mark.parametrize(("algorithm", "weighted"), [("kmeans", True), ("gmm", False)])
def test_within_segment_weights_are_the_default_for_kmeans_only(
    tmp_path: Path, algorithm: str, weighted: bool
) -> None:
    events, _ = generate(300, seed=5)
    path = tmp_path / "events.csv"
    events.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    data = load_users([path])
    run = run_segmentation(data.users, PrepSpec.for_data(data), FitSpec(algorithm, {"k": 4}))
    params = run.prepared.params
    assert params.weighting == ("within-segment" if weighted else "none")
    assert (len({f.weight for f in params.features}) > 1) == weighted
    notes = " ".join(run.messages)
    if weighted:
        assert "features weighted by how tightly the segments hold them" in notes
        # the matrix the segments were fitted on is the prepared one times the weights
        unweighted = prepare(data.users, PrepSpec.for_data(data, weighting="none"))
        assert np.allclose(run.prepared.unweighted(), unweighted.X)
    else:
        assert "ran on the unweighted features" in notes
