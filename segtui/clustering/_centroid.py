"""The centroid family: K-Means, MiniBatch K-Means and BIRCH, and the nearest-center state.

Each fit yields reference points (K-Means' centers, BIRCH's subclusters) and the raw segment each
stands for; every user then takes the segment of its nearest reference point, which is also how
new users are labelled (BIRCH's own predict). The agglomerative family keeps the same state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from segtui.clustering._fitter import (
    NEAREST_CENTER,
    ComparedAsDict,
    FitJob,
    Fitted,
    with_identity,
)
from segtui.clustering.control import ShouldStop
from segtui.clustering.kernels import canonical_labels, nearest_center, threads
from segtui.fields import Fields


@dataclass(frozen=True, eq=False)
class CentroidState(ComparedAsDict):
    """New users take the segment of the nearest stored center (``center_labels``, -1: none)."""

    rule: ClassVar[str] = "nearest_center"
    centers: np.ndarray
    """float64, centers x features."""
    center_labels: np.ndarray
    """int64 canonical segment per center; -1 for a center that won no user (never chosen)."""
    algorithm: str | None = None
    n_segments: int | None = None

    @property
    def n_features(self) -> int | None:
        return int(self.centers.shape[1])

    def assign(self, X: np.ndarray, should_stop: ShouldStop | None = None) -> np.ndarray:
        idx, _ = nearest_center(X, self.centers, should_stop, allowed=self.center_labels >= 0)
        return self.center_labels[idx]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "centers": self.centers.tolist(),
            "center_labels": self.center_labels.tolist(),
        }
        return with_identity(out, self.algorithm, self.n_segments)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], file: str | Path | None = None, n_features: int | None = None
    ) -> CentroidState:
        fields = Fields(data, file)
        centers = fields.matrix("centers", n_features)
        return cls(
            centers=centers,
            center_labels=fields.labels("center_labels", len(centers)),
            **fields.identity(),
        )


@dataclass(frozen=True, eq=False)
class _References:
    """Reference points of a centroid fit and the raw segment each stands for."""

    centers: np.ndarray
    labels: np.ndarray
    chosen: dict[str, Any] = field(default_factory=dict)
    """Parameter values the fit chose for the person (K-Means' restarts)."""


def auto_restarts(n_users: int) -> int:
    """K-Means restarts when the person leaves it to segtui.

    One k-means++ start often joins two real groups on a few thousand users (the bundled sample's
    ARI drops from 0.88 to 0.64); ten starts cost little there. On a million users one start
    keeps the fit to seconds, and there the single start is far steadier anyway.
    """
    if n_users <= 50_000:
        return 10
    return 3 if n_users <= 300_000 else 1


def _kmeans(
    Xs: np.ndarray, p: Mapping[str, Any], seed: int, init: np.ndarray | None
) -> _References:
    from sklearn.cluster import KMeans

    if init is not None:  # a continued fit: one start, from the given centres
        model = KMeans(n_clusters=len(init), init=init, n_init=1, max_iter=p["max_iter"])
        centers = model.fit(Xs).cluster_centers_
        return _References(centers, np.arange(len(centers), dtype=np.int64))
    n_init = p["n_init"] if p["n_init"] is not None else auto_restarts(len(Xs))
    model = KMeans(n_clusters=p["k"], n_init=n_init, max_iter=p["max_iter"], random_state=seed).fit(
        Xs
    )
    centers = model.cluster_centers_
    return _References(centers, np.arange(len(centers), dtype=np.int64), {"n_init": n_init})


def _minibatch_kmeans(
    Xs: np.ndarray, p: Mapping[str, Any], seed: int, init: np.ndarray | None
) -> _References:
    from sklearn.cluster import MiniBatchKMeans

    # Thousands of small steps: one thread each for OpenMP and BLAS (same centers: the
    # per-batch work is per row and per center). Labels come from nearest_center, so
    # scikit-learn's own pass labelling every user afterwards is skipped.
    with threads(1, None):
        model = MiniBatchKMeans(
            n_clusters=p["k"] if init is None else len(init),
            init="k-means++" if init is None else init,
            batch_size=p["batch_size"],
            n_init=p["n_init"] if init is None else 1,
            max_iter=p["max_iter"],
            random_state=seed,
            compute_labels=False,
        ).fit(Xs)
    centers = model.cluster_centers_
    return _References(centers, np.arange(len(centers), dtype=np.int64))


def _birch(Xs: np.ndarray, p: Mapping[str, Any], seed: int, init: np.ndarray | None) -> _References:
    from sklearn.cluster import Birch

    model = Birch(
        n_clusters=p["k"], threshold=p["threshold"], branching_factor=p["branching_factor"]
    ).fit(Xs)
    return _References(
        np.asarray(model.subcluster_centers_), np.asarray(model.subcluster_labels_, np.int64)
    )


@dataclass(frozen=True)
class CentroidFitter:
    """Fit reference points on the sample, then give every user its nearest one's segment."""

    references: Callable[[np.ndarray, Mapping[str, Any], int, np.ndarray | None], _References]
    """(sample, parameters, seed, centres to start from or None) -> reference points."""
    has_inertia: bool = True
    """The sum of squared distances to the centers is what the algorithm minimises."""
    extended_how: str = NEAREST_CENTER
    fewer_hint: str = ""

    def fit(self, job: FitJob) -> Fitted:
        found = self.references(job.sample, job.params, job.seed, job.init)
        job.labelling()
        nearest, sq = nearest_center(job.X, found.centers, job.should_stop)
        labels, mapping = canonical_labels(found.labels[nearest])
        center_labels = [mapping.get(int(r), -1) for r in found.labels]
        state = CentroidState(
            np.ascontiguousarray(found.centers, dtype=np.float64),
            np.asarray(center_labels, dtype=np.int64),
            job.algorithm,
            len(mapping),
        )
        return Fitted(
            labels=labels,
            n_segments=len(mapping),
            state=state,
            extension="nearest_center" if job.sampled else None,
            extended_how=self.extended_how,
            params=found.chosen,
            inertia=float(sq.sum()) if self.has_inertia else None,
            fewer_hint=self.fewer_hint,
        )


KMEANS = CentroidFitter(_kmeans)
MINIBATCH_KMEANS = CentroidFitter(_minibatch_kmeans)
BIRCH = CentroidFitter(
    _birch,
    has_inertia=False,
    extended_how="the segment of their nearest BIRCH subcluster",
    fewer_hint=" (or lower BIRCH's threshold for more subclusters)",
)
