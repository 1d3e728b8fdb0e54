"""The readers' side of `segtui watch`: status, moves and export as scripts rely on them, bad
input as one clear message (exit 2), and text from files shown plain."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from inbox_world import World, cli, features, labels, ledger, ok, table

from segtui.artifacts.parquet_meta import METADATA_KEY

pytestmark = pytest.mark.xdist_group("watch-cli")  # one worker builds the module's fixtures


MOVES_COLUMNS = [
    "user_id",
    "from_segment",
    "from_id",
    "to_segment",
    "to_id",
    "at",
    "batch",
    "reason",
    "logged_at",
]


def test_status_json_has_what_scripts_read(world: World) -> None:
    info = json.loads(ok("watch", "status", world.ran, "--json").output)
    users = world.events["user_id"].n_unique()
    assert info["users"] == users
    assert info["batches"] == 6 == ledger(world.ran).height
    assert info["model_version"] == 1
    assert info["last_refit"] is None
    assert datetime.fromisoformat(info["last_batch_at"])
    assert set(info["drift"]) >= {"psi", "mean_distance"}
    assert info["drift"]["psi"] == pytest.approx(ledger(world.ran)["psi"][-1])
    assert info["drift"]["mean_distance"] == pytest.approx(ledger(world.ran)["mean_distance"][-1])
    sizes = labels(world.ran).group_by("segment_id", "segment").len().sort("segment_id")
    assert [(s["id"], s["name"], s["size"]) for s in info["segments"]] == list(sizes.iter_rows())
    assert [set(s) for s in info["segments"]] == [{"id", "name", "size", "share"}] * 4
    assert sum(s["share"] for s in info["segments"]) == pytest.approx(1.0)
    assert info["segments"][0]["share"] == pytest.approx(sizes["len"][0] / users)
    text = ok("watch", "status", world.ran).output
    assert "batches run: 6" in text and sizes["segment"][0] in text


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".json"])
def test_moves_written_as_parquet_csv_or_json_read_back_the_same(
    world: World, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"moves{suffix}"
    assert "moves to" in ok("watch", "moves", world.ran, "-o", out).output
    read = {".parquet": pl.read_parquet, ".csv": pl.read_csv, ".json": pl.read_json}[suffix]
    moves = read(out)
    assert moves.columns == MOVES_COLUMNS
    assert moves["from_id"].dtype == pl.Int64 and moves["to_id"].dtype == pl.Int64
    held = table(world.ran, "SELECT * FROM moves ORDER BY batch, user_id")
    assert moves.height == held.height > 0
    assert moves.select("user_id", "from_id", "to_id", "batch", "reason").equals(
        held.select("user_id", "from_id", "to_id", "batch", "reason")
    )
    new = moves.filter(pl.col("reason") == "new user")
    assert new.height > 0
    assert new["from_id"].null_count() == new["from_segment"].null_count() == new.height
    old = moves.filter(pl.col("reason") != "new user")
    assert old["from_id"].null_count() == 0
    assert (old["from_id"] != old["to_id"]).all()
    assert (old["from_segment"] != old["to_segment"]).all()
    # A new user is a user the history did not have, and gets exactly one "new user" row.
    history = set(pl.read_csv(world.history)["user_id"])
    assert set(new["user_id"]) == set(world.events["user_id"]) - history
    assert new["user_id"].is_unique().all()


def test_moves_since_filters_on_at(world: World, tmp_path: Path) -> None:
    refs = ledger(world.ran)["reference_time"]
    since = refs[3]  # batch 4's reference time: batches 4, 5, 6
    held = table(world.ran, "SELECT * FROM moves")
    want = held.filter(pl.col("at") >= since).sort("batch", "user_id")
    assert 0 < want.height < held.height
    out = tmp_path / "m.parquet"
    ok("watch", "moves", world.ran, "-o", out, "--since", since.isoformat())
    got = pl.read_parquet(out)
    assert got["user_id"].to_list() == want["user_id"].to_list()
    assert set(got["batch"]) == set(want["batch"]) <= {4, 5, 6}
    day = ok("watch", "moves", world.ran, "--json", "--since", "2030-01-01").output
    assert json.loads(day) == []
    rows = json.loads(ok("watch", "moves", world.ran, "--json").output)
    assert len(rows) == held.height and list(rows[0]) == MOVES_COLUMNS


def test_export_has_the_schema_segment_writes_and_the_model(world: World, tmp_path: Path) -> None:
    out = tmp_path / "x.parquet"
    ok("watch", "export", world.ran, "-o", out)
    exported = pl.read_parquet(out)
    segment = pl.read_parquet(world.segments)
    assert exported.schema == segment.schema
    assert exported.columns[:3] == ["user_id", "segment", "segment_id"]
    assert exported.columns[-2:] == ["pc1", "pc2"]
    state = labels(world.ran)
    assert exported.select("user_id", "segment").equals(state.select("user_id", "segment"))
    chosen = exported.columns[3:-2]
    assert exported.select(chosen).equals(features(world.ran).select(chosen))
    meta = pq.read_schema(out).metadata[METADATA_KEY.encode()].decode()
    assert json.loads(meta) == json.loads(world.model.read_text(encoding="utf-8"))
    assert pq.read_schema(world.segments).metadata[METADATA_KEY.encode()].decode() == meta


# ---- bad input: exit 2, one message naming the file, never a traceback


def _bad_states(root: Path) -> dict[str, Path]:
    root.mkdir()
    (root / "text.duckdb").write_text("not a database\n", encoding="utf-8")
    (root / "empty.duckdb").write_bytes(b"")
    con = duckdb.connect(str(root / "other.duckdb"))
    con.sql("CREATE TABLE t (x INTEGER)")
    con.close()
    return {
        "missing": root / "missing.duckdb",
        "text": root / "text.duckdb",
        "empty": root / "empty.duckdb",
        "other": root / "other.duckdb",
        "folder": root,
    }


COMMANDS = {
    "status": ("status", "{state}"),
    "status-json": ("status", "{state}", "--json"),
    "moves": ("moves", "{state}"),
    "moves-o": ("moves", "{state}", "-o", "{out}.csv"),
    "export": ("export", "{state}", "-o", "{out}.parquet"),
    "run": ("run", "{state}", "{inbox}", "--once"),
    "run-stdin": ("run", "{state}", "-", "--once"),
}


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _bad_states(tmp_path_factory.mktemp("bad") / "states")


def _one_message(result, name: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("segtui: "), result.output
    assert name in lines[-1], result.output
    return lines[-1]


@pytest.mark.parametrize("kind", ["missing", "text", "empty", "other", "folder"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_bad_state_is_one_clear_message(
    bad: dict[str, Path], tmp_path: Path, kind: str, command: str
) -> None:
    state = bad[kind]
    before = state.read_bytes() if state.is_file() else None
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    args = [a.format(state=state, out=tmp_path / "out", inbox=inbox) for a in COMMANDS[command]]
    result = cli("watch", *args, input="")
    _one_message(result, state.name)
    assert list(tmp_path.glob("out*")) == []
    if before is not None:
        assert state.read_bytes() == before  # a file that is not a state is left as it was
    assert not state.with_name(state.name + ".lock").exists()


def test_a_state_of_another_schema_version_is_refused(world: World, tmp_path: Path) -> None:
    state = tmp_path / "new.duckdb"
    shutil.copyfile(world.initial, state)
    con = duckdb.connect(str(state))
    con.sql("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    for args in (["status", state], ["run", state, tmp_path, "--once"]):
        message = _one_message(cli("watch", *args), state.name)
        assert "schema version 99" in message


def test_a_state_of_schema_version_1_is_refused_with_the_way_on(
    world: World, tmp_path: Path
) -> None:
    """Version 1 kept no leaf_values: its states are refused by version, not by a table."""
    state = tmp_path / "old.duckdb"
    shutil.copyfile(world.initial, state)
    con = duckdb.connect(str(state))
    con.sql("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.sql("DROP TABLE leaf_values")
    con.close()
    message = _one_message(cli("watch", "status", state), state.name)
    assert "schema version 1, this segtui reads 2" in message
    assert "segtui watch init --force STATE MODEL HISTORY..." in message


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["moves", "{ran}", "--since", "yesterday"], "--since"),
        (["moves", "{ran}", "-o", "{tmp}/moves.txt"], "moves.txt"),
        (["export", "{ran}", "-o", "{tmp}/labels.txt"], "labels.txt"),
        (["export", "{ran}", "-o", "{tmp}/no/labels.parquet"], "no"),
        (["run", "{initial}", "{tmp}/no-inbox", "--once"], "no-inbox"),
        (["init", "{tmp}/s.duckdb", "{tmp}/no.model.json", "{history}"], "no.model.json"),
        (["init", "{tmp}/s.duckdb", "{model}", "{tmp}/no.csv"], "no.csv"),
        (["init", "{tmp}/s.duckdb", "{history}", "{history}"], "history.csv"),
    ],
)
def test_bad_arguments_are_one_clear_message(
    world: World, tmp_path: Path, args: list[str], name: str
) -> None:
    initial = tmp_path / "initial.duckdb"
    shutil.copyfile(world.initial, initial)
    filled = [
        a.format(
            ran=world.ran, initial=initial, tmp=tmp_path, history=world.history, model=world.model
        )
        for a in args
    ]
    _one_message(cli("watch", *filled), name)
    assert not (tmp_path / "s.duckdb").exists()


# ---- text from files is shown, never obeyed


def test_ids_and_names_from_files_are_shown_plain(world: World, tmp_path: Path) -> None:
    state, inbox = world.fresh(tmp_path, files=())
    hostile = ["u\x1b[2Jclear", "[bold red]u-markup[/]", "u\nbatch 99: forged"]
    rows = [f'"{u}",2025-03-01T10:00:00Z,page_view,s{i},,,,,,30,0.5' for i, u in enumerate(hostile)]
    header = ",".join(pl.read_csv(world.inbox / "a.csv", n_rows=1).columns)
    (inbox / "a.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    (inbox / "b\x1b[31m\nbatch 98: forged.csv").write_bytes(b"\x00\x01\x02garbage")
    result = ok("watch", "run", state, inbox, "--once")
    moves = ok("watch", "moves", state).output
    status = ok("watch", "status", state).output
    for text in (result.output, moves, status):
        assert "\x1b" not in text
        assert not any(line.startswith(("batch 98", "batch 99")) for line in text.splitlines())
    assert "[bold red]u-markup[/]" in moves  # markup shown as the text it is
    assert "u\\x1b[2Jclear" in moves
    assert "rejected b\\x1b[31m" in result.output
    assert sorted(set(table(state, "SELECT user_id FROM moves")["user_id"])) == sorted(hostile)
