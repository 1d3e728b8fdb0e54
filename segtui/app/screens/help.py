"""Help: every key by screen, read from the live bindings (keymap applied), so it can't go stale."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from segtui.app.keys import bind, live_bindings, rows_for


def _sections(app) -> list[tuple[str, list]]:
    """(title, bindings) per screen and widget the person meets, current screen first."""
    from segtui.app.screens.dialogs import ConfirmScreen, MessageScreen
    from segtui.app.screens.explore import ExploreScreen
    from segtui.app.screens.watch import WatchScreen
    from segtui.app.widgets.segments_table import SegmentsTable

    sections: list[tuple[str, list]] = []
    current = app.screen_stack[-2] if len(app.screen_stack) > 1 else app.screen
    own = live_bindings(current)
    own.sort(key=lambda b: not (b.id or "").startswith("segtui."))  # Textual's own keys last
    sections.append((f"This screen ({_title(current)})", own))
    if isinstance(current, WatchScreen):  # a watch state opens no other screen
        # its own keys win over the app's (ctrl+s exports labels: there is no project to save)
        mine = {key for b in own for key in b.key.split(",")}
        rest = [b for b in live_bindings(app) if not mine & set(b.key.split(","))]
        sections.append(("Everywhere", rest))
        return sections
    from segtui.app.screens.detail import DetailScreen
    from segtui.app.screens.export import ExportScreen
    from segtui.app.screens.loading import LoadingScreen
    from segtui.app.screens.mapping import MappingScreen
    from segtui.app.screens.merge_tree import MergeTreeScreen

    for cls in (
        ExploreScreen,
        SegmentsTable,
        MappingScreen,
        DetailScreen,
        MergeTreeScreen,
        ExportScreen,
        LoadingScreen,
        ConfirmScreen,
        MessageScreen,
    ):
        if isinstance(current, cls):
            continue
        sections.append((_title(cls), list(cls.BINDINGS)))
    sections.append(("Everywhere", live_bindings(app)))
    return sections


def _title(screen) -> str:
    cls = screen if isinstance(screen, type) else type(screen)
    return {
        "ExploreScreen": "Explore",
        "SegmentsTable": "Segments table (explore)",
        "MappingScreen": "Mapping",
        "DetailScreen": "Segment detail",
        "MergeTreeScreen": "Merge tree (hierarchical)",
        "ExportScreen": "Export",
        "LoadingScreen": "Loading",
        "ConfirmScreen": "Questions",
        "MessageScreen": "Messages",
        "HelpScreen": "Help",
        "WatchScreen": "Watch",
    }.get(cls.__name__, cls.__name__)


class HelpScreen(ModalScreen[None]):
    """All keys, grouped by screen; the screen you came from first."""

    BINDINGS = [  # noqa: RUF012
        bind("escape,q,question_mark,f1", "close", "Close", id="help.close", tooltip="Close help"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Help: every key (esc closes) · ctrl+p: command palette"
            yield Static(self._render_keys(), id="help-text")

    def _render_keys(self) -> Table:
        keymap = getattr(self.app, "_keymap", {}) or {}
        outer = Table.grid(padding=(0, 0))
        explore_table_note = Text(
            "Merge by mouse: drag a row onto another. By keyboard: p picks up, arrows move, "
            "enter drops.",
            style="italic",
        )
        for title, bindings in _sections(self.app):
            rows = rows_for([b for b in bindings if not getattr(b, "system", False)], keymap)
            if not rows:
                continue
            table = Table(box=None, show_header=False, padding=(0, 1), expand=False)
            table.add_column(style="bold", no_wrap=True, min_width=14)
            table.add_column()
            for row in rows:
                table.add_row(
                    row.keys,
                    Text(f"{row.description}: {row.tooltip}" if row.tooltip else row.description),
                )
            outer.add_row(Text(title, style="bold underline"))
            outer.add_row(table)
            if title.startswith("Segments table"):
                outer.add_row(explore_table_note)
            outer.add_row("")
        return outer

    def action_close(self) -> None:
        self.dismiss(None)
