"""Generated features in a saved model: recorded as declarations, recomputed, never regenerated.

A segmentation clustered on generated features writes their declarations (with why they exist)
to the model; `segtui features --model` computes exactly the model's columns on other files, and
`segtui assign` labels them from the same declarations, whatever events and categories the new
files have.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from segtui.artifacts.model import read_model
from segtui.cli.main import app
from segtui.features.compile import compute_features
from segtui.features.generated import data_stats, generated_specs
from segtui.ingest.events import load_events
from segtui.sample import generate

FEATURES = [
    "events",
    "event_video_played_share",
    "event_page_view_per_session",
    "top_category_share",
    "category_fashion_share",
    "category_fashion_duration_s",
]


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def write(events: pl.DataFrame, path: Path) -> Path:
    events.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    return path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A model clustered on generated features, its training file and another file."""
    folder = tmp_path_factory.mktemp("generated_model")
    train, _ = generate(200, seed=7)
    # a non-canonical event name, as a content site would send it
    train = train.with_columns(
        pl.when(pl.col("event") == "search")
        .then(pl.lit("Video Played"))
        .otherwise(pl.col("event"))
        .alias("event")
    )
    other, _ = generate(150, seed=3)
    # the other file has no fashion and no video plays, and a new event name of its own
    other = other.filter(pl.col("category").fill_null("") != "fashion").with_columns(
        pl.when(pl.col("event") == "search")
        .then(pl.lit("Podcast Played"))
        .otherwise(pl.col("event"))
        .alias("event")
    )
    train_csv, other_csv = write(train, folder / "train.csv"), write(other, folder / "other.csv")
    out = folder / "seg.parquet"
    result = run("segment", train_csv, "-k", "2", "-o", out, "--features", ",".join(FEATURES))
    assert result.exit_code == 0, result.output
    return folder / "seg.model.json", train_csv, other_csv


def test_model_records_the_generated_declarations_and_why(fitted: tuple[Path, Path, Path]) -> None:
    model_path, train_csv, _ = fitted
    model = read_model(model_path)
    assert model.columns == FEATURES
    generated = {s.name: s for s in generated_specs(data_stats(load_events([train_csv]).events))}
    by_name = {s.name: s for s in model.specs or []}
    for name in FEATURES[1:]:
        assert by_name[name] == generated[name]  # round trip through the saved model
    raw = json.loads(model_path.read_text())["features"]["specs"]
    origins = {s["name"]: s.get("origin") for s in raw}
    assert origins["event_video_played_share"].startswith("event 'Video Played': ")
    assert origins["category_fashion_share"].startswith("category 'fashion': ")
    assert origins["events"] is None


def test_features_model_gives_exactly_the_models_columns(
    fitted: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    model_path, _, other_csv = fitted
    out = tmp_path / "other_features.parquet"
    result = run("features", "--model", model_path, other_csv, "-o", out)
    assert result.exit_code == 0, result.output
    assert f"x {len(FEATURES)} features of {model_path}" in result.output
    table = pl.read_parquet(out)
    assert table.columns == ["user_id", *FEATURES]  # nothing generated from the other file
    model = read_model(model_path)
    expected = compute_features(load_events([other_csv]).events, model.specs or [])
    assert table.equals(expected.select("user_id", *FEATURES).sort("user_id"))
    # the model's top category and event are fixed: absent from these files, so 0
    assert table["category_fashion_share"].max() == 0.0
    assert table["event_video_played_share"].max() == 0.0
    assert table["category_fashion_duration_s"].max() == 0.0


def test_assign_recomputes_the_generated_features(
    fitted: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    model_path, train_csv, other_csv = fitted
    labels = tmp_path / "labels.parquet"
    result = run("assign", model_path, other_csv, "-o", labels)
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(labels).height == 150
    # the training events get the exported labels back
    again = tmp_path / "again.parquet"
    assert run("assign", model_path, train_csv, "-o", again).exit_code == 0
    exported = pl.read_parquet(model_path.parent / "seg.parquet").select("user_id", "segment_id")
    assigned = pl.read_parquet(again).select("user_id", "segment_id")
    assert assigned.sort("user_id").equals(exported.sort("user_id"))


def test_features_model_refuses_options_that_change_the_set(
    fitted: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    model_path, _, other_csv = fitted
    result = run(
        "features", "--model", model_path, other_csv, "-o", tmp_path / "f.parquet", "--list"
    )
    assert result.exit_code == 2
    assert "--model computes the model's own features" in result.stderr
