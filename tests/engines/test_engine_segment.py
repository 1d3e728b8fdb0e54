"""`segtui segment|sweep --engine duckdb|spark`: features and labels computed in the engine.

The engine computes every user's features, a sample picked there by the one sampling rule is
fitted here, and the fitted model's scoring SQL labels every user in the engine, which writes
the segments. When the sample holds everyone the result is the polars path's: same model, same
segment per user, same table. With a smaller sample the fitted users are the ones
``segtui.sampling.sample_rows`` picks, and every user is labelled as ``assign`` labels them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from segtui.artifacts.model import FOLDER_MODEL_NAME, read_model
from segtui.cli.main import app
from segtui.engines.segment import USERS, sample_sql, segments_sql
from segtui.sampling import sample_rows

ON_DUCKDB = pytest.mark.xdist_group("engine_segment")
"""The DuckDB tests share the module's fixtures on one worker; the Spark test joins the Spark
tests' group instead (xdist joins the names of a module mark and a test's own into a new group,
which would start a second Spark session)."""

SEGMENT = ["-k", "4", "--no-stability", "--seed", "3"]


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def refused(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 2, result.output
    return result.stderr


def assert_close(a: Any, b: Any, where: str = "model") -> None:
    """The same JSON value, floats within a relative 1e-9 (the engines' features differ by
    rounding in the last bits)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            assert_close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert abs(a - b) <= 1e-9 * max(1.0, abs(a)), where
    else:
        assert a == b, where


def assert_same_segments(ours: pl.DataFrame, theirs: pl.DataFrame) -> None:
    assert theirs.schema == ours.schema
    keys = ["user_id", "segment", "segment_id"]
    assert theirs.select(keys).equals(ours.select(keys))
    for name in ours.columns[3:]:
        tolerance = 1e-6 if name in ("pc1", "pc2") else 1e-9  # float32, as the export writes
        a, b = ours[name].cast(pl.Float64), theirs[name].cast(pl.Float64)
        assert (a.is_null() == b.is_null()).all(), name
        off = ((a - b).abs() > tolerance * pl.Series(a.abs()).clip(lower_bound=1.0)).sum()
        assert off == 0, name


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("log") / "log.csv"
    run("sample", "-n", "240", "--seed", "4", "--layout", "clickstream", "-o", str(path))
    return path


@pytest.fixture(scope="module")
def polars_run(log: Path) -> Path:
    out = log.parent / "polars.parquet"
    run("segment", str(log), *SEGMENT, "-o", str(out))
    return out


@pytest.fixture(scope="module")
def duckdb_run(log: Path) -> Path:
    out = log.parent / "duckdb.parquet"
    run("segment", str(log), *SEGMENT, "-o", str(out), "--engine", "duckdb")
    return out


def model_of(parquet: Path) -> dict[str, Any]:
    return json.loads(parquet.with_name(parquet.stem + ".model.json").read_text())


@ON_DUCKDB
def test_duckdb_gives_the_polars_model_and_labels_when_the_sample_holds_everyone(
    polars_run: Path, duckdb_run: Path
) -> None:
    ours, theirs = pl.read_parquet(polars_run), pl.read_parquet(duckdb_run)
    assert ours.height == 240 and ours["segment_id"].n_unique() == 4
    assert_same_segments(ours, theirs)
    a, b = model_of(polars_run), model_of(duckdb_run)
    a.pop("created"), b.pop("created")
    assert_close(a, b)
    assert read_model(duckdb_run).data == model_of(duckdb_run)  # the footer holds the model


@ON_DUCKDB
def test_a_smaller_sample_is_the_sampling_rules_and_everyone_is_labelled_as_assign_does(
    log: Path, polars_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sampled.parquet"
    printed = run(
        "segment", str(log), *SEGMENT, "-o", str(out), "--engine", "duckdb", "--sample-size", "90"
    )
    assert "fitted on a sample of 90 of 240 users drawn in the engine" in printed
    everyone = pl.read_parquet(polars_run)["user_id"].to_list()
    picked = sorted(everyone[i] for i in sample_rows(everyone, 90, 3))
    model = model_of(out)
    assert model["fingerprint"]["users"] == 90
    digest = hashlib.sha256("\n".join(picked).encode()).hexdigest()
    assert model["fingerprint"]["user_ids_sha256"] == digest
    assert model["cluster"]["sampled"] and model["cluster"]["sample_size"] == 90
    segments = pl.read_parquet(out)
    assert segments["user_id"].to_list() == everyone
    sizes = dict(segments.group_by("segment_id").len().iter_rows())
    assert {s["id"]: s["size"] for s in model["segments"]} == sizes
    labels = tmp_path / "assigned.parquet"
    run("assign", str(out.with_name("sampled.model.json")), str(log), "-o", str(labels))
    assert pl.read_parquet(labels).equals(segments.select("user_id", "segment", "segment_id"))


@ON_DUCKDB
def test_duckdb_sweep_fits_the_polars_users(log: Path) -> None:
    args = ["sweep", str(log), "--k", "3", "--no-stability", "--seed", "3", "--json"]
    ours = json.loads(run(*args))
    theirs = json.loads(run(*args, "--engine", "duckdb", "--memory-limit", "512MiB"))
    strip = lambda rows: [{**r, "seconds": 0} for r in rows]  # noqa: E731
    assert ours["users"] == theirs["users"] == 240
    assert_close(strip(ours["rows"]), strip(theirs["rows"]), "rows")
    sampled = json.loads(run(*args, "--engine", "duckdb", "--sample-size", "50"))
    assert sampled["users"] == 50


@ON_DUCKDB
def test_what_an_engine_cannot_score_is_refused_before_reading(log: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "x.parquet")
    said = refused("segment", str(log), "-o", out, "--engine", "duckdb", "--algo", "dbscan")
    assert "DBSCAN has none: density clustering" in said
    said = refused("segment", str(log), "-o", out, "--engine", "duckdb", "--transform", "a=rank")
    assert "--transform a=rank has no exact SQL form" in said
    said = refused("segment", str(log), "-o", out, "--engine", "duckdb", "--users-table")
    assert "--engine duckdb computes the features from event files" in said
    said = refused("sweep", str(log), "--spark-master", "local[1]")
    assert "--spark-master is for --engine spark" in said
    assert not list(tmp_path.iterdir())


@ON_DUCKDB
def test_a_folder_of_segment_parts_carries_its_model(duckdb_run: Path, tmp_path: Path) -> None:
    """A Spark segments folder (parts + the model inside): read_model, and so assign, find it."""
    folder = tmp_path / "parts"
    folder.mkdir()
    shutil.copy(duckdb_run, folder / "part-00000.parquet")
    shutil.copy(duckdb_run.with_name("duckdb.model.json"), folder / FOLDER_MODEL_NAME)
    assert read_model(folder).data == model_of(duckdb_run)
    parts = pl.read_parquet(folder / "*.parquet")  # as Spark and DuckDB read it: no model row
    assert parts.height == 240


@pytest.mark.xdist_group("spark")
def test_spark_picks_the_same_sample_and_labels(spark, duckdb_run: Path, tmp_path: Path) -> None:
    """The engine's two queries in Spark SQL over the same feature table: the sample, and every
    user labelled with features and coordinates (the CLI run is the DuckDB one's, tested above)."""
    from segtui.engines.spark_engine import SparkEngine

    segments = pl.read_parquet(duckdb_run)
    model = read_model(duckdb_run)
    features = segments.select("user_id", *model.columns)
    features.write_parquet(tmp_path / "features.parquet")
    engine = SparkEngine(spark)
    spark.read.parquet(str(tmp_path / "features.parquet")).createOrReplaceTempView(USERS)
    sample = engine.rows(sample_sql(70, 5, "spark"))
    everyone = segments["user_id"].to_list()
    assert sorted(sample["user_id"].to_list()) == [
        everyone[i] for i in sample_rows(everyone, 70, 5)
    ]
    labelled = engine.rows(segments_sql(model, "spark", model.features)).sort("user_id")
    assert_same_segments(segments, labelled)
