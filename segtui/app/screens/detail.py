"""Everything about one segment: profile, each feature's distribution against everyone, sample
users with their feature values and why each is here rather than in the next nearest segment,
its rule when it is a rule segment, and the segment described as a rule of at most three
conditions (with its precision, coverage and SQL) that ``a`` adds as a rule segment.

The distributions, the sample and the described rule read every user, so a worker computes them
and posts :class:`DetailScreen.Computed`; the profile shows at once and the other parts say they
are being computed until then. Stepping to another segment cancels the older computation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import polars as pl
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static, TabbedContent, TabPane
from textual.worker import Worker, get_current_worker

from segtui.app.keys import bind
from segtui.app.plain import plain, plain_cells
from segtui.app.widgets.bars import ProfileView, histogram_pair
from segtui.app.widgets.readouts import evidence_lines, feature_lines, profile_for, traits
from segtui.app.widgets.rule_editor import rule_name
from segtui.errors import InputError
from segtui.formatting import number, percent
from segtui.segments.describe import RuleDescription, describe_segment
from segtui.segments.explain import explain_rows

if TYPE_CHECKING:
    from segtui.app.app import SegtuiApp
    from segtui.segments.profiles import SegmentProfile

SAMPLE_USERS = 50


@dataclass(frozen=True)
class Distribution:
    """One feature's histogram in the segment and among everyone, on the same bins."""

    feature: str
    segment: str
    everyone: str
    low: float
    high: float


def distributions(users: pl.DataFrame, mask: np.ndarray, features: list[str]) -> list[Distribution]:
    out = []
    for name in features:
        values = users.get_column(name).cast(float).to_numpy().astype(float)
        seg, everyone, low, high = histogram_pair(values[mask], values)
        out.append(Distribution(name, seg, everyone, low, high))
    return out


def sample_pick(mask: np.ndarray) -> np.ndarray:
    """Up to SAMPLE_USERS member rows: a seeded pick, in user order."""
    idx = np.flatnonzero(mask)
    if not idx.size:
        return idx
    rng = np.random.default_rng(0)
    return np.sort(rng.choice(idx, size=min(SAMPLE_USERS, idx.size), replace=False))


def sample_rows(
    users: pl.DataFrame, mask: np.ndarray, features: list[str], why: list[str] | None = None
) -> list[list[str]]:
    """Up to SAMPLE_USERS members (:func:`sample_pick`) with their feature values, and when
    ``why`` is given (one text per picked user) why each is here before the values."""
    pick = sample_pick(mask)
    sample = users[pick.tolist()] if pick.size else users.head(0)
    rows = [
        [str(row[0]), *[number(v if v is None else float(v)) for v in row[1:]]]
        for row in sample.select(["user_id", *features]).iter_rows()
    ]
    if why is None:
        return rows
    return [[row[0], text, *row[1:]] for row, text in zip(rows, why, strict=True)]


@dataclass(frozen=True)
class SegmentSpace:
    """What the described rule and the sample's reasons need beyond the users and labels."""

    X: np.ndarray | None
    """The prepared matrix (rows aligned with the users), None when it is not aligned."""
    seed: int
    names: dict[int, str]
    rules: dict[int, str]
    noise_id: int | None


def sample_why(
    users: pl.DataFrame,
    labels: np.ndarray,
    mask: np.ndarray,
    features: list[str],
    space: SegmentSpace,
) -> list[str] | None:
    """For each sampled user: the features that put it here rather than the next segment."""
    if space.X is None:
        return None
    picked = sample_pick(mask).tolist()
    if not picked:
        return []  # a segment no user is in (a rule that matches nobody yet)
    found = explain_rows(
        users,
        labels,
        space.X,
        features,
        picked,
        names=space.names,
        rules=space.rules,
        noise_id=space.noise_id,
        top=2,
    )
    return [e.short() for e in found]


def description_text(found: RuleDescription | None) -> Text:
    """The segment as a rule, how well it matches, the SQL, and the key that adds it."""
    if found is None:
        return Text("No rule of at most three conditions describes this segment.", style="dim")
    text = Text("As a rule: ", style="dim")
    text.append(found.rule, style="bold")
    text.append(
        f"  precision {percent(found.precision)} · coverage {percent(found.coverage)}"
        " · a: add as a rule segment\n",
        style="dim",
    )
    text.append(f"SQL: WHERE {found.sql}", style="dim")
    return text


def distribution_table(rows: list[Distribution]) -> Table:
    table = Table(box=None, padding=(0, 1), show_header=True, expand=False)
    table.add_column("feature", no_wrap=True, max_width=22)
    table.add_column("", no_wrap=True)
    table.add_column("16 bins from → to", no_wrap=True)
    table.add_column("range", no_wrap=True, style="dim")
    for row in rows:
        span = f"{number(row.low)} – {number(row.high)}"
        table.add_row(plain(row.feature), "segment", Text(row.segment, style="bold"), span)
        table.add_row("", Text("everyone", style="dim"), Text(row.everyone, style="dim"), "")
    return table


def outcomes_text(profile: SegmentProfile) -> Text:
    """The business outcomes beside everyone's (revenue, conversion, active days)."""
    text = Text()
    if not profile.outcomes:
        return text
    text.append("Business outcomes\n", style="bold")
    for outcome in profile.outcomes:
        text.append(f"  {outcome.text}")
        text.append(
            "  (clustered on)\n" if outcome.clustered else "  (not clustered on)\n", style="dim"
        )
    return text


class DetailScreen(Screen[int | None]):
    """One segment in depth; ``[``/``]`` step to the previous/next segment in the segments
    table's order (``order``, read when stepping, so a re-sort or an edit counts). Dismissed
    with the segment shown last, so the table can land on it."""

    BINDINGS = [  # noqa: RUF012
        bind(
            "escape,q,backspace", "back", "Back", id="detail.back", tooltip="Back to the segments"
        ),
        bind(
            "left_square_bracket",
            "step(-1)",
            "Prev",
            id="detail.prev",
            tooltip="Previous segment, in the segments table's order",
        ),
        bind(
            "right_square_bracket",
            "step(1)",
            "Next",
            id="detail.next",
            tooltip="Next segment, in the segments table's order",
        ),
        bind(
            "1", "tab('d-profile')", "Profile", id="detail.profile", tooltip="Profile", show=False
        ),
        bind(
            "2",
            "tab('d-hist')",
            "Distributions",
            id="detail.hist",
            tooltip="Distributions vs everyone",
            show=False,
        ),
        bind("3", "tab('d-users')", "Users", id="detail.users", tooltip="Sample users", show=False),
        bind(
            "a",
            "add_rule",
            "Add rule",
            id="detail.add_rule",
            tooltip="Add the rule that describes this segment as a rule segment",
        ),
    ]

    @dataclass
    class Computed(Message):
        """The distributions and sample users of segment ``segment_id`` are ready."""

        segment_id: int
        distributions: list[Distribution]
        columns: list[str]
        rows: list[list[str]]
        description: RuleDescription | None = None

    def __init__(self, segment_id: int, order: Callable[[], list[int]] | None = None) -> None:
        super().__init__()
        self.segment_id = segment_id
        self._order = order
        self._description: RuleDescription | None = None

    @property
    def segtui(self) -> SegtuiApp:
        return cast("SegtuiApp", self.app)

    def compose(self) -> ComposeResult:
        with Horizontal(id="detail-head"):
            yield Label("Segment detail", id="detail-where", classes="screen-title")
            yield Label("", id="detail-title")
        yield Static("", id="detail-rule")
        yield Static("", id="detail-describe")
        with TabbedContent(id="detail-tabs", initial="d-profile"):
            with TabPane("Profile", id="d-profile"), VerticalScroll():
                yield Static("", id="detail-outcomes")
                yield ProfileView(id="detail-profile")
            with TabPane("Distributions", id="d-hist"), VerticalScroll():
                yield Static("", id="detail-hist")
            with TabPane("Sample users", id="d-users"):
                yield DataTable(id="detail-users", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.watch(self.segtui, "evidence", self._evidence_changed, init=False)
        self._show()
        self._show_where()

    def _evidence_changed(self, evidence: object) -> None:
        if evidence is not None:
            self._show()

    def _show(self) -> None:
        view, dataset = self.segtui.segview, self.segtui.dataset
        profile = profile_for(view, self.segment_id)
        if view is None or dataset is None or profile is None:
            self.query_one("#detail-title", Label).update("This segment no longer exists.")
            return
        self.query_one("#detail-title", Label).update(
            Text(
                f"{profile.name} · {number(profile.size)} users · "
                f"{percent(profile.share)} of everyone",
                style="bold",
            )
        )
        rule = view.rules.get(self.segment_id)
        kind = view.kinds.get(self.segment_id, "")
        rule_box = self.query_one("#detail-rule", Static)
        lines = [f"Rule: {rule}" if rule else f"Kind: {kind} segment"]
        lines += evidence_lines(self.segtui.evidence, self.segment_id, kind or None)
        rule_box.update(Text("\n".join(lines), style="italic"))
        pv = self.query_one(ProfileView)
        pv.title = "Traits"
        pv.traits = "; ".join(traits(profile))
        pv.lines = tuple(feature_lines(profile, view.features))
        outcomes = self.query_one("#detail-outcomes", Static)
        outcomes.update(outcomes_text(profile))
        outcomes.display = bool(profile.outcomes)
        computing = Text("Computing the distributions…", style="dim")
        self.query_one("#detail-hist", Static).update(computing)
        self._description = None
        describing = Text("Finding a rule that describes this segment…", style="dim")
        self.query_one("#detail-describe", Static).update(describing)
        self.query_one("#detail-users", DataTable).clear(columns=True)
        space = self._space(dataset.users)
        self._compute(dataset.users, view.labels, list(view.features), self.segment_id, space)

    def _space(self, users: pl.DataFrame) -> SegmentSpace:
        view, outcome = self.segtui.segview, self.segtui.outcome
        assert view is not None
        X = None if outcome is None else np.asarray(outcome.prepared.X)
        aligned = X is not None and X.shape == (users.height, len(view.features))
        return SegmentSpace(
            X if aligned else None,
            int(outcome.request.fit.seed) if outcome is not None else 0,
            {p.segment_id: p.name for p in view.profiles},
            dict(view.rules),
            view.segmentation.noise_id,
        )

    @work(
        thread=True,
        exclusive=True,
        group="detail",
        exit_on_error=False,
        description="Computing the segment's distributions",
    )
    def _compute(
        self,
        users: pl.DataFrame,
        labels: np.ndarray,
        features: list[str],
        segment_id: int,
        space: SegmentSpace,
    ) -> None:
        mask = labels == segment_id
        found = distributions(users, mask, features)
        why = sample_why(users, labels, mask, features, space)
        rows = sample_rows(users, mask, features, why)
        columns = [
            "user_id",
            *(["why here (vs next segment)"] if why is not None else []),
            *features,
        ]
        if get_current_worker().is_cancelled:
            return
        is_noise = space.noise_id is not None and segment_id == space.noise_id
        described = (
            None
            if is_noise
            else describe_segment(users, labels, segment_id, features, seed=space.seed)
        )
        if not get_current_worker().is_cancelled:
            self.post_message(self.Computed(segment_id, found, columns, rows, described))

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        cast("SegtuiApp", self.app).worker_failed(event)  # its own failures reach the person

    @on(Computed)
    def _computed(self, message: Computed) -> None:
        if message.segment_id != self.segment_id:
            return  # the person stepped on; a newer computation is on its way
        self.query_one("#detail-hist", Static).update(distribution_table(message.distributions))
        self._description = message.description
        self.query_one("#detail-describe", Static).update(description_text(message.description))
        table = self.query_one("#detail-users", DataTable)
        table.clear(columns=True)
        table.add_columns(*plain_cells(message.columns))
        for row in message.rows:
            table.add_row(*plain_cells(row))

    def action_add_rule(self) -> None:
        """Add the described rule as a rule segment (an ordinary edit: ``u`` undoes it)."""
        app, found = self.segtui, self._description
        box = self.query_one("#detail-describe", Static)
        if found is None or app.segmentation is None:
            box.update(Text("No rule to add yet.", style="dim"))
            return
        name = rule_name(
            f"{app.segmentation.names.get(self.segment_id, 'Segment')} (rule)", app.segmentation
        )
        try:
            new = app.segmentation.add_rule_segment(name, found.rule)
        except InputError as error:
            box.update(Text(error.describe()))
            return
        app.apply_edit(new)
        box.update(Text(f"Added rule segment “{name}”: {found.rule} (u undoes)", style="bold"))

    def action_back(self) -> None:
        self.dismiss(self.segment_id)

    def action_tab(self, tab: str) -> None:
        self.query_one("#detail-tabs", TabbedContent).active = tab

    def step_order(self) -> list[int]:
        """The segments in the order ``[``/``]`` step through: the table's, else the view's."""
        view = self.segtui.segview
        shown = [int(p.segment_id) for p in view.profiles] if view is not None else []
        order = [i for i in self._order() if i in shown] if self._order is not None else []
        return order or shown

    def _show_where(self) -> None:
        """The title: where the person is, and which segment of how many in the table."""
        ids = self.step_order()
        where = (
            f"Segment detail ({ids.index(self.segment_id) + 1} of {len(ids)}) ·"
            if self.segment_id in ids
            else "Segment detail ·"
        )
        self.query_one("#detail-where", Label).update(where)

    def action_step(self, delta: int) -> None:
        ids = self.step_order()
        if self.segment_id not in ids:
            return
        self.segment_id = ids[(ids.index(self.segment_id) + delta) % len(ids)]
        self._show()
        self._show_where()
