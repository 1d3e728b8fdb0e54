"""Opening the engine a command names: one place that knows which class runs which engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from segtui.engines.features import Engine


@contextmanager
def open_engine(
    name: str,
    memory_limit: str | None = None,
    spark_master: str | None = None,
    quiet: bool = False,
) -> Iterator[Engine]:
    """The ``duckdb`` or ``spark`` engine, closed (its spill folder removed) on exit. ``quiet``
    (the app): Spark's JVM writes its own output to a log file, not to the terminal the app
    draws on."""
    if name == "duckdb":
        from segtui.engines.duckdb_engine import DuckDBEngine, default_settings

        with DuckDBEngine(default_settings(memory_limit)) as duck:
            yield duck
    elif name == "spark":
        from segtui.engines.spark_engine import SparkEngine, spark_session

        with SparkEngine(spark_session(spark_master, quiet=quiet)) as spark:
            yield spark
    else:
        raise ValueError(f"not a SQL engine: {name!r}")
