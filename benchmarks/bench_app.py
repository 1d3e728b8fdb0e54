"""Responsiveness of the app, headless: start to first segments table, a refit, and the longest
event-loop stall during the refit (a 10 ms timer records the gap between ticks; target < 100 ms).

    /work/venv/bin/python benchmarks/bench_app.py [--users 34000] [--out DIR]

About 30 events per generated user, so the default 34,000 users is about 1M events.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from segtui.app.app import SegtuiApp
from segtui.sample import write_sample


async def measure(events: Path) -> dict[str, float]:
    app = SegtuiApp([str(events)], watch_terminal=False)
    gaps: list[float] = []
    last = [time.perf_counter()]
    recording = [False]

    def tick() -> None:
        now = time.perf_counter()
        if recording[0]:
            gaps.append(now - last[0])
        last[0] = now

    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        app.set_interval(0.01, tick)
        while app.segview is None:
            await asyncio.sleep(0.01)
        await pilot.pause()
        first_table = time.perf_counter() - started
        k = app.choices.params["k"]
        last[0] = time.perf_counter()
        recording[0] = True
        refit_started = time.perf_counter()
        await pilot.press("plus")
        while app.outcome.request.params_dict.get("k") != k + 1:
            await asyncio.sleep(0.01)
        await pilot.pause()
        refit = time.perf_counter() - refit_started
        recording[0] = False
        users = app.dataset.n_users
        load = app.dataset.seconds
        fit_seconds = app.outcome.seconds
    return {
        "users": users,
        "load_and_features_s": load,
        "start_to_first_table_s": first_table,
        "refit_s (incl. 0.4 s debounce)": refit,
        "refit_core_s": fit_seconds,
        "longest_loop_gap_ms": 1000 * max(gaps) if gaps else float("nan"),
        "ticks_during_refit": len(gaps),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=34_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.gettempdir()) / f"segtui-bench-app-{args.users}"
    events = out / "events.csv"
    if not events.exists():
        written = write_sample(out, args.users, seed=0)
        print(f"generated {written.events:,} events for {written.users:,} users in {events}")
    else:
        print(f"reusing {events}")
    results = asyncio.run(measure(events))
    for key, value in results.items():
        print(f"{key:>32}: {value:,.3f}" if isinstance(value, float) else f"{key:>32}: {value:,}")


if __name__ == "__main__":
    main()
