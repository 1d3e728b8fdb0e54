"""Native threads for the fits, measured both ways: one thread against every core, with the
machine quiet and with other processes keeping cores busy.

Writes a generated log, turns it into a users table once (``segtui features``), then times
``segtui sweep USERS -k 2..12`` as a subprocess per setting: ``SEGTUI_THREADS=1``, ``=N``
(every usable core) and segtui's own choice (no variable: :mod:`segtui.cores` takes the usable
cores less the load of others). The busy cases start ``--busy`` Python spin loops beside it.
Each sweep's suggested k and per-k inertia are compared: a thread count must not change them.

    python benchmarks/bench_threads.py                      # 200k users, 0 and 1 busy loops
    python benchmarks/bench_threads.py --users 50000 --busy 0,1,2 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from segtui.cores import cgroup_quota, usable_cores


def _segtui(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from segtui.cli import run; run()", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True)


def _spinners(count: int) -> list[subprocess.Popen[bytes]]:
    loop = "while True: pass"
    return [subprocess.Popen([sys.executable, "-c", loop]) for _ in range(count)]


def _sweep(users: Path, threads: str | None) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_THREADS")}
    if threads is not None:
        env["SEGTUI_THREADS"] = threads
    started = time.perf_counter()
    done = _segtui("sweep", str(users), "-k", "2..12", "--json", env=env)
    seconds = time.perf_counter() - started
    result = json.loads(done.stdout)
    rows = [(row["k"], round(row["inertia"], 6)) for row in result["rows"]]
    return seconds, json.dumps([result.get("suggested_k"), rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--busy", default="0,1", help="spin loops beside the sweep, e.g. 0,1,2")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="bench_threads_"))
    cores = usable_cores(quota=cgroup_quota())
    env = dict(os.environ)
    users = out / "users.parquet"
    if not users.exists():
        _segtui("sample", "-n", str(args.users), "-o", str(out / "log"), env=env)
        _segtui("features", str(out / "log" / "events.csv"), "-o", str(users), env=env)
    print(f"{args.users:,} users, {cores} usable cores, load {os.getloadavg()[0]:.1f} at start")
    print(f"{'busy':>4}  {'threads':>8}  {'median s':>8}  runs")
    answers: set[str] = set()
    for busy in (int(b) for b in args.busy.split(",")):
        spinners = _spinners(busy)
        try:
            time.sleep(2 if busy else 0)  # let the load average see them
            for threads in ("1", str(cores), None):
                runs = []
                for _ in range(args.repeat):
                    seconds, answer = _sweep(users, threads)
                    runs.append(seconds)
                    answers.add(answer)
                label = threads or f"auto({os.getloadavg()[0]:.1f})"
                shown = " ".join(f"{s:.1f}" for s in runs)
                print(f"{busy:>4}  {label:>8}  {statistics.median(runs):>8.1f}  {shown}")
        finally:
            for spinner in spinners:
                spinner.kill()
    print("same sweep in every setting" if len(answers) == 1 else "SWEEPS DIFFER")


if __name__ == "__main__":
    main()
