"""Open/map: the detected layout and mapping as a table, changed by keyboard; a preview of the
first rows after mapping with rows that would be left out counted; save the mapping; continue."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static
from textual.worker import Worker, get_current_worker

from segtui.app.keys import bind
from segtui.app.messages import PreviewReady, ReportReady
from segtui.app.plain import plain, plain_cells
from segtui.app.screens.dialogs import PathScreen, PickScreen
from segtui.errors import InputError
from segtui.formatting import number

if TYPE_CHECKING:
    from segtui.app.app import SegtuiApp
    from segtui.ingest.events import LoadedEvents, LoadReport

NONE = "(none)"
DERIVED = "(derived)"
PREVIEW_ROWS = 20
PREVIEW_WIDTH = 40
"""A preview column is at most this wide (a long URL is cut, not the whole table pushed)."""


class MappingScreen(Screen[None]):
    """How the source columns became canonical ones; enter changes the selected row's source."""

    AUTO_FOCUS = "#mapping-table"
    BINDINGS = [  # noqa: RUF012
        bind(
            "enter",
            "change",
            "Change",
            id="mapping.change",
            tooltip="Pick the source column for the selected canonical column",
        ),
        bind(
            "s",
            "save_mapping",
            "Save mapping",
            id="mapping.save",
            tooltip="Save this mapping to a TOML file to reuse with --mapping",
        ),
        bind(
            "c,escape",
            "continue",
            "Continue",
            id="mapping.continue",
            tooltip="Go on to the segments",
        ),
        bind(
            "tab",
            "app.focus_next",
            "Next panel",
            id="mapping.next",
            tooltip="Move between mapping and preview",
            show=False,
        ),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="mapping-body"):
            yield Label("Mapping · how the source columns became events", classes="screen-title")
            yield Static("", id="mapping-decisions")
            yield Label("Mapping (enter changes the source column)", classes="section")
            yield DataTable(id="mapping-table", cursor_type="row", zebra_stripes=True)
            yield Label("Preview: first rows after mapping", classes="section")
            yield Static("", id="mapping-report")
            yield DataTable(id="preview-table", zebra_stripes=True)
        yield Footer(compact=True)

    @property
    def segtui(self) -> SegtuiApp:
        return cast("SegtuiApp", self.app)

    def on_mount(self) -> None:
        self.query_one("#mapping-table", DataTable).add_columns(
            "canonical", "source", "how decided"
        )
        self.watch(self.segtui, "dataset", self.show)

    def show(self) -> None:
        """Fill both tables from the app's current dataset (the preview comes from a worker)."""
        dataset = self.segtui.dataset
        if dataset is None:
            return
        loaded = dataset.loaded
        if loaded is None:
            self.query_one("#mapping-decisions", Static).update(
                Text("A users table (one row per user): there is no event mapping to review.")
            )
            return
        self.query_one("#mapping-decisions", Static).update(plain("\n".join(loaded.decisions[:4])))
        self._fill_mapping(loaded)
        self.query_one("#mapping-report", Static).update(
            Text("Reading the first rows…", style="dim")
        )
        self._preview(loaded)

    def _fill_mapping(self, loaded: LoadedEvents) -> None:
        from segtui.ingest.events import CANONICAL_SCHEMA

        table = self.query_one("#mapping-table", DataTable)
        keep = table.cursor_row
        table.clear()
        mapped = {canonical: (source, how) for canonical, source, how in loaded.mapping.table()}
        for canonical in CANONICAL_SCHEMA:
            if canonical in mapped:
                source, how = mapped[canonical]
                table.add_row(canonical, *plain_cells((source, how)), key=canonical)
            elif canonical in loaded.derived:
                how = loaded.derived[canonical]
                cells = (plain(DERIVED, style="italic"), plain(how, style="italic"))
                table.add_row(canonical, *cells, key=canonical)
            else:
                cells = (plain(NONE, style="dim"), plain("not mapped", style="dim"))
                table.add_row(canonical, *cells, key=canonical)
        table.move_cursor(row=min(keep, table.row_count - 1))

    @work(
        thread=True,
        exclusive=True,
        group="mapping-preview",
        exit_on_error=False,
        description="Reading the first rows",
    )
    def _preview(self, loaded: LoadedEvents) -> None:
        from segtui.ingest.events import preview

        frame = preview(loaded, PREVIEW_ROWS)
        if not get_current_worker().is_cancelled:
            self.post_message(PreviewReady(frame))

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        cast("SegtuiApp", self.app).worker_failed(event)  # its own failures reach the person

    @on(PreviewReady)
    def _show_preview(self, message: PreviewReady) -> None:
        frame = message.frame
        grid = self.query_one("#preview-table", DataTable)
        grid.clear(columns=True)
        columns = [c for c in frame.columns if c not in ("file",)]
        rows = [
            [plain("—", style="dim") if v is None else plain(v) for v in row]
            for row in frame.select(columns).iter_rows()
        ]
        # Widths from the cells themselves, set once: the table's own auto width follows rows
        # added on a later refresh, so a screen drawn in between showed clipped columns.
        for i, label in enumerate(plain_cells(columns)):
            widest = max([label.cell_len, *(row[i].cell_len for row in rows)])
            grid.add_column(label, width=min(widest, PREVIEW_WIDTH))
        for row in rows:
            grid.add_row(*row)
        dataset = self.segtui.dataset
        if dataset is None or dataset.loaded is None:
            return
        if dataset.report is not None:
            self._show_report(dataset.report)  # counted in the same pass as the features
            return
        failed = (
            frame.filter(frame["left_out"].is_not_null()).height
            if "left_out" in frame.columns
            else 0
        )
        self.query_one("#mapping-report", Static).update(
            Text(
                f"{failed} of the first {frame.height} rows would be left out · counting all rows…"
            )
        )
        self._count_rows(dataset.loaded)

    @work(
        thread=True,
        exclusive=True,
        group="mapping-report",
        exit_on_error=False,
        description="Counting rows",
    )
    def _count_rows(self, loaded: LoadedEvents) -> None:
        self.post_message(ReportReady(loaded.collect_report()))

    @on(ReportReady)
    def _report_ready(self, message: ReportReady) -> None:
        self._show_report(message.report)

    def _show_report(self, report: LoadReport) -> None:
        left = sum(item.count for item in report.left_out)
        text = Text(
            f"Rows read {number(report.rows_read)} · kept {number(report.rows_kept)} · "
            f"left out {number(left)}"
        )
        for item in report.left_out[:3]:
            text.append(f"\n  {item.line()}", style="italic")
        self.query_one("#mapping-report", Static).update(text)

    @on(DataTable.RowSelected, "#mapping-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_change()

    def action_change(self) -> None:
        dataset = self.segtui.dataset
        table = self.query_one("#mapping-table", DataTable)
        if dataset is None or dataset.loaded is None:
            return
        if not self.query_one("#mapping-table").has_focus:
            return
        canonical = str(table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value)
        columns = list(dataset.loaded.source.columns)
        current = dataset.loaded.mapping.columns.get(canonical)
        items = [("", NONE), *[(c, c) for c in columns]]

        def picked(source: str | None) -> None:
            if source is None or source == (current or ""):
                return
            if canonical in ("user_id", "ts") and not source:
                self.notify(f"{canonical} is required: pick a column for it.", severity="error")
                return
            self.notify(f"{canonical} ← {source or NONE}: reloading…", timeout=2)
            self.segtui.remap(canonical, source)

        self.app.push_screen(
            PickScreen(f"Source column for {canonical}", items, current or ""), picked
        )

    def action_save_mapping(self) -> None:
        from segtui.ingest.mapping import save_mapping

        dataset = self.segtui.dataset
        if dataset is None or dataset.loaded is None:
            return
        default = str(Path.cwd() / "mapping.toml")

        def chosen(path: str | None) -> None:
            if not path:
                return
            try:
                written = save_mapping(dataset.loaded.mapping, path)
            except InputError as error:
                self.notify(error.describe(), severity="error", timeout=8)
                return
            self.notify(f"Saved mapping to {written} (reuse with --mapping {written})", timeout=4)

        self.app.push_screen(PathScreen("Save mapping to (.toml or .json)", default), chosen)

    def action_continue(self) -> None:
        self.dismiss(None)
