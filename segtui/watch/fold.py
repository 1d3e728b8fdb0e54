"""Fold one batch of canonical events into the state, in one transaction.

Per batch: the new events are keyed and appended (a row whose key an earlier batch already holds
is a replayed duplicate and is dropped); the feature plan's first stage (``leaves``) of the users
the batch touched is merged with the leaves of the batch's own events (:mod:`segtui.watch.merge`;
recomputed from all their events only where merging would be wrong), so a batch's cost follows
the batch and its users, not their history; features are the second stage over the
leaves at the reference time (the latest event seen): the ``features`` view computes them for
every user whenever it is read, so time-relative features age for everyone without rewriting a
table. Users are labelled again (vectorised) and the thresholds applied: every user when the
clustering features or a rule segment depend on the reference time (they age), else only the
users the batch touched (nobody else's features changed). Users whose label changed get a row in
``moves``; with ``--online`` the centers then move with the touched users and everyone is
labelled with the new version (:mod:`segtui.watch.online`); the ledger gets the batch's row.
Nothing of it is visible until the commit, so a process killed at any point leaves the state as
it was.

``init``'s history is batch 0 through :func:`fold_history`: the same keys and labels, with the
events moved into the table by DuckDB from a parquet spool and the leaves computed per chunk of
users, so its memory does not grow with the history.

``fault`` is called with a point's name at each step (:data:`FAULT_POINTS`): the tests kill the
process there to prove the claim above.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from segtui.artifacts.model import Model
from segtui.features.compile import leaf_names
from segtui.features.plan import FeaturePlan, Leaf
from segtui.features.sql import output_sql
from segtui.sqltext import quote as sql_quote
from segtui.watch import drift
from segtui.watch.layout import EVENT_ID, Layout
from segtui.watch.merge import (
    add_values,
    append_values,
    full_leaves,
    late_users,
    merged_leaves,
    replace_values,
)
from segtui.watch.online import Adapted, adapt
from segtui.watch.relabel import (
    ages,
    record_sizes,
    reference_sizes,
    register_frame,
    relabel_users,
    replace_rows,
    segment_sizes,
    us_time,
)
from segtui.watch.scoring import Thresholds
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
    adapted: Adapted | None = None
    """What ``--online`` did to the centers in this batch (None: off, or no center moved)."""

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


OCCURRENCE = "__occurrence"
"""The how-many-th identical row this is within its source (1, 2, ...): part of the event key."""


def with_occurrence(events: pl.DataFrame) -> pl.DataFrame:
    """Number identical rows within one source, in order, so that the same row twice in a file
    (two real events at the same instant) is two events, and the file replayed is none."""
    if OCCURRENCE in events.columns:
        return events
    cols = events.columns
    ones = pl.lit(1, pl.Int64)
    if not cols:
        return events.with_columns(ones.alias(OCCURRENCE))
    repeated = events.is_duplicated()
    if not repeated.any():  # the usual case: no numbering to do (a hash pass, not a window)
        return events.with_columns(ones.alias(OCCURRENCE))
    number = pl.int_range(pl.len(), dtype=pl.Int64).over(cols) + 1
    return events.with_columns(
        pl.when(pl.Series(repeated)).then(number).otherwise(ones).alias(OCCURRENCE)
    )


def _key_expr(columns: Sequence[str]) -> str:
    """A stable 128-bit event key (DuckDB's md5, not a process-specific hash, so the key means
    the same in every run and version): the layout's own event id where the row has one (the
    same message sent twice is one event, whatever else differs), else the row's canonical
    values and its occurrence number. Each value is prefixed by its length, so a separator
    (U+001F) inside a value cannot make two different rows give the same text."""
    parts = []
    for col in columns:
        ref = f'"{col}"'
        text = f"epoch_us({ref})::VARCHAR" if col == "ts" else f"{ref}::VARCHAR"
        value = f"coalesce({text}, chr(0))"
        parts.append(f"length({value})::VARCHAR || ':' || {value}")
    parts.append(f"{OCCURRENCE}::VARCHAR")
    row = f"md5_number(concat_ws(chr(31), {', '.join(parts)}))"
    if EVENT_ID not in columns:
        return row
    given = f'"{EVENT_ID}"'
    return f"CASE WHEN {given} IS NULL THEN {row} ELSE md5_number('id' || chr(31) || {given}) END"


def _held_keys(con: duckdb.DuckDBPyConnection) -> None:
    """``__held``: the keys of ``__keyed`` that ``events`` holds already. The batch's keys are
    the small side of the join, so only the key column is read. A row's own key covers its
    time, so a row keyed by its values can only repeat an event of the same time: those keys
    are looked up among the events within the batch's time range, and DuckDB skips the row
    groups outside it by their min/max (a batch of recent events reads recent row groups, not
    the history). An event id can come back with other values, so id keys are looked up in all
    events."""
    lo, hi, untimed, ids = first_row(
        con,
        "SELECT min(ts) FILTER (__by_row), max(ts) FILTER (__by_row), "
        "count(*) FILTER (__by_row AND ts IS NULL), count(*) FILTER (NOT __by_row) FROM __keyed",
    )
    parts = []
    if lo is not None or untimed:
        window = "" if untimed else "AND ts BETWEEN $lo AND $hi"
        parts.append(
            "SELECT event_key FROM events WHERE event_key IN "
            f"(SELECT event_key FROM __keyed WHERE __by_row) {window}"
        )
    if ids:
        parts.append(
            "SELECT event_key FROM events WHERE event_key IN "
            "(SELECT event_key FROM __keyed WHERE NOT __by_row)"
        )
    union = " UNION ".join(parts) or "SELECT event_key FROM __keyed WHERE false"
    params = {"lo": lo, "hi": hi} if lo is not None and not untimed else None
    con.sql(
        f"CREATE OR REPLACE TEMP TABLE __held AS SELECT DISTINCT event_key FROM ({union})",
        params=params,
    )


def _append_events(
    con: duckdb.DuckDBPyConnection, layout: Layout, events: pl.DataFrame, batch: int
) -> tuple[pl.DataFrame, int]:
    """Append the batch's events not already held; (the events kept, in the state's columns and
    arrival order; the number of duplicates dropped)."""
    cols = list(layout.event_columns)
    frame = with_occurrence(events.select(cols)) if OCCURRENCE not in events.columns else events
    frame = frame.select(*cols, OCCURRENCE).with_row_index("__row")
    con.register("__incoming", frame.to_arrow())
    quoted = ", ".join(f'"{c}"' for c in cols)
    by_row = f'"{EVENT_ID}" IS NULL' if EVENT_ID in cols else "true"
    con.sql(
        f"CREATE OR REPLACE TEMP TABLE __keyed AS SELECT __row, {quoted}, "
        f"{_key_expr(cols)} AS event_key, {by_row} AS __by_row FROM __incoming"
    )
    con.unregister("__incoming")
    _held_keys(con)
    # an event id sent twice in one batch: its first row (the window only when a key repeats)
    repeats = first_row(con, "SELECT count(*) > count(DISTINCT event_key) FROM __keyed")[0]
    first = "QUALIFY row_number() OVER (PARTITION BY event_key ORDER BY __row) = 1"
    con.sql(
        "CREATE OR REPLACE TEMP TABLE __new AS SELECT * FROM __keyed "
        f"ANTI JOIN __held USING (event_key) {first if repeats else ''}"
    )
    kept = read_frame(con, f"SELECT {quoted} FROM __new ORDER BY __row")
    start = first_row(con, "SELECT coalesce(max(seq), 0) FROM events")[0]
    con.sql(
        f"INSERT INTO events (seq, batch, event_key, {quoted}) "
        f"SELECT {start} + row_number() OVER (ORDER BY __row), {batch}, event_key, {quoted} "
        "FROM __new ORDER BY __row"
    )
    for temp in ("__keyed", "__held", "__new"):
        con.sql(f"DROP TABLE {temp}")
    return kept, frame.height - kept.height


def _events_of(
    con: duckdb.DuckDBPyConnection,
    layout: Layout,
    users: str,
    between: tuple[str, str] | None = None,
) -> pl.DataFrame:
    """All events of the users in relation ``users`` (a ``user_id`` column), arrival order;
    ``between``: the first and last of those users, so a scan of events stored by user reads
    only their row groups."""
    quoted = ", ".join(f'"{c}"' for c in layout.event_columns)
    where = f"user_id IN (SELECT user_id FROM {users})"
    params: list[object] | None = None
    if between is not None:
        where, params = f"user_id BETWEEN ? AND ? AND {where}", list(between)
    return read_frame(con, f"SELECT {quoted} FROM events WHERE {where} ORDER BY seq", params=params)


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
    online: Path | None = None,
) -> Folded:
    """Fold ``incoming`` into the state as batch number ``batch`` and commit (see the module
    docstring); on any error the transaction is rolled back and the error raised. ``online``
    (the state's path) moves the centers with the batch's users in the same transaction
    (:mod:`segtui.watch.online`)."""
    started, clock = now(), time.perf_counter()
    fault("batch-read")
    con.sql("BEGIN TRANSACTION")
    try:
        folded, touched = _fold(
            con, model, layout, incoming, thresholds, batch, log_moves, fault, started
        )
        if online is not None and folded.reference_time is not None:
            ref_us = int(meta_value(con, "reference_us") or 0)
            adapted = adapt(
                con, online, model, model_version, layout, touched, ref_us, batch, started
            )
            if adapted is not None:
                folded, model_version = replace(folded, adapted=adapted), adapted.version
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


@dataclass(frozen=True)
class InHand:
    """A batch whose events are in: what labelling it needs."""

    batch: int
    incoming: Incoming
    touched: pl.DataFrame
    """The leaves of the users the batch touched, after it."""
    before: pl.DataFrame
    """Their leaves before it (none for a new user)."""
    counts: pl.DataFrame
    """``user_id, new_events``: the events the batch kept per user."""
    kept: int
    duplicates: int


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
) -> tuple[Folded, pl.DataFrame]:
    """The batch folded (its ledger row) and the leaves of the users it touched."""
    kept, dups = _append_events(con, layout, incoming.events, batch)
    fault("events-written")
    counts = (
        kept.group_by("user_id").agg(pl.len().cast(pl.Int64).alias("new_events")).sort("user_id")
    )
    register_frame(con, "__touched", counts.select("user_id"))
    before = read_frame(
        con, "SELECT * FROM leaves WHERE user_id IN (SELECT user_id FROM __touched) ORDER BY 1"
    )
    con.unregister("__touched")
    touched = _batch_leaves(con, layout, kept, before)
    in_hand = InHand(batch, incoming, touched, before, counts, kept.height, dups)
    return _relabel(con, model, layout, in_hand, thresholds, log_moves, fault, started)


def _batch_leaves(
    con: duckdb.DuckDBPyConnection, layout: Layout, kept: pl.DataFrame, before: pl.DataFrame
) -> pl.DataFrame:
    """The touched users' leaves after the batch: merged from its events where that is exact,
    else from all their events (:mod:`segtui.watch.merge`); ``leaf_values`` updated."""
    late = late_users(kept, before, layout)
    parts = []
    if late.len():
        register_frame(con, "__late", late.to_frame())
        full, values = full_leaves(_events_of(con, layout, "__late"), layout)
        con.unregister("__late")
        replace_values(con, late, values)
        parts.append(full)
        kept = kept.filter(~pl.col("user_id").is_in(late.implode()))
        before = before.filter(~pl.col("user_id").is_in(late.implode()))
    if kept.height:
        merged, values = merged_leaves(con, kept, before, layout)
        add_values(con, values)
        parts.append(merged)
    if not parts:
        return before.clear()
    return pl.concat(parts).sort("user_id")


def _relabel(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    layout: Layout,
    b: InHand,
    thresholds: Thresholds,
    log_moves: bool,
    fault: Fault,
    started: datetime,
) -> tuple[Folded, pl.DataFrame]:
    """The batch's events are in: its users' leaves written, everyone in scope labelled, the
    sizes recorded; the ledger row (not yet written) and the touched users' leaves."""
    first = b.batch == 0
    touched = b.touched
    old_ref = None if first else meta_value(con, "reference_us")
    if first:
        register_frame(con, "__rows", touched)
        con.sql("CREATE OR REPLACE TABLE leaves AS SELECT * FROM __rows")
        con.unregister("__rows")
        columns = ", ".join(sql_quote(c) for c in ["user_id", *model.columns])
        every = output_sql(layout.plan, "duckdb", "leaves")
        con.sql(
            f"CREATE OR REPLACE VIEW features AS SELECT {columns} FROM ({every}) ORDER BY user_id"
        )
    else:
        replace_rows(con, "leaves", touched, everyone=False)
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
        n_moves = relabel_users(
            con,
            model,
            layout,
            scope,
            b.before,
            b.counts,
            thresholds,
            batch=b.batch,
            everyone=everyone,
            references=(None if old_ref is None else int(old_ref), ref_us),
            log_moves=log_moves,
            logged=started,
        )
    fault("labels-written")
    sizes, names = segment_sizes(con, model)
    record_sizes(con, b.batch, sizes, names)
    distance = first_row(con, "SELECT avg(distance) FROM labels")[0]
    folded = Folded(
        batch=b.batch,
        source=b.incoming.source,
        rows_read=b.incoming.rows_read,
        rows_kept=b.kept,
        rows_left_out=b.incoming.rows_left_out,
        duplicates=b.duplicates,
        users_touched=touched.height,
        moves=n_moves,
        psi=drift.psi(sizes, reference_sizes(model)),
        mean_distance=None if distance is None else float(distance),
        reference_time=us_time(ref_us),
        seconds=0.0,
    )
    return folded, touched


HISTORY_CHUNK_EVENTS = 1_000_000
"""``init`` computes leaves for users in chunks of about this many events (peak memory)."""
HISTORY_MEMORY_LIMIT = "1GB"
"""DuckDB's memory while ``init`` moves the history into ``events``: past it, it spills to a
temporary folder beside the state, so the peak does not grow with the history (measured at 2M
events: 1.5 GiB without a limit)."""


def _append_history(
    con: duckdb.DuckDBPyConnection, layout: Layout, history: str
) -> tuple[int, int]:
    """The history (a ``FROM`` item of its events with ``file_row_number``, in file order)
    into ``events`` as batch 0, inside DuckDB (which spills what does not fit): the same keys,
    occurrence numbers and duplicate rule as :func:`_append_events` on the whole history as
    one frame; (kept, duplicates dropped).

    ``seq`` is the file row number plus one: arrival order without a window over all rows
    (a row left out or dropped as a duplicate leaves a gap). Rows keyed by their values are
    unique by construction (identical rows get occurrences 1, 2, ...), so only an event id can
    repeat, and only then is the first row of each key kept by a window (dropping the two windows
    halved this step: 64 s -> 34 s at 10M events, ``benchmarks/bench_watch_init.py``). The rows
    are stored by user (then ``seq``), so :func:`_history_leaves` reads each chunk's users from
    their own row groups."""
    cols = list(layout.event_columns)
    quoted = ", ".join(f'"{c}"' for c in cols)
    occurrence = f"row_number() OVER (PARTITION BY {quoted} ORDER BY __row)"
    raw = f"SELECT {quoted}, file_row_number AS __row, {occurrence} AS {OCCURRENCE} FROM {history}"
    keyed = f"SELECT __row, {quoted}, {_key_expr(cols)} AS event_key FROM ({raw})"
    if EVENT_ID in cols:
        keyed = (
            f"SELECT * FROM ({keyed}) "
            "QUALIFY row_number() OVER (PARTITION BY event_key ORDER BY __row) = 1"
        )
    con.sql(
        f"INSERT INTO events (seq, batch, event_key, {quoted}) "
        f"SELECT __row + 1, 0, event_key, {quoted} FROM ({keyed}) ORDER BY user_id, __row"
    )
    total = first_row(con, f"SELECT count(*) FROM {history}")[0]
    kept = first_row(con, "SELECT count(*) FROM events")[0]
    return int(kept), int(total) - int(kept)


def _history_leaves(
    con: duckdb.DuckDBPyConnection, layout: Layout, counts: pl.DataFrame, chunk_events: int
) -> pl.DataFrame:
    """Every user's leaves, computed for consecutive users holding about ``chunk_events``
    events at a time (leaves are per user, so chunks change no value); their ``leaf_values``
    rows written. A chunk is a range of user ids, so DuckDB skips the row groups of other users
    (the history is stored by user): the step is linear in the history, not chunks x events."""
    ends = (counts["new_events"].cum_sum() // max(1, chunk_events)).to_numpy()
    parts = []
    for chunk in (
        counts.select("user_id")
        .with_columns(pl.Series("__chunk", ends))
        .partition_by("__chunk", maintain_order=True, include_key=False)
    ):
        register_frame(con, "__chunk_users", chunk)
        ids = chunk["user_id"]
        events = _events_of(con, layout, "__chunk_users", between=(ids[0], ids[-1]))
        leaves, values = full_leaves(events, layout)
        con.unregister("__chunk_users")
        append_values(con, values)
        parts.append(leaves)
    return pl.concat(parts).sort("user_id") if parts else pl.DataFrame()


def fold_history(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    layout: Layout,
    history: str,
    incoming: Incoming,
    *,
    chunk_events: int = HISTORY_CHUNK_EVENTS,
    fault: Fault = no_fault,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Folded:
    """``init``'s batch 0 from the history's events (a ``FROM`` item with ``file_row_number``:
    :attr:`segtui.watch.sources.Sunk.kept`; ``incoming`` carries its name and the reader's
    counts), in one transaction: the events streamed into the table, leaves
    per chunk of users, then labels as any first batch (no moves logged)."""
    started, clock = now(), time.perf_counter()
    fault("batch-read")
    con.sql("BEGIN TRANSACTION")
    try:
        kept, dups = _append_history(con, layout, history)
        fault("events-written")
        counts = read_frame(
            con,
            "SELECT user_id, count(*)::BIGINT AS new_events FROM events GROUP BY 1 ORDER BY 1",
        )
        touched = _history_leaves(con, layout, counts, chunk_events)
        in_hand = InHand(0, incoming, touched, touched.clear(), counts, kept, dups)
        folded, _ = _relabel(con, model, layout, in_hand, Thresholds(), False, fault, started)
        folded = replace(folded, seconds=time.perf_counter() - clock)
        _ledger(con, folded, started, now(), 1)
        fault("before-commit")
        con.sql("COMMIT")
    except BaseException:
        con.sql("ROLLBACK")
        raise
    fault("after-commit")
    return folded
