"""One run per hostile class as a real process (the ``segtui`` console script, from outside the
repo): the same exit code, message and untouched folder as in-process, with no test hooks (the
gzip bomb here is a real one, past the 256 MiB floor)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .corpus import BOMB_MEMBER, CLASSES, check_left, cleanup, gzip_bomb, snapshot
from .test_cli_corpus import check_answer


def segtui_script() -> list[str]:
    script = Path(sys.executable).with_name("segtui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "segtui.cli.main"]


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    undo = cleanup(tmp_path)
    next(undo)
    yield tmp_path
    next(undo, None)


@pytest.mark.parametrize("name", list(CLASSES))
def test_one_process_per_hostile_class(name: str, folder: Path) -> None:
    if name == "gzip_bomb":
        case = gzip_bomb(folder, members=5, member_size=BOMB_MEMBER)
    else:
        case = CLASSES[name](folder)
    run = case.runs[0]
    before = snapshot(folder)
    done = subprocess.run(
        [*segtui_script(), *run.argv],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=120,
        env={**os.environ, "COLUMNS": "100"},
    )
    check_answer(run, done.returncode, done.stdout, done.stderr)
    check_left(before, snapshot(folder), run)
