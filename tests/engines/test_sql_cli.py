"""``segtui sql``: the printed SELECT, run by DuckDB on the raw CSV, gives assign's labels."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from segtui.artifacts.assign import assign
from segtui.cli.main import app
from segtui.sample import write_sample


def test_the_printed_sql_labels_the_raw_file_as_assign_does(tmp_path: Path) -> None:
    events = write_sample(tmp_path, 300, seed=4).events_path
    runner = CliRunner()
    out = tmp_path / "seg.parquet"
    fitted = runner.invoke(
        app, ["segment", str(events), "-k", "4", "-o", str(out), "--no-stability"]
    )
    assert fitted.exit_code == 0, fitted.output
    model = tmp_path / "seg.model.json"
    printed = runner.invoke(app, ["sql", str(model), "--dialect", "duckdb"])
    assert printed.exit_code == 0, printed.output
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW raw_events AS SELECT * FROM read_csv('{events}', all_varchar = true)")
    labels = pl.from_arrow(con.sql(printed.stdout).to_arrow_table())
    assert labels.columns == ["user_id", "segment_id", "segment"]
    assert labels.equals(assign(model, [events]).select(labels.columns))


@pytest.mark.parametrize(
    ("dialect", "message"),
    [("oracle", "unknown SQL dialect 'oracle'")],
)
def test_an_unknown_dialect_is_refused_before_the_model_is_read(
    tmp_path: Path, dialect: str, message: str
) -> None:
    """Bad input (exit 2 through the entry point), said before any file is opened."""
    result = CliRunner().invoke(
        app, ["sql", str(tmp_path / "none.model.json"), "--dialect", dialect]
    )
    assert result.exit_code == 2
    assert message in result.stderr and "none.model.json" not in result.stderr


@pytest.fixture(scope="module")
def model_json(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A model of 300 sampled users, as JSON to edit by hand."""
    import json

    folder = tmp_path_factory.mktemp("sqlmodel")
    events = write_sample(folder, 300, seed=4).events_path
    out = folder / "seg.parquet"
    result = CliRunner().invoke(
        app, ["segment", str(events), "-k", "3", "-o", str(out), "--no-stability"]
    )
    assert result.exit_code == 0, result.output
    return json.loads((folder / "seg.model.json").read_text())


def _edited(model: dict, tmp_path: Path, edit) -> Path:
    import copy
    import json

    changed = copy.deepcopy(model)
    edit(changed)
    path = tmp_path / "edited.model.json"
    path.write_text(json.dumps(changed))
    return path


def test_a_timestamp_format_postgres_cannot_read_is_refused_naming_the_model(
    model_json: dict, tmp_path: Path
) -> None:
    def edit(m: dict) -> None:
        m["reading"]["timestamps"]["formats"] = ["%b %d %Y"]

    path = _edited(model_json, tmp_path, edit)
    result = CliRunner().invoke(app, ["sql", str(path), "--dialect", "postgres"])
    assert result.exit_code == 2, result.output
    assert str(path) in result.stderr and "'%b'" in result.stderr
    assert "Traceback" not in result.output


def test_a_segment_name_postgres_cannot_hold_is_refused_naming_the_model(
    model_json: dict, tmp_path: Path
) -> None:
    def edit(m: dict) -> None:
        m["segmentation"]["names"][0][1] = m["segments"][0]["name"] = "bad\x00name"

    path = _edited(model_json, tmp_path, edit)
    result = CliRunner().invoke(app, ["sql", str(path), "--dialect", "postgres"])
    assert result.exit_code == 2, result.output
    assert str(path) in result.stderr and "NUL" in result.stderr


def test_as_of_for_a_users_table_model_is_refused(tmp_path: Path) -> None:
    table = Path(__file__).resolve().parents[1] / "data" / "layouts" / "users_rfm.csv"
    out = tmp_path / "ut.parquet"
    runner = CliRunner()
    fitted = runner.invoke(
        app, ["segment", str(table), "-k", "2", "-o", str(out), "--no-stability"]
    )
    assert fitted.exit_code == 0, fitted.output
    model = tmp_path / "ut.model.json"
    assert runner.invoke(app, ["sql", str(model)]).exit_code == 0
    result = runner.invoke(app, ["sql", str(model), "--as-of", "2025-01-01"])
    assert result.exit_code == 2
    assert str(model) in result.stderr and "users table" in result.stderr
