"""Reading raw rows in SQL gives the canonical events polars gives: every layout fixture.

The raw relation is the source columns as segtui's reader scanned them (CSV all text, NDJSON
flattened); the SQL applies the load's recorded decisions (formats, aliases, refunds, revenue,
sessions) and must give the same rows, values and nulls.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from segtui.ingest.events import LoadOptions, load_events
from segtui.ingest.read_sql import checked_sql, kept_events_sql, read_sql
from segtui.ingest.sources import open_source
from segtui.sample import write_sample

LAYOUTS = Path(__file__).resolve().parents[1] / "data" / "layouts"
EVENT_LAYOUTS = sorted(p for p in LAYOUTS.iterdir() if p.name != "users_rfm.csv")


def raw_relation(path: Path) -> pl.DataFrame:
    raw = open_source([path]).frame.collect()
    return raw.drop([c for c in raw.columns if c.startswith("__")])


def duckdb_events(raw: pl.DataFrame, sql: str) -> pl.DataFrame:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("raw_events", raw.to_arrow())
    return pl.from_arrow(con.sql(sql).to_arrow_table())  # type: ignore[return-value]


def assert_same_events(
    path: Path, options: LoadOptions | None = None, checked: bool = False
) -> pl.DataFrame:
    """DuckDB's events of the raw rows are polars': read in one query, or (``checked``) the
    kept rows of every row checked, as the engines read them alongside the loading report."""
    loaded = load_events([path], options)
    assert loaded.read_plan is not None
    ours = loaded.events.collect()
    sql = read_sql(loaded.read_plan)
    if checked:
        counted = list(loaded.report.number_sources)
        rows = f"({checked_sql(loaded.read_plan, number_sources=counted)}) AS checked"
        sql = kept_events_sql(loaded.read_plan, rows)
    theirs = duckdb_events(raw_relation(path), sql)
    assert theirs.columns == ours.columns
    theirs = theirs.cast(dict(ours.schema))  # type: ignore[arg-type]
    assert_frame_equal(
        theirs.sort(theirs.columns), ours.sort(ours.columns), check_exact=False, rel_tol=1e-9
    )
    return ours


@pytest.mark.parametrize("path", EVENT_LAYOUTS, ids=lambda p: p.name)
def test_every_layout_fixture_reads_the_same_in_duckdb(path: Path) -> None:
    assert assert_same_events(path).height > 0


@pytest.mark.parametrize("path", EVENT_LAYOUTS, ids=lambda p: p.name)
def test_the_kept_rows_of_the_checked_rows_are_the_events(path: Path) -> None:
    assert assert_same_events(path, checked=True).height > 0


def test_a_generated_log_with_derived_sessions_reads_the_same(tmp_path: Path) -> None:
    events = write_sample(tmp_path, 200, seed=2).events_path
    frame = pl.read_csv(events).drop("session_id")
    path = tmp_path / "no_sessions.csv"
    frame.write_csv(path)
    ours = assert_same_events(path, LoadOptions(session_gap_minutes=20))
    assert ours["session_id"].n_unique() > 200


PADDING = ("\u00a0", "\u3000", "\u2003", "\x0b", " \t")
"""White space polars strips and the ASCII ``\\s`` of DuckDB's and Java's regexes does not."""


def padded_csv(folder: Path) -> Path:
    """The clickstream fixture with every value padded by Unicode white space on both sides."""
    frame = pl.read_csv(LAYOUTS / "clickstream.csv", infer_schema_length=0)
    frame = frame.with_columns(
        (
            pl.lit(PADDING[i % len(PADDING)]) + pl.col(c) + pl.lit(PADDING[-1 - i % len(PADDING)])
        ).alias(c)
        for i, c in enumerate(frame.columns)
    )
    path = folder / "padded.csv"
    frame.write_csv(path)
    return path


def test_values_padded_with_unicode_white_space_read_the_same(tmp_path: Path) -> None:
    ours = assert_same_events(padded_csv(tmp_path))
    assert ours.height > 0 and not ours["user_id"].str.contains(r"\s").any()


EDGES = ("\x85", "\u00a0", "\u3000", " ", "\x84", "\x7f", "!")
"""Code points at the edges of the ASCII range DuckDB reads untrimmed: white space (U+0085, a
no-break space, U+3000, a space) and not (U+0084, DEL, ``!``), which must stay."""


def test_values_padded_on_one_side_read_the_same(tmp_path: Path) -> None:
    """DuckDB trims only values not starting and ending in printable ASCII: white space on
    either edge alone, and characters next to that range that are not white space."""
    frame = pl.read_csv(LAYOUTS / "clickstream.csv", infer_schema_length=0)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) % 2 == (i % 2))
        .then(pl.lit(EDGES[i % len(EDGES)]) + pl.col(c))
        .otherwise(pl.col(c) + pl.lit(EDGES[(i + 3) % len(EDGES)]))
        .alias(c)
        for i, c in enumerate(frame.columns)
        if c not in ("event_time", "user_id")
    )
    path = tmp_path / "one_side.csv"
    frame.write_csv(path)
    ours = assert_same_events(path)
    kept = {"\x84", "\x7f", "!"}
    assert ours.height > 0
    assert any(v[0] in kept or v[-1] in kept for v in ours["event"].drop_nulls().to_list())


EDGE_TIMES = {
    "2024-06-01T23:59:59.999999990": (23, 999999),
    "2024-06-02T07:59:59.999999500": (7, 999999),
    "2024-06-03T14:00:00.000000999": (14, 0),
    "1969-12-31T23:59:59.999999500": (23, 999999),
    "2024-06-04T21:59:59.123456789": (21, 123456),
    "2024-03-01 10:00:00.1234567891": (10, 123456),
    "2024-03-01T10:00:00.123456789012Z": (10, 123456),
    "1969-12-31T23:59:59.99999999999999999999": (23, 999999),
    "2024-03-01T23:59:59.9999999999+02:00": (21, 999999),
    "2024-03-01 08:00:00.0000009999-02:00": (10, 0),
    "2024-03-01 10:00:00.1234567891 UTC": (10, 123456),
}
"""Times with more fraction digits than a microsecond, and the hour and microsecond polars
reads: chrono's ``%.f`` takes any number of digits, polars floors them to the microsecond."""


def edge_times_csv(folder: Path) -> Path:
    path = folder / "edge_times.csv"
    ids = [f"u{i:02d}" for i in range(len(EDGE_TIMES))]
    pl.DataFrame({"user_id": ids, "ts": list(EDGE_TIMES), "event": "view"}).write_csv(path)
    return path


def test_times_past_the_microsecond_read_the_same(tmp_path: Path) -> None:
    """Seven to nine fraction digits and more (DuckDB's ``%n`` takes at most nine) are floored
    to the microsecond in both readers, also before 1970 and without an offset:
    ``23:59:59.9999995`` stays on its day."""
    ts = assert_same_events(edge_times_csv(tmp_path)).sort("user_id")["ts"]
    assert list(zip(ts.dt.hour(), ts.dt.microsecond(), strict=True)) == list(EDGE_TIMES.values())


@pytest.mark.parametrize("path", EVENT_LAYOUTS, ids=lambda p: p.name)
def test_raw_rows_to_features_in_duckdb_alone(path: Path) -> None:
    """The reading SQL feeds the feature SQL: raw source columns in, polars' features out."""
    from segtui.features.compile import compute_features
    from segtui.features.generated import offered_specs
    from segtui.features.selection import available_features
    from segtui.features.sql import feature_sql

    from .test_feature_sql import assert_same_features

    loaded = load_events([path])
    assert loaded.read_plan is not None
    offered, _ = available_features(offered_specs(loaded.events, (), loaded.source), loaded.columns)
    ours = compute_features(loaded.events, offered)
    relation = f"({read_sql(loaded.read_plan)})"
    sql = feature_sql(offered, loaded.columns, "duckdb", relation)
    assert_same_features(ours, duckdb_events(raw_relation(path), sql))


@pytest.mark.xdist_group("spark")
def test_spark_reads_every_layout_fixture_the_same(spark, tmp_path: Path) -> None:
    """One Spark test over every layout (each Spark query costs seconds), padded values and
    times past the microsecond."""
    for i, path in enumerate([*EVENT_LAYOUTS, padded_csv(tmp_path), edge_times_csv(tmp_path)]):
        loaded = load_events([path])
        assert loaded.read_plan is not None
        ours = loaded.events.collect()
        parquet = tmp_path / f"raw{i}.parquet"
        raw_relation(path).write_parquet(parquet)
        spark.read.parquet(str(parquet)).createOrReplaceTempView("raw_events")
        sql = read_sql(loaded.read_plan, dialect="spark")
        theirs = pl.from_arrow(spark.sql(sql).toArrow())
        assert theirs.columns == ours.columns, path.name
        theirs = theirs.cast(dict(ours.schema))  # type: ignore[arg-type]
        assert_frame_equal(
            theirs.sort(theirs.columns), ours.sort(ours.columns), check_exact=False, rel_tol=1e-9
        )
