"""Benchmark ``segtui features --engine polars|duckdb|spark`` at 10M-100M clickstream events.

Issue 10 item 4. For N events in the public multi-category e-commerce clickstream layout
(``event_time,event_type,product_id,category_id,category_code,brand,price,user_id,
user_session``), generated here deterministically and streamed to disk chunk by chunk (100M
events never sit in memory), it runs, one at a time and under ``nice``:

- ``segtui features FILE -o OUT --engine E --features FEATURES`` for each engine asked for;
- ``HANDWRITTEN_SQL`` below, the same 14 features written by hand in DuckDB SQL over the same raw
  file (``COPY``'d to parquet by a small DuckDB process), run right after the polars engine and
  right before the DuckDB engine, so each engine has a paired reference run next to it;

then checks every output against the hand-written one (same users, every value within a
relative 1e-9, same nulls) and prints a markdown table: events, format, engine, wall, CPU, peak
memory, load average, and the command of each row.

Peak memory is the largest total resident set of the command's whole process tree (segtui and,
for Spark, its JVM), sampled every 50 ms from /proc (:func:`bench_engines.tree_rss`). Wall time
on the shared 2-core machine depends on the other jobs: the 1-minute load average at the start
and end of each run is printed next to it. CPU seconds (user + system of the waited children)
depend on it much less; for Spark they miss the JVM, which pyspark does not wait for.

    python benchmarks/bench_engines_scale.py --events 10000000 --formats parquet,csv
    python benchmarks/bench_engines_scale.py --events 100000000 --engines duckdb,handwritten \
        --memory-limit 2GB
    python benchmarks/bench_engines_scale.py --generate-only --events 50000000 --out DIR
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engines import measure as engines_measure

from segtui.sample import uuid_text

FEATURES = (
    "events,sessions,active_days,product_views,add_to_cart,purchases,revenue,avg_order_value,"
    "recency_days,days_since_last_event,tenure_days,weekend_share,night_share,category_diversity"
)
EVENTS_PER_USER = 20
"""The public October 2019 file has ~42M events from ~3M users; 20 per user keeps it ~that."""
EVENTS_PER_SESSION = 5
CHUNK_EVENTS = 5_000_000
PRODUCTS = 200_000
START_US = 1_569_888_000_000_000  # 2019-10-01 00:00:00 UTC, the public log's first month
SPAN_US = 213 * 86_400 * 1_000_000  # to 2020-04-30, seven months as in the public log
EVENT_TYPES = ("view", "cart", "remove_from_cart", "purchase")
EVENT_P = (0.90, 0.05, 0.03, 0.02)
CATEGORY_CODES = tuple(
    f"{top}.{sub}"
    for top in ("electronics", "appliances", "computers", "apparel", "furniture", "kids", "auto")
    for sub in ("smartphone", "audio", "kitchen", "notebook", "shoes", "bed", "toys", "tools")
)


def catalog(seed: int) -> pl.DataFrame:
    """Products with a category id, a category code (a third missing, as in the public log), a
    brand (a sixth missing) and a price: the same for every chunk."""
    rng = np.random.default_rng([seed, 0])
    category = rng.integers(0, 600, PRODUCTS)
    code = category % (len(CATEGORY_CODES) + 32)  # codes past the list are missing
    brand = rng.integers(0, 3000, PRODUCTS)
    return pl.DataFrame(
        {
            "product_id": 1_000_000 + np.arange(PRODUCTS, dtype=np.int64),
            "category_id": 2_053_013_552_226_000_000 + category * 7919,
            "category_code": pl.Series(CATEGORY_CODES + (None,) * 32).gather(code),
            "brand": pl.Series([f"brand{b}" for b in range(2500)] + [None] * 500).gather(brand),
            "price": np.round(rng.lognormal(4.5, 1.1, PRODUCTS), 2),
        }
    )


def chunk(index: int, n_chunks: int, n: int, n_users: int, seed: int, cat: pl.DataFrame):
    """Chunk ``index`` of ``n_chunks``: ``n`` events in sessions of ~5 events within 30 minutes,
    the sessions starting in this chunk's slice of the seven months, sorted by time (so the file
    is time-ordered like the public one). Its own random stream: chunks never depend on each
    other, and the file only on (N, seed)."""
    rng = np.random.default_rng([seed, 1, index])
    n_sessions = max(1, n // EVENTS_PER_SESSION)
    lo = START_US + SPAN_US * index // n_chunks
    hi = START_US + SPAN_US * (index + 1) // n_chunks
    session_start = rng.integers(lo, hi, n_sessions)
    session_user = rng.integers(0, n_users, n_sessions)
    session_ids = uuid_text(rng.integers(0, 2**63, n_sessions), rng.integers(0, 2**63, n_sessions))
    of_event = rng.integers(0, n_sessions, n)
    ts = session_start[of_event] + rng.integers(0, 30 * 60 * 1_000_000, n)
    order = np.argsort(ts, kind="stable")
    of_event, ts = of_event[order], ts[order]
    product = rng.integers(0, PRODUCTS, n)
    kind = rng.choice(len(EVENT_TYPES), n, p=np.array(EVENT_P))
    products = cat[product]
    return pl.DataFrame(
        {
            "event_time": pl.Series(ts.astype("datetime64[us]")).dt.strftime(
                "%Y-%m-%d %H:%M:%S UTC"
            ),
            "event_type": pl.Series(EVENT_TYPES).gather(kind),
            "product_id": products["product_id"],
            "category_id": products["category_id"],
            "category_code": products["category_code"],
            "brand": products["brand"],
            "price": products["price"],
            "user_id": 500_000_000 + session_user[of_event],
            "user_session": session_ids.gather(of_event),
        }
    )


def generate(folder: Path, n_events: int, formats: list[str], seed: int = 0) -> dict[str, Path]:
    """Write the N-event log as ``clickstream.parquet`` (zstd, 1M-row groups) and/or
    ``clickstream.csv``, chunk by chunk; a file already there is reused (same N, same seed)."""
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    paths = {fmt: folder / f"clickstream.{fmt}" for fmt in formats}
    todo = {fmt: path for fmt, path in paths.items() if not path.exists()}
    if not todo:
        return paths
    cat = catalog(seed)
    n_users = max(1, n_events // EVENTS_PER_USER)
    n_chunks = -(-n_events // CHUNK_EVENTS)
    writer = None
    partial = {fmt: path.with_name(path.name + ".partial") for fmt, path in todo.items()}
    csv_file = partial["csv"].open("wb") if "csv" in todo else None
    try:
        for index in range(n_chunks):
            n = min(CHUNK_EVENTS, n_events - index * CHUNK_EVENTS)
            frame = chunk(index, n_chunks, n, n_users, seed, cat)
            if "parquet" in todo:
                table = frame.to_arrow()
                if writer is None:
                    writer = pq.ParquetWriter(partial["parquet"], table.schema, compression="zstd")
                writer.write_table(table, row_group_size=1_000_000)
            if csv_file is not None:
                frame.write_csv(csv_file, include_header=index == 0)
            print(f"  generated {index * CHUNK_EVENTS + n:,} / {n_events:,}", file=sys.stderr)
    finally:
        if writer is not None:
            writer.close()
        if csv_file is not None:
            csv_file.close()
    for fmt, path in todo.items():
        partial[fmt].rename(path)
    return paths


# The 14 features by hand, in DuckDB SQL, over the raw file as a person would write them:
# - event_time is text like '2019-10-01 00:00:07 UTC', read with strptime (naive = UTC);
# - the reference time is the last event in the file (segtui's default --as-of);
# - a session is a distinct user_session; an active day a distinct UTC date;
# - revenue is the sum of purchase prices (the layout has no quantity, refunds or order ids, so
#   an order is a purchase event and avg_order_value = revenue / purchases, null with none);
# - recency_days counts from the last purchase (null with none), days_since_last_event and
#   tenure_days from the last and first events, in days of 86,400 s;
# - weekend = Saturday or Sunday, night = 22:00-05:59, both as shares of the user's events;
# - category_diversity counts distinct non-missing category_code values.
HANDWRITTEN_SQL = """
WITH ev AS (
  SELECT user_id, user_session, category_code, event_type, price,
         strptime(event_time, '%Y-%m-%d %H:%M:%S UTC') AS ts
  FROM {source}
), per_user AS (
  SELECT
    user_id,
    count(*) AS events,
    count(DISTINCT user_session) AS sessions,
    count(DISTINCT CAST(ts AS DATE)) AS active_days,
    count(*) FILTER (event_type = 'view') AS product_views,
    count(*) FILTER (event_type = 'cart') AS add_to_cart,
    count(*) FILTER (event_type = 'purchase') AS purchases,
    coalesce(sum(price) FILTER (event_type = 'purchase'), 0) AS revenue,
    max(ts) AS last_ts,
    min(ts) AS first_ts,
    max(ts) FILTER (event_type = 'purchase') AS last_purchase,
    count(*) FILTER (isodow(ts) >= 6) AS weekend,
    count(*) FILTER (hour(ts) >= 22 OR hour(ts) < 6) AS night,
    count(DISTINCT category_code) AS category_diversity
  FROM ev
  GROUP BY user_id
), ref AS (SELECT max(last_ts) AS ref_ts FROM per_user)
SELECT
  user_id, events, sessions, active_days, product_views, add_to_cart, purchases, revenue,
  revenue / nullif(purchases, 0) AS avg_order_value,
  (epoch_us(ref_ts) - epoch_us(last_purchase)) / 86400e6 AS recency_days,
  (epoch_us(ref_ts) - epoch_us(last_ts)) / 86400e6 AS days_since_last_event,
  (epoch_us(ref_ts) - epoch_us(first_ts)) / 86400e6 AS tenure_days,
  weekend / events AS weekend_share,
  night / events AS night_share,
  category_diversity
FROM per_user, ref
ORDER BY user_id
"""

HANDWRITTEN_SCRIPT = """
import sys, duckdb
sql, out = sys.argv[1], sys.argv[2]
duckdb.connect().execute(f"COPY ({sql}) TO '{out}' (FORMAT parquet)")
"""


def source_sql(path: Path) -> str:
    """How the hand-written query reads the raw file (event_time kept as text in CSV too)."""
    if path.suffix == ".csv":
        return f"read_csv('{path}', header = true, types = {{'event_time': 'VARCHAR'}})"
    return f"read_parquet('{path}')"


def measure(command: list[str]) -> dict[str, float]:
    """:func:`bench_engines.measure` (wall, peak tree RSS) with the CPU seconds of the command
    and the load averages before and after it."""
    load_before = os.getloadavg()[0]
    result = engines_measure(command)
    return {
        **result,
        "cpu_s": _children_cpu(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


_CPU_SEEN = [0.0]


def _children_cpu() -> float:
    """CPU seconds of the children waited for since the last call."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    delta, _CPU_SEEN[0] = total - _CPU_SEEN[0], total
    return delta


def command_for(engine: str, path: Path, out: Path, memory_limit: str | None) -> list[str]:
    """The measured command (run the benchmark itself under ``nice``; the commands inherit it)."""
    if engine == "handwritten":
        sql = HANDWRITTEN_SQL.format(source=source_sql(path))
        return [sys.executable, "-c", HANDWRITTEN_SCRIPT, sql, str(out)]
    command = ["segtui", "features", str(path), "-o", str(out), "--engine", engine]
    command += ["--features", FEATURES]
    if engine == "duckdb" and memory_limit:
        command += ["--memory-limit", memory_limit]
    return command


def shown(engine: str, command: list[str]) -> str:
    """The row's command as a person would type it (the SQL is ``HANDWRITTEN_SQL``)."""
    if engine == "handwritten":
        return "duckdb: COPY (HANDWRITTEN_SQL over FILE) TO OUT (FORMAT parquet)"
    return " ".join(command).replace(FEATURES, "$F")


def read_output(path: Path) -> pl.DataFrame:
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    return pl.read_parquet(files).with_columns(pl.col("user_id").cast(pl.Utf8))


def compare(ours: pl.DataFrame, reference: pl.DataFrame) -> str:
    """Same users, every feature within a relative 1e-9, nulls in the same places."""
    if sorted(ours.columns) != sorted(reference.columns):
        return f"DIFFERENT columns: {sorted(set(ours.columns) ^ set(reference.columns))}"
    joined = ours.join(reference, on="user_id", how="full", suffix="_ref", coalesce=True)
    if joined.height != ours.height or joined.height != reference.height:
        return f"DIFFERENT users: {ours.height:,} against {reference.height:,}"
    bad = []
    for name in (c for c in reference.columns if c != "user_id"):
        a, b = pl.col(name).cast(pl.Float64), pl.col(f"{name}_ref").cast(pl.Float64)
        off = joined.filter(
            (a.is_null() != b.is_null())
            | ((a - b).abs() > 1e-9 * pl.max_horizontal(b.abs(), pl.lit(1.0)))
        ).height
        if off:
            bad.append(f"{name} ({off:,} users)")
    if bad:
        return "DIFFERENT: " + ", ".join(bad)
    return f"all {reference.width - 1} features of {reference.height:,} users within 1e-9"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--engines", default="polars,handwritten,duckdb,spark")
    parser.add_argument("--formats", default="parquet")
    parser.add_argument("--out", type=Path, default=Path("/work/bench-data"))
    parser.add_argument("--memory-limit", default=None, help="--memory-limit for --engine duckdb")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args(argv)
    folder = args.out / f"clickstream_{args.events}"
    files = generate(folder, args.events, args.formats.split(","), args.seed)
    if args.generate_only:
        return
    rows = []
    for fmt in args.formats.split(","):
        outputs: dict[str, Path] = {}
        for engine in args.engines.split(","):
            out = folder / f"features_{fmt}_{engine}.parquet"
            if engine == "spark":
                out = folder / f"features_{fmt}_{engine}"
            command = command_for(engine, files[fmt], out, args.memory_limit)
            result = measure(command)
            outputs[engine] = out
            rows.append((fmt, engine, result, shown(engine, command)))
            print(
                f"{fmt:8} {engine:12} wall {result['wall_s']:7.1f} s  cpu {result['cpu_s']:7.1f} s"
                f"  peak {result['peak_mib']:7.0f} MiB  load {result['load_before']:.1f}"
                f"-{result['load_after']:.1f}",
                flush=True,
            )
        if "handwritten" in outputs:
            reference = read_output(outputs["handwritten"])
            for engine, out in outputs.items():
                if engine != "handwritten":
                    print(f"{fmt} {engine}: {compare(read_output(out), reference)}", flush=True)
    print(f"\n{args.events:,} events, {os.cpu_count()} cores, F={FEATURES}\n")
    print("| events | format | engine | wall s | CPU s | peak MiB | load 1-min | command |")
    print("|---|---|---|---|---|---|---|---|")
    for fmt, engine, r, command in rows:
        print(
            f"| {args.events / 1e6:g}M | {fmt} | {engine} | {r['wall_s']:.1f} | "
            f"{r['cpu_s']:.1f} | {r['peak_mib']:.0f} | {r['load_before']:.1f}-"
            f"{r['load_after']:.1f} | `{command}` |"
        )


if __name__ == "__main__":
    main()
