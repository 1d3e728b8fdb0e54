"""Time stability per segment (clusterboot) and -k auto at 100k and 1M users.

    python benchmarks/bench_stability.py [--sizes 100000 1000000] [--features 20] [--json]

The matrix is 8 planted Gaussian groups (unit spread, centers 6 apart) in ``--features``
dimensions. Steps, each on the same matrix: the K-Means k=8 fit on everyone (what ``segment``
pays today, for scale), stability of that fit (B=20 refits on a sample of S=5,000 users), and the
auto-k scan (k=2..10 on the same sample, 5 refits per k) followed by the final stability reusing
its refits, which is what ``segtui segment`` with defaults adds. The stability steps draw their
sample once; their cost does not grow with the users beyond drawing it.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from segtui.clustering.autok import choose_k
from segtui.clustering.fit import fit_clusters
from segtui.clustering.specs import FitSpec
from segtui.clustering.stability import segment_stability


def planted(n: int, dims: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=6.0 / np.sqrt(2), size=(8, dims))
    return centers[rng.integers(0, 8, size=n)] + rng.normal(size=(n, dims))


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run(n: int, dims: int) -> dict[str, float]:
    X = planted(n, dims)
    fit = FitSpec("kmeans", {"k": 8}, seed=0)
    result, t_fit = timed(lambda: fit_clusters(X, fit))
    report, t_stab = timed(lambda: segment_stability(X, result.labels, fit))
    (choice, cache), t_scan = timed(lambda: choose_k(X, FitSpec("kmeans", {}, seed=0)))
    _, t_final = timed(lambda: segment_stability(X, result.labels, fit, cache=cache))
    return {
        "users": n,
        "fit_s": round(t_fit, 2),
        "stability_s": round(t_stab, 2),
        "auto_k_s": round(t_scan, 2),
        "auto_k_pick": choice.k,
        "stability_after_auto_k_s": round(t_final, 2),
        "mean_stability": round(report.mean() or 0.0, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    fit_clusters(planted(500, args.features), FitSpec("kmeans", {"k": 2}))  # warm up
    rows = [run(n, args.features) for n in args.sizes]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print("  ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
