"""Everything about one segment: profile, each feature's distribution against everyone, sample
users with their feature values, and its rule when it is a rule segment."""

from __future__ import annotations

import numpy as np
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static, TabbedContent, TabPane

from segtui.app.keys import bind
from segtui.app.widgets.bars import ProfileView, fmt, histogram_pair


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

    def __init__(self, segment_id: int) -> None:
        super().__init__()
        self.segment_id = segment_id

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
        self._show()

    def _profile(self):
        view = self.app.segview
        return next((p for p in view.profiles if int(p.segment_id) == self.segment_id), None)

    def _show(self) -> None:
        from segtui.app.screens.explore import _feature_lines, _traits

        app = self.app
        view = app.segview
        profile = self._profile()
        if profile is None:
            self.query_one("#detail-title", Label).update("This segment no longer exists.")
            return
        self.query_one("#detail-title", Label).update(
            Text(
                f"{profile.name} · {profile.size:,} users · {profile.share:.1%} of everyone",
                style="bold",
            )
        )
        rule = view.rules.get(self.segment_id)
        kind = view.kinds.get(self.segment_id, "")
        rule_box = self.query_one("#detail-rule", Static)
        rule_box.update(Text(f"Rule: {rule}" if rule else f"Kind: {kind} segment", style="italic"))
        pv = self.query_one(ProfileView)
        pv.title = "Traits"
        pv.traits = "; ".join(_traits(profile))
        pv.lines = tuple(_feature_lines(profile, view.features))
        mask = view.labels == self.segment_id
        users = app.dataset.users
        self.query_one("#detail-hist", Static).update(self._histograms(users, mask, view.features))
        self._users_table(users, mask, view.features)

    def _histograms(self, users, mask: np.ndarray, features: list[str]) -> Table:
        table = Table(box=None, padding=(0, 1), show_header=True, expand=False)
        table.add_column("feature", no_wrap=True, max_width=22)
        table.add_column("", no_wrap=True)
        table.add_column("16 bins from → to", no_wrap=True)
        table.add_column("range", no_wrap=True, style="dim")
        for name in features:
            values = users.get_column(name).cast(float).to_numpy().astype(float)
            seg, everyone, low, high = histogram_pair(values[mask], values)
            table.add_row(name, "segment", Text(seg, style="bold"), f"{fmt(low)} – {fmt(high)}")
            table.add_row("", Text("everyone", style="dim"), Text(everyone, style="dim"), "")
        return table

    def _users_table(self, users, mask: np.ndarray, features: list[str]) -> None:
        table = self.query_one("#detail-users", DataTable)
        table.clear(columns=True)
        table.add_columns("user_id", *features)
        idx = np.flatnonzero(mask)
        rng = np.random.default_rng(0)
        pick = np.sort(rng.choice(idx, size=min(50, idx.size), replace=False)) if idx.size else idx
        sample = users[pick.tolist()] if idx.size else users.head(0)
        for row in sample.select(["user_id", *features]).iter_rows():
            table.add_row(str(row[0]), *[fmt(v if v is None else float(v)) for v in row[1:]])

    def action_back(self) -> None:
        self.dismiss(None)

    def action_tab(self, tab: str) -> None:
        self.query_one("#detail-tabs", TabbedContent).active = tab

    def action_step(self, delta: int) -> None:
        ids = [int(p.segment_id) for p in self.app.segview.profiles]
        if self.segment_id not in ids:
            return
        self.segment_id = ids[(ids.index(self.segment_id) + delta) % len(ids)]
        self._show()
