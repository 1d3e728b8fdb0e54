"""The numeric pieces every algorithm family and the diagnostics share.

Canonical segment ids, per-segment means and the block-wise nearest-center pass. The same
nearest-center pass labels a fit and :func:`segtui.clustering.fit.assign_new`, so assigning the
training rows reproduces the fitted labels exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from segtui.clustering.control import ShouldStop, check_stop
from segtui.errors import InputError

CHUNK_ROWS = 65_536
"""Rows per block when labelling many users: bounds memory to a few tens of MB per block."""


def threads(limit: int = 1, user_api: str | None = "blas") -> Any:
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


def as_matrix(X: np.ndarray) -> np.ndarray:
    """X as a C-contiguous float64 2-D matrix of finite values, or an :class:`InputError`."""
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


def nearest_center(
    X: np.ndarray,
    centers: np.ndarray,
    should_stop: ShouldStop | None = None,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest center and the squared distance to it, block by block.

    Centers where ``allowed`` is False are never chosen (those that won no user in the fit:
    masking them changes no training label).
    """
    n = X.shape[0]
    labels = np.empty(n, dtype=np.int64)
    dist = np.empty(n, dtype=np.float64)
    c_sq = np.einsum("ij,ij->i", centers, centers)
    with threads(1):
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
        check_stop(should_stop)
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
