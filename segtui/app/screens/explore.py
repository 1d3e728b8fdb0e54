"""The explore screen: setup (features, algorithm, parameters), the segments table, and views of
the selected segment (profile, scatter, k sweep, fit diagnostics).

Layout is decided by the stylesheet: at 80 columns the setup panel is a page of its own (``f``
toggles it) and the views are tabs under the table; from 110 columns the setup panel sits beside
the table. Changing any setup input refits after a short pause; the old result stays until the new
one is ready, and the status line shows progress.

The screen composes its widgets (``segtui.app.widgets``) and watches the App's state: a new fit,
a new view of the segments, a sweep, a note. It changes that state only through the App's
methods (``choose``, ``apply_edit``, ``request_*``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, cast

import numpy as np
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from segtui.app import pipeline
from segtui.app.keys import bind
from segtui.app.widgets.bars import ProfileView
from segtui.app.widgets.readouts import feature_lines, fit_text, profile_for, segment_row, traits
from segtui.app.widgets.rule_editor import RuleEditor
from segtui.app.widgets.scatter import ScatterData, ScatterPlot
from segtui.app.widgets.segments_table import SegmentsTable
from segtui.app.widgets.setup_panel import SetupPanel
from segtui.app.widgets.status_line import StatusLine
from segtui.app.widgets.sweep_view import SweepView
from segtui.errors import InputError
from segtui.formatting import number, percent

if TYPE_CHECKING:
    from segtui.app.app import SegtuiApp
    from segtui.app.pipeline import FitOutcome, SegmentsView
    from segtui.app.state import Note
    from segtui.clustering.diagnostics import SweepResult
    from segtui.clustering.projection import TsneProjection
    from segtui.pipeline import Evidence
    from segtui.segments.segmentation import Segmentation

VIEWS = ("profile", "scatter", "sweep", "fit")

Edit = Callable[["Segmentation"], "tuple[Segmentation, int | None]"]
"""An edit of the Segmentation and the segment to select once it is shown."""


class ExploreScreen(Screen[None]):
    """Segments of the loaded users: fit, look, shape."""

    AUTO_FOCUS = "#segments"
    REFIT_DELAY: ClassVar[float] = 0.4
    """Seconds after the last setup change before the refit starts ('12' refits once)."""

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
            tooltip="Show the scatter (PCA or t-SNE: T switches)",
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
            "T",
            "toggle_projection",
            "t-SNE/PCA",
            id="explore.projection",
            tooltip="Switch the scatter between PCA (all users) and t-SNE (a sample of at most "
            "2,000 users, computed in the background the first time for each fit)",
        ),
        bind(
            "h",
            "merge_tree",
            "Tree",
            id="explore.tree",
            tooltip="Hierarchical clustering only: the tree of merges (segments within "
            "segments); pick a level to cut at another k",
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
        self._transient = False
        self._select_after: tuple[Segmentation, int | None] | None = None
        self._projection = "pca"  # what the scatter shows: "pca" or "tsne" (T switches)

    @property
    def segtui(self) -> SegtuiApp:
        return cast("SegtuiApp", self.app)

    @property
    def refit_pending(self) -> bool:
        """A setup change is waiting for its refit (the pause after the last keystroke)."""
        return self._refit_timer is not None

    # ----- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status-line")
        with Horizontal(id="body"):
            yield SetupPanel(id="setup")
            with Vertical(id="main"):
                yield SegmentsTable(id="segments")
                yield Static("", id="carry-line")
                yield Input(id="rename-input", placeholder="new name")
                yield RuleEditor(id="rule-editor")
                with TabbedContent(id="views", initial="profile"):
                    with TabPane("Profile", id="profile"), VerticalScroll(id="profile-scroll"):
                        yield ProfileView(id="profile-view")
                    with TabPane("Scatter", id="scatter"):
                        yield ScatterPlot(id="scatter-plot")
                    with TabPane("k sweep", id="sweep"):
                        yield SweepView()
                    with TabPane("Fit", id="fit"), VerticalScroll():
                        yield Static("", id="fit-text")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#rename-input").display = False
        self.query_one(RuleEditor).display = False
        self.query_one("#carry-line").display = False
        app = self.segtui
        self.watch(app, "outcome", self._show_fit, init=False)
        self.watch(app, "segview", self._show_view, init=False)
        self.watch(app, "sweep_result", self._show_sweep, init=False)
        self.watch(app, "evidence", self._show_evidence, init=False)
        self.watch(app, "note", self._show_note, init=False)
        self.watch(app, "tsne", self._show_tsne, init=False)
        self.call_after_refresh(self._show_current)

    def _show_current(self) -> None:
        """The fit that was ready before this screen mounted (the first one, usually)."""
        app = self.segtui
        if app.outcome is not None and app.segview is not None:
            self._show_fit(app.outcome)
            self._show_view(app.segview)

    # ----- results (watchers of the App's state) ------------------------------------------

    def _show_fit(self, outcome: FitOutcome | None) -> None:
        if outcome is None:
            return
        self.query_one("#fit-text", Static).update(fit_text(outcome, self.segtui.sweep_result))
        if self._transient:  # work in progress said; the App sets a note if there is news
            self._transient = False
            self.query_one("#carry-line").display = False

    def _show_note(self, note: Note | None) -> None:
        if note is not None:
            self._say(note.text, error=note.error)

    def _show_view(self, view: SegmentsView | None) -> None:
        if view is None:
            return
        select = None
        if self._select_after is not None and self._select_after[0] is view.segmentation:
            select = self._select_after[1]
            self._select_after = None
        table = self.query_one(SegmentsTable)
        evidence = self.segtui.evidence
        rows = [segment_row(profile, view.kinds, evidence) for profile in view.profiles]
        table.show_rows(rows, select)
        self._selected = table.current_id
        self._update_scatter(view)
        self._update_profile()

    @property
    def projection_kind(self) -> str:
        """What the scatter is asked to show: "pca" or "tsne"."""
        return self._projection

    def _show_tsne(self, _: object) -> None:
        view = self.segtui.segview
        if view is not None and self._projection == "tsne":
            self._update_scatter(view)
            self._say("t-SNE ready: T switches back to PCA.", transient=True)

    def _update_scatter(self, view: SegmentsView) -> None:
        outcome = self.segtui.outcome
        if outcome is None:
            return
        if self._projection == "tsne":
            cached = self.segtui.tsne_for(outcome)
            if cached is not None:
                self._draw_tsne(view, cached.projection)
                return
            self.segtui.request_tsne()  # a new fit: its own t-SNE, the PCA meanwhile
        self._draw_pca(view, outcome, waiting=self._projection == "tsne")

    def _draw_tsne(self, view: SegmentsView, picture: TsneProjection) -> None:
        rows = np.asarray(picture.rows)
        coords = np.asarray(picture.coords)
        segments = [(int(p.segment_id), p.name) for p in view.profiles]
        users = len(view.labels)
        who = (
            f"a sample of {number(len(rows))} of {number(users)} users"
            if picture.sampled
            else f"all {number(users)} users"
        )
        plot = self.query_one(ScatterPlot)
        plot.data = ScatterData(
            coords[:, 0],
            coords[:, 1],
            view.labels[rows],
            segments,
            kind="tsne",
            title=f"t-SNE of {who}",
            note="distances between groups and group sizes mean nothing here · T: PCA",
        )
        plot.selected = self._selected

    def _draw_pca(self, view: SegmentsView, outcome: FitOutcome, waiting: bool = False) -> None:
        projection = outcome.projection
        index = np.asarray(projection.display_index)
        coords = np.asarray(projection.coords)
        segments = [(int(p.segment_id), p.name) for p in view.profiles]
        explained = tuple(float(v) for v in projection.explained[:2])
        shown, everyone = len(index), len(view.labels)
        note = f"{number(shown)} of {number(everyone)} users shown" if shown < everyone else ""
        if waiting:
            note = "computing the t-SNE… the PCA stays until it is ready"
        plot = self.query_one(ScatterPlot)
        plot.data = ScatterData(
            coords[index, 0], coords[index, 1], view.labels[index], segments, explained, note
        )
        plot.selected = self._selected

    def _update_profile(self) -> None:
        view = self.segtui.segview
        profile_view = self.query_one(ProfileView)
        profile = profile_for(view, self._selected)
        if view is None or profile is None:
            profile_view.lines = ()
            return
        profile_view.title = (
            f"{profile.name} · {number(profile.size)} users · {percent(profile.share)}"
        )
        profile_view.traits = "; ".join(traits(profile))
        profile_view.lines = tuple(feature_lines(profile, view.features))

    @on(SegmentsTable.Selected)
    def _segment_selected(self, event: SegmentsTable.Selected) -> None:
        if event.segment_id == self._selected:
            return
        self._selected = event.segment_id
        self.query_one(ScatterPlot).selected = event.segment_id
        self._update_profile()

    @on(TabbedContent.TabActivated, "#views")
    def _view_changed(self, event: TabbedContent.TabActivated) -> None:
        # The stylesheet gives the plots more rows on short terminals.
        self.set_class(event.pane.id in ("scatter", "sweep"), "-plot-view")

    @on(SegmentsTable.Opened)
    def _segment_opened(self, event: SegmentsTable.Opened) -> None:
        self.action_detail()

    def _show_evidence(self, evidence: Evidence | None) -> None:
        """Stability (and the auto-k scan) arrived from its worker: fill in the table."""
        if evidence is None:
            return
        if self.segtui.segview is not None:
            self._show_view(self.segtui.segview)
        choice = evidence.k_choice
        if choice is not None and self.segtui.sweep_result is None:
            self.query_one(SweepView).show_choice(choice, self._weighted())

    def _weighted(self) -> bool:
        outcome = self.segtui.outcome
        return outcome is not None and outcome.prepared.segment_weights is not None

    def _show_sweep(self, result: SweepResult | None) -> None:
        if result is None:
            return
        self.query_one(SweepView).show(result, self._weighted())
        suggested = result.k_choice.k if result.k_choice is not None else result.suggested_k
        if suggested is not None:
            self._say(f"k sweep done: suggested k = {suggested}; t takes it.", transient=True)
        else:
            self._say("k sweep done: no k suggested (see the k sweep tab).", transient=True)
        if self.segtui.outcome is not None:
            self.query_one("#fit-text", Static).update(fit_text(self.segtui.outcome, result))
        self.action_view("sweep")

    # ----- setup and refits ---------------------------------------------------------------

    @on(SetupPanel.Changed)
    def _setup_changed(self) -> None:
        self._schedule_refit()

    @on(SetupPanel.Refused)
    def _setup_refused(self, event: SetupPanel.Refused) -> None:
        self._refused(event.problem)

    def _refused(self, problem: str) -> None:
        # An earlier keystroke may have scheduled a refit ("99" on the way to "9999"):
        # nothing refits while the input on screen is refused.
        self._cancel_refit()
        self._say(problem, error=True)

    def _cancel_refit(self) -> None:
        if self._refit_timer is not None:
            self._refit_timer.stop()
            self._refit_timer = None

    def _schedule_refit(self) -> None:
        """Refit shortly after the last change, so typing '12' refits once, not twice."""
        self._cancel_refit()
        self._refit_timer = self.set_timer(self.REFIT_DELAY, self._refit_now)

    def _refit_now(self) -> None:
        self._refit_timer = None
        self.segtui.request_fit()

    def action_refit(self) -> None:
        problem = self.query_one(SetupPanel).read()
        if problem:
            self._refused(problem)
            return
        self.segtui.request_fit()

    def action_sweep(self) -> None:
        from segtui.clustering.registry import ALGORITHMS

        app = self.segtui
        if not ALGORITHMS[app.choices.algorithm].uses_k:
            self._say("This algorithm has no k to sweep.", error=True)
            return
        if app.dataset is None:
            return
        top = max(2, min(12, app.dataset.n_users - 1))
        app.request_sweep(list(range(2, top + 1)))

    def action_take_k(self) -> None:
        result, evidence = self.segtui.sweep_result, self.segtui.evidence
        if result is not None and result.k_choice is not None:
            self._set_k(int(result.k_choice.k))
            return
        if result is None and evidence is not None and evidence.k_choice is not None:
            self._set_k(int(evidence.k_choice.k))
            return
        if result is None or result.suggested_k is None:
            self._say("Run a k sweep first (w).", error=True)
            return
        self._set_k(int(result.suggested_k))

    def action_change_k(self, delta: int) -> None:
        k = self.segtui.choices.params.get("k")
        if k is None:
            self._say("This algorithm has no k.", error=True)
            return
        self._set_k(int(k) + delta)

    def _set_k(self, k: int) -> None:
        app = self.segtui
        limit = app.dataset.n_users if app.dataset else k
        if k < 2 or k > limit:
            self._say(f"k must be between 2 and {limit}.", error=True)
            return
        self.query_one(SetupPanel).set_k(k)
        self._say(f"k = {k}: refitting…", transient=True)
        self._schedule_refit()

    # ----- shaping ------------------------------------------------------------------------

    def _current(self) -> int | None:
        return self.query_one(SegmentsTable).current_id

    def _edit(self, make: Edit) -> None:
        """Apply a Segmentation edit; a refused edit says why where the person is looking."""
        app = self.segtui
        if app.segmentation is None:
            return
        try:
            new, select = make(app.segmentation)
        except InputError as error:
            self._say(error.describe(), error=True)
            return
        self._select_after = (new, select)
        app.apply_edit(new)
        self._say(f"Done: {new.history[-1] if new.history else 'edit'} (u undoes)")

    def action_rename(self) -> None:
        current = self._current()
        seg = self.segtui.segmentation
        if current is None or seg is None:
            return
        self._close_editor()
        box = self.query_one("#rename-input", Input)
        box.value = seg.names.get(current, "")
        box.border_title = "Rename (enter: ok, esc: cancel)"
        self._editing = "rename"
        box.display = True
        box.focus()

    def action_add_rule(self) -> None:
        if self.segtui.segmentation is None:
            return
        self._close_editor()
        self._editing = "rule"
        self.query_one(RuleEditor).open()

    def _close_editor(self) -> None:
        self.query_one("#rename-input").display = False
        self.query_one(RuleEditor).display = False
        if self._editing:
            self._editing = None
            self.query_one(SegmentsTable).focus()

    @on(Input.Submitted, "#rename-input")
    def _rename_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        current = self._current()
        name = event.value.strip()
        self._close_editor()
        if current is not None and name:
            self._edit(lambda seg: (seg.rename(current, name), current))

    @on(RuleEditor.Submitted)
    def _rule_submitted(self, event: RuleEditor.Submitted) -> None:
        self._close_editor()

        def add(seg: Segmentation) -> tuple[Segmentation, int | None]:
            new = seg.add_rule_segment(event.name, event.rule_text)
            return new, max(new.segment_ids) if new.segment_ids else None

        self._edit(add)

    def action_remove_rule(self) -> None:
        current = self._current()
        seg = self.segtui.segmentation
        if current is None or seg is None:
            return
        if seg.rule(current) is None:
            self._say("The selected segment is not a rule segment.", error=True)
            return
        self._edit(lambda s: (s.remove_rule_segment(current), None))

    @on(SegmentsTable.MergeRequested)
    def _merge_requested(self, event: SegmentsTable.MergeRequested) -> None:
        sources, target = event.sources, event.target
        self._edit(lambda seg: (self._merged(seg, [target, *sources], target), target))

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
        self._edit(lambda seg: (self._merged(seg, marked, target), target))

    def _merged(self, seg: Segmentation, ids: list[int], target: int) -> Segmentation:
        """The merge, named from the merged segment's profile (see ``pipeline.merge``)."""
        outcome = self.segtui.outcome
        if outcome is None:
            return seg.merge(ids, into=target)
        return pipeline.merge(outcome, seg, ids, target)

    def action_split(self) -> None:
        current = self._current()
        if current is None:
            return
        seg = self.segtui.segmentation
        if seg is not None and seg.rule(current) is not None:
            self._say("Rule segments cannot be split; edit the rule instead.", error=True)
            return
        self.segtui.request_split(current, 2)

    def action_undo(self) -> None:
        self._step_history(undo=True)

    def action_redo(self) -> None:
        self._step_history(undo=False)

    def _step_history(self, *, undo: bool) -> None:
        """Undo or redo one edit; the edits are replayed in the App's view worker."""
        seg = self.segtui.segmentation
        if seg is None or not (seg.can_undo if undo else seg.can_redo):
            self._say("Nothing to undo." if undo else "Nothing to redo.")
            return
        text = seg.undo_text if undo else seg.redo_text
        self.segtui.apply_edit(seg.undo() if undo else seg.redo())
        self._say(f"Undid: {text}" if undo else f"Redid: {text}")

    # ----- navigation ---------------------------------------------------------------------

    def action_toggle_setup(self) -> None:
        opening = not self.has_class("-setup-open")
        self.set_class(opening, "-setup-open")
        if opening:
            self.query_one(SetupPanel).focus_first()
        else:
            self.query_one(SegmentsTable).focus()

    def action_view(self, name: str) -> None:
        self.query_one("#views", TabbedContent).active = name

    def action_next_view(self) -> None:
        tabs = self.query_one("#views", TabbedContent)
        tabs.active = (
            VIEWS[(VIEWS.index(tabs.active) + 1) % len(VIEWS)] if tabs.active in VIEWS else VIEWS[0]
        )

    def action_toggle_projection(self) -> None:
        """PCA <-> t-SNE in the scatter; the t-SNE is computed once per fit, in a worker."""
        app = self.segtui
        if app.outcome is None or app.segview is None:
            self._say("No fit yet: the scatter appears when segments are ready.", error=True)
            return
        self._projection = "pca" if self._projection == "tsne" else "tsne"
        self.action_view("scatter")
        if self._projection == "tsne" and app.tsne_for(app.outcome) is None:
            self._say(
                "Computing the t-SNE in the background; the PCA stays until it is ready.",
                transient=True,
            )
        self._update_scatter(app.segview)

    def action_merge_tree(self) -> None:
        """The merge tree of a hierarchical fit; other algorithms have none, and say so."""
        from segtui.app.screens.merge_tree import MergeTreeScreen, tree_unavailable

        app = self.segtui
        problem = tree_unavailable(app.outcome)
        if problem:
            self._say(problem, error=True)
            return
        self.app.push_screen(MergeTreeScreen(), self._tree_cut)

    def _tree_cut(self, k: int | None) -> None:
        """A level picked in the tree: the same refit path as k+1/k-1, with that k."""
        outcome = self.segtui.outcome
        if k is None or outcome is None or k == outcome.request.fit.params.get("k"):
            return
        self._set_k(k)

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
        if current is None or self.segtui.segview is None:
            return
        table = self.query_one(SegmentsTable)
        self.app.push_screen(DetailScreen(current, order=lambda: table.order), self._detail_closed)

    def _detail_closed(self, segment_id: int | None) -> None:
        """Back from the detail: the table lands on the segment looked at last."""
        if segment_id is not None:
            self.query_one(SegmentsTable).select(segment_id)

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
