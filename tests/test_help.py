"""The command line's help: every command lists, loads when asked for, and shows its text as
written (typer reads help text as Rich markup, so a bracketed word must be escaped)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from segtui.cli.main import COMMANDS, app


def test_the_help_lists_every_command_in_order() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("│ ")]
    listed = [row[1] for row in rows if len(row) > 2 and row[1] in COMMANDS]
    assert listed == list(COMMANDS)


@pytest.mark.parametrize("command", ["features", "segment", "open"])
def test_the_engine_option_shows_the_extra_to_install(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "pip install 'segtui[spark]'" in result.stdout
    assert "\\[" not in result.stdout


def test_a_subgroup_has_its_commands_and_no_completion_options() -> None:
    result = CliRunner().invoke(app, ["watch", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ("init", "run", "status", "moves", "export"):
        assert f"│ {name} " in result.stdout
    assert "--install-completion" not in result.stdout


def test_a_mistyped_command_gets_the_nearest_name() -> None:
    result = CliRunner().invoke(app, ["segmnt"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "Did you mean 'segment'?" in result.output
