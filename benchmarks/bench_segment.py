"""Time the segment flow on 100k and 1M users x 30 features, and ``assign`` on 10M events.

    /work/venv/bin/python benchmarks/bench_segment.py [--sizes 100000 1000000] [--events 10000000]

Per size (a clustered users table made with numpy: 8 groups, half the features count-like and
heavy-tailed, 1 % missing): prepare, K-Means k=8, MiniBatch K-Means k=8, Gaussian mixture k=8,
HDBSCAN on its default sample (+ extension to everyone), the PCA projection, diagnostics, profiles
and export (segments.parquet + model JSON), then the end-to-end target: ``run_segmentation``
(K-Means with diagnostics, profiles, projection) + ``export_segments`` from the users table.
Then ``assign`` on a generated event file in canonical columns (parquet), with a K-Means model
fitted on the same file. Each step prints wall seconds, CPU seconds (``time.process_time``: every
thread of the process, user + system), "peak MB" (the largest resident memory the step added on
top of what the process held before it, sampled every 5 ms, so polars' and BLAS' memory count)
and "rss MB" (the process's resident size at that peak). ``--repeat N`` runs each step N times
and keeps the fastest wall time. The load average is printed at the end: other work on the
machine slows every step's wall time much more than its CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from segtui.artifacts.assign import assign
from segtui.artifacts.export import export_segments
from segtui.artifacts.fitted import ExportTarget, FittedSegmentation, Provenance
from segtui.clustering.diagnostics import diagnose_result
from segtui.clustering.fit import fit_clusters
from segtui.clustering.prepare import prepare
from segtui.clustering.projection import project_pca
from segtui.clustering.segment_weights import fit_reweighted
from segtui.clustering.specs import FitSpec, PrepSpec
from segtui.ingest.events import CANONICAL_EVENTS
from segtui.pipeline import load_users, run_segmentation
from segtui.segments.profiles import profile_segments
from segtui.segments.segmentation import Segmentation


def make_users(n: int, d: int = 30, k: int = 8, seed: int = 0) -> pl.DataFrame:
    """n users in k groups of uneven size; half the features count-like (skewed), 1 % missing."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(k, 3.0))
    group = rng.choice(k, size=n, p=weights)
    centers = rng.normal(0, 2.5, (k, d))
    X = centers[group] + rng.normal(0, 1.0, (n, d))
    half = d // 2
    X[:, :half] = np.floor(np.expm1(np.abs(X[:, :half])))
    X[rng.random((n, d)) < 0.01] = np.nan
    cols: dict[str, Any] = {"user_id": pl.Series([f"u{i:08d}" for i in range(n)])}
    cols |= {f"f{j:02d}": X[:, j] for j in range(d)}
    return pl.DataFrame(cols).with_columns(pl.col("^f.*$").fill_nan(None))


def make_events(path: Path, n_events: int, n_users: int, seed: int = 0) -> None:
    """Canonical events (user_id, ts, event, price, quantity) as parquet, written in chunks."""
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    names = np.array(CANONICAL_EVENTS[:7])
    probs = np.array([0.45, 0.25, 0.1, 0.1, 0.03, 0.04, 0.03])
    start = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1e6)
    year = int(365 * 86400 * 1e6)
    activity = rng.pareto(1.5, n_users) + 0.2
    activity /= activity.sum()
    writer = None
    chunk = 2_000_000
    for lo in range(0, n_events, chunk):
        m = min(chunk, n_events - lo)
        users = rng.choice(n_users, size=m, p=activity)
        event = names[rng.choice(len(names), size=m, p=probs)]
        is_buy = event == "purchase"
        frame = pl.DataFrame(
            {
                "user_id": pl.Series(users).cast(pl.Utf8).str.zfill(8),
                "ts": pl.Series(start + rng.integers(0, year, m)).cast(pl.Datetime("us", "UTC")),
                "event": event,
                "price": np.where(is_buy, np.round(rng.lognormal(3, 1, m), 2), np.nan),
                "quantity": np.where(is_buy, rng.integers(1, 4, m).astype(float), np.nan),
            }
        ).with_columns(pl.col("price", "quantity").fill_nan(None))
        table = frame.to_arrow()
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 2**20


def measure_once(fn: Callable[[], Any]) -> tuple[Any, float, float, float, float]:
    """Result, wall s, CPU s, peak extra resident MB during the call, and RSS at the peak."""
    before = _rss_mb()
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], _rss_mb())

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    cpu = time.process_time()
    start = time.perf_counter()
    try:
        out = fn()
    finally:
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
        done.set()
        watcher.join()
    peak[0] = max(peak[0], _rss_mb())
    return out, seconds, cpu, peak[0] - before, peak[0]


def measure(fn: Callable[[], Any], repeat: int) -> tuple[Any, float, float, float, float]:
    """``measure_once`` ``repeat`` times; the run with the fastest wall time is reported."""
    best: tuple[Any, float, float, float, float] | None = None
    for _ in range(max(1, repeat)):
        got = measure_once(fn)
        if best is None or got[1] < best[1]:
            best = got
    assert best is not None
    return best


def row(
    rows: list[dict[str, Any]], size: str, step: str, m: tuple[Any, float, float, float, float]
) -> Any:
    out, sec, cpu, peak, rss = m
    rows.append(
        {
            "size": size,
            "step": step,
            "seconds": round(sec, 2),
            "cpu_seconds": round(cpu, 2),
            "peak_mb": round(peak),
            "rss_mb": round(rss),
        }
    )
    print(
        f"{size:>10}  {step:<44} {sec:8.2f} s {cpu:8.2f} s  {peak:8.0f} MB  {rss:8.0f} MB",
        flush=True,
    )
    return out


def bench_users(n: int, folder: Path, rows: list[dict[str, Any]], repeat: int = 1) -> None:
    size = f"{n:,}"
    users = make_users(n)
    features = [c for c in users.columns if c != "user_id"]
    transforms = {f: ("log1p" if i < 15 else "none") for i, f in enumerate(features)}
    prepared = row(
        rows,
        size,
        "prepare",
        measure(
            lambda: prepare(users, PrepSpec(tuple(features), default_transforms=transforms)), repeat
        ),
    )
    X = prepared.X
    km = row(
        rows,
        size,
        "kmeans k=8",
        measure(lambda: fit_clusters(X, FitSpec("kmeans", {"k": 8}, seed=0)), repeat),
    )
    reweighted = row(
        rows,
        size,
        "within-segment weights (K-Means refits)",
        measure(lambda: fit_reweighted(X, FitSpec("kmeans", {"k": 8}, seed=0), km), repeat),
    )
    print(f"{'':>10}  ({reweighted[1].rounds} refits, settled: {reweighted[1].settled})")
    mb_fit = FitSpec("minibatch_kmeans", {"k": 8}, seed=0)
    mb = row(rows, size, "minibatch_kmeans k=8", measure(lambda: fit_clusters(X, mb_fit), repeat))
    row(
        rows,
        size,
        "within-segment weights (MiniBatch refits)",
        measure(lambda: fit_reweighted(X, mb_fit, mb), repeat),
    )
    row(
        rows,
        size,
        "gmm k=8 (diag)",
        measure(lambda: fit_clusters(X, FitSpec("gmm", {"k": 8}, seed=0)), repeat),
    )
    m = measure(lambda: fit_clusters(X, FitSpec("hdbscan", {}, seed=0)), repeat)
    row(rows, size, f"hdbscan (sample {m[0].sample_size:,} + extension)", m)
    proj = row(
        rows,
        size,
        "PCA projection",
        measure(lambda: project_pca(X, seed=0, labels=km.labels), repeat),
    )
    row(
        rows,
        size,
        "diagnostics (silhouette on 10k)",
        measure(lambda: diagnose_result(X, km), repeat),
    )
    profiles = row(
        rows,
        size,
        "profiles + names",
        measure(lambda: profile_segments(users, km.labels, features), repeat),
    )
    seg = Segmentation.from_labels(
        prepared.user_ids, km.labels, {q.segment_id: q.name for q in profiles}, features=features
    )
    out = folder / f"segments_{n}.parquet"
    fitted = FittedSegmentation(users, seg, prepared, km, proj)
    row(
        rows,
        size,
        "export (parquet + model JSON)",
        measure(lambda: export_segments(ExportTarget(out), fitted, Provenance()), repeat),
    )

    def end_to_end() -> Any:
        run = run_segmentation(
            users,
            PrepSpec(tuple(features), default_transforms=transforms),
            FitSpec("kmeans", {"k": 8}, seed=0, sample_size=None),
        )
        export_segments(ExportTarget(out), run.fitted(), Provenance())
        return run

    run = row(
        rows, size, "END TO END: kmeans+diag+profiles+PCA+export", measure(end_to_end, repeat)
    )
    steps = ", ".join(f"{k} {v:.2f}" for k, v in run.seconds.items())
    print(f"{'':>10}  (inside run_segmentation: {steps})", flush=True)


def bench_assign(n_events: int, folder: Path, rows: list[dict[str, Any]], repeat: int = 1) -> None:
    size = f"{n_events:,} ev"
    path = folder / "events.parquet"
    row(
        rows,
        size,
        "generate events (not segtui)",
        measure_once(lambda: make_events(path, n_events, max(1000, n_events // 30))),
    )
    m = measure(lambda: load_users([path]), repeat)
    data = row(rows, size, f"load + {len(m[0].features)} features", m)
    run = run_segmentation(
        data.users,
        PrepSpec(tuple(data.default_features), default_transforms=data.default_transforms),
        FitSpec("kmeans", {"k": 6}, seed=0, sample_size=None),
    )
    written = export_segments(
        ExportTarget(folder / "ev_segments.parquet"), run.fitted(), data.provenance
    )
    m = measure(lambda: assign(written.model, [path]), repeat)
    labels = row(rows, size, f"assign ({m[0].height:,} users, {len(run.features)} features)", m)
    same = labels.equals(pl.read_parquet(written.parquet).select(labels.columns))
    print(f"{'':>10}  assign reproduces the exported labels: {same}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="Runs per step; fastest kept.")
    parser.add_argument("--json", action="store_true", help="Also print the rows as JSON.")
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    warm = np.random.default_rng(0).normal(size=(200, 3))  # imports and thread pools, untimed
    fit_clusters(warm, FitSpec("kmeans", {"k": 2}))
    fit_clusters(warm, FitSpec("gmm", {"k": 2}))
    print(f"{'size':>10}  {'step':<44} {'wall':>10} {'CPU':>10}  {'peak':>11}  {'rss':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            bench_users(n, Path(tmp), rows, args.repeat)
        if args.events:
            bench_assign(args.events, Path(tmp), rows, args.repeat)
    print(f"load average (1, 5, 15 min): {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
