"""Export: ``segments.parquet`` (+ CSV) and ``NAME.model.json``, all written atomically.

``segments.parquet`` has one row per user: ``user_id`` (Utf8), ``segment`` (name, Utf8),
``segment_id`` (Int32), the chosen features as computed, and ``pc1``/``pc2`` (Float64, the 2-D
projection). The model JSON (see :mod:`segtui.artifacts.model`) is serialised once and that same
text is stored in the parquet's key-value metadata under the key ``segtui`` and beside it as
``NAME.model.json``, so the labels and the way to reproduce them travel together. Plain
parquet: pandas, DuckDB, Spark and pyarrow read it as it is.

Every file goes to a temporary name in the same folder first and is renamed only when all of
them are written: a failure leaves no partial file behind. The renames go CSV, model, parquet,
so a run killed between two of them leaves a mix that readers detect and name
(:mod:`segtui.artifacts.export_set`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from segtui.artifacts.fitted import ExportTarget, FittedSegmentation, Provenance
from segtui.artifacts.model import build_model, default_model_path, model_to_json
from segtui.artifacts.parquet_meta import METADATA_KEY
from segtui.errors import InputError
from segtui.fileio import atomic_write
from segtui.segments.names import NOISE_NAME

FIXED_COLUMNS: tuple[str, ...] = ("user_id", "segment", "segment_id", "pc1", "pc2")


@dataclass
class ExportResult:
    """What was written: paths, rows and segments (the app reads ``files``)."""

    parquet: Path
    model: Path
    csv: Path | None
    rows: int
    segments: int
    sizes: dict[str, int] = field(default_factory=dict)
    """Segment name -> users, largest first; a segment no user is in comes last with 0 (it is
    in the model's segments, it has no row in the parquet)."""
    model_data: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def files(self) -> list[Path]:
        return [p for p in (self.parquet, self.csv, self.model) if p is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "parquet": str(self.parquet),
            "csv": None if self.csv is None else str(self.csv),
            "model": str(self.model),
            "rows": self.rows,
            "segments": self.segments,
            "sizes": dict(self.sizes),
        }


def segments_frame(
    users: pl.DataFrame,
    labels: np.ndarray,
    names: dict[int, str],
    features: Sequence[str],
    coords: np.ndarray | None = None,
    noise_id: int | None = None,
) -> pl.DataFrame:
    """The exported table: user_id, segment, segment_id, features (and pc1, pc2)."""
    clash = [f for f in features if f in FIXED_COLUMNS]
    if clash:
        raise InputError(
            f"feature '{clash[0]}' has the name of a column segtui writes",
            column=clash[0],
            hint="Rename that column or leave it out of the exported features.",
        )
    missing = [f for f in features if f not in users.columns]
    if missing:
        raise InputError(f"no feature '{missing[0]}' in the users table", column=missing[0])
    ids = np.asarray(labels, dtype=np.int64)
    lookup = {int(k): v for k, v in names.items()}
    for sid in np.unique(ids).tolist():
        lookup.setdefault(sid, NOISE_NAME if sid == noise_id else f"Segment {sid}")
    segment_id = pl.Series("segment_id", ids, dtype=pl.Int64)
    out = users.select(pl.col("user_id").cast(pl.Utf8), *[pl.col(f) for f in features])
    out = out.with_columns(
        segment_id.replace_strict(lookup, return_dtype=pl.Utf8).alias("segment"),
        segment_id.cast(pl.Int32),
    )
    cols = ["user_id", "segment", "segment_id", *features]
    if coords is not None:
        xy = np.asarray(coords, dtype=np.float64)
        out = out.with_columns(pl.Series("pc1", xy[:, 0]), pl.Series("pc2", xy[:, 1]))
        cols += ["pc1", "pc2"]
    return out.select(cols)


def _arrow(frame: pl.DataFrame, metadata: dict[str, str] | None = None) -> pa.Table:
    """Arrow table with plain ``string`` columns (the type every parquet reader knows)."""
    table = frame.to_arrow()
    fields = []
    for f in table.schema:
        kind = f.type
        if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
            kind = pa.string()
        fields.append(pa.field(f.name, kind, nullable=f.nullable))
    table = table.cast(pa.schema(fields))
    if metadata:
        table = table.replace_schema_metadata({k.encode(): v.encode() for k, v in metadata.items()})
    return table


def write_labels(
    frame: pl.DataFrame, path: str | Path, metadata: dict[str, str] | None = None
) -> Path:
    """Write a labels/segments table atomically as parquet (with metadata) or CSV, by suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InputError(
            "the output file must end in .parquet or .csv", file=path, hint="e.g. -o labels.parquet"
        )
    with atomic_write(path) as tmp:
        if suffix == ".csv":
            frame.write_csv(tmp)
        else:
            pq.write_table(_arrow(frame, metadata), tmp)
    return path


def export_segments(
    target: ExportTarget, fitted: FittedSegmentation, provenance: Provenance
) -> ExportResult:
    """Write the parquet, optionally its CSV twin, and the model JSON; return a summary.

    Nothing is written unless everything is: the three files are written to temporary files
    and renamed into place together.
    """
    path = Path(target.path)
    if path.suffix.lower() != ".parquet":
        raise InputError(
            "the segments file must end in .parquet", file=path, hint="e.g. -o segments.parquet"
        )
    model_file = Path(target.model_path) if target.model_path else default_model_path(path)
    if not str(model_file).endswith(".json"):
        raise InputError("the model file must end in .json", file=model_file)
    csv_file = path.with_suffix(".csv") if target.csv else None
    users, prepared = fitted.users, fitted.prepared
    if not users.get_column("user_id").is_sorted():
        users = users.sort("user_id")
        fitted = replace(fitted, users=users)
    if not users.get_column("user_id").cast(pl.Utf8).equals(prepared.user_ids.cast(pl.Utf8)):
        raise InputError("the users table and the prepared matrix hold different users")
    segmentation, projection = fitted.segmentation, fitted.projection
    chosen = list(target.features) if target.features is not None else list(prepared.features)
    labels = segmentation.labels(users)
    model = build_model(fitted, provenance, labels=labels)
    text = model_to_json(model)  # once: the same checked text goes in the parquet and the file
    frame = segments_frame(
        users, labels, segmentation.names, chosen, projection.coords, segmentation.noise_id
    )
    # Written CSV, model, parquet and renamed in that same order (the stack exits in reverse):
    # the parquet, which carries the model, is always last, so an interrupted export leaves a
    # mix that readers can tell (segtui.artifacts.export_set).
    with contextlib.ExitStack() as stack:
        tmp_parquet = stack.enter_context(atomic_write(path))
        tmp_model = stack.enter_context(atomic_write(model_file))
        tmp_csv = stack.enter_context(atomic_write(csv_file)) if csv_file is not None else None
        if tmp_csv is not None:
            frame.write_csv(tmp_csv)
        tmp_model.write_text(text + "\n", encoding="utf-8")
        pq.write_table(_arrow(frame, {METADATA_KEY: text}), tmp_parquet)
    counts = frame.group_by("segment").len().sort(["len", "segment"], descending=[True, False])
    # A segment no user is in (a rule that matches nobody yet) is still a segment of the model
    # (new users may match it): it is counted, with size 0; the parquet has no row for it.
    sizes = dict(counts.iter_rows())
    for info in segmentation.segments(labels=labels):
        sizes.setdefault(info.name, 0)
    return ExportResult(
        parquet=path,
        model=model_file,
        csv=csv_file,
        rows=frame.height,
        segments=len(sizes),
        sizes=sizes,
        model_data=model,
    )
