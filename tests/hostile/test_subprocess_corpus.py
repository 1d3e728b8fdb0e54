"""One run per hostile class as a real process (the ``segtui`` console script, from outside the
repo): the same exit code, message and untouched folder as in-process, with no test hooks (the
gzip bomb here is a real one, past the 256 MiB floor).

The processes are started two at a time (the machine's cores) by one fixture, and each class's
test checks its own answer, so the slow part, starting Python and the data stack, overlaps.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from .corpus import BOMB_MEMBER, CLASSES, Run, check_left, cleanup, gzip_bomb, snapshot
from .test_cli_corpus import check_answer

pytestmark = pytest.mark.xdist_group("hostile-subprocess")
"""One worker builds the module's answers (two processes at a time): split across both workers,
each built them all, four processes on two cores."""


def segtui_script() -> list[str]:
    script = Path(sys.executable).with_name("segtui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "segtui.cli.main"]


@dataclass
class Answer:
    run: Run
    code: int
    stdout: str
    stderr: str
    before: dict
    after: dict


def _answer(run: Run, folder: Path) -> Answer:
    before = snapshot(folder)
    done = subprocess.run(
        [*segtui_script(), *run.argv],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=180,
        env={**os.environ, "COLUMNS": "100"},
        check=False,
    )
    return Answer(run, done.returncode, done.stdout, done.stderr, before, snapshot(folder))


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Answer]]:
    cases, undo = {}, []
    for name, build in CLASSES.items():
        folder = tmp_path_factory.mktemp(name)
        big = name == "gzip_bomb"
        cases[name] = (gzip_bomb(folder, 5, BOMB_MEMBER) if big else build(folder), folder)
        undo.append(cleanup(folder))
        next(undo[-1])
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {n: pool.submit(_answer, c.runs[0], f) for n, (c, f) in cases.items()}
        yield {name: future.result() for name, future in futures.items()}
    for step in undo:
        next(step, None)


@pytest.mark.parametrize("name", list(CLASSES))
def test_one_process_per_hostile_class(name: str, answers: dict[str, Answer]) -> None:
    answer = answers[name]
    check_answer(answer.run, answer.code, answer.stdout, answer.stderr)
    check_left(answer.before, answer.after, answer.run)
