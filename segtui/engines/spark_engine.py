"""Spark as an engine: Spark reads the raw files, runs segtui's Spark SQL and writes the output.

pyspark is optional (``pip install 'segtui[spark]'``) and needs Java; without either the engine
is refused with the reason before any file is read. The session runs in UTC (the SQL reads time
parts in the session zone), on ``local[*]`` unless a master URL is given.

Output: a path with no suffix, or ending in ``/``, is a folder Spark writes as parquet parts (the
way for tables of any size); a path ending in ``.parquet`` or ``.csv`` is one file, collected
through the driver as Arrow and written here, for tables that fit in this machine's memory.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from segtui.engines.duckdb_engine import available_cores
from segtui.engines.raw_relation import RawSource, json_path
from segtui.errors import InputError
from segtui.fileio import atomic_write
from segtui.ingest.sources import csv_header_names

_SPARK_TYPES = {"integer": "bigint", "float": "double"}
_CORRUPT = "__segtui_corrupt_record"


def _fits(record: Any, delimiter: str, width: int) -> Any:
    """Loading's rule for a row whose field count is not the header's
    (:mod:`segtui.ingest.ragged`): out, unless its extra fields are all empty (``1,2,3,,``).
    Spark's CSV reader puts such a row's text in the corrupt-record column, null on the others;
    quoted parts are dropped before the delimiters are counted."""
    from pyspark.sql import functions as F

    mark = re.escape(delimiter)
    bare = F.regexp_replace(record, '"[^"]*"', "")
    count = F.size(F.split(bare, mark, -1))
    kept = F.size(F.split(F.regexp_replace(bare, f"[{mark} \\t\\r]+$", ""), mark, -1))
    return record.isNull() | ((count >= width) & (kept <= width))


def is_folder_output(output: str | Path) -> bool:
    """Spark writes a folder of parquet parts for a path with no suffix or ending in ``/``."""
    text = str(output)
    return text.endswith(("/", os.sep)) or Path(text).suffix == ""


def _no_pyspark() -> InputError:
    return InputError(
        "--engine spark needs pyspark, which is not installed",
        hint="pip install 'segtui[spark]' (Spark also needs Java 17).",
    )


def spark_missing() -> InputError | None:
    """What this machine lacks to run Spark (pyspark, Java), or None; looked up without
    importing pyspark, so the app's open screen can say it before anything runs."""
    if importlib.util.find_spec("pyspark") is None:
        return _no_pyspark()
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and Path(java_home, "bin", "java").exists()):
        return InputError(
            "--engine spark needs Java, and there is no `java` on PATH (nor in JAVA_HOME)",
            hint="Install Java 17 (e.g. apt-get install openjdk-17-jre-headless).",
        )
    return None


SPARK_LOG = Path(tempfile.gettempdir()) / "segtui-spark.log"
"""Where a quiet session's JVM writes its output (the app draws on the terminal)."""


def _launch_quietly() -> None:
    """Start this process's JVM with its stdout and stderr in :data:`SPARK_LOG`: the java
    launcher's and log4j's warnings would otherwise be written over the app's screen.
    Nothing to do when the JVM is up already (one per process)."""
    from pyspark import SparkContext
    from pyspark.java_gateway import launch_gateway

    if SparkContext._gateway is not None:  # pyspark keeps its one JVM here
        return
    with SPARK_LOG.open("ab") as log:
        gateway = launch_gateway(popen_kwargs={"stdout": log, "stderr": log})
    SparkContext._ensure_initialized(gateway=gateway)  # the builder reuses it


def spark_session(master: str | None = None, quiet: bool = False) -> Any:
    """A Spark session in UTC (an existing one in this process is reused), or an InputError
    saying what is missing. ``quiet``: the JVM's output goes to :data:`SPARK_LOG`."""
    missing = spark_missing()
    if missing is not None:
        raise missing
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise _no_pyspark() from None
    if quiet:
        _launch_quietly()

    builder = (
        SparkSession.builder.master(master or "local[*]")
        .appName("segtui")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
    )
    fresh = SparkSession.getActiveSession() is None
    if fresh and (master is None or master.startswith("local")):
        # one machine: Spark's 200 shuffle partitions are 200 tiny tasks per aggregation. Only
        # for a session made here: getOrCreate applies a builder's settings to a session that
        # exists, and its owner (a notebook, a test suite) chose its own.
        builder = builder.config("spark.sql.shuffle.partitions", str(2 * available_cores()))
    session = builder.getOrCreate()
    session.conf.set("spark.sql.session.timeZone", "UTC")
    return session


@contextmanager
def _spark_errors(what: str) -> Iterator[None]:
    """Spark's own errors (a file it cannot read, a value it refuses) as an InputError naming
    the engine; segtui's InputErrors pass through."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    try:
        yield
    except (PySparkException, Py4JError) as error:
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(f"the spark engine cannot {what} ({text[:300]})") from error


class SparkEngine:
    """segtui's SQL in one Spark session (given, or started by :func:`spark_session`)."""

    name = "spark"
    dialect = "spark"

    def __init__(self, session: Any) -> None:
        self.spark = session
        self._cached: list[str] = []

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        """Drop what this engine cached; the session itself is the process's (it stops when
        Python exits), so it is left running."""
        for name in self._cached:
            self.spark.sql(f"UNCACHE TABLE IF EXISTS `{name}`")

    def _frame(self, raw: RawSource) -> Any:
        from pyspark.sql import functions as F

        files = [str(f) for f in raw.files]
        names = [s.name for s in raw.sources]
        if raw.format == "ndjson":
            lines = self.spark.read.text(files)
            items = []
            for source in raw.sources:
                value = F.get_json_object("value", json_path(raw.json_paths[source.name], "spark"))
                if source.kind in _SPARK_TYPES:
                    value = value.try_cast(_SPARK_TYPES[source.kind])
                items.append(value.alias(source.name))
            return lines.select(items)
        if raw.format == "parquet":
            reader = self.spark.read.option("mergeSchema", "true")
            if raw.hive_root is not None:
                reader = reader.option("basePath", str(raw.hive_root))
            return reader.parquet(*files).select([F.col(f"`{n}`") for n in names])
        delimiter = raw.delimiter or ","
        frames = [
            frame.filter(_fits(F.col(_CORRUPT), delimiter, width)).select(
                [F.col(f"`{n}`") for n in names]
            )
            for frame, width in self._csv_frames(raw)
        ]
        out = frames[0]
        for frame in frames[1:]:
            out = out.unionByName(frame)
        return out

    def _csv_frames(self, raw: RawSource) -> list[tuple[Any, int]]:
        """Every CSV row with the corrupt-record column, one frame per header, with the
        header's width."""
        from pyspark.sql.types import StringType, StructField, StructType

        files = [str(f) for f in raw.files]
        if raw.compression == "gzip" and any(not f.endswith(".gz") for f in files):
            raise InputError(
                "the spark engine reads gzip only from files whose name ends in .gz",
                file=next(f for f in files if not f.endswith(".gz")),
                hint="Rename the file to end in .gz, or use --engine duckdb.",
            )
        delimiter = raw.delimiter or ","
        groups: dict[tuple[str, ...], list[str]] = {}
        for path in raw.files:
            groups.setdefault(csv_header_names(Path(path), delimiter), []).append(str(path))
        frames = []
        for header, paths in groups.items():
            fields = [StructField(n, StringType()) for n in header]
            schema = StructType([*fields, StructField(_CORRUPT, StringType())])
            frame = self.spark.read.csv(
                paths,
                schema=schema,
                header=True,
                sep=delimiter,
                quote='"',
                escape='"',
                multiLine=True,
                mode="PERMISSIVE",
                columnNameOfCorruptRecord=_CORRUPT,
            )
            frames.append((frame, len(header)))
        return frames

    def ragged_rows(self, raw: RawSource) -> int:
        """CSV rows left out for their field count (loading's ``ragged`` reason)."""
        from pyspark.sql import functions as F

        if raw.format != "csv":
            return 0
        delimiter = raw.delimiter or ","
        with _spark_errors("count the rows it left out"):
            # Spark refuses a query of the corrupt-record column alone: a header column too
            return sum(
                frame.filter(
                    ~_fits(F.col(_CORRUPT), delimiter, width)
                    & (F.length(F.coalesce(F.col(f"`{frame.columns[0]}`"), F.lit(""))) >= 0)
                ).count()
                for frame, width in self._csv_frames(raw)
            )

    def register_raw(self, raw: RawSource, name: str = "raw_events") -> None:
        """The files as a temporary view of their source columns."""
        with _spark_errors("read the files"):
            self._frame(raw).createOrReplaceTempView(name)

    def define(self, name: str, sql: str, keep: bool = False) -> None:
        """A temporary view; with ``keep``, cached when first read (memory, then disk), since
        Spark would read and window the files again for every query and CTE that reads it."""
        with _spark_errors("read the files"):
            self.spark.sql(f"CREATE OR REPLACE TEMP VIEW `{name}` AS {sql}")
            if keep:
                self.spark.sql(f"CACHE LAZY TABLE `{name}`")
                self._cached.append(name)

    def rows(self, sql: str) -> pl.DataFrame:
        with _spark_errors("run the query"):
            return pl.from_arrow(self.spark.sql(sql).toArrow())  # type: ignore[return-value]

    def write(
        self, sql: str, output: Path, fmt: str = "parquet", metadata: dict[str, str] | None = None
    ) -> int:
        """The query's rows to ``output``: a folder of parquet parts or one file (module
        docstring), ``metadata`` in a file's parquet footer; the number of rows written."""
        with _spark_errors(f"write {output}"):
            return self._write(sql, output, fmt, metadata)

    def _write(self, sql: str, output: Path, fmt: str, metadata: dict[str, str] | None) -> int:
        frame = self.spark.sql(sql)
        if not is_folder_output(output):
            arrow = frame.toArrow()
            with atomic_write(output) as tmp:
                if fmt == "csv":
                    pl.from_arrow(arrow).write_csv(tmp)  # type: ignore[union-attr]
                else:
                    if metadata:
                        arrow = arrow.replace_schema_metadata(metadata)
                    pq.write_table(arrow, tmp)
            return arrow.num_rows
        target = Path(str(output).rstrip("/" + os.sep))
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            frame.write.mode("overwrite").parquet(str(staging / "parts"))
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging / "parts", target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        parts = sorted(str(p) for p in target.glob("*.parquet"))
        return int(pl.scan_parquet(parts).select(pl.len()).collect().item()) if parts else 0


def check_folder_output(output: Path, inputs: Sequence[Path]) -> Path:
    """A Spark output folder may be new, or a folder Spark wrote before (it holds ``_SUCCESS``),
    and never holds an input file."""
    target = Path(str(output).rstrip("/" + os.sep))
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise InputError("the folder to write into does not exist", file=parent)
    if target.exists() and not (target.is_dir() and (target / "_SUCCESS").exists()):
        raise InputError(
            "the output folder exists and is not one Spark wrote (no _SUCCESS file)",
            file=target,
            hint="Pick a new folder; segtui replaces only its own Spark outputs.",
        )
    resolved = target.resolve()
    for path in inputs:
        if resolved in path.resolve().parents:
            raise InputError("the output folder holds an input file", file=target)
    return target
