"""``-k auto``: pick the number of segments with evidence a person can check and overrule.

Each k in :func:`auto_k_range` (2..10, at most a tenth of the users) is fitted on the stability
sample (at most :data:`segtui.clustering.stability.STABILITY_USERS` users) and scored two ways:

* internal indices from :func:`segtui.clustering.diagnostics.sweep` (silhouette, Davies-Bouldin,
  Calinski-Harabasz) on that sample;
* stability under resampling: :data:`K_SCAN_FITS` clusterboot refits per k (the first resamples
  of the ones the final stability uses, so the chosen k's refits are reused).

The rule: a k *holds* when its mean segment stability is at least
:data:`segtui.clustering.stability.WEAK_BELOW` and no segment dissolves (below
:data:`~segtui.clustering.stability.DISSOLVED_BELOW`). Among the ks that hold, the highest
silhouette wins; silhouettes within :data:`~segtui.clustering.diagnostics.SILHOUETTE_TIE` go to
the more stable k. When no k holds, the most stable k is taken and the reason says so. Near-ties
(ks that hold with a silhouette within :data:`NEAR_TIE` of the pick) are listed so a person can
take another k with ``-k N``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from segtui.clustering.control import Progress, ShouldStop, check_stop, report
from segtui.clustering.diagnostics import SILHOUETTE_TIE, SweepRow, sweep
from segtui.clustering.registry import MIN_K
from segtui.clustering.specs import FitSpec
from segtui.clustering.stability import (
    DISSOLVED_BELOW,
    STABILITY_FITS,
    STABILITY_USERS,
    WEAK_BELOW,
    BootCache,
    assess,
)

AUTO_K_MAX = 10
"""Largest k tried by ``-k auto``."""

K_SCAN_FITS = 5
"""Clusterboot refits per k while choosing k (the final stability uses all STABILITY_FITS)."""

NEAR_TIE = 0.05
"""Silhouette distance under which another k that holds is shown as a near-tie."""


def auto_k_range(n_users: int) -> list[int]:
    """2..10, bounded so the largest k averages at least ten users per segment."""
    top = min(AUTO_K_MAX, max(MIN_K, n_users // 10))
    return list(range(MIN_K, top + 1))


@dataclass
class KScore:
    """One k's evidence: internal indices on the sample and stability under resampling."""

    k: int
    silhouette: float | None
    davies_bouldin: float | None
    calinski_harabasz: float | None
    stability: float | None
    """Mean segment stability (Jaccard) over the refits."""
    lowest: float | None
    """The least stable segment's stability."""

    @property
    def holds(self) -> bool:
        return (
            self.stability is not None
            and self.stability >= WEAK_BELOW
            and self.lowest is not None
            and self.lowest >= DISSOLVED_BELOW
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "silhouette": self.silhouette,
            "davies_bouldin": self.davies_bouldin,
            "calinski_harabasz": self.calinski_harabasz,
            "stability": self.stability,
            "lowest_stability": self.lowest,
            "holds": self.holds,
        }


@dataclass
class KChoice:
    """The k ``-k auto`` picked, why in words, the near-ties, and every k's evidence."""

    k: int
    reason: str
    scores: list[KScore]
    near_ties: list[int] = field(default_factory=list)
    users: int = 0
    """Users the ks were scored on."""
    fits: int = K_SCAN_FITS
    seconds: float = 0.0

    def score(self, k: int) -> KScore | None:
        return next((s for s in self.scores if s.k == k), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "reason": self.reason,
            "near_ties": list(self.near_ties),
            "sample_users": self.users,
            "fits_per_k": self.fits,
            "scores": [s.to_dict() for s in self.scores],
        }


def _score(row: SweepRow, stab_mean: float | None, stab_low: float | None) -> KScore:
    d = row.diagnostics
    return KScore(row.k, d.silhouette, d.davies_bouldin, d.calinski_harabasz, stab_mean, stab_low)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def pick_k(scores: Sequence[KScore]) -> tuple[int, str, list[int]]:
    """The rule in the module docstring: (k, why in words, near-ties)."""
    holding = [s for s in scores if s.holds]
    if not holding:
        best = max(scores, key=lambda s: (s.stability or 0.0, s.silhouette or -1.0, -s.k))
        return (
            best.k,
            f"no k keeps every segment from dissolving under resampling (mean stability "
            f"{WEAK_BELOW} or more); k={best.k} is the most stable "
            f"({_fmt(best.stability)}, least stable segment {_fmt(best.lowest)})",
            [],
        )
    top_sil = max(s.silhouette if s.silhouette is not None else -1.0 for s in holding)
    tied = [s for s in holding if top_sil - (s.silhouette or -1.0) <= SILHOUETTE_TIE]
    pick = max(tied, key=lambda s: (s.stability or 0.0, -s.k))
    others = ", ".join(str(s.k) for s in tied if s is not pick)
    why = (
        f"k={pick.k} has the highest silhouette ({_fmt(pick.silhouette)}) among the ks whose "
        f"segments hold under resampling (stability {_fmt(pick.stability)}, least stable "
        f"segment {_fmt(pick.lowest)})"
    )
    if others:
        why = (
            f"k={pick.k} is the most stable ({_fmt(pick.stability)}) of the ks that hold "
            f"with a silhouette within {SILHOUETTE_TIE} of the best ({top_sil:.2f}; also "
            f"k={others})"
        )
    why += _index_votes(pick, scores)
    dropped = [s.k for s in scores if not s.holds and s.k > pick.k]
    if dropped:
        larger = ", ".join(map(str, dropped[:3]))
        why += f"; larger k ({larger}) split segments that do not come back"
    near = [
        s.k
        for s in holding
        if s is not pick
        and s.silhouette is not None
        and pick.silhouette is not None
        and pick.silhouette - s.silhouette <= NEAR_TIE
    ]
    return pick.k, why, near


def _index_votes(pick: KScore, scores: Sequence[KScore]) -> str:
    """Whether the other indices agree (lowest Davies-Bouldin, highest Calinski-Harabasz)."""
    parts = []
    dbs = [s for s in scores if s.davies_bouldin is not None]
    if dbs:
        best = min(dbs, key=lambda s: s.davies_bouldin)  # type: ignore[arg-type,return-value]
        parts.append(
            "Davies-Bouldin agrees" if best.k == pick.k else f"Davies-Bouldin prefers k={best.k}"
        )
    chs = [s for s in scores if s.calinski_harabasz is not None]
    if chs:
        best = max(chs, key=lambda s: s.calinski_harabasz)  # type: ignore[arg-type,return-value]
        parts.append(
            "Calinski-Harabasz agrees"
            if best.k == pick.k
            else f"Calinski-Harabasz prefers k={best.k}"
        )
    return f" ({'; '.join(parts)})" if parts else ""


def choose_k(
    X: np.ndarray,
    fit: FitSpec,
    ks: Sequence[int] | None = None,
    *,
    cache: BootCache | None = None,
    fits: int = K_SCAN_FITS,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> tuple[KChoice, BootCache]:
    """Score each k and pick one; returns the choice and the refits (for the final stability).

    ``cache`` is built with :data:`STABILITY_FITS` resamples of at most
    :data:`STABILITY_USERS` users when not given; the ks are scored on its sample.
    """
    start = time.perf_counter()
    X = np.asarray(X, dtype=np.float64)
    cache = cache or BootCache(X, fit, STABILITY_FITS, STABILITY_USERS)
    wanted = list(ks) if ks is not None else auto_k_range(X.shape[0])
    wanted = [k for k in wanted if k < cache.Xs.shape[0]] or [MIN_K]
    report(progress, "scoring k on the sample", 0.0)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # small fits: one thread is faster and machine-independent
        swept = sweep(cache.Xs, fit, wanted, keep_labels=True, should_stop=should_stop)
    scores = []
    for i, row in enumerate(swept.rows):
        check_stop(should_stop)
        report(progress, f"k={row.k}: stability", (i + 1) / (len(swept.rows) + 1))
        assert row.labels is not None
        boots = cache.fits_at(row.k, count=min(fits, len(cache.resamples.draws)))
        full = np.full(X.shape[0], -1, dtype=np.int64)
        full[cache.resamples.rows] = row.labels
        stab = assess(full, boots, cache.resamples, -1, seed=fit.seed, algorithm=fit.algorithm)
        scores.append(_score(row, stab.mean(), stab.lowest()))
    k, reason, near = pick_k(scores)
    report(progress, "k chosen", 1.0)
    choice = KChoice(k, reason, scores, near, cache.Xs.shape[0], fits)
    choice.seconds = time.perf_counter() - start
    return choice, cache
