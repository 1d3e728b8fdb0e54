"""Snapshot of the merge tree screen of a hierarchical fit at 80x24 (NO_COLOR off, dark theme).

Update with `pytest tests/app --snapshot-update` only after looking at the report.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from app_helpers import explore_ready, settle

from segtui.app.app import SegtuiApp
from segtui.sample import write_sample

FIXED = Path(tempfile.gettempdir()) / "segtui-app-snapshots-tree"


@pytest.fixture(scope="module")
def fixed_events() -> Path:
    FIXED.mkdir(parents=True, exist_ok=True)
    return write_sample(FIXED, 600, seed=7).events_path


def test_merge_tree_80x24(snap_compare, fixed_events: Path) -> None:
    app = SegtuiApp([str(fixed_events)], watch_terminal=False, theme="dark")

    async def run_before(pilot) -> None:
        await settle(pilot, until=lambda: explore_ready(pilot.app))
        params = {"k": 4, "linkage": "ward"}
        app.choose(replace(app.choices, algorithm="agglomerative", params=params))
        app.request_fit(ask=False)
        await settle(pilot, until=lambda: app.outcome.request.fit.algorithm == "agglomerative")
        await pilot.press("h")
        await settle(pilot)
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
