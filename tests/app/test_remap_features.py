"""Issue 12, item 9: fixing the mapping inside the app fits on the features `--map` gives.

A CDNOW-like file whose amount column has a name no rule reads (``col4``): detected alone it
gives no revenue features. Mapping ``revenue`` to it in the app, and ``--map revenue=col4`` on
the command line, must give the same feature list (the app used to keep the old defaults).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl
import pytest
from app_helpers import ready, settle
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.quality import cdnow  # noqa: E402


@pytest.fixture(scope="module")
def unnamed_amount(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cdnow")
    frame = pl.read_csv(cdnow.generate(300, 0, folder)).rename({"dollar_value": "col4"})
    path = folder / "cd.csv"
    frame.write_csv(path)
    return path


def _cli_features(path: Path, tmp_path: Path) -> list[str]:
    from segtui.cli.main import app

    out = tmp_path / "seg.parquet"
    args = ["segment", str(path), "--map", "revenue=col4", "-k", "3", "--no-stability"]
    result = CliRunner().invoke(app, [*args, "--json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["features"]


async def test_fixing_the_mapping_in_the_app_gives_the_features_of_map(
    unnamed_amount: Path, tmp_path: Path
) -> None:
    from segtui.app.app import SegtuiApp

    expected = _cli_features(unnamed_amount, tmp_path)
    assert "revenue" in expected
    app = SegtuiApp([str(unnamed_amount)], watch_terminal=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        assert "revenue" not in app.outcome.run.features  # the detected mapping has no amount
        app.remap("revenue", "col4")
        await settle(
            pilot,
            until=lambda: (
                app.dataset.data.mapping.columns.get("revenue") == "col4"
                and "revenue" in app.dataset.feature_names
                and app.outcome is not None
                and app.outcome.request.features == app.choices.features
            ),
        )
        assert list(app.choices.features) == list(app.dataset.default_features)
        assert list(app.outcome.run.features) == expected
