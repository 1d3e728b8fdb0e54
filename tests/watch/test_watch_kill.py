"""A `watch run` killed at any named point, then run again, ends where an uninterrupted run ends.

The kill is real (``os._exit(137)`` in a ``segtui`` process, no clean-up, as a SIGKILL) and at a
named point of a batch (``SEGTUI_WATCH_FAULT=POINT@N``), never by timing. The third batch is the
first half of ``b.csv``: a kill there leaves a file half-done, so the second run must take up the
file at the right part. A kill during ``init`` leaves no state, and ``init`` works again.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

import pytest
from inbox_world import (
    BATCH_EVENTS,
    SNAPSHOT,
    SOURCES,
    World,
    assert_same_state,
    cli,
    ledger,
    ok,
    process_env,
    segtui_process,
    snapshot,
    table,
)

from segtui.watch.fold import FAULT_POINTS, Fault
from segtui.watch.run import RunOptions, run

KILLED_AT = 3
KILLED = 137


def test_every_fault_point_is_tested() -> None:
    """The kill test below runs at each point the fold names: a new point is a new case."""
    assert set(FAULT_POINTS) == {
        "batch-read",
        "events-written",
        "leaves-written",
        "labels-written",
        "before-commit",
        "after-commit",
    }


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_a_run_killed_at_a_point_then_run_again_equals_an_uninterrupted_run(
    world: World, tmp_path: Path, point: str
) -> None:
    state, inbox = world.fresh(tmp_path)
    run = ("watch", "run", state, inbox, "--once", "--batch-events", BATCH_EVENTS)
    killed = segtui_process(*run, env=process_env(SEGTUI_WATCH_FAULT=f"{point}@{KILLED_AT}"))
    assert killed.returncode == KILLED, killed.stderr
    committed = KILLED_AT if point == "after-commit" else KILLED_AT - 1
    # What the killed process left: whole batches only, the one in hand not at all.
    assert ledger(state)["source"].to_list() == list(SOURCES[:committed])
    assert table(state, "SELECT max(batch) AS b FROM events")["b"].item() == committed
    again = ok(*run)
    assert f"{len(SOURCES) - committed} batches processed" in again.output
    assert_same_state(state, world.ran)
    # No event counted twice or lost: every event once, each under its batch, none a duplicate.
    events = table(state, "SELECT count(*) AS n, count(DISTINCT seq) AS s FROM events")
    assert events.row(0) == (world.events.height, world.events.height)
    assert ledger(state)["duplicates"].sum() == 0


INIT_KILLED = (
    "import os, segtui.watch.create as c; f = c.fold_history; "
    "c.fold_history = lambda *a, **k: f(*a, **{**k, 'fault': "
    "lambda p: os._exit(137) if p == 'labels-written' else None}); "
    "from segtui.cli import run; run()"
)
"""``segtui`` whose ``watch init`` dies inside its first batch (init folds the history as batch
0 without a fault hook of its own: this gives it one)."""


def test_an_init_killed_leaves_no_state_and_init_works_again(world: World, tmp_path: Path) -> None:
    state = tmp_path / "s.duckdb"
    args = ["watch", "init", state, world.model, world.history]
    killed = subprocess.run(
        [sys.executable, "-c", INIT_KILLED, *map(str, args)],
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == KILLED, killed.stderr
    assert not state.exists()
    status = cli("watch", "status", state)
    assert status.exit_code == 2 and "no watch state" in status.output
    ok(*args)
    assert_same_state(state, world.initial)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.duckdb", "s.duckdb.lock"]


def test_snapshot_covers_every_table() -> None:
    from segtui.watch.state import TABLES

    assert set(SNAPSHOT) == set(TABLES)


def test_the_state_after_init_is_what_a_copy_of_it_reads(world: World, tmp_path: Path) -> None:
    """The comparison above is not vacuous: two states that differ compare unequal."""
    state, _ = world.fresh(tmp_path)
    with pytest.raises(AssertionError):
        assert_same_state(state, world.ran)
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(state, copy)
    assert snapshot(copy)["labels"].equals(snapshot(state)["labels"])


# ---- SIGTERM/SIGINT: the batch in hand is finished, then the run ends (in this process: the
# signal is sent from the fault hook or the producer, at a named moment, never by timing)


def _interrupt(point: str, batch: int, seen: list[str]) -> Fault:
    """A fault hook that sends this process SIGINT once, at ``point`` of the ``batch``-th batch."""

    def fault(name: str) -> None:
        seen.append(name)
        if name == point and seen.count(point) == batch:
            os.kill(os.getpid(), signal.SIGINT)

    return fault


def test_sigint_inside_a_batch_finishes_it_and_ends_the_run_with_its_file_half_done(
    world: World, tmp_path: Path
) -> None:
    """(The run after a stop takes up the file where it stopped: the kill tests above show it
    at every point.)"""
    state, inbox = world.fresh(tmp_path)
    seen: list[str] = []
    said: list[str] = []
    options = RunOptions(once=True, batch_events=BATCH_EVENTS)
    before = signal.getsignal(signal.SIGINT)  # a test worker may have it ignored
    folded = run(state, inbox, options, said.append, fault=_interrupt("leaves-written", 1, seen))
    assert [f.source for f in folded] == [SOURCES[0]]
    assert ledger(state)["source"].to_list() == [SOURCES[0]]
    assert said[-1].startswith(f"batch 1: {SOURCES[0]}: {BATCH_EVENTS} events kept")
    assert seen.count("after-commit") == 1  # the batch in hand was committed, no other begun
    held = table(state, "SELECT max(batch) AS b, count(*) FILTER (batch = 1) AS n FROM events")
    assert held.row(0) == (1, BATCH_EVENTS)
    assert signal.getsignal(signal.SIGINT) == before  # the run's own handler is gone


class _Producer:
    """Lines on a pipe whose ``stop_after``-th line comes with a SIGINT to this process."""

    def __init__(self, lines: list[str], stop_after: int) -> None:
        self.lines, self.stop_after, self.given = lines, stop_after, 0

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            self.given += 1
            if self.given == self.stop_after:
                os.kill(os.getpid(), signal.SIGINT)
            yield line


def test_sigint_on_stdin_commits_the_lines_in_hand_and_reads_no_more(
    world: World, tmp_path: Path
) -> None:
    state, _ = world.fresh(tmp_path, files=())
    lines = (world.inbox / "a.csv").read_text().splitlines(keepends=True)  # a header, 272 rows
    producer = _Producer(lines, stop_after=251)
    options = RunOptions(batch_events=200, batch_seconds=3600.0)
    folded = run(state, None, options, lambda _: None, stdin=cast(IO[str], producer))
    assert producer.given == 251  # nothing read after the signal
    assert [(f.source, f.rows_kept) for f in folded] == [("stdin#1", 200), ("stdin#2", 50)]
    assert ledger(state)["rows_kept"].to_list() == [200, 50]
    held = table(state, "SELECT count(*) AS n FROM events WHERE batch > 0")
    assert held["n"].item() == 250
