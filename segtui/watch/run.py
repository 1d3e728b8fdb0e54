"""``watch run``: fold what arrives into the state, one transaction per batch.

Files in an inbox are taken in name order, each exactly once (the ledger's ``source`` names them;
a file split into parts names each part ``name#k/n``); a file that cannot be read is quarantined
and the run goes on. Stdin is cut into micro-batches named ``stdin#n``. The database is opened for
each batch and closed after its commit, so other readers get in between. SIGTERM and SIGINT let
the batch in hand finish (or roll back) and end the run.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO

from segtui.errors import InputError
from segtui.watch.current import Current, load_current
from segtui.watch.fold import Fault, Folded, Incoming, fold, no_fault
from segtui.watch.online import online_refusal
from segtui.watch.refit import refit_in_state, request_path
from segtui.watch.scoring import Thresholds
from segtui.watch.sources import (
    file_batches,
    is_json,
    quarantine,
    read_lines,
    ready_files,
    split_batches,
    stdin_chunks,
)
from segtui.watch.state import check_schema, read_frame, reading, run_lock, set_meta, writing

DEFAULT_POLL_SECONDS = 5.0
DEFAULT_BATCH_EVENTS = 100_000
DEFAULT_BATCH_SECONDS = 5.0


@dataclass(frozen=True)
class RunOptions:
    """How ``run`` goes (the README lists the defaults; none of them ever refits)."""

    once: bool = False
    poll_seconds: float = DEFAULT_POLL_SECONDS
    thresholds: Thresholds = field(default_factory=Thresholds)
    refit_drift: float | None = None
    batch_events: int = DEFAULT_BATCH_EVENTS
    batch_seconds: float = DEFAULT_BATCH_SECONDS
    online: bool = False
    """Move the centers with every batch (:mod:`segtui.watch.online`)."""

    def lines(self) -> list[str]:
        refit = "off" if self.refit_drift is None else f"when psi > {self.refit_drift:g}"
        online = "; online center updates" if self.online else ""
        return [
            f"thresholds: min margin {self.thresholds.min_margin:g}, "
            f"min events {self.thresholds.min_events}; refit: {refit}{online}; "
            f"batches of at most {self.batch_events:,} events"
        ]


class Stopper:
    """Set by SIGTERM/SIGINT: the batch in hand finishes, then the run ends."""

    def __init__(self) -> None:
        self.stopped = False

    def __call__(self) -> bool:
        return self.stopped

    def stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopped = True


@contextmanager
def _signals(stopper: Stopper) -> Iterator[None]:
    try:
        old = {s: signal.signal(s, stopper.stop) for s in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread: the caller stops the run another way
        yield
        return
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _fold_one(
    state: Path,
    current: Current,
    incoming: Incoming,
    options: RunOptions,
    say: Callable[[str], None],
    fault: Fault,
) -> Folded:
    """Fold one batch (its own connection and transaction), print its line, refit if due."""
    with writing(state) as con:
        folded = fold(
            con,
            current.model,
            current.version,
            current.layout,
            incoming,
            options.thresholds,
            batch=current.next_batch,
            fault=fault,
            online=state if options.online else None,
        )
    current.done.add(incoming.source)
    current.next_batch += 1
    say(folded.line())
    if folded.adapted is not None:
        current.model, current.version = folded.adapted.model, folded.adapted.version
        say(folded.adapted.line())
    _maybe_refit(state, current, options, folded, say)
    return folded


def _maybe_refit(
    state: Path,
    current: Current,
    options: RunOptions,
    folded: Folded | None,
    say: Callable[[str], None],
) -> None:
    """Refit when the drift passed the threshold, or when someone asked (the app's key)."""
    asked = request_path(state)
    if asked.exists():
        asked.unlink(missing_ok=True)
        say(refit_in_state(state, current, "asked"))
    elif (
        folded is not None and options.refit_drift is not None and folded.psi > options.refit_drift
    ):
        say(refit_in_state(state, current, f"psi {folded.psi:.3f} > {options.refit_drift:g}"))


def _previous_parts(done: set[str], name: str) -> int | None:
    for source in done:
        if source.startswith(name + "#") and "/" in source:
            return int(source.rsplit("/", 1)[1])
    return None


def _record_rejected(state: Path, source: str, message: str) -> None:
    """What could not be read, in the ``rejected`` table (``status`` counts it); once per
    source and message, so a file read again after a kill is not counted twice."""
    with writing(state) as con:
        con.sql(
            "INSERT INTO rejected SELECT ?, ?, ? WHERE NOT EXISTS "
            "(SELECT 1 FROM rejected WHERE source = ? AND message = ?)",
            params=[source, datetime.now(UTC), message, source, message],
        )


def _all_parts_done(done: set[str], name: str) -> bool:
    """Every part of a file an earlier run split: done whatever this run's --batch-events
    (and not read again on every poll)."""
    parts = _previous_parts(done, name)
    return parts is not None and all(f"{name}#{k}/{parts}" in done for k in range(1, parts + 1))


def _inbox_pass(
    state: Path,
    inbox: Path,
    current: Current,
    options: RunOptions,
    say: Callable[[str], None],
    fault: Fault,
    stop: Callable[[], bool],
) -> list[Folded]:
    out: list[Folded] = []
    for path in ready_files(inbox):
        if stop():
            break
        if path.name in current.done or _all_parts_done(current.done, path.name):
            continue
        try:
            parts = file_batches(
                current.model, path, current.layout.event_columns, options.batch_events
            )
        except InputError as error:
            if not path.exists():  # taken away between the listing and the read: not ours
                say(f"{path.name} was removed before it was read; skipped")
                continue
            message = f"{path.name}: {error.describe()}"
            # recorded first: a kill before the move reads the file again and records nothing new
            _record_rejected(state, path.name, message)
            quarantine(inbox, path, message)
            say(f"rejected {message} (moved to {inbox.name}/.rejected/)")
            continue
        earlier = _previous_parts(current.done, path.name)
        if earlier is not None and earlier != len(parts):
            raise InputError(
                f"an earlier run split {path.name} into {earlier} parts; this --batch-events "
                f"gives {len(parts)}",
                file=path,
                hint="Run again with the --batch-events of the earlier run.",
            )
        for part in parts:
            if stop():
                break
            if part.source in current.done:
                continue
            out.append(_fold_one(state, current, part, options, say, fault))
    return out


def _last_stdin_chunk(state: Path, done: set[str]) -> int:
    """The highest ``stdin#n`` a batch or a rejection used: each chunk gets a number of its own."""
    with reading(state) as con:
        rejected = read_frame(con, "SELECT DISTINCT source FROM rejected")["source"].to_list()
    numbers = [
        int(source.split("#")[1])
        for source in [*done, *rejected]
        if source.startswith("stdin#") and source.split("#")[1].isdigit()
    ]
    return max(numbers, default=0)


def _stdin_pass(
    state: Path,
    stream: IO[str],
    current: Current,
    options: RunOptions,
    say: Callable[[str], None],
    fault: Fault,
    stop: Callable[[], bool],
) -> list[Folded]:
    out: list[Folded] = []
    csv: bool | None = None  # the stream's first line decides: a CSV header, or NDJSON
    number = _last_stdin_chunk(state, current.done)
    for chunk in stdin_chunks(stream, options.batch_events, options.batch_seconds, stop):
        csv = not is_json(chunk[0]) if csv is None else csv
        number += 1  # a chunk with no good line keeps its number too (in ``rejected``)
        source = f"stdin#{number}"
        got = read_lines(current.model, chunk, source, current.layout.event_columns, csv=csv)
        if got.bad_lines:
            lines = f"{got.bad_lines:,} line{'s' if got.bad_lines != 1 else ''}"
            _record_rejected(state, source, f"{lines} left out: {got.message}")
            say(f"rejected {lines} of {source}: {got.message}")
        if got.read is None:
            continue
        for part in split_batches(source, got.read, current.layout.event_columns, len(chunk) + 1):
            out.append(_fold_one(state, current, part, options, say, fault))
    return out


def run(
    state: Path,
    inbox: Path | None,
    options: RunOptions,
    say: Callable[[str], None],
    *,
    stdin: IO[str] | None = None,
    fault: Fault = no_fault,
    stopper: Stopper | None = None,
) -> list[Folded]:
    """Process the inbox (or stdin when ``inbox`` is None) until done (``once``) or stopped."""
    state = Path(state)
    if not state.is_file():
        raise InputError("no watch state here", file=state, hint="Create it: segtui watch init.")
    if inbox is not None and not inbox.is_dir():
        raise InputError(
            "the inbox is not a folder", file=inbox, hint="Give a folder, or - for stdin."
        )
    stopper = stopper or Stopper()
    out: list[Folded] = []
    with reading(state):  # a file that is not a state is refused before it is locked or opened
        pass  # to write (no lock file beside it, no DuckDB writing into it)
    with run_lock(state), _signals(stopper):
        with writing(state) as con:
            check_schema(con, state)
            current = load_current(con)
            why = online_refusal(current.model) if options.online else None
            if why is not None:
                raise InputError(f"cannot run --online: {why}", hint="Run without --online.")
            # What readers (the app) show as the refit threshold; "" means off.
            set_meta(
                con,
                "refit_drift",
                "" if options.refit_drift is None else f"{options.refit_drift:g}",
            )
        say(f"model version {current.version}; " + options.lines()[0])
        if inbox is None:
            return _stdin_pass(state, stdin or sys.stdin, current, options, say, fault, stopper)
        while True:
            out += _inbox_pass(state, inbox, current, options, say, fault, stopper)
            _maybe_refit(state, current, options, None, say)
            if options.once or stopper():
                break
            deadline = time.monotonic() + options.poll_seconds
            while time.monotonic() < deadline and not stopper():
                time.sleep(min(0.2, options.poll_seconds))
    return out


__all__ = ["RunOptions", "Stopper", "run"]
