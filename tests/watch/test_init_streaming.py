"""`watch init` streams the history: the state is the same whatever the chunk of users its
leaves are computed in, and the events keep the keys a batch gives them (the history dropped
into the inbox again is all duplicates, identical rows included)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from inbox_world import World, assert_same_state, cli, ledger, table

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


def test_rows_the_history_cannot_give_are_left_out_and_said_why(
    world: World, tmp_path: Path
) -> None:
    """Rows 1 (time), 2 (user) and one ragged line are left out, row 3's price is no number;
    the kept events are the other rows in file order (``seq`` is the data row's number)."""
    lines = world.history.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:]]
    rows[0][header.index("ts")] = "not a time"
    rows[1][header.index("user_id")] = ""
    rows[2][header.index("price")] = "abc"
    broken = tmp_path / "history.csv"
    text = "\n".join([lines[0], *(",".join(r) for r in rows), lines[-1] + ",extra"]) + "\n"
    broken.write_text(text, encoding="utf-8")
    state = tmp_path / "st.duckdb"
    result = cli("watch", "init", state, world.model, broken)
    assert result.exit_code == 0, result.output
    n = len(rows)
    out = result.stdout.splitlines()
    assert f"history: rows read: {n + 1:,}; kept: {n - 2:,}; left out: 3" in out
    assert [line for line in out if line.startswith("  left out:")] == [
        "  left out: 1 with more or fewer fields than the header (their field count shown) "
        f"(e.g. history.csv row {n + 1}: '{len(header) + 1}')",
        "  left out: 1 with no user id (user_id empty) (e.g. history.csv row 2: (empty))",
        "  left out: 1 with an unparseable timestamp (ts) (e.g. history.csv row 1: 'not a time')",
    ]
    assert (
        "note: 1 value of 'price' is not a number, e.g. row 3: 'abc'; the row is kept with no price"
    ) in out
    init = table(state, "SELECT rows_read, rows_kept FROM batches WHERE batch = 0").row(0)
    assert init == (n + 1, n - 2)
    events = table(state, "SELECT seq, price FROM events ORDER BY seq")
    assert events["seq"].to_list() == list(range(3, n + 1))
    assert events["price"][0] is None


def test_a_history_whose_every_row_is_left_out_is_refused_leaving_nothing(
    world: World, tmp_path: Path
) -> None:
    lines = world.history.read_text(encoding="utf-8").splitlines()[:4]
    broken = tmp_path / "history.csv"
    broken.write_text("\n".join([lines[0], *("," + row.split(",", 1)[1] for row in lines[1:])]))
    result = cli("watch", "init", tmp_path / "st.duckdb", world.model, broken)
    assert result.exit_code == 2
    assert "history.csv: the history has no events to start from. Left out: 3 with no user id" in (
        result.output
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv"]
