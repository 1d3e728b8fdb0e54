"""The loading report with ``--engine duckdb|spark`` is polars' report: rows read and kept, the
rows left out per reason with the first examples, values that are not numbers, users, time span.

Every delimited layout fixture gets rows broken on purpose (an unreadable timestamp, an empty
user id, a number column's text that is no number, a row with one field too many); the engine's
LoadReport must equal the one polars builds, field for field, and ``features`` must print the
same report lines.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from segtui.cli.main import app
from segtui.engines.duckdb_engine import DuckDBEngine, DuckDBSettings
from segtui.engines.features import Engine, counted_report, define_events, engine_report
from segtui.engines.raw_relation import raw_source
from segtui.ingest.events import load_events
from segtui.ingest.read_sql import report_sql
from segtui.ingest.report import REASON_COL, REASONS, LoadReport

LAYOUTS = Path(__file__).resolve().parents[1] / "data" / "layouts"
DELIMITED = sorted(p for p in LAYOUTS.iterdir() if p.suffix in (".csv", ".tsv"))
DELIMITED = [p for p in DELIMITED if p.name != "users_rfm.csv"]


def broken_copy(path: Path, folder: Path) -> Path:
    """The fixture with row 1's time unreadable (empty, for epoch numbers), row 2's user id
    empty, row 3's first number column (read from text) not a number, and one more row with an
    extra field at the end."""
    loaded = load_events(path)
    mapping = loaded.mapping
    delimiter = loaded.source.delimiter or ","
    frame = pl.read_csv(path, separator=delimiter, infer_schema=False)
    rows = [list(r) for r in frame.iter_rows()]
    names = frame.columns
    epoch = loaded.timestamp_plan.kind == "epoch"  # text there makes the column unreadable
    rows[0][names.index(mapping.columns["ts"])] = "" if epoch else "not a time"
    rows[1][names.index(mapping.columns["user_id"])] = ""
    numbers = list(loaded.report.number_sources.values())
    if numbers:
        rows[2][names.index(numbers[0].split(", ")[0])] = "abc"
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\n").writerows([names, *rows])
    last = text.getvalue().splitlines()[-1]
    out = folder / path.name
    out.write_text(text.getvalue() + last + delimiter + "extra\n", encoding="utf-8")
    return out


def reports(path: Path, engine: Engine) -> tuple[LoadReport, LoadReport]:
    """(polars' report, the engine's) of one file."""
    loaded = load_events(path)
    assert loaded.read_plan is not None
    raw = raw_source(loaded.source, loaded.read_plan)
    define_events(engine, raw, loaded.read_plan, loaded.report)
    return loaded.collect_report(), engine_report(engine, raw, loaded.report)


@pytest.fixture(scope="module")
def duck() -> DuckDBEngine:
    with DuckDBEngine(DuckDBSettings(256 * 1024**2, 1)) as engine:
        yield engine  # type: ignore[misc]


def test_the_broken_clickstream_rows_are_counted_per_reason_with_examples(
    duck: DuckDBEngine, tmp_path: Path
) -> None:
    path = broken_copy(LAYOUTS / "clickstream.csv", tmp_path)
    ours, theirs = reports(path, duck)
    assert theirs.to_dict() == ours.to_dict()
    assert (theirs.rows_read, theirs.rows_kept) == (6, 3)
    name = path.name
    assert {lo.reason: (lo.count, lo.examples) for lo in theirs.left_out} == {
        "ragged": (1, [(str(path), 6, "10")]),
        "no_user": (1, [(str(path), 2, None)]),
        "bad_timestamp": (1, [(str(path), 1, "not a time")]),
    }
    assert theirs.bad_values[0].line() == (
        "1 value of 'price' is not a number, e.g. row 3: 'abc'; the row is kept with no price"
    )
    assert f"{name} row 6: '10'" in "\n".join(theirs.lines())


@pytest.mark.parametrize("path", DELIMITED, ids=lambda p: p.name)
def test_duckdb_reports_what_polars_reports_on_every_delimited_layout(
    path: Path, duck: DuckDBEngine, tmp_path: Path
) -> None:
    ours, theirs = reports(broken_copy(path, tmp_path), duck)
    assert ours.rows_read > ours.rows_kept  # the broken rows are there to be counted
    assert theirs.to_dict() == ours.to_dict()


@pytest.mark.parametrize("path", DELIMITED, ids=lambda p: p.name)
def test_duckdb_counts_the_polars_report_over_the_checked_rows_polars_wrote(
    path: Path, tmp_path: Path
) -> None:
    """What ``watch init`` does: polars streams every checked row to parquet, DuckDB counts the
    report over it and keeps its events (in file order, sessions from the gap aside)."""
    loaded = load_events(broken_copy(path, tmp_path))
    spool = tmp_path / "checked.parquet"
    loaded.checked_rows.sink_parquet(spool)
    rows = f"read_parquet('{spool}')"
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        counted = counted_report(
            lambda sql: pl.from_arrow(con.sql(sql).to_arrow_table()),  # type: ignore[arg-type,return-value]
            "duckdb",
            loaded.report,
            rows,
            f"(SELECT * FROM {rows} WHERE {REASON_COL} = 0) AS kept",
        )
    ours = loaded.collect_report()
    assert ours.rows_read > ours.rows_kept
    assert counted.to_dict() == ours.to_dict()
    columns = loaded.checked_columns
    kept = pl.read_parquet(spool).filter(pl.col(REASON_COL) == 0).select(columns)
    events = loaded.events.select(columns).collect()
    if loaded.session_derived:  # loading sorts by user and time to number the sessions
        kept, events = kept.sort(columns, nulls_last=True), events.sort(columns, nulls_last=True)
    assert_frame_equal(kept, events)


def test_the_sql_counts_every_reason_of_the_one_list() -> None:
    loaded = load_events(LAYOUTS / "clickstream.csv")
    assert loaded.read_plan is not None
    sql = report_sql(loaded.read_plan, number_sources=["price"])
    for _, key in REASONS:
        assert f'AS "left_out_{key}"' in sql
    assert 'AS "bad_number_price"' in sql


def report_part(output: str) -> list[str]:
    """The lines a features run prints about loading (the engine's own first line aside)."""
    return [
        line
        for line in output.splitlines()
        if line.startswith(("rows read:", "users:", "time span:", "note:"))
    ]


def test_features_prints_the_polars_report_lines_with_duckdb(tmp_path: Path) -> None:
    path = broken_copy(LAYOUTS / "clickstream.csv", tmp_path)
    printed = {}
    for engine in ("polars", "duckdb"):
        out = tmp_path / f"{engine}.parquet"
        result = CliRunner().invoke(
            app, ["features", str(path), "-o", str(out), "--engine", engine]
        )
        assert result.exit_code == 0, result.output
        printed[engine] = result.stdout.splitlines()
    assert printed["duckdb"][0].startswith("engine: duckdb read")
    wrote = printed["polars"][-1].replace("polars.parquet", "duckdb.parquet")
    assert printed["duckdb"][1:] == [*printed["polars"][:-1], wrote]
    assert report_part("\n".join(printed["polars"])) == [
        "rows read: 6; kept: 3; left out: 3",
        "users: 3",
        "time span: 2019-10-01 00:01:10 to 2019-10-01 00:03:00 UTC (0.0 days)",
        "note: 1 value of 'price' is not a number, e.g. row 3: 'abc'; the row is kept with no "
        "price",
    ]


@pytest.mark.xdist_group("spark")
def test_spark_reports_what_polars_reports(spark, tmp_path: Path) -> None:
    from segtui.engines.spark_engine import SparkEngine

    path = broken_copy(LAYOUTS / "clickstream.csv", tmp_path)
    with SparkEngine(spark) as engine:
        ours, theirs = reports(path, engine)
    assert theirs.to_dict() == ours.to_dict()
    assert [lo.reason for lo in theirs.left_out] == ["ragged", "no_user", "bad_timestamp"]
