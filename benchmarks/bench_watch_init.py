"""``segtui watch init`` phase by phase: seconds and peak RSS of each step, to find what grows.

```
python benchmarks/bench_watch_init.py --users 100000 --events 5000000
python benchmarks/bench_watch_init.py --users 200000 --events 10000000
```

Generates the history and model as ``bench_watch.py`` does (``--reuse`` keeps them), then builds
the state in this process with each step of init wrapped: reading the files into the spool, the
event-id check, moving the spool into ``events``, the per-user counts, the leaves (per chunk of
users), relabelling, the checkpoint. A thread samples this process's RSS every 50 ms; each
step's peak is the highest sample while it ran.
"""

from __future__ import annotations

import argparse
import functools
import resource
import sys
import threading
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from bench_watch import fit_model, write_history

import segtui.watch.create as create
import segtui.watch.fold as fold


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


class Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mib())
            time.sleep(0.05)

    def reset(self) -> float:
        peak, self.peak = self.peak, rss_mib()
        return peak


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_watch_init"))
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args(argv)
    out: Path = args.out
    history = out / "history"
    if not (args.reuse and history.exists()):
        out.mkdir(parents=True, exist_ok=True)
        write_history(history, args.events, args.users, seed=1)
    parts = sorted(history.glob("*.parquet"))
    model = fit_model(out, parts)
    state = out / "st.duckdb"
    for leftover in out.glob("st.duckdb*"):
        leftover.unlink()

    sampler = Sampler()
    sampler.start()
    rows: list[tuple[str, float, float]] = []

    def timed(module, name: str, label: str) -> None:
        inner = getattr(module, name)

        @functools.wraps(inner)
        def wrapper(*a, **k):
            sampler.reset()
            t = time.perf_counter()
            try:
                return inner(*a, **k)
            finally:
                rows.append((label, time.perf_counter() - t, sampler.reset()))

        setattr(module, name, wrapper)

    timed(create, "sink_events", "read files -> spool")
    timed(create.Sunk, "report", "report (DuckDB)")
    timed(create, "_event_id_check", "event-id check")
    timed(fold, "_append_history", "spool -> events")
    timed(fold, "_history_leaves", "leaves (chunks)")
    timed(fold, "_relabel", "relabel everyone")
    t = time.perf_counter()
    created = create.create_state(state, model, parts)
    total = time.perf_counter() - t
    sampler.running = False
    events, users = (
        pl.scan_parquet(parts).select(pl.len(), pl.col("user_id").n_unique()).collect().row(0)
    )
    print(
        f"{events:,} events, {users:,} users: init {total:.1f} s, "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"
    )
    print(created.folded.line())
    print(f"{'step':<22} {'s':>8} {'peak MiB':>9}")
    for label, s, peak in rows:
        print(f"{label:<22} {s:8.1f} {peak:9.0f}")


if __name__ == "__main__":
    main()
