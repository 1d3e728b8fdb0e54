"""`watch init` streams the history: the state is the same whatever the chunk of users its
leaves are computed in, and the events keep the keys a batch gives them (the history dropped
into the inbox again is all duplicates, identical rows included)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from inbox_world import World, assert_same_state, ledger, table

from segtui.watch.create import create_state
from segtui.watch.run import RunOptions, run

pytestmark = pytest.mark.xdist_group("watch-cli")  # the session world is built there already


def test_init_in_small_chunks_of_users_gives_the_same_state(world: World, tmp_path: Path) -> None:
    state = tmp_path / "st.duckdb"
    create_state(state, world.model, [world.history], chunk_events=40)
    users = table(state, "SELECT count(DISTINCT user_id) AS n FROM events")["n"][0]
    assert users > 10  # 40 events at a time: many chunks
    assert_same_state(state, world.initial)
    assert not list(tmp_path.glob(".*")), "the spool and the building file are gone"


def test_the_history_replayed_as_a_batch_is_all_duplicates(world: World, tmp_path: Path) -> None:
    state = tmp_path / "st.duckdb"
    shutil.copyfile(world.initial, state)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copyfile(world.history, inbox / "again.csv")
    run(state, inbox, RunOptions(once=True), lambda line: None)
    events = table(state, "SELECT count(*) AS n FROM events WHERE batch = 0")["n"][0]
    identical = table(
        state,
        "SELECT count(*) AS n FROM (SELECT * EXCLUDE (seq, event_key) FROM events "
        "GROUP BY ALL HAVING count(*) > 1)",
    )["n"][0]
    assert identical > 0  # the sample holds identical rows: each still counts once
    row = ledger(state).row(0, named=True)
    assert (row["rows_kept"], row["duplicates"]) == (0, events)
