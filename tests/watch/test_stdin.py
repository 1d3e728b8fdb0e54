"""`watch run STATE -`: NDJSON or CSV lines on stdin in micro-batches reach the labels the inbox
route reaches; a replayed chunk is dropped by the event key."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import polars as pl
from inbox_world import (
    FILES,
    SEGTUI,
    TS_FORMAT,
    World,
    assert_same_features,
    features,
    labels,
    ledger,
    ok,
    process_env,
    segtui_process,
    table,
    wait_until,
)


def _inbox_events(world: World) -> pl.DataFrame:
    """The inbox's events as typed values, in file order (what a producer would send)."""
    return pl.concat([pl.read_csv(world.inbox / n, try_parse_dates=True) for n in FILES])


def _ndjson(frame: pl.DataFrame) -> str:
    return frame.with_columns(pl.col("ts").dt.strftime(TS_FORMAT)).write_ndjson()


def _csv(frame: pl.DataFrame, header: bool = True) -> str:
    return frame.write_csv(include_header=header, datetime_format=TS_FORMAT)


def test_ndjson_lines_reach_the_labels_of_the_folder_route(world: World, tmp_path: Path) -> None:
    state, _ = world.fresh(tmp_path, files=())
    events = _inbox_events(world)
    done = segtui_process(
        "watch", "run", state, "-", "--once", "--batch-events", 200, input=_ndjson(events)
    )
    assert done.returncode == 0, done.stderr
    assert ledger(state)["source"].to_list() == ["stdin#1", "stdin#2", "stdin#3"]
    assert ledger(state)["rows_kept"].to_list() == [200, 200, events.height - 400]
    assert done.stdout.strip().splitlines()[-1] == "3 batches processed"
    assert labels(state).equals(labels(world.ran))
    assert_same_features(state, world.ran)


def test_csv_lines_close_a_micro_batch_on_time_reach_the_same_labels_and_stop_on_sigterm(
    world: World, tmp_path: Path
) -> None:
    state, _ = world.fresh(tmp_path, files=())
    events = _inbox_events(world)
    first = pl.read_csv(world.inbox / "a.csv").height
    args = ["watch", "run", state, "-", "--once", "--batch-events", 10_000]
    proc = subprocess.Popen(
        [*SEGTUI, *map(str, [*args, "--batch-seconds", 0.2])],
        env=process_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
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
