"""Time the modeling core on 100k and 1M users x 30 clustered features.

    /work/venv/bin/python benchmarks/bench_cluster_core.py [--sizes 100000 1000000] [--json]

Steps: prepare (log1p on the count-like half, standard scaling, 1 % missing values), K-Means
k=8, MiniBatch K-Means k=8, Gaussian mixture k=8 (default diagonal covariance), HDBSCAN on its
default sample (fit + extension to everyone), and diagnose on the K-Means result. "peak MB" is
the largest resident memory the step added on top of what the process held before it (sampled
every 5 ms); "rss MB" is the process's resident size at that peak. scikit-learn is imported and
warmed up before the clock starts (reported separately).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from segtui.clustering.diagnostics import diagnose_result
from segtui.clustering.fit import fit_clusters
from segtui.clustering.prepare import prepare
from segtui.clustering.specs import FitSpec, PrepSpec

PAGE = os.sysconf("SC_PAGE_SIZE")


def make_users(n: int, d: int, k: int = 8, seed: int = 0) -> pl.DataFrame:
    """n users in k groups of uneven size; half the features count-like (skewed), 1 % missing."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(k, 3.0))
    group = rng.choice(k, size=n, p=weights)
    centers = rng.normal(0, 2.5, (k, d))
    X = centers[group] + rng.normal(0, 1.0, (n, d))
    half = d // 2
    X[:, :half] = np.floor(np.expm1(np.abs(X[:, :half])))  # counts with heavy tails
    X[rng.random((n, d)) < 0.01] = np.nan
    cols = {"user_id": [f"u{i:08d}" for i in range(n)]}
    cols |= {f"f{j:02d}": X[:, j] for j in range(d)}
    return pl.DataFrame(cols).with_columns(pl.col("^f.*$").fill_nan(None))


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 2**20


def measure(fn: Callable[[], Any]) -> tuple[Any, float, float, float]:
    """Run fn; return its result, seconds, peak extra resident MB during it, and RSS before.

    A thread samples the resident size every 5 ms (no tracing overhead, and it sees polars'
    and BLAS' memory too).
    """
    before = _rss_mb()
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], _rss_mb())

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    start = time.perf_counter()
    try:
        out = fn()
    finally:
        seconds = time.perf_counter() - start
        done.set()
        watcher.join()
    peak[0] = max(peak[0], _rss_mb())
    return out, seconds, peak[0] - before, before


def run(n: int, d: int, seed: int) -> list[dict[str, Any]]:
    users = make_users(n, d, seed=seed)
    features = [c for c in users.columns if c != "user_id"]
    half = d // 2
    defaults = {f: "log1p" for f in features[:half]}
    rows: list[dict[str, Any]] = []

    def record(step: str, fn: Callable[[], Any], detail: Callable[[Any], str]) -> Any:
        out, seconds, peak, rss = measure(fn)
        rss += peak
        rows.append(
            {
                "users": n,
                "step": step,
                "seconds": round(seconds, 2),
                "peak_mb": round(peak),
                "rss_mb": round(rss),
                "detail": detail(out),
            }
        )
        print(
            f"{n:>9,}  {step:<22} {seconds:7.2f} s  peak {peak:7.0f} MB  rss {rss:7.0f} MB"
            f"  {detail(out)}",
            file=sys.stderr,
            flush=True,
        )
        return out

    pm = record(
        "prepare",
        lambda: prepare(users, PrepSpec(tuple(features), default_transforms=defaults)),
        lambda p: f"{p.X.shape[0]:,} x {p.X.shape[1]}",
    )
    X = pm.X
    km = record(
        "kmeans k=8",
        lambda: fit_clusters(X, FitSpec("kmeans", {"k": 8}, seed=seed)),
        lambda r: f"sizes {r.sizes.tolist()}",
    )
    record(
        "minibatch_kmeans k=8",
        lambda: fit_clusters(X, FitSpec("minibatch_kmeans", {"k": 8}, seed=seed)),
        lambda r: f"sizes {r.sizes.tolist()}",
    )
    record(
        "gmm k=8 (diag)",
        lambda: fit_clusters(X, FitSpec("gmm", {"k": 8}, seed=seed)),
        lambda r: f"{r.n_segments} segments, bic {r.bic:.4g}",
    )
    record(
        "hdbscan (sample)",
        lambda: fit_clusters(X, FitSpec("hdbscan", seed=seed)),
        lambda r: (
            f"fit on {r.sample_size:,}; {r.n_segments} segments; "
            f"noise {0 if r.noise_id is None else int(r.sizes[r.noise_id]):,}"
        ),
    )
    record(
        "diagnose (kmeans)",
        lambda: diagnose_result(X, km, seed=seed),
        lambda g: (
            f"silhouette {g.silhouette:.3f} (on {g.silhouette_sample:,}), "
            f"DB {g.davies_bouldin:.3f}, CH {g.calinski_harabasz:.4g}"
        ),
    )
    return rows


def warm_up() -> float:
    """Import scikit-learn's estimators before timing: the core imports them lazily, and that
    import time belongs to start-up, not to the step."""
    start = time.perf_counter()
    import sklearn.cluster
    import sklearn.metrics
    import sklearn.mixture
    import sklearn.neighbors  # noqa: F401

    rng = np.random.default_rng(0)
    small = rng.normal(size=(500, 4))
    for algorithm in ("kmeans", "minibatch_kmeans", "gmm", "hdbscan"):
        params = {"k": 3} if algorithm != "hdbscan" else {}
        diagnose_result(small, fit_clusters(small, FitSpec(algorithm, params)))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON on stdout")
    args = parser.parse_args()
    print(f"warm-up (imports + tiny fits): {warm_up():.2f} s", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    for n in args.sizes:
        rows += run(n, args.features, args.seed)
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
