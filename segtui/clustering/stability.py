"""How often a segment comes back when the users are resampled (Hennig's clusterboot), and which
segments are too small, too shaky or too alike to stand on their own.

Stability (Hennig 2007, "Cluster-wise assessment of cluster stability"): draw ``B`` bootstrap
resamples, refit the same algorithm with the same parameters on each, and for every original
segment take the Jaccard of its best-matching refitted cluster, over the users in that resample;
the mean over the fits is the segment's stability. Hennig's reading, kept here as classes:
below 0.6 the segment *dissolves*, 0.6-0.75 it is *weak*, 0.75-0.85 *fair*, above 0.85 *stable*.

The cost is bounded whatever the number of users: the resamples are drawn from one seeded
sample of at most ``S`` users (:data:`STABILITY_USERS`), each resample a bootstrap of that sample
(its size, with replacement), so ``B`` fits of at most ``S`` users are paid, never ``B`` fits of
everyone. Refits of K-Means whose restarts were left to segtui use
:data:`REFIT_RESTARTS` restarts (clusterboot's own K-Means refits use one). Everything is
determined by the seed, and the fits run on one native thread so the numbers do not depend on
the machine's cores.

Over-segmentation is said out loud by :func:`segment_flags`: a segment is *tiny* under
:data:`TINY_SHARE` of the users, *unstable* below :data:`WEAK_BELOW` (weak or dissolved) and
*indistinguishable* from another when both best match the same refitted cluster in more than
:data:`MERGE_SHARE` of the fits (the refits cannot tell them apart).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from segtui.clustering.control import Progress, ShouldStop, check_stop, report
from segtui.clustering.fit import fit_clusters
from segtui.clustering.registry import algorithm_info
from segtui.clustering.specs import FitSpec
from segtui.errors import InputError

STABILITY_FITS = 20
"""B: bootstrap refits per assessment (Hennig suggests 20 as the least, 100 when cheap)."""

STABILITY_USERS = 5_000
"""S: users the resamples are drawn from at most (one seeded sample), so the cost is B fits of at
most S users at 1M users as at 5k (benchmarks/bench_stability.py)."""

REFIT_RESTARTS = 3
"""K-Means restarts in a refit when the person left n_init to segtui (clusterboot uses 1)."""

DISSOLVED_BELOW = 0.6
WEAK_BELOW = 0.75
STABLE_ABOVE = 0.85
METHOD = "clusterboot"

TINY_SHARE = 0.01
"""A segment holding less than this share of the users is flagged tiny."""

MERGE_SHARE = 0.5
"""Two segments whose best matches coincide in more than this share of the refits are flagged
indistinguishable."""


def stability_class(jaccard: float | None) -> str:
    """Hennig's reading of a mean Jaccard: dissolved, weak, fair or stable ("" when unknown)."""
    if jaccard is None:
        return ""
    if jaccard < DISSOLVED_BELOW:
        return "dissolved"
    if jaccard < WEAK_BELOW:
        return "weak"
    if jaccard <= STABLE_ABOVE:
        return "fair"
    return "stable"


@dataclass(frozen=True)
class Resamples:
    """The seeded stability sample (rows of X) and, per fit, a bootstrap of it (positions)."""

    rows: np.ndarray
    """Sorted rows of X in the stability sample."""
    draws: tuple[np.ndarray, ...]
    """Per fit, positions into ``rows`` drawn with replacement (len(rows) of them)."""


def draw_resamples(n: int, fits: int, users: int, seed: int) -> Resamples:
    """The sample of min(n, users) rows and ``fits`` bootstraps of it, all from ``seed``."""
    rng = np.random.default_rng([seed, 7919])
    rows = np.arange(n) if n <= users else np.sort(rng.choice(n, size=users, replace=False))
    m = len(rows)
    draws = tuple(np.random.default_rng([seed, b]).integers(0, m, size=m) for b in range(fits))
    return Resamples(rows, draws)


@dataclass(frozen=True)
class BootFit:
    """One refit: the distinct sample positions it saw and the cluster of each (-1: noise)."""

    positions: np.ndarray
    labels: np.ndarray


def refit_spec(fit: FitSpec, k: int | None, seed: int) -> FitSpec:
    """The fit to repeat on a resample: same algorithm and parameters (k when given)."""
    params = dict(fit.params)
    if k is not None:
        params["k"] = k
    if fit.algorithm == "kmeans" and params.get("n_init") is None:
        params["n_init"] = REFIT_RESTARTS
    return FitSpec(fit.algorithm, params, seed, fit.sample_size)


def refit(
    Xs: np.ndarray,
    fit: FitSpec,
    draw: np.ndarray,
    k: int | None,
    seed: int,
) -> BootFit:
    """Fit ``fit`` on the bootstrap ``draw`` of the sample ``Xs``; a label per distinct user."""
    from threadpoolctl import threadpool_limits

    positions, first = np.unique(draw, return_index=True)
    try:
        with threadpool_limits(limits=1):
            result = fit_clusters(Xs[draw], refit_spec(fit, k, seed))
    except InputError:
        # A resample of a tiny table can hold fewer distinct users than k: no k segments can
        # come back from it, so it counts as one undivided cluster (every segment scores low).
        return BootFit(positions, np.zeros(len(positions), dtype=np.int64))
    labels = np.asarray(result.labels, dtype=np.int64)
    if result.noise_id is not None:
        labels = np.where(labels == result.noise_id, -1, labels)
    return BootFit(positions, labels[first])


def _match(original: np.ndarray, boot: BootFit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per original segment (0..k-1 of ``original``, -1 ignored): present in the resample?, the
    Jaccard of its best-matching refitted cluster, and that cluster."""
    o = original[boot.positions]
    b = boot.labels
    k = int(original.max()) + 1 if original.size else 0
    kb = int(b.max()) + 1 if b.size and b.max() >= 0 else 0
    keep = o >= 0
    size_o = np.bincount(o[keep], minlength=k)
    present = size_o > 0
    if kb == 0:
        return present, np.zeros(k), np.full(k, -1)
    both = keep & (b >= 0)
    table = np.bincount(o[both] * kb + b[both], minlength=k * kb).reshape(k, kb)
    size_b = np.bincount(b[b >= 0], minlength=kb)
    union = size_o[:, None] + size_b[None, :] - table
    jac = np.divide(table, union, out=np.zeros(table.shape), where=union > 0)
    return present, jac.max(axis=1), jac.argmax(axis=1)


@dataclass
class SegmentStability:
    """One segment's stability: mean best-match Jaccard over the fits it appeared in."""

    segment_id: int
    jaccard: float | None
    fits: int
    """Refits whose resample held at least one of its users."""
    merged_with: dict[int, int] = field(default_factory=dict)
    """Other segment id -> refits in which both best matched the same refitted cluster."""

    @property
    def label(self) -> str:
        return stability_class(self.jaccard)

    def to_dict(self) -> dict[str, Any]:
        return {
            "jaccard": self.jaccard,
            "class": self.label,
            "fits": self.fits,
            "merged_with": {str(k): v for k, v in sorted(self.merged_with.items())},
        }


@dataclass
class StabilityReport:
    """Stability of every segment of one clustering, and how it was measured."""

    segments: dict[int, SegmentStability]
    fits: int
    users: int
    """Users in the stability sample (S, or everyone when fewer)."""
    seed: int
    algorithm: str
    seconds: float = 0.0

    def jaccard(self, segment_id: int) -> float | None:
        item = self.segments.get(segment_id)
        return None if item is None else item.jaccard

    def mean(self) -> float | None:
        values = [s.jaccard for s in self.segments.values() if s.jaccard is not None]
        return float(np.mean(values)) if values else None

    def lowest(self) -> float | None:
        values = [s.jaccard for s in self.segments.values() if s.jaccard is not None]
        return float(min(values)) if values else None

    def to_dict(self) -> dict[str, Any]:
        """The model's top-level ``stability`` section (per-segment values go on the segments)."""
        return {
            "method": METHOD,
            "fits": self.fits,
            "sample_users": self.users,
            "seed": self.seed,
            "algorithm": self.algorithm,
            "classes": {
                "dissolved_below": DISSOLVED_BELOW,
                "weak_below": WEAK_BELOW,
                "stable_above": STABLE_ABOVE,
            },
            "segments": {str(k): v.to_dict() for k, v in sorted(self.segments.items())},
        }


def assess(
    labels: np.ndarray,
    boots: Sequence[BootFit],
    resamples: Resamples,
    noise_id: int | None,
    *,
    seed: int,
    algorithm: str,
) -> StabilityReport:
    """Score the clustering ``labels`` (one per row of X) against refits already made."""
    full = np.asarray(labels, dtype=np.int64)
    sample = full[resamples.rows]
    ids = sorted(int(v) for v in np.unique(full) if noise_id is None or v != noise_id)
    index = {sid: i for i, sid in enumerate(ids)}
    compact = np.array([index.get(int(v), -1) for v in sample], dtype=np.int64)
    k = len(ids)
    sums, counts = np.zeros(k), np.zeros(k, dtype=np.int64)
    merged = np.zeros((k, k), dtype=np.int64)
    for boot in boots:
        present, best, match = _match(compact, boot) if k else (np.zeros(0, bool), None, None)
        if not k:
            break
        sums[present] += best[present]
        counts[present] += 1
        for a in range(k):
            for b in range(a + 1, k):
                if present[a] and present[b] and match[a] == match[b] and best[a] > 0:
                    merged[a, b] += 1
                    merged[b, a] += 1
    segments = {}
    for sid, i in index.items():
        jac = float(sums[i] / counts[i]) if counts[i] else None
        pairs = {ids[j]: int(merged[i, j]) for j in range(k) if merged[i, j]}
        segments[sid] = SegmentStability(sid, jac, int(counts[i]), pairs)
    return StabilityReport(segments, len(boots), len(resamples.rows), seed, algorithm)


def segment_stability(
    X: np.ndarray,
    labels: np.ndarray,
    fit: FitSpec,
    *,
    noise_id: int | None = None,
    fits: int = STABILITY_FITS,
    users: int = STABILITY_USERS,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    cache: BootCache | None = None,
) -> StabilityReport:
    """clusterboot stability of each segment of ``labels`` (a clustering of the rows of X).

    ``fit`` is repeated on each resample; for an algorithm with a k, k is the number of
    segments in ``labels`` (noise left out). ``cache`` reuses refits already made (auto-k).
    """
    import time

    start = time.perf_counter()
    X = np.asarray(X, dtype=np.float64)
    n_segments = len({int(v) for v in np.unique(labels)} - {noise_id})
    k = n_segments if algorithm_info(fit.algorithm).uses_k else None
    cache = cache or BootCache(X, fit, fits, users)
    boots = cache.fits_at(k, progress, should_stop)
    out = assess(labels, boots, cache.resamples, noise_id, seed=fit.seed, algorithm=fit.algorithm)
    out.seconds = time.perf_counter() - start
    return out


class BootCache:
    """Refits on one set of resamples, kept by k, so auto-k and the final stability share them."""

    def __init__(self, X: np.ndarray, fit: FitSpec, fits: int, users: int) -> None:
        self.fit = fit
        self.resamples = draw_resamples(X.shape[0], fits, users, fit.seed)
        self.Xs = np.asarray(X[self.resamples.rows], dtype=np.float64)
        self._fits: dict[int | None, list[BootFit]] = {}
        self._lock = threading.Lock()  # a cancelled app worker may still be finishing a refit

    def fits_at(
        self,
        k: int | None,
        progress: Progress | None = None,
        should_stop: ShouldStop | None = None,
        count: int | None = None,
    ) -> list[BootFit]:
        """The first ``count`` (default all) refits at ``k``, fitting those not made yet."""
        wanted = len(self.resamples.draws) if count is None else count
        with self._lock:
            done = self._fits.setdefault(k, [])
            for b in range(len(done), wanted):
                check_stop(should_stop)
                report(progress, f"stability refit {b + 1} of {wanted}", b / wanted)
                draw = self.resamples.draws[b]
                done.append(refit(self.Xs, self.fit, draw, k, self.fit.seed + b + 1))
            report(progress, "stability done", 1.0)
            return done[:wanted]


def segment_flags(
    labels: np.ndarray,
    noise_id: int | None,
    stability: StabilityReport | None,
    names: Mapping[int, str] | None = None,
) -> dict[int, list[str]]:
    """Over-segmentation, per segment id: why it may not stand on its own (empty: no reason).

    Tiny (under :data:`TINY_SHARE` of the users), unstable (stability below
    :data:`WEAK_BELOW`), indistinguishable (best matches coincide with another segment's in more
    than :data:`MERGE_SHARE` of the refits).
    """
    values, counts = np.unique(np.asarray(labels), return_counts=True)
    total = max(int(counts.sum()), 1)
    out: dict[int, list[str]] = {}
    for sid, size in zip(values.tolist(), counts.tolist(), strict=True):
        if noise_id is not None and sid == noise_id:
            continue
        reasons = []
        if size / total < TINY_SHARE:
            reasons.append(f"tiny: {size / total:.1%} of users (under {TINY_SHARE:.0%})")
        item = stability.segments.get(sid) if stability is not None else None
        if item is not None and item.jaccard is not None and item.jaccard < WEAK_BELOW:
            reasons.append(
                f"unstable: {item.label}, comes back with Jaccard {item.jaccard:.2f} "
                f"(under {WEAK_BELOW})"
            )
        if item is not None and item.fits:
            for other, times in sorted(item.merged_with.items(), key=lambda p: (-p[1], p[0])):
                if times / item.fits > MERGE_SHARE:
                    who = (names or {}).get(other, f"segment {other}")
                    reasons.append(
                        f"indistinguishable from {who} (id {other}): merged in {times} of "
                        f"{item.fits} refits"
                    )
                    break
        out[int(sid)] = reasons
    return out
