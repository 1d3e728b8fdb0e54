"""An export killed at each point between its renames leaves a set readers can tell apart.

``segtui segment --csv`` writes three files and renames them CSV, model, parquet. Each test run
kills a real ``segtui segment`` process (SIGKILL, the one signal nothing can clean up after)
just before one of those renames, over a folder holding a complete set from an earlier run,
then checks what is left: every file whole, the mix named by ``mixed_export``, and after the
next complete run no temporary file of ours and a whole set again.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from segtui.artifacts.export_set import mixed_export
from segtui.artifacts.model import read_model
from segtui.cli.main import app
from segtui.fileio import KILL_BEFORE_RENAME
from segtui.sample import generate

SET = ("out.csv", "out.model.json", "out.parquet")


def _complete(events: Path, out: Path, k: int) -> None:
    """A complete run, in this process: only the killed run needs a process of its own (each
    start costs seconds of imports)."""
    args = ["segment", str(events), "-k", str(k), "--csv", "--no-stability", "-o", str(out)]
    result = CliRunner().invoke(app, args, env={KILL_BEFORE_RENAME: None})
    assert result.exit_code == 0, result.output


def _segment(events: Path, out: Path, k: int, kill_before: str | None = None) -> int:
    env = {**os.environ}
    env.pop(KILL_BEFORE_RENAME, None)
    if kill_before:
        env[KILL_BEFORE_RENAME] = kill_before
    code = "from segtui.cli import run; run()"
    args = [sys.executable, "-c", code, "segment", str(events), "-k", str(k), "--csv"]
    args.append("--no-stability")  # what is tested is the export, not the evidence
    done = subprocess.run([*args, "-o", str(out)], env=env, capture_output=True, timeout=300)
    return done.returncode


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame, _ = generate(400, seed=5)
    path = tmp_path_factory.mktemp("events") / "events.csv"
    frame.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    return path


@pytest.fixture(scope="module")
def first_set(tmp_path_factory: pytest.TempPathFactory, events: Path) -> Path:
    """The complete k=3 set every test starts from (copied, so each test has its own)."""
    out = tmp_path_factory.mktemp("first") / "out.parquet"
    _complete(events, out, k=3)
    return out.parent


@pytest.mark.parametrize("victim", ["out.csv", "out.model.json", "out.parquet"])
def test_an_export_killed_before_a_rename_leaves_a_mix_that_is_named(
    tmp_path: Path, events: Path, first_set: Path, victim: str
) -> None:
    out = tmp_path / "out.parquet"
    for name in SET:
        shutil.copy2(first_set / name, tmp_path / name)
    first = read_model(out)
    assert mixed_export(out) is None
    assert _segment(events, out, k=4, kill_before=victim) == -signal.SIGKILL
    temps = list(tmp_path.glob(".out.*.tmp"))
    assert temps, "the killed run left its temporary files (the next run cleans them)"
    # Every file is whole and readable; the parquet is still the first run's (renamed last).
    assert read_model(out).data == first.data
    pl.read_csv(tmp_path / "out.csv")
    read_model(tmp_path / "out.model.json")
    mixed = mixed_export(out)
    if victim == "out.csv":
        assert mixed is None  # killed before any rename: the old set is whole
    else:
        assert (mixed is not None and "another run" in mixed) or "different runs" in mixed
        assert mixed_export(tmp_path / "out.model.json") == mixed
    _complete(events, out, k=4)
    assert not list(tmp_path.glob(".out.*.tmp"))
    assert mixed_export(out) is None
    assert read_model(out).data["cluster"]["n_segments"] == 4
