"""The model a segments.parquet carries in its metadata, read without importing the exporter.

Both the exporter (which writes it) and the model reader (which accepts a parquet in place of a
``.model.json``) need the key and the reader; keeping them here keeps the two apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from segtui.errors import InputError
from segtui.fields import loads_json

METADATA_KEY = "segtui"
"""The parquet metadata key under which the model JSON is stored."""


def read_segments_metadata(parquet_path: str | Path) -> dict[str, Any]:
    """The model dict stored in a segments.parquet (key ``segtui``); InputError when absent."""
    path = Path(parquet_path)
    if not path.exists():
        raise InputError("file not found", file=path)
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"not a readable parquet file ({error})", file=path) from None
    raw = (schema.metadata or {}).get(METADATA_KEY.encode())
    if raw is None:
        raise InputError(
            "this parquet file has no segtui model in its metadata",
            file=path,
            hint="Use a segments.parquet written by `segtui segment`, or its .model.json.",
        )
    try:
        data = loads_json(raw.decode("utf-8"), path)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(
            f"the segtui metadata in this parquet file is damaged ({error})", file=path
        ) from None
    if not isinstance(data, dict):
        raise InputError("the segtui metadata in this parquet file is not an object", file=path)
    return data
