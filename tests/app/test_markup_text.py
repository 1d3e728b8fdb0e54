"""Markup-like text in every user-text field, every screen visited: shown as it is, never parsed.

The log's event names, category values, a column name, the user ids, a bad timestamp, the path,
a segment's new name, a rule's name and a users table's feature names all look like Rich/Textual
markup (``[/]`` closes nothing and crashes a markup parser; ``[b]`` would silently turn bold).
Each test records every string the markup parsers see (Textual's ``to_content``, Rich's
``render`` and the console's ``render_markup``) and fails when one carries any of that text:
adding a ``Static(name)`` or a ``notify(f"... {path}")`` that is parsed as markup fails here
even where the text happens to parse. Where the text fits, the screen is checked to show it
literally.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from app_helpers import explore_ready, settle
from textual.widgets import Input

from segtui.app.app import SegtuiApp
from segtui.app.screens.dialogs import ConfirmScreen, MessageScreen, PathScreen, PickScreen
from segtui.app.screens.explore import ExploreScreen
from segtui.app.screens.loading import LoadingScreen
from segtui.app.state import Choices
from segtui.app.widgets.segments_table import SegmentsTable

CATEGORY = "[/]fashion[bold"
EVENT = "[b]sea[/rch"
COLUMN = "[/]scroll"
BAD_TS = "[/]bad"
USER_PREFIX = "[/]u"
NAME = "[/] [bold]x[/bold"
RULE_NAME = "[/]r[b"
FEATURE = "[/]spend[bold"
FOLDER = "m[/b]"
MISSING = "missing[bold].csv"
FRAGMENTS = (CATEGORY, EVENT, COLUMN, BAD_TS, USER_PREFIX, NAME, RULE_NAME, FEATURE, FOLDER)


def parsed_user_text(seen: list[str]) -> list[str]:
    return [s for s in seen if any(fragment in s for fragment in FRAGMENTS)]


def screen_text(app: SegtuiApp) -> str:
    """What the current screen shows, as plain text (toasts included)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


@pytest.fixture(scope="module")
def hostile_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 300-user sample with markup-like event names, categories, a column, user ids and a
    bad timestamp (one row left out), in a folder whose name looks like markup too."""
    from segtui.sample import write_sample

    folder = tmp_path_factory.mktemp("hostile")
    events = write_sample(folder, 300, seed=7).events_path
    frame = pl.read_csv(events, infer_schema_length=0)
    frame = frame.with_columns(
        pl.col("category").replace("fashion", CATEGORY),
        pl.col("event").replace("search", EVENT),
        (pl.lit(USER_PREFIX) + pl.col("user_id").str.slice(1)).alias("user_id"),
    ).rename({"scroll_depth": COLUMN})
    bad = frame.head(1).with_columns(pl.lit(BAD_TS).alias("ts"))
    out = folder / "hostile.csv"
    pl.concat([frame, bad]).write_csv(out)
    return out


async def type_into(pilot, selector: str, text: str) -> None:
    """Put ``text`` in an input and press enter (a long path typed key by key takes seconds)."""
    field = pilot.app.screen.query_one(selector, Input)
    field.value = text
    field.focus()
    await pilot.pause()
    await pilot.press("enter")


async def _until(pilot, check) -> None:
    await settle(pilot, until=check)


async def test_markup_like_events_on_every_screen(
    hostile_csv: Path, tmp_path: Path, markup_seen: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / FOLDER  # a folder "m[" holding "b]"
    folder.mkdir(parents=True)
    monkeypatch.chdir(folder)
    missing = folder / MISSING
    app = SegtuiApp([str(missing)], watch_terminal=False)
    # hierarchical, so the merge tree can be visited too
    app.choices = Choices((), "agglomerative", {"k": 6, "linkage": "ward"})
    async with app.run_test(size=(160, 50)) as pilot:
        # loading: the error names the missing file exactly; another path is typed
        await _until(pilot, lambda: app.screen.has_class("-failed"))
        assert isinstance(app.screen, LoadingScreen)
        assert MISSING in screen_text(app)
        await type_into(pilot, "#retry-path", str(hostile_csv))
        await _until(pilot, lambda: explore_ready(app))
        table = app.screen.query_one(SegmentsTable)

        # rename a segment to markup: table, status line (undo text) and notify stay literal
        first = table.current_id
        await pilot.press("r", "home", "ctrl+k", *NAME, "enter")
        await _until(pilot, lambda: app.segview.segmentation.names.get(first) == NAME)
        assert NAME in screen_text(app)  # the table's name cell
        assert NAME in str(app.screen.query_one("#status").render())  # what u undoes

        # setup panel: the feature named from the category, with its description
        await pilot.press("f")
        await pilot.pause()
        box = app.screen.query_one("#feat-category_fashion_bold_share")
        box.focus()
        await pilot.pause()
        assert CATEGORY in str(app.screen.query_one("#feature-help").render())
        await pilot.press("escape")

        # a named rule on that feature (rule editor, then the table)
        await pilot.press("a", *f"{RULE_NAME}: category_fashion_bold_share > 0.1")
        await pilot.pause()
        assert RULE_NAME in screen_text(app)
        await pilot.press("enter")
        await _until(pilot, lambda: RULE_NAME in app.segview.segmentation.names.values())
        assert RULE_NAME in screen_text(app)

        # detail of the renamed segment: title, distributions, sample users (ids look like markup)
        table.move_cursor(row=[r.id for r in table._sorted()].index(first))
        await pilot.press("d")
        await _until(pilot, lambda: app.screen.query("#detail-users").first().row_count > 0)
        assert NAME in screen_text(app)
        await pilot.press("3")
        await pilot.pause()
        assert USER_PREFIX in screen_text(app)
        await pilot.press("2")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ExploreScreen)

        # scatter (PCA, then t-SNE): the legend names the segment as it is
        await pilot.press("2")
        await pilot.pause()
        assert NAME in screen_text(app)
        await pilot.press("T")
        await _until(pilot, lambda: app.tsne_for(app.outcome) is not None)
        assert NAME in screen_text(app)
        await pilot.press("T")

        # split the renamed segment: the notification carries its name
        await pilot.press("s")
        await _until(pilot, lambda: any("Split" in n.message for n in app._notifications))
        assert any(NAME in n.message for n in app._notifications)

        # k sweep
        app.request_sweep([2, 3])  # w sweeps k = 2..12: two ks show the same tab, in less time
        await _until(pilot, lambda: app.sweep_result is not None)
        assert app.screen.query_one("#views").active == "sweep"

        # export: an error naming a folder that does not exist, the feature list, the summary
        await pilot.press("e")
        await pilot.pause()
        app.screen.query_one("#export-path", Input).value = f"{folder}/[/]no/x.parquet"
        await pilot.pause()
        error = str(app.screen.query_one("#export-path-error").render())
        assert "[/]no does not exist" in error
        await type_into(pilot, "#export-path", f"{folder}/out.parquet")
        await _until(pilot, lambda: isinstance(app.screen, MessageScreen))
        assert FOLDER in str(app.screen.query_one(".dialog-text").render())
        await pilot.press("escape")

        # help, mapping (decisions name the event; the picker lists the odd column), save it
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.press("m")
        await _until(pilot, lambda: app.screen.query("#preview-table").first().row_count > 0)
        mapping = screen_text(app)
        assert EVENT in mapping
        assert CATEGORY in mapping or USER_PREFIX in mapping  # preview cells
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PickScreen)
        assert COLUMN in screen_text(app)
        await pilot.press("escape", "s")
        await pilot.pause()
        assert isinstance(app.screen, PathScreen)
        await type_into(pilot, "#path-input", f"{folder}/map[b].toml")
        await _until(pilot, lambda: (folder / "map[b].toml").exists())
        assert any("map[b].toml" in n.message for n in app._notifications)
        await pilot.press("escape")

        # save the project: the toast names the path
        await pilot.press("ctrl+s")
        await pilot.pause()
        await type_into(pilot, "#path-input", f"{folder}/p[b].segtui.json")
        await _until(pilot, lambda: (folder / "p[b].segtui.json").exists())

        # the merge tree names the segments as they are
        await pilot.press("h")
        await pilot.pause()
        assert NAME in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ExploreScreen)

        # refitting asks first: the question lists the rename
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert NAME in str(app.screen.query_one(".dialog-text").render())
        await pilot.press("n")
        await pilot.pause()
    assert app.return_code in (None, 0) and app._exception is None
    assert parsed_user_text(markup_seen) == []


async def test_markup_like_users_table(
    tmp_path: Path, markup_seen: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A users table: its columns are the features, named anything."""
    rng = np.random.default_rng(0)
    n = 120
    users = pl.DataFrame(
        {
            "user_id": [f"{USER_PREFIX}{i:03d}" for i in range(n)],
            FEATURE: rng.gamma(2.0, 10.0, n),
            "visits": rng.poisson(3, n).astype(float),
            "c": rng.normal(size=n),
        }
    )
    path = tmp_path / "users.csv"
    users.write_csv(path)
    monkeypatch.chdir(tmp_path)
    app = SegtuiApp([str(path)], watch_terminal=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await _until(pilot, lambda: explore_ready(app))
        assert FEATURE in screen_text(app)  # the profile's feature column (and traits)
        await pilot.press("f")
        await pilot.pause()
        assert FEATURE in screen_text(app)  # its checkbox
        await pilot.press("escape", "a", *f"{RULE_NAME}: `{FEATURE}` > 20", "enter")
        await _until(pilot, lambda: RULE_NAME in app.segview.segmentation.names.values())
        await pilot.press("d")
        await _until(pilot, lambda: app.screen.query("#detail-users").first().row_count > 0)
        await pilot.press("2")
        await pilot.pause()
        assert FEATURE in screen_text(app)
        await pilot.press("3")
        await pilot.pause()
        assert USER_PREFIX in screen_text(app)
        await pilot.press("escape", "e")
        await pilot.pause()
        assert FEATURE in screen_text(app)  # the export's feature list
        await pilot.press("ctrl+s")
        await _until(pilot, lambda: isinstance(app.screen, MessageScreen))
        await pilot.press("escape")
        model = json.loads((tmp_path / "segments.model.json").read_text())
        assert any(s["name"] == RULE_NAME for s in model["segments"])
    assert app._exception is None
    assert parsed_user_text(markup_seen) == []
