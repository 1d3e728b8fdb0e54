"""``segtui watch`` at scale: seconds and peak memory per batch, latency, state size.

```
python benchmarks/bench_watch.py --users 100000 --events 5000000          # quick
python benchmarks/bench_watch.py --users 1000000 --events 50000000        # the issue's goal
```

1. Generates ``--events`` canonical events over ``--users`` users for one year (the generator of
   ``bench_features.py``: sessions of ~10 events, nine event names, categories, prices) as
   parquet parts of 5M events, and a model fitted with ``segtui segment -k 5`` on a 20k-user
   sample of them.
2. ``segtui watch init`` over all parts (wall, peak RSS).
3. ``--batches`` files of ``--batch-events`` events after the history (about 2% of their users
   new), each dropped into the inbox and folded by ``segtui watch run --once`` (wall and peak
   of the process, and the fold's own seconds from the ledger).
   One more batch is folded in this process with a fault hook that notes the time at each of
   the fold's named points (``--phases``): keying and appending the events, the touched users'
   leaves, relabelling, the ledger, the commit, and the connection's close (DuckDB's
   checkpoint runs in the commit or there), with the CPU seconds of the last two. The page cache
   is flushed after init (``--no-sync``: not), so a batch does not wait for init's writes.
   ``--commit-batches`` more batches are folded the same way, each one's commit+close timed.
4. Latency: a polling ``watch run`` in the background; a file is renamed into the inbox and the
   time until its batch is in the ledger (readable by another process) is measured.
5. The state's size on disk per million events.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from bench_features import CHUNK, generate_chunk, measure

DAY_US = 86_400 * 1_000_000


SEGTUI = str(Path(sys.executable).with_name("segtui"))


def segtui(*args: str) -> list[str]:
    return [SEGTUI, *args]


def write_history(folder: Path, n_events: int, n_users: int, seed: int) -> list[Path]:
    rng = np.random.default_rng(seed)
    parts, done, session = [], 0, 0
    folder.mkdir(parents=True, exist_ok=True)
    while done < n_events:
        n = min(CHUNK, n_events - done)
        chunk = generate_chunk(rng, n, n_users, session)
        session += n // 10 + 1
        path = folder / f"part{len(parts):04d}.parquet"
        chunk.write_parquet(path, compression="zstd", row_group_size=1_000_000)
        parts.append(path)
        done += n
    return parts


def write_batch(path: Path, n: int, n_users: int, seed: int, after_days: float) -> Path:
    """A batch after the history: users drawn from 2% more ids than the history has."""
    rng = np.random.default_rng(seed)
    chunk = generate_chunk(rng, n, int(n_users * 1.02), 10**9 + seed * n)
    shift = pl.duration(microseconds=int((365 + after_days) * DAY_US))
    chunk = chunk.with_columns(pl.col("ts") + shift)
    chunk.write_parquet(path.with_suffix(".tmp"))
    os.replace(path.with_suffix(".tmp"), path)
    return path


def fit_model(out: Path, parts: list[Path], features: str | None = None) -> Path:
    """``out/seg.model.json``, fitted with ``segment -k 5`` on the first 20k users of the
    first part unless it is there already (``--reuse``)."""
    model = out / "seg.model.json"
    if model.exists():
        return model
    first = pl.read_parquet(parts[0])
    users = first["user_id"].unique(maintain_order=True)[:20_000]
    first.filter(pl.col("user_id").is_in(users.implode())).write_parquet(out / "sample.parquet")
    chosen = ["--features", features] if features else []
    sample, target = str(out / "sample.parquet"), str(out / "seg.parquet")
    measure(segtui("segment", sample, "-k", "5", "--no-stability", *chosen, "-o", target))
    return model


def ledger(state: Path) -> list[tuple]:
    for _ in range(200):
        try:
            con = duckdb.connect(str(state), read_only=True)
        except duckdb.IOException:
            time.sleep(0.05)
            continue
        try:
            return con.sql(
                "SELECT batch, seconds, rows_kept, users_touched FROM batches ORDER BY batch"
            ).fetchall()
        finally:
            con.close()
    raise SystemExit("could not read the ledger")


PHASES = (
    ("events-written", "key+append"),
    ("leaves-written", "leaves"),
    ("labels-written", "relabel"),
    ("before-commit", "ledger"),
    ("after-commit", "commit"),
)


def fold_phases(state: Path, inbox: Path) -> dict[str, float]:
    """Fold what is in ``inbox`` in this process, timing the fold between its named points;
    ``close`` is the batch's connection closing (DuckDB checkpoints there when the commit did
    not), ``commit+close cpu`` the CPU seconds of both (what the checkpoint computes, without
    the wait for the disk)."""
    from segtui.watch.run import RunOptions, run

    marks: dict[str, float] = {}
    cpu: dict[str, float] = {}

    def hook(point: str) -> None:
        marks[point], cpu[point] = time.perf_counter(), time.process_time()

    run(state, inbox, RunOptions(once=True), lambda line: None, fault=hook)
    done, done_cpu = time.perf_counter(), time.process_time()
    times, last = {}, marks["batch-read"]
    for point, name in PHASES:
        times[name] = marks[point] - last
        last = marks[point]
    times["close"] = done - marks["after-commit"]
    times["commit+close cpu"] = done_cpu - cpu["before-commit"]
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--batch-events", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_watch"))
    parser.add_argument("--reuse", action="store_true", help="Keep generated history and model.")
    parser.add_argument(
        "--features",
        help="The model's features (`segment --features`; default: the chosen set). With a "
        "time-relative one (recency_days, tenure_days) labels age, so every batch rescores "
        "every user: the worst case.",
    )
    parser.add_argument(
        "--commit-batches",
        type=int,
        default=4,
        help="Batches folded after the phases batch, each one's commit+close timed (the "
        "checkpoint's cost varies from batch to batch: one batch says little).",
    )
    parser.add_argument(
        "--no-sync",
        action="store_true",
        help="Do not flush the page cache after init (then the first batches' checkpoints wait "
        "for init's writes to reach the disk).",
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    history = out / "history"
    if not (args.reuse and history.exists()):
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        parts = write_history(history, args.events, args.users, seed=1)
        print(f"generated {args.events:,} events in {time.perf_counter() - t:.1f} s")
    parts = sorted(history.glob("*.parquet"))
    model = fit_model(out, parts, args.features)
    state, inbox = out / "st.duckdb", out / "inbox"
    for leftover in (state, state.with_name("st.duckdb.wal"), state.with_name("st.duckdb.lock")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(inbox, ignore_errors=True)
    inbox.mkdir()
    rows = []
    init = measure(segtui("watch", "init", str(state), str(model), *map(str, parts)))
    rows.append(("init", args.events, init["wall_s"], init["peak_mib"], None))
    if not args.no_sync:
        # A checkpoint ends in fsync: right after init's hundreds of MiB, the batches' commits
        # would mostly wait for them to reach the disk (growing with the state), not work.
        os.sync()
    for b in range(args.batches):
        write_batch(inbox / f"batch{b:04d}.parquet", args.batch_events, args.users, 100 + b, b)
        run = measure(segtui("watch", "run", str(state), str(inbox), "--once"))
        fold_s = ledger(state)[-1][1]
        rows.append((f"batch {b + 1}", args.batch_events, run["wall_s"], run["peak_mib"], fold_s))
    write_batch(inbox / "phases.parquet", args.batch_events, args.users, 500, args.batches)
    phases = fold_phases(state, inbox)
    commits = []
    for b in range(args.commit_batches):
        write_batch(inbox / f"commit{b:04d}.parquet", args.batch_events, args.users, 600 + b, b)
        more = fold_phases(state, inbox)
        commits.append((more["commit"] + more["close"], more["commit+close cpu"]))
    # latency: a polling run, a file renamed into the inbox, the batch visible in the ledger
    poller = subprocess.Popen(
        segtui("watch", "run", str(state), str(inbox), "--poll", "0.5"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(8)  # start-up: imports and the model
    before = len(ledger(state))
    staged = write_batch(out / "staged.parquet", args.batch_events, args.users, 999, args.batches)
    landed = time.perf_counter()
    os.replace(staged, inbox / "zz_latency.parquet")
    while len(ledger(state)) == before:
        time.sleep(0.05)
    latency = time.perf_counter() - landed
    poller.send_signal(signal.SIGTERM)
    poller.wait(timeout=60)
    size = state.stat().st_size
    print()
    print(f"{'step':<10} {'events':>12} {'wall s':>8} {'peak MiB':>9} {'fold s':>7}")
    for name, n, wall, peak, fold in rows:
        folded = "" if fold is None else f"{fold:7.2f}"
        print(f"{name:<10} {n:>12,} {wall:8.2f} {peak:9.0f} {folded:>7}")
    print("phases of one more batch (s): " + ", ".join(f"{k} {v:.2f}" for k, v in phases.items()))
    if commits:
        print(
            "commit+close of more batches (wall/cpu s): "
            + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in commits)
        )
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"latency from a file landing to its labels: {latency:.2f} s (poll 0.5 s)")
    print(
        f"state size: {size / 2**20:,.0f} MiB = "
        f"{size / 2**20 / (args.events / 1e6):,.1f} MiB per million events"
    )
    print(
        json.dumps(
            {
                "users": args.users,
                "events": args.events,
                "latency_s": latency,
                "state_bytes": size,
                "phases": phases,
                "commits": commits,
            }
        )
    )


if __name__ == "__main__":
    main()
