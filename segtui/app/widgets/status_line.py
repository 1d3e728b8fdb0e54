"""The status line over the explore screen: what is running, and what is shown (users, features,
algorithm and k, the fit's scores, what u would undo). It watches the App's state; nobody calls it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from segtui.app.plain import plain
from segtui.app.widgets.readouts import diag_short
from segtui.formatting import number

if TYPE_CHECKING:
    from segtui.app.app import SegtuiApp
    from segtui.app.state import Activity

WATCHED = ("dataset", "choices", "outcome", "segview")
"""The App's state the line reads besides the activity."""


def status_text(app: SegtuiApp) -> str:
    """'⟳ Fitting… · 600 users · 8 features · kmeans k=6 · sil 0.31 DB 1.2 CH 345 · u: undo …'
    (``600 users (duckdb)`` when a SQL engine computed the features)."""
    parts: list[str] = []
    if app.activity is not None:
        parts.append(f"⟳ {app.activity.stage}")
    if app.dataset is not None:
        engine = app.dataset.engine
        by = "" if engine == "polars" else f" ({engine})"  # which engine computed the features
        parts.append(f"{number(app.dataset.n_users)} users{by}")
        parts.append(f"{len(app.choices.features)} features")
    outcome = app.outcome
    if outcome is not None:
        request = outcome.request
        k = request.fit.params.get("k")
        parts.append(f"{request.fit.algorithm}" + (f" k={k}" if k is not None else ""))
        parts.append(diag_short(outcome.diagnostics))
    # The undo text of the shown view: its edits were replayed in the view worker, so reading it
    # costs nothing here (the newest Segmentation may not be replayed yet).
    seg = app.segview.segmentation if app.segview is not None else None
    if seg is not None and seg.undo_text:
        parts.append(f"u: undo {seg.undo_text}")
    return " · ".join(p for p in parts if p)


class StatusLine(Horizontal):
    """One line: the status text and, while a job runs, a progress bar."""

    def compose(self) -> ComposeResult:
        # Where the person is; at 80 columns the setup panel is a page of its own (CSS picks).
        yield Label("Explore ·", id="title-explore", classes="screen-title")
        yield Label("Explore › Setup ·", id="title-setup", classes="screen-title")
        yield Label("", id="status")
        yield ProgressBar(total=None, show_eta=False, show_percentage=False, id="busy")

    def on_mount(self) -> None:
        app = cast("SegtuiApp", self.app)
        self.watch(app, "activity", self._show_activity)
        for name in WATCHED:
            self.watch(app, name, self.refresh_text, init=False)

    def _show_activity(self, activity: Activity | None) -> None:
        bar = self.query_one("#busy", ProgressBar)
        bar.display = activity is not None
        if activity is not None:
            if activity.fraction is None:
                bar.update(total=None)
            else:
                bar.update(total=100, progress=100 * activity.fraction)
        self.refresh_text()

    def refresh_text(self) -> None:
        self.query_one("#status", Label).update(plain(status_text(cast("SegtuiApp", self.app))))
