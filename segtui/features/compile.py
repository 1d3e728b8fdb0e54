"""Per-user features from canonical events with polars: a feature plan as one lazy ``group_by``.

Declarations (:mod:`segtui.features.spec`) are planned by :mod:`segtui.features.plan` into
deduplicated leaf aggregations and arithmetic on them; this module renders that plan for polars:
every leaf in ONE ``group_by("user_id").agg(...)`` over the lazy events, then the ratios,
differences and days-since over the aggregated frame, which is one row per user and cheap.
Nothing is collected until the caller asks, so the loader's report can be collected with the
features in one scan (:func:`build_feature_query` + ``pl.collect_all``). The SQL engines render
the same plan (:mod:`segtui.features.sql`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import polars as pl

from segtui.features.plan import (
    DAY_US,
    Add,
    Coalesce,
    Constant,
    Divide,
    FeaturePlan,
    LastEventTime,
    Leaf,
    LeafValue,
    MicrosToDays,
    Node,
    Subtract,
    plan_features,
)
from segtui.features.spec import FeatureSpec, Filter

_PREFIX = "__f"


def _value(column: str) -> pl.Expr:
    """The expression a declaration's column name stands for (``ts`` as epoch microseconds)."""
    ts = pl.col("ts")
    if column == "ts":
        return ts.dt.epoch("us")
    if column == "ts.hour":
        return ts.dt.hour()
    if column == "ts.weekday":
        return ts.dt.weekday()
    if column == "ts.month":
        return ts.dt.month()
    if column == "ts.date":
        return ts.dt.epoch("d")
    return pl.col(column)


def filter_expr(flt: Filter) -> pl.Expr:
    """A boolean polars expression for one filter; a null value never matches (except is_null)."""
    col = _value(flt.column)
    value = flt.value
    if flt.op in ("in", "not_in"):
        values = list(value) if isinstance(value, tuple) else [value]
        expr = col == values[0] if len(values) == 1 else col.is_in(values)
        return expr if flt.op == "in" else ~expr
    if flt.op == "is_null":
        return col.is_null()
    if flt.op == "not_null":
        return col.is_not_null()
    ops = {
        "==": col.__eq__,
        "!=": col.__ne__,
        "<": col.__lt__,
        "<=": col.__le__,
        ">": col.__gt__,
        ">=": col.__ge__,
    }
    return ops[flt.op](value)


def _condition(filters: Sequence[Filter]) -> pl.Expr | None:
    if not filters:
        return None
    expr = filter_expr(filters[0])
    for flt in filters[1:]:
        expr = expr & filter_expr(flt)
    return expr


def _leaf_name(index: int) -> str:
    return f"{_PREFIX}{index}"


def _leaf_expr(leaf: Leaf, schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """One leaf aggregation over a user's events; counts are Int64 so arithmetic on them is
    signed."""
    cond = _condition(leaf.where)
    if leaf.kind == "count":
        return (pl.len() if cond is None else cond.sum()).cast(pl.Int64)
    assert leaf.column is not None
    value = _value(leaf.column)
    if leaf.kind in ("distinct", "top_count") and schema.get(leaf.column) in (
        pl.String,
        pl.Categorical,
    ):
        # Distinct text values are counted through their 64-bit hashes: per-user hash sets of
        # integers take half the memory and time of sets of strings (measured on 10M events).
        # A collision among one user's n values has odds about n^2 / 2^65: never in practice.
        present = value.is_not_null()
        cond = present if cond is None else cond & present
        value = value.hash()
    if cond is not None:
        value = pl.when(cond).then(value)
    if leaf.kind == "distinct":
        return value.drop_nulls().n_unique().cast(pl.Int64)
    if leaf.kind == "top_count":
        return value.drop_nulls().unique_counts().max().cast(pl.Int64)
    if leaf.kind == "mean" and leaf.column == "ts":
        # The exact sum of the epoch microseconds, rounded once, as the SQL engines compute it
        # (segtui.features.sql): a float sum's rounding depends on the order of the events.
        total = value.cast(pl.Int128).sum().cast(pl.Float64)
        return pl.when(value.count() > 0).then(total / value.count())
    return getattr(value, leaf.kind)()


def _node_expr(node: Node) -> pl.Expr:
    """A plan node as an expression over the aggregated frame (one row per user)."""
    if isinstance(node, LeafValue):
        return pl.col(_leaf_name(node.index))
    if isinstance(node, LastEventTime):
        return pl.col(_leaf_name(node.index)).max()
    if isinstance(node, Constant):
        return pl.lit(node.value, dtype=pl.Int64)
    if isinstance(node, Divide):
        denominator = _node_expr(node.denominator)
        numerator = _node_expr(node.numerator).cast(pl.Float64)
        return pl.when(denominator != 0).then(numerator / denominator)
    if isinstance(node, Subtract):
        return _node_expr(node.left) - _node_expr(node.right)
    if isinstance(node, Add):
        total = _node_expr(node.terms[0])
        for term in node.terms[1:]:
            total = total + _node_expr(term)
        return total
    if isinstance(node, MicrosToDays):
        return _node_expr(node.value) / DAY_US
    if isinstance(node, Coalesce):
        return _node_expr(node.value).fill_null(node.fill)
    raise TypeError(f"unknown plan node {node!r}")


def leaf_query(events: pl.LazyFrame, plan: FeaturePlan) -> pl.LazyFrame:
    """The first stage: ``user_id`` then one column per leaf (named by :func:`leaf_names`),
    one row per user, unsorted. ``watch`` keeps these per user and recomputes them only for the
    users a batch touches."""
    schema = dict(events.collect_schema())
    if plan.as_of_us is not None:
        events = events.filter(pl.col("ts").dt.epoch("us") <= plan.as_of_us)
    leaves = [_leaf_expr(leaf, schema).alias(_leaf_name(i)) for i, leaf in enumerate(plan.leaves)]
    return events.group_by("user_id").agg(leaves)


def value_counts_query(events: pl.LazyFrame, leaf: Leaf) -> pl.LazyFrame:
    """``user_id, value, n``: per user, how many of their events matching the leaf's filter
    hold each non-null value of its column (``value`` as text). A ``distinct`` leaf is the
    number of a user's values and a ``top_count`` leaf the largest ``n``: ``watch`` keeps these
    counts to update both leaves from new events alone."""
    assert leaf.column is not None
    value = _value(leaf.column)
    present = value.is_not_null()
    if events.collect_schema().get(leaf.column) in (pl.Float32, pl.Float64):
        # -0.0 is 0.0 (one value, as n_unique counts them; the text differs)
        value = pl.when(value == 0).then(pl.lit(0.0, pl.Float64)).otherwise(value)
    cond = _condition(leaf.where)
    return (
        events.filter(present if cond is None else cond & present)
        .group_by("user_id", value.cast(pl.Utf8).alias("value"))
        .agg(pl.len().cast(pl.Int64).alias("n"))
    )


def leaf_names(plan: FeaturePlan) -> list[str]:
    """The column names :func:`leaf_query` gives the leaves, in plan order."""
    return [_leaf_name(i) for i in range(len(plan.leaves))]


def output_query(leaves: pl.LazyFrame, plan: FeaturePlan) -> pl.LazyFrame:
    """The second stage: the features from a :func:`leaf_query` frame (every user's row, since
    the reference time is the latest event of all of them), sorted by user_id."""
    finals = [
        _node_expr(out.value).cast(pl.Int64 if out.integer else pl.Float64).alias(out.name)
        for out in plan.outputs
    ]
    return leaves.select(pl.col("user_id"), *finals).sort("user_id")


def plan_query(events: pl.LazyFrame, plan: FeaturePlan) -> pl.LazyFrame:
    """The plan as one lazy polars query: ``user_id`` then one column per output, by user_id."""
    return output_query(leaf_query(events, plan), plan)


def build_feature_query(
    events: pl.LazyFrame, specs: Sequence[FeatureSpec], as_of: datetime | None = None
) -> pl.LazyFrame:
    """The lazy per-user feature query: ``user_id`` then one column per spec, sorted by user_id.

    The reference time for "days since" features is ``as_of`` (naive means UTC) or else the last
    event in the data. With ``as_of``, events after it are left out, so the features are what
    they were at that moment.
    """
    plan = plan_features(specs, list(events.collect_schema()), as_of)
    return plan_query(events, plan)


def compute_features(
    events: pl.LazyFrame, specs: Sequence[FeatureSpec], as_of: datetime | None = None
) -> pl.DataFrame:
    """One row per user, ``user_id`` first, one column per spec, sorted by user_id.

    All features come from one streaming ``group_by`` over ``events``; see
    :func:`build_feature_query` for the reference time and ``as_of``.
    """
    return build_feature_query(events, specs, as_of).collect(engine="streaming")
