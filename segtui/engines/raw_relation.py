"""The raw source columns of a layout as an engine reads them itself: the ``raw_events`` relation.

The SQL engines never get rows from Python. Loading sniffs the files (format, delimiter, gzip,
column names, a normalised copy for lone-CR line ends) and decides how values read
(:class:`~segtui.ingest.reading.ReadPlan`); here those decisions become the engine's own reader
call over the files, projecting only the source columns the plan reads, each as the kind the plan
expects:

- CSV: every column as text (DuckDB ``read_csv(all_varchar = true)``, Spark's CSV reader without
  ``inferSchema``), so ids keep their leading zeros; rows whose field count is not the header's
  are left out, as loading leaves them out;
- parquet: the file's own types; a folder of ``key=value`` sub-folders is read as hive
  partitions (``hive_partitioning``);
- NDJSON: each line as JSON text, every source column extracted by its key path (``properties``
  nested objects included), as text, or as a number where the sample read numbers.

:class:`RawSource` is that description as data; :func:`duckdb_raw_sql` renders it for DuckDB;
Spark builds its DataFrame from it in :mod:`segtui.engines.spark_engine`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from segtui import sqltext
from segtui.errors import InputError
from segtui.ingest.reading import ReadPlan, Source
from segtui.ingest.sources import SourceInfo

_PARQUET_EXT = (".parquet", ".pq")
REJECTS = "__segtui_rejects"
REJECT_SCANS = "__segtui_reject_scans"
"""DuckDB's tables of the CSV rows its reader left out (ragged rows are counted from them)."""


@dataclass(frozen=True)
class RawSource:
    """What an engine reads: the files, their format, and the source columns with their kinds."""

    files: tuple[Path, ...]
    """The files to read (a normalised copy in place of a file that needed one)."""
    format: str
    delimiter: str | None
    compression: str | None
    sources: tuple[Source, ...]
    """The source columns the reading plan uses, each with the kind it was read as."""
    json_paths: dict[str, tuple[str, ...]]
    """NDJSON: a flattened source name (``properties.price``) -> its key path."""
    hive_root: Path | None = None
    """The folder of ``key=value`` sub-folders the parquet files are hive partitions of."""


def plan_sources(plan: ReadPlan) -> tuple[Source, ...]:
    """Every source column the plan reads, once, in the order the plan names them."""
    seen: dict[str, Source] = {}
    groups = [*plan.texts.values(), *plan.numbers.values(), plan.ts, plan.event]
    for group in groups:
        for source in group:
            seen.setdefault(source.name, source)
    return tuple(seen.values())


def hive_files(paths: Sequence[str | Path]) -> tuple[Path, list[Path]] | None:
    """The folder and parquet files of a hive-partitioned folder (``key=value`` sub-folders),
    or None when ``paths`` is not one such folder."""
    if len(paths) != 1:
        return None
    root = Path(paths[0]).expanduser()
    if not root.is_dir():
        return None
    if not any(p.is_dir() and "=" in p.name for p in root.iterdir()):
        return None
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in _PARQUET_EXT and not p.name.startswith((".", "_"))
    )
    return (root, files) if files else None


def raw_source(info: SourceInfo, plan: ReadPlan, hive_root: Path | None = None) -> RawSource:
    """The engine's view of the files a load sniffed (see the module docstring)."""
    copies = info.read_paths or (None,) * len(info.files)
    files = tuple(copy or path for path, copy in zip(info.files, copies, strict=True))
    sources = plan_sources(plan)
    # the model's recorded path first: a key no record of these files has is not sniffed here
    paths = (
        {s.name: plan.json_paths.get(s.name) or info.key_path(s.name) for s in sources}
        if info.format == "ndjson"
        else {}
    )
    # a normalised copy is plain text: the engine reads it uncompressed
    compression = None if any(copies) else info.compression
    return RawSource(files, info.format, info.delimiter, compression, sources, paths, hive_root)


def json_path(keys: Sequence[str], dialect: str) -> str:
    """A JSON path for these keys: ``$."a"."b"`` (DuckDB) or ``$['a']['b']`` (Spark)."""
    for key in keys:
        if any(c in key for c in "\"'[]\\"):
            raise InputError(
                f"the {dialect} engine cannot address the JSON key {key!r} (it holds a quote, "
                "bracket or backslash)",
                hint="Use --engine polars for this file.",
            )
    if dialect == "spark":
        return "$" + "".join(f"['{k}']" for k in keys)
    return "$" + "".join(f'."{k}"' for k in keys)


def _file_list(files: Sequence[Path]) -> str:
    return "[" + ", ".join(sqltext.string(str(f), "duckdb") for f in files) + "]"


_JSON_CAST = {"integer": "BIGINT", "float": "DOUBLE"}


def duckdb_raw_sql(raw: RawSource) -> str:
    """One DuckDB ``SELECT`` giving the source columns of the files (module docstring)."""
    q = sqltext.quote
    files = _file_list(raw.files)
    if raw.format == "ndjson":
        items = []
        for source in raw.sources:
            path = sqltext.string(json_path(raw.json_paths[source.name], "duckdb"))
            value = f"json_extract_string(json, {path})"
            if source.kind in _JSON_CAST:
                value = f"TRY_CAST({value} AS {_JSON_CAST[source.kind]})"
            items.append(f"{value} AS {q(source.name)}")
        return f"SELECT {', '.join(items)} FROM read_ndjson_objects({files})"
    listed = ", ".join(q(s.name) for s in raw.sources)
    if raw.format == "parquet":
        hive = "false" if raw.hive_root is None else "true"
        return (
            f"SELECT {listed} FROM read_parquet({files}, union_by_name = true, "
            f"hive_partitioning = {hive})"
        )
    options = [*_csv_options(raw), "union_by_name = true"]
    return f"SELECT {listed} FROM read_csv({files}, {', '.join(options)})"


def _csv_options(raw: RawSource) -> list[str]:
    """How DuckDB reads the layout's CSV files: every column as text, ragged rows left out."""
    options = [
        f"delim = {sqltext.string(raw.delimiter or ',')}",
        "header = true",
        "all_varchar = true",
        "quote = '\"'",
        "escape = '\"'",
        "ignore_errors = true",
        "null_padding = false",
    ]
    if raw.compression == "gzip":
        options.append("compression = 'gzip'")
    return options


def duckdb_ragged_sql(raw: RawSource, path: Path) -> str:
    """One CSV file read as :func:`duckdb_raw_sql` reads it, storing the rows it leaves out
    in :data:`REJECTS` (DuckDB stores them only for a scan without ``union_by_name``, hence one
    file at a time)."""
    options = [
        *_csv_options(raw),
        "store_rejects = true",
        f"rejects_table = {sqltext.string(REJECTS)}",
        f"rejects_scan = {sqltext.string(REJECT_SCANS)}",
    ]
    return f"SELECT count(*) FROM read_csv({_file_list([path])}, {', '.join(options)})"
