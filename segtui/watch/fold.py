"""Fold one batch of canonical events into the state, in one transaction.

Per batch: the new events are keyed and appended (a row whose key an earlier batch already holds
is a replayed duplicate and is dropped); the feature plan's first stage (``leaves``) is recomputed
for the users the batch touched, from all their events; features are the second stage over the
leaves at the reference time (the latest event seen): the ``features`` view computes them for
every user whenever it is read, so time-relative features age for everyone without rewriting a
table. Users are labelled again (vectorised) and the thresholds applied: every user when the
clustering features or a rule segment depend on the reference time (they age), else only the
users the batch touched (nobody else's features changed). Users whose label changed get a row in
``moves``; the ledger gets the batch's row. Nothing of it is visible until the commit, so a
process killed at any point leaves the state as it was.

``fault`` is called with a point's name at each step (:data:`FAULT_POINTS`): the tests kill the
process there to prove the claim above.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import polars as pl

from segtui.artifacts.model import Model
from segtui.clustering.prepare import transform_users
from segtui.features.compile import leaf_names, leaf_query, output_query
from segtui.features.plan import FeaturePlan, Leaf, uses_reference, with_reference
from segtui.features.sql import output_sql
from segtui.formatting import number
from segtui.ingest.sessions import derive_sessions
from segtui.sqltext import quote as sql_quote
from segtui.watch import drift
from segtui.watch.scoring import Thresholds, hold_moves, name_of, score
from segtui.watch.state import first_row, meta_value, read_frame, set_meta

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


def _events_of(con: duckdb.DuckDBPyConnection, layout: Layout, users: str) -> pl.DataFrame:
    """All events of the users in relation ``users`` (a ``user_id`` column), arrival order."""
    quoted = ", ".join(f'"{c}"' for c in layout.event_columns)
    return read_frame(
        con,
        f"SELECT {quoted} FROM events WHERE user_id IN (SELECT user_id FROM {users}) ORDER BY seq",
    )


def _leaves_of(events: pl.DataFrame, layout: Layout) -> pl.DataFrame:
    lazy = events.lazy()
    if layout.sessions_derived:
        lazy = derive_sessions(lazy, layout.session_gap_minutes)
    return leaf_query(lazy, layout.plan).collect().sort("user_id")


def _registered(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    con.register(name, frame.to_arrow())


def _replace_rows(
    con: duckdb.DuckDBPyConnection, table: str, rows: pl.DataFrame, everyone: bool
) -> None:
    """Put ``rows`` in ``table`` in place of the rows of the same users (all rows when
    ``everyone``: the table is replaced)."""
    _registered(con, "__rows", rows)
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


def ages(model: Model, plan: FeaturePlan) -> bool:
    """Whether labels can change without new events: a clustering feature depends on the
    reference time, or a rule segment may read one."""
    clustered = {f.name for f in model.prepare.features}
    if model.segmentation.rule_ids:
        return any(uses_reference(out.value) for out in plan.outputs)
    return any(uses_reference(out.value) for out in plan.outputs if out.name in clustered)


def _us_time(value: int | None) -> datetime | None:
    if value is None:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(value))


def _ts_leaf(plan: FeaturePlan) -> str:
    """The leaf holding each user's latest event time (the layout adds it when missing)."""
    return leaf_names(plan)[plan.leaves.index(Leaf("max", "ts", ()))]


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
        folded = _fold(con, model, layout, incoming, thresholds, batch, log_moves, fault, started)
        folded = replace(folded, seconds=time.perf_counter() - clock)
        _ledger(con, folded, started, now(), model_version)
        fault("before-commit")
        con.sql("COMMIT")
    except BaseException:
        con.sql("ROLLBACK")
        raise
    fault("after-commit")
    return folded


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
    layout: Layout,
    incoming: Incoming,
    thresholds: Thresholds,
    batch: int,
    log_moves: bool,
    fault: Fault,
    started: datetime,
) -> Folded:
    first = batch == 0
    kept, dups = _append_events(con, layout, incoming.events, batch)
    fault("events-written")
    counts = read_frame(
        con,
        "SELECT user_id, count(*)::BIGINT AS new_events FROM events WHERE batch = ? GROUP BY 1",
        [batch],
    )
    _registered(con, "__touched", counts.select("user_id"))
    touched = _leaves_of(_events_of(con, layout, "__touched"), layout)
    before = (
        touched.clear()
        if first
        else read_frame(
            con, "SELECT * FROM leaves WHERE user_id IN (SELECT user_id FROM __touched)"
        )
    )
    con.unregister("__touched")
    old_ref = None if first else meta_value(con, "reference_us")
    if first:
        _registered(con, "__rows", touched)
        con.sql("CREATE OR REPLACE TABLE leaves AS SELECT * FROM __rows")
        con.unregister("__rows")
        columns = ", ".join(sql_quote(c) for c in ["user_id", *model.columns])
        every = output_sql(layout.plan, "duckdb", "leaves")
        con.sql(
            f"CREATE OR REPLACE VIEW features AS SELECT {columns} FROM ({every}) ORDER BY user_id"
        )
    else:
        _replace_rows(con, "leaves", touched, everyone=False)
    fault("leaves-written")
    latest = touched[_ts_leaf(layout.plan)].max() if touched.height else None
    known = [int(v) for v in (old_ref, latest) if v is not None]
    ref_us = max(known) if known else None
    if ref_us is not None:
        set_meta(con, "reference_us", str(ref_us))
    everyone = first or ages(model, layout.plan)
    scope = read_frame(con, "SELECT * FROM leaves ORDER BY user_id") if everyone else touched
    n_moves = 0
    if scope.height and ref_us is not None:
        n_moves = _relabel(
            con,
            model,
            layout,
            scope,
            before,
            counts,
            thresholds,
            batch=batch,
            everyone=everyone,
            references=(None if old_ref is None else int(old_ref), ref_us),
            log_moves=log_moves,
            logged=started,
        )
    fault("labels-written")
    sizes, names = _sizes(con, model)
    _record_sizes(con, batch, sizes, names)
    distance = first_row(con, "SELECT avg(distance) FROM labels")[0]
    return Folded(
        batch=batch,
        source=incoming.source,
        rows_read=incoming.rows_read,
        rows_kept=kept,
        rows_left_out=incoming.rows_left_out,
        duplicates=dups,
        users_touched=touched.height,
        moves=n_moves,
        psi=drift.psi(sizes, _reference_sizes(model)),
        mean_distance=None if distance is None else float(distance),
        reference_time=_us_time(ref_us),
        seconds=0.0,
    )


def _features_at(
    leaves: pl.DataFrame, plan: FeaturePlan, ref_us: int, columns: list[str]
) -> pl.DataFrame:
    """The features of these users at a given reference time (any subset of users)."""
    return (
        output_query(leaves.lazy(), with_reference(plan, ref_us))
        .select("user_id", *columns)
        .collect()
    )


def _relabel(
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
    features = _features_at(scope, layout.plan, ref_us, model.columns)
    if everyone:
        old = read_frame(con, "SELECT * FROM labels") if _has_labels(con) else _no_labels()
    else:
        _registered(con, "__scope", features.select("user_id"))
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
    _replace_rows(con, "labels", labels, everyone=everyone)
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
            then = _features_at(
                pl.concat([changed, untouched]), layout.plan, old_ref, model.columns
            )
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
            "at": pl.Series([_us_time(ref_us)] * len(rows), dtype=pl.Datetime("us", "UTC")),
            "batch": pl.Series([batch] * len(rows), dtype=pl.Int64),
            "reason": pl.Series(reasons, dtype=pl.Utf8),
            "logged_at": pl.Series([logged] * len(rows), dtype=pl.Datetime("us", "UTC")),
        }
    )
    _registered(con, "__moves", moves)
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


def _sizes(con: duckdb.DuckDBPyConnection, model: Model) -> tuple[dict[int, int], dict[int, str]]:
    """Users per segment now, and every segment's name (the model's, and any label's)."""
    rows = con.sql(
        "SELECT segment_id, any_value(segment), count(*) FROM labels GROUP BY 1"
    ).fetchall()
    names = {int(k): str(v) for k, v in model.segmentation.names.items()}
    names.update({int(i): str(n) for i, n, _ in rows})
    return {int(i): int(c) for i, _, c in rows}, names


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
    con.sql("DELETE FROM sizes WHERE batch = ?", params=[batch])
    _registered(con, "__sizes", rows)
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
    moved = _relabel(
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
    sizes, names = _sizes(con, model)
    _record_sizes(con, batch, sizes, names)
    return moved
