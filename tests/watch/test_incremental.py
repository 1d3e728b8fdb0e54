"""Incremental equals batch: after ``init`` over the history and ``run --once`` over new files,
with the default thresholds (which never hold a move back), the state's labels are exactly
``assign``'s on all the events and its features ``features --model``'s, whatever the batches."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from watch_worlds import (
    World,
    batch_features,
    batch_labels,
    build_world,
    split_files,
    state_labels,
    watch,
    write_events,
)

from segtui.watch import fold
from segtui.watch.create import create_state
from segtui.watch.merge import late_users
from segtui.watch.report import current_labels
from segtui.watch.state import read_frame

pytestmark = pytest.mark.xdist_group("watch-incremental")  # one worker builds the module's fixtures


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def derived_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """A log with no session column: sessions come from the inactivity gap, per user."""
    return build_world(tmp_path_factory.mktemp("derived"), seed=5, sessions=False)


def _state_features(state: Path) -> pl.DataFrame:
    con = duckdb.connect(str(state), read_only=True)
    try:
        return read_frame(con, "SELECT * FROM features ORDER BY user_id")
    finally:
        con.close()


def _check_equal(world: World, state: Path, files: list[Path]) -> None:
    everything = [world.history, *files]
    assert_frame_equal(state_labels(state), batch_labels(world.model, everything))
    assert_frame_equal(
        _state_features(state), batch_features(world.model, everything), rel_tol=1e-9
    )


@pytest.mark.parametrize("parts", [4])
def test_labels_and_features_equal_batch_for_any_split(
    world: World, tmp_path: Path, parts: int
) -> None:
    files = split_files(world.new, tmp_path / "inbox", parts)
    lines = watch(world, tmp_path / "st.duckdb", tmp_path / "inbox")
    assert sum(line.startswith("batch ") for line in lines) == len(files)
    _check_equal(world, tmp_path / "st.duckdb", files)


def test_a_file_split_by_batch_events_equals_one_batch(world: World, tmp_path: Path) -> None:
    files = split_files(world.new, tmp_path / "inbox", 1)
    lines = watch(world, tmp_path / "st.duckdb", tmp_path / "inbox", batch_events=400)
    parts = [line for line in lines if line.startswith("batch ")]
    n = -(-world.new.height // 400)
    assert len(parts) == n > 2
    assert parts[0].startswith(f"batch 1: part000.csv#1/{n}: ")
    _check_equal(world, tmp_path / "st.duckdb", files)


def test_derived_sessions_equal_batch_in_order_and_late(
    derived_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thirds of the new events as a_first, b_last, c_middle: b continues sessions the
    history left open (merged), c is late for the users b touched (their leaves recomputed from
    all their events), and the state still equals batch."""
    inbox = tmp_path / "inbox"
    thirds = split_files(derived_world.new, tmp_path / "thirds", 3)
    files = [
        shutil.copy(path, _mkdir(inbox) / f"{prefix}_{path.name}")
        for prefix, path in zip(("a", "c", "b"), thirds, strict=True)
    ]
    recomputed: list[list[str]] = []

    def recording(*args: object) -> pl.Series:
        late = late_users(*args)  # type: ignore[arg-type]
        recomputed.append(late.to_list())
        return late

    monkeypatch.setattr(fold, "late_users", recording)
    watch(derived_world, tmp_path / "st.duckdb", inbox)
    _check_equal(derived_world, tmp_path / "st.duckdb", [Path(f) for f in files])
    assert recomputed[0] == recomputed[1] == [] and recomputed[2]
    # A session spanning the cut is one session in both: the count is not history + new.
    features = _state_features(tmp_path / "st.duckdb")
    assert "sessions" in features.columns


def test_late_events_are_folded_in_as_batch_does(world: World, tmp_path: Path) -> None:
    """The last file holds events older than everything before it (a late upload)."""
    inbox = tmp_path / "inbox"
    new = world.new.sort("ts", maintain_order=True)
    early, late = new.slice(0, new.height // 2), new.slice(new.height // 2)
    files = [
        write_events(late, _mkdir(inbox) / "a_recent.csv"),
        write_events(early, inbox / "b_late_upload.csv"),
    ]
    watch(world, tmp_path / "st.duckdb", inbox)
    _check_equal(world, tmp_path / "st.duckdb", files)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_a_replayed_file_is_dropped_as_duplicates(world: World, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    files = split_files(world.new, inbox, 2)
    shutil.copy(files[1], inbox / "part999_replayed.csv")
    lines = watch(world, tmp_path / "st.duckdb", inbox)
    replay = [line for line in lines if "part999_replayed.csv" in line]
    rows = pl.read_csv(files[1]).height
    assert replay and f"0 events kept, 0 left out ({rows:,} duplicates dropped)" in replay[0]
    _check_equal(world, tmp_path / "st.duckdb", files)


def test_export_after_init_is_the_segment_export_of_the_history(
    world: World, tmp_path: Path
) -> None:
    """Same schema, same users, labels, features and PCA coordinates as `segtui segment`."""
    create_state(tmp_path / "st.duckdb", world.model, [world.history])
    exported, _ = current_labels(tmp_path / "st.duckdb")
    segmented = pl.read_parquet(world.model.with_name("seg.parquet"))
    assert exported.schema == segmented.schema
    assert_frame_equal(exported, segmented.sort("user_id"), rel_tol=1e-6)
