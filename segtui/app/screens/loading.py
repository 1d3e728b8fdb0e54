"""The first screen: never blank. It says which stage is running and for how long, keeps the
counts of each finished stage on screen (rows read and kept, users and features) until the first
segments are ready, and when a file cannot be read it shows why and lets the person type another
path without leaving the app.

It is also where the engine is chosen (``segtui open --engine`` preselects it): polars computes
the features here; duckdb and spark compute them from SQL rendered from the declarations, and the
users to fit on are pulled from the engine, as ``segtui segment --engine`` does. Picking another
engine while a load runs starts it again with that engine."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, ProgressBar, Static

from segtui.app.keys import bind
from segtui.app.pipeline import EngineOption, engine_options
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


class EngineChoice(Static, can_focus=True):
    """Which engine computes the features: polars (here), duckdb or spark (in the engine, from
    SQL). Left and right pick; an engine this machine cannot run is listed with the reason and
    skipped. The choice is text, ``(•)`` against ``( )``, so it reads without colour."""

    BINDINGS = [  # noqa: RUF012
        bind(
            "right",
            "move(1)",
            "Engine",
            id="loading.engine_next",
            tooltip="Compute the features with the next engine (polars, duckdb, spark)",
            key_display="←→",
        ),
        bind(
            "left",
            "move(-1)",
            "Engine",
            id="loading.engine_previous",
            tooltip="Compute the features with the previous engine",
            show=False,
        ),
    ]

    engine: reactive[str] = reactive("polars")

    @dataclass
    class Changed(Message):
        """The person picked another engine."""

        engine: str

    def __init__(self, options: list[EngineOption], engine: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.options = options
        self.set_reactive(EngineChoice.engine, engine)

    @property
    def runnable(self) -> list[str]:
        return [o.name for o in self.options if o.unavailable is None]

    def render(self) -> Content:
        parts: list[str | tuple[str, str]] = ["Engine ←→: " if self.has_focus else "Engine (tab): "]
        for option in self.options:
            if option.unavailable is not None:
                continue
            chosen = option.name == self.engine
            text = f"({'•' if chosen else ' '}) {option.name}"
            parts += [(text, "reverse") if chosen and self.has_focus else text, "  "]
        for option in self.options:
            if option.unavailable is not None:
                parts.append(f"· {option.name} unavailable: {option.unavailable}  ")
        return Content.assemble(*parts).rstrip()

    def action_move(self, step: int) -> None:
        names = self.runnable
        here = names.index(self.engine) if self.engine in names else 0
        self.engine = names[(here + step) % len(names)]
        self.post_message(self.Changed(self.engine))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


class LoadingScreen(Screen[None]):
    """Progress of the load; on failure, the message and a path input to try another file."""

    BINDINGS = [  # noqa: RUF012
        bind("q", "app.request_quit", "Quit", id="loading.quit", tooltip="Leave segtui"),
    ]

    def __init__(
        self,
        paths: list[str],
        engine: str = "polars",
        engines: list[EngineOption] | None = None,
    ) -> None:
        super().__init__()
        self.paths = paths
        self.engine = engine
        self.engines = engines if engines is not None else engine_options()

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="loading-box"):
            yield Static("segtui · Loading", id="loading-title")
            yield Label(plain(self._describe_paths()), id="loading-paths")
            yield EngineChoice(self.engines, self.engine, id="engine-choice")
            yield Static("", id="loading-done")
            yield Label("Starting…", id="loading-stage")
            yield ProgressBar(total=None, show_eta=False, id="loading-progress")
            yield Static("", id="loading-error", classes="input-error")
            yield Label("Open another file (enter to load):", id="retry-label")
            # the failed path stays as text to edit (not selected: moving off the engine line
            # and back must not turn the next key into a replacement of the whole path)
            yield PathBox(placeholder="path/to/events.csv", id="retry-path", select_on_focus=False)
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

    @on(EngineChoice.Changed)
    def _engine_changed(self, event: EngineChoice.Changed) -> None:
        cast("SegtuiApp", self.app).choose_engine(event.engine)

    @on(Input.Submitted, "#retry-path")
    def _retry(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if not path:
            self.query_one("#loading-error", Static).update("Type the path of an event file.")
            return
        cast("SegtuiApp", self.app).start_load([path])
