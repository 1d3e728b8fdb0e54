"""Benchmark ``segtui segment --engine polars|duckdb|spark`` on the public clickstream layout.

Generates the log as ``bench_engines.py`` does (``segtui sample --layout clickstream``, parquet),
then runs ``segtui segment FILE -k 6 --no-stability -o OUT --engine E`` as a subprocess per
engine: the engine computes the features, the fit runs on the sample pulled from it (every user
below the default 1M), the engine labels every user and writes the segments. Prints wall seconds
and the peak resident memory of the command's process tree (the JVM included), and whether each
engine wrote the polars labels (same user, same segment id). ``--sample-size N`` is passed to
the SQL engines (the polars path fits everyone). The load average is printed: other work on the
machine slows the wall time.

    python benchmarks/bench_engine_segment.py                       # 1M events, polars + duckdb
    python benchmarks/bench_engine_segment.py --engines polars,duckdb,spark --sample-size 20000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engines import generate, measure, read_output


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--engines", default="polars,duckdb")
    parser.add_argument("--sample-size", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="Keep generated files in --out.")
    args = parser.parse_args(argv)
    folder = args.out or Path(tempfile.mkdtemp(prefix="bench_engine_segment_"))
    folder.mkdir(parents=True, exist_ok=True)
    source = generate(folder, args.events, args.reuse)["parquet"]
    labels: dict[str, pl.DataFrame] = {}
    print(f"{args.events:,} events ({source.name}); segment -k 6 --no-stability")
    print(f"{'engine':<8} {'wall s':>8} {'peak MiB':>9}  labels")
    for engine in args.engines.split(","):
        out = folder / (f"seg_{engine}" if engine == "spark" else f"seg_{engine}.parquet")
        command = ["segtui", "segment", str(source), "-k", "6", "--no-stability", "-o", str(out)]
        command += ["--engine", engine]
        if engine != "polars" and args.sample_size is not None:
            command += ["--sample-size", str(args.sample_size)]
        numbers = measure(command)
        frame = read_output(out).select("user_id", "segment_id").sort("user_id")
        labels[engine] = frame
        same = "-"
        if engine != "polars" and "polars" in labels:
            same = "same as polars" if frame.equals(labels["polars"]) else "DIFFERENT labels"
        print(f"{engine:<8} {numbers['wall_s']:>8.1f} {numbers['peak_mib']:>9.0f}  {same}")
    print(f"load average: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
