"""Segments within segments: the merge tree of a hierarchical fit, cut at another level by a key.

The tree is the fit's own (``ClusterResult.tree``, over the fitted sample) drawn by
:func:`segtui.clustering.merge_tree.tree_rows`: the merges above the cut, the segments at the cut
(by name and size), and a few splits below. Enter on a merge cuts just below it: the screen
returns that k and the explore screen refits with it the way k+1 / k-1 do (same seed and sample,
so the same tree). Only hierarchical clustering builds a tree; for the other algorithms
:func:`tree_unavailable` says why there is none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from segtui.app.keys import bind
from segtui.clustering.merge_tree import TreeRow, row_text, tree_rows
from segtui.formatting import number

if TYPE_CHECKING:
    from segtui.app.app import SegtuiApp


def tree_unavailable(outcome: Any) -> str:
    """Why the current fit has no merge tree to show ("" when it has one)."""
    from segtui.clustering.registry import ALGORITHMS

    if outcome is None:
        return "No fit yet: the tree appears with the first hierarchical fit."
    info = ALGORITHMS.get(outcome.request.fit.algorithm)
    hierarchical = [a.label for a in ALGORITHMS.values() if a.kind == "hierarchical"]
    if info is None or info.kind != "hierarchical":
        label = info.label if info is not None else outcome.request.fit.algorithm
        return (
            f"No merge tree: {label} does not build its segments by merging smaller ones, so "
            f"there is no tree to cut. Pick {' or '.join(hierarchical)} in the setup (f) to see "
            "segments within segments."
        )
    if outcome.result.tree is None:
        return "This fit kept no merge tree: refit (R) to build it."
    return ""


class MergeTreeScreen(Screen[int | None]):
    """The merge tree of the current hierarchical fit; dismisses with the k picked (or None)."""

    DEFAULT_CSS = """
    #tree-title { padding: 0 1; height: auto; background: $panel; }
    #tree-list { height: 1fr; border: none; }
    """

    BINDINGS = [  # noqa: RUF012
        bind("escape,q,h", "close", "Back", id="tree.back", tooltip="Back to the segments"),
        bind(
            "enter",
            "cut",
            "Cut here",
            id="tree.cut",
            tooltip="Cut the tree just below the highlighted merge: its k segments (refits)",
            priority=True,
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[TreeRow] = []

    @property
    def segtui(self) -> SegtuiApp:
        return cast("SegtuiApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static("", id="tree-title")
        yield OptionList(id="tree-list")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        app = self.segtui
        outcome = app.outcome
        if outcome is None or outcome.result.tree is None:
            self.dismiss(None)
            return
        tree, result = outcome.result.tree, outcome.result
        k = int(result.n_segments)
        self._rows = tree_rows(tree, k)
        names = dict(outcome.run.names)
        if app.segview is not None:
            names.update({int(p.segment_id): p.name for p in app.segview.profiles})
        sizes = {i: int(v) for i, v in enumerate(result.sizes)}
        fitted, users = int(tree["n_leaves"]), len(result.labels)
        sample = (
            f"a sample of {number(fitted)} of {number(users)} users"
            if fitted < users
            else f"all {number(users)} users"
        )
        title = Text(
            f"Merge tree ({tree.get('linkage', '')} linkage) of {sample}, cut at k={k}. "
            "Rows above the segments merge them; rows inside split them. "
            "Enter cuts just below the highlighted merge (refits with its k); esc goes back."
        )
        self.query_one("#tree-title", Static).update(title)
        options = []
        first_segment = 0
        for i, row in enumerate(self._rows):
            line = Text(row_text(row, names, sizes))
            if row.segment is not None:
                line.stylize("bold")
                first_segment = first_segment or i
            elif row.split_k is None:
                line.stylize("dim")
            options.append(Option(line, id=str(i), disabled=row.split_k is None))
        tree_list = self.query_one("#tree-list", OptionList)
        tree_list.add_options(options)
        tree_list.highlighted = first_segment
        tree_list.focus()

    @property
    def rows(self) -> list[TreeRow]:
        return list(self._rows)

    @on(OptionList.OptionSelected, "#tree-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._cut(event.option_index)

    def action_cut(self) -> None:
        highlighted = self.query_one("#tree-list", OptionList).highlighted
        if highlighted is not None:
            self._cut(highlighted)

    def _cut(self, index: int) -> None:
        row = self._rows[index] if 0 <= index < len(self._rows) else None
        if row is None or row.split_k is None:
            self.app.bell()
            return
        self.dismiss(row.split_k)

    def action_close(self) -> None:
        self.dismiss(None)
