"""Every class of hostile input through every command that reads it, in-process through the
CLI's entry point (typer's CliRunner on ``segtui.cli.main.app``, which decides exit codes).

A refused input: exit 2, a message naming the file (or flag) and the reason, no traceback.
A read one (the policy is to read it right and count): exit 0 and the count said. Either way
no terminal control character reaches the output, no file is changed and nothing but the
declared outputs is left behind. An unexpected exception is exit 1 and fails here.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from .corpus import CLASSES, Case, Run, check_left, cleanup, snapshot

HANG_SECONDS = 60
RAW_CONTROLS = ("\x1b", "\r", "\b", "\x00", "\u202e", "\x07", "\x9b")


@pytest.fixture(autouse=True)
def _no_hangs() -> Iterator[None]:
    """A FIFO opened by mistake blocks forever: fail the test instead."""

    def hang(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"still running after {HANG_SECONDS} s: a hang on hostile input")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def small_bomb_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process, the bomb bound is lowered so an 8 MiB bomb trips it (the subprocess test
    reads a real one past the 256 MiB floor)."""
    monkeypatch.setattr("segtui.ingest.wholefile.BOMB_FLOOR", 1024 * 1024)
    monkeypatch.setattr("segtui.ingest.wholefile.BOMB_RATIO", 100)


def invoke(run: Run):
    from segtui.cli.main import app

    return CliRunner().invoke(app, list(run.argv))


def check_answer(run: Run, code: int, stdout: str, stderr: str) -> None:
    """What a person must see for ``run``: see the module docstring."""
    shown = f"{run.argv}\nexit {code}\nstdout:\n{stdout[-3000:]}\nstderr:\n{stderr[-3000:]}"
    assert "Traceback" not in stdout + stderr, shown
    for control in RAW_CONTROLS:
        assert control not in stdout + stderr, f"raw {control!r} printed\n{shown}"
    if run.refused:
        assert code == 2, shown
        assert stderr.startswith("segtui: "), shown
        assert run.named in stderr, shown
        assert run.says in stderr, shown
    else:
        assert code == 0, shown
        assert run.says in stdout, shown


@pytest.mark.parametrize("name", list(CLASSES))
def test_every_command_answers_the_hostile_class(
    name: str, tmp_path: Path, small_bomb_bound: None
) -> None:
    case: Case = CLASSES[name](tmp_path)
    undo = cleanup(tmp_path)
    next(undo)
    try:
        for run in case.runs:
            before = snapshot(tmp_path)
            result = invoke(run)
            if result.exit_code not in (0, 2):
                raise AssertionError(f"{run.argv}: exit {result.exit_code}") from result.exception
            check_answer(run, result.exit_code, result.stdout, result.stderr)
            after = snapshot(tmp_path)
            check_left(before, after, run)
            for output in run.outputs:  # the next run starts from the same folder
                (tmp_path / output).unlink(missing_ok=True)
    finally:
        next(undo, None)


@pytest.mark.parametrize(
    "extra",
    [
        ("--rule", "Deep: " + "(" * 330 + "events > 1" + ")" * 330),
        ("--rule", "Big: events > " + "9" * 5000),
        ("--rule", "no name here"),
        ("--session-gap", "nan"),
        ("-o", "/proc/segtui-hostile.parquet"),
    ],
)
def test_bad_flags_and_outputs_are_refused_before_any_data_is_read(
    extra: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the data was read before the flags were checked")

    monkeypatch.setattr("segtui.cli.segment_cmd.load_users", never)
    events = tmp_path / "events.csv"
    events.write_text("user_id,ts,event\nu1,2025-01-01,x\n")
    argv = ("segment", str(events), "-o", str(tmp_path / "s.parquet"), *extra)
    result = invoke(Run(argv, "", ""))
    assert result.exit_code == 2, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv"]
