"""Snapshots of every screen at 80x24 and 120x40, and the explore screen with NO_COLOR.

The data is 600 generated users written to a fixed path (the path shows on some screens), the
cursor blink is frozen (conftest), and every worker is awaited before the picture is taken.
Update with `pytest tests/app --snapshot-update` only after looking at the report.
"""

from __future__ import annotations

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


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(
    ("name", "keys"),
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
    fixed_events: Path,
    name: str,
    keys: tuple[str, ...],
    size,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(FIXED)  # the export screen shows ./segments.parquet as an absolute path
    app = SegtuiApp([str(fixed_events)], watch_terminal=False, theme="dark")
    assert snap_compare(app, terminal_size=size, run_before=_ready(*keys))


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
