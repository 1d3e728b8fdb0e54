"""Drive the real app by keys and by mouse on a 600-user generated log.

Each test asserts what the person would see change: the segments table, the Segmentation, the
screen stack, the files written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from app_helpers import explore_ready, settle

from segtui.app.app import SegtuiApp
from segtui.app.screens.dialogs import ConfirmScreen, MessageScreen
from segtui.app.screens.explore import ExploreScreen
from segtui.app.screens.loading import LoadingScreen
from segtui.app.widgets.segments_table import SegmentsTable
from segtui.artifacts.project import load_project
from segtui.formatting import number


def _names(app: SegtuiApp) -> dict[int, str]:
    return {int(p.segment_id): p.name for p in app.segview.profiles}


def _sizes(app: SegtuiApp) -> dict[int, int]:
    return {int(p.segment_id): int(p.size) for p in app.segview.profiles}


def _table(app: SegtuiApp) -> SegmentsTable:
    return app.screen.query_one(SegmentsTable)


async def _ready(pilot) -> None:
    await settle(pilot, until=lambda: explore_ready(pilot.app))


async def test_open_change_k_rename_merge_undo_rule(events_csv: Path) -> None:
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        assert isinstance(app.screen, ExploreScreen)
        assert app.choices.params["k"] == 6
        assert len(app.segview.profiles) == 6
        table = _table(app)
        assert table.row_count == 6 and table.has_focus

        # change k by one key and refit in a worker
        await pilot.press("plus")
        await settle(pilot, until=lambda: app.outcome.request.fit.params["k"] == 7)
        assert len(app.segview.profiles) == 7
        assert sum(_sizes(app).values()) == 600

        # rename inline: r, clear, type, enter
        first = table.current_id
        await pilot.press("r")
        assert app.screen.query_one("#rename-input").has_focus
        await pilot.press("home", "ctrl+k", *"Top group", "enter")
        await settle(pilot, until=lambda: _names(app).get(first) == "Top group")
        assert table.has_focus
        # escape cancels a rename
        await pilot.press("r", "x", "escape")
        await settle(pilot)
        assert _names(app)[first] == "Top group"

        # merge by the keyboard gesture: pick up row 2, move down, drop on row 3
        await pilot.press("down")
        source = table.current_id
        await pilot.press("p")
        assert table.carried == source
        await pilot.press("down")
        target = table.current_id
        carry = str(app.screen.query_one("#carry-line").render())
        assert "drop on" in carry
        before = _sizes(app)
        await pilot.press("enter")
        await settle(pilot, until=lambda: source not in _sizes(app))
        assert _sizes(app)[target] == before[target] + before[source]
        assert len(app.segview.profiles) == 6

        # merge by a mouse drag: row 0 onto row 1 (header is the first line of the table)
        rows = [row.id for row in table._sorted()]
        drag, drop = rows[0], rows[1]
        before = _sizes(app)
        await pilot.mouse_down(SegmentsTable, offset=(6, 1))
        await pilot.hover(SegmentsTable, offset=(6, 2))
        await pilot.mouse_up(SegmentsTable, offset=(6, 2))
        await settle(pilot, until=lambda: len(app.segview.profiles) == 5)
        assert _sizes(app)[drop] == before[drag] + before[drop]
        assert drag not in _sizes(app)

        # undo twice brings both merges back; redo re-applies one
        await pilot.press("u")
        await settle(pilot, until=lambda: len(app.segview.profiles) == 6)
        await pilot.press("u")
        await settle(pilot, until=lambda: len(app.segview.profiles) == 7)
        await pilot.press("ctrl+r")
        await settle(pilot, until=lambda: len(app.segview.profiles) == 6)

        # a rule with an error says so under the input as you type
        await pilot.press("a")
        await pilot.press(*"purchses >")
        error = str(app.screen.query_one("#rule-error").render())
        assert "purchases" in error  # the closest feature is suggested
        await pilot.press("home", "ctrl+k", *"purchases == 0 and add_to_cart >= 3", "enter")
        await settle(pilot, until=lambda: "rule" in app.segview.kinds.values())
        rule_id = next(i for i, kind in app.segview.kinds.items() if kind == "rule")
        assert app.segview.rules[rule_id] == "purchases == 0 and add_to_cart >= 3"
        users = app.dataset.users
        expected = users.filter((users["purchases"] == 0) & (users["add_to_cart"] >= 3)).height
        assert _sizes(app)[rule_id] == expected > 0
        assert app.segview.kinds[rule_id] == "rule"

        # quitting with unsaved edits asks first; n stays
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ExploreScreen)


async def test_merge_marked_split_and_detail(events_csv: Path) -> None:
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot)
        table = _table(app)
        ids = [row.id for row in table._sorted()]
        sizes = _sizes(app)
        await pilot.press("space", "down", "space", "down", "space", "M")
        await settle(pilot, until=lambda: len(app.segview.profiles) == 4)
        assert _sizes(app)[min(ids[:3])] == sum(sizes[i] for i in ids[:3])
        # nobody named them: the merged segment is named from its new profile
        from segtui.segments.names import claim_holds

        merged = next(p for p in app.segview.profiles if p.segment_id == min(ids[:3]))
        assert merged.claims and all(claim_holds(c, merged) for c in merged.claims)

        await pilot.press("home")
        before = len(app.segview.profiles)
        await pilot.press("s")
        await settle(pilot, until=lambda: len(app.segview.profiles) == before + 1)

        await pilot.press("enter")
        await pilot.pause()
        from segtui.app.screens.detail import DetailScreen

        assert isinstance(app.screen, DetailScreen)
        await pilot.press("2", "3", "right_square_bracket", "escape")
        await pilot.pause()
        assert isinstance(app.screen, ExploreScreen)


async def test_sweep_and_take_suggested_k(events_csv: Path) -> None:
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot)
        await pilot.press("w")
        await settle(pilot, until=lambda: app.sweep_result is not None)
        result = app.sweep_result
        suggested = result.k_choice.k if result.k_choice is not None else result.suggested_k
        assert 2 <= suggested <= 12
        await pilot.press("t")
        await settle(pilot, until=lambda: app.outcome.request.fit.params["k"] == suggested)
        assert len(app.segview.profiles) == suggested


async def test_k_larger_than_users_is_refused_where_typed(
    events_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The refit pause is made long enough that no refit can start while the keys are typed,
    # however loaded the machine is: the test then waits on the screen's state (is a refit
    # scheduled?) and the app's (workers, the shown fit), never on the clock.
    monkeypatch.setattr(ExploreScreen, "REFIT_DELAY", 3600.0)
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot)
        screen = app.screen
        assert isinstance(screen, ExploreScreen)
        await pilot.press("f")
        field = screen.query_one("#param-k")
        field.focus()
        await pilot.press("end", "backspace", "9", "9")
        assert screen.refit_pending  # "99" on the way to "9999" is a valid k: a refit waits
        await pilot.press("9", "9")
        line = str(screen.query_one("#carry-line").render())
        assert "at most" in line
        await settle(pilot, until=lambda: not screen.refit_pending)
        assert not screen.refit_pending  # the refused input cancelled the waiting refit
        assert app.outcome.request.fit.params["k"] == 6
        assert len(app.segview.profiles) == 6  # the old result stays


async def test_bad_file_then_pick_another(events_csv: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.csv"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    app = SegtuiApp([str(bad)], watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, until=lambda: app.screen.has_class("-failed"))
        assert isinstance(app.screen, LoadingScreen)
        message = str(app.screen.query_one("#loading-error").render())
        assert "broken.csv" in message
        retry = app.screen.query_one("#retry-path")
        assert retry.has_focus
        await pilot.press("home", "ctrl+k", *str(events_csv), "enter")
        await _ready(pilot)
        assert isinstance(app.screen, ExploreScreen)


async def test_save_project_and_reopen_exactly(events_csv: Path, tmp_path: Path) -> None:
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        await pilot.press("plus")
        await settle(pilot, until=lambda: app.outcome.request.fit.params["k"] == 7)
        await pilot.press("r", "home", "ctrl+k", *"Keepers", "enter")
        await settle(pilot, until=lambda: "Keepers" in _names(app).values())
        await pilot.press("p", "down", "enter")
        await settle(pilot, until=lambda: len(app.segview.profiles) == 6)
        saved = app.save_project_to(str(tmp_path / "work.segtui.json"))
        names, labels = _names(app), app.segview.labels.copy()
        history = list(app.segmentation.history)
        assert not app.dirty

    project = load_project(saved)
    again = SegtuiApp(project=project, project_path=str(saved), watch_terminal=False)
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(
            pilot,
            until=lambda: (
                again.segview is not None
                and again.project is not None
                and again.project.segmentation is None
                and again.segmentation.history
            ),
        )
        assert _names(again) == names
        assert np.array_equal(again.segview.labels, labels)
        assert list(again.segmentation.history) == history
        assert again.choices.params["k"] == 7


async def test_help_lists_every_screen_and_palette_knows_actions(events_csv: Path) -> None:
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        await pilot.press("f1")
        await pilot.pause()
        from segtui.app.screens.help import HelpScreen

        assert isinstance(app.screen, HelpScreen)
        from rich.console import Console

        console = Console(width=100, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
        console.print(app.screen._render_keys())
        text = console.export_text()
        for words in ("This screen (Explore)", "Mapping", "Segment detail", "Export", "Pick up"):
            assert words in text
        await pilot.press("escape")
        from segtui.app.commands import SegtuiCommands

        titles = [t for t, _, _ in SegtuiCommands(app.screen)._commands()]
        assert any(t.startswith("Rename") for t in titles)
        assert any(t.startswith("Export") for t in titles)


def test_every_binding_has_id_and_tooltip() -> None:
    from segtui.app.screens import detail, dialogs, explore, export, help, loading, mapping
    from segtui.app.widgets import segments_table

    classes = [
        SegtuiApp,
        explore.ExploreScreen,
        mapping.MappingScreen,
        detail.DetailScreen,
        export.ExportScreen,
        help.HelpScreen,
        loading.LoadingScreen,
        dialogs.ConfirmScreen,
        dialogs.MessageScreen,
        dialogs.PickScreen,
        dialogs.PathScreen,
        segments_table.SegmentsTable,
    ]
    for cls in classes:
        for binding in cls.BINDINGS:
            assert binding.id and binding.id.startswith("segtui."), (cls, binding)
            assert binding.tooltip, (cls, binding)
    explore_shown = [b for b in explore.ExploreScreen.BINDINGS if b.show]
    assert len(explore_shown) <= 6


async def test_mapping_screen_change_source_by_keyboard(events_csv: Path) -> None:
    app = SegtuiApp([str(events_csv)], watch_terminal=False, review_mapping=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        from segtui.app.screens.mapping import MappingScreen

        assert isinstance(app.screen, MappingScreen)
        report = str(app.screen.query_one("#mapping-report").render())
        assert "rows would be left out" in report or "Rows read" in report
        # move to 'category' and unmap it: its features disappear after the reload
        table = app.screen.query_one("#mapping-table")
        row = next(i for i in range(table.row_count) if table.get_row_at(i)[0] == "category")
        table.move_cursor(row=row)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("home", "enter")  # "(none)" is the first option
        await settle(pilot, until=lambda: "category" not in app.dataset.loaded.columns)
        assert "category_diversity" not in app.dataset.feature_names
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ExploreScreen)


async def test_export_writes_parquet_with_names_and_counts(
    events_csv: Path, tmp_path: Path
) -> None:
    import polars as pl

    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        await pilot.press("p", "down", "enter")
        await settle(pilot, until=lambda: len(app.segview.profiles) == 5)
        await pilot.press("r", "home", "ctrl+k", *"Renamed", "enter")
        await settle(pilot, until=lambda: "Renamed" in _names(app).values())
        target = tmp_path / "out.parquet"
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("home", "ctrl+k", *str(target), "enter")
        await settle(pilot, until=lambda: isinstance(app.screen, MessageScreen))
        assert str(target) in str(app.screen.query_one(".dialog-text").render())
        assert "segtui assign" in str(app.screen.query_one(".dialog-text").render())
        frame = pl.read_parquet(target)
        counts = dict(frame.group_by("segment").len().iter_rows())
        expected = {p.name: int(p.size) for p in app.segview.profiles}
        assert counts == expected
        assert "Renamed" in counts
        assert frame.height == 600


async def test_mapping_screen_shows_derived_columns(events_csv: Path, tmp_path: Path) -> None:
    import polars as pl

    from segtui.app.screens.mapping import MappingScreen

    no_session = tmp_path / "events.csv"
    pl.read_csv(events_csv).drop("session_id").write_csv(no_session)
    app = SegtuiApp([str(no_session)], watch_terminal=False, review_mapping=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, until=lambda: isinstance(app.screen, MappingScreen))
        table = app.screen.query_one("#mapping-table")
        rows = {str(table.get_row_at(i)[0]): table.get_row_at(i) for i in range(table.row_count)}
        assert [str(c) for c in rows["revenue"][1:]] == ["(derived)", "price x quantity"]
        assert [str(c) for c in rows["session_id"][1:]] == [
            "(derived)",
            "30-minute inactivity gap",
        ]
        assert [str(c) for c in rows["page"][1:]] == ["(none)", "not mapped"]
        # the report comes from the load's own pass: no second scan, shown at once
        report = str(app.screen.query_one("#mapping-report").render())
        assert report.startswith("Rows read")


async def test_export_defaults_to_the_working_folder(
    events_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        await pilot.press("e")
        await pilot.pause()
        path = app.screen.query_one("#export-path").value
        assert path == str(tmp_path / "segments.parquet")
        assert app.screen.query_one("#export-model-path").value == str(
            tmp_path / "segments.model.json"
        )
        await pilot.press("ctrl+s")
        await settle(pilot, until=lambda: isinstance(app.screen, MessageScreen))
        text = str(app.screen.query_one(".dialog-text").render())
        assert str(tmp_path / "segments.parquet") in text
        assert str(tmp_path / "segments.model.json") in text
        assert (tmp_path / "segments.parquet").exists()
        assert not (events_csv.parent / "segments.parquet").exists()


async def test_named_rule_and_plain_rule(events_csv: Path) -> None:
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        await pilot.press("a", *"VIP by rule: revenue > 100")
        hint = str(app.screen.query_one("#rule-error").render())
        assert "“VIP by rule”" in hint
        await pilot.press("enter")
        await settle(pilot, until=lambda: "VIP by rule" in _names(app).values())
        rule_id = next(i for i, name in _names(app).items() if name == "VIP by rule")
        assert app.segview.rules[rule_id] == "revenue > 100"
        users = app.dataset.users
        assert _sizes(app)[rule_id] == users.filter(users["revenue"] > 100).height > 0
        # a plain rule is still named from its text
        await pilot.press("a", *"purchases >= 3", "enter")
        await settle(pilot, until=lambda: "purchases >= 3" in _names(app).values())


async def test_refit_carries_rules_and_asks_before_discarding_edits(events_csv: Path) -> None:
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        await pilot.press("a", *"Cart fans: add_to_cart >= 3", "enter")
        await settle(pilot, until=lambda: "Cart fans" in _names(app).values())
        size = next(s for i, s in _sizes(app).items() if _names(app)[i] == "Cart fans")

        # only rules: the refit carries them over without asking
        await pilot.press("plus")
        await settle(pilot, until=lambda: app.outcome.request.fit.params["k"] == 7)
        assert not isinstance(app.screen, ConfirmScreen)
        names = _names(app)
        rule_id = next(i for i, name in names.items() if name == "Cart fans")
        assert app.segview.kinds[rule_id] == "rule" and _sizes(app)[rule_id] == size
        assert app.outcome.result.n_segments == 7
        sizes = _sizes(app)
        clusters = [i for i, kind in app.segview.kinds.items() if kind == "cluster"]
        # every cluster (one the rule took every user from shows, with 0 users) + the rule
        assert len(names) == len(clusters) + 1 == len(sizes)
        assert "kept 1 rule segment" in str(app.screen.query_one("#carry-line").render())

        # a rename belongs to the fit: a refit asks first, and "keep current" keeps everything
        await pilot.press("home", "r", "home", "ctrl+k", *"Loyal", "enter")
        await settle(pilot, until=lambda: "Loyal" in _names(app).values())
        await pilot.press("minus")
        await settle(pilot, until=lambda: isinstance(app.screen, ConfirmScreen))
        question = str(app.screen.query_one(".dialog-text").render())
        assert "Refit discards 1 edit" in question and "'Loyal'" in question
        await pilot.press("n")
        await settle(pilot)
        assert app.outcome.request.fit.params["k"] == 7
        assert "Loyal" in _names(app).values()
        assert "Kept the current segments" in str(app.screen.query_one("#carry-line").render())
        assert app.choices.params["k"] == 7  # the setup is back to the shown fit's
        assert app.screen.query_one("#param-k").value == "7"

        # asked again, y refits with k=6, drops the rename, keeps the rule
        await pilot.press("minus")
        await settle(pilot, until=lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, until=lambda: app.outcome.request.fit.params["k"] == 6)
        names = _names(app)
        assert "Loyal" not in names.values() and "Cart fans" in names.values()
        assert "discarded 1 edit" in str(app.screen.query_one("#carry-line").render())


async def test_sweep_tab_and_dbscan_setup_say_why(events_csv: Path) -> None:
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot)
        await pilot.press("w")
        await settle(pilot, until=lambda: app.sweep_result is not None)
        note = str(app.screen.query_one("#sweep-note").render())
        choice = app.sweep_result.k_choice  # the sweep scores stability too: it suggests
        assert choice is not None
        assert f"Suggested k = {choice.k} (t takes it)" in note
        assert choice.reason[:20] in note
        assert "Scored before the within-segment weights" in note  # the K-Means fit has them
        fit_text = str(app.screen.query_one("#fit-text").render())
        assert f"Suggested k = {choice.k}" in fit_text

        from textual.widgets import Select

        app.screen.query_one("#algorithm", Select).value = "dbscan"
        await settle(pilot, until=lambda: "eps" in str(app.screen.query_one("#algo-note").render()))
        await settle(pilot, until=lambda: app.outcome.request.fit.algorithm == "dbscan")
        await settle(pilot, until=lambda: "Suggested eps =" in _algo_note(app))
        text = _algo_note(app)
        assert "knee of the sorted distance" in text
        assert "Last fit: DBSCAN" in text and "users" in text


async def test_mixture_sweep_shows_bic_not_inertia(events_csv: Path) -> None:
    from textual.widgets import DataTable, Select

    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot)
        app.screen.query_one("#algorithm", Select).value = "gmm"
        await settle(pilot, until=lambda: app.outcome.request.fit.algorithm == "gmm")
        await pilot.press("w")
        await settle(pilot, until=lambda: app.sweep_result is not None)
        table = app.screen.query_one("#sweep-table", DataTable)
        assert str(table.ordered_columns[4].label) == "BIC"
        first = app.sweep_result.rows[0].diagnostics
        assert table.get_row_at(0)[4] == number(first.bic)


async def test_the_setup_panel_turns_the_feature_weights_off(events_csv: Path) -> None:
    from textual.widgets import Select

    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot)
        assert app.outcome.prepared.params.weighting == "within-segment"
        weights = app.screen.query_one("#param-weighting", Select)
        assert weights.value == "within-segment"
        weights.value = "none"
        await settle(pilot, until=lambda: app.outcome.request.weighting == "none")
        assert app.outcome.prepared.params.weighting == "none"
        assert app.current_project().weighting == "none"
        # a mixture has no weights to offer: the choice stays for when K-Means comes back
        app.screen.query_one("#algorithm", Select).value = "gmm"
        await settle(pilot, until=lambda: app.outcome.request.fit.algorithm == "gmm")
        assert not app.screen.query("#param-weighting")
        app.screen.query_one("#algorithm", Select).value = "kmeans"
        await settle(pilot, until=lambda: app.outcome.request.fit.algorithm == "kmeans")
        assert app.screen.query_one("#param-weighting", Select).value == "none"


def test_the_k_scan_is_kept_across_ks_and_stability_refits_are_not(events_csv: Path) -> None:
    """A fit at another k has other within-segment weights: its stability refits are of another
    matrix (another key), while the k scan, of the matrix before the weights, still applies."""
    from dataclasses import replace

    from segtui.app import pipeline

    dataset = pipeline.load_dataset([str(events_csv)])
    request = pipeline.FitRequest(
        tuple(dataset.default_features), pipeline.FitSpec("kmeans", {"k": 5})
    )
    five = pipeline.fit(dataset, request)
    six = pipeline.fit(dataset, replace(request, fit=pipeline.FitSpec("kmeans", {"k": 6})))
    assert pipeline.k_scan_key(five) == pipeline.k_scan_key(six)
    assert pipeline.cache_key(five) != pipeline.cache_key(six)
    unweighted = pipeline.fit(dataset, replace(request, weighting="none"))
    assert pipeline.k_scan_key(unweighted) != pipeline.k_scan_key(five)


def _algo_note(app: SegtuiApp) -> str:
    return str(app.screen.query_one("#algo-note").render())


async def test_app_export_matches_segtui_segment(
    events_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One orchestration: the app and `segtui segment` write the same segments."""
    import polars as pl
    from typer.testing import CliRunner

    from segtui.cli.main import app as cli

    monkeypatch.chdir(tmp_path)
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot, until=lambda: isinstance(app.screen, MessageScreen))
    out = tmp_path / "cli.parquet"
    result = CliRunner().invoke(cli, ["segment", str(events_csv), "-o", str(out), "-k", "6"])
    assert result.exit_code == 0, result.output
    ours = pl.read_parquet(tmp_path / "segments.parquet")
    theirs = pl.read_parquet(out)
    columns = ["user_id", "segment", "segment_id", "pc1", "pc2"]
    assert ours.select(columns).equals(theirs.select(columns))


def test_split_rule_input() -> None:
    from segtui.segments.rules import parse_named_rule as split_rule_input

    assert split_rule_input("Big spenders: revenue > 1000") == ("Big spenders", "revenue > 1000")
    assert split_rule_input("revenue > 1000") == (None, "revenue > 1000")
    assert split_rule_input("`a:b` > 1") == (None, "`a:b` > 1")
    assert split_rule_input("  Big   spenders :  ") == ("Big spenders", "")


@pytest.mark.auto_k
async def test_stability_and_auto_k_fill_in_from_their_worker(events_csv: Path) -> None:
    import re

    from segtui.app.widgets.readouts import stability_cell

    assert stability_cell(None, 0, "cluster") == "…"  # what the column shows until then
    app = SegtuiApp([str(events_csv)], watch_terminal=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot)  # waits for every worker, the stability one included
        evidence = app.evidence
        assert evidence is not None and evidence.stability is not None
        assert evidence.k_choice is not None
        # auto-k suggests; the segments on screen stay as they are until t takes the pick
        assert app.outcome.result.params["k"] == 6
        assert app.note is not None and f"k = {evidence.k_choice.k}" in app.note.text
        table = _table(app)
        cells = [str(table.get_cell(str(row.id), "stability")) for row in table.rows_data]
        assert cells and all(re.fullmatch(r"[01]\.\d\d!?", c) for c in cells), cells
        first = table.rows_data[0].id
        assert cells[0].rstrip("!") == f"{evidence.stability.jaccard(first):.2f}"
        await pilot.press("enter")
        await settle(pilot)
        text = str(app.screen.query_one("#detail-rule").render())
        assert "Stability: " in text and "bootstrap refits" in text
