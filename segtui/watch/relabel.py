"""Labelling users and logging who moved: label rows, moves with their reasons, segment sizes.

Used by a batch (:mod:`segtui.watch.fold`, for the users whose features can have changed) and by
a refit (:mod:`segtui.watch.refit`, everyone, reason ``refit``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import polars as pl

from segtui.artifacts.model import Model
from segtui.clustering.prepare import transform_users
from segtui.features.compile import output_query
from segtui.features.plan import FeaturePlan, uses_reference, with_reference
from segtui.formatting import number
from segtui.watch import drift
from segtui.watch.layout import Layout
from segtui.watch.scoring import Thresholds, hold_moves, name_of, score
from segtui.watch.state import first_row, meta_value, read_frame

NEW_USER = "new user"
REFIT = "refit"
REASON_FEATURES = 2
"""How many changed features a move's reason names."""
LABEL_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.Utf8(),
    "segment_id": pl.Int64(),
    "segment": pl.Utf8(),
    "since_batch": pl.Int64(),
    "events_since_move": pl.Int64(),
    "distance": pl.Float64(),
}
"""``labels``: ``distance`` is the user's distance to the nearest center (a mixture's nearest
mean) in the prepared space, null for density models; drift's mean distance averages it."""


def register_frame(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    con.register(name, frame.to_arrow())


def replace_rows(
    con: duckdb.DuckDBPyConnection, table: str, rows: pl.DataFrame, everyone: bool
) -> None:
    """Put ``rows`` in ``table`` in place of the rows of the same users (all rows when
    ``everyone``: the table is replaced)."""
    register_frame(con, "__rows", rows)
    if everyone:
        con.sql(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM __rows")
    else:
        con.sql(f"DELETE FROM {table} WHERE user_id IN (SELECT user_id FROM __rows)")
        con.sql(f"INSERT INTO {table} SELECT * FROM __rows")
    con.unregister("__rows")


def _value_text(value: object) -> str:
    return number(value) if isinstance(value, int | float) or value is None else str(value)


def move_reasons(
    model: Model, before: pl.DataFrame, after: pl.DataFrame, limit: int = REASON_FEATURES
) -> list[str]:
    """Per user (rows aligned): the features that changed most in the model's prepared space,
    as ``"name old -> new"`` joined by ``"; "`` (the reason a move is logged with)."""
    if before.height == 0:
        return []
    names = [f.name for f in model.prepare.features]
    Xb, Xa = transform_users(model.prepare, before), transform_users(model.prepare, after)
    change = np.abs(Xa - Xb)
    order = np.argsort(-change, axis=1, kind="stable")[:, :limit]
    was = {n: before[n].to_list() for n in names}
    now = {n: after[n].to_list() for n in names}
    reasons = []
    for row, picks in enumerate(order.tolist()):
        parts = [
            f"{names[j]} {_value_text(was[names[j]][row])} -> {_value_text(now[names[j]][row])}"
            for j in picks
            if change[row, j] > 0
        ]
        reasons.append("; ".join(parts) if parts else "reference time moved on")
    return reasons


def reference_sizes(model: Model) -> dict[int, int]:
    return {int(s["id"]): int(s.get("size", 0)) for s in model.data.get("segments", [])}


def ages(model: Model, plan: FeaturePlan) -> bool:
    """Whether labels can change without new events: a clustering feature depends on the
    reference time, or a rule segment may read one."""
    clustered = {f.name for f in model.prepare.features}
    if model.segmentation.rule_ids:
        return any(uses_reference(out.value) for out in plan.outputs)
    return any(uses_reference(out.value) for out in plan.outputs if out.name in clustered)


def us_time(value: int | None) -> datetime | None:
    if value is None:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(value))


def features_at(
    leaves: pl.DataFrame, plan: FeaturePlan, ref_us: int, columns: list[str]
) -> pl.DataFrame:
    """The features of these users at a given reference time (any subset of users)."""
    return (
        output_query(leaves.lazy(), with_reference(plan, ref_us))
        .select("user_id", *columns)
        .collect()
    )


def relabel_users(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    layout: Layout,
    scope: pl.DataFrame,
    before: pl.DataFrame,
    counts: pl.DataFrame,
    thresholds: Thresholds,
    *,
    batch: int,
    everyone: bool,
    references: tuple[int | None, int],
    log_moves: bool,
    logged: datetime,
    reason: str | None = None,
) -> int:
    """Label the users of ``scope`` (their leaves) and write their label rows and moves."""
    old_ref, ref_us = references
    features = features_at(scope, layout.plan, ref_us, model.columns)
    if everyone:
        old = read_frame(con, "SELECT * FROM labels") if _has_labels(con) else _no_labels()
    else:
        register_frame(con, "__scope", features.select("user_id"))
        old = read_frame(con, "SELECT * FROM labels WHERE user_id IN (SELECT user_id FROM __scope)")
        con.unregister("__scope")
    frame = (
        features.select("user_id")
        .join(old, on="user_id", how="left")
        .join(counts, on="user_id", how="left")
        .with_columns(
            (pl.col("events_since_move").fill_null(0) + pl.col("new_events").fill_null(0)).alias(
                "pending"
            )
        )
    )
    scored = score(model, features)
    has_current = frame["segment_id"].is_not_null().to_numpy()
    current = frame["segment_id"].fill_null(-1).to_numpy().astype(np.int64)
    pending = frame["pending"].to_numpy().astype(np.int64)
    if reason is None:
        final = hold_moves(model, scored, features, current, has_current, pending, thresholds)
    else:
        final = scored.proposed  # a refit: everyone takes the new model's label
    moved = ~has_current | (final != current)
    names = scored.names
    distances = drift.nearest_distances(model.state, scored.X)
    labels = pl.DataFrame(
        {
            "user_id": features["user_id"],
            "segment_id": pl.Series(final, dtype=pl.Int64),
            "segment": pl.Series([name_of(names, i) for i in final], dtype=pl.Utf8),
            "since_batch": pl.Series(
                np.where(moved, batch, frame["since_batch"].fill_null(batch).to_numpy()),
                dtype=pl.Int64,
            ),
            "events_since_move": pl.Series(np.where(moved, 0, pending), dtype=pl.Int64),
            "distance": pl.Series(distances, dtype=pl.Float64)
            if distances is not None
            else pl.Series([None] * features.height, dtype=pl.Float64),
        }
    )
    replace_rows(con, "labels", labels, everyone=everyone)
    if not log_moves:
        return 0
    rows = np.flatnonzero(moved)
    reasons = [NEW_USER] * len(rows)
    if reason is not None:
        reasons = [reason] * len(rows)
    elif old_ref is not None:
        known = np.flatnonzero(moved & has_current)
        if len(known):
            movers = features["user_id"][known]
            changed = before.filter(pl.col("user_id").is_in(movers.to_list()))
            untouched = scope.filter(
                pl.col("user_id").is_in(movers.to_list())
                & ~pl.col("user_id").is_in(before["user_id"].to_list())
            )
            then = features_at(pl.concat([changed, untouched]), layout.plan, old_ref, model.columns)
            then = movers.to_frame().join(then, on="user_id", how="left")
            position = {int(r): i for i, r in enumerate(rows)}
            for r, text in zip(known, move_reasons(model, then, features[known]), strict=True):
                reasons[position[int(r)]] = text
    moves = pl.DataFrame(
        {
            "user_id": features["user_id"][rows],
            "from_segment": frame["segment"][rows],
            "from_id": frame["segment_id"][rows].cast(pl.Int64),
            "to_segment": [name_of(names, i) for i in final[rows]],
            "to_id": pl.Series(final[rows], dtype=pl.Int64),
            "at": pl.Series([us_time(ref_us)] * len(rows), dtype=pl.Datetime("us", "UTC")),
            "batch": pl.Series([batch] * len(rows), dtype=pl.Int64),
            "reason": pl.Series(reasons, dtype=pl.Utf8),
            "logged_at": pl.Series([logged] * len(rows), dtype=pl.Datetime("us", "UTC")),
        }
    )
    register_frame(con, "__moves", moves)
    con.sql("INSERT INTO moves SELECT * FROM __moves")
    con.unregister("__moves")
    return len(rows)


def _has_labels(con: duckdb.DuckDBPyConnection) -> bool:
    return (
        first_row(
            con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'labels'"
        )[0]
        > 0
    )


def _no_labels() -> pl.DataFrame:
    return pl.DataFrame(schema={k: v for k, v in LABEL_SCHEMA.items() if k != "distance"})


def segment_sizes(
    con: duckdb.DuckDBPyConnection, model: Model
) -> tuple[dict[int, int], dict[int, str]]:
    """Users per segment now, and every segment's name (the model's, and any label's)."""
    rows = con.sql(
        "SELECT segment_id, any_value(segment), count(*) FROM labels GROUP BY 1"
    ).fetchall()
    names = {int(k): str(v) for k, v in model.segmentation.names.items()}
    names.update({int(i): str(n) for i, n, _ in rows})
    return {int(i): int(c) for i, _, c in rows}, names


def record_sizes(
    con: duckdb.DuckDBPyConnection, batch: int, sizes: dict[int, int], names: dict[int, str]
) -> None:
    """Every segment's size after this batch (0 for a segment nobody is in now)."""
    ids = sorted(set(names) | set(sizes))
    rows = pl.DataFrame(
        {
            "batch": pl.Series([batch] * len(ids), dtype=pl.Int64),
            "segment_id": pl.Series(ids, dtype=pl.Int64),
            "segment": [name_of(names, i) for i in ids],
            "size": pl.Series([sizes.get(i, 0) for i in ids], dtype=pl.Int64),
        }
    )
    con.sql("DELETE FROM sizes WHERE batch = ?", params=[batch])
    register_frame(con, "__sizes", rows)
    con.sql("INSERT INTO sizes SELECT * FROM __sizes")
    con.unregister("__sizes")


def apply_model(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    layout: Layout,
    batch: int,
    reason: str,
    logged: datetime,
) -> int:
    """Label every user with ``model`` (a refitted one) inside the caller's transaction: labels
    replaced, a move with ``reason`` for each user whose label changed, this batch's sizes
    replaced; the number of moves."""
    ref_us = int(meta_value(con, "reference_us") or 0)
    scope = read_frame(con, "SELECT * FROM leaves ORDER BY user_id")
    moved = relabel_users(
        con,
        model,
        layout,
        scope,
        scope.clear(),
        pl.DataFrame(schema={"user_id": pl.Utf8, "new_events": pl.Int64}),
        Thresholds(),
        batch=batch,
        everyone=True,
        references=(ref_us, ref_us),
        log_moves=True,
        logged=logged,
        reason=reason,
    )
    sizes, names = segment_sizes(con, model)
    record_sizes(con, batch, sizes, names)
    return moved
