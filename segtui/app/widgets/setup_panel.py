"""The setup panel: the algorithm, its parameters, and the feature checkboxes.

It shows the App's ``choices`` and asks the App to change them (``SegtuiApp.choose``); it never
fits. A change it accepts is posted as :class:`SetupPanel.Changed` (the screen refits after a
short pause), an input it refuses as :class:`SetupPanel.Refused` (the screen says why, and no
refit runs while the input on screen is refused). When the choices change from elsewhere (new
data, "keep current" after a refit question) the panel rebuilds itself from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static

from segtui.app.plain import plain
from segtui.app.widgets.markbox import MarkBox
from segtui.clustering.registry import ALGORITHMS
from segtui.formatting import number

if TYPE_CHECKING:
    from segtui.app.app import SegtuiApp
    from segtui.app.state import Choices
    from segtui.clustering.registry import AlgorithmInfo, ParamSpec


class FeatureBox(MarkBox):
    """A feature's checkbox; its description shows below the list when it has focus."""

    def __init__(self, name: str, description: str, value: bool) -> None:
        # A users table's column can be named anything; only a plain name makes a widget id.
        ident = f"feat-{name}" if re.fullmatch(r"[A-Za-z0-9_-]+", name) else None
        super().__init__(plain(name), value, id=ident, compact=True)
        self.feature = name
        self.description = description
        self.tooltip = plain(description)  # data text (an event name) is never markup


class Refusal(ValueError):
    """An input the panel cannot take; the message says which and why."""


def _labelled(label: str, widget: Widget) -> Horizontal:
    return Horizontal(Label(label, classes="param-label"), widget, classes="param")


def _param_widget(spec: ParamSpec, value: Any) -> Widget:
    """The input for one parameter spec: a select, a checkbox or a number field."""
    if spec.kind == "choice":
        widget: Widget = Select(
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
    return widget


WEIGHTINGS_OFFERED = (("within segments", "within-segment"), ("none", "none"))
"""The feature weightings the panel offers the K-Means family (README, "How segtui prepares
features", step 8); the others run unweighted."""


def _weighting_widget(value: str) -> Widget:
    options = list(WEIGHTINGS_OFFERED)
    if value not in {v for _, v in options}:  # a project's "family": shown as it is, kept
        options.append((value, value))
    widget = Select(
        options,
        value=value,
        allow_blank=False,
        compact=True,
        id="param-weighting",
    )
    widget.tooltip = (
        "within segments: each feature counts by how tightly the segments hold it (refitted "
        "until no user moves); none: every feature counts once"
    )
    return widget


def _read_number(spec: ParamSpec, text: str, n_users: int | None) -> Any:
    """A typed parameter value, checked against the spec's bounds (and k against the users)."""
    if not text:
        if spec.allow_none:
            return None
        raise Refusal(f"{spec.label}: type a value")
    try:
        value: Any = int(text) if spec.kind == "int" else float(text)
    except ValueError:
        raise Refusal(f"{spec.label}: '{text}' is not a number") from None
    if spec.minimum is not None and value < spec.minimum:
        raise Refusal(f"{spec.label}: at least {number(spec.minimum)}")
    if spec.maximum is not None and value > spec.maximum:
        raise Refusal(f"{spec.label}: at most {number(spec.maximum)}")
    if spec.name == "k" and n_users is not None and value > n_users:
        raise Refusal(f"{spec.label}: at most {n_users} (the number of users)")
    return value


def algo_note(app: SegtuiApp, info: AlgorithmInfo, measuring: bool) -> Text:
    """Under the parameters: DBSCAN's suggested eps (and why), or the sample a quadratic
    algorithm was fitted on (the fit's note)."""
    outcome, hint = app.outcome, app.eps_hint
    text = Text()
    if info.name == "dbscan":
        if measuring:
            text.append("Suggested eps: measuring…", style="dim")
        elif hint is not None and hint.suggestion is not None:
            text.append(f"Suggested eps = {number(hint.suggestion.eps)}", style="bold")
            text.append(" (leave eps empty to use it): ")
            text.append(hint.suggestion.reason, style="dim")
        elif hint is not None:
            text.append(f"No eps suggestion: {hint.problem}", style="dim")
    if info.quadratic and outcome is not None and outcome.request.fit.algorithm == info.name:
        if text:
            text.append("\n")
        text.append("Last fit: ", style="bold")
        text.append(outcome.result.note)
    elif info.quadratic and info.default_sample_size:
        if text:
            text.append("\n")
        text.append(
            f"Fitted on a seeded sample of up to {number(info.default_sample_size)} users; the "
            "rest get the nearest segment.",
            style="dim",
        )
    return text


class SetupPanel(VerticalScroll):
    """Algorithm, parameters and features for the next fit."""

    @dataclass
    class Changed(Message):
        """The person changed the setup; the App's choices hold the change."""

    @dataclass
    class Refused(Message):
        """An input cannot be taken (``problem`` says why); nothing may refit from it."""

        problem: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: Choices | None = None
        self._stale = False

    @property
    def segtui(self) -> SegtuiApp:
        return cast("SegtuiApp", self.app)

    def compose(self) -> ComposeResult:
        yield Label("Algorithm", classes="section")
        yield Select(
            [(info.label, name) for name, info in ALGORITHMS.items()],
            value=self.segtui.choices.algorithm,
            id="algorithm",
            allow_blank=False,
            compact=True,
        )
        yield Vertical(id="params")
        yield Label("Features", classes="section")
        yield Vertical(id="features")
        yield Static("", id="feature-help")

    async def on_mount(self) -> None:
        app = self.segtui
        self.watch(app, "choices", self._choices_changed, init=False)
        self.watch(app, "dataset", self._schedule_rebuild, init=False)
        self.watch(app, "outcome", self._fit_shown, init=False)
        self.watch(app, "eps_hint", self._eps_shown, init=False)
        await self.rebuild()

    # ----- building -----------------------------------------------------------------------

    def _choices_changed(self, choices: Choices) -> None:
        if choices != self._shown:
            self._schedule_rebuild()

    def _schedule_rebuild(self) -> None:
        """Rebuild once, in this widget's queue (so two rebuilds never interleave)."""
        self._stale = True
        self.call_later(self._rebuild_if_stale)

    async def _rebuild_if_stale(self) -> None:
        if self._stale:
            await self.rebuild()

    async def rebuild(self) -> None:
        """Algorithm choice, the chosen algorithm's parameters, and the feature checkboxes."""
        self._stale = False
        app = self.segtui
        choices = self._shown = app.choices
        select = self.query_one("#algorithm", Select)
        with select.prevent(Select.Changed):
            select.value = choices.algorithm
        await self._build_params()
        features = self.query_one("#features", Vertical)
        await features.remove_children()
        if app.dataset is None:
            return
        chosen = set(choices.features)
        boxes: list[Widget] = []
        for family, items in app.dataset.families().items():
            boxes.append(Label(plain(family), classes="family"))
            boxes.extend(FeatureBox(name, text, name in chosen) for name, text in items)
        await features.mount_all(boxes)

    async def _build_params(self) -> None:
        choices = self.segtui.choices
        info = ALGORITHMS[choices.algorithm]
        box = self.query_one("#params", Vertical)
        await box.remove_children()
        widgets: list[Widget] = [
            _labelled(spec.label, _param_widget(spec, choices.params.get(spec.name, spec.default)))
            for spec in info.parameters
        ]
        if info.continues:  # the K-Means family: weights learned from its segments
            widgets.append(_labelled("Weights", _weighting_widget(choices.weighting)))
        seed = Input(str(choices.seed), type="integer", compact=True, id="param-seed")
        seed.tooltip = "Same seed, same segments"
        widgets.append(_labelled("Seed", seed))
        if info.quadratic:
            size = choices.sample_size or info.default_sample_size
            sample = Input(str(size or ""), type="integer", compact=True, id="param-sample_size")
            sample.tooltip = "Users the algorithm is fitted on; the rest get the nearest segment"
            widgets.append(_labelled("Sample size", sample))
        widgets.append(Static("", id="algo-note"))
        widgets.append(Static(info.description, classes="algo-help"))
        await box.mount_all(widgets)
        self.show_algo_note(ask=True)

    def _fit_shown(self) -> None:
        self.show_algo_note(ask=True)

    def _eps_shown(self) -> None:
        self.show_algo_note()

    def show_algo_note(self, ask: bool = False) -> None:
        """The note under the parameters; ``ask`` computes a fresh eps suggestion."""
        notes = self.query("#algo-note")
        if not notes:
            return
        app = self.segtui
        info = ALGORITHMS[app.choices.algorithm]
        measuring = ask and info.name == "dbscan" and app.outcome is not None
        if measuring:
            min_samples = app.choices.params.get("min_samples") or 10
            app.request_eps(int(min_samples), app.choices.seed)
        note = notes.first(Static)
        text = algo_note(app, info, measuring)
        note.update(text)
        note.display = bool(text)

    # ----- reading ------------------------------------------------------------------------

    def _choose(self, choices: Choices) -> None:
        self._shown = choices
        self.segtui.choose(choices)

    def read(self) -> str | None:
        """Read the parameter inputs into the App's choices; why not, when one is refused."""
        app = self.segtui
        info = ALGORITHMS[app.choices.algorithm]
        n_users = app.dataset.n_users if app.dataset is not None else None
        try:
            params = {spec.name: self._read_param(spec, n_users) for spec in info.parameters}
            seed = self._read_int("#param-seed", "Seed", default=0)
            sample_size = (
                self._read_int("#param-sample_size", "Sample size") if info.quadratic else None
            )
        except Refusal as refusal:
            return str(refusal)
        if sample_size is not None and sample_size < 2:
            return "Sample size: at least 2"
        weighting = app.choices.weighting
        if info.continues:  # the K-Means family: weights learned from its segments
            weighting = str(self.query_one("#param-weighting", Select).value)
        chosen = replace(
            app.choices, params=params, seed=seed, sample_size=sample_size, weighting=weighting
        )
        self._choose(chosen)
        return None

    def _read_param(self, spec: ParamSpec, n_users: int | None) -> Any:
        widget = self.query_one(f"#param-{spec.name}")
        if isinstance(widget, Select | Checkbox):
            return widget.value
        return _read_number(spec, cast(Input, widget).value.strip(), n_users)

    def _read_int(self, selector: str, label: str, default: int | None = None) -> int | None:
        text = self.query_one(selector, Input).value.strip()
        if not text:
            return default
        try:
            return int(text)
        except ValueError:
            raise Refusal(f"{label}: type a whole number") from None

    def set_k(self, k: int) -> None:
        """k from a key (+, -, take the sweep's): the choices and the field on screen."""
        self._choose(self.segtui.choices.with_param("k", k))
        try:
            field = self.query_one("#param-k", Input)
        except NoMatches:  # the panel shows another algorithm's parameters
            return
        with field.prevent(Input.Changed):
            field.value = str(k)

    # ----- events -------------------------------------------------------------------------

    @on(Select.Changed, "#algorithm")
    async def _algorithm_changed(self, event: Select.Changed) -> None:
        choices = self.segtui.choices
        if event.value == choices.algorithm or event.value not in ALGORITHMS:
            return
        algorithm = str(event.value)
        params = dict(ALGORITHMS[algorithm].defaults())
        self._choose(replace(choices, algorithm=algorithm, params=params, sample_size=None))
        await self._build_params()
        self.post_message(self.Changed())

    @on(Input.Changed, "#params Input")
    @on(Select.Changed, "#params Select")
    @on(Checkbox.Changed, "#params Checkbox")
    def _param_changed(self, event: Input.Changed | Select.Changed | Checkbox.Changed) -> None:
        event.stop()
        before = self.segtui.choices.request()
        problem = self.read()
        if problem:
            self.post_message(self.Refused(problem))
            return
        if self.segtui.choices.request() != before:
            if getattr(event.control, "id", None) == "param-min_samples":
                self.show_algo_note(ask=True)
            self.post_message(self.Changed())

    @on(Checkbox.Changed, "#features FeatureBox")
    def _feature_toggled(self, event: Checkbox.Changed) -> None:
        box = event.checkbox
        assert isinstance(box, FeatureBox)
        app = self.segtui
        features = [name for name in app.choices.features if name != box.feature]
        if box.value:
            order = app.dataset.feature_names if app.dataset else []
            features.append(box.feature)
            features.sort(key=lambda name: order.index(name) if name in order else 999)
        self._choose(replace(app.choices, features=tuple(features)))
        self.post_message(self.Changed())

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        widget = event.widget
        help_box = self.query_one("#feature-help", Static)
        if isinstance(widget, FeatureBox):
            help_box.update(plain(f"{widget.feature}: {widget.description}"))
        elif widget.id and widget.id.startswith("param-"):
            help_box.update(plain(widget.tooltip))

    def focus_first(self) -> None:
        """Focus the first feature (or the algorithm when there are none)."""
        boxes = self.query("#features FeatureBox")
        (boxes.first() if boxes else self.query_one("#algorithm")).focus()
