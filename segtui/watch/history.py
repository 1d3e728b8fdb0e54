"""What the app's watch screen reads from a state: is it one, and how it changed lately.

A DuckDB database is only ever a watch state to segtui (:func:`is_state` reads its header; the
tables are checked when it is opened, and one without them is refused with the reason). The
screen polls :func:`mark` (one small query: the ledger's last batch and the model version) and
reads the whole :func:`history` only when the mark moved. Every read opens the state read-only and
retries while ``watch run`` writes a batch (:func:`segtui.watch.state.reading`), so the screen
stays in step with the ledger without ever holding the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from segtui.errors import InputError
from segtui.watch.report import MOVES_COLUMNS, status
from segtui.watch.state import (
    READ_RETRY_SECONDS,
    first_row,
    is_duckdb_file,
    meta_value,
    read_frame,
    reading,
)

RECENT_BATCHES = 10
LATEST_MOVES = 50
REFIT_DRIFT_KEY = "refit_drift"
"""The meta key holding the PSI a running ``watch run --refit-drift X`` refits at (absent: off)."""

_CONSISTENT_TRIES = 5


def is_state(path: str | Path) -> bool:
    """Whether ``path`` is a DuckDB database file (what ``segtui open`` opens as a watch state)."""
    return is_duckdb_file(Path(path))  # a folder, a glob or a named pipe is not (never opened)


def check_state(state: Path) -> None:
    """Refuse (InputError) what cannot be opened as a watch state: no tables, another schema."""
    with reading(state):
        pass


Mark = tuple[int, int]
"""(the ledger's last batch, the newest model version): when either moves, the screen rereads."""


def mark(state: Path, retry_seconds: float = READ_RETRY_SECONDS) -> Mark:
    """The state's mark, in one small query."""
    with reading(state, retry_seconds) as con:
        return _mark(con)


def _mark(con: duckdb.DuckDBPyConnection) -> Mark:
    row = first_row(
        con,
        "SELECT (SELECT coalesce(max(batch), 0) FROM batches), "
        "(SELECT coalesce(max(version), 0) FROM models)",
    )
    assert row is not None
    return int(row[0]), int(row[1])


@dataclass(frozen=True)
class SegmentTrend:
    """A segment now (from ``status``) and its sizes over the recent batches, oldest first."""

    id: int
    name: str
    size: int
    share: float
    sizes: tuple[int, ...]


@dataclass(frozen=True)
class BatchDrift:
    """One batch of the ledger: its drift, and whether the PSI passed the refit threshold."""

    batch: int
    source: str
    psi: float | None
    mean_distance: float | None
    moves: int
    over: bool


@dataclass(frozen=True)
class History:
    """Everything the watch screen shows, read at one mark."""

    status: dict[str, Any]
    mark: Mark
    batches: tuple[int, ...]
    """The recent batch numbers the trends cover (0 is the history ``init`` folded in)."""
    segments: tuple[SegmentTrend, ...]
    moves: pl.DataFrame
    """The latest moves, newest batch first (the moves log's columns)."""
    drift: tuple[BatchDrift, ...]
    """The recent batches' drift, oldest first (batch 0 left out: it is the reference)."""
    refit_drift: float | None


def recent_sizes(con: duckdb.DuckDBPyConnection, batches: int) -> pl.DataFrame:
    """The ``sizes`` rows (batch, segment_id, segment, size) of the last ``batches`` batches."""
    return read_frame(
        con,
        "SELECT batch, segment_id, segment, size FROM sizes "
        "WHERE batch > (SELECT coalesce(max(batch), 0) FROM sizes) - ? "
        "ORDER BY batch, segment_id",
        [batches],
    )


def latest_moves(con: duckdb.DuckDBPyConnection, limit: int) -> pl.DataFrame:
    """The newest ``limit`` moves: the latest batch first, users in order within a batch, and
    a user's moves within one batch (its fold, then an online update or a refit) newest first:
    by when logged, then by the order written (a fold and its online update share a time)."""
    columns = ", ".join(f'"{c}"' for c in MOVES_COLUMNS)
    order = "batch DESC, user_id, logged_at DESC, rowid DESC"
    return read_frame(con, f"SELECT {columns} FROM moves ORDER BY {order} LIMIT ?", [limit])


def refit_threshold(con: duckdb.DuckDBPyConnection) -> float | None:
    """The PSI the state refits at, when a run set one (None: refit is off)."""
    value = meta_value(con, REFIT_DRIFT_KEY)
    if value is None or value.strip().lower() in ("", "off", "none", "null"):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def drift_by_batch(
    con: duckdb.DuckDBPyConnection, batches: int, threshold: float | None
) -> tuple[BatchDrift, ...]:
    """The last ``batches`` batches' PSI and mean distance, oldest first."""
    rows = con.sql(
        "SELECT batch, source, psi, mean_distance, moves FROM batches WHERE batch > 0 "
        "ORDER BY batch DESC LIMIT ?",
        params=[batches],
    ).fetchall()
    return tuple(
        BatchDrift(
            int(b),
            str(source),
            None if psi is None else float(psi),
            None if distance is None else float(distance),
            int(moved or 0),
            threshold is not None and psi is not None and float(psi) > threshold,
        )
        for b, source, psi, distance, moved in reversed(rows)
    )


def _trends(info: dict[str, Any], sizes: pl.DataFrame) -> tuple[tuple[int, ...], list]:
    batches = tuple(sorted(set(sizes["batch"].to_list())))
    by_key = {
        (int(b), int(s)): int(n)
        for b, s, n in sizes.select("batch", "segment_id", "size").iter_rows()
    }
    trends = [
        SegmentTrend(
            int(s["id"]),
            str(s["name"]),
            int(s["size"]),
            float(s["share"]),
            tuple(by_key.get((b, int(s["id"])), 0) for b in batches),
        )
        for s in info["segments"]
    ]
    return batches, trends


def history(
    state: Path,
    *,
    batches: int = RECENT_BATCHES,
    moves: int = LATEST_MOVES,
    retry_seconds: float = READ_RETRY_SECONDS,
) -> History:
    """The state's status (``report.status``, the same answer as ``watch status``) with the
    recent sizes, moves and drift, all at one mark: when a batch lands between the two reads,
    both are read again."""
    state = Path(state)
    for _ in range(_CONSISTENT_TRIES):
        mark(state, retry_seconds)  # waits at most retry_seconds (``status`` waits longer)
        info = status(state)
        with reading(state, retry_seconds) as con:
            now = _mark(con)
            if now != (info["last_batch"] or 0, int(info["model_version"])):
                continue  # a batch (or a refit) landed between the reads
            sizes = recent_sizes(con, batches)
            latest = latest_moves(con, moves)
            threshold = refit_threshold(con)
            drift = drift_by_batch(con, batches, threshold)
        numbers, trends = _trends(info, sizes)
        return History(info, now, numbers, tuple(trends), latest, drift, threshold)
    raise InputError(
        "the watch state kept changing while it was read", file=state, hint="It is read again."
    )
