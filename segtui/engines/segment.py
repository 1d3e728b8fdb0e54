"""``segment`` and ``sweep`` with a SQL engine: features and labels where the data is.

The engine computes every user's features from the declarations (the ``events`` view of
:mod:`segtui.engines.features`, then :func:`segtui.features.sql.plan_sql`) into a table it keeps
(DuckDB spills it past its memory limit; Spark caches it). Only a sample of users comes back to
Python, picked inside the engine by the one sampling rule (:func:`segtui.sampling.
sample_key_sql`: the users with the smallest MD5 keys, the very users :func:`segtui.sampling.
sample_rows` picks), and the fit runs on it. The fitted model then labels every user inside the
engine with its scoring SQL (:func:`segtui.artifacts.score_sql.scoring_sql` over the feature
table), which also writes the features and the 2-D coordinates: the segments table is written by
the engine and never held here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from segtui import sqltext
from segtui.artifacts.model import Model
from segtui.artifacts.score_sql import scoring_sql
from segtui.clustering.projection import Projection
from segtui.engines.features import Engine
from segtui.features.plan import plan_features
from segtui.features.spec import FeatureSpec
from segtui.features.sql import plan_sql
from segtui.sampling import sample_key_sql

DEFAULT_ENGINE_SAMPLE = 1_000_000
"""Users a fit pulls from the engine at most unless ``--sample-size`` says otherwise."""
USERS = "__segtui_users"
"""The engine's table of every user's features."""
SEGMENTS = "__segtui_segments"
"""The engine's table of every user's segment, features and coordinates."""
SEGMENT_COLUMNS = ("user_id", "segment", "segment_id")


def define_users(
    engine: Engine, specs: Sequence[FeatureSpec], columns: Sequence[str], as_of: datetime | None
) -> None:
    """Every user's features over ``events``, kept by the engine as :data:`USERS`."""
    plan = plan_features(specs, columns, as_of)
    engine.define(USERS, plan_sql(plan, engine.dialect, "events"), keep=True)


def count_users(engine: Engine) -> int:
    return int(engine.rows(f"SELECT count(*) AS n FROM {USERS}").item())


def sample_sql(size: int, seed: int, dialect: str) -> str:
    """The ``size`` users with the smallest sample keys (the user id breaks a tie), every
    feature column: :func:`segtui.sampling.sample_rows`'s rule in SQL."""
    user = sqltext.quote("user_id", dialect)
    key = sample_key_sql(user, seed, dialect)
    return f"SELECT * FROM {USERS} ORDER BY {key}, {user} LIMIT {int(size)}"


def pull_sample(engine: Engine, size: int, seed: int) -> pl.DataFrame:
    """The sampled users' features, sorted by user_id (the order the fit expects)."""
    return engine.rows(sample_sql(size, seed, engine.dialect)).sort("user_id")


def segments_sql(model: Model, dialect: str, keep: Sequence[str]) -> str:
    """Every user of :data:`USERS` labelled by the model's scoring SQL: the export's columns
    (user_id, segment, segment_id, the ``keep`` features, pc1, pc2), sorted by user."""
    projection = Projection.params_from_dict(model.data["projection"], len(model.features))
    scored = scoring_sql(
        model, dialect, USERS, from_features=True, keep=keep, projection=projection
    )
    q = lambda name: sqltext.quote(name, dialect)  # noqa: E731
    columns = ", ".join(q(c) for c in (*SEGMENT_COLUMNS, *keep, "pc1", "pc2"))
    return f"SELECT {columns} FROM (\n{scored}\n) AS __segments"


def label_users(engine: Engine, model: Model, keep: Sequence[str]) -> dict[int, int]:
    """Label every user in the engine (kept as :data:`SEGMENTS`); users per segment id."""
    engine.define(SEGMENTS, segments_sql(model, engine.dialect, keep), keep=True)
    sid = sqltext.quote("segment_id", engine.dialect)
    counts = engine.rows(f"SELECT {sid}, count(*) AS users FROM {SEGMENTS} GROUP BY {sid}")
    return {int(k): int(v) for k, v in counts.iter_rows()}


def write_segments(
    engine: Engine, output: Path, fmt: str = "parquet", metadata: dict[str, str] | None = None
) -> int:
    """The labelled users, sorted by user id, written by the engine; the rows written."""
    user = sqltext.quote("user_id", engine.dialect)
    return engine.write(f"SELECT * FROM {SEGMENTS} ORDER BY {user}", output, fmt, metadata)


def with_engine_sample(
    model: dict[str, Any], sizes: Mapping[int, int], pulled: int, total: int, engine: str
) -> dict[str, Any]:
    """The model dict with every segment's size over all users (the fit saw the sample only)
    and, when the fit saw fewer users than the engine holds, the sample said in ``cluster``."""
    out = dict(model)
    out["segments"] = [{**s, "size": int(sizes.get(int(s["id"]), 0))} for s in model["segments"]]
    if pulled < total:
        cluster = dict(model["cluster"])
        said = (
            f"The fit saw a sample of {pulled:,} of {total:,} users drawn in the {engine} engine "
            "(the smallest MD5 keys of '<seed>:<user_id>'); every user was labelled there by "
            "the model's scoring SQL."
        )
        cluster["note"] = f"{cluster['note']} {said}" if cluster.get("note") else said
        if not cluster.get("sampled"):
            cluster["sampled"], cluster["sample_size"] = True, pulled
        out["cluster"] = cluster
    return out
