"""The scoring SQL reads composition shares on the log scale ``prepare`` fitted them on.

``event_<id>_share`` and ``category_<id>_share`` are prepared as ln(1 + share / 0.1)
(``log_share``); the SQL must render that step so it labels users exactly as ``assign`` does.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from segtui.artifacts.assign import assign
from segtui.artifacts.export import export_segments
from segtui.artifacts.fitted import ExportTarget
from segtui.artifacts.model import read_model
from segtui.artifacts.score_sql import scoring_sql
from segtui.clustering.specs import FitSpec, PrepSpec
from segtui.ingest.events import load_events
from segtui.pipeline import load_users, run_segmentation
from segtui.sample import generate

SHARES = ["event_product_view_share", "event_add_to_cart_share", "category_fashion_share"]


def test_duckdb_scoring_applies_the_log_share_step(tmp_path: Path) -> None:
    events, _ = generate(300, seed=5)
    csv = tmp_path / "events.csv"
    events.write_csv(csv, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    data = load_users([csv])
    assert set(SHARES) <= set(data.users.columns)
    prep = PrepSpec.for_data(data, ["events", "purchases", *SHARES])
    run = run_segmentation(data.users, prep, FitSpec("kmeans", {"k": 4}, seed=0))
    transforms = {f.name: f.transform for f in run.prepared.params.features}
    assert {transforms[name] for name in SHARES} == {"log_share"}
    target = ExportTarget(tmp_path / "segments.parquet")
    parquet = export_segments(target, run.fitted(run.segmentation), data.provenance).parquet
    expected = pl.read_parquet(parquet).select("user_id", "segment_id", "segment")
    model = read_model(tmp_path / "segments.model.json")
    sql = scoring_sql(model, "duckdb", "events", raw=False)
    assert "/ 0.1E0" in sql
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("events", load_events([csv]).events.collect().to_arrow())
    labels = pl.from_arrow(con.sql(sql).to_arrow_table())
    assert isinstance(labels, pl.DataFrame)
    assert labels.equals(assign(model, [csv]).select(labels.columns))
    assert labels.equals(expected)
