"""Leaves updated from a batch's new events: the old leaf merged with the batch's own leaf.

A batch's cost should follow the batch and the users it touches, not their history. Every leaf
kind merges exactly from per-user state the ``leaves`` table and ``leaf_values`` keep:

- ``count`` and ``sum``: old + new (a float sum may differ from one pass in the last bits).
- ``max`` and ``min``: the larger (smaller) of old and new, nulls ignored.
- ``mean``: weighted by the leaf's count of events with a value (kept as an extra leaf,
  :func:`segtui.watch.layout.mean_count`): ``old + (new - old) * n_new / (n_old + n_new)``.
- ``distinct`` and ``top_count``: ``leaf_values`` holds, per user and leaf, how many events had
  each value (one row each: a batch adds to a held value's row, new values get rows). The
  batch's values are looked up there: distinct grows by the values the user never had,
  top_count is the larger of the old one and the new totals of the batch's values.

Where merging would be wrong the user's leaves are computed from all their events as before
(:func:`full_leaves`): with derived sessions, a batch event older than the user's latest event
(a late event) can join two sessions or split one, which changes session ids already counted.
Without a late event, session continuity depends only on the user's latest event time and the
start of their last session (both kept as leaves): a batch's first session continues the last one
when its first event is within the gap, and then takes its id.
"""

from __future__ import annotations

import duckdb
import polars as pl

from segtui.features.compile import leaf_names, leaf_query, value_counts_query
from segtui.ingest.sessions import derive_sessions
from segtui.watch.layout import LAST_SESSION, LATEST, SESSION_START, Layout, mean_count
from segtui.watch.relabel import register_frame
from segtui.watch.state import read_frame

VALUE_KINDS = ("distinct", "top_count")
"""Leaf kinds merged through ``leaf_values``."""
VALUE_KEY = (
    "md5_number(concat_ws(chr(31), length(user_id)::VARCHAR, user_id, leaf::VARCHAR, value))"
)
"""``leaf_values.key``: one 128-bit column to look a batch's (user, leaf, value) up by (the join
then reads 16 bytes a row instead of three columns; measured 5x faster at 4.6M rows). The user
id's length comes first, so a separator inside the id or the value cannot make two read the
same."""
VALUES_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.Utf8(),
    "leaf": pl.Int64(),
    "value": pl.Utf8(),
    "n": pl.Int64(),
}


def _with_session_starts(events: pl.LazyFrame, layout: Layout) -> pl.LazyFrame:
    """Derived sessions (when the layout derives them) and each event's session start."""
    if not layout.sessions_derived:
        return events
    derived = derive_sessions(events, layout.session_gap_minutes)
    start = pl.col("session_id").str.extract(r"#(-?\d+)$").cast(pl.Int64)
    return derived.with_columns(start.alias(SESSION_START))


def value_sources(layout: Layout) -> dict[int, int]:
    """Each distinct/top_count leaf's number in ``leaf_values``: the first such leaf over the
    same column and filter (a distinct and a top_count of one column share their counts)."""
    first: dict[tuple[object, ...], int] = {}
    out = {}
    for i, leaf in enumerate(layout.plan.leaves):
        if leaf.kind in VALUE_KINDS:
            out[i] = first.setdefault((leaf.column, leaf.where), i)
    return out


def value_counts(events: pl.LazyFrame, layout: Layout) -> pl.DataFrame:
    """``leaf_values`` rows for these events (sessions already derived): per user, leaf (its
    :func:`value_sources` number) and value, how many events."""
    leaves = layout.plan.leaves
    parts = [
        value_counts_query(events, leaves[i]).with_columns(pl.lit(i, pl.Int64).alias("leaf"))
        for i in sorted(set(value_sources(layout).values()))
    ]
    if not parts:
        return pl.DataFrame(schema=VALUES_SCHEMA)
    frames = pl.collect_all(parts)
    return pl.concat([f.select(list(VALUES_SCHEMA)) for f in frames])


def full_leaves(events: pl.DataFrame, layout: Layout) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The leaves of users from all their events, and their ``leaf_values`` rows."""
    lazy = _with_session_starts(events.lazy(), layout).cache()
    leaves = leaf_query(lazy, layout.plan).collect().sort("user_id")
    return leaves, value_counts(lazy, layout)


def late_users(events: pl.DataFrame, before: pl.DataFrame, layout: Layout) -> pl.Series:
    """Users whose leaves cannot merge: with derived sessions, those with a batch event older
    than their latest event before the batch (see the module docstring)."""
    if not layout.sessions_derived or before.height == 0:
        return pl.Series("user_id", [], pl.Utf8)
    latest = leaf_names(layout.plan)[layout.plan.leaves.index(LATEST)]
    first = events.group_by("user_id").agg(pl.col("ts").dt.epoch("us").min().alias("__first"))
    old = before.select("user_id", pl.col(latest).alias("__latest"))
    return (
        first.join(old, on="user_id")
        .filter(pl.col("__first") < pl.col("__latest"))
        .get_column("user_id")
        .sort()
    )


def _continued_sessions(events: pl.LazyFrame, before: pl.DataFrame, layout: Layout) -> pl.LazyFrame:
    """A batch's events (no late ones) with sessions derived as over all the user's events: the
    batch's first session continues the user's last one when it starts within the gap of their
    latest event, and then has that session's id and start."""
    names = leaf_names(layout.plan)
    latest = names[layout.plan.leaves.index(LATEST)]
    last_start = names[layout.plan.leaves.index(LAST_SESSION)]
    gap_us = round(layout.session_gap_minutes * 60_000_000)
    context = before.select(
        "user_id", pl.col(latest).alias("__latest"), pl.col(last_start).alias("__last_start")
    )
    derived = _with_session_starts(events, layout).join(context.lazy(), on="user_id", how="left")
    first_ts = pl.col("ts").dt.epoch("us").min().over("user_id")
    first_start = pl.col(SESSION_START).min().over("user_id")
    continues = (
        pl.col("__latest").is_not_null()
        & (first_ts - pl.col("__latest") <= gap_us)
        & (pl.col(SESSION_START) == first_start)
    )
    return derived.with_columns(
        pl.when(continues)
        .then(pl.col("user_id") + pl.lit("#") + pl.col("__last_start").cast(pl.Utf8))
        .otherwise(pl.col("session_id"))
        .alias("session_id"),
        pl.when(continues)
        .then(pl.col("__last_start"))
        .otherwise(pl.col(SESSION_START))
        .alias(SESSION_START),
    ).drop("__latest", "__last_start")


def merged_leaves(
    con: duckdb.DuckDBPyConnection, events: pl.DataFrame, before: pl.DataFrame, layout: Layout
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The leaves of the users of ``events`` (a batch's new events; none of them late for a
    user with derived sessions) merged into their leaves ``before`` it, and the batch's
    ``leaf_values`` rows (to append)."""
    lazy = events.lazy()
    if layout.sessions_derived:
        lazy = _continued_sessions(lazy, before, layout)
    lazy = lazy.cache()
    new = leaf_query(lazy, layout.plan).collect().sort("user_id")
    values = value_counts(lazy, layout)
    names = leaf_names(layout.plan)
    old = before.select("user_id", *[pl.col(n).alias(f"{n}__old") for n in names]).with_columns(
        pl.lit(True).alias("__known")
    )
    joined = new.join(old, on="user_id", how="left")
    grown = _value_growth(con, values, layout)
    if grown is not None:
        joined = joined.join(grown, on="user_id", how="left")
    known = pl.col("__known").fill_null(False)
    merged = []
    for i, (leaf, name) in enumerate(zip(layout.plan.leaves, names, strict=True)):
        value = _merge(i, leaf.kind, name, names, layout)
        merged.append(pl.when(known).then(value).otherwise(pl.col(name)).cast(new[name].dtype))
    out = joined.select("user_id", *[m.alias(n) for m, n in zip(merged, names, strict=True)])
    return out, values


def _merge(index: int, kind: str, name: str, names: list[str], layout: Layout) -> pl.Expr:
    """One leaf's merged value from its old (``NAME__old``) and new (``NAME``) columns."""
    old, new = pl.col(f"{name}__old"), pl.col(name)
    if kind in ("count", "sum"):
        return old + new
    if kind == "max":
        return pl.max_horizontal(old, new)
    if kind == "min":
        return pl.min_horizontal(old, new)
    if kind == "mean":
        count = names[layout.plan.leaves.index(mean_count(layout.plan.leaves[index]))]
        n_old = pl.col(f"{count}__old").fill_null(0)
        n_new = pl.col(count).fill_null(0)
        weighted = old + (new - old) * n_new / (n_old + n_new)
        return pl.when(n_new == 0).then(old).when(n_old == 0).then(new).otherwise(weighted)
    if kind == "distinct":
        return old + pl.col(f"__added{index}").fill_null(0)
    if kind == "top_count":
        return pl.max_horizontal(old, pl.col(f"__top{index}"))
    raise ValueError(f"unknown leaf kind {kind!r}")  # LEAF_KINDS is all of the above


def _value_growth(
    con: duckdb.DuckDBPyConnection, values: pl.DataFrame, layout: Layout
) -> pl.DataFrame | None:
    """Per user, for each distinct/top_count leaf: how many of the batch's values the user never
    had (``__addedI``) and the largest total count of a batch value (``__topI``); None when the
    plan has no such leaf."""
    sources = value_sources(layout)
    if not sources:
        return None
    register_frame(con, "__batch_values", values)
    held = read_frame(
        con,
        "SELECT b.user_id, b.leaf, b.value, sum(v.n)::BIGINT AS held FROM leaf_values v "
        f"JOIN (SELECT *, {VALUE_KEY} AS key FROM __batch_values) b ON v.key = b.key "
        "GROUP BY ALL",
    )
    con.unregister("__batch_values")
    per_leaf = (
        values.join(held, on=["user_id", "leaf", "value"], how="left")
        .group_by("user_id", "leaf")
        .agg(
            pl.col("held").is_null().sum().cast(pl.Int64).alias("added"),
            (pl.col("n") + pl.col("held").fill_null(0)).max().alias("top"),
        )
    )
    wide = per_leaf.select("user_id").unique()
    for i, source in sources.items():
        mine = per_leaf.filter(pl.col("leaf") == source).select(
            "user_id", pl.col("added").alias(f"__added{i}"), pl.col("top").alias(f"__top{i}")
        )
        wide = wide.join(mine, on="user_id", how="left")
    return wide


def append_values(con: duckdb.DuckDBPyConnection, values: pl.DataFrame) -> None:
    """Add ``leaf_values`` rows (a value's count is the sum of its rows)."""
    if values.height == 0:
        return
    register_frame(con, "__values", values.select(list(VALUES_SCHEMA)))
    con.sql(f"INSERT INTO leaf_values SELECT {VALUE_KEY}, * FROM __values")
    con.unregister("__values")


def add_values(con: duckdb.DuckDBPyConnection, values: pl.DataFrame) -> None:
    """Add a batch's value counts: a value the user already has adds to its row, a new one gets
    a row. So ``leaf_values`` holds one row per user, leaf and value, and grows with the values
    users have, not with the number of batches they appear in."""
    if values.height == 0:
        return
    register_frame(con, "__values", values.select(list(VALUES_SCHEMA)))
    con.sql(
        f"CREATE OR REPLACE TEMP TABLE __keyed_values AS SELECT {VALUE_KEY} AS key, * FROM __values"
    )
    con.unregister("__values")
    con.sql(
        "UPDATE leaf_values SET n = leaf_values.n + b.n FROM __keyed_values b "
        "WHERE leaf_values.key = b.key"
    )
    con.sql(
        "INSERT INTO leaf_values SELECT * FROM __keyed_values b "
        "WHERE NOT EXISTS (SELECT 1 FROM leaf_values v WHERE v.key = b.key)"
    )
    con.sql("DROP TABLE __keyed_values")


def replace_values(con: duckdb.DuckDBPyConnection, users: pl.Series, values: pl.DataFrame) -> None:
    """The ``leaf_values`` rows of ``users`` replaced by ``values`` (their leaves recomputed)."""
    register_frame(con, "__users", users.to_frame("user_id"))
    con.sql("DELETE FROM leaf_values WHERE user_id IN (SELECT user_id FROM __users)")
    con.unregister("__users")
    append_values(con, values)
