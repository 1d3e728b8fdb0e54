"""Fold one batch of canonical events into the state, in one transaction.

Per batch: the new events are keyed and appended (a row whose key an earlier batch already holds
is a replayed duplicate and is dropped); the feature plan's first stage (``leaves``) is recomputed
for the users the batch touched, from all their events; the features of every user are computed
from the leaves at the new reference time (the latest event seen), because time-relative features
age for everyone; every user is labelled again (vectorised) and the thresholds applied; the users
whose label changed get a row in ``moves``; the ledger gets the batch's row. Nothing of it is
visible until the commit, so a process killed at any point leaves the state as it was.

``fault`` is called with a point's name at each step (:data:`FAULT_POINTS`): the tests kill the
process there to prove the claim above.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import polars as pl

from segtui.artifacts.model import Model
from segtui.clustering.prepare import transform_users
from segtui.features.compile import leaf_query, output_query
from segtui.features.plan import FeaturePlan
from segtui.formatting import number
from segtui.ingest.sessions import derive_sessions
from segtui.watch import drift
from segtui.watch.scoring import Thresholds, hold_moves, name_of, score
from segtui.watch.state import first_row, read_frame

FAULT_POINTS: tuple[str, ...] = (
    "batch-read",
    "events-written",
    "leaves-written",
    "labels-written",
    "before-commit",
    "after-commit",
)
Fault = Callable[[str], None]
NEW_USER = "new user"
REFIT = "refit"
KEY_SEPARATOR = "\x1f"
REASON_FEATURES = 2


def no_fault(point: str) -> None:
    """The default fault hook: nothing happens."""


@dataclass(frozen=True)
class Incoming:
    """One batch as read: canonical events in the state's columns, and the reader's counts."""

    source: str
    events: pl.DataFrame
    rows_read: int
    rows_left_out: int


@dataclass(frozen=True)
class Folded:
    """The ledger row of a committed batch (what ``run`` prints)."""

    batch: int
    source: str
    rows_read: int
    rows_kept: int
    rows_left_out: int
    duplicates: int
    users_touched: int
    moves: int
    psi: float
    mean_distance: float | None
    reference_time: datetime | None
    seconds: float

    def line(self) -> str:
        """One line per batch: source, events kept and left out, users touched, moves, drift."""
        distance = "-" if self.mean_distance is None else f"{self.mean_distance:.3f}"
        dups = f" ({self.duplicates:,} duplicates dropped)" if self.duplicates else ""
        return (
            f"batch {self.batch}: {self.source}: {self.rows_kept:,} events kept, "
            f"{self.rows_left_out:,} left out{dups}; {self.users_touched:,} users touched; "
            f"{self.moves:,} moves; drift psi {self.psi:.3f}, mean distance {distance}; "
            f"{self.seconds:.2f} s"
        )


@dataclass(frozen=True)
class Layout:
    """What the state stores: the canonical event columns and how features are computed."""

    event_columns: tuple[str, ...]
    plan: FeaturePlan
    sessions_derived: bool
    session_gap_minutes: float


OCCURRENCE = "__occurrence"
"""The how-many-th identical row this is within its source (1, 2, ...): part of the event key."""


def with_occurrence(events: pl.DataFrame) -> pl.DataFrame:
    """Number identical rows within one source, in order, so that the same row twice in a file
    (two real events at the same instant) is two events, and the file replayed is none."""
    if OCCURRENCE in events.columns:
        return events
    cols = events.columns
    if not cols:
        return events.with_columns(pl.lit(1, pl.Int64).alias(OCCURRENCE))
    return events.with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64).over(cols) + 1).alias(OCCURRENCE)
    )


def _key_expr(columns: Sequence[str]) -> str:
    """A stable 128-bit key of a row's canonical values and its occurrence number (DuckDB's md5,
    not a process-specific hash, so the key means the same in every run and version)."""
    parts = []
    for col in columns:
        ref = f'"{col}"'
        value = f"epoch_us({ref})::VARCHAR" if col == "ts" else f"{ref}::VARCHAR"
        parts.append(f"coalesce({value}, chr(0))")
    parts.append(f"{OCCURRENCE}::VARCHAR")
    return f"md5_number(concat_ws(chr(31), {', '.join(parts)}))"


def _append_events(
    con: duckdb.DuckDBPyConnection, layout: Layout, events: pl.DataFrame, batch: int
) -> tuple[int, int]:
    """Append the batch's events not already held; (kept, duplicates dropped)."""
    cols = list(layout.event_columns)
    frame = with_occurrence(events.select(cols)) if OCCURRENCE not in events.columns else events
    frame = frame.select(*cols, OCCURRENCE).with_row_index("__row")
    con.register("__incoming", frame.to_arrow())
    quoted = ", ".join(f'"{c}"' for c in cols)
    con.sql(
        f"CREATE OR REPLACE TEMP TABLE __keyed AS SELECT __row, {quoted}, "
        f"{_key_expr(cols)} AS event_key FROM __incoming"
    )
    con.unregister("__incoming")
    # The keys already held: the batch's keys are the small side of the join, so the history
    # is scanned once (its key column) and never hashed.
    con.sql(
        "CREATE OR REPLACE TEMP TABLE __held AS SELECT DISTINCT event_key FROM events "
        "WHERE event_key IN (SELECT event_key FROM __keyed)"
    )
    dups = first_row(
        con, "SELECT count(*) FROM __keyed WHERE event_key IN (SELECT event_key FROM __held)"
    )[0]
    start = first_row(con, "SELECT coalesce(max(seq), 0) FROM events")[0]
    con.sql(
        f"INSERT INTO events (seq, batch, event_key, {quoted}) "
        f"SELECT {start} + row_number() OVER (ORDER BY __row), {batch}, event_key, {quoted} "
        "FROM __keyed WHERE event_key NOT IN (SELECT event_key FROM __held) ORDER BY __row"
    )
    con.sql("DROP TABLE __keyed")
    con.sql("DROP TABLE __held")
    kept = first_row(con, "SELECT count(*) FROM events WHERE batch = ?", [batch])[0]
    return int(kept), int(dups)


def _touched_leaves(con: duckdb.DuckDBPyConnection, layout: Layout, batch: int) -> pl.DataFrame:
    """The leaves of the users this batch touched, from all their events, in arrival order."""
    quoted = ", ".join(f'"{c}"' for c in layout.event_columns)
    events = read_frame(
        con,
        f"SELECT {quoted} FROM events WHERE user_id IN "
        f"(SELECT DISTINCT user_id FROM events WHERE batch = {batch}) ORDER BY seq",
    )
    lazy = events.lazy()
    if layout.sessions_derived:
        lazy = derive_sessions(lazy, layout.session_gap_minutes)
    return leaf_query(lazy, layout.plan).collect()


def _write_leaves(con: duckdb.DuckDBPyConnection, leaves: pl.DataFrame, first: bool) -> None:
    con.register("__leaves", leaves.to_arrow())
    if first:
        con.sql("CREATE OR REPLACE TABLE leaves AS SELECT * FROM __leaves")
    else:
        con.sql("DELETE FROM leaves WHERE user_id IN (SELECT user_id FROM __leaves)")
        con.sql("INSERT INTO leaves SELECT * FROM __leaves")
    con.unregister("__leaves")


def _replace(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    con.register("__frame", frame.to_arrow())
    con.sql(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM __frame")
    con.unregister("__frame")


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
    reasons = []
    for row, picks in enumerate(order):
        parts = [
            f"{names[j]} {_value_text(before[names[j]][row])} -> "
            f"{_value_text(after[names[j]][row])}"
            for j in picks
            if change[row, j] > 0
        ]
        reasons.append("; ".join(parts) if parts else "reference time moved on")
    return reasons


def _reference_sizes(model: Model) -> dict[int, int]:
    return {int(s["id"]): int(s.get("size", 0)) for s in model.data.get("segments", [])}


def fold(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    model_version: int,
    layout: Layout,
    incoming: Incoming,
    thresholds: Thresholds,
    *,
    batch: int,
    log_moves: bool = True,
    fault: Fault = no_fault,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Folded:
    """Fold ``incoming`` into the state as batch number ``batch`` and commit (see the module
    docstring); on any error the transaction is rolled back and the error raised."""
    started, clock = now(), time.perf_counter()
    fault("batch-read")
    con.sql("BEGIN TRANSACTION")
    try:
        folded = _fold(
            con,
            model,
            model_version,
            layout,
            incoming,
            thresholds,
            batch,
            log_moves,
            fault,
            started,
        )
        seconds = time.perf_counter() - clock
        folded = _with_seconds(folded, seconds)
        _ledger(con, folded, started, now(), model_version)
        fault("before-commit")
        con.sql("COMMIT")
    except BaseException:
        con.sql("ROLLBACK")
        raise
    fault("after-commit")
    return folded


def _with_seconds(folded: Folded, seconds: float) -> Folded:
    from dataclasses import replace

    return replace(folded, seconds=seconds)


def _ledger(
    con: duckdb.DuckDBPyConnection, f: Folded, started: datetime, finished: datetime, version: int
) -> None:
    con.sql(
        "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params=[
            f.batch,
            f.source,
            f.rows_read,
            f.rows_kept,
            f.rows_left_out,
            f.duplicates,
            f.users_touched,
            f.moves,
            f.psi,
            f.mean_distance,
            f.reference_time,
            started,
            finished,
            f.seconds,
            version,
        ],
    )


def _fold(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    model_version: int,
    layout: Layout,
    incoming: Incoming,
    thresholds: Thresholds,
    batch: int,
    log_moves: bool,
    fault: Fault,
    started: datetime,
) -> Folded:
    kept, dups = _append_events(con, layout, incoming.events, batch)
    fault("events-written")
    touched = _touched_leaves(con, layout, batch)
    first = batch == 0
    _write_leaves(con, touched, first)
    fault("leaves-written")
    leaves = read_frame(con, "SELECT * FROM leaves")
    features = output_query(leaves.lazy(), layout.plan).collect()
    features = features.select("user_id", *model.columns)
    new_events = read_frame(
        con, f"SELECT user_id, count(*)::BIGINT AS n FROM events WHERE batch = {batch} GROUP BY 1"
    ).with_columns(pl.col("user_id").cast(pl.Utf8))
    if first:
        old_labels = pl.DataFrame(
            schema={
                "user_id": pl.Utf8,
                "segment_id": pl.Int64,
                "segment": pl.Utf8,
                "since_batch": pl.Int64,
                "events_since_move": pl.Int64,
            }
        )
        old_features = features.clear()
    else:
        old_labels = read_frame(con, "SELECT * FROM labels")
        old_features = read_frame(con, "SELECT * FROM features")
    frame = (
        features.select("user_id")
        .join(old_labels, on="user_id", how="left")
        .join(new_events, on="user_id", how="left")
        .with_columns(
            (pl.col("events_since_move").fill_null(0) + pl.col("n").fill_null(0)).alias("pending")
        )
    )
    scored = score(model, features)
    has_current = frame["segment_id"].is_not_null().to_numpy()
    current = frame["segment_id"].fill_null(-1).to_numpy().astype(np.int64)
    pending = frame["pending"].to_numpy().astype(np.int64)
    final = hold_moves(model, scored, features, current, has_current, pending, thresholds)
    moved = ~has_current | (final != current)
    names = scored.names
    since = np.where(moved, batch, frame["since_batch"].fill_null(batch).to_numpy())
    labels = pl.DataFrame(
        {
            "user_id": features["user_id"],
            "segment_id": final,
            "segment": [name_of(names, i) for i in final],
            "since_batch": since.astype(np.int64),
            "events_since_move": np.where(moved, 0, pending).astype(np.int64),
        }
    )
    _replace(con, "features", features)
    _replace(con, "labels", labels)
    fault("labels-written")
    ref_us = leaves[_ts_leaf(layout.plan)].max() if leaves.height else None
    reference = None if ref_us is None else datetime.fromtimestamp(0, UTC) + _us(ref_us)
    n_moves = 0
    if log_moves:
        n_moves = _log_moves(
            con,
            model,
            frame,
            features,
            old_features,
            final,
            names,
            moved,
            has_current,
            batch,
            reference,
            started,
        )
    sizes = dict(zip(*np.unique(final, return_counts=True), strict=True))
    _record_sizes(con, batch, {int(k): int(v) for k, v in sizes.items()}, names)
    return Folded(
        batch=batch,
        source=incoming.source,
        rows_read=incoming.rows_read,
        rows_kept=kept,
        rows_left_out=incoming.rows_left_out,
        duplicates=dups,
        users_touched=touched.height,
        moves=n_moves,
        psi=drift.psi({int(k): int(v) for k, v in sizes.items()}, _reference_sizes(model)),
        mean_distance=drift.mean_distance(model.state, scored.X),
        reference_time=reference,
        seconds=0.0,
    )


def _record_sizes(
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
    con.register("__sizes", rows.to_arrow())
    con.sql("INSERT INTO sizes SELECT * FROM __sizes")
    con.unregister("__sizes")


def apply_model(
    con: duckdb.DuckDBPyConnection, model: Model, batch: int, reason: str, logged: datetime
) -> int:
    """Label every user with ``model`` (a refitted one) inside the caller's transaction: labels
    replaced, a move with ``reason`` for each user whose label changed, this batch's sizes
    replaced; the number of moves."""
    features = read_frame(con, "SELECT * FROM features ORDER BY user_id")
    old = features.select("user_id").join(
        read_frame(con, "SELECT * FROM labels"), on="user_id", how="left"
    )
    scored = score(model, features)
    current = old["segment_id"].fill_null(-1).to_numpy().astype(np.int64)
    final = scored.proposed
    moved = final != current
    labels = old.with_columns(
        pl.Series("segment_id", final, dtype=pl.Int64),
        pl.Series("segment", [name_of(scored.names, i) for i in final], dtype=pl.Utf8),
        pl.when(pl.Series(moved)).then(batch).otherwise(pl.col("since_batch")).alias("since_batch"),
        pl.when(pl.Series(moved))
        .then(0)
        .otherwise(pl.col("events_since_move"))
        .alias("events_since_move"),
    )
    _replace(con, "labels", labels)
    reference = first_row(con, "SELECT reference_time FROM batches WHERE batch = ?", [batch])
    rows = np.flatnonzero(moved)
    frame = pl.DataFrame(
        {
            "user_id": old["user_id"][rows],
            "from_segment": old["segment"][rows],
            "from_id": old["segment_id"][rows].cast(pl.Int64),
            "to_segment": [name_of(scored.names, i) for i in final[rows]],
            "to_id": pl.Series(final[rows], dtype=pl.Int64),
            "at": pl.Series(
                [reference[0] if reference else None] * len(rows), dtype=pl.Datetime("us", "UTC")
            ),
            "batch": pl.Series([batch] * len(rows), dtype=pl.Int64),
            "reason": [reason] * len(rows),
            "logged_at": pl.Series([logged] * len(rows), dtype=pl.Datetime("us", "UTC")),
        }
    )
    _insert_moves(con, frame)
    con.sql("DELETE FROM sizes WHERE batch = ?", params=[batch])
    ids, counts = np.unique(final, return_counts=True)
    _record_sizes(
        con, batch, {int(i): int(n) for i, n in zip(ids, counts, strict=True)}, scored.names
    )
    return len(rows)


def _insert_moves(con: duckdb.DuckDBPyConnection, moves: pl.DataFrame) -> None:
    con.register("__moves", moves.to_arrow())
    con.sql("INSERT INTO moves SELECT * FROM __moves")
    con.unregister("__moves")


def _us(value: int):
    from datetime import timedelta

    return timedelta(microseconds=int(value))


def _ts_leaf(plan: FeaturePlan) -> str:
    """The leaf holding each user's latest event time (every plan has or gets one)."""
    from segtui.features.compile import leaf_names
    from segtui.features.plan import Leaf

    index = plan.leaves.index(Leaf("max", "ts", ()))  # the layout adds it when missing
    return leaf_names(plan)[index]


def _log_moves(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    frame: pl.DataFrame,
    features: pl.DataFrame,
    old_features: pl.DataFrame,
    final: np.ndarray,
    names: dict[int, str],
    moved: np.ndarray,
    has_current: np.ndarray,
    batch: int,
    reference: datetime | None,
    logged: datetime,
) -> int:
    rows = np.flatnonzero(moved)
    if len(rows) == 0:
        return 0
    movers = features[rows]
    old_rows = np.flatnonzero(moved & has_current)
    reasons = [NEW_USER] * len(rows)
    if len(old_rows):
        after = features[old_rows]
        before = after.select("user_id").join(old_features, on="user_id", how="left")
        explained = iter(move_reasons(model, before, after))
        position = {int(r): i for i, r in enumerate(rows)}
        for r in old_rows:
            reasons[position[int(r)]] = next(explained)
    from_id = frame["segment_id"][rows]
    moves = pl.DataFrame(
        {
            "user_id": movers["user_id"],
            "from_segment": frame["segment"][rows],
            "from_id": from_id.cast(pl.Int64),
            "to_segment": [name_of(names, i) for i in final[rows]],
            "to_id": pl.Series(final[rows], dtype=pl.Int64),
            "at": pl.Series([reference] * len(rows), dtype=pl.Datetime("us", "UTC")),
            "batch": pl.Series([batch] * len(rows), dtype=pl.Int64),
            "reason": reasons,
            "logged_at": pl.Series([logged] * len(rows), dtype=pl.Datetime("us", "UTC")),
        }
    )
    _insert_moves(con, moves)
    return len(rows)
