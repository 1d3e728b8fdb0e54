"""The core never imports the UI: each core module loads in a fresh interpreter without textual.

Mirrors Harlequin's import-hygiene test. The app (segtui.app) and the CLI (segtui.cli, which uses
rich through typer) are the only layers allowed to pull in a UI toolkit.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "segtui"
CORE_MODULES = sorted(
    f"segtui.{path.stem}" for path in PACKAGE.glob("*.py") if path.stem != "__init__"
)


def test_core_modules_found() -> None:
    assert "segtui.errors" in CORE_MODULES
    assert "segtui.fileio" in CORE_MODULES


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_import_ui(module: str) -> None:
    code = (
        "import sys, importlib\n"
        f"importlib.import_module({module!r})\n"
        "ui = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'plotext'))\n"
        "print(','.join(ui))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"{module} imports {result.stdout.strip()}"
