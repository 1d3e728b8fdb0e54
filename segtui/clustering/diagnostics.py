"""How good is a clustering, and which k to pick.

``diagnose`` scores one clustering: silhouette (on a seeded sample, because it is quadratic),
Davies-Bouldin and Calinski-Harabasz (scikit-learn's definitions, computed with the
within-segment sum of squares in one chunked pass over the users: linear, no per-segment copies
of the matrix, equal to scikit-learn's functions to ~1e-12) and, for Gaussian mixtures, the BIC.
Noise (DBSCAN/HDBSCAN) is left out of every score: it is not a group, so it should neither help
nor hurt. ``sweep`` fits a range of k and suggests one, saying by which rule, so a person can see
why and disagree.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from segtui.clustering.control import Cancelled, Progress, ShouldStop
from segtui.clustering.fit import ClusterResult, fit_clusters
from segtui.clustering.kernels import CHUNK_ROWS, segment_means
from segtui.clustering.registry import ALGORITHMS, MIN_K, algorithm_info
from segtui.clustering.specs import FitSpec
from segtui.errors import InputError

if TYPE_CHECKING:
    from segtui.clustering.autok import KChoice

SILHOUETTE_SAMPLE = 10_000
"""Users the silhouette is computed on: ~1 s on 2 cores, and its estimate is stable to ~0.01."""

SILHOUETTE_TIE = 0.02
"""Silhouettes closer than this count as tied in a sweep (a sampled silhouette wobbles ~0.01)."""


@dataclass
class Diagnostics:
    """Scores for one clustering; None where a score is undefined (e.g. a single segment)."""

    n_segments: int
    """Segments other than noise."""
    n_users: int
    noise_share: float
    silhouette: float | None
    """-1..1, higher is better: users are closer to their own segment than to the next one."""
    davies_bouldin: float | None
    """>= 0, lower is better: average similarity of each segment to its most similar one."""
    calinski_harabasz: float | None
    """Higher is better: between-segment over within-segment dispersion."""
    inertia: float | None
    """Sum of squared distances to the segment's center (lower is better for the same k)."""
    bic: float | None
    """Gaussian mixture only: lower is better."""
    silhouette_sample: int
    """Users the silhouette was computed on (0 when it was not computed)."""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_segments": self.n_segments,
            "n_users": self.n_users,
            "noise_share": self.noise_share,
            "silhouette": self.silhouette,
            "davies_bouldin": self.davies_bouldin,
            "calinski_harabasz": self.calinski_harabasz,
            "inertia": self.inertia,
            "bic": self.bic,
            "silhouette_sample": self.silhouette_sample,
            "notes": list(self.notes),
        }


def _compact(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels renumbered 0..k-1 in ascending order of the original ids, and k.

    Segment ids are small non-negative integers, so a bincount does it in one linear pass
    (``np.unique`` would sort a million labels); anything else goes through ``np.unique``.
    """
    if labels.size and labels.dtype.kind in "iu" and int(labels.min()) >= 0:
        top = int(labels.max())
        if top <= 4 * labels.size + 1024:
            present = np.flatnonzero(np.bincount(labels, minlength=top + 1))
            remap = np.zeros(top + 1, dtype=np.int64)
            remap[present] = np.arange(len(present), dtype=np.int64)
            return remap[labels], len(present)
    uniq, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64, copy=False), len(uniq)


@dataclass(frozen=True)
class _Spread:
    """Per segment: center, size, and the sums of squared and of plain distances to the center."""

    centers: np.ndarray
    sizes: np.ndarray
    sq_sum: np.ndarray
    dist_sum: np.ndarray


def _spread(X: np.ndarray, labels: np.ndarray, k: int) -> _Spread:
    """One chunked pass over X for the within-segment scores (inertia, Davies-Bouldin, CH).

    scikit-learn's scores copy each segment out of X (and its Davies-Bouldin a distance matrix);
    here each block of rows is compared with its own center and summed per segment, so memory
    stays at a block and time is linear in users.
    """
    centers, sizes = segment_means(X, labels, k)
    sq_sum = np.zeros(k, dtype=np.float64)
    dist_sum = np.zeros(k, dtype=np.float64)
    for start in range(0, X.shape[0], CHUNK_ROWS):
        block = X[start : start + CHUNK_ROWS]
        lab = labels[start : start + CHUNK_ROWS]
        diff = block - centers[lab]
        sq = np.einsum("ij,ij->i", diff, diff)
        sq_sum += np.bincount(lab, weights=sq, minlength=k)
        dist_sum += np.bincount(lab, weights=np.sqrt(sq), minlength=k)
    return _Spread(centers, sizes, sq_sum, dist_sum)


def _calinski_harabasz(s: _Spread) -> float:
    """Between- over within-segment dispersion, scaled by degrees of freedom (as scikit-learn)."""
    n, k = int(s.sizes.sum()), len(s.sizes)
    mean = (s.sizes[:, None] * s.centers).sum(axis=0) / n
    extra = float(np.sum(s.sizes * np.sum(np.square(s.centers - mean), axis=1)))
    intra = float(s.sq_sum.sum())
    return 1.0 if intra == 0.0 else extra * (n - k) / (intra * (k - 1.0))


def _davies_bouldin(s: _Spread) -> float:
    """Mean over segments of the worst (spread_i + spread_j) / center distance (as scikit-learn)."""
    intra = s.dist_sum / s.sizes
    gaps = s.centers[:, None, :] - s.centers[None, :, :]
    between = np.sqrt(np.einsum("ijk,ijk->ij", gaps, gaps))
    if np.all(np.isclose(intra, 0.0)) or np.all(np.isclose(between, 0.0)):
        return 0.0
    between[between == 0] = np.inf
    combined = intra[:, None] + intra[None, :]
    return float(np.mean(np.max(combined / between, axis=1)))


def diagnose(
    X: np.ndarray,
    labels: np.ndarray,
    noise_id: int | None = None,
    seed: int = 0,
    silhouette_sample: int = SILHOUETTE_SAMPLE,
    inertia: float | None = None,
    bic: float | None = None,
) -> Diagnostics:
    """Score a clustering of the rows of X (noise rows, if any, left out).

    ``inertia`` and ``bic`` come from the fit when it has them (K-Means' own inertia, the
    mixture's BIC); when ``inertia`` is None it is computed as the within-segment sum of
    squares around each segment's mean. The silhouette uses a seeded sample of
    ``silhouette_sample`` users when there are more (every other score uses everyone).
    """
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    if X.ndim != 2 or len(labels) != X.shape[0]:
        raise InputError(
            f"labels ({len(labels)}) and matrix rows ({X.shape[0] if X.ndim else 0}) differ"
        )
    n_users = len(labels)
    notes: list[str] = []
    Xc, lc = _without_noise(X, labels, noise_id)
    n_noise = n_users - len(lc)
    if n_noise:
        notes.append(f"{n_noise:,} noise users left out of the scores")
    noise_share = n_noise / n_users if n_users else 0.0
    # compact ids so bincount-based helpers see 0..k-1
    lc, k = _compact(lc)
    spread = _spread(Xc, lc, k) if k >= 1 else None
    if inertia is None and spread is not None:
        inertia = float(spread.sq_sum.sum())

    silhouette = davies_bouldin = calinski = None
    used = 0
    if k < 2:
        notes.append("fewer than two segments: silhouette, Davies-Bouldin and CH are undefined")
    elif k >= len(lc):
        notes.append("every user is its own segment: the scores are undefined")
    else:
        assert spread is not None
        davies_bouldin = _davies_bouldin(spread)
        calinski = _calinski_harabasz(spread)
        silhouette, used = _silhouette(Xc, lc, seed, silhouette_sample, notes)
    return Diagnostics(
        n_segments=k,
        n_users=n_users,
        noise_share=noise_share,
        silhouette=silhouette,
        davies_bouldin=davies_bouldin,
        calinski_harabasz=calinski,
        inertia=inertia,
        bic=bic,
        silhouette_sample=used,
        notes=notes,
    )


def _without_noise(
    X: np.ndarray, labels: np.ndarray, noise_id: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """The rows that are not noise, and their labels (X itself when none is noise)."""
    if noise_id is None:
        return X, labels
    keep = labels != noise_id
    if keep.all():
        return X, labels
    return X[keep], labels[keep]


def _silhouette(
    X: np.ndarray, labels: np.ndarray, seed: int, sample: int, notes: list[str]
) -> tuple[float | None, int]:
    """Silhouette on a seeded sample of ``sample`` rows (when more), and the rows it used."""
    from sklearn import config_context
    from sklearn.metrics import silhouette_score

    if len(labels) > sample:
        rows = np.sort(np.random.default_rng(seed).choice(len(labels), size=sample, replace=False))
        X, labels = X[rows], labels[rows]
        notes.append(f"silhouette on a seeded sample of {sample:,} users")
    n_labels = len(np.unique(labels))
    if not 2 <= n_labels <= len(labels) - 1:
        notes.append("the silhouette sample holds fewer than two segments")
        return None, 0
    # distance blocks of <= 256 MB instead of scikit-learn's 1 GB default
    with config_context(working_memory=256):
        return float(silhouette_score(X, labels)), len(labels)


INERTIA_KINDS = frozenset({"centroid", "hierarchical"})
"""Algorithm kinds whose diagnostics carry an inertia: they build groups around centers (K-Means,
MiniBatch, BIRCH) or by the within-segment sum of squares (ward). Density algorithms optimise no
such thing and the Gaussian mixture is judged by its BIC."""


def diagnose_result(
    X: np.ndarray, result: ClusterResult, seed: int = 0, silhouette_sample: int = SILHOUETTE_SAMPLE
) -> Diagnostics:
    """``diagnose`` with the noise id, inertia and BIC a :class:`ClusterResult` carries.

    Only the scores that apply to the algorithm are kept: inertia for centroid and hierarchical
    algorithms, BIC for the Gaussian mixture (see :data:`INERTIA_KINDS`).
    """
    diag = diagnose(
        X,
        result.labels,
        noise_id=result.noise_id,
        seed=seed,
        silhouette_sample=silhouette_sample,
        inertia=result.inertia,
        bic=result.bic,
    )
    if algorithm_info(result.algorithm).kind not in INERTIA_KINDS:
        diag.inertia = None
    return diag


@dataclass
class SweepRow:
    """One k of a sweep."""

    k: int
    diagnostics: Diagnostics
    seconds: float
    note: str = ""
    labels: np.ndarray | None = field(default=None, repr=False, compare=False)
    """The fit's labels, when the sweep was asked to keep them (auto-k scores their stability)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            **self.diagnostics.to_dict(),
            "seconds": self.seconds,
            "note": self.note,
        }


@dataclass
class SweepResult:
    """Diagnostics per k and a suggested k with the rule that picked it."""

    algorithm: str
    params: dict[str, Any]
    seed: int
    rows: list[SweepRow]
    suggested_k: int | None
    reason: str
    rule: str
    """"silhouette", "silhouette+bic", "silhouette+elbow", "elbow", "bic" or "none"."""
    stopped: bool = False
    """True when ``should_stop`` ended the sweep early: rows hold the ks finished."""
    warmup_seconds: float = 0.0
    """One-off cost paid before the first k (imports, first BLAS/OpenMP call), kept out of the
    per-k ``seconds`` so each k's time is its own."""
    k_choice: KChoice | None = None
    """Stability per k and the auto-k pick, when measured (``segtui sweep`` unless
    ``--no-stability``; see :mod:`segtui.clustering.autok`)."""

    def stability(self, k: int) -> float | None:
        """Mean segment stability at k, when measured."""
        score = None if self.k_choice is None else self.k_choice.score(k)
        return None if score is None else score.stability

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "params": dict(self.params),
            "seed": self.seed,
            "rows": [r.to_dict() for r in self.rows],
            "suggested_k": self.suggested_k,
            "reason": self.reason,
            "rule": self.rule,
            "stopped": self.stopped,
            "warmup_seconds": self.warmup_seconds,
            "k_choice": None if self.k_choice is None else self.k_choice.to_dict(),
        }


def elbow_k(ks: Sequence[int], inertias: Sequence[float]) -> int | None:
    """k where the inertia curve bends most: farthest below the chord (axes scaled to 0..1)."""
    if len(ks) < 3:
        return None
    x = np.asarray(ks, dtype=np.float64)
    y = np.asarray(inertias, dtype=np.float64)
    if x[-1] == x[0] or y.max() == y.min():
        return None
    xn = (x - x[0]) / (x[-1] - x[0])
    yn = (y - y.min()) / (y.max() - y.min())
    gap = (1.0 - xn) - yn
    i = int(np.argmax(gap))
    return int(ks[i]) if gap[i] > 0 else None


def suggest_k(rows: Sequence[SweepRow], algorithm: str) -> tuple[int | None, str, str]:
    """Pick k: highest silhouette; near-ties (within SILHOUETTE_TIE) go to the lowest BIC for
    mixtures, else to the k nearest the inertia elbow (then the smaller k). Without any
    silhouette: lowest BIC, else the elbow. Returns (k, reason, rule)."""
    ks = [r.k for r in rows]
    inertias = [r.diagnostics.inertia for r in rows]
    elbow = None
    if inertias and all(v is not None for v in inertias):
        elbow = elbow_k(ks, [float(v) for v in inertias])  # type: ignore[arg-type]
    scored = [r for r in rows if r.diagnostics.silhouette is not None]
    if scored:
        best = max(r.diagnostics.silhouette for r in scored)  # type: ignore[type-var]
        tied = [r for r in scored if best - r.diagnostics.silhouette <= SILHOUETTE_TIE]  # type: ignore[operator]
        top = max(scored, key=lambda r: (r.diagnostics.silhouette, -r.k))
        if len(tied) == 1:
            return (
                top.k,
                f"k={top.k} has the highest silhouette ({top.diagnostics.silhouette:.3f}); "
                f"no other k is within {SILHOUETTE_TIE}",
                "silhouette",
            )
        return _break_tie(tied, best, algorithm, elbow)
    bics = [r for r in rows if r.diagnostics.bic is not None]
    if bics:
        pick = min(bics, key=lambda r: (r.diagnostics.bic, r.k))
        return (
            pick.k,
            f"no silhouette could be computed; k={pick.k} has the lowest BIC",
            "bic",
        )
    if elbow is not None:
        return (
            elbow,
            f"no silhouette could be computed; k={elbow} is at the inertia elbow",
            "elbow",
        )
    return None, "no k could be scored (too few users or segments)", "none"


def _break_tie(
    tied: Sequence[SweepRow], best: float, algorithm: str, elbow: int | None
) -> tuple[int, str, str]:
    """Among silhouettes within SILHOUETTE_TIE of the best: lowest BIC (mixtures), else the k
    nearest the inertia elbow, else the smallest k."""
    tied_ks = ", ".join(str(r.k) for r in tied)
    if algorithm_info(algorithm).kind == "mixture" and all(
        r.diagnostics.bic is not None for r in tied
    ):
        pick = min(tied, key=lambda r: (r.diagnostics.bic, r.k))
        return (
            pick.k,
            f"silhouettes of k={tied_ks} are within {SILHOUETTE_TIE} of the best "
            f"({best:.3f}); k={pick.k} has the lowest BIC among them "
            f"({pick.diagnostics.bic:.6g})",
            "silhouette+bic",
        )
    if elbow is not None:
        pick = min(tied, key=lambda r: (abs(r.k - elbow), r.k))
        return (
            pick.k,
            f"silhouettes of k={tied_ks} are within {SILHOUETTE_TIE} of the best "
            f"({best:.3f}); k={pick.k} is nearest the inertia elbow (k={elbow})",
            "silhouette+elbow",
        )
    pick = min(tied, key=lambda r: r.k)
    return (
        pick.k,
        f"silhouettes of k={tied_ks} are within {SILHOUETTE_TIE} of the best ({best:.3f}); "
        f"no elbow to break the tie, so the smallest, k={pick.k}",
        "silhouette",
    )


def _sub_progress(progress: Progress, i: int, k: int, total: int) -> Progress:
    """Map one fit's progress into the sweep's overall 0..1 (80 % fit, 20 % scoring per k)."""

    def sub(stage: str, frac: float) -> None:
        progress(f"k={k}: {stage}", (i + 0.8 * frac) / total)

    return sub


def sweep(
    X: np.ndarray,
    fit: FitSpec,
    ks: Sequence[int],
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    silhouette_sample: int = SILHOUETTE_SAMPLE,
    keep_labels: bool = False,
) -> SweepResult:
    """Fit ``fit``'s algorithm at each k and score it; suggest a k (see :func:`suggest_k`).

    ``keep_labels`` keeps each k's labels on its row (one int per user per k: off by default).

    The sweep sets k itself: a ``k`` among ``fit.params`` is ignored.

    ``progress(stage, fraction)`` reports over the whole sweep. ``should_stop`` is polled
    before each k and inside each fit; when it returns True the sweep returns the ks finished so
    far with ``stopped=True``. Each k costs one fit plus linear scores and a sampled silhouette,
    so a sweep is linear in users outside the documented samples.
    """
    algorithm, seed, sample_size = fit.algorithm, fit.seed, fit.sample_size
    wanted = _sweep_ks(algorithm, ks, np.asarray(X).shape[0])
    base = dict(fit.without("k").params)
    warmup = _warm_up(algorithm, base, np.asarray(X).shape[1], seed)
    rows: list[SweepRow] = []
    resolved: dict[str, Any] = {}
    stopped = False
    for i, k in enumerate(wanted):
        if should_stop is not None and should_stop():
            stopped = True
            break
        sub = None if progress is None else _sub_progress(progress, i, k, len(wanted))
        start = time.perf_counter()
        try:
            result = fit_clusters(
                X,
                FitSpec(algorithm, {**base, "k": k}, seed=seed, sample_size=sample_size),
                progress=sub,
                should_stop=should_stop,
            )
        except Cancelled:
            stopped = True
            break
        resolved = {key: v for key, v in result.params.items() if key != "k"}
        if progress is not None:
            progress(f"k={k}: scoring", (i + 0.8) / len(wanted))
        diag = diagnose_result(X, result, seed=seed, silhouette_sample=silhouette_sample)
        labels = result.labels if keep_labels else None
        rows.append(SweepRow(k, diag, time.perf_counter() - start, result.note, labels))
        if progress is not None:
            progress(f"k={k}: done", (i + 1) / len(wanted))
    k_best, reason, rule = suggest_k(rows, algorithm)
    if stopped:
        reason += f" (sweep stopped after {len(rows)} of {len(wanted)} k)"
    return SweepResult(
        algorithm=algorithm,
        params=resolved or base,
        seed=seed,
        rows=rows,
        suggested_k=k_best,
        reason=reason,
        rule=rule,
        stopped=stopped,
        warmup_seconds=warmup,
    )


def _sweep_ks(algorithm: str, ks: Sequence[int], n: int) -> list[int]:
    """The distinct ks to sweep, in order; each at least MIN_K and at most the users."""
    info = algorithm_info(algorithm)
    if not info.uses_k:
        with_k = [a.name for a in ALGORITHMS.values() if a.uses_k]
        raise InputError(
            f"{info.label} has no k to sweep",
            hint=f"Sweep {', '.join(with_k[:-1])} or {with_k[-1]}.",
        )
    wanted = sorted({int(k) for k in ks})
    if not wanted:
        raise InputError("no k to sweep", hint="Give a range such as 2..12.")
    if wanted[0] < MIN_K:
        raise InputError(
            f"k must be at least {MIN_K}: one segment is everyone",
            hint=f"Start the sweep at k = {MIN_K}, e.g. 2..12.",
        )
    too_big = [k for k in wanted if k > n]
    if too_big:
        raise InputError(
            f"k = {too_big[0]} is larger than the number of users ({n:,})",
            hint=f"Sweep k up to {n:,} at most.",
        )
    return wanted


def _warm_up(algorithm: str, params: Mapping[str, Any], width: int, seed: int) -> float:
    """Pay the one-off costs before the first k is timed; returns the seconds spent.

    Importing scikit-learn's modules takes ~0.8 s the first time, and the first fit starts the
    BLAS and OpenMP thread pools; timed inside the first k they made k=2 look 50 times slower
    than the rest. One fit and score of two tiny groups (same algorithm and parameters, k=2)
    pays them here.
    """
    start = time.perf_counter()
    pattern = np.arange(32 * width, dtype=np.float64).reshape(32, width) % 7 / 7.0
    tiny = pattern + 10.0 * (np.arange(32) >= 16)[:, None]
    with warnings.catch_warnings():  # the real fits warn for themselves
        warnings.simplefilter("ignore")
        result = fit_clusters(tiny, FitSpec(algorithm, {**params, "k": MIN_K}, seed=seed))
        diagnose_result(tiny, result, seed=seed)
    return time.perf_counter() - start
