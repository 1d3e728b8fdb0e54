"""Benchmark ``segtui features --engine polars|duckdb|spark`` on the public clickstream layout.

Generates a clickstream-layout log with ``segtui sample --layout clickstream`` (CSV and parquet,
``event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session``),
then runs ``segtui features FILE -o OUT --engine E`` as a subprocess per engine and format
(start-up, sniffing, the engine's own read of the raw file, every feature the data allows,
the write), and checks every engine wrote the polars table (same users and columns, values
within a relative 1e-9, same nulls).

Peak memory is the largest total resident set of the command's process tree (segtui and, for
Spark, its JVM), sampled every 50 ms from /proc: ``getrusage`` would miss the JVM, which
pyspark does not wait for.

    python benchmarks/bench_engines.py                          # 1M events, all engines
    python benchmarks/bench_engines.py --events 200000 --engines polars,duckdb
    python benchmarks/bench_engines.py --out /tmp/bench_engines --reuse
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

EVENTS_PER_USER = 19.8
"""What ``segtui sample --layout clickstream`` generates per user on average (seed 0)."""
PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root: int) -> int:
    """Bytes resident in ``root`` and all its descendants now."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            statm = Path(f"/proc/{entry}/statm").read_text().split()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(statm[1]) * PAGE
    members, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in members:
                members.add(child)
                frontier.append(child)
    return sum(rss.get(pid, 0) for pid in members)


def measure(command: list[str]) -> dict[str, float]:
    """Wall seconds and peak tree RSS (MiB) of one command; exits on failure. Its output is
    discarded and its errors go to a file, so a chatty command never blocks on a full pipe."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.05)
        wall = time.perf_counter() - start
        errors.seek(0)
        err = errors.read()
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(command)}\n{err.decode()[-2000:]}")
    return {"wall_s": wall, "peak_mib": peak / 1024**2}


def generate(folder: Path, n_events: int, reuse: bool) -> dict[str, Path]:
    users = max(1, round(n_events / EVENTS_PER_USER))
    files = {}
    for fmt in ("csv", "parquet"):
        path = folder / f"clickstream.{fmt}"
        if not (reuse and path.exists()):
            subprocess.run(
                ["segtui", "sample", "--layout", "clickstream", "-n", str(users), "-o", str(path)],
                check=True,
                capture_output=True,
            )
        files[fmt] = path
    return files


def same_table(ours: pl.DataFrame, theirs: pl.DataFrame) -> str:
    if theirs.columns != ours.columns or theirs["user_id"].to_list() != ours["user_id"].to_list():
        return "DIFFERENT users or columns"
    for name in ours.columns[1:]:
        a, b = ours[name].cast(pl.Float64), theirs[name].cast(pl.Float64)
        if not (a.is_null() == b.is_null()).all():
            return f"DIFFERENT nulls in {name}"
        both = pl.DataFrame({"a": a, "b": b}).drop_nulls()
        off = both.filter(
            (pl.col("a") - pl.col("b")).abs() > 1e-9 * pl.max_horizontal(pl.col("a").abs(), 1.0)
        )
        if off.height:
            return f"DIFFERENT values in {name}"
    return "same table"


def read_output(path: Path) -> pl.DataFrame:
    return (
        pl.read_parquet(sorted(path.glob("*.parquet"))) if path.is_dir() else pl.read_parquet(path)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--engines", default="polars,duckdb,spark")
    parser.add_argument("--formats", default="parquet,csv")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="Keep generated files in --out.")
    args = parser.parse_args(argv)
    folder = args.out or Path(tempfile.mkdtemp(prefix="bench_engines_"))
    folder.mkdir(parents=True, exist_ok=True)
    files = generate(folder, args.events, args.reuse)
    n_events = pl.scan_parquet(files["parquet"]).select(pl.len()).collect().item()
    load = os.getloadavg()[0]
    print(f"{n_events:,} events in {folder}; load average {load:.1f}; {os.cpu_count()} cores")
    rows = []
    for fmt in args.formats.split(","):
        reference: pl.DataFrame | None = None
        for engine in args.engines.split(","):
            out = folder / f"features_{fmt}_{engine}.parquet"
            command = ["segtui", "features", str(files[fmt]), "-o", str(out), "--engine", engine]
            result = measure(command)
            table = read_output(out)
            check = "reference" if reference is None else same_table(reference, table)
            reference = table if reference is None else reference
            rows.append(
                (fmt, engine, result, table.height, check, " ".join(command[:2] + command[3:]))
            )
            print(
                f"{fmt:8} {engine:7} wall {result['wall_s']:7.1f} s  peak {result['peak_mib']:7.0f}"
                f" MiB  {table.height:,} users  {check}"
            )
    print()
    print("| events | format | engine | wall s | peak MiB | events/s | check |")
    print("|---|---|---|---|---|---|---|")
    for fmt, engine, result, _, check, _ in rows:
        rate = n_events / result["wall_s"]
        print(
            f"| {n_events:,} | {fmt} | {engine} | {result['wall_s']:.1f} | "
            f"{result['peak_mib']:.0f} | {rate:,.0f} | {check} |"
        )
    print(
        f"\ncommand: segtui features FILE -o OUT --engine ENGINE (python {sys.version.split()[0]})"
    )


if __name__ == "__main__":
    main()
