"""Leaves merged from a batch's new events equal leaves over all the events, on tiny logs with
known answers (no state file, no subprocess: an in-memory DuckDB holds ``leaf_values``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from segtui.features.compile import leaf_names
from segtui.features.plan import FeaturePlan, Leaf
from segtui.features.spec import Filter
from segtui.ingest.timestamps import UTC_DTYPE
from segtui.watch.layout import Layout, with_merge_leaves
from segtui.watch.merge import (
    add_values,
    append_values,
    full_leaves,
    late_users,
    merged_leaves,
)

T0 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
PURCHASE = (Filter("event", "in", ("purchase",)),)
LEAVES = (
    Leaf("count", None, ()),
    Leaf("sum", "price", PURCHASE),
    Leaf("mean", "price", ()),
    Leaf("max", "price", ()),
    Leaf("min", "ts", ()),
    Leaf("distinct", "category", ()),
    Leaf("top_count", "category", ()),
    Leaf("distinct", "session_id", PURCHASE),
    Leaf("distinct", "session_id", ()),
    Leaf("distinct", "price", ()),
)


def _layout(derived: bool) -> Layout:
    plan = with_merge_leaves(FeaturePlan(LEAVES, ()), derived)
    columns = ("user_id", "ts", "event", "category", "price")
    return Layout(columns if derived else (*columns, "session_id"), plan, derived, 30.0)


def _events(rows: list[tuple[str, int, str, str | None, float | None]]) -> pl.DataFrame:
    """(user, minutes after T0, event, category, price) rows."""
    return pl.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "ts": [T0 + timedelta(minutes=r[1]) for r in rows],
            "event": [r[2] for r in rows],
            "category": [r[3] for r in rows],
            "price": [r[4] for r in rows],
        },
        schema_overrides={"ts": UTC_DTYPE},
    )


OLD = [
    ("a", 0, "view", "x", 10.0),
    ("a", 20, "purchase", "x", 30.0),
    ("a", 25, "view", "y", None),
    ("b", 0, "view", "z", 5.0),
    ("b", 10, "view", "z", 0.0),
]
NEW = [
    ("a", 40, "purchase", "y", 20.0),  # 15 minutes after a's latest: continues the session
    ("a", 120, "view", "y", 1.0),  # a new session
    ("c", 0, "view", None, None),  # a new user
    ("b", 40, "view", "z", -0.0),  # the same price as 0.0
]


def _values_table() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.sql(
        "CREATE TABLE leaf_values "
        "(key UHUGEINT, user_id VARCHAR, leaf BIGINT, value VARCHAR, n BIGINT)"
    )
    return con


def _merged(layout: Layout, old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    con = _values_table()
    before, values = full_leaves(old, layout)
    append_values(con, values)
    assert late_users(new, before, layout).len() == 0
    merged, _ = merged_leaves(con, new, before, layout)
    untouched = before.filter(~pl.col("user_id").is_in(merged["user_id"].implode()))
    return pl.concat([merged, untouched]).sort("user_id")


def _with_sessions(events: pl.DataFrame) -> pl.DataFrame:
    """Given sessions: one per user and hour."""
    return events.with_columns(
        (pl.col("user_id") + "@" + pl.col("ts").dt.hour().cast(pl.Utf8)).alias("session_id")
    )


@pytest.mark.parametrize("derived", [False, True])
def test_merged_leaves_equal_leaves_over_all_events(derived: bool) -> None:
    layout = _layout(derived)
    old, new = _events(OLD), _events(NEW)
    if not derived:
        old, new = _with_sessions(old), _with_sessions(new)
    merged = _merged(layout, old, new)
    everything, _ = full_leaves(pl.concat([old, new]), layout)
    assert_frame_equal(merged, everything, rel_tol=1e-12)
    names = leaf_names(layout.plan)
    a = merged.filter(pl.col("user_id") == "a").row(0, named=True)
    known = {
        "count": 5,
        "sum": 50.0,  # purchases 30 + 20
        "mean": (10 + 30 + 20 + 1) / 4,
        "max": 30.0,
        "distinct_category": 2,  # x, y
        "top_count": 3,  # y: once before, twice in the batch
        "purchase_sessions": 1,  # both purchases in the session that started at T0
        "sessions": 2,
    }
    got = [a[n] for n in names[:9]]
    assert got[0:4] == [known["count"], known["sum"], known["mean"], known["max"]]
    assert got[5:] == [
        known["distinct_category"],
        known["top_count"],
        known["purchase_sessions"],
        known["sessions"],
    ]
    b = merged.filter(pl.col("user_id") == "b").row(0, named=True)
    assert b[names[9]] == 2  # 5.0 and 0.0 (-0.0 is 0.0)
    c = merged.filter(pl.col("user_id") == "c").row(0, named=True)
    assert (c[names[5]], c[names[6]]) == (0, None)  # no category: none distinct, no top


def test_a_late_event_with_derived_sessions_is_recomputed_from_all_events() -> None:
    """An event between two of a's sessions joins them: merging would count 2 sessions."""
    layout = _layout(derived=True)
    old = _events([("a", 0, "view", "x", 1.0), ("a", 50, "view", "x", 1.0)])
    late = _events([("a", 25, "view", "x", 1.0)])
    before, _ = full_leaves(old, layout)
    assert late_users(late, before, layout).to_list() == ["a"]
    everything, _ = full_leaves(pl.concat([old, late]), layout)
    assert everything[leaf_names(layout.plan)[8]].to_list() == [1]  # one session now
    # Without derived sessions the same event merges (sessions are given).
    assert late_users(late, before, _layout(derived=False)).len() == 0


def test_a_value_seen_again_adds_to_its_row_so_the_table_grows_with_values_not_batches() -> None:
    layout = _layout(False)
    old, new = _with_sessions(_events(OLD)), _with_sessions(_events(NEW))
    con = _values_table()
    before, values = full_leaves(old, layout)
    append_values(con, values)
    for batch in (new, new):  # the same values twice: rows grow once, counts twice
        merged, batch_values = merged_leaves(con, batch, before, layout)
        add_values(con, batch_values)
        before = merged
    held = con.sql("SELECT user_id, leaf, value, n FROM leaf_values").pl()
    _, expected = full_leaves(pl.concat([old, new, new]), layout)
    order = ["user_id", "leaf", "value"]
    assert held.select(pl.struct(order).is_unique().all()).item()
    assert_frame_equal(held.sort(order), expected.select(held.columns).sort(order))
    a_y = held.filter((pl.col("user_id") == "a") & (pl.col("value") == "y"))
    assert a_y["n"].max() == 5  # once before, twice in each batch


def test_a_separator_inside_values_does_not_make_two_keys_one() -> None:
    """Keys are md5s of joined text: ("a\x1f", "b") and ("a", "\x1fb") must not join the same."""
    from segtui.watch.fold import OCCURRENCE, _key_expr
    from segtui.watch.merge import VALUE_KEY

    con = duckdb.connect()
    rows = pl.DataFrame(
        {"user_id": ["u\x1f", "u"], "event": ["b", "\x1fb"], OCCURRENCE: [1, 1]},
    )
    con.register("rows", rows.to_arrow())
    keys = con.sql(f"SELECT {_key_expr(['user_id', 'event'])} FROM rows").fetchall()
    assert keys[0] != keys[1]
    values = pl.DataFrame({"user_id": ["u\x1f1", "u"], "leaf": [2, 1], "value": ["v", "2\x1fv"]})
    con.register("values_", values.to_arrow())
    keys = con.sql(f"SELECT {VALUE_KEY} FROM values_").fetchall()
    assert keys[0] != keys[1]
