"""The segtui app: a thin layer that runs the core in workers and shows what it returns.

State lives here, in typed reactives (the dataset, the current fit, the Segmentation being
edited, the choices, what is running, the note for the person); screens watch it, render it, and
ask for changes and work through the App's methods (``choose``, ``apply_edit``, ``request_*``).
The App never reaches into a screen to show a result: it sets its state and the screens react.
Every slow job is a thread worker in its own exclusive group (a newer request cancels an older
one), reports back only by posting small dataclass messages (``segtui.app.messages``), and one
``Worker.StateChanged`` handler turns a failure into a message the person can read.
The old result stays on screen until a new one is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App
from textual.reactive import var
from textual.worker import Worker, WorkerState, get_current_worker

from segtui.app import pipeline
from segtui.app.commands import SegtuiCommands
from segtui.app.keys import bind
from segtui.app.messages import (
    DataLoaded,
    EpsReady,
    EvidenceReady,
    ExportDone,
    FitReady,
    LoadFailed,
    Progress,
    SplitReady,
    SweepReady,
    TsneReady,
    ViewReady,
)
from segtui.app.screens.dialogs import ConfirmScreen, MessageScreen, PathScreen
from segtui.app.screens.loading import LoadingScreen
from segtui.app.state import Activity, Choices, Note
from segtui.app.themes import DEFAULT_THEME, load_themes
from segtui.artifacts.project import PROJECT_SUFFIX, Project, save_project
from segtui.errors import InputError

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from segtui.app.screens.explore import ExploreScreen
    from segtui.clustering.autok import KChoice
    from segtui.clustering.diagnostics import SweepResult
    from segtui.clustering.registry import AlgorithmInfo
    from segtui.clustering.stability import BootCache
    from segtui.pipeline import Evidence
    from segtui.segments.segmentation import CarriedRules, Segmentation


@dataclass(frozen=True)
class FitJob:
    """What a fit worker needs: the data, the request, the Segmentation whose rules carry over
    (None when a project is reopened) and the project's saved edits to replay."""

    dataset: pipeline.Dataset
    request: pipeline.FitRequest
    old: Segmentation | None
    saved_edits: dict[str, Any] | None


def describe_error(error: BaseException) -> str:
    """What a person reads about a failure: InputError's paragraph, else the bug's type and text."""
    if isinstance(error, InputError):
        return error.describe()
    return f"{type(error).__name__}: {error}"


def refit_note(outcome: pipeline.FitOutcome, carried: CarriedRules, lost: list[str]) -> Note | None:
    """After a refit, what happened to the person's edits (nothing is lost silently)."""
    parts = []
    if carried.carried:
        parts.append(f"kept {len(carried.carried)} rule segment(s)")
    if lost:
        parts.append(f"discarded {len(lost)} edit(s) of the old segments")
    if carried.dropped:
        parts.append("dropped rule " + "; ".join(carried.dropped))
    if not parts:
        return None
    k = outcome.request.fit.params.get("k")
    what = outcome.request.fit.algorithm + (f" k={k}" if k is not None else "")
    return Note(f"Refit ({what}): " + ", ".join(parts) + ".", error=bool(carried.dropped))


def refit_question(lost: list[str], has_rules: bool) -> str:
    """The question asked before a refit discards edits made on the current segments."""
    shown = [f"  - {line}" for line in lost[:5]]
    if len(lost) > 5:
        shown.append(f"  ... and {len(lost) - 5} more")
    rules = "Rule segments are carried over." if has_rules else ""
    return (
        f"Refit discards {len(lost)} edit(s) made on the current segments:\n"
        + "\n".join(shown)
        + f"\n{rules}".rstrip()
        + "\n\nKeep current: the segments and edits stay; R refits later."
    )


class SegtuiApp(App[None]):
    """Explore, shape and export behavioral segments."""

    CSS_PATH = "segtui.tcss"
    TITLE = "segtui"
    COMMANDS = App.COMMANDS | {SegtuiCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012
    BINDINGS = [  # noqa: RUF012
        bind("question_mark,f1", "help", "Help", id="app.help", tooltip="Every key, by screen"),
        bind(
            "ctrl+s",
            "save_project",
            "Save",
            id="app.save",
            tooltip="Save the session to a .segtui.json project file",
            show=False,
        ),
        bind(
            "ctrl+q",
            "request_quit",
            "Quit",
            id="app.quit",
            tooltip="Quit (asks first when there are unsaved edits)",
            show=False,
            priority=True,
        ),
    ]

    # The session. Results are replaced whole (``always_update``: they hold arrays, and a new
    # result is news even when it equals the old one).
    dataset: var[pipeline.Dataset | None] = var(None, always_update=True, init=False)
    outcome: var[pipeline.FitOutcome | None] = var(None, always_update=True, init=False)
    segview: var[pipeline.SegmentsView | None] = var(None, always_update=True, init=False)
    segmentation: var[Segmentation | None] = var(None, always_update=True, init=False)
    sweep_result: var[SweepResult | None] = var(None, always_update=True, init=False)
    eps_hint: var[EpsReady | None] = var(None, always_update=True, init=False)
    evidence: var[Evidence | None] = var(None, always_update=True, init=False)
    """Stability and the auto-k scan of the shown fit, filled in by a worker after it shows."""
    tsne: var[TsneReady | None] = var(None, always_update=True, init=False)
    """The newest t-SNE picture and the fit it belongs to (stale once another fit is shown)."""
    choices: var[Choices] = var(Choices, init=False)
    activity: var[Activity | None] = var(None, init=False)
    """The job the person waits for in the explore screen (a fit, a sweep, a split)."""
    note: var[Note | None] = var(None, always_update=True, init=False)
    """The newest sentence for the line under the segments table."""
    dirty: var[bool] = var(False, init=False)

    def __init__(
        self,
        paths: list[str] | None = None,
        *,
        load_options: dict[str, Any] | None = None,
        project: Project | None = None,
        project_path: str | None = None,
        theme: str | None = None,
        review_mapping: bool = False,
        watch_terminal: bool = True,
        watch_state: str | None = None,
        engine: str = "polars",
        memory_limit: str | None = None,
        spark_master: str | None = None,
    ) -> None:
        no_color = "NO_COLOR" in os.environ
        super().__init__(ansi_color=True if no_color else None)
        self.no_color_mode = no_color
        self.paths = list(paths or (project.data_paths if project else []))
        self.load_options = dict(load_options or (project.load_options if project else {}))
        if project is not None and project.mapping:
            self.load_options["mapping"] = dict(project.mapping)
        self.project = project
        self.project_path = project_path
        self.review_mapping = review_mapping
        self.watch_terminal = watch_terminal
        self.watch_state = watch_state
        """A watch state to show live (``segtui open STATE``) instead of event files."""
        self.engine = engine
        """Which engine computes the features: polars, or duckdb|spark from SQL (the open
        screen's choice; ``segtui open --engine`` preselects it)."""
        self.memory_limit = memory_limit
        """DuckDB's ``--memory-limit`` (None: its default share of this machine's memory)."""
        self.spark_master = spark_master
        """Spark's ``--spark-master`` (None: ``local[*]``)."""
        self.requested_theme = theme
        self.theme_problems: list[str] = []
        self._asking_refit = False
        self._tsne_running: pipeline.FitOutcome | None = None
        self._tsne_activity: Activity | None = None
        self._previous_options: dict[str, Any] = dict(self.load_options)
        self.auto_k = project is None
        """k is chosen with evidence (-k auto) until the person or a project sets it."""
        self._boot: tuple[tuple[object, ...], BootCache] | None = None
        self._k_choice: tuple[tuple[object, ...], KChoice] | None = None

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification is plain text: messages carry file names, column names and
        segment names (``Widget.notify`` asks for markup by default; segtui never sends any)."""
        super().notify(str(message), title=title, severity=severity, timeout=timeout, markup=False)

    # ----- start-up -----------------------------------------------------------------------

    def on_mount(self) -> None:
        self._apply_themes()
        if self.watch_terminal and not self.is_headless:
            self._install_hangup_handlers()
            self.set_interval(2.0, self._check_terminal)
        if self.watch_state is not None:
            from segtui.app.screens.watch import WatchScreen

            self.push_screen(WatchScreen(self.watch_state))
            return
        self.push_screen(LoadingScreen(self.paths, self.engine))
        if self.paths:
            self._load_worker(list(self.paths), dict(self.load_options), self.engine)
        else:
            self.call_after_refresh(
                self.loading_screen.show_failure, "No data given: type the path of an event file."
            )

    def _apply_themes(self) -> None:
        themes, self.theme_problems = load_themes()
        for theme in themes:
            self.register_theme(theme)
        wanted = self.requested_theme or DEFAULT_THEME
        if self.no_color_mode and not self.requested_theme:
            wanted = "ansi-dark"
        if wanted in self.available_themes:
            self.theme = wanted
        else:
            self.notify(
                f"Unknown theme '{wanted}'. Themes: {', '.join(sorted(self.available_themes))}",
                severity="warning",
            )
        if self.no_color_mode:
            self.add_class("-no-color")
        for problem in self.theme_problems:
            self.notify(problem, severity="warning")

    @property
    def loading_screen(self) -> LoadingScreen:
        for screen in self.screen_stack:
            if isinstance(screen, LoadingScreen):
                return screen
        raise LookupError("no loading screen")

    def _install_hangup_handlers(self) -> None:
        """Exit cleanly when the terminal goes away (SSH dropped), instead of spinning."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM):
            with contextlib.suppress(ValueError, OSError, NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.exit)

    def _check_terminal(self) -> None:
        """The controlling terminal is gone when /dev/tty cannot be opened any more."""
        try:
            fd = os.open("/dev/tty", os.O_RDONLY | getattr(os, "O_NOCTTY", 0))
        except OSError:
            self.exit(message="segtui: the terminal went away; exiting.")
            return
        os.close(fd)

    # ----- loading ------------------------------------------------------------------------

    def start_load(self, paths: list[str]) -> None:
        self.paths = list(paths)
        if not isinstance(self.screen, LoadingScreen):
            with contextlib.suppress(LookupError):
                self.loading_screen.restart(self.paths)
        else:
            self.screen.restart(self.paths)
        self._load_worker(list(paths), dict(self.load_options), self.engine)

    def choose_engine(self, engine: str) -> None:
        """The open screen's engine changed: the next load uses it, and a load (or first fit)
        already running starts again with it. After a failure the person presses enter."""
        self.engine = engine
        if self.explore_screen is not None:
            return
        with contextlib.suppress(LookupError):
            if self.loading_screen.has_class("-failed") or not self.paths:
                return
        self.workers.cancel_group(self, "fit")
        self.dataset = None
        self.start_load(self.paths)

    def remap(self, canonical: str, source: str) -> None:
        """Map ``canonical`` from another source column and reload; the current data stays until
        the new one is ready (and comes back if the reload fails)."""
        self._previous_options = dict(self.load_options)
        overrides = dict(self.load_options.get("overrides") or {})
        overrides[canonical] = source
        self.load_options = {**self.load_options, "overrides": overrides}
        self._load_worker(list(self.paths), dict(self.load_options), self.engine)

    @work(
        thread=True, exclusive=True, group="load", exit_on_error=False, description="Loading events"
    )
    def _load_worker(self, paths: list[str], options: dict[str, Any], engine: str) -> None:
        worker = get_current_worker()

        def progress(stage: str, fraction: float | None = None) -> None:
            self.post_message(Progress("load", stage, fraction))

        try:
            dataset = pipeline.load_dataset(
                paths,
                pipeline.make_load_options(**options),
                progress=progress,
                should_stop=lambda: worker.is_cancelled,
                engine=engine,
                memory_limit=self.memory_limit if engine == "duckdb" else None,
                spark_master=self.spark_master if engine == "spark" else None,
            )
        except pipeline.Cancelled:
            return
        except Exception as error:  # the person must see it and keep going
            self.post_message(LoadFailed(describe_error(error), paths))
            return
        if not worker.is_cancelled:
            self.post_message(DataLoaded(dataset))

    @on(Progress)
    def _progress(self, message: Progress) -> None:
        if message.job != "load":
            self.activity = Activity(message.stage, message.fraction)
            return
        with contextlib.suppress(LookupError):
            self.loading_screen.show_progress(message.stage, message.fraction, message.rows)

    @on(LoadFailed)
    def _load_failed(self, message: LoadFailed) -> None:
        if self.dataset is not None and self.explore_screen is not None:
            # A reload (new mapping) failed: the old data and mapping stay; say why.
            self.load_options = dict(self._previous_options)
            self.push_screen(
                MessageScreen("Could not reload; the previous mapping is kept", message.message)
            )
            return
        with contextlib.suppress(LookupError):
            self.loading_screen.show_failure(message.message)

    @on(DataLoaded)
    def _data_loaded(self, message: DataLoaded) -> None:
        first = self.dataset is None
        self.choices = self._choices_for(message.dataset)
        self.dataset = message.dataset
        if first:
            with contextlib.suppress(LookupError):
                self.loading_screen.show_loaded(message.dataset.summary(), message.dataset.seconds)
            if self.review_mapping and message.dataset.loaded is not None:
                # The person asked to review the mapping first: show it while the fit runs.
                from segtui.app.screens.mapping import MappingScreen

                self._show_explore()
                self.push_screen(MappingScreen())
            # Otherwise the loading screen stays, with the counts, until the first fit is ready.
            self.request_fit()
            return
        self.dirty = True
        lost = pipeline.fit_bound_edits(self.segmentation)
        if lost:
            self.notify(
                f"Reloaded with the new mapping: {len(lost)} edit(s) made on the old segments "
                "were discarded; rule segments are carried over.",
                timeout=6,
            )
        self.request_fit(ask=False)

    def _show_explore(self) -> None:
        """Replace the loading screen with the explore screen (once)."""
        from segtui.app.screens.explore import ExploreScreen

        if self.explore_screen is not None:
            return
        while len(self.screen_stack) > 2 and not isinstance(self.screen, LoadingScreen):
            self.pop_screen()  # a help or question opened over the loading screen
        self.switch_screen(ExploreScreen())

    def _choices_for(self, dataset: pipeline.Dataset) -> Choices:
        """The choices for newly loaded data: the project's, else the current ones that still
        apply, with the catalog's default features and the algorithm's default parameters."""
        from segtui.clustering.registry import ALGORITHMS

        project = self.project
        names = set(dataset.feature_names)
        defaults = tuple(dataset.default_features)
        if project is not None and project.features:
            features = tuple(name for name in project.features if name in names)
            fit = project.fit
            choices = Choices(
                features or defaults,
                fit.algorithm,
                dict(fit.params),
                fit.seed,
                fit.sample_size,
                project.weighting,
            )
        else:
            features = pipeline.features_after_load(self.dataset, self.choices.features, dataset)
            choices = replace(self.choices, features=features)
        if choices.algorithm not in ALGORITHMS:
            choices = replace(choices, algorithm=next(iter(ALGORITHMS)))
        if not choices.params:
            choices = replace(choices, params=default_params(ALGORITHMS[choices.algorithm]))
        return choices

    def choose(self, choices: Choices) -> None:
        """The setup changed (a screen's inputs): the next fit uses ``choices``."""
        if choices.params.get("k") != self.choices.params.get("k"):
            self.auto_k = False  # the person set k: it is forced from now on
        self.choices = choices

    @property
    def explore_screen(self) -> ExploreScreen | None:
        from segtui.app.screens.explore import ExploreScreen

        for screen in self.screen_stack:
            if isinstance(screen, ExploreScreen):
                return screen
        return None

    # ----- fitting ------------------------------------------------------------------------

    def request_fit(self, *, ask: bool = True) -> None:
        """Refit with the current choices; a newer request cancels an older one.

        Rule segments carry over to the new fit. Renames, merges and splits belong to the
        segments they were made on: when there are any, the person is asked first (``ask``).
        """
        if self.dataset is None:
            return
        if len(self.choices.features) < 2:
            self.notify("Pick at least two features to segment on.", severity="warning")
            return
        lost = pipeline.fit_bound_edits(self.segmentation) if self.outcome is not None else []
        if ask and lost:
            if self._asking_refit:
                return  # the open question refits with the newest choices when answered
            self._asking_refit = True
            has_rules = self.segmentation is not None and self.segmentation.has_rules
            self.push_screen(
                ConfirmScreen(
                    refit_question(lost, has_rules), yes="Refit", no="Keep current", title="Refit?"
                ),
                self._refit_answered,
            )
            return
        self._start_fit()

    def _refit_answered(self, yes: bool | None) -> None:
        self._asking_refit = False
        if yes:
            self._start_fit()
        elif self.outcome is not None:
            self.choices = Choices.from_request(self.outcome.request)
            self.note = Note(
                "Kept the current segments and edits; the setup is back to the current fit's."
            )

    def _start_fit(self) -> None:
        assert self.dataset is not None
        self.activity = Activity("Fitting…")
        reopening = self.project is not None and self.outcome is None
        saved = self.project.segmentation if reopening and self.project is not None else None
        old = None if reopening else self.segmentation
        self._fit_worker(FitJob(self.dataset, self.choices.request(), old, saved or None))

    @work(
        thread=True,
        exclusive=True,
        group="fit",
        exit_on_error=False,
        description="Fitting segments",
    )
    def _fit_worker(self, job: FitJob) -> None:
        worker = get_current_worker()

        def progress(stage: str, fraction: float | None = None) -> None:
            self.post_message(Progress("fit", stage, fraction))

        try:
            outcome = pipeline.fit(job.dataset, job.request, progress, lambda: worker.is_cancelled)
            carried = pipeline.carry_rules(job.old, outcome.segmentation)
            segmentation, problem = carried.segmentation, ""
            if job.saved_edits:
                # Reopening a project: replay the saved edits on the same (deterministic) fit.
                try:
                    segmentation = segmentation.with_saved(job.saved_edits)
                except InputError as error:
                    problem = error.describe()
            view = pipeline.view(job.dataset, outcome, segmentation)
        except pipeline.Cancelled:
            return
        if not worker.is_cancelled:
            replayed = bool(job.saved_edits)
            self.post_message(FitReady(outcome, view, carried, job.old, replayed, problem))

    @on(FitReady)
    def _fit_ready(self, message: FitReady) -> None:
        if self.dataset is None:
            return  # the open screen's engine changed while it ran: its data is being reloaded
        outcome, carried, old = message.outcome, message.carried, message.replaced
        segmentation = message.view.segmentation
        if message.replayed and self.project is not None:
            if message.replay_problem:
                self.notify(
                    f"Saved edits could not be replayed: {message.replay_problem}",
                    severity="error",
                )
            self.project = replace(self.project, segmentation=None)
        elif old is not self.segmentation:
            # An edit landed while the fit ran: carry the newest rules instead.
            carried = pipeline.carry_rules(self.segmentation, outcome.segmentation)
            segmentation = carried.segmentation
            old = self.segmentation
        lost = [] if message.replayed else pipeline.fit_bound_edits(old)
        if lost or carried.carried or carried.dropped:
            self.dirty = True
        self.activity = None
        self.outcome = outcome
        self.segmentation = segmentation
        self.segview = message.view
        if message.view.segmentation is not segmentation:
            self._view_worker(self.dataset, outcome, segmentation)
        self._show_explore()
        if (note := refit_note(outcome, carried, lost)) is not None:
            self.note = note
        self.evidence = None
        self._start_evidence(outcome)

    # ----- stability and auto-k (after the segments are on screen) -------------------------

    def _start_evidence(self, outcome: pipeline.FitOutcome) -> None:
        from segtui.clustering.registry import ALGORITHMS

        key = pipeline.cache_key(outcome)
        cache = self._boot[1] if self._boot is not None and self._boot[0] == key else None
        uses_k = ALGORITHMS[outcome.request.fit.algorithm].uses_k
        self._evidence_worker(outcome, self.auto_k and uses_k, cache, key)

    @work(
        thread=True,
        exclusive=True,
        group="evidence",
        exit_on_error=False,
        description="Measuring stability",
    )
    def _evidence_worker(
        self,
        outcome: pipeline.FitOutcome,
        auto_k: bool,
        cache: BootCache | None,
        key: tuple[object, ...],
    ) -> None:
        worker = get_current_worker()

        def progress(stage: str, fraction: float | None = None) -> None:
            self.post_message(Progress("evidence", stage, fraction))

        try:
            found = pipeline.evidence(
                outcome,
                auto_k=auto_k,
                cache=cache,
                progress=progress,
                should_stop=lambda: worker.is_cancelled,
            )
        except pipeline.Cancelled:
            return
        if not worker.is_cancelled:
            self.post_message(EvidenceReady(outcome, found, key))

    @on(EvidenceReady)
    def _evidence_ready(self, message: EvidenceReady) -> None:
        if message.outcome is not self.outcome:
            return  # a newer fit is shown; its own evidence is on its way
        found = message.evidence
        busy = {"fit", "sweep", "split", "view"}
        if not any(w.group in busy and not w.is_finished for w in self.workers):
            self.activity = None  # the status line showed the measuring; it is done
        if found.cache is not None:
            self._boot = (message.key, found.cache)
        scan = pipeline.k_scan_key(message.outcome)
        if found.k_choice is not None:
            self._k_choice = (scan, found.k_choice)
        elif self._k_choice is not None and self._k_choice[0] == scan:
            found.k_choice = self._k_choice[1]  # the scan that chose this fit's k
        message.outcome.run.evidence = found  # so the export records it
        choice = found.k_choice
        shown_k = message.outcome.result.params.get("k")
        if choice is not None and self.auto_k:
            # Suggested, never applied behind the person's back: the segments they are reading
            # do not change under them; t takes the pick.
            self.auto_k = False
            # One line at 80 columns: the reason is in full in the k sweep tab (3).
            if choice.k != shown_k:
                self.note = Note(
                    f"auto-k suggests k = {choice.k}: t takes it; 3 (k sweep) says why."
                )
            else:
                self.note = Note(f"auto-k agrees: k = {choice.k}; 3 (k sweep) says why.")
        self.evidence = found

    def apply_edit(self, new_segmentation: Segmentation) -> None:
        """A Segmentation edit: keep it now, recompute labels and profiles in a worker."""
        if self.outcome is None or self.dataset is None:
            return
        self.segmentation = new_segmentation
        self.dirty = True
        self.activity = Activity("Profiling segments…")
        self._view_worker(self.dataset, self.outcome, new_segmentation)

    @work(
        thread=True,
        exclusive=True,
        group="view",
        exit_on_error=False,
        description="Profiling segments",
    )
    def _view_worker(
        self,
        dataset: pipeline.Dataset | None,
        outcome: pipeline.FitOutcome,
        segmentation: Segmentation,
    ) -> None:
        """Labels and profiles of ``segmentation``; replaying its edits (after an undo) happens
        here, not on the event loop."""
        worker = get_current_worker()
        assert dataset is not None
        view = pipeline.view(dataset, outcome, segmentation)
        if not worker.is_cancelled:
            self.post_message(ViewReady(view))

    @on(ViewReady)
    def _view_ready(self, message: ViewReady) -> None:
        if message.view.segmentation is not self.segmentation:
            return  # an older edit's view; a newer one is on its way
        self.activity = None
        self.segview = message.view

    def request_sweep(self, ks: list[int]) -> None:
        if self.dataset is None:
            return
        self.activity = Activity("Sweeping k…")
        self._sweep_worker(self.dataset, self.choices.request(), ks)

    @work(thread=True, exclusive=True, group="sweep", exit_on_error=False, description="Sweeping k")
    def _sweep_worker(
        self, dataset: pipeline.Dataset, request: pipeline.FitRequest, ks: list[int]
    ) -> None:
        worker = get_current_worker()

        def progress(stage: str, fraction: float | None = None) -> None:
            self.post_message(Progress("sweep", stage, fraction))

        try:
            result = pipeline.sweep(dataset, request, ks, progress, lambda: worker.is_cancelled)
        except pipeline.Cancelled:
            return
        if not worker.is_cancelled:
            self.post_message(SweepReady(result))

    @on(SweepReady)
    def _sweep_ready(self, message: SweepReady) -> None:
        self.activity = None
        self.sweep_result = message.result

    def request_split(self, segment_id: int, parts: int = 2) -> None:
        if self.outcome is None or self.segmentation is None:
            return
        self.activity = Activity("Splitting…")
        self._split_worker(self.outcome, self.segmentation, segment_id, parts)

    @work(
        thread=True,
        exclusive=True,
        group="split",
        exit_on_error=False,
        description="Splitting a segment",
    )
    def _split_worker(
        self, outcome: pipeline.FitOutcome, segmentation: Segmentation, segment_id: int, parts: int
    ) -> None:
        worker = get_current_worker()
        new, text = pipeline.split(outcome, segmentation, segment_id, parts)
        if not worker.is_cancelled:
            self.post_message(SplitReady(new, text, segmentation))

    @on(SplitReady)
    def _split_ready(self, message: SplitReady) -> None:
        """The split is done: "Splitting…" goes now (profiling the new parts says so itself)."""
        self.activity = None
        if message.base is not None and message.base is not self.segmentation:
            # A refit or another edit landed while it ran: its parts belong to older segments.
            self.note = Note("The segments changed while the split ran; press s to split again.")
            return
        self.apply_edit(message.segmentation)
        self.notify(message.description, timeout=3)

    def tsne_for(self, outcome: pipeline.FitOutcome | None) -> TsneReady | None:
        """The cached t-SNE of ``outcome``, or None when there is none yet (or it is stale)."""
        cached = self.tsne
        return cached if cached is not None and cached.outcome is outcome else None

    def request_tsne(self) -> None:
        """Compute the current fit's t-SNE in a worker, unless it is cached or on its way."""
        outcome = self.outcome
        if outcome is None or self.tsne_for(outcome) is not None:
            return
        if self._tsne_running is outcome:
            return
        self._tsne_running = outcome
        self._tsne_activity = Activity("Computing the t-SNE…")
        self.activity = self._tsne_activity
        self._tsne_worker(outcome)

    @work(
        thread=True,
        exclusive=True,
        group="tsne",
        exit_on_error=False,
        description="Computing the t-SNE",
    )
    def _tsne_worker(self, outcome: pipeline.FitOutcome) -> None:
        worker = get_current_worker()
        projection = pipeline.tsne(outcome)
        if not worker.is_cancelled:
            self.post_message(TsneReady(outcome, projection))

    @on(TsneReady)
    def _tsne_ready(self, message: TsneReady) -> None:
        if self._tsne_running is message.outcome:
            self._tsne_running = None
        if self.activity is self._tsne_activity:
            self.activity = None
        if message.outcome is self.outcome:
            self.tsne = message

    def request_eps(self, min_samples: int, seed: int) -> None:
        """DBSCAN's suggested eps on the current fit's matrix, shown in the setup panel."""
        if self.outcome is None:
            return
        self._eps_worker(self.outcome, min_samples, seed)

    @work(
        thread=True,
        exclusive=True,
        group="eps",
        exit_on_error=False,
        description="Suggesting eps",
    )
    def _eps_worker(self, outcome: pipeline.FitOutcome, min_samples: int, seed: int) -> None:
        try:
            suggestion = pipeline.eps_suggestion(outcome, min_samples, seed)
        except InputError as error:
            self.post_message(EpsReady(None, error.describe()))
            return
        self.post_message(EpsReady(suggestion, ""))

    @on(EpsReady)
    def _eps_ready(self, message: EpsReady) -> None:
        self.eps_hint = message

    # ----- failures -----------------------------------------------------------------------

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        self.worker_failed(event)

    def worker_failed(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker becomes something the person reads. A screen's or a
        widget's workers report to their own node (``StateChanged`` does not bubble): those
        nodes pass the event on here, so no failure is silent."""
        worker = event.worker
        if worker.state != WorkerState.ERROR:
            return
        error = worker.error
        assert error is not None
        if worker.group == "load":
            self.post_message(LoadFailed(describe_error(error), self.paths))
        elif isinstance(error, InputError):
            self.notify(error.describe(), title=worker.description, severity="error", timeout=8)
        else:
            self.push_screen(MessageScreen(f"{worker.description} failed", describe_error(error)))
        if worker.group == "fit" and self.dataset is not None:
            self._show_explore()  # the setup is where a failed first fit gets fixed
        if worker.group == "tsne":
            self._tsne_running = None
        if worker.node is self:
            self.activity = None  # the status line showed this job

    # ----- export -------------------------------------------------------------------------

    def action_export(self) -> None:
        from segtui.app.screens.export import ExportScreen

        if self.segview is None or self.dataset is None:
            self.notify("Nothing to export yet: wait for the first fit.", severity="warning")
            return
        self.push_screen(
            ExportScreen(self.segview.features, self.default_export_path()), self._export_chosen
        )

    def default_export_path(self) -> str:
        """./segments.parquet in the folder segtui was started from (never beside the data)."""
        return str(Path.cwd() / "segments.parquet")

    def _export_chosen(self, request: pipeline.ExportRequest | None) -> None:
        if request is None:
            return
        self._export_worker(request)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False, description="Exporting")
    def _export_worker(self, request: pipeline.ExportRequest) -> None:
        dataset, outcome, segmentation = self.dataset, self.outcome, self.segmentation
        assert dataset is not None and outcome is not None and segmentation is not None
        summary = pipeline.export(dataset, outcome, segmentation, request)
        self.post_message(ExportDone(summary))

    @on(ExportDone)
    def _export_done(self, message: ExportDone) -> None:
        summary = message.summary
        self.push_screen(MessageScreen("Exported", summary.text, copy_text=summary.command))

    # ----- project ------------------------------------------------------------------------

    def current_project(self) -> Project:
        seg = self.segmentation.to_saved() if self.segmentation is not None else None
        return Project(
            data_paths=[str(Path(p).resolve()) for p in self.paths],
            load_options={k: v for k, v in self.load_options.items() if k != "mapping"},
            mapping=pipeline.mapping_dict(self.dataset),
            features=list(self.choices.features),
            fit=self.choices.request().fit,
            segmentation=seg,
            weighting=self.choices.weighting,
        )

    def action_save_project(self) -> None:
        if self.dataset is None:
            self.notify("Nothing to save yet.", severity="warning")
            return
        default = self.project_path or str(Path.cwd() / f"segments{PROJECT_SUFFIX}")

        def chosen(path: str | None) -> None:
            if path:
                self.save_project_to(path)

        self.push_screen(PathScreen("Save project to", default), chosen)

    def save_project_to(self, path: str) -> Path | None:
        try:
            written = save_project(self.current_project(), path)
        except InputError as error:
            self.notify(error.describe(), severity="error", timeout=8)
            return None
        self.project_path = str(written)
        self.dirty = False
        self.notify(f"Saved {written}", timeout=3)
        return written

    # ----- help, quit ---------------------------------------------------------------------

    def action_help(self) -> None:
        from segtui.app.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """Every way out (the palette's Quit too) asks first when there are unsaved edits."""
        self.action_request_quit()

    def action_request_quit(self) -> None:
        if not self.dirty:
            self.exit()
            return
        self.push_screen(
            ConfirmScreen(
                "You have unsaved edits to the segments. Quit anyway?\n"
                "(Press n, then ctrl+s to save the project first.)",
                yes="Quit",
                no="Stay",
            ),
            lambda yes: self.exit() if yes else None,
        )


def default_params(info: AlgorithmInfo) -> dict[str, Any]:
    """An algorithm's parameter defaults, read from its parameter specs."""
    return dict(info.defaults())
