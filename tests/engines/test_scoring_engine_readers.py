"""The scoring SQL on what an engine's own reader makes of the raw files: labels equal assign's.

``segtui sql`` reads ``raw_events`` as a pipeline has it: DuckDB's ``read_csv`` with its own
types (times typed TIMESTAMP or TIMESTAMPTZ, ids BIGINT), ``read_json`` with nested objects as
structs and UUIDs typed, Spark's ``inferSchema`` and JSON reader. A typed time has no text left
for the model's formats, so it is taken as the instant it is; a nested key is a struct field.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from segtui.artifacts.assign import assign
from segtui.artifacts.export import export_segments
from segtui.artifacts.fitted import ExportTarget
from segtui.artifacts.model import Model, read_model
from segtui.artifacts.score_sql import scoring_sql
from segtui.cli.main import app
from segtui.clustering.specs import FitSpec, PrepSpec
from segtui.ingest.events import load_events
from segtui.ingest.read_sql import read_sql
from segtui.ingest.sources import open_source
from segtui.pipeline import load_users, run_segmentation

LAYOUTS = Path(__file__).resolve().parents[1] / "data" / "layouts"
TYPED_LOSSLESS = [
    p
    for p in sorted(LAYOUTS.iterdir())
    # users_rfm.csv is a users table; ga4_events.csv's ids (1234567890.1709650000) are typed
    # DOUBLE by DuckDB, which loses their digits: that file must be read as text.
    if p.name not in ("users_rfm.csv", "ga4_events.csv")
]


def fitted_model(path: Path, folder: Path) -> Model:
    data = load_users([path])
    k = 3 if data.users.height >= 6 else 2
    run = run_segmentation(data.users, PrepSpec.for_data(data), FitSpec("kmeans", {"k": k}, 0))
    target = ExportTarget(folder / "seg.parquet")
    export_segments(target, run.fitted(run.segmentation), data.provenance)
    return read_model(folder / "seg.model.json")


def expected_labels(model: Model, path: Path) -> pl.DataFrame:
    return assign(model, [path]).select("user_id", "segment_id", "segment").sort("user_id")


def engine_read(path: Path) -> str:
    if path.suffix == ".ndjson":
        return f"read_json('{path}')"
    return f"read_csv('{path}')"  # DuckDB's own sniffing and types


@pytest.mark.parametrize("path", TYPED_LOSSLESS, ids=lambda p: p.name)
def test_duckdb_scores_the_files_its_own_reader_typed(path: Path, tmp_path: Path) -> None:
    model = fitted_model(path, tmp_path)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW raw_events AS SELECT * FROM {engine_read(path)}")
    labels = con.sql(scoring_sql(model, structs=True)).pl().sort("user_id")
    assert labels.height > 0
    assert labels.equals(expected_labels(model, path))


def test_the_reader_typed_times_in_another_session_zone() -> None:
    """A time DuckDB typed (TIMESTAMP, no zone) is UTC, as its text reads, whatever the session
    zone: the clickstream's ``2019-10-01 00:00:07 UTC`` must not move by New York's offset."""
    path = LAYOUTS / "clickstream.csv"
    loaded = load_events([path])
    assert loaded.read_plan is not None
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    con.execute(f"CREATE VIEW raw_events AS SELECT * FROM {engine_read(path)}")
    typed = con.sql("SELECT DISTINCT typeof(event_time) FROM raw_events").fetchall()
    assert typed == [("TIMESTAMP",)]
    events = con.sql(read_sql(loaded.read_plan, structs=True)).pl()
    theirs = events.select("user_id", pl.col("ts").dt.convert_time_zone("UTC")).sort(
        "user_id", "ts"
    )
    ours = loaded.events.select("user_id", "ts").collect().sort("user_id", "ts")
    assert ours.height > 0
    assert theirs.equals(ours)


def test_sql_prints_struct_fields_unless_told_the_json_is_flat(tmp_path: Path) -> None:
    """``segtui sql`` on an NDJSON model reads ``properties.price`` as a struct field by
    default (DuckDB's read_json) and, with ``--flat-json``, as a column of that name (a table
    loaded from segtui's own flattened reading)."""
    path = LAYOUTS / "segment_track.ndjson"
    model = fitted_model(path, tmp_path)
    assert model.read_plan is not None
    assert model.read_plan.json_paths["properties.price"] == ("properties", "price")
    runner = CliRunner()
    file = str(tmp_path / "seg.model.json")
    structs = runner.invoke(app, ["sql", file])
    flat = runner.invoke(app, ["sql", file, "--flat-json"])
    assert structs.exit_code == 0 and flat.exit_code == 0, structs.output + flat.output
    assert '"properties"."price"' in structs.stdout and '"properties.price"' in flat.stdout
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW raw_events AS SELECT * FROM read_json('{path}')")
    expected = expected_labels(model, path)
    assert con.sql(structs.stdout).pl().sort("user_id").equals(expected)
    raw = open_source([path]).frame.collect()
    con.register("flat", raw.drop([c for c in raw.columns if c.startswith("__")]).to_arrow())
    con.execute("CREATE OR REPLACE VIEW raw_events AS SELECT * FROM flat")
    assert con.sql(flat.stdout).pl().sort("user_id").equals(expected)


@pytest.mark.xdist_group("spark")
def test_spark_scores_its_json_reader_and_inferred_schema(spark, tmp_path: Path) -> None:
    """Spark's JSON reader (``properties`` a struct) and its CSV reader with ``inferSchema``
    (``event_time`` typed timestamp, ids int) give assign's labels."""
    readers = {
        "segment_track.ndjson": lambda p: spark.read.json(str(p)),
        "clickstream.csv": lambda p: spark.read.csv(str(p), header=True, inferSchema=True),
    }
    for name, read in readers.items():
        path = LAYOUTS / name
        folder = tmp_path / path.stem
        folder.mkdir()
        model = fitted_model(path, folder)
        read(path).createOrReplaceTempView("raw_events")
        sql = scoring_sql(model, "spark", structs=True)
        labels = pl.from_arrow(spark.sql(sql).toArrow())
        assert isinstance(labels, pl.DataFrame)
        assert labels.sort("user_id").equals(expected_labels(model, path)), name
