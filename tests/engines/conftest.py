"""One local Spark session for every Spark test: UTC, few shuffle partitions, no UI.

Spark needs pyspark (the test extra has it) and Java; where either is missing the Spark tests
skip with the reason and the others run.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    pyspark_sql = pytest.importorskip("pyspark.sql", reason="pyspark is not installed")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java, and there is no `java` on PATH")
    session = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("segtui-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # The tests' inputs are tiny: the JVM's own threads (a JIT compiler per core, parallel
        # GC) cost more CPU than Spark's work and slowed the other test worker on two cores.
        .config(
            "spark.driver.extraJavaOptions",
            "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:CICompilerCount=1",
        )
        # tiny inputs: compiling whole-stage code and re-planning cost more than they save
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.adaptive.enabled", "false")
        # and compiling each expression (Janino) cost more than interpreting it: with one core
        # and one partition too, the layout-features queries took 28 s of wall, not 54 (JVM
        # CPU 38 s, not 59). The tests compare answers, which do not depend on either.
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
