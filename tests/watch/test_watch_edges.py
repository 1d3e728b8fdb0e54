"""Edges of `watch run`: a stdin chunk with no good line keeps its own number, a file removed
between the listing and the read is skipped (not a crash), and a rejection recorded before a
kill is not counted twice when the file is read again."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from inbox_world import World, ledger, ok, table

from segtui.errors import InputError


def _rejected(state: Path) -> pl.DataFrame:
    return table(state, "SELECT source, message FROM rejected ORDER BY source")


def test_a_stdin_chunk_with_no_good_line_keeps_its_number(world: World, tmp_path: Path) -> None:
    state, _ = world.fresh(tmp_path, files=())
    good = pl.read_csv(world.inbox / "a.csv").head(2)
    lines = [
        json.dumps({"user_id": "u1", "ts": "not a time", "event": "page_view"}),
        json.dumps({"user_id": "u2", "ts": "not a time", "event": "page_view"}),
        *good.write_ndjson().splitlines(),
    ]
    ok("watch", "run", state, "-", "--once", "--batch-events", 2, input="\n".join(lines) + "\n")
    assert ledger(state)["source"].to_list() == ["stdin#2"]
    assert _rejected(state)["source"].to_list() == ["stdin#1"]
    # a second run numbers on from both
    ok("watch", "run", state, "-", "--once", "--batch-events", 2, input="\n".join(lines) + "\n")
    assert ledger(state)["source"].to_list() == ["stdin#2", "stdin#4"]
    assert _rejected(state)["source"].to_list() == ["stdin#1", "stdin#3"]


def test_a_file_removed_before_it_is_read_is_skipped(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, inbox = world.fresh(tmp_path, files=("a.csv", "b.csv"))
    from segtui.watch import run as run_module

    read = run_module.file_batches

    def taken_away(model, path: Path, *args, **kwargs):  # another consumer got there first
        if path.name == "a.csv":
            path.unlink()
        return read(model, path, *args, **kwargs)

    monkeypatch.setattr(run_module, "file_batches", taken_away)
    result = ok("watch", "run", state, inbox, "--once")
    assert "a.csv was removed before it was read; skipped" in result.output
    assert ledger(state)["source"].to_list() == ["b.csv"]
    assert _rejected(state).height == 0
    assert not (inbox / ".rejected").exists()


def test_a_rejection_recorded_before_a_kill_is_not_counted_twice(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, inbox = world.fresh(tmp_path, files=())
    (inbox / "bad.csv").write_bytes(b"\x00\x01\x02 not events\n")
    from segtui.watch import run as run_module

    def killed(*args, **kwargs):  # the process dies after the rejection is recorded
        raise InputError("killed before the move (stands in for SIGKILL)")

    monkeypatch.setattr(run_module, "quarantine", killed)
    from typer.testing import CliRunner

    from segtui.cli.main import app

    assert CliRunner().invoke(app, ["watch", "run", str(state), str(inbox), "--once"]).exit_code
    assert (inbox / "bad.csv").exists() and _rejected(state)["source"].to_list() == ["bad.csv"]
    monkeypatch.undo()
    ok("watch", "run", state, inbox, "--once")
    assert _rejected(state)["source"].to_list() == ["bad.csv"]
    assert (inbox / ".rejected" / "bad.csv").exists() and not (inbox / "bad.csv").exists()


def test_a_file_that_is_not_a_database_is_refused_by_name(world: World, tmp_path: Path) -> None:
    from inbox_world import cli

    for command in (["status"], ["moves"], ["run", "-", "--once"]):
        result = cli("watch", command[0], world.history, *command[1:])
        assert result.exit_code == 2, result.output
        assert f"{world.history}: this is not a DuckDB database, so not a watch state" in (
            result.stderr
        )
