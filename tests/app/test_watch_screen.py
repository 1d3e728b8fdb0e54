"""``segtui open STATE``: the watch screen shows a state's numbers as ``watch status`` reads them,
follows batches as they land, says plainly what a refit or a busy state answered, and never
parses a segment name or a user id as markup.

The state is built once per module from 240 generated users: 70% of the events (by time) are the
history, the rest four batch files; two are folded in before the app opens, the tests fold in a
third. One segment is renamed to markup and every user id starts with markup-like text.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
from app_helpers import settle
from textual.widgets import DataTable
from typer.testing import CliRunner

from segtui.app.app import SegtuiApp
from segtui.app.screens.watch import WatchScreen, sparkline
from segtui.watch.create import create_state
from segtui.watch.report import moves, status
from segtui.watch.run import RunOptions, run

pytestmark = pytest.mark.xdist_group("watch-screen")  # one worker builds the module's fixtures


NAME = "[/] [bold]x[/bold"
USER_PREFIX = "[/]u"
BATCHES = 4


def _build(folder: Path) -> Path:
    """A world in ``folder``: hist.csv, the model, later/b0N.csv, and st.duckdb with two of the
    batches folded in (inbox/ holds them)."""
    from segtui.cli.main import app as cli
    from segtui.sample import write_sample

    events = write_sample(folder / "sample", 240, seed=11).events_path
    frame = pl.read_csv(events, infer_schema_length=0).with_columns(
        (pl.lit(USER_PREFIX) + pl.col("user_id").str.slice(1)).alias("user_id")
    )
    frame = frame.sort("ts", "user_id", maintain_order=True)
    cut = int(frame.height * 0.7)
    frame.head(cut).write_csv(folder / "hist.csv")
    later = folder / "later"
    later.mkdir()
    rest = frame.tail(frame.height - cut)
    size = rest.height // BATCHES + 1
    for i in range(BATCHES):
        rest.slice(i * size, size).write_csv(later / f"b{i:02d}.csv")
    args = ["segment", str(folder / "hist.csv"), "-k", "4", "--no-stability"]
    result = CliRunner().invoke(cli, [*args, "-o", str(folder / "seg.parquet")])
    assert result.exit_code == 0, result.output
    model_path = folder / "seg.model.json"
    model = json.loads(model_path.read_text())
    model["segmentation"]["names"][0][1] = NAME  # segment 0 is named like markup
    for segment in model["segments"]:
        if segment["id"] == model["segmentation"]["names"][0][0]:
            segment["name"] = NAME
    model_path.write_text(json.dumps(model))
    state = folder / "st.duckdb"
    create_state(state, model_path, [folder / "hist.csv"])
    inbox = folder / "inbox"
    inbox.mkdir()
    for i in range(2):
        shutil.copy(later / f"b{i:02d}.csv", inbox)
    run(state, inbox, RunOptions(once=True), lambda line: None)
    return state


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("watch"))


@pytest.fixture
def state(world: Path, tmp_path: Path) -> Path:
    """A copy of the module's world for one test (the tests fold batches into it)."""
    folder = tmp_path / "w"
    shutil.copytree(world.parent, folder, ignore=shutil.ignore_patterns("sample", "*.lock"))
    return folder / "st.duckdb"


def screen_text(app: SegtuiApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def rows(app: SegtuiApp, selector: str) -> list[list[str]]:
    table = app.screen.query_one(selector)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def watch_screen(app: SegtuiApp) -> WatchScreen:
    screen = app.screen
    assert isinstance(screen, WatchScreen)
    return screen


def shown_batch(app: SegtuiApp) -> int | None:
    screen = app.screen
    if not isinstance(screen, WatchScreen) or screen.shown is None:
        return None
    return screen.shown.mark[0]


def segment_rows(app: SegtuiApp) -> list[list[str]]:
    """(name, size, share) of each row of the segments table."""
    return [[r[4], r[0], r[1]] for r in rows(app, "#watch-segments")]


def expected_segments(state: Path) -> list[list[str]]:
    return [
        [s["name"], f"{s['size']:,}", f"{100 * s['share']:.1f}%"] for s in status(state)["segments"]
    ]


def cut(text: str, width: int) -> str:
    """A cell as a table column that wide shows it: cut with an ellipsis when longer."""
    return text if len(text) <= width else text[: width - 1] + "…"


def _newest_first(log: pl.DataFrame) -> pl.DataFrame:
    """The moves log (oldest first) as the screen orders it: the latest batch first, users in
    order, a user's moves in one batch newest first (the log's order breaks ties)."""
    keys, descending = ["batch", "user_id", "logged_at"], [True, False, True]
    return log.reverse().sort(keys, descending=descending, maintain_order=True)


def expected_moves(state: Path) -> list[list[str]]:
    """The moves log's newest 50 rows as the moves table shows them."""
    from segtui.app.screens.watch import MOVE_COLUMNS

    log = _newest_first(moves(state)).head(50)
    keys = ("batch", "user_id", "from_segment", "to_segment", "reason")
    return [
        [
            cut(str(m[k]) if m[k] is not None else "-", w)
            for k, (_, w) in zip(keys, MOVE_COLUMNS, strict=True)
        ]
        for m in log.iter_rows(named=True)
    ]


RUN = """
import sys
from pathlib import Path
from segtui.watch.run import RunOptions, run
run(Path(sys.argv[1]), Path(sys.argv[2]), RunOptions(once=True), print)
"""


async def fold_in_elsewhere(state: Path, name: str) -> None:
    """Fold one more batch file into ``state`` with a run in another process."""
    inbox = state.parent / "inbox"
    shutil.copy(state.parent / "later" / name, inbox)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RUN, str(state), str(inbox), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, out
    assert f": {name}: " in out.decode()


def test_sparkline_spans_the_bars_between_its_own_extremes() -> None:
    assert sparkline((3, 5, 7)) == "▁▅█"
    assert sparkline((4, 4)) == "▄▄"
    assert sparkline(()) == ""


async def test_the_screen_shows_the_state_and_follows_a_new_batch(
    state: Path, markup_seen: list[str]
) -> None:
    app = SegtuiApp(watch_state=str(state), watch_terminal=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, until=lambda: shown_batch(app) == 2)
        assert segment_rows(app) == expected_segments(state)
        assert rows(app, "#watch-moves") == expected_moves(state)
        first = _newest_first(moves(state)).row(0, named=True)
        why = str(app.screen.query_one("#watch-why").render())
        assert why == (  # in full: the table cuts names to its columns, the line does not
            f"{first['user_id']} (batch 2): {first['from_segment']} -> {first['to_segment']}: "
            f"{first['reason']}"
        )
        drift = rows(app, "#watch-drift")
        info = status(state)
        assert [r[0] for r in drift] == ["1", "2"]
        assert drift[-1][1] == f"{info['drift']['psi']:.3f}"
        text = screen_text(app)
        assert NAME in text and USER_PREFIX in text
        assert "Drift · refit off" in text
        assert f"{info['users']} users · 2 batches" in text

        # another batch lands while the screen is up (a `watch run` in another process, as in
        # life: the screen's reads and the run's writes take turns): it reads it on its own
        await fold_in_elsewhere(state, "b02.csv")
        await settle(pilot, until=lambda: shown_batch(app) == 3)
        assert segment_rows(app) == expected_segments(state)
        assert rows(app, "#watch-moves") == expected_moves(state)
        assert [r[0] for r in rows(app, "#watch-drift")] == ["1", "2", "3"]
        assert "3 batches" in screen_text(app)
        sizes = watch_screen(app).shown.segments[0].sizes
        assert len(sizes) == 4  # init, then batches 1-3
    assert app._exception is None
    assert [s for s in markup_seen if NAME in s or USER_PREFIX in s] == []


async def test_refit_key_refits_and_the_screen_shows_the_new_model(
    state: Path, markup_seen: list[str], no_color: None
) -> None:
    """At 80x24 with NO_COLOR: everything fits; r refits (no run holds the state), the screen
    says what refit answered and shows model version 2 with its sizes and the refit's moves."""
    app = SegtuiApp(watch_state=str(state), watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, until=lambda: shown_batch(app) == 2)
        assert app.has_class("-no-color")
        text = screen_text(app)
        for name, size, share in expected_segments(state):
            assert any(name in line and size in line and share in line for line in text.split("\n"))
        assert "Drift · refit off · psi " in text and "Latest moves" in text
        assert "r Refit now" in text and "q Quit" in text
        await pilot.press("r")
        screen = watch_screen(app)
        await settle(pilot, until=lambda: screen.shown is not None and screen.shown.mark[1] == 2)
        info = status(state)
        assert info["model_version"] == 2
        assert screen.note.startswith("refit") and not screen.has_class("-error")
        assert screen.note in str(app.screen.query_one("#watch-status").render())
        assert "model v2" in screen_text(app)
        assert segment_rows(app) == expected_segments(state)
        assert rows(app, "#watch-moves") == expected_moves(state)
        await pilot.press("question_mark")
        await pilot.pause()
        help_text = screen_text(app)
        assert "Refit now" in help_text and "Quit" in help_text
        await pilot.press("escape", "q")
        await pilot.pause()
    assert app.return_code in (None, 0) and app._exception is None
    assert [s for s in markup_seen if NAME in s or USER_PREFIX in s] == []


async def test_refit_key_while_a_run_holds_the_state_asks_the_run(state: Path) -> None:
    from segtui.watch.refit import request_path
    from segtui.watch.state import run_lock

    app = SegtuiApp(watch_state=str(state), watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, until=lambda: shown_batch(app) == 2)
        with run_lock(state):  # what a `watch run` holds
            await pilot.press("r")
            await settle(pilot, until=lambda: not watch_screen(app).refitting)
        assert "asked the running `segtui watch run` to refit" in watch_screen(app).note
        assert request_path(state).exists()
        assert watch_screen(app).shown.mark == (2, 1)
    assert app._exception is None


async def test_a_state_with_no_batch_yet_and_a_refused_refit(
    state: Path, markup_seen: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the history: the header says so. A refit refused (InputError) shows its reason
    plainly, as an error, and the numbers stay."""
    import segtui.watch.refit
    from segtui.errors import InputError

    fresh = state.with_name("fresh.duckdb")
    create_state(fresh, state.with_name("seg.model.json"), [state.with_name("hist.csv")])

    def refused(path: Path) -> str:
        raise InputError(f"cannot refit {NAME}", file=path)

    monkeypatch.setattr(segtui.watch.refit, "refit_now", refused)
    app = SegtuiApp(watch_state=str(fresh), watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, until=lambda: shown_batch(app) == 0)
        text = screen_text(app)
        assert "no batch yet (history only)" in text and "Drift · refit off · no batch yet" in text
        assert segment_rows(app) == expected_segments(fresh)
        assert rows(app, "#watch-moves") == []
        assert "No moves logged yet." in text
        await pilot.press("r")
        await settle(pilot, until=lambda: not watch_screen(app).refitting)
        assert watch_screen(app).note == f"Refit: {fresh}: cannot refit {NAME}."
        assert watch_screen(app).has_class("-error")
        assert f"cannot refit {NAME}" in screen_text(app)
        assert segment_rows(app) == expected_segments(fresh)
    assert app._exception is None
    assert [s for s in markup_seen if NAME in s] == []


async def test_a_busy_state_shows_a_note_and_the_last_numbers(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the state for writing: the read times out, the screen says so and
    keeps what it showed; once the writer lets go, the note goes."""
    import segtui.app.screens.watch as watch_module

    monkeypatch.setattr(watch_module, "READ_RETRY_SECONDS", 0.3)
    app = SegtuiApp(watch_state=str(state), watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, until=lambda: shown_batch(app) == 2)
        before = rows(app, "#watch-segments")
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                HOLD,
                str(state),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None
            assert (await asyncio.to_thread(holder.stdout.readline)).strip() == "held"
            await pilot.press("g")
            await settle(pilot, until=lambda: watch_screen(app).has_class("-busy"))
            assert "Could not read the state" in watch_screen(app).note
            assert "Showing batch 2" in watch_screen(app).note
            assert rows(app, "#watch-segments") == before
        finally:
            holder.communicate("")
        await pilot.press("g")
        await settle(pilot, until=lambda: not watch_screen(app).has_class("-busy"))
        assert watch_screen(app).note == ""
    assert app._exception is None


def test_history_reads_the_refit_threshold_and_marks_batches_over_it(state: Path) -> None:
    from segtui.app.screens.watch import drift_line
    from segtui.watch.history import REFIT_DRIFT_KEY, history, is_state
    from segtui.watch.state import set_meta

    assert is_state(state) and not is_state(state.parent / "hist.csv")
    assert not is_state(state.parent / "missing.duckdb") and not is_state(state.parent)
    pipe = state.with_name("pipe.duckdb")
    os.mkfifo(pipe)
    assert not is_state(pipe)  # never opened: it would block
    off = history(state)
    assert off.refit_drift is None and not any(d.over for d in off.drift)
    assert drift_line(off).startswith("Drift · refit off · psi ")
    psi = [d.psi for d in off.drift]
    threshold = (min(psi) + max(psi)) / 2  # the batches straddle it
    with duckdb.connect(str(state)) as con:
        set_meta(con, REFIT_DRIFT_KEY, repr(threshold))
    on = history(state)
    assert on.refit_drift == threshold
    assert [d.over for d in on.drift] == [p > threshold for p in psi]
    assert sum(d.over for d in on.drift) == 1
    assert drift_line(on).startswith(f"Drift · refit at psi > {threshold:g} · psi ")
    assert [s["size"] for s in on.status["segments"]] == [t.size for t in on.segments]
    assert [t.sizes[-1] for t in on.segments] == [t.size for t in on.segments]


def test_open_refuses_a_duckdb_file_that_is_no_watch_state(tmp_path: Path) -> None:
    from segtui.cli.main import app as cli

    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    result = CliRunner().invoke(cli, ["open", str(other)])
    assert result.exit_code == 2
    assert "not a watch state" in result.output


HOLD = """
import sys, time, duckdb
while True:  # the screen's reader holds the file for a moment every refresh
    try:
        con = duckdb.connect(sys.argv[1])
        break
    except duckdb.IOException:
        time.sleep(0.05)
print("held", flush=True)
sys.stdin.read()
"""
"""A writer holding the state until its stdin closes."""

SNAPSHOT_DIR = Path(tempfile.gettempdir()) / "segtui-watch-snapshot"


@pytest.fixture
def fixed_state(world: Path) -> Path:
    """The module's world at a fixed path, its wall-clock times set to one instant."""
    shutil.rmtree(SNAPSHOT_DIR, ignore_errors=True)
    shutil.copytree(world.parent, SNAPSHOT_DIR, ignore=shutil.ignore_patterns("sample", "*.lock"))
    state = SNAPSHOT_DIR / "st.duckdb"
    with duckdb.connect(str(state)) as con:
        con.sql(
            "UPDATE batches SET started_at = TIMESTAMPTZ '2025-01-02 03:04:05+00', "
            "finished_at = TIMESTAMPTZ '2025-01-02 03:04:05+00'"
        )
    return state


def test_watch_screen_snapshot(snap_compare, fixed_state: Path) -> None:
    app = SegtuiApp(watch_state=str(fixed_state), watch_terminal=False, theme="dark")

    async def run_before(pilot) -> None:
        await settle(pilot, until=lambda: shown_batch(pilot.app) == 2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_every_watch_key_has_an_id_and_a_tooltip() -> None:
    for binding in WatchScreen.BINDINGS:
        assert binding.id and binding.id.startswith("segtui.watch."), binding
        assert binding.tooltip, binding


def reversed_lines(app: SegtuiApp) -> list[str]:
    """The screen's lines that hold reversed text (a cursor row in NO_COLOR), not counting
    scrollbars (drawn reversed too, with no letter or digit)."""
    out = []
    for strip in app.screen._compositor.render_strips():
        shown = "".join(s.text for s in strip if s.style is not None and s.style.reverse)
        if any(c.isalnum() for c in shown):
            out.append(strip.text)
    return out


async def test_the_arrows_browse_the_moves_and_tab_goes_to_the_sizes(
    state: Path, no_color: None
) -> None:
    """At 80x24 with NO_COLOR, keyboard only: the screen opens in the moves (what a person
    browses; the line under them follows), the footer names the key to the other table, and the
    focused table's row is the one drawn reversed."""
    app = SegtuiApp(watch_state=str(state), watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, until=lambda: shown_batch(app) == 2)
        moves = app.screen.query_one("#watch-moves", DataTable)
        sizes = app.screen.query_one("#watch-segments", DataTable)
        assert app.focused is moves
        assert "tab Next panel" in screen_text(app)
        await pilot.press("down", "down")
        await pilot.pause()
        assert (moves.cursor_row, sizes.cursor_row) == (2, 0)
        third = expected_moves(state)[2]
        why = str(app.screen.query_one("#watch-why").render())
        assert why.startswith(f"{third[1]} (batch 2): {third[2]} -> ")
        assert [line.split()[:2] for line in reversed_lines(app)] == [["2", third[1]]]
        await pilot.press("tab", "down")
        await pilot.pause()
        assert app.focused is sizes
        assert (moves.cursor_row, sizes.cursor_row) == (2, 1)
        second = expected_segments(state)[1]
        assert [line.split()[:2] for line in reversed_lines(app)] == [[second[1], second[2]]]
        await pilot.press("shift+tab")
        assert app.focused is moves
    assert app._exception is None
