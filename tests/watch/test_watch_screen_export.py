"""ctrl+s on the watch screen (`segtui open STATE`): there is no project to save there, so it
exports the current labels, the file `segtui watch export` writes; the help says so and no
longer offers "Save"."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from inbox_world import World, ok

from segtui.app.app import SegtuiApp
from segtui.app.screens.dialogs import PathScreen
from segtui.app.screens.watch import WatchScreen

pytestmark = pytest.mark.xdist_group("watch-cli")  # the session world is built there already


async def _wait(pilot, until: Callable[[], bool], what: str) -> None:
    """Let the app run until ``until()`` holds (bounded: a wait, never a timed assertion)."""
    for _ in range(2000):
        if until():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"the app never got to: {what}")


def _screen_text(app: SegtuiApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_ctrl_s_exports_the_labels_watch_export_writes(world: World, tmp_path: Path) -> None:
    state = tmp_path / "st.duckdb"
    shutil.copyfile(world.ran, state)
    want = tmp_path / "cli.parquet"
    ok("watch", "export", state, "-o", want)
    app = SegtuiApp(watch_state=str(state), watch_terminal=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, WatchScreen)
        await _wait(pilot, lambda: screen.shown is not None, "the state shown")
        await pilot.press("question_mark")
        await pilot.pause()
        help_text = _screen_text(app)
        assert "Export labels" in help_text and "Save the session" not in help_text
        await pilot.press("escape")
        await pilot.press("ctrl+s")
        await _wait(pilot, lambda: isinstance(app.screen, PathScreen), "the path asked for")
        field = app.screen.query_one("#path-input")
        assert field.value == str(tmp_path / "st.segments.parquet")
        out = tmp_path / "labels.csv"
        field.value = str(out)
        await pilot.press("enter")
        await _wait(pilot, lambda: screen.note.startswith("Wrote"), "the export written")
        assert screen.note == f"Wrote {pl.read_parquet(want).height:,} users' labels to {out}"
        # a name that is no labels file: the reason, in the status line, and nothing written
        await pilot.press("ctrl+s")
        await _wait(pilot, lambda: isinstance(app.screen, PathScreen), "the path asked again")
        app.screen.query_one("#path-input").value = str(tmp_path / "labels.txt")
        await pilot.press("enter")
        await _wait(pilot, lambda: screen.has_class("-error"), "the refusal shown")
        assert "must end in .parquet or .csv" in screen.note
    assert app._exception is None
    assert pl.read_csv(out).equals(pl.read_csv(_as_csv(want, tmp_path)))
    assert not (tmp_path / "labels.txt").exists()


def _as_csv(parquet: Path, folder: Path) -> Path:
    path = folder / "want.csv"
    pl.read_parquet(parquet).write_csv(path)
    return path
