"""Text bars for the profile and histograms for the detail screen: no plotting library needed.

Bars are made of characters (``█``, ``▏``), so they read the same with NO_COLOR; colour only adds
to them. Lift is drawn on a log scale around 1x: left of the axis is "less than everyone", right
is "more than everyone".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text
from textual.geometry import Size
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


def profile_head(title: str, traits: str) -> Text:
    """The profile's first lines: the segment's name in bold, its traits in italics below."""
    head = Text(title, style="bold")
    if traits:
        head.append("\n")
        head.append(traits, style="italic")
    return head


def profile_renderable(
    title: str, traits: str, lines: Sequence[FeatureLine], width: int, less: str, more: str
) -> Table:
    """The head above the profile table, in one grid."""
    outer = Table.grid(expand=False)
    outer.add_row(profile_head(title, traits))
    outer.add_row(profile_table(lines, width, less, more))
    return outer


NO_PROFILE = "Select a segment to see its profile."
COUNTED_WIDTH = 24
"""From this width up every table row is one line (checked against Rich at 8-140 columns in
tests/app/test_profile_height.py); narrower, the height is measured by rendering."""


def profile_height(
    title: str, traits: str, lines: Sequence[FeatureLine], width: int, console: Console
) -> int:
    """Lines :func:`profile_renderable` takes at ``width``, counted rather than rendered: the
    head wraps, and the table is a header and one line per feature (no column wraps)."""
    if width < COUNTED_WIDTH:
        table = profile_renderable(title, traits, lines, width, "", "")
        return len(console.render_lines(table, console.options.update_width(width), pad=False))
    return len(profile_head(title, traits).wrap(console, width)) + 1 + len(lines)


class ProfileView(Widget, can_focus=True):
    """The selected segment's profile: name, traits, and a lift bar per feature.

    Its height is counted, and its table built once per content and width: Textual measures a
    widget's height on every repaint, and rendering the table to measure it was the largest
    cost of a repaint of the explore screen.
    """

    DEFAULT_CSS = """
    ProfileView { height: auto; }
    """

    title: reactive[str] = reactive("", layout=True)
    traits: reactive[str] = reactive("", layout=True)
    lines: reactive[tuple[FeatureLine, ...]] = reactive((), always_update=True, layout=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._built: tuple[tuple[object, ...], Table] | None = None

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if not self.lines:
            return len(Text(NO_PROFILE).wrap(self.app.console, width))
        return profile_height(self.title, self.traits, self.lines, width, self.app.console)

    def render(self) -> Table | Text:
        if not self.lines:
            return Text(NO_PROFILE, style="dim")
        variables = self.app.theme_variables
        less = rich_color(variables.get("warning")) or ""
        more = rich_color(variables.get("success")) or ""
        width = self.content_size.width or 80
        key = (self.title, self.traits, self.lines, width, less, more)
        if self._built is None or self._built[0] != key:
            built = profile_renderable(self.title, self.traits, self.lines, width, less, more)
            self._built = (key, built)
        return self._built[1]
