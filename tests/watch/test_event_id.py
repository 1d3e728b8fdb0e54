"""A layout with its own event id (an ``event_id`` column, Segment's ``messageId``): `watch`
drops a replayed event by that id, whatever else of the row changed on the way, keeps one row
of an id sent twice in one batch, and falls back to the row's values where the id is empty."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from inbox_world import TS_FORMAT, ledger, ok, table

from segtui.sample import generate

pytestmark = pytest.mark.xdist_group("watch-event-id")  # one worker builds the module's world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("event-id")
    events, _ = generate(40, seed=5)
    events = events.sort("ts", "user_id", maintain_order=True)
    events = events.with_columns(event_id=pl.format("m-{}", pl.int_range(pl.len())))
    cut = events.height * 3 // 4
    history = root / "history.csv"
    events.head(cut).write_csv(history, datetime_format=TS_FORMAT)
    new = root / "new.csv"
    events.slice(cut).write_csv(new, datetime_format=TS_FORMAT)
    ok("segment", history, "-k", 3, "-o", root / "seg.parquet", "--no-stability")
    state = root / "state.duckdb"
    ok("watch", "init", state, root / "seg.model.json", history)
    return {"root": root, "history": history, "new": new, "state": state}


def _events(state: Path) -> pl.DataFrame:
    return table(state, "SELECT event_id, price FROM events ORDER BY seq")


def _copy(world: dict[str, Path], tmp_path: Path) -> tuple[Path, Path]:
    state = tmp_path / "state.duckdb"
    state.write_bytes(world["state"].read_bytes())
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return state, inbox


def test_the_event_id_is_a_canonical_column_of_the_state(world: dict[str, Path]) -> None:
    held = _events(world["state"])
    history = pl.read_csv(world["history"])
    assert held["event_id"].to_list() == history["event_id"].to_list()


def test_a_replay_with_changed_values_is_dropped_by_its_id(
    world: dict[str, Path], tmp_path: Path
) -> None:
    state, inbox = _copy(world, tmp_path)
    new = pl.read_csv(world["new"])
    new.write_csv(inbox / "a.csv")
    # the sink sends them again, a price rounded on the way: the same events by their ids
    new.with_columns(pl.col("price").round(0)).write_csv(inbox / "b.csv")
    ok("watch", "run", state, inbox, "--once")
    batches = ledger(state)
    assert batches["source"].to_list() == ["a.csv", "b.csv"]
    assert batches["rows_kept"].to_list() == [new.height, 0]
    assert _events(state).tail(new.height)["event_id"].to_list() == new["event_id"].to_list()


def test_an_id_twice_in_one_batch_is_one_event_and_an_empty_id_is_keyed_by_the_row(
    world: dict[str, Path], tmp_path: Path
) -> None:
    state, inbox = _copy(world, tmp_path)
    new = pl.read_csv(world["new"]).head(6)
    no_id = new.head(2).with_columns(pl.lit(None, pl.Utf8).alias("event_id"))
    # rows 0-5, row 3 again (its id, another price), and two rows without an id, each twice
    batch = pl.concat([new, new.slice(3, 1).with_columns(price=pl.lit(1.0)), no_id, no_id])
    batch.write_csv(inbox / "a.csv")
    ok("watch", "run", state, inbox, "--once")
    # the id-less rows are two events each (the same row twice in a file is two events)
    assert ledger(state)["rows_kept"].to_list() == [6 + 4]
    ids = _events(state).tail(10)["event_id"].to_list()
    assert ids == [*new["event_id"].to_list(), None, None, None, None]
    # replayed whole: nothing new, the id-less rows included (their row keys)
    (inbox / "b.csv").write_bytes((inbox / "a.csv").read_bytes())
    ok("watch", "run", state, inbox, "--once")
    assert ledger(state)["rows_kept"].to_list() == [10, 0]


def test_an_event_id_column_that_repeats_is_a_code_not_a_key(tmp_path: Path) -> None:
    events, _ = generate(20, seed=6)
    codes = {"page_view": "1", "product_view": "2", "add_to_cart": "3", "purchase": "4"}
    events = events.with_columns(event_id=pl.col("event").replace_strict(codes, default="9"))
    history = tmp_path / "history.csv"
    events.write_csv(history, datetime_format=TS_FORMAT)
    ok("segment", history, "-k", 3, "-o", tmp_path / "seg.parquet", "--no-stability")
    state = tmp_path / "state.duckdb"
    done = ok("watch", "init", state, tmp_path / "seg.model.json", history)
    assert "event_id repeats (5 distinct values in " in done.output
    assert "it is not an id of each event, so events are keyed by their values" in done.output
    held = table(state, "SELECT * FROM events")
    assert "event_id" not in held.columns and held.height == events.height


def test_an_id_twice_in_the_history_is_one_event_its_first_row(
    world: dict[str, Path], tmp_path: Path
) -> None:
    history = pl.read_csv(world["history"])
    # row 5 sent again later with another price, and two identical rows without an id
    again = history.slice(5, 1).with_columns(price=pl.lit(-1.0))
    no_id = history.slice(7, 1).with_columns(pl.lit(None, pl.Utf8).alias("event_id"))
    doubled = pl.concat([history.head(10), no_id, no_id, again, history.slice(10)])
    source = tmp_path / "history.csv"
    doubled.write_csv(source)
    state = tmp_path / "state.duckdb"
    done = ok("watch", "init", state, world["root"] / "seg.model.json", source)
    assert "note: history: 1 event sent again (same event_id) left out" in done.output
    held = _events(state)
    expected = pl.concat([history.head(10), no_id, no_id, history.slice(10)])
    assert held["event_id"].to_list() == expected["event_id"].to_list()
    assert held["price"].to_list() == expected["price"].to_list()
    init = table(state, "SELECT rows_kept, duplicates FROM batches WHERE batch = 0")
    assert init.row(0) == (doubled.height - 1, 1)
    seq = table(state, "SELECT seq FROM events ORDER BY seq")["seq"]
    assert seq.n_unique() == held.height
    # the same file dropped in again: nothing new, the two id-less rows included
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "again.csv").write_bytes(source.read_bytes())
    ok("watch", "run", state, inbox, "--once")
    assert ledger(state)["rows_kept"].to_list() == [0]
