"""``watch init``: a state from a saved model and the events it was fitted on.

The history is read the way ``assign`` reads it, stored as batch 0, and labelled: the starting
labels are exactly ``segtui assign MODEL HISTORY...``'s, and no move is logged for them. The model
is version 1 in ``models``. An existing state is refused unless ``force`` (then it is replaced
only once the new one is complete: built beside it and renamed into place).

Memory stays bounded whatever the history's size: every row of the files streams into a parquet
spool beside the state (checked, with why a row would be left out; removed after), DuckDB counts
the loading report over it and moves its events into ``events`` (keys and duplicates in SQL,
spilling past :data:`~segtui.watch.fold.HISTORY_MEMORY_LIMIT`), and leaves are computed for
consecutive users holding about ``chunk_events`` events at a time
(:func:`segtui.watch.fold.fold_history`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from segtui.artifacts.assign import as_model
from segtui.artifacts.model import Model, model_to_json
from segtui.errors import InputError
from segtui.ingest.events import CANONICAL_SCHEMA
from segtui.ingest.report import LoadReport
from segtui.watch.fold import (
    HISTORY_CHUNK_EVENTS,
    HISTORY_MEMORY_LIMIT,
    Folded,
    Incoming,
    fold_history,
)
from segtui.watch.layout import EVENT_ID, Layout, event_id_check, layout_for
from segtui.watch.sources import Sunk, sink_events
from segtui.watch.state import (
    SCHEMA_VERSION,
    connect,
    first_row,
    lock_path,
    run_lock,
    set_meta,
)

_SQL_TYPES = {pl.Utf8: "VARCHAR", pl.Float64: "DOUBLE", pl.Int64: "BIGINT"}


def _sql_type(column: str) -> str:
    dtype = CANONICAL_SCHEMA[column]
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ"
    return _SQL_TYPES[type(dtype)]


def _create_tables(con: duckdb.DuckDBPyConnection, layout: Layout) -> None:
    cols = ", ".join(f'"{c}" {_sql_type(c)}' for c in layout.event_columns)
    con.sql("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.sql(f"CREATE TABLE events (seq BIGINT, batch BIGINT, event_key UHUGEINT, {cols})")
    con.sql(
        "CREATE TABLE leaf_values "
        "(key UHUGEINT, user_id VARCHAR, leaf BIGINT, value VARCHAR, n BIGINT)"
    )
    con.sql(
        "CREATE TABLE moves (user_id VARCHAR, from_segment VARCHAR, from_id BIGINT, "
        'to_segment VARCHAR, to_id BIGINT, "at" TIMESTAMPTZ, batch BIGINT, reason VARCHAR, '
        "logged_at TIMESTAMPTZ)"
    )
    con.sql(
        "CREATE TABLE batches (batch BIGINT, source VARCHAR, rows_read BIGINT, rows_kept BIGINT, "
        "rows_left_out BIGINT, duplicates BIGINT, users_touched BIGINT, moves BIGINT, "
        "psi DOUBLE, mean_distance DOUBLE, reference_time TIMESTAMPTZ, "
        "started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, seconds DOUBLE, model_version BIGINT)"
    )
    con.sql(
        "CREATE TABLE models (version BIGINT, created_at TIMESTAMPTZ, reason VARCHAR, "
        "model_json VARCHAR)"
    )
    con.sql("CREATE TABLE sizes (batch BIGINT, segment_id BIGINT, segment VARCHAR, size BIGINT)")
    con.sql('CREATE TABLE rejected (source VARCHAR, "at" TIMESTAMPTZ, message VARCHAR)')
    # leaves, features and labels are created from the first batch's frames (their columns
    # follow the model).


@dataclass(frozen=True)
class Created:
    state: Path
    folded: Folded
    decisions: list[str]
    read: LoadReport
    """What reading the history kept and left out, and why."""


def create_state(
    state: Path,
    model_path: Path,
    history: Sequence[Path],
    *,
    force: bool = False,
    chunk_events: int = HISTORY_CHUNK_EVENTS,
) -> Created:
    """Build the state (see the module docstring)."""
    state = Path(state)
    if state.exists() and not force:
        raise InputError(
            "the watch state exists already",
            file=state,
            hint="Pass --force to replace it, or choose another STATE.",
        )
    model = as_model(model_path)
    if model.kind == "users_table":
        raise InputError(
            "the model was built from a users table: watch folds in events",
            file=model_path,
            hint="Build the model with `segtui segment` on event files.",
        )
    _remove_stale_spools(state)
    spool = state.with_name(f".{state.name}.{os.getpid()}{SPOOL_SUFFIX}")
    try:
        return _create(state, model, model_path, history, spool, chunk_events)
    finally:
        spool.unlink(missing_ok=True)


SPOOL_SUFFIX = ".history.parquet"


def _count_history(read: Sunk, spill: Path) -> tuple[LoadReport, str | None]:
    """The loading report and why ``event_id`` cannot key the events (None: it can, or there
    is none), counted by DuckDB over the spool, spilling to ``spill`` (removed after)."""
    con = duckdb.connect(
        config={"memory_limit": HISTORY_MEMORY_LIMIT, "temp_directory": str(spill)}
    )
    try:
        con.sql("SET TimeZone = 'UTC'")
        report = read.report(con)
        if EVENT_ID not in read.loaded.columns or report.rows_kept == 0:
            return report, None
        return report, _event_id_check(con, read)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def _event_id_check(con: duckdb.DuckDBPyConnection, read: Sunk) -> str | None:
    """:func:`event_id_check` on the history's kept events, counted by DuckDB."""
    row = first_row(
        con, f'SELECT count("{EVENT_ID}"), count(DISTINCT "{EVENT_ID}") FROM {read.kept}'
    )
    given, distinct = row if row is not None else (0, 0)
    return event_id_check(int(given), int(distinct))


def _remove_stale_spools(state: Path) -> None:
    """The spools of inits that died (their process is gone): each init has its own, so two at
    once never share one (the run lock refuses the second only once its history is read)."""
    for spool in state.parent.glob(f".{state.name}.*{SPOOL_SUFFIX}"):
        pid = spool.name[len(state.name) + 2 : -len(SPOOL_SUFFIX)]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            spool.unlink(missing_ok=True)
        except PermissionError:
            pass  # another user's live process


def _create(
    state: Path,
    model: Model,
    model_path: Path,
    history: Sequence[Path],
    spool: Path,
    chunk_events: int,
) -> Created:
    """:func:`create_state` once the model is read; the history goes through ``spool``."""
    read = sink_events(model, list(history), spool)
    loaded = read.loaded
    report, unkeyed = _count_history(read, spool.with_suffix(".spill"))
    if report.rows_kept == 0:
        raise InputError(
            "the history has no events to start from",
            file=history[0],
            details=[f"left out: {lo.line()}" for lo in report.left_out if lo.count],
        )
    columns, decisions = list(loaded.columns), list(loaded.decisions)
    if unkeyed:
        columns.remove(EVENT_ID)
        decisions.append(unkeyed)
    layout = layout_for(model, columns, loaded.session_derived, loaded.session_gap_minutes)
    building = state.with_name(f".{state.name}.building")
    leftovers = (building, building.with_name(building.name + ".wal"))
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    with run_lock(state):
        con, built = connect(building), False
        try:
            con.sql(f"SET memory_limit = '{HISTORY_MEMORY_LIMIT}'")  # this connection only
            _create_tables(con, layout)
            now = datetime.now(UTC)
            for key, value in {
                "schema_version": str(SCHEMA_VERSION),
                "model_version": "1",
                "event_columns": json.dumps(list(layout.event_columns)),
                "sessions_derived": "true" if layout.sessions_derived else "false",
                "session_gap_minutes": str(layout.session_gap_minutes),
                "created_at": now.isoformat(),
                "model_file": str(model_path),
            }.items():
                set_meta(con, key, value)
            con.sql(
                "INSERT INTO models VALUES (1, ?, 'init', ?)",
                params=[now, model_to_json(model.data)],
            )
            incoming = Incoming(
                "init: " + ", ".join(p.name for p in history),
                pl.DataFrame(),  # the events stream from the spool file
                report.rows_read,
                report.rows_read - report.rows_kept,
            )
            folded = fold_history(
                con, model, layout, read.kept, incoming, chunk_events=chunk_events
            )
            con.sql("CHECKPOINT")
            built = True
        finally:
            con.close()
            for leftover in () if built else leftovers:  # a failed init leaves nothing behind
                leftover.unlink(missing_ok=True)
        os.replace(building, state)
        lock_path(state).touch()
    return Created(state, folded, decisions, report)
