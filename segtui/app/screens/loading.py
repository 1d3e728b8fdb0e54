"""The first screen: never blank. It says what is being read and how far it got, and when a file
cannot be read it shows why and lets the person type another path without leaving the app."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, ProgressBar, Static

from segtui.app.keys import bind


class LoadingScreen(Screen[None]):
    """Progress of the load; on failure, the message and a path input to try another file."""

    BINDINGS = [  # noqa: RUF012
        bind("q", "app.request_quit", "Quit", id="loading.quit", tooltip="Leave segtui"),
    ]

    def __init__(self, paths: list[str]) -> None:
        super().__init__()
        self.paths = paths

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="loading-box"):
            yield Static("segtui", id="loading-title")
            yield Label(self._describe_paths(), id="loading-paths")
            yield Label("Starting…", id="loading-stage")
            yield ProgressBar(total=None, show_eta=False, id="loading-progress")
            yield Static("", id="loading-error", classes="input-error")
            yield Label("Open another file (enter to load):", id="retry-label")
            yield Input(placeholder="path/to/events.csv", id="retry-path")
        yield Footer()

    def _describe_paths(self) -> str:
        names = [Path(p).name for p in self.paths[:3]]
        more = f" and {len(self.paths) - 3} more" if len(self.paths) > 3 else ""
        return f"Loading {', '.join(names)}{more}"

    def on_mount(self) -> None:
        self.set_class(False, "-failed")

    def show_progress(self, stage: str, fraction: float | None, rows: int | None) -> None:
        text = stage if rows is None else f"{stage} · {rows:,} rows read"
        self.query_one("#loading-stage", Label).update(text)
        bar = self.query_one(ProgressBar)
        if fraction is None:
            bar.update(total=None)
        else:
            bar.update(total=100, progress=fraction * 100)

    def show_failure(self, message: str) -> None:
        self.set_class(True, "-failed")
        self.query_one("#loading-stage", Label).update("Could not load the data.")
        self.query_one("#loading-error", Static).update(message)
        retry = self.query_one("#retry-path", Input)
        if not retry.value and self.paths:
            retry.value = self.paths[0]
        retry.focus()

    def restart(self, paths: list[str]) -> None:
        self.paths = paths
        self.set_class(False, "-failed")
        self.query_one("#loading-paths", Label).update(self._describe_paths())
        self.query_one("#loading-error", Static).update("")
        self.show_progress("Starting…", None, None)

    @on(Input.Submitted, "#retry-path")
    def _retry(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if not path:
            self.query_one("#loading-error", Static).update("Type the path of an event file.")
            return
        self.app.start_load([path])  # type: ignore[attr-defined]
