"""At 80x24 every screen reads as words and says where the person is: traits and names cut at
word boundaries, the sort named in its header, ``[``/``]`` in the table's order, the scatter tall
with its legend whole and its y label on the y axis, integer ticks for k, the mapping preview's
rows on screen, keys in help as a person types them, and every way out asking first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from app_helpers import explore_ready, settle
from rich.console import Console

from segtui.app.app import SegtuiApp
from segtui.app.keys import key_text, rows_for
from segtui.app.widgets.clip import clip
from segtui.app.widgets.scatter import ScatterData, legend, render_lines, render_scatter
from segtui.app.widgets.scatter import Series as LineSeries
from segtui.app.widgets.segments_table import SegmentsTable

TRAITS = "51% deep scrolls vs 20% overall; 74% scroll depth vs 55% overall; 65% higher time"


def test_clip_keeps_whole_items_then_whole_words() -> None:
    assert clip(TRAITS, 200) == TRAITS
    assert clip(TRAITS, 70) == "51% deep scrolls vs 20% overall; 74% scroll depth vs 55% overall;…"
    assert clip(TRAITS, 40) == "51% deep scrolls vs 20% overall;…"
    assert clip(TRAITS, 25) == "51% deep scrolls vs 20%…"
    assert clip("Loyal repeat buyers of premium products", 16, sep="") == "Loyal repeat…"
    assert clip("Supercalifragilistic", 8, sep="") == "Superca…"
    assert clip("abc", 1) == "…"


def test_keys_read_as_typed() -> None:
    assert key_text("plus,equals_sign") == "+, ="
    assert key_text("left_square_bracket") == "["
    assert key_text("right_square_bracket") == "]"
    assert key_text("question_mark,f1") == "?, f1"
    assert key_text("escape,q,backspace") == "esc, q, backspace"
    assert key_text("ctrl+c") == "ctrl+c"
    assert key_text("ctrl+left_square_bracket") == "ctrl+["


def test_integer_k_gets_integer_ticks() -> None:
    ks = [float(k) for k in range(2, 13)]
    picture = render_lines(
        [LineSeries("s", "s", ks, list(np.linspace(0, 1, len(ks))))], 60, 12, "k", 3.0
    ).plain
    ticks = picture.splitlines()[-2].split()  # the line under the frame
    assert ticks == [str(k) for k in range(2, 13)]
    # a label wider than a narrow plot wraps between its items instead of vanishing
    narrow = render_lines(
        [LineSeries("s", "s", ks, list(np.linspace(0, 1, len(ks))))],
        32,
        12,
        "k · s silhouette↑  d DB↓  i inertia↓",
        None,
    ).plain.splitlines()
    assert len(narrow) == 12
    assert narrow[-2:] == ["k · s silhouette↑  d DB↓", "i inertia↓"]


def _scatter(names: list[str]) -> ScatterData:
    rng = np.random.default_rng(0)
    n = 40 * len(names)
    return ScatterData(
        rng.normal(size=n),
        rng.normal(size=n),
        np.repeat(np.arange(len(names)), 40),
        list(enumerate(names)),
        (0.2, 0.1),
    )


def test_scatter_y_label_sits_on_the_y_axis_and_legend_breaks_between_entries() -> None:
    data = _scatter(["Browsers", "One-time buyers", "Loyal repeat buyers of premium products"])
    lines = render_scatter(data, 60, 14, None, [], None).plain.splitlines()
    assert "┌─ ↑ PC2 (10.0%) ─" in lines[0]
    assert "PC2" not in "\n".join(lines[1:])  # not under the x axis any more
    assert "PC1 (20.0% of variance)" in lines[-1]
    text = legend(data, None, [], "", width=30).plain.splitlines()
    assert text == [" o Browsers", " x One-time buyers", " + Loyal repeat buyers of…"]


def _plain(renderable: object, width: int = 80) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()


async def test_explore_detail_and_scatter_at_80x24(events_csv: Path) -> None:
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, until=lambda: explore_ready(app))
        screen = app.screen
        assert str(screen.query_one("#title-explore").render()) == "Explore ·"
        table = screen.query_one(SegmentsTable)
        full = {row.id: row for row in table.rows_data}
        widths = sum(c.get_render_width(table) for c in table.ordered_columns)
        assert widths <= table.scrollable_content_region.width
        for index, segment_id in enumerate(table.order):
            shown = table.get_row_at(index)
            name, traits = shown[1].plain, shown[-1].plain
            for cut, whole in ((name, full[segment_id].name), (traits, full[segment_id].traits)):
                if cut != whole:  # cut: a prefix of the whole, ending after a whole word
                    assert cut.endswith("…"), cut
                    stem = cut[:-1].rstrip(";")
                    assert whole.startswith(stem) and whole[len(stem)] in " ;", (cut, whole)

        # o sorts by the next key and the header says which, with its direction
        labels = lambda: [c.label.plain for c in table.ordered_columns]  # noqa: E731
        assert "Users ▼" in labels()
        await pilot.press("o")
        await pilot.pause()
        assert "Segment ▲" in labels() and "Users" in labels()
        by_name = table.order
        assert [full[i].name.lower() for i in by_name] == sorted(
            full[i].name.lower() for i in by_name
        )

        # ] steps through the segments in the table's order, and back lands on the last one
        table.move_cursor(row=0)
        await pilot.press("d")
        await pilot.pause()
        where = app.screen.query_one("#detail-where")
        assert str(where.render()) == f"Segment detail (1 of {len(by_name)}) ·"
        assert app.screen.step_order() == by_name
        seen = [app.screen.segment_id]
        for _ in range(2):
            await pilot.press("right_square_bracket")
            seen.append(app.screen.segment_id)
        assert seen == by_name[:3]
        await pilot.press("left_square_bracket", "escape")
        await pilot.pause()
        assert table.current_id == by_name[1]

        # the scatter: most of the screen, the legend whole beside it, PC2 over its axis
        await pilot.press("2")
        await settle(pilot)
        from segtui.app.widgets.scatter import ScatterPlot

        plot = screen.query_one(ScatterPlot)
        assert plot.size.height >= 14
        picture = plot.render().plain.splitlines()
        assert "↑ PC2" in picture[0]
        canvas = [line for line in picture if "┤" in line or line.lstrip().startswith("│")]
        assert len(canvas) >= 10
        for segment_id in by_name:
            name = full[segment_id].name
            assert any(name in line or clip(name, 23, sep="") in line for line in picture)

        # help: keys as typed, and every row says what it does
        await pilot.press("question_mark")
        await pilot.pause()
        from segtui.app.screens.help import _sections

        for _title, bindings in _sections(app):
            for row in rows_for([b for b in bindings if not getattr(b, "system", False)]):
                assert "_" not in row.keys, row
                assert row.description and row.tooltip, row
        text = _plain(app.screen._render_keys(), 100)
        assert "+, =" in text and "[ " in text and "help_quit" not in text
        await pilot.press("escape")

        # every way out asks first when there are unsaved edits, the palette's Quit too
        from segtui.app.screens.dialogs import ConfirmScreen

        app.dirty = True
        await app.run_action("quit")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running


async def test_mapping_preview_shows_rows_at_80x24(events_csv: Path) -> None:
    app = SegtuiApp([str(events_csv)], watch_terminal=False, review_mapping=True)
    async with app.run_test(size=(80, 24)) as pilot:
        from segtui.app.screens.mapping import MappingScreen

        await settle(pilot, until=lambda: isinstance(app.screen, MappingScreen))
        screen = app.screen
        await settle(pilot, until=lambda: screen.query_one("#preview-table").row_count > 0)
        title = screen.query_one(".screen-title").render()
        assert str(title).startswith("Mapping ·")
        preview = screen.query_one("#preview-table")
        assert preview.region.height >= 4  # the header and at least three rows
        assert preview.region.bottom <= 23  # above the footer
