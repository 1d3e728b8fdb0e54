"""The detail screen's described rule (``a`` adds it as a rule segment) and why-here column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from app_helpers import explore_ready, settle

from segtui.app.app import SegtuiApp
from segtui.app.screens.detail import DetailScreen
from segtui.segments.rules import parse_rule


async def test_detail_rule_and_why_here(events_csv: Path) -> None:
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, until=lambda: explore_ready(app))
        await pilot.press("enter")
        await settle(pilot, until=lambda: isinstance(app.screen, DetailScreen))
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        await settle(pilot, until=lambda: screen._description is not None)
        found = screen._description
        sid = screen.segment_id
        # the numbers shown are the rule's own, over every user of the fit
        users = app.dataset.users
        matched = parse_rule(found.rule).mask(users)
        members = app.segview.labels == sid
        assert found.precision == (matched & members).sum() / matched.sum()
        assert found.coverage == (matched & members).sum() / members.sum()
        table = screen.query_one("#detail-users")
        assert [str(c.label) for c in table.columns.values()][1] == "why here (vs next segment)"
        assert str(table.get_row_at(0)[1]).startswith("vs '")

        before = set(app.segmentation.segment_ids)
        await pilot.press("a")
        await settle(pilot, until=lambda: len(app.segmentation.segment_ids) == len(before) + 1)
        new = (set(app.segmentation.segment_ids) - before).pop()
        assert str(app.segmentation.rule(new)) == found.rule
        assert app.segmentation.names[new].endswith("(rule)")
        labels = app.segview.labels
        assert np.array_equal(labels == new, matched)  # the first (only) rule takes its users
