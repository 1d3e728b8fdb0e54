"""Moves: who changed segment in which batch and why, planted movers, and the thresholds."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from watch_worlds import (
    World,
    batch_labels,
    build_world,
    split_files,
    state_labels,
    write_events,
)

from segtui.artifacts.assign import as_model, model_users_with_messages
from segtui.artifacts.model import Model
from segtui.clustering.prepare import transform_users
from segtui.watch.create import create_state
from segtui.watch.relabel import NEW_USER
from segtui.watch.report import moves
from segtui.watch.run import RunOptions, run
from segtui.watch.scoring import Thresholds

pytestmark = pytest.mark.xdist_group("watch-moves")  # one worker builds the module's fixtures


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("moves"), users=240, seed=23)


def _run_once(state: Path, inbox: Path, thresholds: Thresholds | None = None) -> None:
    run(state, inbox, RunOptions(once=True, thresholds=thresholds or Thresholds()), lambda _: None)


def test_each_batch_logs_exactly_the_users_whose_label_changed(
    world: World, tmp_path: Path
) -> None:
    staged = split_files(world.new, tmp_path / "staged", 3)
    inbox, state = tmp_path / "inbox", tmp_path / "st.duckdb"
    inbox.mkdir()
    create_state(state, world.model, [world.history])
    before = state_labels(state)
    for number, file in enumerate(staged, start=1):
        shutil.copy(file, inbox / file.name)
        _run_once(state, inbox)
        after = state_labels(state)
        logged = moves(state).filter(pl.col("batch") == number).sort("user_id")
        joined = after.join(before, on="user_id", how="left", suffix="_before")
        changed = joined.filter(
            pl.col("segment_id_before").is_null()
            | (pl.col("segment_id") != pl.col("segment_id_before"))
        ).sort("user_id")
        assert logged["user_id"].to_list() == changed["user_id"].to_list()
        assert logged["to_id"].to_list() == changed["segment_id"].cast(pl.Int64).to_list()
        assert logged["from_id"].to_list() == changed["segment_id_before"].cast(pl.Int64).to_list()
        assert (logged["from_id"] != logged["to_id"]).fill_null(True).all()
        new = logged.filter(pl.col("from_id").is_null())
        assert new["reason"].unique().to_list() in ([], [NEW_USER])
        assert new["from_segment"].null_count() == new.height
        moved = logged.filter(pl.col("from_id").is_not_null())
        assert not moved["reason"].str.contains(NEW_USER).any()
        assert moved["reason"].str.contains(" -> ").all()
        # ``at`` is the batch's reference time: the latest event seen so far.
        seen = pl.concat([pl.read_csv(world.history), *[pl.read_csv(f) for f in staged[:number]]])
        latest = seen["ts"].str.to_datetime(time_zone="UTC").max()
        assert logged["at"].unique().to_list() in ([], [latest])
        before = after
    assert moves(state).filter(pl.col("batch") == 0).height == 0  # init logs no moves


def _donate(world: World, movers: list[str], donor: str) -> pl.DataFrame:
    """The donor's events, three times over, given to each mover after the cut."""
    history = pl.read_csv(world.history).with_columns(pl.col("ts").str.to_datetime(time_zone="UTC"))
    gift = history.filter(pl.col("user_id") == donor)
    start = gift["ts"].min()
    rows = []
    for mover in movers:
        for copy in range(3):
            shift = (world.cut - start) + timedelta(hours=1 + copy)
            rows.append(gift.with_columns(pl.lit(mover).alias("user_id"), pl.col("ts") + shift))
    return pl.concat(rows)


def _farthest_from(model: Model, home: int) -> int:
    """The segment whose center is farthest from ``home``'s (a K-Means model: one center each):
    the move a user's new events can say most plainly."""
    centers, labels = model.state.centers, model.state.center_labels
    gaps = np.linalg.norm(centers - centers[list(labels).index(home)], axis=1)
    return int(labels[int(gaps.argmax())])


def test_planted_movers_move_to_what_batch_assign_gives_and_the_rest_stay(
    world: World, tmp_path: Path
) -> None:
    state, inbox = tmp_path / "st.duckdb", tmp_path / "inbox"
    create_state(state, world.model, [world.history])
    start = state_labels(state)
    home = start.group_by("segment_id").len().sort("len", descending=True)["segment_id"][0]
    away = _farthest_from(as_model(world.model), home)
    in_home = start.filter(pl.col("segment_id") == home)["user_id"].to_list()
    # The donor is away's most active user, so three copies outweigh a mover's own history.
    counts = pl.read_csv(world.history).group_by("user_id").len()
    donor = (
        start.filter(pl.col("segment_id") == away)
        .join(counts, on="user_id")
        .sort(["len", "user_id"], descending=[True, False])["user_id"][0]
    )
    movers = in_home[:12]
    inbox.mkdir()
    gift = write_events(_donate(world, movers, donor), inbox / "new.csv")
    _run_once(state, inbox)
    now = state_labels(state)
    assert now.equals(batch_labels(world.model, [world.history, gift]))
    moved_to = dict(
        now.filter(pl.col("user_id").is_in(movers)).select("user_id", "segment_id").iter_rows()
    )
    assert sum(moved_to[m] == away for m in movers) >= 10, moved_to
    untouched = start.filter(~pl.col("user_id").is_in(movers))
    # No clustering feature of this model depends on the reference time, so users without new
    # events keep their segment exactly.
    assert untouched.equals(now.filter(~pl.col("user_id").is_in(movers)))
    logged = moves(state)
    assert set(logged["user_id"]) <= set(movers)
    assert logged.filter(pl.col("to_id") == away).height == sum(moved_to[m] == away for m in movers)


def _moved(state: Path, start: pl.DataFrame) -> set[str]:
    now = state_labels(state).join(start, on="user_id", suffix="_start")
    return set(now.filter(pl.col("segment_id") != pl.col("segment_id_start"))["user_id"])


def test_min_events_holds_moves_until_enough_new_events(world: World, tmp_path: Path) -> None:
    split_files(world.new, tmp_path / "inbox", 2)
    state = tmp_path / "st.duckdb"
    create_state(state, world.model, [world.history])
    start = state_labels(state)
    _run_once(state, tmp_path / "inbox", Thresholds(min_events=10**6))
    assert _moved(state, start) == set()
    logged = moves(state)
    assert logged["from_id"].null_count() == logged.height  # only new users were labelled


def test_min_margin_moves_only_users_nearer_by_the_margin(world: World, tmp_path: Path) -> None:
    files = split_files(world.new, tmp_path / "inbox", 1)
    free, held = tmp_path / "free.duckdb", tmp_path / "held.duckdb"
    margin = 0.15
    for state, t in ((free, Thresholds()), (held, Thresholds(min_margin=margin))):
        create_state(state, world.model, [world.history])
        _run_once(state, tmp_path / "inbox", t)
    start = batch_labels(world.model, [world.history])
    assert _moved(held, start) < _moved(free, start)
    # Check each held user by hand: the nearest center of the new segment is not nearer than
    # (1 - margin) x the nearest center of the old one (a K-Means model: centers are segments).
    model = as_model(world.model)
    table, _ = model_users_with_messages(model, [world.history, *files])
    X = transform_users(model.prepare, table.sort("user_id"))
    ids = table.sort("user_id")["user_id"].to_list()
    centers, labels = model.state.centers, model.state.center_labels
    d = np.sqrt(((X[:, None, :] - centers[None]) ** 2).sum(axis=2))
    old = dict(start.select("user_id", "segment_id").iter_rows())
    new = dict(state_labels(free).select("user_id", "segment_id").iter_rows())
    held_moved = _moved(held, start)
    checked = 0
    for row, user in enumerate(ids):
        if user not in old or old[user] == new[user]:
            continue
        d_new = d[row, labels == new[user]].min()
        d_old = d[row, labels == old[user]].min()
        assert (user in held_moved) == (d_new <= (1 - margin) * d_old), user
        checked += 1
    assert checked > len(held_moved) > 0
