"""The first screen: never blank. It says which stage is running and for how long, keeps the
counts of each finished stage on screen (rows read and kept, users and features) until the first
segments are ready, and when a file cannot be read it shows why and lets the person type another
path without leaving the app."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, ProgressBar, Static

from segtui.app.keys import bind
from segtui.app.plain import plain
from segtui.formatting import fixed, number

if TYPE_CHECKING:
    from segtui.app.app import SegtuiApp


class PathBox(Input):
    """The box for another path. It is shown only after a load failed, and then it is where the
    person types: it takes the focus each time it is shown. Focusing it in ``show_failure``
    alone lost a race: a load refused quickly could be followed by the Hide of the layout that
    ran while it was loading, and the Hide blurred the box again."""

    def on_show(self, event: events.Show) -> None:
        self.focus()


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
            yield Static("segtui · Loading", id="loading-title")
            yield Label(plain(self._describe_paths()), id="loading-paths")
            yield Static("", id="loading-done")
            yield Label("Starting…", id="loading-stage")
            yield ProgressBar(total=None, show_eta=False, id="loading-progress")
            yield Static("", id="loading-error", classes="input-error")
            yield Label("Open another file (enter to load):", id="retry-label")
            yield PathBox(placeholder="path/to/events.csv", id="retry-path")
        yield Footer()

    def _describe_paths(self) -> str:
        names = [Path(p).name for p in self.paths[:3]]
        more = f" and {len(self.paths) - 3} more" if len(self.paths) > 3 else ""
        return f"Loading {', '.join(names)}{more}"

    def on_mount(self) -> None:
        self.set_class(False, "-failed")
        self._stage = "Starting…"
        self._since = time.monotonic()
        self._ticker = self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        """The running stage says how long it has been running: a long read never looks stuck."""
        if self.has_class("-failed"):
            return
        seconds = time.monotonic() - self._since
        if seconds >= 2:
            self.query_one("#loading-stage", Label).update(
                plain(f"{self._stage} · {fixed(seconds, '.0f')} s")
            )

    def show_progress(self, stage: str, fraction: float | None, rows: int | None) -> None:
        text = stage[:1].upper() + stage[1:]
        text = text if rows is None else f"{text} · {number(rows)} rows read"
        if text != self._stage:
            self._stage = text
            self._since = time.monotonic()
        self.query_one("#loading-stage", Label).update(plain(self._stage))
        bar = self.query_one(ProgressBar)
        if fraction is None:
            bar.update(total=None)
        else:
            bar.update(total=100, progress=fraction * 100)

    def show_loaded(self, summary: str, seconds: float) -> None:
        """The load finished: its counts stay on screen while the first fit runs."""
        self.query_one("#loading-done", Static).update(
            plain(f"✓ Loaded in {fixed(seconds, '.1f')} s: {summary}")
        )
        self._stage = "Fitting the first segments…"
        self._since = time.monotonic()
        self.query_one("#loading-stage", Label).update(self._stage)

    def show_failure(self, message: str) -> None:
        self.set_class(True, "-failed")
        self.query_one("#loading-stage", Label).update("Could not load the data.")
        self.query_one("#loading-error", Static).update(plain(message))
        retry = self.query_one("#retry-path", Input)
        if not retry.value and self.paths:
            retry.value = self.paths[0]
        retry.focus()

    def restart(self, paths: list[str]) -> None:
        self.paths = paths
        self.set_class(False, "-failed")
        self.query_one("#loading-paths", Label).update(plain(self._describe_paths()))
        self.query_one("#loading-error", Static).update("")
        self.query_one("#loading-done", Static).update("")
        self._since = time.monotonic()
        self.show_progress("Starting…", None, None)

    @on(Input.Submitted, "#retry-path")
    def _retry(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if not path:
            self.query_one("#loading-error", Static).update("Type the path of an event file.")
            return
        cast("SegtuiApp", self.app).start_load([path])
