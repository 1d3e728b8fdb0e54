"""Helpers shared by the app tests (imported as a module: tests/app has no package)."""

from __future__ import annotations

import time


async def settle(pilot, *, until=None, timeout: float = 60.0) -> None:
    """Wait for every worker and any follow-up messages; optionally until ``until()`` is true."""
    app = pilot.app
    started = time.monotonic()
    while True:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        busy = any(not w.is_finished for w in app.workers)
        if not busy and (until is None or until()):
            break
        if time.monotonic() - started > timeout:
            raise AssertionError("the app did not settle in time")
        await pilot.pause(0.05)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
