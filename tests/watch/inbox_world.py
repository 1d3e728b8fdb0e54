"""One small watch world shared by the tests in this folder, and the helpers to use it.

80 sampled users; the events before 2024-12-01 are the history a 4-segment K-Means model is
fitted on (``segtui segment``) and the state is created from (``watch init``); the rest lands in
an inbox as three files split by time (``a.csv``, ``b.csv``, ``c.csv``). With ``--batch-events
150`` each file is two batches (``a.csv#1/2`` ...), six in all. ``ran`` is the state after one
uninterrupted ``watch run --once`` over them: the answer the other routes must reach.

Each test copies what it changes into its own ``tmp_path`` (``fresh``); ``initial`` and ``ran``
are only read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
from click.testing import Result
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from segtui.cli.main import app
from segtui.sample import generate

TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
HISTORY_END = datetime(2024, 12, 1, tzinfo=UTC)
FILES: dict[str, tuple[datetime, datetime]] = {
    "a.csv": (HISTORY_END, datetime(2025, 1, 10, tzinfo=UTC)),
    "b.csv": (datetime(2025, 1, 10, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC)),
    "c.csv": (datetime(2025, 2, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)),
}
BATCH_EVENTS = 150
"""Splits each inbox file in two (a.csv 272 events, b.csv 164, c.csv 158)."""
SOURCES = tuple(f"{name}#{k}/2" for name in FILES for k in (1, 2))
WAIT_SECONDS = 180.0
"""How long a test waits on a state another process is writing (never a timed assertion: it
only bounds a wait that ends as soon as the state is there)."""


@dataclass(frozen=True)
class World:
    root: Path
    events: pl.DataFrame
    """Every event (history and inbox), as sampled."""
    history: Path
    model: Path
    segments: Path
    """``segtui segment``'s parquet for the model (its schema is what export must write)."""
    inbox: Path
    initial: Path
    ran: Path

    def fresh(self, tmp_path: Path, files: Sequence[str] = tuple(FILES)) -> tuple[Path, Path]:
        """A copy of the initial state and an inbox holding ``files``, in ``tmp_path``."""
        state = tmp_path / "state.duckdb"
        shutil.copyfile(self.initial, state)
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        for name in files:
            shutil.copyfile(self.inbox / name, inbox / name)
        return state, inbox


def cli(*args: object, input: str | None = None) -> Result:
    """``segtui ARGS`` in this process (typer's CliRunner on the real command group)."""
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def ok(*args: object, input: str | None = None) -> Result:
    result = cli(*args, input=input)
    assert result.exit_code == 0, result.output
    return result


def process_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGTUI_WATCH")}
    env.update(OMP_NUM_THREADS="1", POLARS_MAX_THREADS="1", **extra)
    return env


SEGTUI = [sys.executable, "-c", "from segtui.cli import run; run()"]


def segtui_process(
    *args: object, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``segtui ARGS`` as a real process (what a kill or a pipe needs)."""
    return subprocess.run(
        [*SEGTUI, *(str(a) for a in args)],
        env=env or process_env(),
        input=input,
        capture_output=True,
        text=True,
        timeout=300,
    )


def build_world(root: Path) -> World:
    events, _ = generate(80, seed=3)
    events = events.sort("ts", "user_id", maintain_order=True)
    history = root / "history.csv"
    events.filter(pl.col("ts") < HISTORY_END).write_csv(history, datetime_format=TS_FORMAT)
    inbox = root / "inbox"
    inbox.mkdir()
    for name, (lo, hi) in FILES.items():
        part = events.filter((pl.col("ts") >= lo) & (pl.col("ts") < hi))
        part.write_csv(inbox / name, datetime_format=TS_FORMAT)
    segments = root / "seg.parquet"
    ok("segment", history, "-k", 4, "-o", segments, "--no-stability")
    model = root / "seg.model.json"
    initial = root / "initial.duckdb"
    ok("watch", "init", initial, model, history)
    ran = root / "ran.duckdb"
    shutil.copyfile(initial, ran)
    ok("watch", "run", ran, inbox, "--once", "--batch-events", BATCH_EVENTS)
    return World(root, events, history, model, segments, inbox, initial, ran)


# ---- reading a state


def tables(state: Path, queries: dict[str, str]) -> dict[str, pl.DataFrame]:
    """Queries on the state through one plain read-only DuckDB connection (any reader's view;
    like any reader, it retries while a run holds the file for a batch)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            con = duckdb.connect(str(state), read_only=True)
            break
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        out = {name: pl.from_arrow(con.sql(q).to_arrow_table()) for name, q in queries.items()}
    finally:
        con.close()
    assert all(isinstance(frame, pl.DataFrame) for frame in out.values())
    return out  # type: ignore[return-value]


def table(state: Path, query: str) -> pl.DataFrame:
    return tables(state, {"": query})[""]


SNAPSHOT: dict[str, str] = {
    "events": "SELECT * FROM events ORDER BY seq",
    "leaves": "SELECT * FROM leaves ORDER BY user_id",
    "leaf_values": "SELECT * FROM leaf_values ORDER BY ALL",
    "features": "SELECT * FROM features ORDER BY user_id",
    "labels": "SELECT * FROM labels ORDER BY user_id",
    "moves": "SELECT * EXCLUDE (logged_at) FROM moves ORDER BY batch, user_id",
    "batches": "SELECT * EXCLUDE (started_at, finished_at, seconds) FROM batches ORDER BY batch",
    "sizes": "SELECT * FROM sizes ORDER BY batch, segment_id",
    "models": "SELECT * EXCLUDE (created_at) FROM models ORDER BY version",
    "rejected": 'SELECT * EXCLUDE ("at") FROM rejected ORDER BY source',
    "meta": "SELECT * FROM meta WHERE key <> 'created_at' ORDER BY key",
}
"""The whole state, less the wall-clock columns (what two runs of the same input share)."""


def snapshot(state: Path) -> dict[str, pl.DataFrame]:
    return tables(state, SNAPSHOT)


def assert_same_state(got: Path, want: Path, tables: Sequence[str] = tuple(SNAPSHOT)) -> None:
    a, b = snapshot(got), snapshot(want)
    for name in tables:
        assert a[name].columns == b[name].columns, name
        assert a[name].height == b[name].height, name
        assert a[name].equals(b[name]), f"table {name} differs"


def labels(state: Path) -> pl.DataFrame:
    return table(state, "SELECT user_id, segment_id, segment FROM labels ORDER BY user_id")


def features(state: Path) -> pl.DataFrame:
    return table(state, "SELECT * FROM features ORDER BY user_id")


def assert_same_features(got: Path, want: Path) -> None:
    """Two states that folded the same events in different batches: float sums merged in
    another order may differ in the last bits (whole numbers are exact)."""
    assert_frame_equal(features(got), features(want), rel_tol=1e-9)


def ledger(state: Path) -> pl.DataFrame:
    return table(state, "SELECT * FROM batches WHERE batch > 0 ORDER BY batch")


def wait_until(check: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS) -> None:
    """Wait on a state another process is writing (polls; the bound is only a safety net)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)
