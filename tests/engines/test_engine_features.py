"""`segtui features --engine polars|duckdb|spark` writes the same table from the same files.

Each engine reads the raw files itself (DuckDB ``read_csv``, ``read_parquet``,
``read_ndjson_objects``; Spark's readers), so these run the command end to end and compare the
written tables: same users, same columns and types, every value within a relative 1e-9, nulls
where the others have nulls.
Every layout fixture in tests/data, a generated log, a hand-made CSV with the awkward rows
(leading zeros, a quoted line break, a ragged row), a hive-partitioned parquet folder, a model's
features and the CSV output.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from segtui.cli.main import app
from segtui.engines.duckdb_engine import memory_limit_bytes
from segtui.errors import InputError
from segtui.sample import write_sample

from .test_feature_sql import assert_same_features

LAYOUTS = Path(__file__).resolve().parents[1] / "data" / "layouts"
EVENT_LAYOUTS = sorted(p for p in LAYOUTS.iterdir() if p.name != "users_rfm.csv")
USERS_TABLE = LAYOUTS / "users_rfm.csv"
MIB = 1024**2


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def features(paths: list[Path], out: Path, engine: str, *extra: str) -> pl.DataFrame:
    run("features", *map(str, paths), "-o", str(out), "--engine", engine, *extra)
    if out.is_dir():
        return pl.read_parquet(sorted(out.glob("*.parquet")))
    return pl.read_csv(out) if out.suffix == ".csv" else pl.read_parquet(out)


def awkward_csvs(folder: Path) -> list[Path]:
    """Ids with leading zeros, a quoted field with a line break and a delimiter, an empty event
    (left out), a blank category; then, in a file of its own, ragged rows: one field too many or
    too few is left out by every engine, trailing empty fields pass. (With a quoted line break
    in the file, polars does not look for ragged rows and DuckDB still does: not tested.)"""
    quoted = folder / "quoted.csv"
    quoted.write_text(
        "user_id,timestamp,event,category,price\n"
        '007,2024-01-01T10:00:00Z,page_view,"shoes, red\nand blue",1.5\n'
        "007,2024-01-01T10:05:00Z,purchase,,20\n"
        "7,2024-01-02T10:00:00Z,page_view,hats,\n"
        "0042,2024-01-03T09:00:00Z,,hats,1\n"
        "0042,2024-01-03T09:30:00Z,add_to_cart,hats,2\n"
    )
    ragged = folder / "ragged.csv"
    ragged.write_text(
        "user_id,timestamp,event,price\n"
        "007,2024-01-01T10:00:00Z,page_view,1.5\n"
        "007,2024-01-01T10:05:00Z,purchase,20,,\n"
        "7,2024-01-02T10:00:00Z,purchase,3,x\n"
        "7,2024-01-02T11:00:00Z,page_view\n"
        "7,2024-01-02T12:00:00Z,page_view,\n"
    )
    return [quoted, ragged]


@pytest.mark.parametrize("path", EVENT_LAYOUTS, ids=lambda p: p.name)
def test_duckdb_writes_the_polars_table_on_every_layout_fixture(path: Path, tmp_path: Path) -> None:
    ours = features([path], tmp_path / "polars.parquet", "polars")
    theirs = features([path], tmp_path / "duckdb.parquet", "duckdb")
    assert ours.height > 0 and ours.width > 30
    assert_same_features(ours, theirs)


def test_every_engine_refuses_a_users_table_the_same_way(tmp_path: Path) -> None:
    """`features` does not take a users table (its columns are the features): every engine says
    so, before starting anything."""
    for engine in ("polars", "duckdb", "spark"):
        out = tmp_path / f"{engine}.parquet"
        result = CliRunner().invoke(
            app, ["features", str(USERS_TABLE), "-o", str(out), "--engine", engine]
        )
        assert result.exit_code == 2, result.output
        assert "this is a users table" in result.stderr
        assert not out.exists()


def test_a_generated_log_and_awkward_rows_give_the_same_table(tmp_path: Path) -> None:
    log = write_sample(tmp_path, 300, seed=3).events_path
    tables = []
    for path in (log, *awkward_csvs(tmp_path)):
        ours = features([path], tmp_path / "p.parquet", "polars")
        theirs = features([path], tmp_path / "d.parquet", "duckdb")
        assert_same_features(ours, theirs)
        tables.append(ours)
    assert tables[1]["user_id"].to_list() == ["0042", "007", "7"]  # leading zeros kept
    ragged = tables[2].select("user_id", "events", "purchases").rows()
    assert ragged == [("007", 2, 1), ("7", 1, 0)]  # the two ragged rows are out


def test_a_header_cell_with_a_doubled_quote_is_one_name_in_every_engine(tmp_path: Path) -> None:
    """RFC 4180 reads a quoted header cell with doubled quotes inside (shop ""aisle"" here) as
    shop "aisle", as DuckDB does; polars kept the quotes doubled, so the column mapped by its
    name was missing in one engine."""
    path = tmp_path / "quoted_header.csv"
    path.write_text(
        'user_id,timestamp,event,"shop ""aisle"" name"\n'
        "u1,2024-01-01T10:00:00Z,page_view,hats\n"
        "u1,2024-01-01T10:05:00Z,page_view,shoes\n"
        "u2,2024-01-02T10:00:00Z,page_view,hats\n"
    )
    mapped = ("--map", 'category=shop "aisle" name')
    ours = features([path], tmp_path / "p.parquet", "polars", *mapped)
    theirs = features([path], tmp_path / "d.parquet", "duckdb", *mapped)
    assert_same_features(ours, theirs)
    assert ours.sort("user_id")["category_diversity"].to_list() == [2, 1]


def test_as_of_and_a_chosen_feature_list_give_the_same_table(tmp_path: Path) -> None:
    log = write_sample(tmp_path, 200, seed=5).events_path
    extra = ["--as-of", "2024-09-01", "--features", "events,revenue,recency_days,tenure_days"]
    ours = features([log], tmp_path / "p.parquet", "polars", *extra)
    theirs = features([log], tmp_path / "d.parquet", "duckdb", *extra)
    assert ours.columns == ["user_id", "events", "revenue", "recency_days", "tenure_days"]
    assert_same_features(ours, theirs)


def test_an_as_of_before_every_event_is_refused_by_the_engine_too(tmp_path: Path) -> None:
    log = write_sample(tmp_path, 50, seed=5).events_path
    args = ["features", str(log), "-o", str(tmp_path / "d.parquet"), "--as-of", "1999-01-01"]
    result = CliRunner().invoke(app, [*args, "--engine", "duckdb"])
    assert result.exit_code == 2
    assert "--as-of 1999-01-01 is before the first event" in result.stderr


def test_a_hive_partitioned_parquet_folder_is_read_by_duckdb(tmp_path: Path) -> None:
    log = write_sample(tmp_path, 200, seed=7).events_path
    frame = pl.read_csv(log).with_columns(
        (pl.col("user_id").hash(seed=1) % 3).cast(pl.Utf8).alias("shard")
    )
    folder = tmp_path / "hive"
    frame.write_parquet(folder, partition_by="shard")
    files = sorted(folder.rglob("*.parquet"))
    assert len(files) == 3 and all("shard=" in f.parent.name for f in files)
    ours = features(files, tmp_path / "p.parquet", "polars")
    theirs = features([folder], tmp_path / "d.parquet", "duckdb")
    refused = CliRunner().invoke(app, ["features", str(folder), "-o", str(tmp_path / "x.parquet")])
    assert refused.exit_code == 2
    assert "hive partitions (key=value sub-folders), which the polars engine" in refused.stderr
    assert ours.height == 200
    assert_same_features(ours, theirs)


def test_a_models_features_are_the_same_in_duckdb(tmp_path: Path) -> None:
    log = write_sample(tmp_path, 300, seed=4).events_path
    run("segment", str(log), "-k", "4", "-o", str(tmp_path / "seg.parquet"), "--no-stability")
    model = tmp_path / "seg.model.json"
    ours = features([log], tmp_path / "p.parquet", "polars", "--model", str(model))
    theirs = features([log], tmp_path / "d.parquet", "duckdb", "--model", str(model))
    assert ours.height == 300
    assert_same_features(ours, theirs)


def test_csv_output_is_written_by_duckdb_with_the_same_values(tmp_path: Path) -> None:
    path = LAYOUTS / "clickstream.csv"
    ours = features([path], tmp_path / "p.csv", "polars")
    theirs = features([path], tmp_path / "d.csv", "duckdb")
    assert_same_features(ours, theirs.cast(dict(ours.schema)))  # type: ignore[arg-type]


INFINITE = """
[[feature]]
name = "cheap_views"
family = "activity"
description = "events under an infinite price"
kind = "count"
where = [{column = "price", op = "<", value = inf}]
"""


def test_a_feature_without_sql_form_fails_by_name_or_is_left_out(tmp_path: Path) -> None:
    """An infinite filter value has no SQL literal here: asked for, the command fails naming
    it and why; from the default set, it is left out with a note and the rest is written."""
    declared = tmp_path / "inf.toml"
    declared.write_text(INFINITE)
    path = str(LAYOUTS / "clickstream.csv")
    out = tmp_path / "d.parquet"
    base = ["features", path, "--feature-file", str(declared), "-o", str(out)]
    asked = CliRunner().invoke(app, [*base, "--engine", "duckdb", "--features", "cheap_views"])
    assert asked.exit_code == 2
    assert (
        "feature 'cheap_views' cannot be computed by the duckdb engine: it has no SQL form "
        "(a filter value must be a finite number, not inf)"
    ) in asked.stderr
    assert not out.exists()
    said = run(*base, "--engine", "duckdb")
    assert "left out 'cheap_views': the duckdb engine has no SQL form for it" in said
    theirs = pl.read_parquet(out)
    ours = features(
        [LAYOUTS / "clickstream.csv"],
        tmp_path / "p.parquet",
        "polars",
        "--feature-file",
        str(declared),
    )
    assert "cheap_views" in ours.columns and "cheap_views" not in theirs.columns
    assert_same_features(ours.drop("cheap_views"), theirs)


def test_memory_limit_is_a_size_or_a_share_of_memory() -> None:
    total = 1000 * MIB
    assert memory_limit_bytes(None, total) == 600 * MIB
    assert memory_limit_bytes("50%", total) == 500 * MIB
    assert memory_limit_bytes("2GB", total) == 2_000_000_000
    assert memory_limit_bytes("512MiB", total) == 512 * MIB
    for bad in ("lots", "0%", "150%", "1MB"):
        with pytest.raises(InputError, match="--memory-limit"):
            memory_limit_bytes(bad, total)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "pandas"], "--engine 'pandas' is not an engine"),
        (["--memory-limit", "2GB"], "--memory-limit is for --engine duckdb"),
        (["--engine", "duckdb", "--spark-master", "local[2]"], "--spark-master is for --engine"),
        (["--engine", "duckdb", "--memory-limit", "lots"], "is not a size or a share of memory"),
    ],
)
def test_engine_flags_are_checked_before_reading(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(
        app,
        ["features", str(LAYOUTS / "clickstream.csv"), "-o", str(tmp_path / "x.parquet"), *args],
    )
    assert result.exit_code == 2 and message in result.stderr


def test_spark_without_pyspark_or_java_is_refused_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["features", str(LAYOUTS / "clickstream.csv"), "-o", str(tmp_path / "x.parquet")]
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    result = CliRunner().invoke(app, [*args, "--engine", "spark"])
    assert result.exit_code == 2
    assert "--engine spark needs pyspark, which is not installed" in result.stderr
    monkeypatch.delitem(sys.modules, "pyspark.sql")
    pytest.importorskip("pyspark.sql")
    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    result = CliRunner().invoke(app, [*args, "--engine", "spark"])
    assert result.exit_code == 2
    assert "--engine spark needs Java" in result.stderr
    assert not (tmp_path / "x.parquet").exists()


SPARK_LAYOUTS = ["segment_track.ndjson"]
"""NDJSON with nested objects (Spark's JSON reader); the CSV reader is called on the ragged rows
and the parquet reader on the generated log. The reading and feature SQL of every other layout
fixture runs in Spark in test_read_sql.py and test_feature_sql.py; what differs here is only the
reader, which depends on the format, and each Spark run costs seconds."""


@pytest.mark.xdist_group("spark")
def test_spark_writes_the_polars_table_on_layouts_and_a_generated_log(
    spark, tmp_path: Path
) -> None:
    """One Spark test over several inputs; the CLI reuses the session of the fixture. A file
    output is collected; a folder output is parquet parts. The generated log as parquet (Spark's
    parquet reader), the awkward CSV rows (quoted line breaks, ragged rows)."""
    log = write_sample(tmp_path, 300, seed=3).events_path
    parquet = tmp_path / "log.parquet"
    pl.read_csv(log).write_parquet(parquet)
    inputs = [LAYOUTS / SPARK_LAYOUTS[0], awkward_csvs(tmp_path)[1], parquet]
    for i, path in enumerate(inputs):
        ours = features([path], tmp_path / f"p{i}.parquet", "polars")
        out = tmp_path / f"s{i}.parquet" if i % 2 else tmp_path / f"s{i}"
        theirs = features([path], out, "spark")
        assert_same_features(ours, theirs)
    assert (tmp_path / "s0" / "_SUCCESS").exists()
    # a folder Spark wrote is replaced; any other folder is refused
    features([log], tmp_path / "s0", "spark", "--features", "events")
    other = tmp_path / "mine"
    other.mkdir()
    result = CliRunner().invoke(app, ["features", str(log), "-o", str(other), "--engine", "spark"])
    assert result.exit_code == 2 and "is not one Spark wrote" in result.stderr
    # the runs reused the fixture's session and left its own settings alone
    assert spark.conf.get("spark.sql.shuffle.partitions") == "1"
