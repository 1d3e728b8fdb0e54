"""The tree keeps the flow of DESIGN.md: layers import one way and no module imports itself back.

The layers contract lives in ``pyproject.toml`` ([tool.importlinter]); this test runs it, so a
wrong-way import fails the suite and not only a linter someone forgot to run. Cycles inside a
layer are not covered by that contract, so they are looked for here over the whole import graph
(imports under ``if TYPE_CHECKING:`` are type hints, not cycles).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph is small, but recursion is not needed)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def _import_graph() -> dict[str, set[str]]:
    built = grimp.build_graph("segtui", exclude_type_checking_imports=True)
    graph: dict[str, set[str]] = {}
    for module in built.modules:
        imported = built.find_modules_directly_imported_by(module)
        # A package's __init__ naming its own children is how Python packages work, not a cycle.
        graph[module] = {m for m in imported if not m.startswith(module + ".")}
    return graph


def test_layers_contract_is_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_layers_contract_names_every_subpackage() -> None:
    """A new subpackage must be placed in the layers, or the contract says nothing about it."""
    text = (ROOT / "pyproject.toml").read_text()
    package = ROOT / "segtui"
    for child in package.iterdir():
        if child.name.startswith("_") or child.name == "py.typed" or child.suffix == ".tcss":
            continue
        name = child.stem
        assert f'"{name}' in text or f"| {name}" in text, f"segtui.{name} is in no layer"


def test_no_import_cycles() -> None:
    cycles = [c for c in _strongly_connected(_import_graph()) if len(c) > 1]
    assert cycles == []


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [c for c in _strongly_connected(graph) if len(c) > 1] == [["a", "b", "c"]]
