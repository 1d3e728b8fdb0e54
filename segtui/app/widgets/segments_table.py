"""The segments table: name, size, share, stability and top traits, sortable, with marks and
carry-to-merge. Stability (clusterboot Jaccard) shows "…" until its worker reports; a "!" marks a
segment flagged as over-segmentation (tiny, unstable or indistinguishable).

Merging is one gesture for mouse and keyboard alike: drag a row onto another with the mouse, or
pick a row up (``p``), move with the arrows and drop it with ``enter``. While a segment is carried
the table shows it (``⇡`` on the carried row, ``⇣`` on the row it would land on) and posts
``CarryChanged`` so the screen can say it in words too.

| key | action |
|---|---|
| space | mark / unmark the segment (merge several at once with ``M``) |
| p | pick the segment up to merge it into another |
| enter | drop the carried segment here (or open the segment's detail) |
| escape | put the carried segment back |
| o | sort by the next column |
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import DataTable

from segtui.app.keys import bind
from segtui.app.widgets.clip import clip
from segtui.formatting import number, percent


@dataclass(frozen=True)
class SegmentRow:
    """One segment as the table shows it."""

    id: int
    name: str
    size: int
    share: float
    traits: str
    is_rule: bool = False
    is_noise: bool = False
    stability: str = "…"
    """The segment's stability as shown: "0.91", "0.52!" (flagged), "…" (being measured), "-"."""


SORTS = ("size", "name", "share", "id")

SORT_SHOWN = {
    "size": ("size", "Users ▼", "users, largest first"),
    "name": ("name", "Segment ▲", "name, A to Z"),
    "share": ("share", "Share ▼", "share, largest first"),
    "id": ("name", "Segment (id ▲)", "segment id, in the fit's order"),
}
"""Per sort: the column whose header says it, that header, and the words for the person."""

HEADERS = {"mark": " ", "name": "Segment", "size": "Users", "share": "Share"}

TRAITS_MIN = 24
"""Cells the traits column keeps before long names are cut (one trait, most of the time)."""


class SegmentsTable(DataTable):
    """Segments, one per row; the cursor row is the selected segment everywhere in the app."""

    BINDINGS = [  # noqa: RUF012
        bind(
            "space",
            "toggle_mark",
            "Mark",
            id="table.mark",
            tooltip="Mark or unmark this segment (merge marked with M)",
            show=False,
        ),
        bind(
            "p",
            "pick_up",
            "Pick up",
            id="table.pick",
            tooltip="Pick this segment up; move with arrows, drop on another with enter to merge",
        ),
        bind(
            "enter",
            "select_cursor",
            "Drop/open",
            id="table.drop",
            tooltip="Drop the carried segment here (merge), or open this segment's detail",
            show=False,
        ),
        bind(
            "escape",
            "cancel_carry",
            "Put back",
            id="table.cancel",
            tooltip="Put the carried segment back without merging",
            show=False,
        ),
        bind(
            "o",
            "cycle_sort",
            "Sort",
            id="table.sort",
            tooltip="Sort by size, name, share or id (the sorted column's header says which)",
            show=False,
        ),
    ]

    @dataclass
    class MergeRequested(Message):
        """Merge ``sources`` into ``target`` (a drop, or a merge of marked rows)."""

        sources: list[int]
        target: int

    @dataclass
    class CarryChanged(Message):
        """What is carried (None when nothing) and where it would land."""

        carried: SegmentRow | None
        target: SegmentRow | None

    @dataclass
    class Selected(Message):
        """The cursor moved to another segment."""

        segment_id: int | None

    @dataclass
    class Opened(Message):
        """Enter on a segment with nothing carried: open its detail."""

        segment_id: int

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.rows_data: list[SegmentRow] = []
        self.marked: set[int] = set()
        self.carried: int | None = None
        self.sort_by = "size"
        self._drag_from: int | None = None
        self._drag_over: int | None = None

    def on_mount(self) -> None:
        self.add_column(" ", key="mark", width=2)
        self.add_column("Segment", key="name")
        self.add_column("Users", key="size")
        self.add_column("Share", key="share")
        self.add_column("Stab.", key="stability")
        self.add_column("Top traits", key="traits")

    # ----- data ---------------------------------------------------------------------------

    @property
    def current_id(self) -> int | None:
        """The segment under the cursor."""
        if not self.rows_data or self.cursor_row < 0 or self.cursor_row >= self.row_count:
            return None
        key = self.coordinate_to_cell_key((self.cursor_row, 0)).row_key.value
        return int(key) if key is not None else None

    def row_for(self, segment_id: int | None) -> SegmentRow | None:
        return next((row for row in self.rows_data if row.id == segment_id), None)

    def _sorted(self) -> list[SegmentRow]:
        rows = list(self.rows_data)
        if self.sort_by == "name":
            rows.sort(key=lambda r: (r.is_noise, r.name.lower()))
        elif self.sort_by in ("size", "share"):
            rows.sort(key=lambda r: (r.is_noise, -r.size, r.id))
        else:
            rows.sort(key=lambda r: r.id)
        return rows

    @property
    def order(self) -> list[int]:
        """The segment ids top to bottom, as the table shows them now."""
        return [row.id for row in self._sorted()]

    def select(self, segment_id: int) -> None:
        """Put the cursor on ``segment_id`` when it is shown."""
        if segment_id in self.order:
            self.move_cursor(row=self.order.index(segment_id), animate=False)

    def show_rows(self, rows: list[SegmentRow], select: int | None = None) -> None:
        """Replace the rows, keeping the cursor on ``select`` (or the same segment) when present."""
        keep = select if select is not None else self.current_id
        self.rows_data = rows
        ids = {row.id for row in rows}
        self.marked &= ids
        if self.carried not in ids:
            self.carried = None
        self._redraw(keep)

    def _cells(
        self, row: SegmentRow, target: int | None, widths: tuple[int, int] | None = None
    ) -> list[object]:
        """The row's cells; ``widths`` (name, traits) cut those two at word boundaries."""
        if self.carried == row.id:
            mark = Text("⇡", style="bold")
        elif self.carried is not None and target == row.id:
            mark = Text("⇣", style="bold")
        elif row.id in self.marked:
            mark = Text("✓", style="bold")
        else:
            mark = Text(" ")
        suffix = " (rule)" if row.is_rule else ""
        name_text, traits_text = row.name, row.traits
        if widths is not None:
            name_text = clip(row.name, max(1, widths[0] - len(suffix)), sep="")
            traits_text = clip(row.traits, widths[1])
        name = Text(name_text)
        if suffix:
            name.append(suffix, style="italic dim")
        return [
            mark,
            name,
            Text(number(row.size), justify="right"),
            Text(percent(row.share), justify="right"),
            Text(row.stability, justify="right", style="bold" if "!" in row.stability else ""),
            Text(traits_text, overflow="ellipsis", no_wrap=True),
        ]

    def _fit_widths(self, rows: list[SegmentRow]) -> tuple[int, int] | None:
        """(name, traits) widths that fit the table's width, or None when everything fits:
        traits keep ``TRAITS_MIN`` cells before long names are cut."""
        if self.size.width <= 0 or not rows:
            return None
        # From the size, not the region inside the scrollbars: a scrollbar that appears after
        # the rows are added sends no resize. A resize (a taller table) redraws.
        scrolls = len(rows) + (self.header_height if self.show_header else 0) > self.size.height
        width = self.size.width - (self.styles.scrollbar_size_vertical if scrolls else 0)
        full = [self._cells(row, None) for row in rows]
        fixed = 0
        for index, column in enumerate(self.ordered_columns):
            if str(column.key.value) not in ("name", "traits"):
                cells = [cells[index].cell_len for cells in full if isinstance(cells[index], Text)]
                fixed += (
                    column.width if not column.auto_width else max([column.label.cell_len, *cells])
                )
        rest = width - fixed - 2 * self.cell_padding * len(self.ordered_columns)
        labels = {str(c.key.value): c.label.cell_len for c in self.ordered_columns}
        name_w = max(labels["name"], *(cells[1].cell_len for cells in full))
        traits_w = max(labels["traits"], *(cells[-1].cell_len for cells in full))
        if name_w + traits_w <= rest:
            return None
        name_w = min(name_w, max(16, rest - min(traits_w, TRAITS_MIN)))
        return name_w, max(10, rest - name_w)

    def _label_sort(self) -> None:
        """The sorted column's header says the sort and its direction."""
        column_key, header, _ = SORT_SHOWN[self.sort_by]
        for column in self.ordered_columns:
            key = str(column.key.value)
            if key in HEADERS:
                column.label = Text(header if key == column_key else HEADERS[key])

    @property
    def sort_words(self) -> str:
        """The sort as words: 'users, largest first'."""
        return SORT_SHOWN[self.sort_by][2]

    def _redraw(self, keep: int | None) -> None:
        target = self._drop_target()
        self.clear()
        self._label_sort()
        rows = self._sorted()
        widths = self._fit_widths(rows)
        cells = [self._cells(row, target, widths) for row in rows]
        # Size the columns now rather than on the DataTable's next idle: a frame painted before
        # that idle showed the first rows cut to the header's width. Sizing from scratch also
        # shrinks a column back when a long name from an older fit is gone.
        for index, column in enumerate(self.ordered_columns):
            if column.auto_width:
                widths = [row[index].cell_len for row in cells if isinstance(row[index], Text)]
                column.content_width = max([column.label.cell_len, *widths])
        for row, row_cells in zip(rows, cells, strict=True):
            self.add_row(*row_cells, key=str(row.id))
        if keep is not None:
            for index, row in enumerate(self._sorted()):
                if row.id == keep:
                    self.move_cursor(row=index, animate=False)
                    break

    def on_resize(self) -> None:
        if self.rows_data:
            self._redraw(self.current_id)

    def _refresh_marks(self) -> None:
        target = self._drop_target()
        for row in self.rows_data:
            self.update_cell(str(row.id), "mark", self._cells(row, target)[0])

    def _drop_target(self) -> int | None:
        if self._drag_from is not None:
            return self._drag_over
        if self.carried is None:
            return None
        current = self.current_id if self.rows_data else None
        return current if current != self.carried else None

    # ----- keyboard -----------------------------------------------------------------------

    def watch_cursor_coordinate(self, old, new) -> None:  # type: ignore[override]
        super().watch_cursor_coordinate(old, new)
        if self.rows_data:
            self.post_message(self.Selected(self.current_id))
            if self.carried is not None:
                self._refresh_marks()
                self._announce()

    def action_toggle_mark(self) -> None:
        current = self.current_id
        if current is None:
            return
        self.marked ^= {current}
        self._refresh_marks()

    def action_pick_up(self) -> None:
        current = self.current_id
        if current is None:
            return
        self.carried = None if self.carried == current else current
        self._refresh_marks()
        self._announce()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Escape only belongs to the table while something is carried or marked; otherwise it
        # bubbles up to the screen.
        if action == "cancel_carry":
            return self.carried is not None or bool(self.marked)
        return True

    def action_cancel_carry(self) -> None:
        self.carried = None
        self.marked.clear()
        self._refresh_marks()
        self._announce()

    def action_select_cursor(self) -> None:
        current = self.current_id
        if current is None:
            return
        if self.carried is not None:
            source, self.carried = self.carried, None
            self._refresh_marks()
            self._announce()
            if source != current:
                self.post_message(self.MergeRequested([source], current))
            return
        self.post_message(self.Opened(current))

    def action_cycle_sort(self) -> None:
        self.sort_by = SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)]
        self.notify(f"Sorted by {self.sort_words}", timeout=2)
        self._redraw(self.current_id)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        by_column = {"name": "name", "size": "size", "share": "share", "mark": "id"}
        self.sort_by = by_column.get(str(event.column_key.value), "size")
        self._redraw(self.current_id)

    def _announce(self) -> None:
        carried = self.row_for(self._drag_from if self._drag_from is not None else self.carried)
        self.post_message(self.CarryChanged(carried, self.row_for(self._drop_target())))

    # ----- mouse drag ---------------------------------------------------------------------

    def _row_at(self, event: events.MouseEvent) -> int | None:
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        index = offset.y + int(self.scroll_y) - (self.header_height if self.show_header else 0)
        rows = self._sorted()
        if offset.y < (self.header_height if self.show_header else 0) or not (
            0 <= index < len(rows)
        ):
            return None
        return rows[index].id

    def on_mouse_down(self, event: events.MouseDown) -> None:
        if event.button != 1:
            return
        self._drag_from = self._row_at(event)
        self._drag_over = None
        if self._drag_from is not None:
            self.capture_mouse()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._drag_from is None:
            return
        over = self._row_at(event)
        over = over if over != self._drag_from else None
        if over != self._drag_over:
            self._drag_over = over
            self._refresh_marks()
            self._announce()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        source, self._drag_from = self._drag_from, None
        self.release_mouse()
        if source is None:
            return
        target = self._row_at(event)
        self._drag_over = None
        self._refresh_marks()
        self._announce()
        if target is not None and target != source:
            self.post_message(self.MergeRequested([source], target))
