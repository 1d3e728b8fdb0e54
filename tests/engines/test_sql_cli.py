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
