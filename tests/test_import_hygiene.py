"""The core never imports the UI: the core modules load in a fresh interpreter without textual.

Mirrors Harlequin's import-hygiene test. The app (segtui.app) and the CLI (segtui.cli, which uses
rich through typer) are the only layers allowed to pull in a UI toolkit.
"""

from __future__ import annotations

import json
import os
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


IMPORT_EACH = """
import importlib, json, sys
UI = ("textual", "rich", "plotext")
def ui():
    return {m for m in sys.modules if m.split(".")[0] in UI}
brought = {}
for module in sys.argv[1:]:
    before = ui()
    importlib.import_module(module)
    brought[module] = sorted(ui() - before)
print(json.dumps(brought))
"""


@pytest.fixture(scope="module")
def ui_brought_in() -> dict[str, list[str]]:
    """The UI modules each core module's import brought in, in one fresh interpreter.

    One process for all modules, not one each (a hundred interpreters cost a minute of CPU):
    the modules are imported in turn, and what each import adds to ``sys.modules`` is its own.
    A module imported earlier as a dependency adds nothing when its turn comes, but whatever UI
    it pulled in was charged to the module that imported it, so a UI import is never missed.
    """
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, *CORE_MODULES],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_import_ui(module: str, ui_brought_in: dict[str, list[str]]) -> None:
    assert ui_brought_in[module] == [], f"{module} imports {', '.join(ui_brought_in[module])}"


def test_a_module_that_imports_the_ui_is_named(tmp_path: Path) -> None:
    """The check above can fail: a core-like module importing rich is charged with it."""
    (tmp_path / "uses_rich.py").write_text("import rich.text\n", encoding="utf-8")
    (tmp_path / "plain.py").write_text("import json\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, "plain", "uses_rich"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    brought = json.loads(result.stdout)
    assert brought["plain"] == []
    assert "rich.text" in brought["uses_rich"]
