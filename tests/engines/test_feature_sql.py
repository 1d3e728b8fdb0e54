"""The feature SQL computes what the polars engine computes: same users, same values, same nulls.

Each case loads a file with segtui's reader, takes every feature the data allows (the catalog,
the generated ones), and runs the same declarations twice: polars, and DuckDB executing the SQL
rendered from the declarations over the canonical events. Values agree within a relative 1e-9.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from segtui.features.catalog import CATALOG
from segtui.features.compile import compute_features
from segtui.features.generated import offered_specs
from segtui.features.plan import plan_features
from segtui.features.selection import available_features
from segtui.features.spec import Agg, FeatureSpec, Filter
from segtui.features.sql import feature_sql, plan_sql
from segtui.ingest.events import LoadOptions, load_events
from segtui.sample import write_sample

LAYOUTS = Path(__file__).resolve().parents[1] / "data" / "layouts"
EVENT_LAYOUTS = sorted(p for p in LAYOUTS.iterdir() if p.name != "users_rfm.csv")


def duckdb_features(events: pl.DataFrame, sql: str, zone: str = "UTC") -> pl.DataFrame:
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{zone}'")
    con.register("events", events.to_arrow())
    return pl.from_arrow(con.sql(sql).to_arrow_table())  # type: ignore[return-value]


def assert_same_features(ours: pl.DataFrame, theirs: pl.DataFrame) -> None:
    assert theirs.columns == ours.columns
    assert theirs["user_id"].to_list() == ours["user_id"].to_list()
    for name in ours.columns[1:]:
        a, b = ours[name], theirs[name]
        assert b.dtype == a.dtype, name
        assert (a.is_null() == b.is_null()).all(), f"{name}: nulls differ"
        both = pl.DataFrame({"a": a.cast(pl.Float64), "b": b.cast(pl.Float64)}).drop_nulls()
        off = both.filter(
            (pl.col("a") - pl.col("b")).abs() > 1e-9 * pl.max_horizontal(pl.col("a").abs(), 1.0)
        )
        assert off.height == 0, f"{name}: {off.head(3)}"


def both_engines(path: Path, options: LoadOptions | None = None, as_of: datetime | None = None):
    loaded = load_events([path], options)
    offered, _ = available_features(offered_specs(loaded.events, (), loaded.source), loaded.columns)
    events = loaded.events.collect()
    ours = compute_features(events.lazy(), offered, as_of)
    sql = feature_sql(offered, loaded.columns, "duckdb", "events", as_of)
    return ours, duckdb_features(events, sql)


@pytest.mark.parametrize("path", EVENT_LAYOUTS, ids=lambda p: p.name)
def test_every_layout_fixture_gives_the_same_features_in_duckdb(path: Path) -> None:
    ours, theirs = both_engines(path)
    assert ours.height > 0 and ours.width > 5
    assert_same_features(ours, theirs)


def test_a_generated_log_gives_the_same_features_in_duckdb(tmp_path: Path) -> None:
    events = write_sample(tmp_path, 300, seed=3).events_path
    ours, theirs = both_engines(events)
    assert ours.height == 300
    assert_same_features(ours, theirs)


def test_as_of_leaves_later_events_out_in_both_engines(tmp_path: Path) -> None:
    events = write_sample(tmp_path, 200, seed=5).events_path
    ours, theirs = both_engines(events, as_of=datetime(2024, 3, 1))
    assert_same_features(ours, theirs)


def test_duckdb_time_parts_are_utc_whatever_the_session_zone(tmp_path: Path) -> None:
    """Hours, weekdays, months and days read the UTC wall time, as polars does, also in a
    session 5 hours behind UTC (a night share there would count other events)."""
    events = write_sample(tmp_path, 200, seed=4).events_path
    loaded = load_events([events])
    offered, _ = available_features(offered_specs(loaded.events, (), loaded.source), loaded.columns)
    parts = [s for s in offered if s.name in ("night_share", "weekend_share", "active_days")]
    ours = compute_features(loaded.events, parts)
    sql = feature_sql(parts, loaded.columns, "duckdb", "events")
    theirs = duckdb_features(loaded.events.collect(), sql, zone="America/New_York")
    assert len(parts) == 3 and ours["night_share"].sum() > 0
    assert_same_features(ours, theirs)


def test_edge_values_division_by_zero_nulls_and_markup_like_text() -> None:
    """Hand-built events: a user with no purchases, null categories, quotes and brackets in text,
    a filter on a value holding a quote and a backslash."""
    events = pl.DataFrame(
        {
            "user_id": ["a", "a", "b", "c'; DROP", "c'; DROP"],
            "ts": [datetime(2024, 1, d, 12) for d in (1, 2, 3, 4, 6)],
            "event": ["page_view", "purchase", "page_view", "it's \\ odd", "page_view"],
            "session_id": ["s1", "s2", "s3", "s4", "s4"],
            "category": ["[/]x", None, "[/]x", None, "y"],
            "revenue": [None, 5.0, None, None, None],
        }
    ).with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
    odd = FeatureSpec(
        "odd_share",
        "activity",
        "share of the odd event",
        Agg("share", match=(Filter("event", "in", ("it's \\ odd",)),)),
        when_missing=None,
    )
    top = FeatureSpec("top_cat", "interest", "", Agg("top_share", "category"), when_missing=None)
    late = FeatureSpec("late", "time", "", Agg("share", match=(Filter("ts.hour", ">=", 12),)))
    spent = FeatureSpec(
        "spent",
        "value",
        "",
        Agg("sum", "revenue", where=(Filter("event", "==", "purchase"),)),
        when_missing=None,
    )
    columns = events.columns
    offered, _ = available_features(offered_specs(events.lazy()), columns)
    specs = [*offered, odd, top, late, spent]
    ours = compute_features(events.lazy(), specs)
    theirs = duckdb_features(events, feature_sql(specs, columns))
    assert_same_features(ours, theirs)
    assert ours.filter(pl.col("user_id") == "c'; DROP")["odd_share"].item() == 0.5
    assert ours.filter(pl.col("user_id") == "c'; DROP")["top_cat"].item() == 1.0
    # a sum over no events is 0 in both engines (SQL alone would say NULL)
    assert ours.filter(pl.col("user_id") == "b")["spent"].item() == 0.0


def test_the_plan_is_shared_the_sql_has_one_group_by_over_the_events() -> None:
    spec = FeatureSpec("n", "activity", "", Agg("count"))
    plan = plan_features([spec, FeatureSpec("n2", "activity", "", Agg("count"))], ["user_id"])
    assert len(plan.leaves) == 1  # the two counts are one leaf
    sql = plan_sql(plan, "spark")
    assert sql.count("GROUP BY") == 1 and "`user_id`" in sql


def spark_features(spark, events: pl.DataFrame, sql: str, folder: Path) -> pl.DataFrame:
    path = folder / "events.parquet"
    events.write_parquet(path)
    spark.read.parquet(str(path)).createOrReplaceTempView("events")
    return pl.from_arrow(spark.sql(sql).toArrow())  # type: ignore[return-value]


@pytest.mark.xdist_group("spark")
def test_spark_gives_the_same_features_on_layouts_and_a_generated_log(
    spark,
    tmp_path: Path,
) -> None:
    """One Spark test over several inputs: each Spark query costs seconds. The SQL depends only
    on the declarations and the canonical columns, so a layout that loads to the same columns
    and features as one already run (the same transactions with another delimiter or decimal
    mark) gives the same query and is run once; the reading itself is test_read_sql's."""
    paths = [*EVENT_LAYOUTS, write_sample(tmp_path, 300, seed=3).events_path]
    queries: set[str] = set()
    for i, path in enumerate(paths):
        loaded = load_events([path])
        offered, _ = available_features(
            offered_specs(loaded.events, (), loaded.source), loaded.columns
        )
        sql = feature_sql(offered, loaded.columns, "spark")
        if sql in queries:
            continue
        queries.add(sql)
        events = loaded.events.collect()
        ours = compute_features(events.lazy(), offered)
        folder = tmp_path / f"spark{i}"
        folder.mkdir()
        theirs = spark_features(spark, events, sql, folder)
        assert_same_features(ours, theirs)
    assert len(queries) >= 6  # the distinct layouts still each ran


def test_activity_trend_agrees_on_short_spans_far_from_1970() -> None:
    """The mean event time is an exact integer sum rounded once in every engine: a sum of
    doubles near 1.7e15 microseconds loses a quarter of a microsecond a step, which on a span
    of two minutes moved activity_trend by 1e-9 of itself between polars and DuckDB."""
    import numpy as np

    rng = np.random.default_rng(7)
    users, per_user = 200, 400
    start = int(datetime(2026, 11, 30).timestamp() * 1e6)
    offsets = rng.integers(0, 120_000_000, users * per_user)  # within two minutes
    events = pl.DataFrame(
        {
            "user_id": [f"u{i % users}" for i in range(users * per_user)],
            "ts": pl.Series(start + offsets).cast(pl.Datetime("us", "UTC")),
            "event": "page_view",
        }
    ).sample(fraction=1.0, shuffle=True, seed=1)
    spec = next(s for s in CATALOG if s.name == "activity_trend")
    ours = compute_features(events.lazy(), [spec]).sort("user_id")
    sql = feature_sql([spec], ["user_id", "ts", "event"], "duckdb", "events")
    theirs = duckdb_features(events, sql).sort("user_id")
    both = ours.join(theirs, on="user_id", suffix="_sql")
    assert both.height == users
    worst = both.select((pl.col("activity_trend") - pl.col("activity_trend_sql")).abs().max())
    assert worst.item() < 1e-13
