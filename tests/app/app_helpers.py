"""Helpers shared by the app tests (imported as a module: tests/app has no package)."""

from __future__ import annotations

import time


async def _workers_done(app) -> None:
    """Wait for the workers; one the app cancelled (a newer fit replaced it) counts as done."""
    from textual.worker import WorkerCancelled

    while True:
        try:
            await app.workers.wait_for_complete()
            return
        except WorkerCancelled:
            continue


async def settle(pilot, *, until=None, timeout: float = 60.0) -> None:
    """Wait for every worker and any follow-up messages; optionally until ``until()`` is true."""
    app = pilot.app
    started = time.monotonic()
    while True:
        await _workers_done(app)
        await pilot.pause()
        await _workers_done(app)
        busy = any(not w.is_finished for w in app.workers)
        if not busy and (until is None or until()):
            break
        if time.monotonic() - started > timeout:
            raise AssertionError("the app did not settle in time")
        await pilot.pause(0.05)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def explore_ready(app) -> bool:
    """The first fit is shown: the explore screen is up and its segments table is filled."""
    from segtui.app.screens.explore import ExploreScreen
    from segtui.app.widgets.segments_table import SegmentsTable

    screen = app.explore_screen
    if app.segview is None or not isinstance(screen, ExploreScreen) or not screen.is_mounted:
        return False
    tables = screen.query(SegmentsTable)
    return bool(tables) and tables.first().row_count > 0


async def ready(pilot) -> None:
    """Wait until the first segments are on screen."""
    await settle(pilot, until=lambda: explore_ready(pilot.app))
