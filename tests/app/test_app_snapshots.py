"""Snapshots of every screen at 80x24 and 120x40, and the explore screen with NO_COLOR.

The data is 600 generated users written to a fixed path (the path shows on some screens), the
cursor blink is frozen (conftest), and every worker is awaited before the picture is taken.
Update with `pytest tests/app --snapshot-update` only after looking at the report.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from app_helpers import explore_ready, settle

from segtui.app.app import SegtuiApp
from segtui.sample import write_sample

SIZES = [(80, 24), (120, 40)]
FIXED = Path(tempfile.gettempdir()) / "segtui-app-snapshots"


@pytest.fixture(scope="module")
def fixed_events() -> Path:
    # Written afresh each run: a file left by an older generator would change every picture.
    FIXED.mkdir(parents=True, exist_ok=True)
    return write_sample(FIXED, 600, seed=7).events_path


def _ready(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot, until=lambda: explore_ready(pilot.app))
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        await pilot.pause(0.1)

    return run_before


SCREENS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    # (name, keys that show it, keys that go back to the explore screen as it opened)
    ("explore", (), ()),
    ("scatter", ("2",), ("1",)),
    ("setup", ("f",), ("f",)),
    ("fit", ("4",), ("1",)),
    ("detail", ("enter",), ("escape",)),
    ("export", ("e",), ("escape",)),
    ("help", ("f1",), ("escape",)),
    ("rule", ("a",), ("escape",)),
    ("sweep", ("w",), ("1",)),
    ("carry", ("p", "down"), ()),  # last: it marks a segment
]
"""The screens, in the order one app visits them. The two that leave something behind (the
sweep's results, a marked segment) come last, so every other picture is of the screen reached
from the explore screen as it opened."""
SCREENS_BY_NAME = {name: keys for name, keys, _ in SCREENS}


async def _tour(pilot) -> dict[str, str]:
    """One app's picture of every screen (one app start per size, not one per picture)."""
    app = pilot.app
    shots: dict[str, str] = {}
    await settle(pilot, until=lambda: explore_ready(app))
    for name, keys, back in SCREENS:
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        await pilot.pause(0.1)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        shots[name] = app.export_screenshot(title=app.title, simplify=True)
        for key in back:
            await pilot.press(key)
            await settle(pilot)
        app.clear_notifications()
    return shots


@pytest.fixture(scope="module")
def tour(fixed_events: Path) -> dict[tuple[int, int], dict[str, str]]:
    """Every screen's picture at each size, taken lazily once per size and module."""
    taken: dict[tuple[int, int], dict[str, str]] = {}

    def at(size: tuple[int, int]) -> dict[str, str]:
        if size not in taken:
            app = SegtuiApp([str(fixed_events)], watch_terminal=False, theme="dark")
            result: dict[str, str] = {}

            async def drive(pilot) -> None:
                result.update(await _tour(pilot))
                app.exit()

            here = Path.cwd()
            os.chdir(FIXED)  # the export screen shows ./segments.parquet as an absolute path
            try:
                app.run(headless=True, size=size, auto_pilot=drive)
            finally:
                os.chdir(here)
            taken[size] = result
        assert len(taken[size]) == len(SCREENS), "the tour stopped (its error is above)"
        return taken[size]

    return at  # type: ignore[return-value]


@pytest.mark.xdist_group("app-screens")  # one worker takes one tour per size
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(
    ("name", "keys"),  # in the order of the snapshot files' names (keys0 ... keys9)
    [
        ("explore", ()),
        ("scatter", ("2",)),
        ("setup", ("f",)),
        ("fit", ("4",)),
        ("detail", ("enter",)),
        ("export", ("e",)),
        ("help", ("f1",)),
        ("carry", ("p", "down")),
        ("sweep", ("w",)),
        ("rule", ("a",)),
    ],
)
def test_screens(
    snap_compare,
    tour,
    name: str,
    keys: tuple[str, ...],
    size,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each picture is compared by pytest-textual-snapshot (its report shows a difference); the
    picture itself comes from the tour, so the comparison does not start an app of its own."""
    assert SCREENS_BY_NAME[name] == keys
    shot = tour(size)[name]
    monkeypatch.setattr("textual._doc.take_svg_screenshot", lambda **_: shot)
    assert snap_compare(SegtuiApp([], watch_terminal=False), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_mapping_screen(snap_compare, fixed_events: Path, size) -> None:
    app = SegtuiApp([str(fixed_events)], watch_terminal=False, review_mapping=True, theme="dark")

    async def run_before(pilot) -> None:
        await settle(pilot, until=lambda: explore_ready(pilot.app))
        await pilot.pause(0.2)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_loading_failure(snap_compare, size, monkeypatch: pytest.MonkeyPatch) -> None:
    # the open screen lists spark as runnable: the same picture on a machine without Java
    monkeypatch.setattr("segtui.engines.spark_engine.spark_missing", lambda: None)
    app = SegtuiApp([str(FIXED / "missing.csv")], watch_terminal=False, theme="dark")

    async def run_before(pilot) -> None:
        await settle(pilot, until=lambda: pilot.app.screen.has_class("-failed"))

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_explore_no_color(snap_compare, fixed_events: Path, no_color, size) -> None:
    app = SegtuiApp([str(fixed_events)], watch_terminal=False)
    assert snap_compare(app, terminal_size=size, run_before=_ready("2"))


@pytest.mark.parametrize("theme", ["light", "high-contrast"])
def test_themes(snap_compare, fixed_events: Path, theme: str) -> None:
    app = SegtuiApp([str(fixed_events)], watch_terminal=False, theme=theme)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_ready())
