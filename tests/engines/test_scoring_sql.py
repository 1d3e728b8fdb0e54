"""The scoring SQL labels users exactly as `segtui assign` does, in DuckDB and in Spark.

Models are fitted on a generated log with edits of every kind (rename, merge, split, rule
segments) and preparations of every kind the SQL renders (log1p, Yeo-Johnson, family weights);
the SQL runs over the canonical events and must give assign's labels row by row (and so, for
K-Means, the exported parquet's: assign reproduces those on the training events).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

from segtui.artifacts.assign import assign
from segtui.artifacts.export import export_segments
from segtui.artifacts.fitted import ExportTarget
from segtui.artifacts.model import parse_model, read_model
from segtui.artifacts.score_sql import scoring_sql
from segtui.clustering.fit import fit_clusters
from segtui.clustering.specs import FitSpec, PrepSpec
from segtui.errors import InputError
from segtui.ingest.events import load_events
from segtui.pipeline import UsersData, load_users, run_segmentation
from segtui.sample import generate

FEATURES = ["events", "sessions", "add_to_cart", "purchases", "revenue", "winter_share"]


@pytest.fixture(scope="module")
def events_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    events, _ = generate(400, seed=11)
    path = tmp_path_factory.mktemp("events") / "events.csv"
    events.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    return path


@pytest.fixture(scope="module")
def data(events_csv: Path) -> UsersData:
    return load_users([events_csv])


@pytest.fixture(scope="module")
def canonical(events_csv: Path) -> pl.DataFrame:
    return load_events([events_csv]).events.collect()


def every_edit(run):
    seg = run.segmentation.merge([2, 3], name="Merged")
    members = seg.members(0)
    sub = fit_clusters(run.prepared.X[members], FitSpec("kmeans", {"k": 2}, seed=0))
    return (
        seg.split(0, sub.labels)
        .rename(1, "It's \\ [/]renamed")
        .add_rule_segment("Many purchases", "purchases >= 6 and not revenue < 100")
        .add_rule_segment("Carts", "add_to_cart > 4 or winter_share is null")
    )


def export(
    data: UsersData, folder: Path, prep: PrepSpec, algorithm: str, edit=None, **params
) -> Path:
    params = {"k": 5, **params} if algorithm != "dbscan" else params
    run = run_segmentation(data.users, prep, FitSpec(algorithm, params, seed=0))
    seg = edit(run) if edit is not None else run.segmentation
    target = ExportTarget(folder / "segments.parquet")
    return export_segments(target, run.fitted(seg), data.provenance).parquet


def duckdb_labels(events: pl.DataFrame, sql: str) -> pl.DataFrame:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("events", events.to_arrow())
    return pl.from_arrow(con.sql(sql).to_arrow_table())  # type: ignore[return-value]


def preparations(data: UsersData) -> dict[str, PrepSpec]:
    base = PrepSpec(tuple(FEATURES), default_transforms=data.default_transforms)
    return {
        "log1p": base,
        "yeo-johnson": PrepSpec(tuple(FEATURES), power="yeo-johnson", families=data.families),
        "family-weights": PrepSpec(
            tuple(FEATURES),
            default_transforms=data.default_transforms,
            weighting="family",
            families=data.families,
        ),
    }


@pytest.mark.parametrize("prep", ["log1p", "yeo-johnson", "family-weights"])
@pytest.mark.parametrize("algorithm", ["kmeans", "agglomerative"])
def test_duckdb_scoring_gives_the_exported_labels(
    data: UsersData,
    events_csv: Path,
    canonical: pl.DataFrame,
    tmp_path: Path,
    prep: str,
    algorithm: str,
) -> None:
    parquet = export(data, tmp_path, preparations(data)[prep], algorithm, every_edit)
    expected = pl.read_parquet(parquet).select("user_id", "segment_id", "segment")
    model = read_model(tmp_path / "segments.model.json")
    labels = duckdb_labels(canonical, scoring_sql(model, "duckdb", "events", raw=False))
    assert labels.columns == ["user_id", "segment_id", "segment"]
    assert labels.equals(assign(model, [events_csv]).select(labels.columns))
    if algorithm == "kmeans":
        assert labels.equals(expected)
    assert {"Merged", "It's \\ [/]renamed", "Many purchases", "Carts"} <= set(
        labels["segment"].to_list()
    )


@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical"])
def test_a_gaussian_mixture_scores_its_most_likely_component(
    data: UsersData, events_csv: Path, canonical: pl.DataFrame, tmp_path: Path, covariance: str
) -> None:
    prep = preparations(data)["log1p"]
    parquet = export(data, tmp_path, prep, "gmm", every_edit, covariance_type=covariance)
    expected = pl.read_parquet(parquet).select("user_id", "segment_id", "segment")
    model = read_model(tmp_path / "segments.model.json")
    labels = duckdb_labels(canonical, scoring_sql(model, "duckdb", "events", raw=False))
    assert labels.equals(assign(model, [events_csv]).select(labels.columns))
    assert labels.equals(expected)


def test_density_clustering_is_refused_with_the_reason(data: UsersData, tmp_path: Path) -> None:
    export(data, tmp_path, preparations(data)["log1p"], "dbscan")
    model = read_model(tmp_path / "segments.model.json")
    with pytest.raises(InputError, match="a dbscan model cannot be written as scoring SQL"):
        scoring_sql(model)


def test_spark_scores_the_raw_csv_it_read_itself(
    spark, data: UsersData, events_csv: Path, canonical: pl.DataFrame, tmp_path: Path
) -> None:
    """Spark reads the CSV (every column text, its default), the model's reading, features and
    scoring run in Spark SQL, and the labels are assign's; canonical input gives the same."""
    parquet = export(data, tmp_path, preparations(data)["yeo-johnson"], "kmeans", every_edit)
    expected = pl.read_parquet(parquet).select("user_id", "segment_id", "segment")
    model = read_model(tmp_path / "segments.model.json")
    spark.read.csv(str(events_csv), header=True).createOrReplaceTempView("raw_events")
    labels = pl.from_arrow(spark.sql(scoring_sql(model, "spark")).toArrow())
    assert labels.equals(expected)
    path = tmp_path / "events.parquet"
    canonical.write_parquet(path)
    spark.read.parquet(str(path)).createOrReplaceTempView("events")
    from_events = spark.sql(scoring_sql(model, "spark", "events", raw=False)).toArrow()
    assert pl.from_arrow(from_events).equals(expected)


def test_raw_rows_scored_in_duckdb_alone(data: UsersData, events_csv: Path, tmp_path: Path) -> None:
    """The model's recorded reading, features and scoring in one SELECT over the raw CSV read
    as text by DuckDB itself."""
    export(data, tmp_path, preparations(data)["yeo-johnson"], "kmeans", every_edit)
    model = read_model(tmp_path / "segments.model.json")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"CREATE VIEW raw_events AS SELECT * FROM read_csv('{events_csv}', all_varchar = true)"
    )
    labels = pl.from_arrow(con.sql(scoring_sql(model)).to_arrow_table())
    assert labels.equals(assign(model, [events_csv]).select(labels.columns))


def test_a_model_without_its_reading_is_refused_for_raw_rows(
    data: UsersData, tmp_path: Path
) -> None:
    export(data, tmp_path, preparations(data)["log1p"], "kmeans")
    path = tmp_path / "segments.model.json"
    saved = json.loads(path.read_text())
    del saved["reading"]
    model = parse_model(saved)
    with pytest.raises(InputError, match="does not record how its files were read"):
        scoring_sql(model)
    assert "__sfeatures" in scoring_sql(model, raw=False)
