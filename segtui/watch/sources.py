"""Where batches come from: event files read with the model's mapping, an inbox folder, stdin.

A file is read the way ``assign`` reads it (the model's mapping and session gap), into the
canonical columns the state stores. A file larger than ``batch_events`` kept events is split into
consecutive parts of that many events, in file order, so the same file always splits the same way
and a run killed between parts resumes at the next part.

An inbox file is ready when its name does not start with ``.`` nor end in ``.tmp``/``.part``
and its size and modification time did not change between two looks; ready files are taken in
name order. Stdin is read as lines (NDJSON, or CSV whose first line is the header) and cut into
micro-batches of ``batch_events`` lines or ``batch_seconds`` seconds, whichever comes first.
"""

from __future__ import annotations

import contextlib
import os
import select
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import duckdb
import polars as pl

from segtui import sqltext
from segtui.artifacts.assign import model_loaded_events
from segtui.artifacts.model import Model
from segtui.engines.features import counted_report
from segtui.errors import InputError
from segtui.ingest.events import CANONICAL_SCHEMA, LoadedEvents
from segtui.ingest.report import REASON_COL, LoadReport
from segtui.ingest.sources import input_error_from_polars
from segtui.watch.fold import Incoming, with_occurrence
from segtui.watch.state import read_frame

WAITING_SUFFIXES = (".tmp", ".part")
REJECTED = ".rejected"


@dataclass(frozen=True)
class Read:
    """Canonical events of one file and what reading it decided."""

    events: pl.DataFrame
    rows_read: int
    rows_left_out: int
    loaded: LoadedEvents


def read_events(model: Model, paths: Sequence[Path]) -> Read:
    """Read event files with the model's mapping: every canonical column the loader gives."""
    loaded, _ = model_loaded_events(model, list(paths))
    frame, report = loaded.collect_with_report(loaded.events)
    return Read(frame, report.rows_read, report.rows_read - report.rows_kept, loaded)


@dataclass(frozen=True)
class Sunk:
    """Event files written to one parquet file as checked rows (nothing held): every row read,
    in file order, with why it would be left out (:attr:`LoadedEvents.checked_rows`)."""

    path: Path
    loaded: LoadedEvents

    @property
    def rows(self) -> str:
        """Every row of the spool as a DuckDB ``FROM`` item, with ``file_row_number``."""
        return f"read_parquet({sqltext.string(str(self.path))}, file_row_number = true)"

    @property
    def kept(self) -> str:
        """The rows loading keeps, as a DuckDB ``FROM`` item, with ``file_row_number``."""
        return f"(SELECT * FROM {self.rows} WHERE {REASON_COL} = 0) AS __kept"

    def report(self, con: duckdb.DuckDBPyConnection) -> LoadReport:
        """The loading report ``read_events`` gives, counted by DuckDB over the spool."""
        return counted_report(
            lambda sql: read_frame(con, sql), "duckdb", self.loaded.report, self.rows, self.kept
        )


def sink_events(model: Model, paths: Sequence[Path], target: Path) -> Sunk:
    """Read event files as :func:`read_events` does, streaming every row checked into
    ``target`` (parquet, file order), for DuckDB to count the report and keep the events:
    memory stays bounded. (A polars scan feeding both the events and the report's counts
    holds what it read: 20M parquet events 2,389 MiB, against 1,460 MiB for this sink alone,
    flat to 40M; ``benchmarks/bench_read_memory.py``.)"""
    loaded, _ = model_loaded_events(model, list(paths))
    try:
        loaded.checked_rows.sink_parquet(target)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise input_error_from_polars(error, loaded.source) from error
    return Sunk(target, loaded)


def conform(events: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """The events in exactly the state's columns: missing ones null, others dropped."""
    return events.select(
        [
            pl.col(c) if c in events.columns else pl.lit(None, CANONICAL_SCHEMA[c]).alias(c)
            for c in columns
        ]
    )


def split_batches(source: str, read: Read, columns: Sequence[str], size: int) -> list[Incoming]:
    """One Incoming per part of at most ``size`` events, in file order; the reader's counts go
    with the first part. Part sources are ``name#k/n`` when there is more than one."""
    events = with_occurrence(conform(read.events, columns))
    n_parts = max(1, -(-events.height // size))
    parts = []
    for k in range(n_parts):
        part = events.slice(k * size, size)
        name = source if n_parts == 1 else f"{source}#{k + 1}/{n_parts}"
        first = k == 0
        parts.append(
            Incoming(
                name,
                part,
                read.rows_read if first else 0,
                read.rows_left_out if first else 0,
            )
        )
    return parts


def _waiting(path: Path) -> bool:
    name = path.name
    return name.startswith(".") or name.endswith(WAITING_SUFFIXES)


def ready_files(
    inbox: Path, look_again: Callable[[], None] = lambda: time.sleep(0.25)
) -> list[Path]:
    """The inbox's files that are complete, in name order (see the module docstring)."""

    def looks() -> dict[Path, tuple[int, int]]:
        out = {}
        for path in inbox.iterdir():
            if path.is_file() and not _waiting(path):
                st = path.stat()
                out[path] = (st.st_size, st.st_mtime_ns)
        return out

    first = looks()
    if not first:
        return []
    look_again()
    second = looks()
    return sorted((p for p, seen in first.items() if second.get(p) == seen), key=lambda p: p.name)


def quarantine(inbox: Path, path: Path, message: str) -> Path:
    """Move a file that cannot be read to ``INBOX/.rejected/`` with the message beside it."""
    folder = inbox / REJECTED
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    note = folder / (path.name + ".error.txt")
    note.write_text(message + "\n", encoding="utf-8")
    os.replace(path, target)
    return target


# ---- stdin


def is_json(line: str) -> bool:
    return line.lstrip().startswith("{")


def stdin_chunks(
    stream: IO[str], batch_events: int, batch_seconds: float, should_stop: Callable[[], bool]
) -> Iterator[list[str]]:
    """Lists of data lines (a CSV header is repeated on each chunk) until the stream closes."""
    header: str | None = None
    first = True
    pending: list[str] = []
    opened = time.monotonic()
    for line in _lines(stream, 0.2):
        if line is not None and line.strip():
            if first and not is_json(line):  # only the first line can be a CSV header
                header = line
            else:
                if not pending:
                    opened = time.monotonic()
                pending.append(line)
            first = False
        full = len(pending) >= batch_events
        late = pending and time.monotonic() - opened >= batch_seconds
        if full or late:
            yield ([header] if header is not None else []) + pending
            pending = []
        if should_stop():
            break
    if pending:
        yield ([header] if header is not None else []) + pending


def _lines(stream: IO[str], timeout: float) -> Iterator[str | None]:
    """The stream's lines (each ending in a newline), None whenever ``timeout`` seconds pass with
    no complete line (so the caller can close a micro-batch on time); ends with the stream."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        fd = None
    if fd is None:
        for line in stream:
            yield line if line.endswith("\n") else line + "\n"
        return
    buffer = b""
    while True:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            yield None
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for raw in complete:
            yield raw.decode("utf-8", errors="replace") + "\n"
    if buffer:
        yield buffer.decode("utf-8", errors="replace") + "\n"


@contextlib.contextmanager
def chunk_file(lines: list[str]) -> Iterator[Path]:
    """A micro-batch as a temporary file the loader can read (NDJSON or CSV by its lines)."""
    suffix = ".ndjson" if lines and is_json(lines[0]) else ".csv"
    with tempfile.TemporaryDirectory(prefix="segtui-stdin-") as folder:
        path = Path(folder) / f"batch{suffix}"
        path.write_text("".join(lines), encoding="utf-8")
        yield path


MAX_READS_PER_CHUNK = 64
"""How many reads a micro-batch with unreadable lines may take to find them (by halving)."""


@dataclass(frozen=True)
class ReadLines:
    """A micro-batch as read: its readable lines' events, and the lines that could not be."""

    read: Read | None
    """None when no line could be read."""
    bad_lines: int
    message: str | None
    """The first problem found, naming the micro-batch (None when every line was read)."""


def read_lines(
    model: Model, lines: list[str], source: str, columns: Sequence[str], *, csv: bool
) -> ReadLines:
    """Read a micro-batch (``stdin_chunks``' lines; with ``csv``, the first is the header); a
    line that cannot be read costs that line, not the batch: a part that fails is halved until
    its bad lines are alone (a few bad lines cost a few reads; past ``MAX_READS_PER_CHUNK`` what
    still fails is left out whole)."""
    header = lines[:1] if csv else []
    reads: list[Read] = []
    bad = 0
    messages: list[str] = []
    budget = MAX_READS_PER_CHUNK

    def visit(part: list[str]) -> None:
        nonlocal bad, budget
        budget -= 1
        with chunk_file(header + part) as path:
            try:
                reads.append(read_events(model, [path]))
                return
            except InputError as error:
                messages.append(error.describe().replace(str(path), source))
        if len(part) == 1 or budget < 2:
            bad += len(part)
            return
        middle = len(part) // 2
        visit(part[:middle])
        visit(part[middle:])

    body = lines[len(header) :]
    if body:
        visit(body)
    if not reads:
        return ReadLines(None, bad, messages[0] if messages else None)
    events = pl.concat([conform(r.events, columns) for r in reads], how="vertical_relaxed")
    read = Read(
        events,
        sum(r.rows_read for r in reads) + bad,
        sum(r.rows_left_out for r in reads) + bad,
        reads[0].loaded,
    )
    return ReadLines(read, bad, messages[0] if messages else None)


def file_batches(
    model: Model, path: Path, columns: Sequence[str], batch_events: int
) -> list[Incoming]:
    """A file's batches; an InputError when it cannot be read."""
    read = read_events(model, [path])
    return split_batches(path.name, read, columns, batch_events)


__all__ = [
    "Read",
    "ReadLines",
    "chunk_file",
    "conform",
    "file_batches",
    "is_json",
    "quarantine",
    "read_events",
    "read_lines",
    "ready_files",
    "split_batches",
    "stdin_chunks",
]
