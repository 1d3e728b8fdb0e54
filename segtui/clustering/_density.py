"""The density family: DBSCAN and HDBSCAN, DBSCAN's eps from the k-distance curve, and the
extension of their labels to users outside the fitted sample.

Both keep reference users with a radius: a user outside the sample (or a new one) takes the
segment of the nearest reference user when it is within that user's radius and not noise, else
it is noise. DBSCAN keeps its core users with radius eps (its own border-point rule); HDBSCAN
keeps every sampled user with its core distance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from segtui.clustering._fitter import ComparedAsDict, FitJob, Fitted, with_identity
from segtui.clustering.control import ShouldStop, check_stop
from segtui.clustering.kernels import CHUNK_ROWS, as_matrix, canonical_labels
from segtui.errors import InputError
from segtui.fields import Fields
from segtui.formatting import number, percent

EPS_SAMPLE_SIZE = 5_000
"""Users the k-distance curve is measured on when suggesting DBSCAN's eps."""

NEAREST_SAMPLED_USER = (
    "the segment of their nearest sampled user, or noise when too far from it "
    "(see state['radius_rule'])"
)


@dataclass(frozen=True, eq=False)
class DensityState(ComparedAsDict):
    """Reference users, their segments and radii, and the id new noise gets."""

    rule: ClassVar[str] = "density"
    noise_id: int
    """Always the last id, reserved even when no fitted user was noise."""
    points: np.ndarray
    point_labels: np.ndarray
    radius: np.ndarray
    radius_rule: str = ""
    """The rule in words, for people reading the model."""
    algorithm: str | None = None
    n_segments: int | None = None

    @property
    def n_features(self) -> int | None:
        return int(self.points.shape[1]) if len(self.points) else None

    def assign(self, X: np.ndarray, should_stop: ShouldStop | None = None) -> np.ndarray:
        return label_within_radius(
            X, self.points, self.point_labels, self.radius, self.noise_id, should_stop
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "noise_id": self.noise_id,
            "points": self.points.tolist(),
            "point_labels": self.point_labels.tolist(),
            "radius": self.radius.tolist(),
            "radius_rule": self.radius_rule,
        }
        return with_identity(out, self.algorithm, self.n_segments)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], file: str | Path | None = None, n_features: int | None = None
    ) -> DensityState:
        fields = Fields(data, file)
        points = fields.matrix("points", n_features)
        point_labels = fields.labels("point_labels", len(points))
        radius = fields.numbers("radius", len(points))
        return cls(
            noise_id=fields.get("noise_id", int),
            points=points,
            point_labels=point_labels,
            radius=radius.reshape(len(points)),
            radius_rule=fields.optional("radius_rule", str, ""),
            **fields.identity(),
        )


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
        check_stop(should_stop)
        block = X[start : start + step]
        _, i = nn.kneighbors(block, return_distance=True)
        i = i[:, 0]
        idx[start : start + len(block)] = i
        dist[start : start + len(block)] = np.sqrt(np.sum(np.square(block - points[i]), axis=1))
    return idx, dist


def label_within_radius(
    X: np.ndarray,
    points: np.ndarray,
    point_labels: np.ndarray,
    radius: np.ndarray,
    noise: int,
    should_stop: ShouldStop | None = None,
) -> np.ndarray:
    """Label of the nearest reference point if within its radius and not noise, else noise."""
    if len(points) == 0:
        return np.full(X.shape[0], noise, dtype=np.int64)
    idx, dist = _nearest_point(X, points, should_stop)
    return np.where(dist <= radius[idx], point_labels[idx], noise)


@dataclass(frozen=True)
class EpsSuggestion:
    """DBSCAN radius read off the k-distance curve, and why."""

    eps: float
    reason: str
    k_distances: np.ndarray
    """Sorted distance from each measured user to its min_samples-th nearest user (itself first)."""
    knee_index: int


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

    X = as_matrix(X)
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
    knee = _knee(kd)
    eps = float(kd[knee])
    if eps <= 0:
        positive = kd[kd > 0]
        eps = float(positive[0]) if len(positive) else 1e-9
    share = float(np.mean(kd <= eps))
    reason = (
        f"knee of the sorted distance to the {min_samples}th nearest user over {len(kd):,} "
        f"users: {percent(share, 0)} of them have {min_samples} users within {number(eps)} and "
        f"become core points; beyond the knee distances climb fast (sparse users, likely noise)"
    )
    return EpsSuggestion(eps=eps, reason=reason, k_distances=kd, knee_index=knee)


def _knee(curve: np.ndarray) -> int:
    """Index farthest below the chord of a sorted curve (both axes scaled to 0..1)."""
    m = len(curve)
    span = curve[-1] - curve[0]
    if span <= 0:
        return m - 1
    x = np.arange(m) / (m - 1)
    y = (curve - curve[0]) / span
    return int(np.argmax(x - y))


@dataclass(frozen=True, eq=False)
class _Core:
    """A density fit on the sample: raw labels (-1 noise) and the reference users kept."""

    raw: np.ndarray
    points: np.ndarray
    point_labels: np.ndarray
    radius: np.ndarray
    radius_rule: str
    chosen: dict[str, Any] = field(default_factory=dict)
    messages: tuple[str, ...] = ()


def _dbscan(Xs: np.ndarray, p: Mapping[str, Any], seed: int) -> _Core:
    from sklearn.cluster import DBSCAN

    eps = p["eps"]
    chosen: dict[str, Any] = {}
    messages: tuple[str, ...] = ()
    if eps is None:
        suggestion = suggest_eps(Xs, p["min_samples"], seed, sample_size=len(Xs))
        eps = chosen["eps"] = suggestion.eps
        messages = (f"eps = {eps:.4g}: {suggestion.reason}",)
    model = DBSCAN(eps=eps, min_samples=p["min_samples"]).fit(Xs)
    raw = model.labels_.astype(np.int64)
    core = np.asarray(model.core_sample_indices_, dtype=np.int64)
    rule = "eps: a new user takes the segment of the nearest core user within eps, else it is noise"
    return _Core(raw, Xs[core], raw[core], np.full(len(core), float(eps)), rule, chosen, messages)


def _hdbscan(Xs: np.ndarray, p: Mapping[str, Any], seed: int) -> _Core:
    from sklearn.cluster import HDBSCAN
    from sklearn.neighbors import NearestNeighbors

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
    rule = (
        "core distance: a new user takes the segment of the nearest sampled user when that user "
        "is not noise and is within its core distance (distance to its "
        f"{min_samples}th nearest sampled user, itself included), else it is noise"
    )
    return _Core(raw, Xs, raw, core_dist[:, -1].copy(), rule)


@dataclass(frozen=True)
class DensityFitter:
    """Fit on the sample; extend to everyone by nearest reference user within its radius."""

    core: Callable[[np.ndarray, Mapping[str, Any], int], _Core]

    def fit(self, job: FitJob) -> Fitted:
        found = self.core(job.sample, job.params, job.seed)
        job.labelling()
        if job.rows is None:
            raw = found.raw
        else:
            raw = label_within_radius(
                job.X, found.points, found.point_labels, found.radius, -1, job.should_stop
            )
            raw[job.rows] = found.raw
        labels, mapping = canonical_labels(raw, noise=-1)
        noise_label = len([r for r in mapping if r != -1])  # last, even when no user is noise
        point_labels = [
            mapping.get(int(v), noise_label) if int(v) != -1 else noise_label
            for v in found.point_labels
        ]
        state = DensityState(
            noise_id=noise_label,
            points=np.asarray(found.points, dtype=np.float64),
            point_labels=np.asarray(point_labels, dtype=np.int64),
            radius=np.asarray(found.radius, dtype=np.float64),
            radius_rule=found.radius_rule,
            algorithm=job.algorithm,
            n_segments=len(mapping),
        )
        return Fitted(
            labels=labels,
            n_segments=len(mapping),
            state=state,
            noise_id=mapping.get(-1),
            extension="nearest_sampled_user" if job.sampled else None,
            extended_how=NEAREST_SAMPLED_USER,
            params=found.chosen,
            messages=found.messages,
        )


DBSCAN = DensityFitter(_dbscan)
HDBSCAN = DensityFitter(_hdbscan)
