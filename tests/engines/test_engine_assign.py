"""`segtui assign --engine duckdb|spark` writes assign's labels, computed in the engine.

The engine reads the raw files itself and runs the model's scoring SQL (its recorded reading,
features, preparation, clustering and edits); the written labels must equal the polars path's
row for row, on the training log, on a new log of the same layout, with --as-of, and as CSV.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from segtui.cli.main import app
from segtui.sample import write_sample

LAYOUTS = Path(__file__).resolve().parents[1] / "data" / "layouts"


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def labels(model: Path, paths: list[Path], out: Path, engine: str, *extra: str) -> pl.DataFrame:
    run("assign", str(model), *map(str, paths), "-o", str(out), "--engine", engine, *extra)
    if out.is_dir():
        return pl.read_parquet(sorted(out.glob("*.parquet")))
    if out.suffix == ".csv":
        return pl.read_csv(out, schema_overrides={"user_id": pl.Utf8})
    return pl.read_parquet(out)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A model fitted on one clickstream-layout log, with a rename and a rule segment; a second
    log of the same layout to label."""
    folder = tmp_path_factory.mktemp("fitted")
    train = folder / "train.csv"
    new = folder / "new.csv"
    run("sample", "-n", "300", "--seed", "4", "--layout", "clickstream", "-o", str(train))
    run("sample", "-n", "200", "--seed", "9", "--layout", "clickstream", "-o", str(new))
    out = folder / "seg.parquet"
    run(
        "segment",
        str(train),
        "-k",
        "4",
        "-o",
        str(out),
        "--no-stability",
        "--rule",
        "Big spenders: revenue > 500",
    )
    return folder / "seg.model.json", train, new


def test_duckdb_labels_are_assigns_on_training_and_new_files(
    fitted: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    model, train, new = fitted
    for i, path in enumerate((train, new)):
        ours = labels(model, [path], tmp_path / f"p{i}.parquet", "polars")
        theirs = labels(model, [path], tmp_path / f"d{i}.parquet", "duckdb")
        assert theirs.schema == ours.schema
        assert theirs.equals(ours)
        assert ours["segment"].n_unique() >= 3
    written = pq.read_schema(tmp_path / "d0.parquet").metadata
    assert written[b"segtui"] == pq.read_schema(tmp_path / "p0.parquet").metadata[b"segtui"]


def test_duckdb_labels_with_as_of_and_as_csv(
    fitted: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    model, train, _ = fitted
    extra = ["--as-of", "2024-10-01"]
    ours = labels(model, [train], tmp_path / "p.csv", "polars", *extra)
    theirs = labels(model, [train], tmp_path / "d.csv", "duckdb", *extra)
    assert theirs.equals(ours)
    before = CliRunner().invoke(
        app,
        [
            "assign",
            str(model),
            str(train),
            "-o",
            str(tmp_path / "x.parquet"),
            "--engine",
            "duckdb",
            "--as-of",
            "2001-01-01",
        ],
    )
    assert before.exit_code == 2 and "--as-of 2001-01-01 is before the first event" in (
        before.stderr
    )
    everything = labels(model, [train], tmp_path / "all.parquet", "duckdb")
    assert not everything.equals(theirs.cast(dict(everything.schema)))  # type: ignore[arg-type]


def test_a_users_table_model_is_refused_by_the_engine_with_the_reason(tmp_path: Path) -> None:
    table = LAYOUTS / "users_rfm.csv"
    run("segment", str(table), "-k", "2", "-o", str(tmp_path / "u.parquet"), "--no-stability")
    result = CliRunner().invoke(
        app,
        [
            "assign",
            str(tmp_path / "u.model.json"),
            str(table),
            "-o",
            str(tmp_path / "l.parquet"),
            "--engine",
            "duckdb",
        ],
    )
    assert result.exit_code == 2
    assert "the duckdb engine labels event files; this model was built from a users table" in (
        result.stderr
    )
    assert not (tmp_path / "l.parquet").exists()


def test_reading_flags_and_missing_columns_are_refused_with_an_engine(
    fitted: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    model, train, _ = fitted
    base = ["assign", str(model), str(train), "-o", str(tmp_path / "l.parquet")]
    result = CliRunner().invoke(app, [*base, "--engine", "duckdb", "--session-gap", "10"])
    assert result.exit_code == 2
    assert "--session-gap does not apply with --engine duckdb" in result.stderr
    other = write_sample(tmp_path, 50, seed=1).events_path  # segtui's own layout
    result = CliRunner().invoke(
        app,
        ["assign", str(model), str(other), "-o", str(tmp_path / "l.parquet"), "--engine", "duckdb"],
    )
    assert result.exit_code == 2
    assert "these files lack columns the model read: " in result.stderr
    assert not (tmp_path / "l.parquet").exists()


@pytest.mark.xdist_group("spark")
def test_spark_labels_are_assigns(spark, fitted: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """A folder of parts (a file output is collected the way features' is, tested there); the
    CLI reuses the fixture's session."""
    model, _, new = fitted
    ours = labels(model, [new], tmp_path / "p.parquet", "polars")
    parts = labels(model, [new], tmp_path / "parts", "spark")
    assert parts.sort("user_id").equals(ours)
    assert (tmp_path / "parts" / "_SUCCESS").exists()
