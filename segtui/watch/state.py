"""The watch state: one DuckDB database file, its tables, and how processes share it.

Tables (``SCHEMA_VERSION`` 2; the README lists their columns):

- ``meta``: key/value text: ``schema_version``, ``model_version``, ``event_columns``,
  ``session_gap_minutes``, ``sessions_derived``, ``created_at``, ``online_counts`` (``--online``).
- ``events``: every canonical event kept, with ``seq`` (global arrival order), ``batch`` (0 for
  the history given to ``init``) and ``event_key`` (what drops a replayed duplicate). When the log
  has no session column, sessions are derived per user when features are computed, not stored.
- ``leaves``: per user, the first stage of the feature plan (``segtui.features.plan``): counts,
  sums, extremes over the user's events, and the few extra leaves merging needs. Updated only
  for the users a batch touches, from the batch's events (:mod:`segtui.watch.merge`).
- ``leaf_values``: ``key, user_id, leaf, value, n`` (``key`` the md5 of the next three): per
  user and distinct/top_count leaf, how many events had each value (one row per value: a batch
  adds to the rows of values already held).
- ``features``: per user, the model's features at the current reference time (every user, since
  time-relative features age).
- ``labels``: per user, ``segment_id``, ``segment``, ``since_batch`` (when they got it),
  ``events_since_move``.
- ``moves``: ``user_id, from_segment, from_id, to_segment, to_id, at, batch, reason, logged_at``.
- ``batches``: the ledger: ``batch, source, rows_read, rows_kept, rows_left_out, duplicates,
  users_touched, moves, psi, mean_distance, reference_time, started_at, finished_at, seconds,
  model_version``.
- ``models``: ``version, created_at, reason, model_json``.
- ``rejected``: ``source, at, message``: files moved to ``INBOX/.rejected/``.
- ``sizes``: ``batch, segment_id, segment, size``: every segment's size after each batch (what
  the app draws over recent batches).

DuckDB lets one process write a file at a time. ``watch run`` opens the database for each batch
and closes it after the commit, so readers (``status``, ``moves``, ``export``, the app, any DuckDB
client) get in between batches; they retry for a few seconds while a batch is being written. A
lock file beside the database (``STATE.lock``, an advisory ``flock`` released when the process
dies) keeps a second ``run`` out.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import duckdb
import polars as pl

from segtui.errors import InputError

SCHEMA_VERSION = 2
"""1: leaves recomputed from all of a user's events; 2: leaves merged, ``leaf_values``."""
TABLES: tuple[str, ...] = (
    "meta",
    "events",
    "leaves",
    "leaf_values",
    "features",
    "labels",
    "moves",
    "batches",
    "models",
    "rejected",
    "sizes",
)
READ_RETRY_SECONDS = 10.0
"""How long a reader waits for a batch being written (a batch takes seconds)."""


def lock_path(state: Path) -> Path:
    return state.with_name(state.name + ".lock")


DUCKDB_MAGIC = b"DUCK"
"""Bytes 8-12 of every DuckDB database file."""


def is_duckdb_file(path: Path) -> bool:
    """Whether ``path`` is a regular file with DuckDB's header (never opens a pipe or device)."""
    if not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
    except OSError:
        return False
    return len(head) == 12 and head[8:12] == DUCKDB_MAGIC


def connect(state: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection with UTC session time (the engine's timestamps are UTC instants)."""
    con = duckdb.connect(str(state), read_only=read_only)
    con.sql("SET TimeZone = 'UTC'")
    return con


@contextlib.contextmanager
def reading(
    state: Path, retry_seconds: float = READ_RETRY_SECONDS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to an existing state, retried while a batch holds the file."""
    state = Path(state)
    if not state.is_file():
        raise InputError("no watch state here", file=state, hint="Create it: segtui watch init.")
    if not is_duckdb_file(state):
        raise InputError(
            "this is not a DuckDB database, so not a watch state",
            file=state,
            hint="A watch state is the file segtui watch init creates.",
        )
    deadline = time.monotonic() + retry_seconds
    while True:
        try:
            con = connect(state, read_only=True)
            break
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() > deadline:
                raise InputError(f"cannot open the watch state: {error}", file=state) from None
            time.sleep(0.1)
        except duckdb.Error as error:
            raise InputError(f"not a watch state database: {error}", file=state) from None
    try:
        check_schema(con, state)
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def writing(
    state: Path, retry_seconds: float = READ_RETRY_SECONDS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection, retried while a reader holds the file; closed on exit."""
    deadline = time.monotonic() + retry_seconds
    while True:
        try:
            con = connect(state)
            break
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() > deadline:
                raise InputError(f"cannot open the watch state: {error}", file=state) from None
            time.sleep(0.1)
    try:
        yield con
    finally:
        con.close()


def check_schema(con: duckdb.DuckDBPyConnection, state: Path) -> None:
    """Refuse a database that is not a watch state, or one another segtui version wrote."""
    have = {
        row[0] for row in con.sql("SELECT table_name FROM information_schema.tables").fetchall()
    }
    version = meta_value(con, "schema_version") if "meta" in have else None
    if version is not None and version.isdigit() and int(version) != SCHEMA_VERSION:
        older = int(version) < SCHEMA_VERSION
        raise InputError(
            f"the watch state has schema version {version}, this segtui reads {SCHEMA_VERSION}"
            + (" (it keeps the state a batch needs differently)" if older else ""),
            file=state,
            hint="Create the state again from the model and its history: "
            "segtui watch init --force STATE MODEL HISTORY... (then run the inbox again)"
            if older
            else "Read it with the segtui that wrote it.",
        )
    missing = [t for t in TABLES if t not in have]
    if missing:
        raise InputError(
            f"not a watch state: it has no table {missing[0]!r}",
            file=state,
            hint="Create one with: segtui watch init STATE MODEL HISTORY...",
        )
    if version is None or not version.isdigit():
        raise InputError(
            f"the watch state has schema version {version}, this segtui reads {SCHEMA_VERSION}",
            file=state,
            hint="Create the state again with this segtui: segtui watch init --force.",
        )


def meta_value(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = first_row(con, "SELECT value FROM meta WHERE key = ?", [key])
    return None if row is None else str(row[0])


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.sql("DELETE FROM meta WHERE key = ?", params=[key])
    con.sql("INSERT INTO meta VALUES (?, ?)", params=[key, value])


@contextlib.contextmanager
def run_lock(state: Path) -> Iterator[None]:
    """Hold the state's run lock, or refuse: another ``watch run`` (or ``init``) is using it."""
    path = lock_path(Path(state))
    handle: IO[str] = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the run)
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise InputError(
                f"the watch state is being run already (by {holder})",
                file=state,
                hint="Stop that `segtui watch run` first, or use another STATE.",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


def read_frame(
    con: duckdb.DuckDBPyConnection, query: str, params: list[object] | None = None
) -> pl.DataFrame:
    """A query's rows as a polars frame (through Arrow, one copy)."""
    table = con.sql(query, params=params).to_arrow_table()
    out = pl.from_arrow(table)
    assert isinstance(out, pl.DataFrame)
    return out


def first_row(
    con: duckdb.DuckDBPyConnection, query: str, params: list[object] | None = None
) -> tuple[Any, ...] | None:
    """A query's first row, None when it has none."""
    rows = con.sql(query, params=params).fetchall()
    return rows[0] if rows else None
