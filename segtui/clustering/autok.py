"""``-k auto``: pick the number of segments with evidence a person can check and overrule.

Each k in :func:`auto_k_range` (2..10, at most a tenth of the users) is fitted on the stability
sample (at most :data:`segtui.clustering.stability.STABILITY_USERS` users) and scored three ways:

* internal indices from :func:`segtui.clustering.diagnostics.sweep` (silhouette, Davies-Bouldin,
  Calinski-Harabasz) on that sample;
* stability under resampling: :data:`K_SCAN_FITS` clusterboot refits per k (the first resamples
  of the ones the final stability uses, so the chosen k's refits are reused);
* the silhouette at the same k on a *structureless reference* (:func:`null_reference`): a
  Gaussian with the sample's size, mean and covariance, the same spread and correlations with no
  groups in it. What a k scores there is what any data of that shape gives: cut a skewed cloud
  in two and the halves look separated, groups or not.

Why a reference: behaviour logs are skewed (one group ten times another) and overlapping, and on
such data the raw silhouette favours k = 2 (the planted worlds of ``benchmarks/quality`` have six
groups; taking the highest silhouette picked 2 on three of six). Scoring against a reference with
no groups is the gap statistic's idea (Tibshirani, Walther & Hastie 2001), applied here to the
silhouette; the reference keeps the covariance, as the gap statistic's PCA-aligned reference
does.

The rule (:func:`pick_k`):

1. a k *holds* when its mean segment stability is at least
   :data:`segtui.clustering.stability.WEAK_BELOW` and no segment dissolves (below
   :data:`~segtui.clustering.stability.DISSOLVED_BELOW`);
2. among the ks that hold, the *separation* of each (its silhouette as a multiple of the
   reference's at the same k) is compared; the ks within :data:`NEAR_TIE` of the best, relatively,
   are near-ties the evidence cannot tell apart, and the largest of them is taken: segments can
   be merged by hand in the app, but not split.

When no k holds, the most stable k is taken and the reason says so. The other near-ties are
listed so a person can take one with ``-k N``. ``benchmarks/README.md`` ("-k auto") has the
measurements: on the worlds and two sets of Gaussian blobs, against the silhouette alone and
the other references tried.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from segtui.clustering.control import Progress, ShouldStop, check_stop, report, scaled
from segtui.clustering.diagnostics import SweepResult, SweepRow, sweep
from segtui.clustering.registry import MIN_K
from segtui.clustering.specs import FitSpec
from segtui.clustering.stability import (
    DISSOLVED_BELOW,
    STABILITY_FITS,
    STABILITY_USERS,
    WEAK_BELOW,
    BootCache,
    assess,
    refit_spec,
)

AUTO_K_MAX = 10
"""Largest k tried by ``-k auto``."""

K_SCAN_FITS = 5
"""Clusterboot refits per k while choosing k (the final stability uses all STABILITY_FITS)."""

NEAR_TIE = 0.05
"""Relative distance from the best separation (silhouette over the reference's) under which ks
that hold are near-ties: the largest is picked, the others listed."""


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
    null_silhouette: float | None = None
    """The silhouette at this k on the structureless reference (:func:`null_reference`)."""

    @property
    def separation(self) -> float | None:
        """The silhouette as a multiple of the reference's at this k (None when either is
        missing or the reference's is not positive)."""
        if self.silhouette is None or self.null_silhouette is None or self.null_silhouette <= 0:
            return None
        return self.silhouette / self.null_silhouette

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
            "null_silhouette": self.null_silhouette,
            "separation": self.separation,
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


def _rule_score(by_reference: bool) -> Callable[[KScore], float]:
    """The rule's score: the separation, or the raw silhouette when some k that holds has no
    reference (the two are not on one scale, so one of them for all)."""
    if by_reference:
        return lambda s: s.separation  # type: ignore[return-value]
    return lambda s: s.silhouette if s.silhouette is not None else -1.0


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
    by_reference = all(s.separation is not None for s in holding)
    score = _rule_score(by_reference)
    best = max(holding, key=lambda s: (score(s), s.stability or 0.0, -s.k))
    top = score(best)
    tied = [s for s in holding if top - score(s) <= NEAR_TIE * abs(top)]
    pick = max(tied, key=lambda s: s.k)  # the finer cut: segments merge by hand, never split
    if by_reference:
        why = (
            f"k={pick.k}'s segments are separated {pick.separation:.2f} times as well as "
            f"data with no groups at k={pick.k} (silhouette {_fmt(pick.silhouette)} against "
            f"{_fmt(pick.null_silhouette)} on a Gaussian of the same spread)"
        )
        if pick is best:
            why += ", the most of the ks whose segments hold under resampling"
        else:
            why += (
                f", within {NEAR_TIE:.0%} of the most among the ks whose segments hold under "
                f"resampling (k={best.k}, {top:.2f} times); of ks that close the evidence cannot "
                "tell apart, the larger is taken (segments can be merged by hand)"
            )
    else:
        why = (
            f"k={pick.k} has the highest silhouette ({_fmt(pick.silhouette)}) among the ks "
            f"whose segments hold under resampling"
        )
    why += f" (stability {_fmt(pick.stability)}, least stable segment {_fmt(pick.lowest)})"
    why += _index_votes(pick, scores)
    dropped = [s.k for s in scores if not s.holds and s.k > pick.k]
    if dropped:
        larger = ", ".join(map(str, dropped[:3]))
        why += f"; larger k ({larger}) split segments that do not come back"
    return pick.k, why, sorted(s.k for s in tied if s is not pick)


_RAW_INDICES = (
    ("the silhouette alone", "silhouette", max),
    ("Davies-Bouldin", "davies_bouldin", min),
    ("Calinski-Harabasz", "calinski_harabasz", max),
)
"""Each raw index's words, KScore attribute and which end is better."""


def _index_votes(pick: KScore, scores: Sequence[KScore]) -> str:
    """Whether the raw indices agree (highest silhouette, lowest Davies-Bouldin, highest
    Calinski-Harabasz): a person may prefer one of them."""
    parts = []
    for label, attribute, better in _RAW_INDICES:
        scored = [s for s in scores if getattr(s, attribute) is not None]
        if scored:
            best = better(scored, key=lambda s: getattr(s, attribute))
            parts.append(f"{label} agrees" if best.k == pick.k else f"{label} prefers k={best.k}")
    return f"; {', '.join(parts)}" if parts else ""


def null_reference(Xs: np.ndarray, seed: int) -> np.ndarray:
    """A Gaussian sample with ``Xs``'s size, mean and covariance: its spread and correlations,
    no groups. Drawn through the covariance's eigenvectors, so a rank-deficient covariance
    (features that move together) is kept as it is."""
    Xs = np.asarray(Xs, dtype=np.float64)
    rng = np.random.default_rng([seed, 0x5E6])
    values, vectors = np.linalg.eigh(np.atleast_2d(np.cov(Xs, rowvar=False)))
    values[values < values.max(initial=0.0) * 1e-12] = 0.0  # rounding, not spread
    scale = np.sqrt(values)
    draws = rng.standard_normal(Xs.shape) * scale
    return np.ascontiguousarray(Xs.mean(axis=0) + draws @ vectors.T)


def _scan(
    cache: BootCache,
    n_rows: int,
    fit: FitSpec,
    ks: Sequence[int],
    fits: int,
    progress: Progress | None,
    should_stop: ShouldStop | None,
) -> list[KScore]:
    """Fit each k on the cache's sample (drawn from ``n_rows`` rows), score it and its
    stability over ``fits`` refits."""
    swept = _sweep(cache.Xs, fit, ks, should_stop)
    scores = []
    for i, row in enumerate(swept.rows):
        check_stop(should_stop)
        report(progress, f"k={row.k}: stability", (i + 1) / (len(swept.rows) + 1))
        assert row.labels is not None
        boots = cache.fits_at(row.k, count=min(fits, len(cache.resamples.draws)))
        full = np.full(n_rows, -1, dtype=np.int64)
        full[cache.resamples.rows] = row.labels
        stab = assess(full, boots, cache.resamples, -1, seed=fit.seed, algorithm=fit.algorithm)
        scores.append(_score(row, stab.mean(), stab.lowest()))
    return scores


def _sweep(
    X: np.ndarray,
    fit: FitSpec,
    ks: Sequence[int],
    should_stop: ShouldStop | None,
    keep_labels: bool = True,
) -> SweepResult:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # small fits: one thread is faster and machine-independent
        return sweep(X, fit, ks, keep_labels=keep_labels, should_stop=should_stop)


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
    """Score each k on the data (indices and stability) and on the structureless reference
    (silhouette), and pick one; returns the choice and the refits (for the final stability).

    ``cache`` is built with :data:`STABILITY_FITS` resamples of at most
    :data:`STABILITY_USERS` users when not given; the ks are scored on its sample, the
    reference has the sample's size.
    """
    start = time.perf_counter()
    X = np.asarray(X, dtype=np.float64)
    cache = cache or BootCache(X, fit, STABILITY_FITS, STABILITY_USERS)
    wanted = list(ks) if ks is not None else auto_k_range(X.shape[0])
    wanted = [k for k in wanted if k < cache.Xs.shape[0]] or [MIN_K]
    report(progress, "scoring k on the sample", 0.0)
    scores = _scan(cache, X.shape[0], fit, wanted, fits, scaled(progress, 0.0, 0.8), should_stop)
    report(progress, "scoring k on data with no groups", 0.8)
    # Fitted as the refits are (K-Means with 3 restarts when n_init is segtui's): a silhouette
    # on a cloud with no groups moves by about 0.001 with more restarts, and costs twice as much.
    ref_fit = refit_spec(fit, None, fit.seed)
    reference = _sweep(null_reference(cache.Xs, fit.seed), ref_fit, wanted, should_stop, False)
    check_stop(should_stop)  # a sweep asked to stop returns the ks it finished
    by_k = {row.k: row.diagnostics.silhouette for row in reference.rows}
    for score in scores:
        score.null_silhouette = by_k.get(score.k)
    k, reason, near = pick_k(scores)
    report(progress, "k chosen", 1.0)
    choice = KChoice(k, reason, scores, near, cache.Xs.shape[0], fits)
    choice.seconds = time.perf_counter() - start
    return choice, cache
