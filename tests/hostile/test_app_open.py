"""The hostile data files through the app's open screen: typed into the path box of the first
screen, each refused one shows its message naming the file and the app keeps running (the box
is there for the next path); each read one loads."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from .corpus import CLASSES, snapshot

BUG = re.compile(r"^[A-Z]\w*(Error|Exception)\b")


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """No stability scan after a fit, a bomb bound an 8 MiB bomb trips (as in-process)."""
    from segtui.app.app import SegtuiApp

    monkeypatch.setattr(SegtuiApp, "_start_evidence", lambda self, outcome: None)
    monkeypatch.setattr("segtui.ingest.wholefile.BOMB_FLOOR", 1024 * 1024)
    monkeypatch.setattr("segtui.ingest.wholefile.BOMB_RATIO", 100)


async def _until(pilot, done, timeout: float = 180.0, state=lambda: "") -> None:
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"the app did not get there in time: {state()}")
        await pilot.pause(0.05)


REFUSED = ("fifo", "duplicate_columns", "truncated_gzip", "broken_ndjson", "gzip_bomb")
"""The classes whose hostile file is a data file the app must refuse, typed in one after another
into one app: each refusal leaves it ready for the next path."""
READ = ("markup_text", "control_chars")
"""Data files the app reads, whose text it shows (the other read classes are core reads,
checked through the CLI)."""


async def _open_screen(app, pilot):
    from textual.widgets import Input

    from segtui.app.screens.loading import LoadingScreen

    await _until(pilot, lambda: app.screen.has_class("-failed"))  # "No data given"
    screen = app.screen
    assert isinstance(screen, LoadingScreen)
    return screen, screen.query_one("#retry-path", Input)


async def test_the_open_screen_refuses_each_hostile_data_file_and_keeps_running(
    tmp_path: Path,
) -> None:
    from segtui.app.app import SegtuiApp

    cases = []
    for name in REFUSED:
        folder = tmp_path / name
        folder.mkdir()
        cases.append(CLASSES[name](folder))
    before = snapshot(tmp_path)
    app = SegtuiApp([], watch_terminal=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen, box = await _open_screen(app, pilot)
        for case in cases:
            assert case.app_path is not None
            box.value = str(case.app_path)
            await pilot.press("enter")

            def shown(path: Path = case.app_path) -> bool:
                error = str(screen.query_one("#loading-error").render())
                return screen.has_class("-failed") and str(path) in error

            # shown, and the box has focus again (focus moves after a refresh: wait on it)
            await _until(
                pilot,
                lambda: shown() and box.has_focus,
                state=lambda name=case.name: (
                    f"{name}: classes {sorted(screen.classes)}, focus {app.focused!r}, "
                    f"error {str(screen.query_one('#loading-error').render())!r}"
                ),
            )
            message = str(screen.query_one("#loading-error").render())
            assert not BUG.match(message), f"{case.name}: {message}"
            assert app.is_running and app.return_code is None, case.name
            assert app.screen is screen, case.name  # ready for the next path
        assert app.dataset is None
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", READ)
async def test_the_open_screen_reads_hostile_text(name: str, tmp_path: Path) -> None:
    from segtui.app.app import SegtuiApp

    case = CLASSES[name](tmp_path)
    assert case.app_path is not None
    before = snapshot(tmp_path)
    app = SegtuiApp([], watch_terminal=False)
    async with app.run_test(size=(100, 30)) as pilot:
        _, box = await _open_screen(app, pilot)
        box.value = str(case.app_path)
        await pilot.press("enter")
        await _until(pilot, lambda: app.dataset is not None and app.outcome is not None)
        assert app.dataset.n_users == 24
        assert app.is_running and app.return_code is None
    assert snapshot(tmp_path) == before
