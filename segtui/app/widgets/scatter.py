"""The only place segtui touches plotext (6.x, the rewrite): a scatter (PCA or t-SNE) and a small
line plot.

plotext draws a colourless character picture of the right size; this widget then colours the
canvas cells itself from the Textual theme, one colour and one distinct marker per segment, so the
plot follows the theme and stays readable with NO_COLOR (markers differ, the selected segment is
drawn last, bold and reversed). plotext's module-level figure is never used: each render builds
its own ``plot_class`` so renders never share state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from plotext._kernel.api import terminal as _plotext_terminal
from plotext._plotter.plot import plot_class
from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from segtui.app.widgets.clip import clip
from segtui.formatting import percent

MARKERS = "ox+*#@%&=~^$"
"""One marker per segment; letters follow when there are more segments than symbols."""


def rich_color(value: str | None) -> str | None:
    """A theme colour as Rich reads it: ANSI theme names (``ansi_blue``) lose their prefix."""
    if not value:
        return None
    if value.startswith("ansi_"):
        name = value[len("ansi_") :]
        return None if name == "default" else name
    return value


def marker_for(position: int) -> str:
    """The marker of the segment shown at ``position`` (stable for a given order of segments)."""
    if position < len(MARKERS):
        return MARKERS[position]
    return "abcdefghijklmnpqrstuvwyz"[(position - len(MARKERS)) % 24]


@dataclass
class ScatterData:
    """What the scatter shows: display points, their segment ids, and the segments' names."""

    x: np.ndarray
    y: np.ndarray
    segment_ids: np.ndarray
    segments: list[tuple[int, str]]
    explained: tuple[float, float] = (0.0, 0.0)
    note: str = ""
    by_id: dict[int, int] = field(default_factory=dict)
    kind: str = "pca"
    """"pca" (axes say the share of variance) or "tsne" (a sample; axes have no units)."""
    title: str = ""
    """A line over the picture (plain text); the PCA needs none, its axes say what it is."""

    def __post_init__(self) -> None:
        self.by_id = {seg_id: position for position, (seg_id, _) in enumerate(self.segments)}


def _new_plot(width: int, height: int) -> plot_class:
    plot = plot_class(_plotext_terminal)
    plot.plot_size(max(width, 10), max(height, 5))
    return plot


def _canvas_bounds(lines: list[str]) -> tuple[int, int]:
    """Row range of the plot's canvas (inside the frame), so only points get coloured."""
    top = next((i for i, line in enumerate(lines) if "┌" in line), -1)
    bottom = next((i for i, line in enumerate(lines) if "└" in line), len(lines))
    return top + 1, bottom


def render_scatter(
    data: ScatterData,
    width: int,
    height: int,
    selected: int | None,
    colors: Sequence[str],
    highlight: str | None,
) -> Text:
    """Draw the scatter as Rich Text: plotext for the picture, the theme for the colours."""
    plot = _new_plot(width, height)
    order = [seg_id for seg_id, _ in data.segments if seg_id != selected]
    if selected is not None and selected in data.by_id:
        order.append(selected)  # drawn last: on top of the others
    for seg_id in order:
        mask = data.segment_ids == seg_id
        if not mask.any():
            continue
        marker = marker_for(data.by_id[seg_id])
        plot.draw(plot.signal(data.x[mask].tolist(), data.y[mask].tolist(), marker=marker))
    if data.kind == "tsne":
        x_label, y_label = "t-SNE 1", "t-SNE 2"
    else:
        ex, ey = data.explained
        x_label, y_label = f"PC1 ({percent(ex)} of variance)", f"PC2 ({percent(ey)})"
    # plotext writes the y label under the x axis, on the x label's line: the y label goes
    # into the frame's top edge instead, over the axis it names.
    plot.label(x_label, axis="x")
    plot.legend(active=False)
    # plotext ends its picture with a newline: without this the line under it (the note) is lost
    lines = plot.build().string(colorless=True).rstrip("\n").split("\n")
    lines = label_top_edge(lines, f"↑ {y_label}")
    marker_style: dict[str, Style] = {}
    for seg_id, _ in data.segments:
        position = data.by_id[seg_id]
        color = colors[position % len(colors)] if colors else None
        if seg_id == selected:
            marker_style[marker_for(position)] = Style(
                color=highlight or None, bold=True, reverse=True
            )
        else:
            marker_style[marker_for(position)] = Style(color=color, dim=selected is not None)
    top, bottom = _canvas_bounds(lines)
    text = Text(no_wrap=True, overflow="crop")
    for row, line in enumerate(lines):
        if top <= row < bottom:
            left = max(line.find("┤"), line.find("│"))
            right = line.rfind("│")
            for col, char in enumerate(line):
                style = marker_style.get(char) if left < col < right else None
                text.append(char, style)
        else:
            text.append(line)
        if row < len(lines) - 1:
            text.append("\n")
    return text


def label_top_edge(lines: list[str], label: str) -> list[str]:
    """The frame's top edge with ``label`` written over it: ``┌─ ↑ PC2 (14%) ────┐``."""
    for row, line in enumerate(lines):
        start = line.find("┌")
        end = line.rfind("┐")
        if start < 0 or end < 0:
            continue
        room = end - start - 3
        if room < 4:
            return lines
        shown = f" {clip(label, room - 2, sep='')} "
        out = list(lines)
        out[row] = line[: start + 2] + shown + line[start + 2 + len(shown) :]
        return out
    return lines


def legend_entries(
    data: ScatterData,
    selected: int | None,
    colors: Sequence[str],
    highlight: str,
    width: int | None = None,
) -> list[Text]:
    """One entry per segment: its marker and name (cut at a word to ``width`` cells); the
    selected one reversed."""
    entries = []
    for seg_id, name in data.segments:
        position = data.by_id[seg_id]
        marker = marker_for(position)
        if seg_id == selected:
            style = Style(color=highlight or None, bold=True, reverse=True)
        else:
            style = Style(color=colors[position % len(colors)] if colors else None)
        entry = Text(no_wrap=True, overflow="crop")
        entry.append(f" {marker} ", style)
        entry.append(name if width is None else clip(name, max(1, width - 3), sep=""))
        entries.append(entry)
    return entries


def legend(
    data: ScatterData,
    selected: int | None,
    colors: Sequence[str],
    highlight: str,
    width: int = 80,
) -> Text:
    """Entries packed into lines of ``width`` cells, a line breaking only between entries."""
    text = Text(no_wrap=True, overflow="crop")
    used = 0
    for entry in legend_entries(data, selected, colors, highlight, width):
        gap = 2 if used else 0
        if used and used + gap + entry.cell_len > width:
            text.append("\n")
            used, gap = 0, 0
        text.append(" " * gap)
        text.append(entry)
        used += gap + entry.cell_len
    return text


LEGEND_SIDE_MAX = 26
"""Widest the legend column beside the plot gets (names are cut at a word past it)."""


def side_by_side(picture: Text, column: list[Text], width: int) -> Text:
    """``column``'s lines to the right of ``picture``'s, the column ``width`` cells wide."""
    lines = picture.split("\n", allow_blank=True)
    out = Text(no_wrap=True, overflow="crop")
    for row, line in enumerate(lines):
        out.append(line)
        if row < len(column):
            out.append(" ")
            out.append(column[row])
        if row < len(lines) - 1:
            out.append("\n")
    return out


class ScatterPlot(Widget):
    """The scatter of users (PCA or t-SNE), one marker per segment, the selected one highlighted."""

    DEFAULT_CSS = """
    ScatterPlot { height: 1fr; min-height: 8; }
    """

    selected: reactive[int | None] = reactive(None)
    data: reactive[ScatterData | None] = reactive(None, always_update=True)

    PALETTE_VARIABLES = ("primary", "accent", "success", "warning", "secondary", "error")

    def _colors(self) -> tuple[list[str], str]:
        variables = self.app.theme_variables
        colors = [rich_color(variables.get(name)) for name in self.PALETTE_VARIABLES]
        return [c for c in colors if c], rich_color(variables.get("foreground")) or ""

    def render(self) -> Text:
        if self.data is None or len(self.data.x) == 0:
            return Text("No fit yet: the scatter appears when segments are ready.", style="dim")
        colors, highlight = self._colors()
        width, height = self.content_size.width, self.content_size.height
        title_lines = _lines(self.data.title, width)
        note_lines = _lines(self.data.note, width)
        plot_height = height - title_lines - note_lines
        # The legend goes beside the plot, one segment a line, when the rows and columns allow
        # (80 columns, a handful of segments); else under it, broken between entries only.
        names = max(len(name) for _, name in self.data.segments) if self.data.segments else 0
        side = min(LEGEND_SIDE_MAX, names + 3)
        beside = len(self.data.segments) <= plot_height - 2 and width - side - 1 >= 40
        legend_text = Text()
        if beside:
            column = legend_entries(self.data, self.selected, colors, highlight, side)
            plot_width = width - side - 1
        else:
            legend_text = legend(self.data, self.selected, colors, highlight, width)
            plot_height -= len(legend_text.split("\n"))
            plot_width = width
        picture = Text(no_wrap=True, overflow="crop")
        if title_lines:
            picture.append(self.data.title, style="bold")
            picture.append("\n")
        plot = render_scatter(self.data, plot_width, plot_height, self.selected, colors, highlight)
        if beside:
            plot = side_by_side(plot, [Text(), *column], side)
        picture.append(plot)
        if not beside:
            picture.append("\n")
            picture.append(legend_text)
        if self.data.note:
            picture.append("\n")
            picture.append(self.data.note, style="dim")
        return picture


def _lines(text: str, width: int) -> int:
    """Rows ``text`` takes when wrapped at ``width`` (0 for no text)."""
    return -(-Text(text).cell_len // max(width, 1)) if text else 0


@dataclass
class Series:
    """One line of a line plot: a label, its marker, and y per x."""

    label: str
    marker: str
    x: list[float]
    y: list[float]


def render_lines(
    series: Sequence[Series], width: int, height: int, x_label: str, mark_x: float | None
) -> Text:
    """A small line plot (the k sweep) as plain Text, markers telling the lines apart; the x
    label (which names the markers) under it, wrapped between its items rather than dropped."""
    label_lines = pack(x_label.split("  "), max(width, 1))
    plot = _new_plot(width, height - len(label_lines))
    for item in series:
        points = [(x, y) for x, y in zip(item.x, item.y, strict=True) if np.isfinite(y)]
        if not points:
            continue
        signal = plot.signal([p[0] for p in points], [p[1] for p in points], marker=item.marker)
        signal.lines()  # no legend box: it hides half of a small plot; x_label names the markers
        plot.draw(signal)
    xs = sorted({x for item in series for x in item.x})
    if xs and all(float(x).is_integer() for x in xs):
        # k is a whole number: ticks on the ks themselves, thinned to fit the width
        step = max(1, -(-len(xs) * 4 // max(width - 6, 1)))
        ticks = xs[::step]
        ruler = plot.ruler("x")
        ruler.ticks(ticks, [f"{x:g}" for x in ticks])
        ruler.lim(xs[0] - 0.4, xs[-1] + 0.4)
    if mark_x is not None:
        plot.title(f"suggested k = {mark_x:g}")
    picture = plot.build().string(colorless=True).rstrip("\n")
    return Text("\n".join([picture, *label_lines]), no_wrap=True, overflow="crop")


def pack(items: Sequence[str], width: int, gap: str = "  ") -> list[str]:
    """``items`` joined by ``gap`` into lines of at most ``width`` cells, breaking only between
    items (an item longer than a line gets a line of its own, cut at a word)."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + len(gap) + len(item) <= width:
            lines[-1] += gap + item
        else:
            lines.append(clip(item, width, sep=""))
    return lines


class LinePlot(Widget):
    """A small plotext line plot; used for the k sweep (metrics scaled to 0..1)."""

    DEFAULT_CSS = """
    LinePlot { height: 1fr; min-height: 6; }
    """

    series: reactive[tuple[Series, ...]] = reactive((), always_update=True)
    mark_x: reactive[float | None] = reactive(None)
    x_label: reactive[str] = reactive("k")

    def render(self) -> Text:
        if not self.series:
            return Text("No sweep yet: press w to run a k sweep.", style="dim")
        return render_lines(
            self.series,
            self.content_size.width,
            self.content_size.height,
            self.x_label,
            self.mark_x,
        )
