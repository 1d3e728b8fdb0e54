"""The exit codes the README promises (0 done, 1 a bug, 2 bad input, 130 interrupted), as the
CLI's entry point gives them in-process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from segtui.cli import main

from .corpus import kit

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_lists_the_exit_codes_of_the_cli() -> None:
    section = README.read_text().split("### Exit codes", 1)[1].split("\n#", 1)[0]
    codes = [int(c) for c in re.findall(r"^\| (\d+) \|", section, flags=re.M)]
    assert codes == [main.EXIT_DONE, main.EXIT_BUG, main.EXIT_BAD_INPUT, main.EXIT_INTERRUPTED]
    assert codes == [0, 1, 2, 130]


def test_each_exit_code_as_the_entry_point_gives_it(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    done = runner.invoke(main.app, ["inspect", str(kit().events)])
    assert done.exit_code == 0, done.output
    bad = runner.invoke(main.app, ["inspect", str(kit().folder / "nope.csv")])
    assert bad.exit_code == 2 and "nope.csv: no such file" in bad.stderr

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    def bug(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("segtui.cli.inspect_cmd.load_events", interrupted)
    stopped = runner.invoke(main.app, ["inspect", str(kit().events)])
    assert stopped.exit_code == 130 and "interrupted" in stopped.stderr
    monkeypatch.setattr("segtui.cli.inspect_cmd.load_events", bug)
    crashed = runner.invoke(main.app, ["inspect", str(kit().events)])
    assert crashed.exit_code == 1 and isinstance(crashed.exception, RuntimeError)  # not caught
