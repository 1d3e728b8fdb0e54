"""Whether the files of one export (parquet, model JSON, CSV) came from the same run.

An export writes three files and renames them one by one: CSV, then the model, then the
parquet last (see :func:`segtui.artifacts.export.export_segments`). A run killed between two
renames leaves a mix, and because the parquet goes last a mix always shows: the parquet carries
the model's exact text in its metadata (so a model file from another run differs from it), and
in one run the files are written CSV, model, parquet, so a CSV newer than its parquet is from
another run. Readers (``assign``, ``explain``) say so; nothing here refuses, since each file is
whole by itself.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from segtui.artifacts.model import MODEL_SUFFIX
from segtui.artifacts.parquet_meta import METADATA_KEY


def _siblings(path: Path) -> tuple[Path, Path, Path]:
    """(parquet, model, csv) of the export ``path`` belongs to."""
    if path.name.endswith(MODEL_SUFFIX):
        stem = path.name[: -len(MODEL_SUFFIX)]
        parquet = path.with_name(stem + ".parquet")
        return parquet, path, parquet.with_suffix(".csv")
    return path, path.with_name(path.stem + MODEL_SUFFIX), path.with_suffix(".csv")


def _stored_model(parquet: Path) -> str | None:
    try:
        raw = (pq.read_schema(parquet).metadata or {}).get(METADATA_KEY.encode())
    except (pa.ArrowException, OSError):
        return None
    return None if raw is None else raw.decode("utf-8", errors="replace")


def mixed_export(path: str | Path) -> str | None:
    """What is wrong with the export set ``path`` is part of, in words; None when it is whole.

    ``path`` is a segments.parquet or a NAME.model.json; files of the set that are absent are
    not a mix (a model can travel alone).
    """
    parquet, model, csv = _siblings(Path(path))
    if not parquet.is_file():
        return None
    stored = _stored_model(parquet)
    if stored is not None and model.is_file():
        try:
            text = model.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = None
        if text is not None and text.strip() != stored.strip():
            return (
                f"{model.name} and {parquet.name} beside it come from different runs (the "
                "parquet holds another model: an export was interrupted, or files were copied "
                "from two runs); export again to make them one set"
            )
    if csv.is_file() and csv.stat().st_mtime_ns > parquet.stat().st_mtime_ns:
        return (
            f"{csv.name} is newer than {parquet.name} beside it, so it comes from another run "
            "(an export was interrupted); export again to make them one set"
        )
    return None
