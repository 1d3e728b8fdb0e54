"""Text bars for the profile and histograms for the detail screen: no plotting library needed.

Bars are made of characters (``█``, ``▏``), so they read the same with NO_COLOR; colour only adds
to them. Lift is drawn on a log scale around 1x: left of the axis is "less than everyone", right
is "more than everyone".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from segtui.app.plain import plain
from segtui.app.widgets.scatter import rich_color
from segtui.formatting import MISSING, fixed, number

BLOCKS = " ▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class FeatureLine:
    """One feature of one segment: its mean, everyone's mean, and the lift between them."""

    name: str
    mean: float | None
    overall: float | None
    lift: float | None


def lift_bar(lift: float | None, half: int, less: str = "", more: str = "") -> Text:
    """A bar of ``2*half+1`` cells: ``│`` is 1x; each cell out is a doubling (or halving)."""
    text = Text()
    if lift is None or not math.isfinite(lift) or lift <= 0:
        amount = -half if lift == 0 else 0
    else:
        amount = max(-half, min(half, round(math.log2(lift) * 2)))
    left = "█" * -amount if amount < 0 else ""
    right = "█" * amount if amount > 0 else ""
    text.append(" " * (half - len(left)))
    text.append(left, style=less)
    text.append("│", style="dim")
    text.append(right, style=more)
    text.append(" " * (half - len(right)))
    return text


def profile_table(
    lines: Sequence[FeatureLine], width: int, less: str = "", more: str = ""
) -> Table:
    """Per-feature mean, everyone's mean, lift as a number and as a bar."""
    half = max(3, min(10, (width - 44) // 2))
    table = Table(box=None, pad_edge=False, padding=(0, 1), expand=False, show_edge=False)
    table.add_column("feature", no_wrap=True, overflow="ellipsis", max_width=22)
    table.add_column("mean", justify="right", no_wrap=True)
    table.add_column("all", justify="right", no_wrap=True, style="dim")
    table.add_column("lift", justify="right", no_wrap=True)
    table.add_column(f"{'less':<{half}}│{'more':>{half}}", no_wrap=True)
    for line in lines:
        lift = fixed(line.lift, ".1f")
        table.add_row(
            plain(line.name),
            number(line.mean),
            number(line.overall),
            lift if lift == MISSING else f"{lift}x",
            lift_bar(line.lift, half, less, more),
        )
    return table


def histogram_pair(
    segment: np.ndarray, everyone: np.ndarray, bins: int = 16
) -> tuple[str, str, float, float]:
    """Two block sparklines on the same bins (each scaled to its own peak), and the bin range."""
    values = everyone[np.isfinite(everyone)]
    seg = segment[np.isfinite(segment)]
    if values.size == 0:
        return "", "", float("nan"), float("nan")
    low, high = (
        np.quantile(values, [0.0, 0.99]) if values.size > 10 else (values.min(), values.max())
    )
    if high <= low:
        high = low + 1.0
    edges = np.linspace(low, high, bins + 1)

    def spark(data: np.ndarray) -> str:
        counts, _ = np.histogram(np.clip(data, low, high), bins=edges)
        peak = counts.max() if counts.size and counts.max() > 0 else 1
        return "".join(BLOCKS[round(float(c) / peak * (len(BLOCKS) - 1))] for c in counts)

    return spark(seg), spark(values), float(low), float(high)


class ProfileView(Widget, can_focus=True):
    """The selected segment's profile: name, traits, and a lift bar per feature."""

    DEFAULT_CSS = """
    ProfileView { height: auto; }
    """

    title: reactive[str] = reactive("", layout=True)
    traits: reactive[str] = reactive("", layout=True)
    lines: reactive[tuple[FeatureLine, ...]] = reactive((), always_update=True, layout=True)

    def render(self) -> Table | Text:
        if not self.lines:
            return Text("Select a segment to see its profile.", style="dim")
        outer = Table.grid(expand=False)
        head = Text(self.title, style="bold")
        if self.traits:
            head.append("\n")
            head.append(self.traits, style="italic")
        outer.add_row(head)
        variables = self.app.theme_variables
        outer.add_row(
            profile_table(
                self.lines,
                self.content_size.width or 80,
                rich_color(variables.get("warning")) or "",
                rich_color(variables.get("success")) or "",
            )
        )
        return outer
