"""The scatter's t-SNE and the hierarchical merge tree, driven by keys on a 600-user log."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from app_helpers import explore_ready, settle
from textual.widgets import OptionList, Static

from segtui.app import pipeline
from segtui.app.app import SegtuiApp
from segtui.app.screens.explore import ExploreScreen
from segtui.app.screens.merge_tree import MergeTreeScreen
from segtui.app.widgets.scatter import ScatterPlot
from segtui.app.widgets.segments_table import SegmentsTable
from segtui.clustering.merge_tree import cut_tree


def _plot(app: SegtuiApp) -> ScatterPlot:
    return app.screen.query_one(ScatterPlot)


def _line(app: SegtuiApp) -> str:
    return str(app.screen.query_one("#carry-line", Static).render())


async def test_t_switches_the_scatter_to_tsne_in_a_worker_and_back(
    events_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    calls: list[object] = []
    real = pipeline.tsne

    def held_tsne(outcome):  # the worker waits until the test has checked the UI meanwhile
        calls.append(outcome)
        assert release.wait(60)
        return real(outcome)

    monkeypatch.setattr(pipeline, "tsne", held_tsne)
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, until=lambda: explore_ready(app))
        screen = app.screen
        assert isinstance(screen, ExploreScreen)
        await pilot.press("T")
        await pilot.pause()
        # the PCA stays while the t-SNE is computed, and the app answers keys meanwhile
        assert _plot(app).data.kind == "pca" and len(calls) == 1
        assert app.activity is not None and "t-SNE" in app.activity.stage
        assert "mean nothing" not in _plot(app).data.note
        table = screen.query_one(SegmentsTable)
        before = table.current_id
        await pilot.press("down")
        await pilot.pause()
        assert table.current_id != before and _plot(app).selected == table.current_id
        release.set()
        await settle(pilot, until=lambda: _plot(app).data.kind == "tsne")
        data = _plot(app).data
        assert data.title == "t-SNE of all 600 users"
        assert "distances between groups" in data.note and "mean nothing" in data.note
        assert [name for _, name in data.segments] == [p.name for p in app.segview.profiles]
        assert len(data.x) == 600 and app.activity is None
        assert np.array_equal(data.segment_ids, app.segview.labels)  # all users: no sample

        # back and forth is instant: the t-SNE of this fit is cached
        await pilot.press("T")
        assert _plot(app).data.kind == "pca"
        await pilot.press("T")
        assert _plot(app).data.kind == "tsne" and len(calls) == 1

        # a new fit makes the cached picture stale: its own t-SNE is computed
        old = app.outcome
        await pilot.press("plus")
        await settle(pilot, until=lambda: app.outcome is not old and len(calls) == 2)
        await settle(pilot, until=lambda: _plot(app).data.kind == "tsne")
        assert app.tsne is not None and app.tsne.outcome is app.outcome
        assert len(_plot(app).data.segments) == 7


async def _hierarchical(pilot, app: SegtuiApp, k: int) -> None:
    await settle(pilot, until=lambda: explore_ready(app))
    params = {"k": k, "linkage": "ward"}
    app.choose(replace(app.choices, algorithm="agglomerative", params=params))
    app.request_fit(ask=False)
    await settle(
        pilot,
        until=lambda: (
            app.outcome.request.fit.algorithm == "agglomerative"
            and app.outcome.request.fit.params["k"] == k
        ),
    )


async def test_tree_of_a_hierarchical_fit_cuts_at_another_level(events_csv: Path) -> None:
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _hierarchical(pilot, app, 4)
        tree = app.outcome.result.tree
        await pilot.press("h")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MergeTreeScreen)
        rows = screen.rows
        names = {int(p.segment_id): p.name for p in app.segview.profiles}
        segment_rows = [r for r in rows if r.segment is not None]
        assert sorted(r.segment for r in segment_rows) == sorted(names)
        options = screen.query_one(OptionList)
        shown = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        for row in segment_rows:
            assert any(names[row.segment] in line for line in shown)
        # cut at k = 6: move the highlight to that merge and press enter
        target = next(i for i, r in enumerate(rows) if r.split_k == 6)
        options.highlighted = target
        await pilot.press("enter")
        await settle(pilot, until=lambda: app.outcome.request.fit.params["k"] == 6)
        assert isinstance(app.screen, ExploreScreen)
        assert len(app.segview.profiles) == 6
        # the refit is the old tree cut at 6: the same partition of the same users
        new = app.outcome.result
        assert np.array_equal(new.tree["children"], tree["children"])
        pairs = set(zip(cut_tree(tree, 6).tolist(), new.labels.tolist(), strict=True))
        assert len(pairs) == 6


async def test_tree_says_why_other_algorithms_have_none(events_csv: Path) -> None:
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, until=lambda: explore_ready(app))
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, ExploreScreen)
        assert "No merge tree: K-Means does not build its segments by merging" in _line(app)
        assert "Hierarchical (agglomerative)" in _line(app)
