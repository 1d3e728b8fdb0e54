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
UI_PACKAGES = ("app", "cli")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


CORE_MODULES = sorted(
    _module_name(path)
    for path in PACKAGE.rglob("*.py")
    if path.relative_to(PACKAGE).parts[0] not in UI_PACKAGES
)


def test_core_modules_found() -> None:
    """Every subpackage along the flow is covered, not only the top-level modules."""
    assert "segtui" in CORE_MODULES
    assert "segtui.errors" in CORE_MODULES
    for package in ("ingest", "features", "clustering", "segments", "artifacts"):
        assert f"segtui.{package}" in CORE_MODULES
        assert any(m.startswith(f"segtui.{package}.") for m in CORE_MODULES), package
    assert not any(m.startswith(("segtui.app", "segtui.cli")) for m in CORE_MODULES)


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
