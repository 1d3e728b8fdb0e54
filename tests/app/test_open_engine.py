"""The open screen's engine: chosen by keyboard (or preselected by ``segtui open --engine``),
duckdb computes the features from SQL and the app fits on them as it fits on polars' own.

No Spark here: a Spark session costs seconds; the Spark engine's features are checked against
the others in tests/engines. Only the open screen's line for it is checked (listed with the
reason when this machine cannot run it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from app_helpers import explore_ready, settle
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from segtui.app import pipeline
from segtui.app.app import SegtuiApp
from segtui.app.screens.loading import EngineChoice, LoadingScreen
from segtui.sample import write_sample


def _choice(app: SegtuiApp) -> str:
    return str(app.screen.query_one(EngineChoice).render())


async def test_duckdb_chosen_by_keyboard_gives_the_polars_segments(tmp_path: Path) -> None:
    events_csv = write_sample(tmp_path, 200, seed=7).events_path  # small: two loads, two fits
    app = SegtuiApp([str(tmp_path / "missing.csv")], watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, until=lambda: app.screen.has_class("-failed"))
        retry = app.screen.query_one("#retry-path")
        assert retry.has_focus
        assert "(•) polars  ( ) duckdb" in _choice(app)
        await pilot.press("shift+tab", "right")
        assert app.screen.query_one(EngineChoice).has_focus
        assert "( ) polars  (•) duckdb" in _choice(app)
        assert app.engine == "duckdb"
        await pilot.press("tab")
        assert retry.has_focus
        await pilot.press("home", "ctrl+k", *str(events_csv), "enter")
        await settle(pilot, until=lambda: explore_ready(app))
        dataset = app.dataset
        assert dataset is not None and app.outcome is not None and app.segview is not None
        status = str(app.screen.query_one("#status").render())
        labels = app.segview.labels.copy()
        sizes = {p.name: p.size for p in app.segview.profiles}
        request = app.outcome.request

    polars = pipeline.load_dataset([str(events_csv)])
    assert dataset.engine == "duckdb" and dataset.engine_users == polars.n_users == 200
    report = polars.report
    assert report is not None
    assert dataset.summary() == (
        f"the duckdb engine computed the features: {report.rows_kept:,} events, "
        f"200 users x {len(polars.feature_names)} features"
    )
    assert status.startswith("200 users (duckdb) · ")
    # the engine contract: the same feature table, so the same defaults and the same segments
    assert_frame_equal(dataset.users, polars.users, check_exact=False, rel_tol=1e-9)
    assert request.features == tuple(polars.default_features)
    outcome = pipeline.fit(polars, request)
    view = pipeline.view(polars, outcome, outcome.segmentation)
    assert np.array_equal(labels, view.labels)
    assert sizes == {p.name: p.size for p in view.profiles}
    assert len(sizes) == request.fit.params["k"]


async def test_preselected_engine_and_spark_listed_with_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)  # no Java on this "machine"
    monkeypatch.delenv("JAVA_HOME", raising=False)
    app = SegtuiApp([str(tmp_path / "missing.csv")], watch_terminal=False, engine="duckdb")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, until=lambda: app.screen.has_class("-failed"))
        text = _choice(app)
        assert "( ) polars  (•) duckdb" in text
        assert "( ) spark" not in text
        assert "spark unavailable: --engine spark needs Java" in text
        await pilot.press("shift+tab", "right")
        assert app.engine == "polars"  # spark is skipped: right from duckdb wraps to polars
        await pilot.press("left")
        assert app.engine == "duckdb"
        assert "(•) duckdb" in _choice(app)


async def test_an_engine_error_is_said_plainly_and_the_path_box_takes_over(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "[bold]broken.csv"
    bad.write_bytes(b"user_id,ts,event\nu1,2024-01-01T00:00:00Z,\xff\xfe view\n")
    app = SegtuiApp([str(bad)], watch_terminal=False, engine="duckdb", memory_limit="1MB")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, until=lambda: app.screen.has_class("-failed"))
        assert isinstance(app.screen, LoadingScreen)
        message = str(app.screen.query_one("#loading-error").render())
        assert message == "--memory-limit '1MB' is below 64 MiB, too little for DuckDB."
        assert app.screen.query_one("#retry-path").has_focus
        app.memory_limit = None
        await pilot.press("enter")  # the same file again, now read by DuckDB
        await settle(pilot, until=lambda: app.screen.has_class("-failed"))
        message = str(app.screen.query_one("#loading-error").render())
        assert message == (  # the name as it is, brackets and all
            f"{bad}, row 1: the file is not UTF-8 (byte 0xff on line 2 of the file). "
            "Convert it, e.g. `iconv -f latin1 -t UTF-8 IN > OUT`."
        )
        assert "[bold]broken.csv" in str(app.screen.query_one("#loading-paths").render())
        assert app.screen.query_one("#retry-path").has_focus
        assert app.is_running


def test_open_passes_the_engine_and_refuses_what_does_not_apply(
    events_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from segtui.cli import app_cmd
    from segtui.cli.main import app as cli

    seen: list[dict] = []
    monkeypatch.setattr(app_cmd, "_run", lambda paths, **kwargs: seen.append(kwargs))
    args = ["open", str(events_csv), "--engine", "duckdb", "--memory-limit", "2GB"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert (seen[0]["engine"], seen[0]["memory_limit"]) == ("duckdb", "2GB")
    for args, said in [
        (["--engine", "velox"], "--engine 'velox' is not an engine"),
        (["--memory-limit", "2GB"], "--memory-limit is for --engine duckdb"),
        (["--spark-master", "local[1]"], "--spark-master is for --engine spark"),
        (["--engine", "duckdb", "--memory-limit", "1MB"], "below 64 MiB"),
    ]:
        result = CliRunner().invoke(cli, ["open", str(events_csv), *args])
        assert result.exit_code == 2 and said in result.stderr, result.stderr
    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    result = CliRunner().invoke(cli, ["open", str(events_csv), "--engine", "spark"])
    assert result.exit_code == 2 and "--engine spark needs Java" in result.stderr
    assert len(seen) == 1
