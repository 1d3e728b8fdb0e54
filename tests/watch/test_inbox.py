"""`watch run` over an inbox folder: each file once, in name order, whole files only, bad files
quarantined, one run at a time, readers served while it polls, and a clean stop on a signal."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import polars as pl
import pytest
from inbox_world import (
    BATCH_EVENTS,
    FILES,
    SEGTUI,
    SOURCES,
    TS_FORMAT,
    World,
    assert_same_features,
    assert_same_state,
    cli,
    features,
    labels,
    ledger,
    ok,
    process_env,
    snapshot,
    table,
    wait_until,
)
from polars.testing import assert_frame_equal

from segtui.watch import report
from segtui.watch.run import RunOptions, run
from segtui.watch.sources import ready_files
from segtui.watch.state import run_lock


def test_files_are_processed_once_in_name_order(world: World, tmp_path: Path) -> None:
    state, inbox = world.fresh(tmp_path, files=())
    for name in reversed(FILES):  # written c, b, a: name order is not the order they came in
        shutil.copyfile(world.inbox / name, inbox / name)
    first = ok("watch", "run", state, inbox, "--once")
    assert "3 batches processed" in first.output
    assert ledger(state)["source"].to_list() == list(FILES)
    assert ledger(state)["batch"].to_list() == [1, 2, 3]
    before = snapshot(state)
    second = ok("watch", "run", state, inbox, "--once")
    assert "0 batches processed" in second.output
    assert all(before[t].equals(snapshot(state)[t]) for t in before)
    # Whole files or halves of them: the same labels and features (no thresholds).
    assert labels(state).equals(labels(world.ran))
    assert_same_features(state, world.ran)


def test_the_labels_are_batch_assigns_on_all_the_events(world: World, tmp_path: Path) -> None:
    """The known answer the other tests compare with: `segtui assign` on every event."""
    out = tmp_path / "assigned.parquet"
    ok("assign", world.model, world.history, *(world.inbox / n for n in FILES), "-o", out)
    assigned = pl.read_parquet(out).select("user_id", "segment_id").sort("user_id")
    got = labels(world.ran).select("user_id", "segment_id")
    assert got.height == world.events["user_id"].n_unique() == assigned.height
    assert got.with_columns(pl.col("segment_id").cast(pl.Int32)).equals(assigned)


def test_a_file_being_written_waits_until_it_is_renamed(world: World, tmp_path: Path) -> None:
    state, inbox = world.fresh(tmp_path, files=["a.csv"])
    shutil.copyfile(world.inbox / "b.csv", inbox / "b.csv.tmp")
    shutil.copyfile(world.inbox / "c.csv", inbox / "c.csv.part")
    shutil.copyfile(world.inbox / "c.csv", inbox / ".hidden.csv")
    ok("watch", "run", state, inbox, "--once")
    assert ledger(state)["source"].to_list() == ["a.csv"]
    (inbox / "b.csv.tmp").rename(inbox / "b.csv")
    (inbox / "c.csv.part").rename(inbox / "c.csv")
    ok("watch", "run", state, inbox, "--once")
    assert ledger(state)["source"].to_list() == list(FILES)
    assert labels(state).equals(labels(world.ran))
    assert (inbox / ".hidden.csv").exists()  # never taken


def test_a_file_whose_size_still_changes_waits(world: World, tmp_path: Path) -> None:
    _, inbox = world.fresh(tmp_path)
    growing = inbox / "b.csv"

    def look_again() -> None:
        with growing.open("a", encoding="utf-8") as fh:
            fh.write("u9,2025-02-02T00:00:00Z,page_view,,,,,,,,\n")

    assert [p.name for p in ready_files(inbox, look_again)] == ["a.csv", "c.csv"]
    assert [p.name for p in ready_files(inbox, lambda: None)] == list(FILES)


def test_a_large_file_split_into_parts_gives_the_labels_of_one_batch(
    world: World, tmp_path: Path
) -> None:
    whole, inbox = world.fresh(tmp_path, files=())
    frames = [pl.read_csv(world.inbox / n, infer_schema=False) for n in FILES]
    pl.concat(frames).write_csv(inbox / "big.csv")
    split = tmp_path / "split.duckdb"
    shutil.copyfile(whole, split)
    ok("watch", "run", whole, inbox, "--once")
    assert ledger(whole)["source"].to_list() == ["big.csv"]
    done = ok("watch", "run", split, inbox, "--once", "--batch-events", 100)
    parts = [f"big.csv#{k}/6" for k in range(1, 7)]
    assert ledger(split)["source"].to_list() == parts
    assert all(f"batch {i + 1}: {p}:" in done.output for i, p in enumerate(parts))
    assert ledger(split)["rows_kept"].to_list() == [100] * 5 + [94]
    assert labels(split).equals(labels(whole))
    assert_same_features(split, whole)
    assert labels(whole).equals(labels(world.ran))
    # A later run with another split of a half-done file is refused, not silently re-split.
    assert (
        ok("watch", "run", split, inbox, "--once", "--batch-events", 50).output.count("batch ") == 0
    )


def test_a_half_done_file_resumed_with_another_split_is_refused(
    world: World, tmp_path: Path
) -> None:
    state, inbox = world.fresh(tmp_path, files=["a.csv"])

    def stop_after_first(point: str) -> None:
        if point == "after-commit":
            raise KeyboardInterrupt  # as if the run were stopped between the parts

    with pytest.raises(KeyboardInterrupt):
        run(
            state,
            inbox,
            RunOptions(once=True, batch_events=BATCH_EVENTS),
            lambda _: None,
            fault=stop_after_first,
        )
    assert ledger(state)["source"].to_list() == ["a.csv#1/2"]
    refused = cli("watch", "run", state, inbox, "--once", "--batch-events", 100)
    assert refused.exit_code == 2, refused.output
    assert "into 2 parts" in refused.output and "a.csv" in refused.output
    ok("watch", "run", state, inbox, "--once", "--batch-events", BATCH_EVENTS)
    assert ledger(state)["source"].to_list() == ["a.csv#1/2", "a.csv#2/2"]


def test_bad_files_are_quarantined_and_the_run_goes_on(world: World, tmp_path: Path) -> None:
    state, inbox = world.fresh(tmp_path)
    (inbox / "0garbage.csv").write_bytes(b"\x00\x01\xff\xfe garbage \x02\n\x03")
    (inbox / "0wrong.csv").write_text("x,y,z\n1,2,3\n", encoding="utf-8")
    result = ok("watch", "run", state, inbox, "--once", "--batch-events", BATCH_EVENTS)
    assert "6 batches processed" in result.output
    assert "rejected 0garbage.csv" in result.output and "rejected 0wrong.csv" in result.output
    rejected = inbox / ".rejected"
    assert sorted(p.name for p in rejected.iterdir()) == [
        "0garbage.csv",
        "0garbage.csv.error.txt",
        "0wrong.csv",
        "0wrong.csv.error.txt",
    ]
    assert (rejected / "0wrong.csv").read_text(encoding="utf-8") == "x,y,z\n1,2,3\n"
    garbage = (rejected / "0garbage.csv.error.txt").read_text(encoding="utf-8")
    wrong = (rejected / "0wrong.csv.error.txt").read_text(encoding="utf-8")
    assert "binary" in garbage
    assert "user_id" in wrong and "x, y, z" in wrong
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == sorted(FILES)
    assert table(state, "SELECT source FROM rejected ORDER BY 1")["source"].to_list() == [
        "0garbage.csv",
        "0wrong.csv",
    ]
    assert report.status(state)["rejected"] == 2
    assert_same_state(state, world.ran, tables=["events", "features", "labels", "moves"])
    assert "0 batches processed" in ok("watch", "run", state, inbox, "--once").output


def test_a_second_run_on_a_state_being_run_is_refused(world: World, tmp_path: Path) -> None:
    state, inbox = world.fresh(tmp_path)
    with run_lock(state):
        refused = cli("watch", "run", state, inbox, "--once")
        assert refused.exit_code == 2, refused.output
        assert "being run already" in refused.output and str(state) in refused.output
        assert "Traceback" not in refused.output
        forced = cli("watch", "init", state, world.model, world.history, "--force")
        assert forced.exit_code == 2 and "being run already" in forced.output
    assert ledger(state).height == 0
    ok("watch", "run", state, inbox, "--once")


def test_init_on_an_existing_state_refuses_unless_forced(world: World, tmp_path: Path) -> None:
    state = tmp_path / "state.duckdb"
    shutil.copyfile(world.ran, state)
    refused = cli("watch", "init", state, world.model, world.history)
    assert refused.exit_code == 2 and "exists already" in refused.output
    assert "--force" in refused.output
    assert_same_state(state, world.ran)
    ok("watch", "init", state, world.model, world.history, "--force")
    assert_same_state(state, world.initial)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_batch_lets_it_finish_and_ends_the_run(
    world: World, tmp_path: Path, signum: int
) -> None:
    state, inbox = world.fresh(tmp_path)
    before = signal.getsignal(signum)
    sent = []

    def signal_mid_batch(point: str) -> None:
        if point == "leaves-written" and not sent:
            assert signal.getsignal(signum) not in (signal.SIG_DFL, before), "no handler"
            sent.append(point)
            os.kill(os.getpid(), signum)

    lines: list[str] = []
    options = RunOptions(once=False, poll_seconds=0.05, batch_events=BATCH_EVENTS)
    folded = run(state, inbox, options, lines.append, fault=signal_mid_batch)
    assert [f.source for f in folded] == [SOURCES[0]]
    assert ledger(state)["source"].to_list() == [SOURCES[0]]
    assert signal.getsignal(signum) == before
    ok("watch", "run", state, inbox, "--once", "--batch-events", BATCH_EVENTS)
    assert_same_state(state, world.ran)


def _later_file(world: World, path: Path) -> int:
    """New events (a day after c.csv's) written as ``.NAME.part`` and renamed into place."""
    later = pl.read_csv(world.inbox / "c.csv", try_parse_dates=True)
    later = later.with_columns(pl.col("ts") + pl.duration(days=1))
    part = path.with_name(f".{path.name}.part")
    later.write_csv(part, datetime_format=TS_FORMAT)
    part.rename(path)
    return later.height


def test_readers_work_while_a_run_polls_and_sigterm_ends_it_cleanly(
    world: World, tmp_path: Path
) -> None:
    state, inbox = world.fresh(tmp_path)
    args = ["watch", "run", state, inbox, "--poll", "0.1", "--batch-events", BATCH_EVENTS]
    proc = subprocess.Popen(
        [*SEGTUI, *map(str, args)],
        env=process_env(),
        stdout=(tmp_path / "out.txt").open("w"),
        stderr=(tmp_path / "err.txt").open("w"),
        text=True,
    )
    try:
        wait_until(lambda: report.status(state)["batches"] == len(SOURCES), "six batches")
        # Every reader, while the run is polling (it is still running: nothing has ended it).
        status = ok("watch", "status", state, "--json")
        assert '"batches": 6' in status.output
        moves = tmp_path / "moves.parquet"
        ok("watch", "moves", state, "-o", moves)
        assert pl.read_parquet(moves).height == report.status(state)["moves"] > 0
        exported = tmp_path / "labels.parquet"
        ok("watch", "export", state, "-o", exported)
        users = table(state, "SELECT count(*) AS n FROM labels")["n"].item()  # any DuckDB reader
        assert pl.read_parquet(exported).height == users == world.events["user_id"].n_unique()
        assert proc.poll() is None
        n = _later_file(world, inbox / "d.csv")
        wait_until(lambda: "d.csv#2/2" in ledger(state)["source"].to_list(), "d.csv folded in")
        assert ledger(state)["source"].to_list()[-2:] == ["d.csv#1/2", "d.csv#2/2"]
        assert ledger(state)["rows_kept"].tail(2).sum() == n
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        out = (tmp_path / "out.txt").read_text()
        err = (tmp_path / "err.txt").read_text()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert out.strip().splitlines()[-1] == "8 batches processed"
    assert ledger(state)["batch"].to_list() == list(range(1, 9))


def test_identical_rows_count_the_same_whatever_the_split(world: World, tmp_path: Path) -> None:
    """Two identical events (the sample has some: same user, second, event, item) count twice,
    in one batch or split over two: the event key numbers identical rows of a source."""
    whole, inbox = world.fresh(tmp_path, files=())
    a = pl.read_csv(world.inbox / "a.csv", infer_schema=False)
    twice = pl.concat([a.head(BATCH_EVENTS), a.slice(BATCH_EVENTS - 1)])  # row 149 twice
    twice.write_csv(inbox / "a.csv")
    split = tmp_path / "split.duckdb"
    shutil.copyfile(whole, split)
    ok("watch", "run", whole, inbox, "--once")
    ok("watch", "run", split, inbox, "--once", "--batch-events", BATCH_EVENTS)
    assert ledger(split)["source"].to_list() == ["a.csv#1/2", "a.csv#2/2"]
    count = "SELECT count(*) AS n FROM events"
    assert table(whole, count)["n"].item() == pl.read_csv(world.history).height + twice.height
    assert ledger(split)["duplicates"].sum() == 0
    assert table(split, count).equals(table(whole, count))
    assert_same_features(split, whole)


def test_late_files_are_folded_in_as_if_they_had_come_in_time(world: World, tmp_path: Path) -> None:
    """c.csv first, then the older a.csv and b.csv: their events are older than the reference
    time when they arrive; the end is the same (the reference time is the latest event seen)."""
    state, inbox = world.fresh(tmp_path, files=())
    for order, name in enumerate(["c.csv", "a.csv", "b.csv"]):
        shutil.copyfile(world.inbox / name, inbox / f"{order}{name}")
    ok("watch", "run", state, inbox, "--once")
    assert ledger(state)["source"].to_list() == ["0c.csv", "1a.csv", "2b.csv"]
    refs = ledger(state)["reference_time"]
    assert refs.n_unique() == 1 and refs[0] == world.events["ts"].max()
    assert labels(state).equals(labels(world.ran))
    # Equal up to the order a sum adds in (arrival order, so the last bit of a mean may differ).
    assert_frame_equal(features(state), features(world.ran), check_exact=False, rel_tol=1e-12)
