"""Bad input reaches the person as one paragraph and exit code 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from segtui.errors import InputError


def test_describe_names_file_column_row_and_hint() -> None:
    error = InputError(
        "cannot parse the timestamp",
        file="events.csv",
        column="ts",
        row=7,
        hint="Pass --day-first if dates are D/M/Y",
    )
    assert error.describe() == (
        "events.csv, column 'ts', row 7: cannot parse the timestamp."
        " Pass --day-first if dates are D/M/Y."
    )


def test_cli_bad_input_exits_2_with_one_paragraph(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "segtui.cli.main", "inspect", str(empty)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert str(empty) in result.stderr
    assert result.stderr.startswith("segtui: ")
    assert result.stderr.strip().count("\n") == 0
