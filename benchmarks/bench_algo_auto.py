"""Would ``--algo auto`` earn its cost? Pick the algorithm whose segments come back most often.

    OMP_NUM_THREADS=1 nice python benchmarks/bench_algo_auto.py --users 3000

For each planted world (``benchmarks/quality``, world seed 0) on segtui's default preparation
without the within-segment weights (every algorithm on one unweighted matrix, as measured before
the weights existed; K-Means with them is ``benchmarks/quality/run.py``):
K-Means, a full-covariance Gaussian mixture and Ward (agglomerative) at the true k, fit seed 0;
each scored by clusterboot stability (``--fits`` bootstrap refits, the mean over segments of the
best-match Jaccard) and by ARI against the planted groups. "auto" takes the most stable
algorithm. Prints ARI, stability and seconds (fit plus refits) per algorithm, and the pick.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.metrics import adjusted_rand_score  # noqa: E402

from benchmarks.quality.worlds import WORLDS, make  # noqa: E402
from segtui.clustering.fit import fit_clusters  # noqa: E402
from segtui.clustering.prepare import prepare  # noqa: E402
from segtui.clustering.specs import FitSpec, PrepSpec  # noqa: E402
from segtui.pipeline import load_users  # noqa: E402

ALGOS = ("kmeans", "gmm", "agglomerative")


def _labels(X: np.ndarray, algo: str, k: int, seed: int) -> np.ndarray:
    return np.asarray(fit_clusters(X, FitSpec(algo, {"k": k}, seed=seed)).labels)


def stability(X: np.ndarray, algo: str, k: int, labels: np.ndarray, fits: int) -> float:
    """Mean over fits and segments of each segment's best Jaccard in a bootstrap refit."""
    rng = np.random.default_rng(0)
    scores = []
    for b in range(fits):
        rows = np.unique(rng.integers(0, len(X), len(X)))
        boot, orig = _labels(X[rows], algo, k, b + 1), labels[rows]
        for seg in np.unique(orig):
            a = orig == seg
            scores.append(max(np.sum(a & (boot == c)) / np.sum(a | (boot == c)) for c in range(k)))
    return float(np.mean(scores))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--worlds", default=",".join(WORLDS))
    p.add_argument("--users", type=int, default=3000)
    p.add_argument("--fits", type=int, default=10)
    args = p.parse_args()
    picked: list[float] = []
    kmeans: list[float] = []
    print("| world | " + " | ".join(f"{a} ARI / stability / s" for a in ALGOS) + " | pick |")
    print("|---|" + "---|" * (len(ALGOS) + 1))
    with tempfile.TemporaryDirectory() as tmp:
        for name in [w for w in args.worlds.split(",") if w]:
            world = make(name, args.users, 0, Path(tmp) / name)
            data = load_users(world.files)
            prepared = prepare(data.users, PrepSpec.for_data(data, weighting="none"))
            ids = pl.DataFrame({"user_id": list(prepared.user_ids.cast(pl.Utf8))})
            y = ids.join(world.truth, on="user_id", how="left")["group"].to_list()
            row = {}
            for algo in ALGOS:
                clock = time.perf_counter()
                labels = _labels(prepared.X, algo, world.k, 0)
                stable = stability(prepared.X, algo, world.k, labels, args.fits)
                row[algo] = (adjusted_rand_score(y, labels), stable, time.perf_counter() - clock)
            pick = max(ALGOS, key=lambda a: row[a][1])
            picked.append(row[pick][0])
            kmeans.append(row["kmeans"][0])
            cells = " | ".join(f"{a:.3f} / {s:.3f} / {t:.1f}" for a, s, t in row.values())
            print(f"| {name} | {cells} | {pick} |", flush=True)
    print(f"\nmean ARI: auto {statistics.fmean(picked):.3f}, kmeans {statistics.fmean(kmeans):.3f}")


if __name__ == "__main__":
    main()
