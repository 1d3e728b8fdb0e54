"""The explore screen: setup (features, algorithm, parameters), the segments table, and views of
the selected segment (profile, scatter, k sweep, fit diagnostics).

Layout is decided by the stylesheet: at 80 columns the setup panel is a page of its own (``f``
toggles it) and the views are tabs under the table; from 110 columns the setup panel sits beside
the table. Changing any setup input refits after a short pause; the old result stays until the new
one is ready, and the status line shows progress.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import (
    Checkbox,
    DataTable,
    Footer,
    Input,
    Label,
    ProgressBar,
    Select,
    Static,
    TabbedContent,
    TabPane,
)

from segtui.app import pipeline
from segtui.app.keys import bind
from segtui.app.messages import Progress
from segtui.app.widgets.bars import FeatureLine, ProfileView, fmt
from segtui.app.widgets.markbox import MarkBox
from segtui.app.widgets.scatter import LinePlot, ScatterData, ScatterPlot, Series
from segtui.app.widgets.segments_table import SegmentRow, SegmentsTable
from segtui.errors import InputError

VIEWS = ("profile", "scatter", "sweep", "fit")


class FeatureBox(MarkBox):
    """A feature's checkbox; its description shows below the list when it has focus."""

    def __init__(self, name: str, description: str, value: bool) -> None:
        super().__init__(name, value, id=f"feat-{name}", compact=True)
        self.feature = name
        self.description = description
        self.tooltip = description


class ExploreScreen(Screen[None]):
    """Segments of the loaded users: fit, look, shape."""

    AUTO_FOCUS = "#segments"
    BINDINGS = [  # noqa: RUF012
        bind(
            "f",
            "toggle_setup",
            "Setup",
            id="explore.setup",
            tooltip="Show the features and algorithm panel (at 80 columns it is a page of its own)",
        ),
        bind(
            "r,f2",
            "rename",
            "Rename",
            id="explore.rename",
            tooltip="Rename the selected segment (enter to confirm, esc to cancel)",
        ),
        bind(
            "M",
            "merge_marked",
            "Merge marked",
            id="explore.merge",
            tooltip="Merge the marked segments (space marks) into the first one",
            show=False,
        ),
        bind(
            "s",
            "split",
            "Split",
            id="explore.split",
            tooltip="Split the selected segment in two by re-clustering its users",
            show=False,
        ),
        bind(
            "a",
            "add_rule",
            "Add rule",
            id="explore.rule",
            tooltip="Add a segment from a rule, optionally named first: "
            "'Big spenders: revenue > 1000'",
            show=False,
        ),
        bind(
            "x",
            "remove_rule",
            "Remove rule",
            id="explore.unrule",
            tooltip="Remove the selected rule segment",
            show=False,
        ),
        bind("u", "undo", "Undo", id="explore.undo", tooltip="Undo the last edit"),
        bind(
            "ctrl+r,U",
            "redo",
            "Redo",
            id="explore.redo",
            tooltip="Redo the last undone edit",
            show=False,
        ),
        bind(
            "d",
            "detail",
            "Detail",
            id="explore.detail",
            tooltip="Everything about the selected segment",
            show=False,
        ),
        bind(
            "e",
            "app.export",
            "Export",
            id="explore.export",
            tooltip="Write segments.parquet and the model JSON",
        ),
        bind(
            "plus,equals_sign",
            "change_k(1)",
            "k+1",
            id="explore.k_up",
            tooltip="One more segment (refits)",
            show=False,
        ),
        bind(
            "minus",
            "change_k(-1)",
            "k-1",
            id="explore.k_down",
            tooltip="One segment fewer (refits)",
            show=False,
        ),
        bind(
            "R,f5",
            "refit",
            "Refit",
            id="explore.refit",
            tooltip="Fit again now with the current setup",
            show=False,
        ),
        bind(
            "w",
            "sweep",
            "k sweep",
            id="explore.sweep",
            tooltip="Fit k = 2..12 and compare silhouette, Davies-Bouldin, inertia",
            show=False,
        ),
        bind(
            "t",
            "take_k",
            "Take k",
            id="explore.take_k",
            tooltip="Use the k the sweep suggests (refits)",
            show=False,
        ),
        bind(
            "v",
            "next_view",
            "Next view",
            id="explore.view",
            tooltip="Cycle profile / scatter / k sweep / fit",
            show=False,
        ),
        bind(
            "1",
            "view('profile')",
            "Profile",
            id="explore.view_profile",
            tooltip="Show the profile view",
            show=False,
        ),
        bind(
            "2",
            "view('scatter')",
            "Scatter",
            id="explore.view_scatter",
            tooltip="Show the PCA scatter",
            show=False,
        ),
        bind(
            "3",
            "view('sweep')",
            "k sweep",
            id="explore.view_sweep",
            tooltip="Show the k sweep",
            show=False,
        ),
        bind(
            "4",
            "view('fit')",
            "Fit",
            id="explore.view_fit",
            tooltip="Show the fit diagnostics",
            show=False,
        ),
        bind(
            "z",
            "zoom",
            "Zoom",
            id="explore.zoom",
            tooltip="Maximize the focused panel (z or esc again to restore)",
            show=False,
        ),
        bind(
            "m",
            "mapping",
            "Mapping",
            id="explore.mapping",
            tooltip="Review or change the column mapping",
            show=False,
        ),
        bind(
            "q",
            "app.request_quit",
            "Quit",
            id="explore.quit",
            tooltip="Quit (asks first when there are unsaved edits)",
        ),
        bind(
            "escape",
            "escape",
            "Back",
            id="explore.escape",
            tooltip="Close the open input or panel",
            show=False,
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._refit_timer: Timer | None = None
        self._editing: str | None = None  # "rename" | "rule" | None
        self._selected: int | None = None
        self._busy: str | None = None
        self._transient = False

    # ----- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        from segtui.clustering.registry import ALGORITHMS

        with Horizontal(id="status-line"):
            yield Label("", id="status")
            yield ProgressBar(total=None, show_eta=False, show_percentage=False, id="busy")
        with Horizontal(id="body"):
            with VerticalScroll(id="setup"):
                yield Label("Algorithm", classes="section")
                yield Select(
                    [(info.label, name) for name, info in ALGORITHMS.items()],
                    value=self.app.choices.algorithm,
                    id="algorithm",
                    allow_blank=False,
                    compact=True,
                )
                yield Vertical(id="params")
                yield Label("Features", classes="section")
                yield Vertical(id="features")
                yield Static("", id="feature-help")
            with Vertical(id="main"):
                yield SegmentsTable(id="segments")
                yield Static("", id="carry-line")
                yield Input(id="rename-input", placeholder="new name")
                yield Input(
                    id="rule-input",
                    placeholder="[Name:] rule, e.g. Big spenders: revenue > 1000",
                )
                yield Static("", id="rule-error", classes="input-error")
                with TabbedContent(id="views", initial="profile"):
                    with TabPane("Profile", id="profile"), VerticalScroll(id="profile-scroll"):
                        yield ProfileView(id="profile-view")
                    with TabPane("Scatter", id="scatter"):
                        yield ScatterPlot(id="scatter-plot")
                    with TabPane("k sweep", id="sweep"), Vertical():
                        yield Static(
                            Text("No sweep yet: w fits k = 2..12 and suggests one.", style="dim"),
                            id="sweep-note",
                        )
                        with Horizontal(id="sweep-box"):
                            yield LinePlot(id="sweep-plot")
                            yield DataTable(id="sweep-table", cursor_type="row", zebra_stripes=True)
                    with TabPane("Fit", id="fit"), VerticalScroll():
                        yield Static("", id="fit-text")
        yield Footer(compact=True)

    async def on_mount(self) -> None:
        self.query_one("#rename-input").display = False
        self.query_one("#rule-input").display = False
        self.query_one("#rule-error").display = False
        self.query_one("#carry-line").display = False
        self.query_one("#busy").display = False
        table = self.query_one("#sweep-table", DataTable)
        table.add_columns("k", "silhouette", "DB", "CH", "inertia")
        await self.rebuild_setup()
        self._update_status()
        self.call_after_refresh(self._show_current)

    def _show_current(self) -> None:
        """The fit that was ready before this screen mounted (the first one, usually)."""
        app = self.app
        if app.outcome is not None and app.segview is not None:
            self.show_fit(app.outcome)
            self.show_view(app.segview)

    @property
    def app_state(self) -> Any:
        return self.app

    # ----- setup panel --------------------------------------------------------------------

    async def rebuild_setup(self) -> None:
        """Algorithm choices, the chosen algorithm's parameters, and the feature checkboxes."""

        app = self.app
        choices = app.choices
        select = self.query_one("#algorithm", Select)
        with select.prevent(Select.Changed):
            select.value = choices.algorithm
        await self._build_params()
        features = self.query_one("#features", Vertical)
        await features.remove_children()
        dataset = app.dataset
        if dataset is None:
            return
        chosen = set(choices.features)
        boxes: list[Any] = []
        for family, items in dataset.families().items():
            boxes.append(Label(family, classes="family"))
            for name, description in items:
                boxes.append(FeatureBox(name, description, name in chosen))
        await features.mount_all(boxes)

    async def _build_params(self) -> None:
        from segtui.clustering.registry import ALGORITHMS

        app = self.app
        info = ALGORITHMS[app.choices.algorithm]
        box = self.query_one("#params", Vertical)
        await box.remove_children()
        widgets: list[Any] = []
        for spec in info.parameters:
            value = app.choices.params.get(spec.name, spec.default)
            if spec.kind == "choice":
                widget: Any = Select(
                    [(c, c) for c in spec.choices],
                    value=value,
                    allow_blank=False,
                    compact=True,
                    id=f"param-{spec.name}",
                )
            elif spec.kind == "bool":
                widget = MarkBox(spec.label, bool(value), compact=True, id=f"param-{spec.name}")
            else:
                widget = Input(
                    "" if value is None else str(value),
                    type="integer" if spec.kind == "int" else "number",
                    placeholder="auto" if spec.allow_none else "",
                    compact=True,
                    id=f"param-{spec.name}",
                )
            widget.tooltip = spec.help or spec.label
            widgets.append(
                Horizontal(Label(spec.label, classes="param-label"), widget, classes="param")
            )
        seed = Input(str(app.choices.seed), type="integer", compact=True, id="param-seed")
        seed.tooltip = "Same seed, same segments"
        widgets.append(Horizontal(Label("Seed", classes="param-label"), seed, classes="param"))
        if info.quadratic:
            size = app.choices.sample_size or info.default_sample_size
            sample = Input(str(size or ""), type="integer", compact=True, id="param-sample_size")
            sample.tooltip = "Users the algorithm is fitted on; the rest get the nearest segment"
            widgets.append(
                Horizontal(Label("Sample size", classes="param-label"), sample, classes="param")
            )
        widgets.append(Static("", id="algo-note"))
        widgets.append(Static(info.description, classes="algo-help"))
        await box.mount_all(widgets)
        self.show_algo_note(ask=True)

    def show_algo_note(self, ask: bool = False) -> None:
        """Under the parameters: DBSCAN's suggested eps (and why), or the sample a quadratic
        algorithm was fitted on (the fit's note). ``ask`` computes a fresh eps suggestion."""
        from segtui.clustering.registry import ALGORITHMS

        app = self.app
        notes = self.query("#algo-note")
        if not notes:
            return
        note = notes.first(Static)
        info = ALGORITHMS[app.choices.algorithm]
        outcome = app.outcome
        text = Text()
        if info.name == "dbscan":
            hint = app.eps_hint
            if ask and outcome is not None:
                min_samples = app.choices.params.get("min_samples") or 10
                app.request_eps(int(min_samples), app.choices.seed)
                text.append("Suggested eps: measuring…", style="dim")
            elif hint is not None and hint.suggestion is not None:
                text.append(f"Suggested eps = {hint.suggestion.eps:.3g}", style="bold")
                text.append(" (leave eps empty to use it): ")
                text.append(hint.suggestion.reason, style="dim")
            elif hint is not None:
                text.append(f"No eps suggestion: {hint.problem}", style="dim")
        if info.quadratic and outcome is not None and outcome.request.algorithm == info.name:
            if text:
                text.append("\n")
            text.append("Last fit: ", style="bold")
            text.append(outcome.result.note)
        elif info.quadratic and info.default_sample_size:
            if text:
                text.append("\n")
            text.append(
                f"Fitted on a seeded sample of up to {info.default_sample_size:,} users; the "
                "rest get the nearest segment.",
                style="dim",
            )
        note.update(text)
        note.display = bool(text)

    @on(Select.Changed, "#algorithm")
    async def _algorithm_changed(self, event: Select.Changed) -> None:
        from segtui.clustering.registry import ALGORITHMS

        app = self.app
        if event.value == app.choices.algorithm or event.value not in ALGORITHMS:
            return
        app.choices.algorithm = str(event.value)
        app.choices.params = dict(ALGORITHMS[app.choices.algorithm].defaults())
        app.choices.sample_size = None
        await self._build_params()
        self._schedule_refit()

    def _read_params(self) -> str | None:
        """Read the parameter inputs into the app's choices; an error message when one is bad."""
        from segtui.clustering.registry import ALGORITHMS

        app = self.app
        info = ALGORITHMS[app.choices.algorithm]
        params: dict[str, Any] = {}
        for spec in info.parameters:
            widget = self.query_one(f"#param-{spec.name}")
            if isinstance(widget, Select | Checkbox):
                params[spec.name] = widget.value
            else:
                text = widget.value.strip()
                if not text:
                    if spec.allow_none:
                        params[spec.name] = None
                        continue
                    return f"{spec.label}: type a value"
                try:
                    value: Any = int(text) if spec.kind == "int" else float(text)
                except ValueError:
                    return f"{spec.label}: '{text}' is not a number"
                if spec.minimum is not None and value < spec.minimum:
                    return f"{spec.label}: at least {spec.minimum:g}"
                if spec.maximum is not None and value > spec.maximum:
                    return f"{spec.label}: at most {spec.maximum:g}"
                if spec.name == "k" and app.dataset is not None and value > app.dataset.n_users:
                    return f"{spec.label}: at most {app.dataset.n_users} (the number of users)"
                params[spec.name] = value
        try:
            seed = int(self.query_one("#param-seed", Input).value or 0)
        except ValueError:
            return "Seed: type a whole number"
        sample_size = None
        if info.quadratic:
            text = self.query_one("#param-sample_size", Input).value.strip()
            if text:
                try:
                    sample_size = int(text)
                except ValueError:
                    return "Sample size: type a whole number"
                if sample_size < 2:
                    return "Sample size: at least 2"
        app.choices.params = params
        app.choices.seed = seed
        app.choices.sample_size = sample_size
        return None

    @on(Input.Changed, "#params Input")
    @on(Select.Changed, "#params Select")
    @on(Checkbox.Changed, "#params Checkbox")
    def _param_changed(self, event: Any) -> None:
        event.stop()
        before = self.app.choices.request()
        problem = self._read_params()
        if problem:
            # An earlier keystroke may have scheduled a refit ("99" on the way to "9999"):
            # nothing refits while the input on screen is refused.
            if self._refit_timer is not None:
                self._refit_timer.stop()
                self._refit_timer = None
            self._say(problem, error=True)
            return
        if self.app.choices.request() != before:
            if getattr(event.control, "id", None) == "param-min_samples":
                self.show_algo_note(ask=True)
            self._schedule_refit()

    @on(Checkbox.Changed, "#features FeatureBox")
    def _feature_toggled(self, event: Checkbox.Changed) -> None:
        box = event.checkbox
        assert isinstance(box, FeatureBox)
        app = self.app
        features = [name for name in app.choices.features if name != box.feature]
        if box.value:
            order = app.dataset.feature_names if app.dataset else []
            features.append(box.feature)
            features.sort(key=lambda name: order.index(name) if name in order else 999)
        app.choices.features = features
        self._schedule_refit()

    def on_descendant_focus(self, event: Any) -> None:
        widget = event.widget
        help_box = self.query_one("#feature-help", Static)
        if isinstance(widget, FeatureBox):
            help_box.update(Text(f"{widget.feature}: {widget.description}"))
        elif widget.id and widget.id.startswith("param-"):
            help_box.update(Text(str(widget.tooltip or "")))

    def _schedule_refit(self) -> None:
        """Refit shortly after the last change, so typing '12' refits once, not twice."""
        if self._refit_timer is not None:
            self._refit_timer.stop()
        self._refit_timer = self.set_timer(0.4, self._refit_now)

    def _refit_now(self) -> None:
        self._refit_timer = None
        self.app.request_fit()

    # ----- results ------------------------------------------------------------------------

    def set_busy(self, text: str | None) -> None:
        if not self.is_mounted:
            return
        self._busy = text
        self.query_one("#busy").display = text is not None
        self._update_status()

    def show_progress(self, message: Progress) -> None:
        if not self.is_mounted:
            return
        self._busy = message.stage
        bar = self.query_one("#busy", ProgressBar)
        bar.display = True
        if message.fraction is None:
            bar.update(total=None)
        else:
            bar.update(total=100, progress=100 * message.fraction)
        self._update_status()

    def _update_status(self) -> None:
        app = self.app
        parts: list[str] = []
        if self._busy:
            parts.append(f"⟳ {self._busy}")
        if app.dataset is not None:
            parts.append(f"{app.dataset.n_users:,} users")
            parts.append(f"{len(app.choices.features)} features")
        outcome = app.outcome
        if outcome is not None:
            request = outcome.request
            k = request.params_dict.get("k")
            parts.append(f"{request.algorithm}" + (f" k={k}" if k is not None else ""))
            parts.append(_diag_short(outcome.diagnostics))
        seg = app.segmentation
        if seg is not None and getattr(seg, "undo_text", None):
            parts.append(f"u: undo {seg.undo_text}")
        self.query_one("#status", Label).update(" · ".join(p for p in parts if p))

    def show_fit(self, outcome: pipeline.FitOutcome) -> None:
        if not self.is_mounted:
            return
        self._busy = None
        self.query_one("#busy").display = False
        self.query_one("#fit-text", Static).update(_fit_text(outcome, self.app.sweep_result))
        self.show_algo_note(ask=True)
        self._update_status()

    def say_refit(
        self, outcome: pipeline.FitOutcome, carried: pipeline.CarriedRules, lost: list[str]
    ) -> None:
        """After a refit, say what happened to the person's edits (nothing is lost silently)."""
        if not self.is_mounted:
            return
        parts = []
        if carried.carried:
            parts.append(f"kept {len(carried.carried)} rule segment(s)")
        if lost:
            parts.append(f"discarded {len(lost)} edit(s) of the old segments")
        if carried.dropped:
            parts.append("dropped rule " + "; ".join(carried.dropped))
        if parts:
            k = outcome.request.params_dict.get("k")
            what = outcome.request.algorithm + (f" k={k}" if k is not None else "")
            self._say(f"Refit ({what}): " + ", ".join(parts) + ".", error=bool(carried.dropped))
        elif self._transient:
            self._transient = False
            self.query_one("#carry-line").display = False

    async def kept_current(self) -> None:
        """The person kept the current segments over a refit: the setup goes back to the fit's."""
        app = self.app
        if app.outcome is not None:
            request = app.outcome.request
            app.choices.features = list(request.features)
            app.choices.algorithm = request.algorithm
            app.choices.params = request.params_dict
            app.choices.seed = request.seed
            app.choices.sample_size = request.sample_size
            await self.rebuild_setup()
        self._say("Kept the current segments and edits; the setup is back to the current fit's.")

    def show_view(self, view: pipeline.SegmentsView, select: int | None = None) -> None:
        if not self.is_mounted:
            return
        table = self.query_one(SegmentsTable)
        rows = [_row(profile, view.kinds) for profile in view.profiles]
        table.show_rows(rows, select)
        self._selected = table.current_id
        self._update_scatter(view)
        self._update_profile()
        self._update_status()

    def _update_scatter(self, view: pipeline.SegmentsView) -> None:
        outcome = self.app.outcome
        if outcome is None:
            return
        projection = outcome.projection
        index = np.asarray(projection.display_index)
        coords = np.asarray(projection.coords)
        segments = [(int(p.segment_id), p.name) for p in view.profiles]
        explained = tuple(float(v) for v in projection.explained[:2])
        shown = len(index)
        note = f"{shown:,} of {len(view.labels):,} users shown" if shown < len(view.labels) else ""
        self.query_one(ScatterPlot).data = ScatterData(
            coords[index, 0], coords[index, 1], view.labels[index], segments, explained, note
        )
        self.query_one(ScatterPlot).selected = self._selected

    def _update_profile(self) -> None:
        view = self.app.segview
        profile_view = self.query_one(ProfileView)
        profile = _profile_for(view, self._selected)
        if profile is None:
            profile_view.lines = ()
            return
        profile_view.title = f"{profile.name} · {profile.size:,} users · {profile.share:.1%}"
        profile_view.traits = "; ".join(_traits(profile))
        profile_view.lines = tuple(_feature_lines(profile, view.features))

    @on(SegmentsTable.Selected)
    def _segment_selected(self, event: SegmentsTable.Selected) -> None:
        if event.segment_id == self._selected:
            return
        self._selected = event.segment_id
        self.query_one(ScatterPlot).selected = event.segment_id
        self._update_profile()

    @on(SegmentsTable.Opened)
    def _segment_opened(self, event: SegmentsTable.Opened) -> None:
        self.action_detail()

    # ----- sweep --------------------------------------------------------------------------

    def show_sweep(self, result: Any) -> None:
        if not self.is_mounted:
            return
        self.set_busy(None)
        rows = list(result.rows)
        ks = [float(row.k) for row in rows]

        def scaled(values: list[float]) -> list[float]:
            finite = [v for v in values if v is not None and math.isfinite(v)]
            if not finite:
                return [math.nan] * len(values)
            low, high = min(finite), max(finite)
            span = (high - low) or 1.0
            return [
                (v - low) / span if v is not None and math.isfinite(v) else math.nan for v in values
            ]

        def column(name: str) -> list[float]:
            return [_num(getattr(row.diagnostics, name, None)) for row in rows]

        # The algorithm's own objective: inertia for centroid fits, BIC for mixtures, else none.
        objective = next(
            (
                name
                for name in ("inertia", "bic")
                if any(getattr(row.diagnostics, name, None) is not None for row in rows)
            ),
            "inertia",
        )
        label = "inertia" if objective == "inertia" else "BIC"
        plot = self.query_one(LinePlot)
        plot.mark_x = float(result.suggested_k) if result.suggested_k is not None else None
        series = (
            Series("silhouette↑", "s", ks, scaled(column("silhouette"))),
            Series("DB↓", "d", ks, scaled(column("davies_bouldin"))),
            Series(f"{label}↓", label[0].lower(), ks, scaled(column(objective))),
        )
        plot.x_label = "k · " + "  ".join(f"{item.marker} {item.label}" for item in series)
        plot.series = series
        table = self.query_one("#sweep-table", DataTable)
        table.clear()
        table.ordered_columns[4].label = Text(label)
        for row in rows:
            mark = "▶" if row.k == result.suggested_k else " "
            diag = row.diagnostics
            table.add_row(
                f"{mark}{row.k}",
                fmt(_num(diag.silhouette)),
                fmt(_num(diag.davies_bouldin)),
                fmt(_num(diag.calinski_harabasz)),
                fmt(_num(getattr(diag, objective, None))),
            )
        self.query_one("#sweep-note", Static).update(_suggestion_text(result))
        if result.suggested_k is not None:
            self._say(
                f"k sweep done: suggested k = {result.suggested_k}; t takes it.", transient=True
            )
        else:
            self._say("k sweep done: no k suggested (see the k sweep tab).", transient=True)
        if self.app.outcome is not None:
            self.query_one("#fit-text", Static).update(_fit_text(self.app.outcome, result))
        self.action_view("sweep")

    def action_sweep(self) -> None:
        from segtui.clustering.registry import ALGORITHMS

        app = self.app
        if not ALGORITHMS[app.choices.algorithm].uses_k:
            self._say("This algorithm has no k to sweep.", error=True)
            return
        if app.dataset is None:
            return
        top = max(2, min(12, app.dataset.n_users - 1))
        app.request_sweep(list(range(2, top + 1)))

    def action_take_k(self) -> None:
        result = self.app.sweep_result
        if result is None or result.suggested_k is None:
            self._say("Run a k sweep first (w).", error=True)
            return
        self._set_k(int(result.suggested_k))

    def action_change_k(self, delta: int) -> None:
        k = self.app.choices.params.get("k")
        if k is None:
            self._say("This algorithm has no k.", error=True)
            return
        self._set_k(int(k) + delta)

    def _set_k(self, k: int) -> None:
        app = self.app
        limit = app.dataset.n_users if app.dataset else k
        if k < 2 or k > limit:
            self._say(f"k must be between 2 and {limit}.", error=True)
            return
        app.choices.params["k"] = k
        try:
            field = self.query_one("#param-k", Input)
        except NoMatches:  # the setup panel shows another algorithm's parameters
            field = None
        if field is not None:
            with field.prevent(Input.Changed):
                field.value = str(k)
        self._say(f"k = {k}: refitting…", transient=True)
        self._schedule_refit()

    def action_refit(self) -> None:
        problem = self._read_params()
        if problem:
            # An earlier keystroke may have scheduled a refit ("99" on the way to "9999"):
            # nothing refits while the input on screen is refused.
            if self._refit_timer is not None:
                self._refit_timer.stop()
                self._refit_timer = None
            self._say(problem, error=True)
            return
        self.app.request_fit()

    # ----- shaping ------------------------------------------------------------------------

    def _current(self) -> int | None:
        return self.query_one(SegmentsTable).current_id

    def _edit(self, make) -> None:
        """Apply a Segmentation edit; a refused edit says why where the person is looking."""
        app = self.app
        if app.segmentation is None:
            return
        try:
            new, select = make(app.segmentation)
        except InputError as error:
            self._say(error.describe(), error=True)
            return
        app.apply_edit(new, select)
        self._say(f"Done: {new.history[-1] if new.history else 'edit'} (u undoes)")

    def action_rename(self) -> None:
        current = self._current()
        if current is None or self.app.segmentation is None:
            return
        box = self.query_one("#rename-input", Input)
        box.value = self.app.segmentation.names.get(current, "")
        box.border_title = "Rename (enter: ok, esc: cancel)"
        self._open_editor("rename")

    def action_add_rule(self) -> None:
        if self.app.segmentation is None:
            return
        box = self.query_one("#rule-input", Input)
        box.border_title = "Add a rule segment (enter: add, esc: cancel)"
        self._open_editor("rule")

    def _open_editor(self, kind: str) -> None:
        self._close_editor()
        self._editing = kind
        box = self.query_one(f"#{kind}-input", Input)
        box.display = True
        if kind == "rule":
            self.query_one("#rule-error").display = True
            self._check_rule(box.value)
        box.focus()

    def _close_editor(self) -> None:
        for kind in ("rename", "rule"):
            self.query_one(f"#{kind}-input").display = False
        self.query_one("#rule-error").display = False
        if self._editing:
            self._editing = None
            self.query_one(SegmentsTable).focus()

    @on(Input.Submitted, "#rename-input")
    def _rename_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        current = self._current()
        name = event.value.strip()
        if current is None or not name:
            self._close_editor()
            return
        self._close_editor()
        self._edit(lambda seg: (seg.rename(current, name), current))

    @on(Input.Changed, "#rule-input")
    def _rule_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._check_rule(event.value)

    def _check_rule(self, text: str) -> bool:
        from segtui.segments.rules import RuleError, parse_rule

        out = self.query_one("#rule-error", Static)
        features = self.app.dataset.feature_names if self.app.dataset else None
        name, rule_text = split_rule_input(text)
        if not rule_text:
            out.set_class(False, "-error")
            out.set_class(False, "-ok")
            out.update(Text("A rule over feature names, optionally named: VIP: revenue > 1000"))
            return False
        try:
            rule = parse_rule(rule_text, features)
        except (RuleError, InputError) as error:
            out.update(Text(error.describe()))
            out.set_class(True, "-error")
            out.set_class(False, "-ok")
            return False
        out.set_class(False, "-error")
        users = self.app.dataset.users if self.app.dataset else None
        matched = ""
        if users is not None:
            try:
                count = int(users.select(rule.expr.sum()).item())
                matched = f" · matches {count:,} users"
            except pl.exceptions.PolarsError:  # a feature this fit's users table lacks
                matched = ""
        label = _rule_name(name or rule_text, self.app.segmentation)
        out.set_class(True, "-ok")
        out.update(Text(f"✓ {rule}{matched} · enter adds segment “{label}”", style="bold"))
        return True

    @on(Input.Submitted, "#rule-input")
    def _rule_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not self._check_rule(text):
            return
        self.query_one("#rule-input", Input).value = ""
        self._close_editor()
        given, rule_text = split_rule_input(text)
        name = _rule_name(given or rule_text, self.app.segmentation)

        def make(seg: Any) -> tuple[Any, int | None]:
            new = seg.add_rule_segment(name, rule_text)
            added = max(new.segment_ids) if new.segment_ids else None
            return new, added

        self._edit(make)

    def action_remove_rule(self) -> None:
        current = self._current()
        seg = self.app.segmentation
        if current is None or seg is None:
            return
        if seg.rule(current) is None:
            self._say("The selected segment is not a rule segment.", error=True)
            return
        self._edit(lambda s: (s.remove_rule_segment(current), None))

    @on(SegmentsTable.MergeRequested)
    def _merge_requested(self, event: SegmentsTable.MergeRequested) -> None:
        sources, target = event.sources, event.target
        self._edit(lambda seg: (seg.merge([target, *sources], into=target), target))

    @on(SegmentsTable.CarryChanged)
    def _carry_changed(self, event: SegmentsTable.CarryChanged) -> None:
        line = self.query_one("#carry-line", Static)
        if event.carried is None:
            line.display = False
            return
        if event.target is None:
            text = (
                f"Carrying “{event.carried.name}”: move to another segment, "
                "enter drops, esc puts back"
            )
        else:
            text = f"Carrying “{event.carried.name}” → drop on “{event.target.name}” (enter merges)"
        line.update(Text(text))
        line.display = True

    def action_merge_marked(self) -> None:
        table = self.query_one(SegmentsTable)
        marked = sorted(table.marked)
        if len(marked) < 2:
            self._say("Mark two or more segments with space first.", error=True)
            return
        table.marked.clear()
        target = marked[0]
        self._edit(lambda seg: (seg.merge(marked, into=target), target))

    def action_split(self) -> None:
        current = self._current()
        if current is None:
            return
        if self.app.segmentation is not None and self.app.segmentation.rule(current) is not None:
            self._say("Rule segments cannot be split; edit the rule instead.", error=True)
            return
        self.app.request_split(current, 2)

    def action_undo(self) -> None:
        seg = self.app.segmentation
        if seg is None or not seg.can_undo:
            self._say("Nothing to undo.")
            return
        text = seg.undo_text
        self.app.apply_edit(seg.undo())
        self._say(f"Undid: {text}")

    def action_redo(self) -> None:
        seg = self.app.segmentation
        if seg is None or not seg.can_redo:
            self._say("Nothing to redo.")
            return
        text = seg.redo_text
        self.app.apply_edit(seg.redo())
        self._say(f"Redid: {text}")

    # ----- navigation ---------------------------------------------------------------------

    def action_toggle_setup(self) -> None:
        opening = not self.has_class("-setup-open")
        self.set_class(opening, "-setup-open")
        if opening:
            target = (
                self.query("#features FeatureBox").first()
                if self.query("#features FeatureBox")
                else None
            )
            (target or self.query_one("#algorithm")).focus()
        else:
            self.query_one(SegmentsTable).focus()

    def action_view(self, name: str) -> None:
        self.query_one("#views", TabbedContent).active = name

    def action_next_view(self) -> None:
        tabs = self.query_one("#views", TabbedContent)
        tabs.active = (
            VIEWS[(VIEWS.index(tabs.active) + 1) % len(VIEWS)] if tabs.active in VIEWS else VIEWS[0]
        )

    def action_zoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        focused = self.focused
        if focused is not None:
            self.maximize(focused)

    def action_detail(self) -> None:
        from segtui.app.screens.detail import DetailScreen

        current = self._current()
        if current is None or self.app.segview is None:
            return
        self.app.push_screen(DetailScreen(current))

    def action_mapping(self) -> None:
        from segtui.app.screens.mapping import MappingScreen

        self.app.push_screen(MappingScreen())

    def action_escape(self) -> None:
        if self._editing:
            self._close_editor()
        elif self.maximized is not None:
            self.minimize()
        elif self.has_class("-setup-open"):
            self.action_toggle_setup()

    def _say(self, text: str, error: bool = False, transient: bool = False) -> None:
        """A message where the person is looking: the line under the table. A ``transient``
        one (work in progress) goes away when the next fit is shown."""
        self._transient = transient
        line = self.query_one("#carry-line", Static)
        line.update(Text(text))
        line.set_class(error, "-error")
        line.display = True
        if error:
            self.app.bell()


# --------------------------------------------------------------------------------------------
# Small helpers reading core results defensively (their fields are the core's).


def _num(value: Any) -> float:
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _diag_short(diagnostics: Any) -> str:
    if diagnostics is None:
        return ""
    sil = _num(getattr(diagnostics, "silhouette", None))
    db = _num(getattr(diagnostics, "davies_bouldin", None))
    ch = _num(getattr(diagnostics, "calinski_harabasz", None))
    return f"sil {fmt(sil)} DB {fmt(db)} CH {fmt(ch)}"


def _suggestion_text(result: Any) -> Text:
    """The sweep's suggested k and the reason, with the key that takes it."""
    text = Text()
    if result.suggested_k is None:
        text.append("No k suggested: ", style="bold")
        text.append(str(result.reason))
        return text
    text.append(f"Suggested k = {result.suggested_k}", style="bold")
    text.append(" (t takes it): ")
    text.append(str(result.reason), style="italic")
    return text


def _fit_text(outcome: pipeline.FitOutcome, sweep: Any = None) -> Text:
    diag = outcome.diagnostics
    request = outcome.request
    result = outcome.result
    text = Text()
    text.append("Fit\n", style="bold")
    params = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.params.items()
    )
    text.append(f"  algorithm   {request.algorithm} ({params})\n")
    text.append(f"  seed        {request.seed}\n")
    fitted = result.sample_size if result.sampled else len(result.labels)
    sampled = " (a seeded sample)" if result.sampled else " (all)"
    text.append(f"  fitted on   {fitted:,} users{sampled}\n")
    text.append(f"  features    {', '.join(outcome.prepared.features)}\n")
    if sweep is not None and sweep.algorithm == request.algorithm:
        text.append("  k sweep     ")
        text.append_text(_suggestion_text(sweep))
        text.append("\n")
    text.append("Diagnostics\n", style="bold")
    for label, name, better in (
        ("silhouette", "silhouette", "higher is better, -1..1"),
        ("Davies-Bouldin", "davies_bouldin", "lower is better"),
        ("Calinski-Harabasz", "calinski_harabasz", "higher is better"),
        ("inertia", "inertia", "K-Means objective"),
        ("BIC", "bic", "mixtures; lower is better"),
    ):
        value = getattr(diag, name, None)
        if value is None:
            value = getattr(result, name, None)
        if value is None:
            continue
        text.append(f"  {label:<18}{fmt(_num(value)):>10}   ", style="bold")
        text.append(f"{better}\n", style="dim")
    if outcome.messages:
        text.append("Notes\n", style="bold")
        for message in outcome.messages:
            text.append(f"  {message}\n")
    return text


def _row(profile: Any, kinds: dict[int, str]) -> SegmentRow:
    traits = _traits(profile)
    return SegmentRow(
        id=int(profile.segment_id),
        name=str(profile.name),
        size=int(profile.size),
        share=float(profile.share),
        traits="; ".join(traits[:3]),
        is_rule=kinds.get(int(profile.segment_id)) == "rule",
        is_noise=bool(getattr(profile, "is_noise", False)),
    )


def _traits(profile: Any) -> list[str]:
    traits = getattr(profile, "traits", None) or []
    return [str(getattr(t, "text", t)) for t in traits]


def _profile_for(view: Any, segment_id: int | None) -> Any:
    if view is None or segment_id is None:
        return None
    return next((p for p in view.profiles if int(p.segment_id) == segment_id), None)


def _feature_lines(profile: Any, features: list[str]) -> list[FeatureLine]:
    means = getattr(profile, "mean", {}) or {}
    overall = getattr(profile, "overall_mean", {}) or {}
    lifts = getattr(profile, "lift", {}) or {}
    return [
        FeatureLine(name, _opt(means.get(name)), _opt(overall.get(name)), _opt(lifts.get(name)))
        for name in features
    ]


def _opt(value: Any) -> float | None:
    number = _num(value)
    return None if math.isnan(number) else number


def split_rule_input(text: str) -> tuple[str | None, str]:
    """'Big spenders: revenue > 1000' -> ('Big spenders', 'revenue > 1000'); a plain rule has no
    name. The rule language has no ':' outside backticks, so a colon before any backtick ends
    the name."""
    head, sep, tail = text.partition(":")
    if sep and "`" not in head and head.strip():
        return " ".join(head.split()), tail.strip()
    return None, text.strip()


def _rule_name(text: str, segmentation: Any) -> str:
    name = text if len(text) <= 32 else text[:31] + "…"
    taken = set(segmentation.names.values()) if segmentation is not None else set()
    base, n = name, 2
    while name in taken:
        name = f"{base} {n}"
        n += 1
    return name
