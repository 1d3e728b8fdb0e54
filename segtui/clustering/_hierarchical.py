"""The hierarchical family: agglomerative clustering (ward or average) and its merge tree.

Fitted on a seeded sample (it is quadratic); users outside it take the segment of the nearest
segment center (mean of its sampled members), and so do new users (a :class:`CentroidState`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from segtui.clustering._centroid import CentroidState
from segtui.clustering._fitter import FitJob, Fitted
from segtui.clustering.kernels import canonical_labels, nearest_center, segment_means


def _dendrogram(model: Any, leaf_rows: np.ndarray, leaf_labels: np.ndarray) -> dict[str, Any]:
    """The merge tree over the fitted rows (scikit-learn/scipy convention), JSON-safe."""
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


class AgglomerativeFitter:
    """Cut the merge tree at k; extend to unsampled users by nearest segment center."""

    def fit(self, job: FitJob) -> Fitted:
        from sklearn.cluster import AgglomerativeClustering

        model = AgglomerativeClustering(
            n_clusters=job.params["k"],
            linkage=job.params["linkage"],
            compute_full_tree=True,
            compute_distances=True,
        ).fit(job.sample)
        job.check_stop()
        job.labelling()
        sample_raw = model.labels_.astype(np.int64)
        raw = sample_raw if job.rows is None else _extend(job, sample_raw)
        labels, mapping = canonical_labels(raw)
        sample_labels = labels if job.rows is None else labels[job.rows]
        k_seg = len(mapping)
        sample_centers, _ = segment_means(job.sample, sample_labels, k_seg)
        state = CentroidState(
            sample_centers, np.arange(k_seg, dtype=np.int64), job.algorithm, k_seg
        )
        leaf_rows = np.arange(len(job.X)) if job.rows is None else job.rows
        return Fitted(
            labels=labels,
            n_segments=k_seg,
            state=state,
            extension="nearest_center" if job.sampled else None,
            tree=_dendrogram(model, leaf_rows, sample_labels),
        )


def _extend(job: FitJob, sample_raw: np.ndarray) -> np.ndarray:
    """Raw labels for every row: the sample keeps its own, the rest the nearest sample center."""
    k = int(sample_raw.max()) + 1
    sample_centers, _ = segment_means(job.sample, sample_raw, k)
    raw, _ = nearest_center(job.X, sample_centers, job.should_stop)
    raw[job.rows] = sample_raw
    return raw


AGGLOMERATIVE = AgglomerativeFitter()
