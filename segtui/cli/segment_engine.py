"""``segment`` and ``sweep`` with ``--engine duckdb|spark``: fit on a sample, label in the engine.

The engine reads the files and computes every user's features from the declarations (nothing is
computed by polars); a sample of at most ``--sample-size`` users (default 1,000,000), picked
inside the engine by the one sampling rule, is the only table that comes back to this process,
and the fit, profiles and diagnostics run on it exactly as the polars path runs on everyone.
``segment`` then labels every user in the engine with the fitted model's scoring SQL and the
engine writes the segments (same columns as the polars path's, pc1/pc2 included); the model
JSON goes beside the parquet, in its footer, or, for a Spark folder of parts, into the folder
(:data:`segtui.artifacts.model.FOLDER_MODEL_NAME`), where ``assign`` and the app find it.
See :mod:`segtui.engines.segment`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path

from segtui.artifacts.export import ExportResult
from segtui.artifacts.fitted import ExportTarget
from segtui.artifacts.model import build_model, model_to_json, parse_model
from segtui.artifacts.parquet_meta import METADATA_KEY
from segtui.cli.options import parse_as_of
from segtui.clustering.registry import algorithm_info
from segtui.clustering.specs import FitSpec
from segtui.engines.features import Engine
from segtui.engines.segment import (
    DEFAULT_ENGINE_SAMPLE,
    label_users,
    with_engine_sample,
    write_segments,
)
from segtui.engines.spark_engine import is_folder_output
from segtui.errors import InputError
from segtui.fileio import atomic_write
from segtui.ingest.events import LoadOptions
from segtui.pipeline import EngineUsers, SegmentRun, load_users_in
from segtui.segments.segmentation import Segmentation


def refuse_users_table(engine: str, users_table: bool | None) -> None:
    """``--users-table`` with an engine: the engine computes features from event files."""
    if users_table:
        raise InputError(
            f"--engine {engine} computes the features from event files; a users table holds "
            "them already",
            hint="Segment a users table with --engine polars (the default).",
        )


def check_scorable(
    engine: str, algo: str, transforms: dict[str, str], users_table: bool | None
) -> None:
    """What an engine cannot do, said before any file is read: the labels are the scoring
    SQL's, so the model must have one; the features come from event files."""
    refuse_users_table(engine, users_table)
    info = algorithm_info(algo)
    if info.kind == "density":
        raise InputError(
            f"--engine {engine} labels every user with the model's scoring SQL, and {info.label} "
            "has none: density clustering labels a user by its distance to stored users",
            hint="Use --algo kmeans, minibatch_kmeans, agglomerative, gmm or birch, or "
            "--engine polars.",
        )
    ranked = sorted(name for name, kind in transforms.items() if kind == "rank")
    if ranked:
        raise InputError(
            f"--transform {ranked[0]}=rank has no exact SQL form, and --engine {engine} labels "
            "users in SQL",
            hint="Use log1p or none for this feature, or --engine polars.",
        )


def labelling_note(engine: str, algo: str) -> str | None:
    """What the engine's labels are when they are not the fit's own: hierarchical clustering
    labels its users by merges, the scoring SQL by the nearest segment center."""
    info = algorithm_info(algo)
    if info.kind != "hierarchical":
        return None
    return (
        f"the {engine} engine labels every user by the nearest segment center (the mean of its "
        f"fitted members), as `assign` does; {info.label}'s own labels of the fitted users, "
        "from its merges, can differ near the borders"
    )


def engine_users(
    engine: Engine,
    paths: Sequence[str],
    options: LoadOptions,
    feature_file: Path | None,
    as_of: str | None,
    names: list[str] | None,
    fit: FitSpec,
) -> EngineUsers:
    """Every user's features computed and kept by the engine; the sample pulled from it
    (:func:`segtui.pipeline.load_users_in`, which the app's open screen runs too)."""
    size = fit.sample_size if fit.sample_size is not None else DEFAULT_ENGINE_SAMPLE
    moment = parse_as_of(as_of) if as_of is not None else None
    return load_users_in(
        engine,
        paths,
        options,
        sample_size=size,
        seed=fit.seed,
        feature_file=feature_file,
        as_of=moment,
        features=names,
    )


def engine_export(
    engine: Engine,
    target: ExportTarget,
    run: SegmentRun,
    segmentation: Segmentation,
    users: EngineUsers,
) -> ExportResult:
    """The model fitted on the sample labels every user in the engine, which writes the
    segments (and the CSV); the model JSON is written here, with everyone's sizes."""
    fitted = run.fitted(segmentation)
    data = build_model(fitted, users.data.provenance, labels=segmentation.labels(run.users))
    model = parse_model(json.loads(model_to_json(data)))
    features = list(target.features or run.features)
    sizes = label_users(engine, model, features)
    data = with_engine_sample(data, sizes, users.pulled, users.total, engine.name)
    text = model_to_json(data)
    output, model_file = Path(target.path), Path(str(target.model_path))
    csv_file = output.with_suffix(".csv") if target.csv else None
    folder = engine.name == "spark" and is_folder_output(output)
    rows = write_segments(engine, output) if folder else 0
    # renamed CSV, model, parquet, as export_segments does (segtui.artifacts.export_set)
    with contextlib.ExitStack() as stack:
        tmp_parquet = None if folder else stack.enter_context(atomic_write(output))
        tmp_model = stack.enter_context(atomic_write(model_file))
        tmp_csv = stack.enter_context(atomic_write(csv_file)) if csv_file is not None else None
        if tmp_csv is not None:
            write_segments(engine, tmp_csv, "csv")
        tmp_model.write_text(text + "\n", encoding="utf-8")
        if tmp_parquet is not None:
            rows = write_segments(engine, tmp_parquet, "parquet", {METADATA_KEY: text})
    by_name = sorted(
        ((s["name"], s["size"]) for s in data["segments"]), key=lambda p: (-p[1], p[0])
    )
    return ExportResult(
        parquet=output,
        model=model_file,
        csv=csv_file,
        rows=rows,
        segments=len(by_name),
        sizes=dict(by_name),
        model_data=data,
    )
