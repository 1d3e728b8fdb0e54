"""Benchmark ``segtui features`` end to end against a hand-written DuckDB reference.

Generates N canonical events with numpy (seeded), writes them as parquet and CSV, then times
``segtui features`` as a subprocess (interpreter start-up, loading, mapping and features included)
on each file, and the same aggregation written by hand in DuckDB SQL over the same parquet file.
Peak memory is the child's maximum resident set size (``getrusage(RUSAGE_CHILDREN)``), measured
in a fresh wrapper process per run so one run's peak never hides another's.

    python benchmarks/bench_features.py                 # 10M events, ~100k users
    python benchmarks/bench_features.py --events 1000000 --out /tmp/bench
    python benchmarks/bench_features.py --events 50000000 --skip-csv --skip-duckdb
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from segtui.canonical import CANONICAL_EVENT_NAMES

EVENT_NAMES = CANONICAL_EVENT_NAMES
EVENT_WEIGHTS = (0.30, 0.35, 0.10, 0.09, 0.03, 0.04, 0.05, 0.01, 0.03)
CATEGORIES = (
    "electronics",
    "apparel",
    "home",
    "beauty",
    "sports",
    "toys",
    "books",
    "garden",
    "grocery",
    "auto",
    "jewelry",
    "outdoor",
)
START = np.datetime64("2023-01-01T00:00:00", "us")
SPAN_US = 365 * 86_400 * 1_000_000
CHUNK = 5_000_000


def generate_chunk(
    rng: np.random.Generator, n: int, n_users: int, first_session: int
) -> pl.DataFrame:
    """One chunk of canonical events: sessions of ~10 events, each inside 30 minutes."""
    n_sessions = max(1, n // 10)
    session_user = rng.integers(0, n_users, n_sessions)
    session_start = rng.integers(0, SPAN_US, n_sessions)
    session_of_event = np.sort(rng.integers(0, n_sessions, n))
    offset = rng.integers(0, 30 * 60 * 1_000_000, n)
    ts = START + (session_start[session_of_event] + offset).astype("timedelta64[us]")
    user = session_user[session_of_event]
    event_code = rng.choice(len(EVENT_NAMES), n, p=np.array(EVENT_WEIGHTS))
    purchase = event_code == EVENT_NAMES.index("purchase")
    refund = event_code == EVENT_NAMES.index("refund")
    price = np.round(rng.lognormal(3.0, 1.0, n), 2)
    quantity = rng.integers(1, 4, n).astype(np.float64)
    revenue = np.where(purchase, price * quantity, np.where(refund, -price * quantity, np.nan))
    category = rng.integers(0, len(CATEGORIES), n)
    item = rng.integers(0, 50_000, n)
    duration = np.where(event_code <= 1, np.round(rng.exponential(40.0, n), 1), np.nan)
    scroll = np.where(event_code <= 1, np.round(rng.random(n), 2), np.nan)
    frame = pl.DataFrame(
        {
            "user": user,
            "ts": ts,
            "event_code": event_code.astype(np.uint8),
            "session": session_of_event + first_session,
            "category_code": category.astype(np.uint8),
            "item": item,
            "price": price,
            "quantity": quantity,
            "revenue": revenue,
            "duration_s": duration,
            "scroll_depth": scroll,
            "is_order": purchase | refund,
        }
    )
    return _assemble(frame, pl.Series(EVENT_NAMES), pl.Series(CATEGORIES))


def _assemble(frame: pl.DataFrame, events: pl.Series, cats: pl.Series) -> pl.DataFrame:
    """Turn the numeric chunk into canonical string columns."""
    return pl.DataFrame(
        {
            "user_id": frame.select(pl.format("u{}", pl.col("user"))).to_series(),
            "ts": frame["ts"].dt.replace_time_zone("UTC"),
            "event": events.gather(frame["event_code"]),
            "session_id": frame.select(pl.format("s{}", pl.col("session"))).to_series(),
            "order_id": frame.select(
                pl.when(pl.col("is_order")).then(pl.format("o{}", pl.col("session")))
            ).to_series(),
            "category": cats.gather(frame["category_code"]),
            "item_id": frame.select(pl.format("i{}", pl.col("item"))).to_series(),
            "price": frame["price"],
            "quantity": frame["quantity"],
            "revenue": frame["revenue"].fill_nan(None),
            "duration_s": frame["duration_s"].fill_nan(None),
            "scroll_depth": frame["scroll_depth"].fill_nan(None),
        }
    )


# The same features, written by hand in DuckDB SQL: the reference segtui is measured against.
# Reference time = the last event in the file; every feature matches segtui's catalog meaning.
DUCKDB_SQL = """
WITH per_user AS (
  SELECT
    user_id,
    count(*) AS events,
    count(DISTINCT session_id) AS sessions,
    count(DISTINCT CAST(ts AS DATE)) AS active_days,
    max(ts) AS last_ts, min(ts) AS first_ts,
    avg(epoch_us(ts)) AS mean_us,
    count(*) FILTER (event = 'page_view') AS page_views,
    count(*) FILTER (event = 'product_view') AS product_views,
    count(*) FILTER (event = 'search') AS searches,
    count(*) FILTER (event = 'form_submit') AS form_submits,
    avg(duration_s) AS avg_duration_s,
    coalesce(sum(duration_s), 0) AS total_duration_s,
    avg(scroll_depth) AS avg_scroll_depth,
    count(*) FILTER (scroll_depth >= 0.75) AS deep_scrolls,
    count(scroll_depth) AS scrolls,
    count(*) FILTER (event = 'add_to_cart') AS add_to_cart,
    count(*) FILTER (event = 'remove_from_cart') AS remove_from_cart,
    count(*) FILTER (event = 'checkout') AS checkouts,
    count(DISTINCT session_id) FILTER (event IN ('add_to_cart', 'purchase')) AS s_cart_or_buy,
    count(DISTINCT session_id) FILTER (event = 'purchase') AS s_buy,
    count(DISTINCT session_id) FILTER (event = 'add_to_cart') AS s_cart,
    count(*) FILTER (event = 'purchase') AS purchases,
    count(*) FILTER (event = 'refund') AS refunds,
    count(DISTINCT order_id) FILTER (event = 'purchase') AS order_ids,
    count(*) FILTER (event = 'purchase' AND order_id IS NULL) AS no_order_id,
    coalesce(sum(revenue) FILTER (event IN ('purchase', 'refund')), 0) AS revenue,
    max(revenue) FILTER (event = 'purchase') AS max_purchase_revenue,
    max(ts) FILTER (event = 'purchase') AS last_purchase,
    min(ts) FILTER (event = 'purchase') AS first_purchase,
    coalesce(sum(quantity) FILTER (event = 'purchase'), 0) AS items_purchased,
    avg(price) FILTER (event = 'purchase') AS avg_purchase_price,
    count(DISTINCT category) AS category_diversity,
    count(DISTINCT category) FILTER (event = 'purchase') AS categories_purchased,
    count(DISTINCT item_id) AS distinct_items,
    avg(price) FILTER (event = 'product_view') AS avg_price_viewed,
    max(price) FILTER (event = 'product_view') AS max_price_viewed,
    count(*) FILTER (isodow(ts) >= 6) AS weekend,
    count(*) FILTER (hour(ts) >= 22 OR hour(ts) < 6) AS night,
    count(*) FILTER (month(ts) IN (12, 1, 2)) AS winter,
    count(*) FILTER (month(ts) IN (6, 7, 8)) AS summer,
    count(*) FILTER (event = 'purchase' AND month(ts) IN (12, 1, 2)) AS winter_purchases
  FROM {source}
  GROUP BY user_id
), ref AS (SELECT max(last_ts) AS ref_ts FROM per_user)
SELECT
  user_id, events, sessions, active_days,
  events / nullif(sessions, 0) AS events_per_session,
  events / nullif(active_days, 0) AS events_per_active_day,
  (epoch_us(ref_ts) - epoch_us(last_ts)) / 86400e6 AS days_since_last_event,
  (epoch_us(ref_ts) - epoch_us(first_ts)) / 86400e6 AS tenure_days,
  page_views, product_views, searches, form_submits, avg_duration_s, total_duration_s,
  avg_scroll_depth, deep_scrolls / nullif(scrolls, 0) AS deep_scroll_share,
  add_to_cart, remove_from_cart, checkouts,
  (s_cart_or_buy - s_buy) / nullif(s_cart, 0) AS cart_abandonment,
  add_to_cart / nullif(product_views, 0) AS view_to_cart_rate,
  purchases / nullif(add_to_cart, 0) AS cart_to_purchase_rate,
  purchases / nullif(checkouts, 0) AS checkout_to_purchase_rate,
  purchases, refunds, order_ids + no_order_id AS orders, revenue,
  revenue / nullif(order_ids + no_order_id, 0) AS avg_order_value,
  max_purchase_revenue,
  (epoch_us(ref_ts) - epoch_us(last_purchase)) / 86400e6 AS recency_days,
  (epoch_us(last_purchase) - epoch_us(first_purchase)) / 86400e6 AS purchase_span_days,
  items_purchased, avg_purchase_price,
  refunds / nullif(purchases, 0) AS refund_rate,
  category_diversity, categories_purchased, distinct_items, avg_price_viewed, max_price_viewed,
  searches / events AS search_share,
  weekend / events AS weekend_share, night / events AS night_share,
  winter / events AS winter_share, summer / events AS summer_share,
  winter_purchases / nullif(purchases, 0) AS winter_purchase_share,
  (mean_us - epoch_us(first_ts)) / nullif(epoch_us(last_ts) - epoch_us(first_ts), 0)
    AS activity_trend
FROM per_user, ref
ORDER BY user_id
"""


# Runs `segtui features` exactly as the console script does; registers the command first if the
# CLI module does not yet (so the benchmark works while the CLI is being wired).
SEGTUI_SHIM = """
import sys
from segtui.cli import features_cmd, main
if not any(c.name == "features" for c in main.app.registered_commands):
    main.app.command("features")(features_cmd.features)
sys.argv[0] = "segtui"
main.run()
"""

DUCKDB_SCRIPT = """
import sys
import duckdb
sql, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute(f"COPY ({sql}) TO '{out}' (FORMAT parquet)")
"""


def write_data(folder: Path, n_events: int, n_users: int, seed: int, csv: bool) -> dict[str, Path]:
    """Write the events as one parquet file (and one CSV file), chunk by chunk."""
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    paths = {"parquet": folder / "events.parquet"}
    if csv:
        paths["csv"] = folder / "events.csv"
    writer = None
    csv_file = paths["csv"].open("wb") if csv else None
    try:
        done = 0
        while done < n_events:
            n = min(CHUNK, n_events - done)
            chunk = generate_chunk(rng, n, n_users, first_session=done)
            table = chunk.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(paths["parquet"], table.schema, compression="zstd")
            writer.write_table(table, row_group_size=1_000_000)
            if csv_file is not None:
                chunk.write_csv(csv_file, include_header=done == 0)
            done += n
            print(f"  generated {done:,} / {n_events:,} events", file=sys.stderr)
    finally:
        if writer is not None:
            writer.close()
        if csv_file is not None:
            csv_file.close()
    return paths


# Runs one command and reports its wall time, CPU time and peak RSS. It is its own small process
# because a forked child starts with its parent's peak RSS (Linux keeps the high-water mark across
# fork and exec), and the benchmark's own process holds the generated data.
MEASURE_SCRIPT = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "rc": proc.returncode, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
    "peak_mib": usage.ru_maxrss / 1024, "stdout": proc.stdout.decode(),
    "stderr": proc.stderr.decode()[-2000:],
}))
"""


def measure(command: list[str]) -> dict[str, float | str]:
    """Run ``command``: wall seconds, CPU seconds (user+sys) and peak RSS of that child alone."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE_SCRIPT, *command], capture_output=True, check=True
    )
    result = json.loads(done.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"failed ({result['rc']}): {' '.join(command)}\n{result['stderr']}")
    return result


def compare(segtui_out: Path, duckdb_out: Path) -> str:
    """Check segtui's features equal the DuckDB reference's, column by column (the features
    generated from the data, which the reference does not write, are counted apart)."""
    ours = pl.read_parquet(segtui_out)
    ref = pl.read_parquet(duckdb_out).sort("user_id")
    if ours.height != ref.height or ours["user_id"].to_list() != ref["user_id"].to_list():
        return f"DIFFERENT users: segtui {ours.height:,}, duckdb {ref.height:,}"
    bad = []
    shared = [name for name in ours.columns[1:] if name in ref.columns]
    generated = ours.width - 1 - len(shared)
    for name in shared:
        a = ours[name].cast(pl.Float64)
        b = ref[name].cast(pl.Float64)
        same_null = (a.is_null() == b.is_null()).all()
        close = ((a - b).abs() <= 1e-9 * (1 + b.abs())).fill_null(True).all()
        if not (same_null and close):
            bad.append(name)
    if bad:
        return f"DIFFERENT in {len(bad)} feature(s): {', '.join(bad)}"
    return (
        f"identical to DuckDB on all {len(shared)} catalog features for {ours.height:,} users "
        f"(+{generated} generated, no reference)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events to generate")
    parser.add_argument("--users", type=int, default=None, help="users (default: events / 100)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="folder to keep the files in")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, best kept")
    parser.add_argument("--skip-csv", action="store_true", help="parquet only")
    parser.add_argument("--skip-duckdb", action="store_true", help="no DuckDB reference")
    parser.add_argument("--reuse", action="store_true", help="reuse files already in --out")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args(argv)
    n_users = args.users or max(1, args.events // 100)
    folder = args.out or Path(tempfile.mkdtemp(prefix="segtui-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        paths = {"parquet": folder / "events.parquet"}
        if not args.skip_csv:
            paths["csv"] = folder / "events.csv"
        if not (args.reuse and all(p.exists() for p in paths.values())):
            print(f"generating {args.events:,} events for {n_users:,} users in {folder}")
            paths = write_data(folder, args.events, n_users, args.seed, csv=not args.skip_csv)
        results = []
        for fmt, path in paths.items():
            out = folder / f"features_segtui_{fmt}.parquet"
            cmd = [sys.executable, "-c", SEGTUI_SHIM, "features", str(path), "-o", str(out)]
            results.append(_best(f"segtui features ({fmt})", cmd, args.repeat, args.events))
            if not args.skip_duckdb:
                reader = f"read_parquet('{path}')" if fmt == "parquet" else f"read_csv('{path}')"
                ref = folder / f"features_duckdb_{fmt}.parquet"
                sql = " ".join(DUCKDB_SQL.format(source=reader).split())
                cmd = [sys.executable, "-c", DUCKDB_SCRIPT, sql, str(ref)]
                results.append(_best(f"duckdb SQL ({fmt})", cmd, args.repeat, args.events))
                results[-1]["check"] = compare(out, ref)
        _report(results, args.events)
        if args.json:
            print(json.dumps(results, indent=2))
    finally:
        if args.out is None:
            shutil.rmtree(folder, ignore_errors=True)


def _best(label: str, cmd: list[str], repeat: int, n_events: int) -> dict[str, object]:
    runs = [measure(cmd) for _ in range(max(1, repeat))]
    best = min(runs, key=lambda r: float(r["wall_s"]))
    return {
        "run": label,
        "wall_s": round(float(best["wall_s"]), 2),
        "cpu_s": round(float(best["cpu_s"]), 2),
        "peak_mib": round(max(float(r["peak_mib"]) for r in runs)),
        "events_per_s": round(n_events / float(best["wall_s"])),
    }


def _report(results: list[dict[str, object]], n_events: int) -> None:
    print(f"\n{n_events:,} events; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    print(f"{'run':<26} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9} {'events/s':>12}")
    for r in results:
        print(
            f"{r['run']:<26} {r['wall_s']:>8} {r['cpu_s']:>8} {r['peak_mib']:>9} "
            f"{r['events_per_s']:>12,}"
        )
    by = {r["run"]: r for r in results}
    for fmt in ("parquet", "csv"):
        ours, ref = by.get(f"segtui features ({fmt})"), by.get(f"duckdb SQL ({fmt})")
        if ours and ref:
            print(
                f"{fmt}: segtui / duckdb wall time {ours['wall_s'] / ref['wall_s']:.2f}, "
                f"CPU time {ours['cpu_s'] / ref['cpu_s']:.2f}; {ref.get('check')}"
            )


if __name__ == "__main__":
    main()
