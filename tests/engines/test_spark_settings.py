"""How a local Spark started by segtui may use the machine."""

from __future__ import annotations

from segtui.engines.spark_engine import local_driver_memory


def test_a_local_spark_gets_the_duckdb_engines_share_of_memory() -> None:
    """Spark's own default heap (1g) left ~430 MiB to cache the checked rows in; segtui's JVM
    gets 60 % of the machine, as DuckDB does, and never less than Spark's default."""
    assert local_driver_memory(8 * 2**30) == "4915m"
    assert local_driver_memory(1 * 2**30) == "1024m"
