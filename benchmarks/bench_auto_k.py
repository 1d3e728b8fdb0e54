"""``-k auto`` on Gaussian blobs with a known k: how often the rule finds it, against the raw
silhouette rule it replaced.

    OMP_NUM_THREADS=1 nice python benchmarks/bench_auto_k.py            # both sets, 160 cases
    OMP_NUM_THREADS=1 nice python benchmarks/bench_auto_k.py --set B --json

Two sets built differently, so the rule is not judged on one shape of data:

* **A**: k in 2, 3, 4, 6, 8; 1,500 points; 5 dimensions, or 8 plus 8 pure-noise ones; equal
  sizes or a 10:1 geometric skew; centers drawn with spread 3 or 5; spherical or sheared blobs.
* **B**: k in 2, 3, 4, 5, 7; 2,500 points; 4 dimensions, or 10 plus 5 noise; the same skews;
  spread 2.5 or 4; spherical or sheared.

Each case is scaled as segtui scales features, scored once by ``choose_k`` (K-Means, seed 0)
and the pick compared with the "silhouette" rule (the highest raw silhouette among the ks that
hold, within 0.02 to the more stable k; segtui's rule before 2026-12-02) on the same scores.
ARI is of K-Means at each rule's k against the planted labels. The planted worlds are measured
by ``benchmarks/quality/run.py --k auto``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.metrics import adjusted_rand_score

from segtui.clustering.autok import KScore, choose_k
from segtui.clustering.fit import fit_clusters
from segtui.clustering.specs import FitSpec

SETS = {
    "A": dict(ks=(2, 3, 4, 6, 8), n=1500, shapes=((5, 0), (8, 8)), seps=(3.0, 5.0), seed=0),
    "B": dict(ks=(2, 3, 4, 5, 7), n=2500, shapes=((4, 0), (10, 5)), seps=(2.5, 4.0), seed=1000),
}


def blobs(
    k: int, n: int, dims: int, noise: int, skew: float, sep: float, sheared: bool, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """k Gaussian blobs (sizes a geometric ramp from 1 to ``skew``), plus pure-noise columns."""
    rng = np.random.default_rng(seed)
    weights = np.geomspace(1, skew, k)
    sizes = np.maximum(20, (weights / weights.sum() * n).astype(int))
    centers = rng.normal(0, sep, size=(k, dims))
    parts = []
    for c in range(k):
        shear = np.eye(dims)
        if sheared:
            shear = rng.normal(0, 1, (dims, dims)) / np.sqrt(dims) + np.eye(dims) * 0.5
        parts.append(centers[c] + rng.normal(0, 1, (sizes[c], dims)) @ shear)
    X = np.vstack(parts)
    if noise:
        X = np.hstack([X, rng.normal(0, 1, (len(X), noise))])
    return (X - X.mean(0)) / X.std(0), np.repeat(np.arange(k), sizes)


def silhouette_rule(scores: Sequence[KScore]) -> int:
    """The rule before the reference: highest silhouette among the ks that hold."""
    holding = [s for s in scores if s.holds] or list(scores)
    top = max(s.silhouette or -1.0 for s in holding)
    tied = [s for s in holding if top - (s.silhouette or -1.0) <= 0.02]
    return max(tied, key=lambda s: (s.stability or 0.0, -s.k)).k


def _ari(X: np.ndarray, truth: np.ndarray, k: int) -> float:
    labels = fit_clusters(X, FitSpec("kmeans", {"k": k}, seed=0)).labels
    return float(adjusted_rand_score(truth, labels))


def run_set(name: str) -> list[dict]:
    spec = SETS[name]
    cases = itertools.product(spec["ks"], spec["shapes"], (1.0, 10.0), spec["seps"], (False, True))
    rows = []
    for i, (k, (dims, noise), skew, sep, sheared) in enumerate(cases):
        X, truth = blobs(k, spec["n"], dims, noise, skew, sep, sheared, spec["seed"] + i)
        choice, _ = choose_k(X, FitSpec("kmeans", {}, seed=0))
        old = silhouette_rule(choice.scores)
        rows.append(
            {
                "set": name,
                "k": k,
                "dims": dims,
                "noise": noise,
                "skew": skew,
                "sep": sep,
                "sheared": sheared,
                "rule_k": choice.k,
                "silhouette_k": old,
                "rule_ari": _ari(X, truth, choice.k),
                "silhouette_ari": _ari(X, truth, old),
                "true_ari": _ari(X, truth, k),
                "seconds": choice.seconds,
            }
        )
        print(f"  {name} case {i}: k {k}, rule {choice.k}, silhouette {old}", file=sys.stderr)
    return rows


def summary(rows: list[dict]) -> str:
    lines = [
        "| set | cases | rule: k found | rule: mean ARI | silhouette: k found | "
        "silhouette: mean ARI | ARI at the planted k | s per scan |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in sorted({r["set"] for r in rows}):
        part = [r for r in rows if r["set"] == name]
        lines.append(
            f"| {name} | {len(part)} | {sum(r['rule_k'] == r['k'] for r in part)} | "
            f"{statistics.fmean(r['rule_ari'] for r in part):.3f} | "
            f"{sum(r['silhouette_k'] == r['k'] for r in part)} | "
            f"{statistics.fmean(r['silhouette_ari'] for r in part):.3f} | "
            f"{statistics.fmean(r['true_ari'] for r in part):.3f} | "
            f"{statistics.fmean(r['seconds'] for r in part):.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--set", default="A,B", help="A, B or A,B")
    p.add_argument("--json", action="store_true", help="print every case as JSON instead")
    args = p.parse_args(argv)
    rows = [row for name in args.set.split(",") for row in run_set(name)]
    print(json.dumps(rows, indent=1) if args.json else summary(rows))


if __name__ == "__main__":
    main()
