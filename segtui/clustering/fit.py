"""One interface over the clustering algorithms segtui offers, with stable segment ids.

``fit_clusters(X, algorithm, params, seed)`` fits K-Means, MiniBatch K-Means, agglomerative
(ward/average), DBSCAN, HDBSCAN, a Gaussian mixture or BIRCH and returns a :class:`ClusterResult`
whose labels are *canonical*: segment 0 is the largest, ties go to the segment holding the
earliest row, and noise (DBSCAN/HDBSCAN) is the last id. So the same data, parameters and seed
always give the same ids, whatever numbers the algorithm happened to use.

Algorithms whose cost grows with the square of the number of users (agglomerative, DBSCAN,
HDBSCAN, and BIRCH, whose final ward step is quadratic in its subclusters) fit on a seeded sample
and extend the labels to everyone; the result says so in ``sampled``, ``extension`` and ``note``.
Default sample sizes, measured on the 2-core reference machine with 30 features:

- agglomerative and BIRCH: 10,000 (ward ~2.9 s, average ~2.2 s, BIRCH ~2.2 s on 10k;
  ward needs ~14 s on 20k), extended by nearest segment center (cheap).
- DBSCAN and HDBSCAN: 5,000 (HDBSCAN ~0.6 s on 5k, 2.4 s on 10k, 9.5 s on 20k), extended by
  nearest sampled user; the extension itself costs ~0.6 s per 100k users on 5k sampled users.

Everything needed to label new users the same way is in ``ClusterResult.state``, a JSON-safe dict
that :func:`assign_new` reads.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from segtui.errors import InputError

Progress = Callable[[str, float], None]
ShouldStop = Callable[[], bool]

CHUNK_ROWS = 65_536
"""Rows per block when labelling many users: bounds memory to a few tens of MB per block."""

DENSITY_SAMPLE_SIZE = 5_000
"""Default sample for DBSCAN/HDBSCAN: HDBSCAN fits 5k x 30 in ~0.6 s on 2 cores (9.5 s on 20k)."""

HIERARCHY_SAMPLE_SIZE = 10_000
"""Default sample for agglomerative/BIRCH: ward fits 10k x 30 in ~2.9 s on 2 cores (14 s on 20k)."""

EPS_SAMPLE_SIZE = 5_000
"""Users the k-distance curve is measured on when suggesting DBSCAN's eps."""


class Cancelled(Exception):
    """Raised when ``should_stop`` asked a long fit to stop; nothing partial is returned."""


@dataclass(frozen=True)
class ParamSpec:
    """One algorithm parameter, as data the app renders an input from and the core validates."""

    name: str
    label: str
    kind: str
    """"int", "float", "choice" or "bool"."""
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    allow_none: bool = False
    """None is allowed and means "choose for me" (e.g. DBSCAN's eps from the k-distance curve)."""
    help: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "default": self.default,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "choices": list(self.choices),
            "allow_none": self.allow_none,
            "help": self.help,
        }


@dataclass(frozen=True)
class AlgorithmInfo:
    """What the app and CLI need to offer an algorithm."""

    name: str
    label: str
    description: str
    parameters: tuple[ParamSpec, ...]
    quadratic: bool
    """Cost grows with users squared: fitted on a sample of ``default_sample_size`` by default."""
    kind: str
    """"centroid", "hierarchical", "density" or "mixture": decides how labels are extended."""
    default_sample_size: int | None = None
    uses_k: bool = True
    """Has a number-of-segments parameter named "k" (so a k sweep makes sense)."""
    timing: str = ""
    """Measured cost that justifies the default sample (2 cores, 30 features)."""

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "parameters": [p.to_dict() for p in self.parameters],
            "quadratic": self.quadratic,
            "kind": self.kind,
            "default_sample_size": self.default_sample_size,
            "uses_k": self.uses_k,
            "timing": self.timing,
        }


MIN_K = 2
"""Fewest segments an algorithm with a k may be asked for: one segment is everyone."""


def _k(default: int = 6) -> ParamSpec:
    return ParamSpec("k", "Segments (k)", "int", default, MIN_K, 200, help="Number of segments.")


_INFOS = (
    AlgorithmInfo(
        "kmeans",
        "K-Means",
        "Splits users into k groups around centers; fast, linear in users, favors round groups "
        "of similar spread.",
        (
            _k(),
            ParamSpec(
                "n_init",
                "Restarts",
                "int",
                None,
                1,
                50,
                allow_none=True,
                help="Best of this many starts; auto: 10 up to 50k users, 3 up to 300k, else 1.",
            ),
            ParamSpec("max_iter", "Max iterations", "int", 300, 10, 10_000),
        ),
        quadratic=False,
        kind="centroid",
    ),
    AlgorithmInfo(
        "minibatch_kmeans",
        "MiniBatch K-Means",
        "K-Means on small random batches: faster on millions of users, slightly less exact.",
        (
            _k(),
            ParamSpec("batch_size", "Batch size", "int", 4096, 256, 1_000_000),
            ParamSpec("n_init", "Restarts", "int", 3, 1, 50),
            ParamSpec("max_iter", "Max passes", "int", 100, 1, 10_000),
        ),
        quadratic=False,
        kind="centroid",
    ),
    AlgorithmInfo(
        "agglomerative",
        "Hierarchical (agglomerative)",
        "Merges users bottom-up into a tree (dendrogram) and cuts it at k groups; ward makes "
        "compact groups, average follows elongated ones. Quadratic: fitted on a sample.",
        (
            _k(),
            ParamSpec(
                "linkage",
                "Linkage",
                "choice",
                "ward",
                choices=("ward", "average"),
                help="ward: minimise within-group variance; average: mean pairwise distance.",
            ),
        ),
        quadratic=True,
        kind="hierarchical",
        default_sample_size=HIERARCHY_SAMPLE_SIZE,
        timing=(
            "ward fits 10,000 users x 30 in ~2.9 s and average ~2.2 s on 2 cores; "
            "ward takes ~14 s on 20,000"
        ),
    ),
    AlgorithmInfo(
        "dbscan",
        "DBSCAN",
        "Groups users in dense regions and leaves the rest as noise (its own segment); finds "
        "any shape, no k. Quadratic: fitted on a sample.",
        (
            ParamSpec(
                "eps",
                "Radius (eps)",
                "float",
                None,
                0.0,
                None,
                allow_none=True,
                help="Neighborhood radius in scaled units; empty = knee of the k-distance curve.",
            ),
            ParamSpec(
                "min_samples",
                "Min samples",
                "int",
                10,
                2,
                10_000,
                help="Users (itself included) within eps for a user to be a core point.",
            ),
        ),
        quadratic=True,
        kind="density",
        default_sample_size=DENSITY_SAMPLE_SIZE,
        timing=(
            "DBSCAN fits 5,000 users x 30 in <0.1 s on 2 cores; extending the labels "
            "costs ~0.6 s per 100,000 users"
        ),
        uses_k=False,
    ),
    AlgorithmInfo(
        "hdbscan",
        "HDBSCAN",
        "Density clustering across scales: finds groups of varying density and leaves the rest "
        "as noise (its own segment); no k, no radius. Quadratic: fitted on a sample.",
        (
            ParamSpec("min_cluster_size", "Min segment size", "int", 50, 2, 1_000_000),
            ParamSpec(
                "min_samples",
                "Min samples",
                "int",
                10,
                1,
                10_000,
                help="Neighbors for the core distance; larger = more conservative, more noise.",
            ),
            ParamSpec(
                "allow_single_cluster",
                "Allow one segment",
                "bool",
                False,
                help="Let the result be a single segment plus noise.",
            ),
        ),
        quadratic=True,
        kind="density",
        default_sample_size=DENSITY_SAMPLE_SIZE,
        timing=(
            "HDBSCAN fits 5,000 users x 30 in ~0.6 s on 2 cores (2.4 s on 10,000, 9.5 s "
            "on 20,000); extending the labels costs ~0.6 s per 100,000 users"
        ),
        uses_k=False,
    ),
    AlgorithmInfo(
        "gmm",
        "Gaussian mixture",
        "Fits k overlapping Gaussian groups, each with its own shape; gives a BIC to compare k.",
        (
            _k(),
            ParamSpec(
                "covariance_type",
                "Covariance",
                "choice",
                "diag",
                choices=("full", "tied", "diag", "spherical"),
                help="Group shapes: full is most flexible and slowest on many features.",
            ),
            ParamSpec("max_iter", "Max iterations", "int", 100, 1, 10_000),
            ParamSpec("n_init", "Restarts", "int", 1, 1, 50),
        ),
        quadratic=False,
        kind="mixture",
    ),
    AlgorithmInfo(
        "birch",
        "BIRCH",
        "Summarises users into a tree of small subclusters, then groups those into k; its final "
        "step is quadratic in subclusters, so it is fitted on a sample.",
        (
            _k(),
            ParamSpec(
                "threshold",
                "Subcluster radius",
                "float",
                0.5,
                0.0,
                None,
                help="Larger = fewer, coarser subclusters.",
            ),
            ParamSpec("branching_factor", "Branching factor", "int", 50, 2, 10_000),
        ),
        quadratic=True,
        kind="centroid",
        default_sample_size=HIERARCHY_SAMPLE_SIZE,
        timing=(
            "BIRCH fits 10,000 users x 30 in ~2.2 s on 2 cores; unsampled on 100,000 its "
            "final ward step asked for 37 GB"
        ),
    ),
)

ALGORITHMS: Mapping[str, AlgorithmInfo] = MappingProxyType({a.name: a for a in _INFOS})
"""Algorithm name -> :class:`AlgorithmInfo`, in the order the app lists them (read-only)."""


@dataclass
class ClusterResult:
    """A fitted clustering with canonical segment ids."""

    labels: np.ndarray
    """int64 segment id per row of X: 0 is the largest segment, noise (if any) is the last id."""
    n_segments: int
    noise_id: int | None
    """Id of the noise segment (always the last), or None when no user is noise. Density
    results keep ``state["noise_id"]`` (= n_segments when no user was noise) for new users."""
    centers: np.ndarray
    """n_segments x n_features: mean of X per segment (noise too)."""
    sizes: np.ndarray
    algorithm: str
    params: dict[str, Any]
    """Parameters used, with defaults filled (and DBSCAN's eps resolved)."""
    seed: int
    sampled: bool = False
    sample_size: int | None = None
    """Users the model was fitted on (all of them when not sampled)."""
    sample_indices: np.ndarray | None = None
    """Rows of X in the fitted sample (sorted), when sampled."""
    extension: str | None = None
    """How users outside the sample were labelled: "nearest_center" or "nearest_sampled_user"."""
    note: str = ""
    tree: dict[str, Any] | None = None
    """Agglomerative merge tree (scikit-learn/scipy convention) over the fitted sample."""
    state: dict[str, Any] = field(default_factory=dict)
    """JSON-safe: what :func:`assign_new` needs to label new users."""
    inertia: float | None = None
    """Sum of squared distances to the assigned center (centroid algorithms)."""
    bic: float | None = None
    """Bayesian information criterion on the fitted data (Gaussian mixture)."""
    messages: list[str] = field(default_factory=list)

    def to_dict(self, include_labels: bool = False) -> dict[str, Any]:
        """JSON-safe summary (labels only when asked: they are one number per user)."""
        out: dict[str, Any] = {
            "algorithm": self.algorithm,
            "params": dict(self.params),
            "seed": self.seed,
            "n_segments": self.n_segments,
            "noise_id": self.noise_id,
            "sizes": [int(s) for s in self.sizes],
            "centers": self.centers.tolist(),
            "sampled": self.sampled,
            "sample_size": self.sample_size,
            "extension": self.extension,
            "note": self.note,
            "inertia": self.inertia,
            "bic": self.bic,
            "messages": list(self.messages),
            "state": self.state,
        }
        if include_labels:
            out["labels"] = self.labels.tolist()
        return out


@dataclass(frozen=True)
class EpsSuggestion:
    """DBSCAN radius read off the k-distance curve, and why."""

    eps: float
    reason: str
    k_distances: np.ndarray
    """Sorted distance from each measured user to its min_samples-th nearest user (itself first)."""
    knee_index: int


# --------------------------------------------------------------------------- parameters


def auto_restarts(n_users: int) -> int:
    """K-Means restarts when the person leaves it to segtui.

    One k-means++ start often joins two real groups on a few thousand users (the bundled sample's
    ARI drops from 0.88 to 0.64); ten starts cost little there. On a million users one start
    keeps the fit to seconds, and there the single start is far steadier anyway.
    """
    if n_users <= 50_000:
        return 10
    return 3 if n_users <= 300_000 else 1


def algorithm_info(algorithm: str) -> AlgorithmInfo:
    try:
        return ALGORITHMS[algorithm]
    except KeyError:
        raise InputError(
            f"unknown algorithm '{algorithm}'",
            hint=f"Use one of: {', '.join(ALGORITHMS)}.",
        ) from None


class _TooFewSegments(ValueError):
    """k below MIN_K: said in words of its own rather than as a range error."""


def _coerce(spec: ParamSpec, value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "auto")):
        if spec.allow_none:
            return None
        raise ValueError("a value is required")
    if spec.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on", "false", "no"):
            return value.lower() in ("true", "yes", "1", "on")
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise ValueError("expected true or false")
    if spec.kind == "choice":
        if str(value) not in spec.choices:
            raise ValueError(f"expected one of {', '.join(spec.choices)}")
        return str(value)
    if isinstance(value, bool):
        raise ValueError(f"expected a{'n integer' if spec.kind == 'int' else ' number'}")
    if spec.kind == "int":
        number = float(value)
        if not number.is_integer():
            raise ValueError("expected a whole number")
        out: float | int = int(number)
    else:
        out = float(value)
        if not math.isfinite(out):
            raise ValueError("expected a finite number")
    if spec.minimum is not None and out < spec.minimum:
        if spec.name == "k":
            raise _TooFewSegments
        raise ValueError(f"must be at least {spec.minimum:g}")
    if spec.maximum is not None and out > spec.maximum:
        raise ValueError(f"must be at most {spec.maximum:g}")
    if spec.kind == "float" and spec.minimum == 0.0 and out == 0.0:
        raise ValueError("must be greater than 0")
    return out


def resolve_params(algorithm: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Fill defaults and validate types and ranges; bad values are an :class:`InputError`."""
    info = algorithm_info(algorithm)
    given = dict(params or {})
    specs = {p.name: p for p in info.parameters}
    unknown = sorted(set(given) - set(specs))
    if unknown:
        raise InputError(
            f"{info.label} has no parameter{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(u) for u in unknown)}",
            hint=f"Its parameters are: {', '.join(specs)}.",
        )
    out = info.defaults()
    for name, value in given.items():
        try:
            out[name] = _coerce(specs[name], value)
        except _TooFewSegments:
            raise InputError(
                f"k must be at least {MIN_K}: one segment is everyone",
                hint="Pick k of 2 or more (segtui sweep suggests one).",
            ) from None
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"{info.label} parameter '{name}' = {value!r}: {exc}",
                hint=specs[name].help or None,
            ) from None
    return out


# --------------------------------------------------------------------------- helpers


def _threads(limit: int = 1, user_api: str | None = "blas") -> Any:
    """Limit BLAS (or, with ``user_api=None``, BLAS and OpenMP) threads for one step.

    On the 2-core machine every numpy/scikit-learn call here either has little work per call
    (MiniBatch steps of a few thousand rows, the k-column products that label users) or already
    runs alongside other threads; a second BLAS/OpenMP thread then mostly spins, and when the
    machine is busy it waits for a descheduled peer (measured: MiniBatch 1M x 30 went from
    3.3-11.9 s to 1.5 s, the Gaussian mixture from 65 s to 19 s under a load of 5). Only used
    where the result is the same bit for bit with one thread (per-row or per-center work; the
    tests compare against unlimited fits).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=limit, user_api=user_api)


def _report(progress: Progress | None, stage: str, fraction: float) -> None:
    if progress is not None:
        progress(stage, min(max(fraction, 0.0), 1.0))


def _check_stop(should_stop: ShouldStop | None) -> None:
    if should_stop is not None and should_stop():
        raise Cancelled("stopped on request")


def _as_matrix(X: np.ndarray) -> np.ndarray:
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise InputError(f"the feature matrix must be 2-D (got {X.ndim}-D)")
    if X.shape[1] < 1:
        raise InputError("the feature matrix has no features")
    if not np.isfinite(X).all():
        raise InputError(
            "the feature matrix has missing or infinite values",
            hint="Run it through segtui.clustering.prepare.prepare first.",
        )
    return X


def canonical_labels(raw: np.ndarray, noise: int = -1) -> tuple[np.ndarray, dict[int, int]]:
    """Relabel so ids are ordered by size (largest first; ties: earliest row), noise last.

    Returns the canonical labels and the raw -> canonical mapping.
    """
    raw = np.asarray(raw)
    uniq, first, inverse, counts = np.unique(
        raw, return_index=True, return_inverse=True, return_counts=True
    )
    clusters = [i for i in range(len(uniq)) if uniq[i] != noise]
    clusters.sort(key=lambda i: (-int(counts[i]), int(first[i])))
    lut = np.empty(len(uniq), dtype=np.int64)
    mapping: dict[int, int] = {}
    for rank, i in enumerate(clusters):
        lut[i] = rank
        mapping[int(uniq[i])] = rank
    for i in range(len(uniq)):
        if uniq[i] == noise:
            lut[i] = len(clusters)
            mapping[int(noise)] = len(clusters)
    return lut[inverse.reshape(-1)], mapping


def segment_means(
    X: np.ndarray, labels: np.ndarray, n_segments: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of X per segment and segment sizes, in one linear pass per feature."""
    sizes = np.bincount(labels, minlength=n_segments).astype(np.int64)
    centers = np.empty((n_segments, X.shape[1]), dtype=np.float64)
    for j in range(X.shape[1]):
        sums = np.bincount(labels, weights=X[:, j], minlength=n_segments)
        centers[:, j] = sums / np.maximum(sizes, 1)
    return centers, sizes


def _nearest_center(
    X: np.ndarray,
    centers: np.ndarray,
    should_stop: ShouldStop | None = None,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest center and the squared distance to it, block by block.

    The same function labels the fit and :func:`assign_new`, so assigning the training rows
    reproduces the fitted labels exactly. Centers where ``allowed`` is False are never chosen
    (those that won no user in the fit: masking them changes no training label).
    """
    n = X.shape[0]
    labels = np.empty(n, dtype=np.int64)
    dist = np.empty(n, dtype=np.float64)
    c_sq = np.einsum("ij,ij->i", centers, centers)
    with _threads(1):
        _nearest_center_blocks(X, centers, c_sq, labels, dist, should_stop, allowed)
    return labels, dist


def _nearest_center_blocks(
    X: np.ndarray,
    centers: np.ndarray,
    c_sq: np.ndarray,
    labels: np.ndarray,
    dist: np.ndarray,
    should_stop: ShouldStop | None,
    allowed: np.ndarray | None,
) -> None:
    """Fill ``labels``/``dist`` block by block (a k-column product: one BLAS thread is enough)."""
    n = X.shape[0]
    for start in range(0, n, CHUNK_ROWS):
        _check_stop(should_stop)
        block = X[start : start + CHUNK_ROWS]
        d = block @ centers.T
        d *= -2.0
        d += c_sq
        d += np.einsum("ij,ij->i", block, block)[:, None]
        if allowed is not None:
            d[:, ~allowed] = np.inf
        idx = np.argmin(d, axis=1)
        labels[start : start + len(block)] = idx
        dist[start : start + len(block)] = np.maximum(d[np.arange(len(block)), idx], 0.0)


def _gmm_log_prob(X: np.ndarray, state: Mapping[str, Any]) -> np.ndarray:
    """Weighted log density per component (scikit-learn's formulas), for one block of rows."""
    cov_type = state["covariance_type"]
    means = np.asarray(state["means"], dtype=np.float64)
    prec_chol = np.asarray(state["precisions_cholesky"], dtype=np.float64)
    weights = np.asarray(state["weights"], dtype=np.float64)
    n, d = X.shape
    k = means.shape[0]
    if cov_type == "full":
        log_det = np.sum(np.log(np.diagonal(prec_chol, axis1=1, axis2=2)), axis=1)
        log_prob = np.empty((n, k))
        for c in range(k):
            y = X @ prec_chol[c] - means[c] @ prec_chol[c]
            log_prob[:, c] = np.sum(np.square(y), axis=1)
    elif cov_type == "tied":
        log_det = np.full(k, np.sum(np.log(np.diag(prec_chol))))
        log_prob = np.empty((n, k))
        for c in range(k):
            y = X @ prec_chol - means[c] @ prec_chol
            log_prob[:, c] = np.sum(np.square(y), axis=1)
    elif cov_type == "diag":
        log_det = np.sum(np.log(prec_chol), axis=1)
        precisions = prec_chol**2
        log_prob = (
            np.sum(means**2 * precisions, 1)
            - 2.0 * (X @ (means * precisions).T)
            + (X**2) @ precisions.T
        )
    elif cov_type == "spherical":
        log_det = d * np.log(prec_chol)
        precisions = prec_chol**2
        log_prob = (
            np.sum(means**2, 1) * precisions
            - 2 * (X @ means.T * precisions)
            + np.outer(np.einsum("ij,ij->i", X, X), precisions)
        )
    else:
        raise InputError(f"unknown covariance type '{cov_type}' in the model")
    return -0.5 * (d * np.log(2 * np.pi) + log_prob) + log_det + np.log(weights)


def _gmm_predict(
    X: np.ndarray,
    state: Mapping[str, Any],
    should_stop: ShouldStop | None = None,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """Most likely component per row (raw component index), block by block."""
    out = np.empty(X.shape[0], dtype=np.int64)
    with _threads(1):
        for start in range(0, X.shape[0], CHUNK_ROWS):
            _check_stop(should_stop)
            block = X[start : start + CHUNK_ROWS]
            log_prob = _gmm_log_prob(block, state)
            if allowed is not None:
                log_prob[:, ~allowed] = -np.inf
            out[start : start + len(block)] = np.argmax(log_prob, axis=1)
    return out


def _nearest_point(
    X: np.ndarray, points: np.ndarray, should_stop: ShouldStop | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest reference point per row and the (float64) euclidean distance to it."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(points)
    idx = np.empty(X.shape[0], dtype=np.int64)
    dist = np.empty(X.shape[0], dtype=np.float64)
    step = CHUNK_ROWS * 2
    for start in range(0, X.shape[0], step):
        _check_stop(should_stop)
        block = X[start : start + step]
        _, i = nn.kneighbors(block, return_distance=True)
        i = i[:, 0]
        idx[start : start + len(block)] = i
        dist[start : start + len(block)] = np.sqrt(np.sum(np.square(block - points[i]), axis=1))
    return idx, dist


def _density_assign(
    X: np.ndarray, state: Mapping[str, Any], should_stop: ShouldStop | None = None
) -> np.ndarray:
    """Label of the nearest stored point if within its radius and not noise, else noise."""
    points = np.asarray(state["points"], dtype=np.float64)
    noise = int(state["noise_id"])
    if len(points) == 0:
        return np.full(X.shape[0], noise, dtype=np.int64)
    point_labels = np.asarray(state["point_labels"], dtype=np.int64)
    radius = np.asarray(state["radius"], dtype=np.float64)
    idx, dist = _nearest_point(X, points, should_stop)
    labels = point_labels[idx]
    return np.where(dist <= radius[idx], labels, noise)


# --------------------------------------------------------------------------- eps


def suggest_eps(
    X: np.ndarray, min_samples: int = 10, seed: int = 0, sample_size: int = EPS_SAMPLE_SIZE
) -> EpsSuggestion:
    """Suggest DBSCAN's eps at the knee of the sorted k-distance curve.

    For each of up to ``sample_size`` users (seeded sample), take the distance to its
    ``min_samples``-th nearest user counting itself (the distance at which it would become a
    core point) and sort them. The knee is the point farthest below the straight line from the
    first to the last value, both axes scaled to [0, 1]: left of it density is roughly even,
    right of it distances shoot up (sparse users that should be noise).
    """
    from sklearn.neighbors import NearestNeighbors

    X = _as_matrix(X)
    n = X.shape[0]
    if min_samples < 2:
        raise InputError("min_samples must be at least 2 to suggest eps")
    if n < min_samples + 1:
        raise InputError(
            f"too few users ({n}) to suggest eps with min_samples={min_samples}",
            hint="Lower min_samples or give eps yourself.",
        )
    if n > sample_size:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=sample_size, replace=False))
        S = X[rows]
    else:
        S = X
    dist, _ = NearestNeighbors(n_neighbors=min_samples).fit(S).kneighbors(S)
    kd = np.sort(dist[:, -1])
    m = len(kd)
    span = kd[-1] - kd[0]
    if span <= 0:
        knee = m - 1
    else:
        x = np.arange(m) / (m - 1)
        y = (kd - kd[0]) / span
        knee = int(np.argmax(x - y))
    eps = float(kd[knee])
    if eps <= 0:
        positive = kd[kd > 0]
        eps = float(positive[0]) if len(positive) else 1e-9
    share = float(np.mean(kd <= eps))
    reason = (
        f"knee of the sorted distance to the {min_samples}th nearest user over {m:,} users: "
        f"{share:.0%} of them have {min_samples} users within {eps:.3g} and become core points; "
        f"beyond the knee distances climb fast (sparse users, likely noise)"
    )
    return EpsSuggestion(eps=eps, reason=reason, k_distances=kd, knee_index=knee)


# --------------------------------------------------------------------------- fitting


def _dendrogram(model: Any, leaf_rows: np.ndarray, leaf_labels: np.ndarray) -> dict[str, Any]:
    children = np.asarray(model.children_, dtype=np.int64)
    distances = np.asarray(model.distances_, dtype=np.float64)
    n_leaves = len(leaf_rows)
    counts = np.zeros(len(children), dtype=np.int64)
    for i, (a, b) in enumerate(children):
        counts[i] = (1 if a < n_leaves else counts[a - n_leaves]) + (
            1 if b < n_leaves else counts[b - n_leaves]
        )
    return {
        "children": children.tolist(),
        "distances": distances.tolist(),
        "counts": counts.tolist(),
        "n_leaves": n_leaves,
        "leaf_rows": [int(r) for r in leaf_rows],
        "leaf_labels": [int(v) for v in leaf_labels],
        "linkage": model.linkage,
    }


def fit_clusters(
    X: np.ndarray,
    algorithm: str = "kmeans",
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    sample_size: int | None = None,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> ClusterResult:
    """Cluster the rows of X and return canonical labels plus what assigning new rows needs.

    Parameters
    ----------
    X:
        Prepared matrix (finite float, users x features), rows in user_id order.
    algorithm:
        A key of :data:`ALGORITHMS`.
    params:
        Algorithm parameters (see ``ALGORITHMS[algorithm].parameters``); defaults filled in.
    seed:
        Seeds the algorithm and the sample: same inputs and seed -> same labels and ids.
    sample_size:
        Users a quadratic algorithm is fitted on (default ``AlgorithmInfo.default_sample_size``:
        10,000 for agglomerative/BIRCH, 5,000 for DBSCAN/HDBSCAN). Ignored by linear algorithms.
    progress:
        Called as ``progress(stage, fraction)``.
    should_stop:
        Polled between stages and label blocks; when it returns True, :class:`Cancelled` is raised.

    Extension rules when sampled (the fitted sample keeps its own labels):

    - agglomerative: nearest segment center (mean of its sampled members);
    - BIRCH: nearest BIRCH subcluster, which carries its segment (BIRCH's own predict);
    - DBSCAN: the segment of the nearest sampled *core* user when within eps, else noise
      (DBSCAN's own border-point rule);
    - HDBSCAN: the segment of the nearest sampled user when it is not noise and the distance is
      within that user's core distance (distance to its min_samples-th nearest sampled user,
      itself included), else noise.
    """
    info = algorithm_info(algorithm)
    X = _as_matrix(X)
    resolved = resolve_params(algorithm, params)
    if algorithm == "kmeans" and resolved["n_init"] is None:
        resolved["n_init"] = auto_restarts(len(X))
    n = X.shape[0]
    if n < 2:
        raise InputError(f"need at least 2 users to cluster (got {n})")
    if info.uses_k and resolved["k"] > n:
        raise InputError(
            f"k = {resolved['k']} is larger than the number of users ({n:,})",
            hint=f"Pick k of at most {n:,}.",
        )
    messages: list[str] = []

    # ---- sample
    rows: np.ndarray | None = None
    limit = sample_size if sample_size is not None else info.default_sample_size
    if sample_size is not None and sample_size < 2:
        raise InputError(f"sample_size must be at least 2 (got {sample_size})")
    if info.quadratic and limit is not None and n > limit:
        _report(progress, "sampling", 0.0)
        rows = np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))
        if info.uses_k and resolved["k"] > limit:
            raise InputError(
                f"k = {resolved['k']} is larger than the fitted sample ({limit:,} users)",
                hint="Raise the sample size or lower k.",
            )
    Xs = X if rows is None else X[rows]
    _check_stop(should_stop)
    _report(progress, "fitting", 0.05)

    tree: dict[str, Any] | None = None
    inertia: float | None = None
    bic: float | None = None
    extension: str | None = None
    state: dict[str, Any]
    kind = info.kind

    if algorithm in ("kmeans", "minibatch_kmeans", "birch"):
        centers, ref_labels = _fit_centroids(algorithm, Xs, resolved, seed)
        _report(progress, "labelling", 0.6)
        nearest, sq = _nearest_center(X, centers, should_stop)
        raw = ref_labels[nearest]
        labels, mapping = canonical_labels(raw)
        state = {
            "rule": "nearest_center",
            "centers": centers.tolist(),
            "center_labels": [mapping.get(int(r), -1) for r in ref_labels],
        }
        inertia = float(sq.sum()) if algorithm != "birch" else None
        if rows is not None:
            extension = "nearest_center"
    elif algorithm == "agglomerative":
        from sklearn.cluster import AgglomerativeClustering

        model = AgglomerativeClustering(
            n_clusters=resolved["k"],
            linkage=resolved["linkage"],
            compute_full_tree=True,
            compute_distances=True,
        ).fit(Xs)
        _check_stop(should_stop)
        _report(progress, "labelling", 0.6)
        sample_raw = model.labels_.astype(np.int64)
        if rows is None:
            raw = sample_raw
        else:
            k = int(sample_raw.max()) + 1
            sample_centers, _ = segment_means(Xs, sample_raw, k)
            nearest, _ = _nearest_center(X, sample_centers, should_stop)
            raw = nearest
            raw[rows] = sample_raw
            extension = "nearest_center"
        labels, mapping = canonical_labels(raw)
        sample_labels = labels if rows is None else labels[rows]
        k_seg = len(mapping)
        sample_centers, _ = segment_means(Xs, sample_labels, k_seg)
        state = {
            "rule": "nearest_center",
            "centers": sample_centers.tolist(),
            "center_labels": list(range(k_seg)),
        }
        leaf_rows = np.arange(n) if rows is None else rows
        tree = _dendrogram(model, leaf_rows, sample_labels)
    elif algorithm == "gmm":
        from sklearn.mixture import GaussianMixture

        # EM is numpy on (users x k) blocks: one BLAS thread (its K-Means start keeps OpenMP)
        with _threads(1):
            model = GaussianMixture(
                n_components=resolved["k"],
                covariance_type=resolved["covariance_type"],
                max_iter=resolved["max_iter"],
                n_init=resolved["n_init"],
                random_state=seed,
            ).fit(Xs)
            bic = float(model.bic(Xs))
        if not model.converged_:
            messages.append(
                f"the Gaussian mixture did not converge in {resolved['max_iter']} iterations; "
                "raise max_iter for a steadier result"
            )
        _report(progress, "labelling", 0.6)
        state = {
            "rule": "gmm",
            "covariance_type": resolved["covariance_type"],
            "weights": model.weights_.tolist(),
            "means": model.means_.tolist(),
            "covariances": model.covariances_.tolist(),
            "precisions_cholesky": model.precisions_cholesky_.tolist(),
        }
        raw = _gmm_predict(X, state, should_stop)
        labels, mapping = canonical_labels(raw)
        state["component_labels"] = [mapping.get(c, -1) for c in range(resolved["k"])]
    elif algorithm in ("dbscan", "hdbscan"):
        raw_s, state_parts, extra = _fit_density(algorithm, Xs, resolved, seed, messages)
        resolved.update(extra)
        _report(progress, "labelling", 0.6)
        if rows is None:
            raw = raw_s
        else:
            tmp_state = {
                "noise_id": -1,
                "points": state_parts["points"],
                "point_labels": state_parts["point_labels"],
                "radius": state_parts["radius"],
            }
            raw = _density_assign(X, tmp_state, should_stop)
            raw[rows] = raw_s
            extension = "nearest_sampled_user"
        labels, mapping = canonical_labels(raw, noise=-1)
        n_clusters = len([r for r in mapping if r != -1])
        noise_label = n_clusters  # noise id is last, even when no user ended up as noise
        point_labels = [
            mapping.get(int(v), noise_label) if int(v) != -1 else noise_label
            for v in state_parts["point_labels"]
        ]
        state = {
            "rule": "density",
            "noise_id": noise_label,
            "points": state_parts["points"].tolist(),
            "point_labels": point_labels,
            "radius": state_parts["radius"].tolist(),
            "radius_rule": state_parts["radius_rule"],
        }
    else:  # pragma: no cover - ALGORITHMS and this dispatch are kept in step
        raise InputError(f"unknown algorithm '{algorithm}'")

    _check_stop(should_stop)
    _report(progress, "summarising", 0.9)
    noise_id: int | None = mapping.get(-1) if kind == "density" else None
    n_segments = len(mapping)
    if kind == "density" and noise_id is None:
        # no user is noise, but new users may be: the id after the last segment stays reserved
        state["noise_id"] = n_segments
    centers_all, sizes = segment_means(X, labels, n_segments)
    n_real = n_segments - (noise_id is not None)
    if info.uses_k and n_real < resolved["k"]:
        messages.append(
            f"found {n_real} segment{'s' if n_real != 1 else ''} where k = {resolved['k']} was "
            "asked: the users are too alike to split further"
            + (" (or lower BIRCH's threshold for more subclusters)" if algorithm == "birch" else "")
        )
    if noise_id is not None and n_real == 0:
        messages.append(
            "every user is noise: lower min_cluster_size/min_samples (or raise eps), or use "
            "another algorithm"
        )
    note = _note(info, n, rows, extension)
    state["algorithm"] = algorithm
    state["n_segments"] = n_segments
    _report(progress, "done", 1.0)
    return ClusterResult(
        labels=labels,
        n_segments=n_segments,
        noise_id=noise_id,
        centers=centers_all,
        sizes=sizes,
        algorithm=algorithm,
        params=resolved,
        seed=seed,
        sampled=rows is not None,
        sample_size=n if rows is None else len(rows),
        sample_indices=rows,
        extension=extension,
        note=note,
        tree=tree,
        state=state,
        inertia=inertia,
        bic=bic,
        messages=messages,
    )


def _fit_centroids(
    algorithm: str, Xs: np.ndarray, p: Mapping[str, Any], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Reference points and the raw segment each stands for."""
    if algorithm == "kmeans":
        from sklearn.cluster import KMeans

        model = KMeans(
            n_clusters=p["k"], n_init=p["n_init"], max_iter=p["max_iter"], random_state=seed
        ).fit(Xs)
        centers = model.cluster_centers_
        return centers, np.arange(len(centers), dtype=np.int64)
    if algorithm == "minibatch_kmeans":
        from sklearn.cluster import MiniBatchKMeans

        # Thousands of small steps: one thread each for OpenMP and BLAS (same centers: the
        # per-batch work is per row and per center). Labels come from _nearest_center, so
        # scikit-learn's own pass labelling every user afterwards is skipped.
        with _threads(1, None):
            model = MiniBatchKMeans(
                n_clusters=p["k"],
                batch_size=p["batch_size"],
                n_init=p["n_init"],
                max_iter=p["max_iter"],
                random_state=seed,
                compute_labels=False,
            ).fit(Xs)
        centers = model.cluster_centers_
        return centers, np.arange(len(centers), dtype=np.int64)
    from sklearn.cluster import Birch

    model = Birch(
        n_clusters=p["k"], threshold=p["threshold"], branching_factor=p["branching_factor"]
    ).fit(Xs)
    return np.asarray(model.subcluster_centers_), np.asarray(model.subcluster_labels_, np.int64)


def _fit_density(
    algorithm: str, Xs: np.ndarray, p: Mapping[str, Any], seed: int, messages: list[str]
) -> tuple[np.ndarray, dict[str, Any], dict[str, Any]]:
    """Raw labels (-1 noise) on the fitted rows, points kept for extension, resolved params."""
    from sklearn.neighbors import NearestNeighbors

    extra: dict[str, Any] = {}
    if algorithm == "dbscan":
        from sklearn.cluster import DBSCAN

        eps = p["eps"]
        if eps is None:
            suggestion = suggest_eps(Xs, p["min_samples"], seed, sample_size=len(Xs))
            eps = suggestion.eps
            extra["eps"] = eps
            messages.append(f"eps = {eps:.4g}: {suggestion.reason}")
        model = DBSCAN(eps=eps, min_samples=p["min_samples"]).fit(Xs)
        raw = model.labels_.astype(np.int64)
        core = np.asarray(model.core_sample_indices_, dtype=np.int64)
        parts = {
            "points": Xs[core],
            "point_labels": raw[core],
            "radius": np.full(len(core), float(eps)),
            "radius_rule": "eps: a new user takes the segment of the nearest core user within "
            "eps, else it is noise",
        }
        return raw, parts, extra
    from sklearn.cluster import HDBSCAN

    min_samples = min(p["min_samples"], len(Xs))
    model = HDBSCAN(
        min_cluster_size=p["min_cluster_size"],
        min_samples=min_samples,
        allow_single_cluster=p["allow_single_cluster"],
        copy=True,
    ).fit(Xs)
    raw = model.labels_.astype(np.int64)
    raw[raw < -1] = -1  # infinite/missing-value sentinels (cannot occur after prepare)
    core_dist, _ = NearestNeighbors(n_neighbors=min_samples).fit(Xs).kneighbors(Xs)
    parts = {
        "points": Xs,
        "point_labels": raw,
        "radius": core_dist[:, -1].copy(),
        "radius_rule": "core distance: a new user takes the segment of the nearest sampled user "
        "when that user is not noise and is within its core distance (distance to its "
        f"{min_samples}th nearest sampled user, itself included), else it is noise",
    }
    return raw, parts, extra


def _note(info: AlgorithmInfo, n: int, rows: np.ndarray | None, extension: str | None) -> str:
    if rows is None:
        return f"{info.label} fitted on all {n:,} users."
    how = {
        "nearest_center": "the segment of their nearest center",
        "nearest_sampled_user": "the segment of their nearest sampled user, or noise when too "
        "far from it (see state['radius_rule'])",
    }[extension or "nearest_center"]
    if info.name == "birch":
        how = "the segment of their nearest BIRCH subcluster"
    text = (
        f"{info.label} is quadratic in users, so it was fitted on a seeded sample of "
        f"{len(rows):,} of {n:,} users; the other {n - len(rows):,} got {how}."
    )
    return f"{text} Measured: {info.timing}." if info.timing else text


# --------------------------------------------------------------------------- assigning


def assign_new(
    state: Mapping[str, Any], X: np.ndarray, should_stop: ShouldStop | None = None
) -> np.ndarray:
    """Label new rows (prepared with the same parameters) with a fitted result's ``state``.

    Centroid algorithms: the nearest stored center. Gaussian mixture: the most likely component
    under the stored weights, means and precisions (the mixture's own predict; reproduces the
    fitted labels exactly on the training X). DBSCAN/HDBSCAN: see ``state['radius_rule']``.
    """
    X = _as_matrix(X)
    try:
        rule = state["rule"]
        if rule == "nearest_center":
            centers = np.asarray(state["centers"], dtype=np.float64)
            center_labels = np.asarray(state["center_labels"], dtype=np.int64)
            _check_width(centers.shape[1], X)
            idx, _ = _nearest_center(X, centers, should_stop, allowed=center_labels >= 0)
            return center_labels[idx]
        if rule == "gmm":
            _check_width(np.asarray(state["means"]).shape[1], X)
            component_labels = np.asarray(state["component_labels"], dtype=np.int64)
            comp = _gmm_predict(X, state, should_stop, allowed=component_labels >= 0)
            return component_labels[comp]
        if rule == "density":
            points = np.asarray(state["points"], dtype=np.float64)
            if len(points):
                _check_width(points.shape[1], X)
            return _density_assign(X, state, should_stop)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise InputError(
            f"the clustering state is not valid ({type(exc).__name__}: {exc})",
            hint="The model file may be corrupt or hand-edited; export the model again.",
        ) from None
    raise InputError(
        f"unknown assignment rule {state.get('rule')!r} in the clustering state",
        hint="The model may have been written by a newer segtui.",
    )


def _check_width(expected: int, X: np.ndarray) -> None:
    if X.shape[1] != expected:
        raise InputError(
            f"the model expects {expected} features but the matrix has {X.shape[1]}",
            hint="Prepare new users with the model's own preparation parameters.",
        )
