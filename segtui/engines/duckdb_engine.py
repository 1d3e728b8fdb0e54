"""DuckDB as an engine: it reads the raw files, runs segtui's SQL, and writes the output itself.

Out of core by design: the connection has a memory limit (a share of this machine's memory by
default), a private temporary folder to spill to, and as many threads as cores this process may
use. Results reach Python only when they are small (the statistics behind the generated
features); a feature or label table goes from the query to the output file with ``COPY``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import duckdb
import polars as pl

from segtui import sqltext
from segtui.engines.raw_relation import (
    REJECT_SCANS,
    REJECTS,
    RawSource,
    duckdb_ragged_sql,
    duckdb_raw_sql,
)
from segtui.errors import InputError

DEFAULT_MEMORY_SHARE = 0.6
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4}
_UNITS |= {"kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def machine_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its cgroup's limit if lower."""
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def memory_limit_bytes(text: str | None, total: int | None = None) -> int:
    """``--memory-limit``: ``60%`` of this machine's memory, or a size (``4GB``, ``512MiB``);
    None means the default share. A limit below 64 MiB is refused (DuckDB cannot work in it)."""
    total = machine_memory() if total is None else total
    if text is None:
        return int(total * DEFAULT_MEMORY_SHARE)
    percent = _PERCENT.match(text)
    size = _SIZE.match(text)
    if percent is not None:
        share = float(percent.group(1)) / 100
        if not 0 < share <= 1:
            raise InputError(f"--memory-limit {text!r} must be a share between 0% and 100%")
        value = int(total * share)
    elif size is not None:
        value = int(float(size.group(1)) * _UNITS[size.group(2).lower()])
    else:
        raise InputError(
            f"--memory-limit {text!r} is not a size or a share of memory",
            hint="e.g. --memory-limit 4GB, 512MiB or 60%.",
        )
    if value < 64 * 1024**2:
        raise InputError(f"--memory-limit {text!r} is below 64 MiB, too little for DuckDB")
    return value


@dataclass(frozen=True)
class DuckDBSettings:
    """How the connection may use this machine."""

    memory_limit: int
    """Bytes; DuckDB spills to ``temp_directory`` past it."""
    threads: int
    temp_directory: Path | None = None
    """Where to spill; None: a private folder in the system's temporary folder, removed after."""


def default_settings(memory_limit: str | None = None) -> DuckDBSettings:
    return DuckDBSettings(memory_limit_bytes(memory_limit), available_cores())


def _engine_error(error: Exception, what: str) -> InputError:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return InputError(f"the duckdb engine cannot {what} ({text})")


class DuckDBEngine:
    """One DuckDB connection set up for segtui's SQL (UTC session, limits); a context manager
    that removes its spill folder on exit."""

    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, settings: DuckDBSettings) -> None:
        self._own_temp = settings.temp_directory is None
        temp = settings.temp_directory or Path(tempfile.mkdtemp(prefix="segtui-duckdb-"))
        self.temp_directory = temp
        self.con = duckdb.connect(config={"threads": settings.threads})
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"SET memory_limit = '{settings.memory_limit}B'")
        self.con.execute(f"SET temp_directory = {sqltext.string(str(temp))}")
        self.con.execute("SET preserve_insertion_order = true")

    def __enter__(self) -> DuckDBEngine:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()
        if self._own_temp:
            shutil.rmtree(self.temp_directory, ignore_errors=True)

    def register_raw(self, raw: RawSource, name: str = "raw_events") -> None:
        """The files as a view of their source columns (read when a query runs)."""
        self.define(name, duckdb_raw_sql(raw))

    def define(self, name: str, sql: str, keep: bool = False) -> None:
        """A temporary view ``name`` over ``sql``; with ``keep``, a temporary table (the files
        read and parsed once for the statistics and the features, spilled past the limit)."""
        kind = "TABLE" if keep else "VIEW"
        try:
            self._drop_other_kind(name, "VIEW" if keep else "TABLE")
            if keep:
                # The reading keeps rows by the columns it computes; pushed below that
                # projection, DuckDB computes each of them (the times parsed, the text trimmed)
                # once for the filter and again for the table, and it has no filter on the
                # files' own columns to push.
                self.con.execute("SET disabled_optimizers = 'filter_pushdown'")
            self.con.execute(f"CREATE OR REPLACE TEMP {kind} {sqltext.quote(name)} AS {sql}")
        except duckdb.Error as error:
            raise _engine_error(error, "read the files") from error
        finally:
            if keep:
                with contextlib.suppress(duckdb.Error):  # the error above is the one to tell
                    self.con.execute("RESET disabled_optimizers")

    def _drop_other_kind(self, name: str, other: str) -> None:
        """Drop a temporary ``other`` (VIEW or TABLE) called ``name``: CREATE OR REPLACE
        replaces only an object of its own kind (``events`` is a view or a table by layout)."""
        listing, column = ("duckdb_views()", "view_name")
        if other == "TABLE":
            listing, column = ("duckdb_tables()", "table_name")
        found = self.con.execute(
            f"SELECT count(*) FROM {listing} WHERE temporary AND {column} = ?", [name]
        ).fetchone()
        if found and found[0]:
            self.con.execute(f"DROP {other} {sqltext.quote(name)}")

    def rows(self, sql: str) -> pl.DataFrame:
        """A small result (statistics, a count) as a polars frame."""
        try:
            return pl.from_arrow(self.con.sql(sql).to_arrow_table())  # type: ignore[return-value]
        except duckdb.Error as error:
            raise _engine_error(error, "run the query") from error

    def write(
        self, sql: str, output: Path, fmt: str = "parquet", metadata: dict[str, str] | None = None
    ) -> int:
        """``COPY`` the query's rows to ``output`` as ``fmt`` (parquet, or CSV with a header),
        with ``metadata`` in the parquet footer (ASCII text); the number of rows written."""
        how = "(FORMAT csv, HEADER true)" if fmt == "csv" else "(FORMAT parquet)"
        if metadata and fmt != "csv":
            pairs = ", ".join(
                f"{sqltext.quote(k)}: {sqltext.string(v)}" for k, v in metadata.items()
            )
            how = f"(FORMAT parquet, KV_METADATA {{{pairs}}})"
        try:
            done = self.con.execute(f"COPY ({sql}) TO {sqltext.string(str(output))} {how}")
            row = done.fetchone()
        except duckdb.Error as error:
            raise _engine_error(error, f"write {output}") from error
        return int(row[0]) if row else 0

    def ragged_rows(self, raw: RawSource) -> int:
        """CSV rows the reader leaves out for their field count (loading's ``ragged`` reason):
        one more scan of each CSV file, storing the rows it rejects in tables made afresh."""
        if raw.format != "csv":
            return 0
        # a row with two fields too many is stored twice
        sql = (
            f"SELECT count(*) FROM (SELECT DISTINCT scan_id, file_id, line FROM {REJECTS} "
            "WHERE error_type IN ('TOO MANY COLUMNS', 'MISSING COLUMNS'))"
        )
        try:
            for table in (REJECTS, REJECT_SCANS):
                self.con.execute(f"DROP TABLE IF EXISTS {table}")
            for path in raw.files:
                self.con.execute(duckdb_ragged_sql(raw, path)).fetchall()
            rows = self.con.execute(sql).fetchall()
        except duckdb.CatalogException:  # no scan rejected a row
            return 0
        except duckdb.Error as error:
            raise _engine_error(error, "count the rows it left out") from error
        return int(rows[0][0]) if rows else 0
