"""The live view of a watch state (``segtui open STATE``): sizes, moves, drift, refit now.

Every few seconds a thread worker asks the state for its mark (the ledger's last batch and the
model version, one small query); only when the mark moved does it read the whole history
(:func:`segtui.watch.history.history`) and the screen redraw. Reads retry while a ``watch run``
writes a batch; one that times out leaves the last picture up with a note, and the next tick
tries again. The UI thread never touches the database. Segment names, user ids, reasons and the
path are data: they reach the screen through :func:`segtui.app.plain.plain` only.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static
from textual.worker import Worker, WorkerState

from segtui.app.keys import bind
from segtui.app.plain import plain, plain_cells
from segtui.errors import InputError
from segtui.formatting import number
from segtui.watch.history import RECENT_BATCHES, History, Mark, history, mark

if TYPE_CHECKING:
    from segtui.app.app import SegtuiApp

REFRESH_SECONDS = 2.0
READ_RETRY_SECONDS = 5.0
"""How long one read waits for a batch being written before the screen says so."""
BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """Eight-level bars of ``values`` between their own minimum and maximum (flat: the middle)."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return BARS[3] * len(values)
    top = len(BARS) - 1
    return "".join(BARS[round((v - low) / (high - low) * top)] for v in values)


def change(sizes: tuple[int, ...]) -> str:
    """The size change over the last batch: '+4', '-3', '0' ('' with one batch)."""
    if len(sizes) < 2:
        return ""
    delta = sizes[-1] - sizes[-2]
    return f"{delta:+d}" if delta else "0"


def when(iso: str | None) -> str:
    """An ISO instant as 'YYYY-MM-DD HH:MM:SS' (UTC, as stored), '-' when there is none."""
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


def _fixed(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def header_lines(shown: History) -> tuple[str, str]:
    """The two header lines: the state and its counts; the last batch and the reference time."""
    info = shown.status
    first = (  # the path last: it is what an 80-column line cuts
        f"Watch · {number(info['users'])} users · {number(info['batches'])} batches · "
        f"{number(info['moves'])} moves · model v{info['model_version']} · {info['state']}"
    )
    last = info["last_batch"]
    second = (
        f"last batch {last} ({info['last_source']}) at {when(info['last_batch_at'])} · "
        f"reference {when(info['reference_time'])}"
        if last
        else f"no batch yet (history only) · reference {when(info['reference_time'])}"
    )
    return first, second


def drift_title(shown: History) -> str:
    """'Drift · refit off', or the PSI a refit happens at."""
    threshold = shown.refit_drift
    return "Drift · refit off" if threshold is None else f"Drift · refit at psi > {threshold:g}"


def drift_line(shown: History) -> str:
    """'Drift · refit off · psi 0.002 ▁█ · distance 5.279 █▁ (batches 1-2)': the newest batch's
    PSI and mean distance to the nearest center, with their series over the recent batches."""
    drift = shown.drift
    title = drift_title(shown)
    if not drift:
        return f"{title} · no batch yet"
    last = drift[-1]
    psi = [d.psi or 0.0 for d in drift]
    distance = [d.mean_distance or 0.0 for d in drift]
    over = " (over: refit due)" if last.over else ""
    span = f"batch {last.batch}" if len(drift) == 1 else f"batches {drift[0].batch}-{last.batch}"
    return (
        f"{title} · psi {_fixed(last.psi)}{over} {sparkline(psi)} · "
        f"distance {_fixed(last.mean_distance)} {sparkline(distance)} ({span})"
    )


def move_text(move: dict) -> str:
    """One move in full: 'u1 (batch 3): Browsers -> Searchers: search_share 0.1 -> 0.5'."""
    return (
        f"{move['user_id']} (batch {move['batch']}): {move['from_segment'] or '-'} -> "
        f"{move['to_segment'] or '-'}: {move['reason'] or ''}"
    )


SEGMENT_COLUMNS = (("size", 9), ("share", 6), ("Δ", 6), ("trend", RECENT_BATCHES), ("segment", 40))
DRIFT_COLUMNS = (("batch", 6), ("psi", 8), ("dist", 8), ("moves", 6))
MOVE_COLUMNS = (("batch", 6), ("user", 16), ("from", 16), ("to", 16), ("why", 160))
"""Each table's columns: label and widest width (a longer cell ends in "…"; the line under
the moves shows the highlighted move in full)."""


def fill(
    table: DataTable,
    columns: Sequence[tuple[str, int]],
    rows: list[list[object]],
    keep_row: int = 0,
) -> None:
    """Replace a table's columns and rows, column widths set from the cells themselves (the
    table's own auto widths follow rows a refresh later: a screen drawn in between showed
    clipped columns). ``keep_row`` puts the cursor back (-1: the last row)."""
    cells = [plain_cells(row) for row in rows]
    table.clear(columns=True)
    for i, (label, widest) in enumerate(columns):
        shown = plain(label)
        width = max([shown.cell_len, *(row[i].cell_len for row in cells)])
        table.add_column(shown, width=min(width, widest), key=label)
    for row in cells:
        for cell, (_, widest) in zip(row, columns, strict=True):
            cell.truncate(widest, overflow="ellipsis")  # a cut name shows it is cut
        table.add_row(*row)
    if table.row_count:
        row = table.row_count - 1 if keep_row < 0 else min(keep_row, table.row_count - 1)
        table.move_cursor(row=row)


@dataclass
class WatchRead(Message):
    """A worker read the state at a new mark."""

    history: History


@dataclass
class WatchUnchanged(Message):
    """A worker found the mark where it was."""


@dataclass
class WatchBusy(Message):
    """A read failed (the state stayed locked, or went away): what to tell the person."""

    text: str


@dataclass
class RefitDone(Message):
    text: str
    failed: bool


@dataclass
class LabelsExported(Message):
    text: str
    failed: bool


class WatchScreen(Screen[None]):
    """A watch state, live: segments with their recent sizes, drift per batch, latest moves."""

    DEFAULT_CSS = """
    WatchScreen #watch-header {
        height: 2; padding: 0 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis;
    }
    WatchScreen #watch-top { height: auto; max-height: 11; }
    WatchScreen #watch-segments { width: 1fr; height: auto; max-height: 11; }
    WatchScreen #watch-drift-box { width: 33; height: auto; max-height: 11; }
    WatchScreen.-narrow #watch-drift-box { display: none; }
    WatchScreen #watch-drift { height: auto; max-height: 10; }
    WatchScreen .watch-section { height: 1; padding: 0 1; text-style: bold; }
    WatchScreen #watch-drift-line { height: 1; padding: 0 1; text-wrap: nowrap; }
    WatchScreen #watch-moves { height: 1fr; min-height: 4; }
    WatchScreen #watch-why { height: 2; padding: 0 1; color: $text-muted; }
    WatchScreen #watch-status-line { height: auto; max-height: 3; background: $panel; }
    WatchScreen #watch-status { width: 1fr; height: auto; padding: 0 1; }
    WatchScreen.-error #watch-status { color: $text-error; }
    """
    CSS = """
    .-no-color WatchScreen DataTable > .datatable--cursor { text-style: bold; }
    .-no-color WatchScreen DataTable:focus > .datatable--cursor { text-style: reverse bold; }
    """
    """NO_COLOR: only the focused table's row is reversed. The app's rule reverses every
    table's cursor row and Textual's own focused style wins over it, so the table the arrows
    moved showed less than the other; as ``CSS`` (not default CSS) these win over both."""
    SCOPED_CSS = False  # the rules above start at the app (``.-no-color``), not at this screen

    BINDINGS = [  # noqa: RUF012
        bind(
            "r",
            "refit",
            "Refit now",
            id="watch.refit",
            tooltip="Refit the state's model now (or at the running watch's next batch)",
        ),
        bind(
            "g",
            "reload",
            "Reread",
            id="watch.reload",
            tooltip="Read the state again now (it is read every 2 s anyway)",
        ),
        bind(
            "ctrl+s",
            "export_labels",
            "Export labels",
            id="watch.export",
            tooltip="Write the current labels to a .parquet or .csv file (what `segtui watch "
            "export` writes); there is no project to save here",
            show=False,
        ),
        bind(
            "tab",
            "app.focus_next",
            "Next panel",
            id="watch.next",
            tooltip="Move the arrows to the next table: the latest moves (where the screen "
            "opens), the segment sizes, the drift per batch when it is shown (shift+tab: back)",
        ),
        bind("q", "quit", "Quit", id="watch.quit", tooltip="Quit segtui"),
    ]

    def __init__(self, state: str | Path, refresh_seconds: float = REFRESH_SECONDS) -> None:
        super().__init__()
        self.state = Path(state)
        self.refresh_seconds = refresh_seconds
        self.shown: History | None = None
        """The history on screen (None until the first read lands)."""
        self.note = ""
        """The status line's sentence."""
        self.refitting = False
        self._moves: list[dict] = []
        self._database = threading.Lock()
        """Held by a read and by a refit: DuckDB refuses a process a read-write connection while
        it has a read-only one open (and the other way round), and does not wait for it."""

    @property
    def segtui(self) -> SegtuiApp:
        return cast("SegtuiApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(plain(f"Watch · {self.state} · reading…"), id="watch-header")
        with Horizontal(id="watch-top"):
            yield DataTable(id="watch-segments", cursor_type="row", zebra_stripes=False)
            with Vertical(id="watch-drift-box"):
                yield Label(plain("Drift"), id="watch-drift-title", classes="watch-section")
                yield DataTable(id="watch-drift", cursor_type="row")
        yield Static(plain(""), id="watch-drift-line")
        yield Label(plain("Latest moves"), id="watch-moves-title", classes="watch-section")
        yield DataTable(id="watch-moves", cursor_type="row")
        yield Static(plain(""), id="watch-why")
        with Horizontal(id="watch-status-line"):
            yield Label(plain(""), id="watch-status")
        yield Footer()

    def on_mount(self) -> None:
        segments = self.query_one("#watch-segments", DataTable)
        fill(segments, SEGMENT_COLUMNS, [])
        fill(self.query_one("#watch-drift", DataTable), DRIFT_COLUMNS, [])
        moves = self.query_one("#watch-moves", DataTable)
        fill(moves, MOVE_COLUMNS, [])
        moves.focus()  # the moves are what a person browses (the line under them follows)
        self.set_interval(self.refresh_seconds, self.poll)
        self.poll()

    # ----- reading ------------------------------------------------------------------------

    def poll(self, *, force: bool = False) -> None:
        """Read the state in a worker unless a read is on its way already."""
        if any(w.group == "watch-read" and not w.is_finished for w in self.workers):
            return
        known = None if force or self.shown is None else self.shown.mark
        self._read_worker(known)

    @work(thread=True, group="watch-read", exit_on_error=False, description="Reading the state")
    def _read_worker(self, known: Mark | None) -> None:
        try:
            with self._database:
                if known is not None and mark(self.state, READ_RETRY_SECONDS) == known:
                    self.post_message(WatchUnchanged())
                    return
                shown = history(self.state, retry_seconds=READ_RETRY_SECONDS)
        except InputError as error:
            self.post_message(WatchBusy(error.describe()))
            return
        self.post_message(WatchRead(shown))

    @on(WatchRead)
    def _read(self, message: WatchRead) -> None:
        self.shown = message.history
        if self.has_class("-busy"):
            self._say("")  # the state could be read again (a refit's answer stays)
        self._draw(message.history)

    @on(WatchUnchanged)
    def _unchanged(self, message: WatchUnchanged) -> None:
        if self.has_class("-busy"):
            self._say("")

    @on(WatchBusy)
    def _busy(self, message: WatchBusy) -> None:
        shown = "" if self.shown is None else f" Showing batch {self.shown.mark[0]}."
        self._say(f"Could not read the state: {message.text}{shown} Trying again.", error=True)
        self.add_class("-busy")

    def _say(self, text: str, *, error: bool = False) -> None:
        self.note = text
        self.remove_class("-busy")
        self.set_class(error, "-error")
        self.query_one("#watch-status", Label).update(plain(text))

    # ----- drawing ------------------------------------------------------------------------

    def _draw(self, shown: History) -> None:
        first, second = header_lines(shown)
        header = Text(no_wrap=True, overflow="ellipsis")
        header.append_text(plain(first))
        header.append("\n")
        header.append_text(plain(second))
        self.query_one("#watch-header", Static).update(header)
        self._draw_segments(shown)
        self._draw_drift(shown)
        self._draw_moves(shown)

    def _draw_segments(self, shown: History) -> None:
        cells = [
            [number(s.size), f"{100 * s.share:.1f}%", change(s.sizes), sparkline(s.sizes), s.name]
            for s in shown.segments
        ]
        table = self.query_one("#watch-segments", DataTable)
        fill(table, SEGMENT_COLUMNS, cells, keep_row=table.cursor_row)

    def _draw_drift(self, shown: History) -> None:
        self.query_one("#watch-drift-title", Label).update(plain(drift_title(shown)))
        self.query_one("#watch-drift-line", Static).update(plain(drift_line(shown)))
        cells = [
            [d.batch, _fixed(d.psi) + (" !" if d.over else ""), _fixed(d.mean_distance), d.moves]
            for d in shown.drift
        ]
        fill(self.query_one("#watch-drift", DataTable), DRIFT_COLUMNS, cells, keep_row=-1)

    def _draw_moves(self, shown: History) -> None:
        self._moves = list(shown.moves.iter_rows(named=True))
        shown_keys = ("batch", "user_id", "from_segment", "to_segment", "reason")
        cells: list[list[object]] = [
            [m[k] if m[k] is not None else ("" if k == "reason" else "-") for k in shown_keys]
            for m in self._moves
        ]
        table = self.query_one("#watch-moves", DataTable)
        fill(table, MOVE_COLUMNS, cells, keep_row=table.cursor_row)
        if not self._moves:
            self.query_one("#watch-why", Static).update(plain("No moves logged yet."))

    @on(DataTable.RowHighlighted, "#watch-moves")
    def _move_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self._moves):
            text = move_text(self._moves[event.cursor_row])
            self.query_one("#watch-why", Static).update(plain(text))

    # ----- keys ---------------------------------------------------------------------------

    def action_reload(self) -> None:
        self.poll(force=True)

    def action_quit(self) -> None:
        self.segtui.action_request_quit()

    def action_refit(self) -> None:
        if self.refitting:
            return
        self.refitting = True
        self._say("⟳ Refitting…")
        self._refit_worker()

    @work(thread=True, group="watch-refit", exit_on_error=False, description="Refitting")
    def _refit_worker(self) -> None:
        from segtui.watch.refit import refit_now

        try:
            with self._database:
                text = refit_now(self.state)
        except InputError as error:
            self.post_message(RefitDone(f"Refit: {error.describe()}", failed=True))
            return
        self.post_message(RefitDone(text, failed=False))

    @on(RefitDone)
    def _refit_done(self, message: RefitDone) -> None:
        self.refitting = False
        self._say(message.text, error=message.failed)
        if not message.failed:
            self.poll(force=True)

    def default_export_path(self) -> Path:
        """Beside the state: ``STATE.segments.parquet``."""
        return self.state.with_name(f"{self.state.stem}.segments.parquet")

    def action_export_labels(self) -> None:
        from segtui.app.screens.dialogs import PathScreen

        def chosen(path: str | None) -> None:
            if path:
                self._say("Exporting the labels…")
                self._export_worker(Path(path).expanduser())

        self.app.push_screen(
            PathScreen("Export the current labels to", str(self.default_export_path())), chosen
        )

    @work(thread=True, group="watch-export", exit_on_error=False, description="Exporting")
    def _export_worker(self, path: Path) -> None:
        from segtui.watch.report import export_labels

        try:
            with self._database:
                users = export_labels(self.state, path)
        except InputError as error:
            self.post_message(LabelsExported(f"Export: {error.describe()}", failed=True))
            return
        self.post_message(LabelsExported(f"Wrote {users:,} users' labels to {path}", failed=False))

    @on(LabelsExported)
    def _exported(self, message: LabelsExported) -> None:
        self._say(message.text, error=message.failed)

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        """A failed worker is a bug: the app shows it (InputErrors are caught in the workers)."""
        if event.worker.group == "watch-refit" and event.state == WorkerState.ERROR:
            self.refitting = False
            self._say("")
        self.segtui.worker_failed(event)
