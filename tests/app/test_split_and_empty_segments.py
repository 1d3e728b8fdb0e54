"""The status line after a split, and a rule segment that matches nobody (issue 12, items 10, 11).

Both wait on the app's state, never on time: the split is held at a gate the test opens.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import polars as pl
import pytest
from app_helpers import explore_ready, settle

from segtui.app import pipeline
from segtui.app.app import SegtuiApp
from segtui.app.screens.detail import DetailScreen
from segtui.app.screens.dialogs import MessageScreen
from segtui.app.screens.explore import ExploreScreen
from segtui.app.widgets.segments_table import SegmentsTable


def _status(app: SegtuiApp) -> str:
    return str(app.screen.query_one("#status").render())


async def test_splitting_clears_when_the_split_is_shown(
    events_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    real_split = pipeline.split

    def held_split(*args, **kwargs):
        gate.wait(timeout=60)
        return real_split(*args, **kwargs)

    monkeypatch.setattr(pipeline, "split", held_split)
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, until=lambda: explore_ready(app))
        before = len(app.segview.profiles)
        await pilot.press("s")
        await pilot.pause()
        assert app.activity is not None and app.activity.stage == "Splitting…"
        assert "Splitting…" in _status(app)
        gate.set()
        await settle(pilot, until=lambda: len(app.segview.profiles) == before + 1)
        assert app.activity is None
        assert "Splitting" not in _status(app) and "⟳" not in _status(app)
        assert not app.screen.query_one("#busy").display


async def test_a_rule_matching_nobody_is_shown_selected_exported_and_removed(
    events_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, until=lambda: explore_ready(app))
        table = app.screen.query_one(SegmentsTable)
        clusters = table.row_count
        await pilot.press("a", *"Nobody: events > 1000000", "enter")
        await settle(pilot, until=lambda: "Nobody" in app.segview.segmentation.names.values())
        empty = next(
            sid for sid, name in app.segview.segmentation.names.items() if name == "Nobody"
        )
        # in the table with size 0, last by size, and selectable
        assert table.row_count == clusters + 1
        assert {int(p.segment_id): int(p.size) for p in app.segview.profiles}[empty] == 0
        assert table.current_id == empty  # a new rule segment is selected
        assert table._sorted()[-1].id == empty
        # its detail opens and computes (nothing to sample, nothing to describe)
        await pilot.press("d")

        def described() -> str:
            return str(app.screen.query_one("#detail-describe").render())

        await settle(pilot, until=lambda: not described().startswith("Finding"))
        assert isinstance(app.screen, DetailScreen)  # a failure would show a message
        assert described().startswith("No rule")
        assert app.screen.query_one("#detail-users").row_count == 0
        assert "Nobody · 0 users" in str(app.screen.query_one("#detail-title").render())
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ExploreScreen) and table.current_id == empty

        # export: the model lists it with size 0, the parquet has no row for it, and the summary
        # counts the same segments as the model
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot, until=lambda: isinstance(app.screen, MessageScreen))
        summary = str(app.screen.query_one(".dialog-text").render())
        model = json.loads((tmp_path / "segments.model.json").read_text())
        sizes = {s["name"]: s["size"] for s in model["segments"]}
        assert len(sizes) == clusters + 1 and sizes["Nobody"] == 0
        assert f"in {clusters + 1} segments (1 with no users yet: Nobody)" in summary
        frame = pl.read_parquet(tmp_path / "segments.parquet")
        assert "Nobody" not in frame["segment"].to_list()
        assert frame["segment"].n_unique() == clusters
        await pilot.press("escape")
        await pilot.pause()

        # and it can be removed
        await pilot.press("x")
        await settle(pilot, until=lambda: empty not in app.segview.segmentation.names)
        assert table.row_count == clusters


async def test_a_failing_screen_worker_is_shown_not_silent(
    events_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A screen's worker reports to the screen (Textual's StateChanged does not bubble): the
    detail screen passes its failure on, and the person reads it instead of "Computing…"."""
    from segtui.app.screens import detail

    def broken(*args, **kwargs):
        raise RuntimeError("distributions broke")

    monkeypatch.setattr(detail, "distributions", broken)
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, until=lambda: explore_ready(app))
        await pilot.press("d")
        await settle(pilot, until=lambda: isinstance(app.screen, MessageScreen))
        body = str(app.screen.query_one(".dialog-text").render())
        assert body == "RuntimeError: distributions broke"
