"""Everything about one segment: profile, each feature's distribution against everyone, sample
users with their feature values, and its rule when it is a rule segment.

The distributions and the sample read every user, so a worker computes them and posts
:class:`DetailScreen.Computed`; the profile shows at once and the other tabs say they are being
computed until then. Stepping to another segment cancels the older computation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import polars as pl
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from segtui.app.keys import bind
from segtui.app.widgets.bars import ProfileView, histogram_pair
from segtui.app.widgets.readouts import evidence_lines, feature_lines, profile_for, traits
from segtui.formatting import number, percent

if TYPE_CHECKING:
    from segtui.app.app import SegtuiApp

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


def sample_rows(users: pl.DataFrame, mask: np.ndarray, features: list[str]) -> list[list[str]]:
    """Up to SAMPLE_USERS members (a seeded pick, in user order) with their feature values."""
    idx = np.flatnonzero(mask)
    rng = np.random.default_rng(0)
    if idx.size:
        pick = np.sort(rng.choice(idx, size=min(SAMPLE_USERS, idx.size), replace=False))
        sample = users[pick.tolist()]
    else:
        sample = users.head(0)
    return [
        [str(row[0]), *[number(v if v is None else float(v)) for v in row[1:]]]
        for row in sample.select(["user_id", *features]).iter_rows()
    ]


def distribution_table(rows: list[Distribution]) -> Table:
    table = Table(box=None, padding=(0, 1), show_header=True, expand=False)
    table.add_column("feature", no_wrap=True, max_width=22)
    table.add_column("", no_wrap=True)
    table.add_column("16 bins from → to", no_wrap=True)
    table.add_column("range", no_wrap=True, style="dim")
    for row in rows:
        span = f"{number(row.low)} – {number(row.high)}"
        table.add_row(row.feature, "segment", Text(row.segment, style="bold"), span)
        table.add_row("", Text("everyone", style="dim"), Text(row.everyone, style="dim"), "")
    return table


class DetailScreen(Screen[None]):
    """One segment in depth; ``[``/``]`` step to the previous/next segment."""

    BINDINGS = [  # noqa: RUF012
        bind(
            "escape,q,backspace", "back", "Back", id="detail.back", tooltip="Back to the segments"
        ),
        bind(
            "left_square_bracket", "step(-1)", "Prev", id="detail.prev", tooltip="Previous segment"
        ),
        bind("right_square_bracket", "step(1)", "Next", id="detail.next", tooltip="Next segment"),
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
    ]

    @dataclass
    class Computed(Message):
        """The distributions and sample users of segment ``segment_id`` are ready."""

        segment_id: int
        distributions: list[Distribution]
        columns: list[str]
        rows: list[list[str]]

    def __init__(self, segment_id: int) -> None:
        super().__init__()
        self.segment_id = segment_id

    @property
    def segtui(self) -> SegtuiApp:
        return cast("SegtuiApp", self.app)

    def compose(self) -> ComposeResult:
        yield Label("", id="detail-title")
        yield Static("", id="detail-rule")
        with TabbedContent(id="detail-tabs", initial="d-profile"):
            with TabPane("Profile", id="d-profile"), VerticalScroll():
                yield ProfileView(id="detail-profile")
            with TabPane("Distributions", id="d-hist"), VerticalScroll():
                yield Static("", id="detail-hist")
            with TabPane("Sample users", id="d-users"):
                yield DataTable(id="detail-users", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.watch(self.segtui, "evidence", self._evidence_changed, init=False)
        self._show()

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
        computing = Text("Computing the distributions…", style="dim")
        self.query_one("#detail-hist", Static).update(computing)
        self.query_one("#detail-users", DataTable).clear(columns=True)
        self._compute(dataset.users, view.labels, list(view.features), self.segment_id)

    @work(
        thread=True,
        exclusive=True,
        group="detail",
        exit_on_error=False,
        description="Computing the segment's distributions",
    )
    def _compute(
        self, users: pl.DataFrame, labels: np.ndarray, features: list[str], segment_id: int
    ) -> None:
        mask = labels == segment_id
        found = distributions(users, mask, features)
        rows = sample_rows(users, mask, features)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Computed(segment_id, found, ["user_id", *features], rows))

    @on(Computed)
    def _computed(self, message: Computed) -> None:
        if message.segment_id != self.segment_id:
            return  # the person stepped on; a newer computation is on its way
        self.query_one("#detail-hist", Static).update(distribution_table(message.distributions))
        table = self.query_one("#detail-users", DataTable)
        table.clear(columns=True)
        table.add_columns(*message.columns)
        for row in message.rows:
            table.add_row(*row)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_tab(self, tab: str) -> None:
        self.query_one("#detail-tabs", TabbedContent).active = tab

    def action_step(self, delta: int) -> None:
        view = self.segtui.segview
        ids = [int(p.segment_id) for p in view.profiles] if view is not None else []
        if self.segment_id not in ids:
            return
        self.segment_id = ids[(ids.index(self.segment_id) + delta) % len(ids)]
        self._show()
