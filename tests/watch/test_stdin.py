"""`watch run STATE -`: NDJSON or CSV lines on stdin in micro-batches reach the labels the inbox
route reaches; a replayed chunk is dropped by the event key."""

from __future__ import annotations

import fcntl
import shutil
import signal
import struct
import subprocess
import termios
from pathlib import Path
from typing import IO

import polars as pl
from inbox_world import (
    FILES,
    SEGTUI,
    TS_FORMAT,
    World,
    assert_same_features,
    assert_same_state,
    features,
    labels,
    ledger,
    ok,
    process_env,
    table,
    wait_until,
)
from polars.testing import assert_frame_equal


def _inbox_events(world: World) -> pl.DataFrame:
    """The inbox's events as typed values, in file order (what a producer would send)."""
    return pl.concat([pl.read_csv(world.inbox / n, try_parse_dates=True) for n in FILES])


def _ndjson(frame: pl.DataFrame) -> str:
    return frame.with_columns(pl.col("ts").dt.strftime(TS_FORMAT)).write_ndjson()


def _csv(frame: pl.DataFrame, header: bool = True) -> str:
    return frame.write_csv(include_header=header, datetime_format=TS_FORMAT)


def test_ndjson_lines_reach_the_labels_of_the_folder_route(world: World, tmp_path: Path) -> None:
    """In this process (a pipe's file descriptor is read by the process tests below)."""
    state, _ = world.fresh(tmp_path, files=())
    events = _inbox_events(world)
    done = ok("watch", "run", state, "-", "--once", "--batch-events", 200, input=_ndjson(events))
    assert ledger(state)["source"].to_list() == ["stdin#1", "stdin#2", "stdin#3"]
    assert ledger(state)["rows_kept"].to_list() == [200, 200, events.height - 400]
    assert done.output.strip().splitlines()[-1] == "3 batches processed"
    assert labels(state).equals(labels(world.ran))
    assert_same_features(state, world.ran)


def _on_a_pipe(args: list[object]) -> subprocess.Popen[str]:
    """``segtui ARGS`` as a process reading its stdin from a pipe this test writes."""
    return subprocess.Popen(
        [*SEGTUI, *map(str, args)],
        env=process_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_csv_lines_close_a_micro_batch_on_time_reach_the_same_labels_and_stop_on_sigterm(
    world: World, tmp_path: Path
) -> None:
    state, _ = world.fresh(tmp_path, files=())
    events = _inbox_events(world)
    first = pl.read_csv(world.inbox / "a.csv").height
    args = ["watch", "run", state, "-", "--once", "--batch-events", 10_000]
    proc = _on_a_pipe([*args, "--batch-seconds", 0.2])
    try:
        assert proc.stdin is not None
        proc.stdin.write(_csv(events.head(first)))  # the header first, then a.csv's rows
        proc.stdin.flush()
        # The pipe stays open: the micro-batch closes on --batch-seconds, not on its size.
        wait_until(lambda: ledger(state)["rows_kept"].sum() == first, "a.csv's lines folded in")
        proc.stdin.write(_csv(events.slice(first), header=False))
        proc.stdin.flush()
        wait_until(lambda: ledger(state)["rows_kept"].sum() == events.height, "every line")
        # The producer is still connected: SIGTERM ends the run cleanly all the same.
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "batches processed" in out.strip().splitlines()[-1]
    assert ledger(state)["rows_kept"].sum() == events.height
    assert ledger(state)["duplicates"].sum() == 0
    assert labels(state).equals(labels(world.ran))
    assert_same_features(state, world.ran)


def test_a_replayed_chunk_is_dropped_by_the_event_key(world: World, tmp_path: Path) -> None:
    """In this process (typer's runner gives stdin as a stream without a file descriptor)."""
    state, _ = world.fresh(tmp_path, files=())
    a = pl.read_csv(world.inbox / "a.csv", try_parse_dates=True)
    b = pl.read_csv(world.inbox / "b.csv", try_parse_dates=True)
    run = ("watch", "run", state, "-", "--once")
    ok(*run, input=_csv(a))
    once = (labels(state), features(state))
    replay = ok(*run, input=_csv(a))
    assert f"0 events kept, 0 left out ({a.height:,} duplicates dropped)" in replay.output
    last = ledger(state).row(-1, named=True)
    assert (last["source"], last["rows_kept"], last["duplicates"]) == ("stdin#2", 0, a.height)
    assert (last["users_touched"], last["moves"]) == (0, 0)
    assert labels(state).equals(once[0]) and features(state).equals(once[1])
    # A replay that starts inside what was committed: the old lines dropped, the new ones kept;
    # as NDJSON this time (the key is of the canonical row, not of the text).
    ok(*run, input=_ndjson(pl.concat([a.tail(50), b])))
    last = ledger(state).row(-1, named=True)
    assert (last["rows_kept"], last["duplicates"]) == (b.height, 50)
    held = table(state, "SELECT count(*) AS n FROM events")
    assert held["n"].item() == pl.read_csv(world.history).height + a.height + b.height


def test_an_unreadable_line_costs_that_line_not_its_micro_batch(
    world: World, tmp_path: Path
) -> None:
    state, _ = world.fresh(tmp_path, files=())
    a = pl.read_csv(world.inbox / "a.csv", try_parse_dates=True)
    lines = _ndjson(a).splitlines(keepends=True)
    lines[10:10] = ['{"user_id": broken\n']
    lines[200:200] = ["not json at all\n"]  # the first line of the second micro-batch
    result = ok("watch", "run", state, "-", "--once", "--batch-events", 200, input="".join(lines))
    assert "rejected 1 line of stdin#1: stdin#1, row 11: the line is not valid JSON" in (
        result.output
    )
    assert "rejected 1 line of stdin#2" in result.output
    kept = ledger(state).select("rows_read", "rows_kept", "rows_left_out").sum().row(0)
    assert kept == (a.height + 2, a.height, 2)
    rejected = table(state, "SELECT source, message FROM rejected ORDER BY source")
    assert rejected["source"].to_list() == ["stdin#1", "stdin#2"]
    assert rejected["message"][0].startswith("1 line left out: stdin#1, row 11")
    # Every readable line was kept: the same lines again are all duplicates.
    replay = ok("watch", "run", state, "-", "--once", input=_csv(a))
    assert f"0 events kept, 0 left out ({a.height:,} duplicates dropped)" in replay.output


def _unread(pipe: IO[str]) -> int:
    """Bytes written to ``pipe`` that its reader has not read yet (Linux: FIONREAD)."""
    got = fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0\0\0\0")
    return int(struct.unpack("i", got)[0])


def _exported(state: Path, out: Path) -> pl.DataFrame:
    ok("watch", "export", state, "-o", out)
    return pl.read_parquet(out).sort("user_id")


def test_a_run_killed_with_lines_in_hand_keeps_its_committed_batch_and_a_replay_completes_it(
    world: World, tmp_path: Path
) -> None:
    """SIGKILL with one micro-batch committed and the next one's lines read but not committed:
    the state holds exactly the committed batch; replaying the whole stream drops what it holds
    and ends where an uninterrupted run ends."""
    state, _ = world.fresh(tmp_path, files=())
    lines = _ndjson(_inbox_events(world)).splitlines(keepends=True)
    size, read = 200, 250  # the first micro-batch, and the lines the run has when killed
    args = ["watch", "run", state, "-", "--batch-events", size, "--batch-seconds", 3600]
    proc = _on_a_pipe(args)
    try:
        assert proc.stdin is not None
        proc.stdin.write("".join(lines[:read]))
        proc.stdin.flush()
        # A reader gets in only once the batch is committed and the run has let the file go.
        wait_until(lambda: ledger(state).height == 1, "the first micro-batch committed")
        # The pipe is drained: the 50 lines after the batch are in the run's hands, in no batch.
        wait_until(lambda: _unread(proc.stdin) == 0, "the run read every line written")
        proc.kill()
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, err
    # Exactly the committed batch: every table equals a state that folded only its lines.
    committed = tmp_path / "committed.duckdb"
    shutil.copyfile(world.initial, committed)
    ok("watch", "run", committed, "-", "--once", input="".join(lines[:size]))
    assert_same_state(state, committed)
    held = table(state, "SELECT batch, count(*) AS n FROM events GROUP BY batch ORDER BY batch")
    assert held.rows() == [(0, pl.read_csv(world.history).height), (1, size)]
    # The producer replays the whole stream: what the state holds is dropped, the rest kept.
    replay = ok("watch", "run", state, "-", "--once", "--batch-events", size, input="".join(lines))
    assert f"0 events kept, 0 left out ({size:,} duplicates dropped)" in replay.output
    assert ledger(state)["duplicates"].sum() == size
    assert ledger(state)["rows_kept"].sum() == len(lines)
    # The labels exactly; the features up to the last bits of float sums merged in another order.
    got, want = (
        _exported(state, tmp_path / "got.parquet"),
        _exported(world.ran, tmp_path / "w.parquet"),
    )
    assert got["segment_id"].equals(want["segment_id"]) and got["user_id"].equals(want["user_id"])
    assert_frame_equal(got, want, rel_tol=1e-9)
    assert_same_features(state, world.ran)
