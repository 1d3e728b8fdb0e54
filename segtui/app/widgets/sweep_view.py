"""The k sweep tab: the suggested k and why, the scores per k as lines, and as a table.

Each score is scaled to 0..1 for the plot (they live on different scales); the table keeps
them as they are. The third score is the algorithm's own objective: inertia for centroid fits,
BIC for mixtures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from segtui.app.widgets.readouts import choice_text, num, suggestion_text
from segtui.app.widgets.scatter import LinePlot, Series
from segtui.formatting import number

if TYPE_CHECKING:
    from segtui.clustering.autok import KChoice
    from segtui.clustering.diagnostics import SweepResult, SweepRow


def scaled(values: Sequence[float]) -> list[float]:
    """Values mapped to 0..1 over their finite range (NaN stays NaN)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return [math.nan] * len(values)
    low, high = min(finite), max(finite)
    span = (high - low) or 1.0
    return [(v - low) / span if math.isfinite(v) else math.nan for v in values]


def objective_of(rows: Sequence[SweepRow]) -> str:
    """The algorithm's own objective among the rows' diagnostics: inertia, BIC, else inertia."""
    return next(
        (
            name
            for name in ("inertia", "bic")
            if any(getattr(row.diagnostics, name, None) is not None for row in rows)
        ),
        "inertia",
    )


def column(rows: Sequence[SweepRow], name: str) -> list[float]:
    return [num(getattr(row.diagnostics, name, None)) for row in rows]


class SweepView(Vertical):
    """The sweep's note, line plot and table; ``show`` fills them from a SweepResult."""

    def compose(self) -> ComposeResult:
        yield Static(
            Text("No sweep yet: w fits k = 2..12 and suggests one.", style="dim"),
            id="sweep-note",
        )
        with Horizontal(id="sweep-box"):
            yield LinePlot(id="sweep-plot")
            yield DataTable(id="sweep-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#sweep-table", DataTable).add_columns(
            "k", "silhouette", "DB", "CH", "inertia", "stab."
        )

    def show(self, result: SweepResult, weighted: bool = False) -> None:
        """The sweep; ``weighted``: the fit shown has within-segment weights the sweep has not."""
        rows = list(result.rows)
        objective = objective_of(rows)
        label = "inertia" if objective == "inertia" else "BIC"
        self._plot(result, rows, objective, label)
        self._table(result, rows, objective, label)
        note = suggestion_text(result, BEFORE_WEIGHTS if weighted else "")
        self.query_one("#sweep-note", Static).update(note)

    def _plot(self, result: SweepResult, rows: list[SweepRow], objective: str, label: str) -> None:
        ks = [float(row.k) for row in rows]
        plot = self.query_one(LinePlot)
        pick = result.k_choice.k if result.k_choice is not None else result.suggested_k
        plot.mark_x = float(pick) if pick is not None else None  # the k the note and table mark
        series = (
            Series("silhouette↑", "s", ks, scaled(column(rows, "silhouette"))),
            Series("DB↓", "d", ks, scaled(column(rows, "davies_bouldin"))),
            Series(f"{label}↓", label[0].lower(), ks, scaled(column(rows, objective))),
        )
        plot.x_label = "k · " + "  ".join(f"{item.marker} {item.label}" for item in series)
        plot.series = series

    def _table(self, result: SweepResult, rows: list[SweepRow], objective: str, label: str) -> None:
        table = self.query_one("#sweep-table", DataTable)
        table.clear()
        for index, name in ((2, "DB"), (3, "CH"), (4, label)):  # show_choice relabels them
            table.ordered_columns[index].label = Text(name)
        for row in rows:
            pick = result.k_choice.k if result.k_choice is not None else result.suggested_k
            mark = "▶" if row.k == pick else " "
            diag = row.diagnostics
            table.add_row(
                f"{mark}{row.k}",
                number(num(diag.silhouette)),
                number(num(diag.davies_bouldin)),
                number(num(diag.calinski_harabasz)),
                number(num(getattr(diag, objective, None))),
                number(num(result.stability(row.k))),
            )

    def show_choice(self, choice: KChoice, weighted: bool = False) -> None:
        """auto-k's scan (on the stability sample) before any sweep: the pick, why, per k."""
        note = choice_text(choice, BEFORE_WEIGHTS if weighted else "")
        self.query_one("#sweep-note", Static).update(note)
        table = self.query_one("#sweep-table", DataTable)
        table.clear()
        for index, label in ((2, "ref"), (3, "×ref"), (4, "holds")):
            table.ordered_columns[index].label = Text(label)
        for score in choice.scores:
            mark = "▶" if score.k == choice.k else " "
            table.add_row(
                f"{mark}{score.k}",
                number(num(score.silhouette)),
                number(num(score.null_silhouette)),
                number(num(score.separation)),
                "yes" if score.holds else "no",
                number(num(score.stability)),
            )
        ks = [float(s.k) for s in choice.scores]
        plot = self.query_one(LinePlot)
        plot.mark_x = float(choice.k)
        series = (
            Series("silhouette×ref↑", "s", ks, scaled([num(s.separation) for s in choice.scores])),
            Series("stability↑", "j", ks, [num(s.stability) for s in choice.scores]),
        )
        plot.x_label = "k · " + "  ".join(f"{item.marker} {item.label}" for item in series)
        plot.series = series


BEFORE_WEIGHTS = " (Scored before the within-segment weights.)"
"""Ends the reason when the fit shown is weighted; short enough to end the reason's last line
at 80 columns, so the plot keeps its rows."""
