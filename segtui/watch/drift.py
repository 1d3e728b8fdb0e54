"""How far the population has moved from the model: segment shares and distances to centers.

- PSI (population stability index) of the current segment shares against the shares the model
  was fitted with: ``sum((p - q) * ln(p / q))`` over segments, each share floored at ``1e-4`` so an
  empty segment counts without dividing by zero. Below 0.1 is usually read as stable, above 0.25
  as a real shift.
- Mean distance: each user's distance to the nearest stored center (a mixture's nearest mean) in
  the prepared space, averaged. It grows when users move away from every segment at once, which
  shares alone would not show. Density models have none (null).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from segtui.clustering.state import CentroidState, ClusterState, MixtureState

SHARE_FLOOR = 1e-4
CHUNK = 65_536


def psi(current: Mapping[int, int], reference: Mapping[int, int]) -> float:
    """PSI of two segment-size tables (segment id -> users); 0.0 when either is empty."""
    ids = sorted(set(current) | set(reference))
    now_total, ref_total = sum(current.values()), sum(reference.values())
    if not ids or now_total == 0 or ref_total == 0:
        return 0.0
    p = np.maximum(np.array([current.get(i, 0) for i in ids]) / now_total, SHARE_FLOOR)
    q = np.maximum(np.array([reference.get(i, 0) for i in ids]) / ref_total, SHARE_FLOOR)
    return float(np.sum((p - q) * np.log(p / q)))


def _centers(state: ClusterState) -> np.ndarray | None:
    if isinstance(state, CentroidState):
        return np.asarray(state.centers, dtype=np.float64)
    if isinstance(state, MixtureState):
        return np.asarray(state.means, dtype=np.float64)
    return None


def nearest_distances(state: ClusterState, X: np.ndarray) -> np.ndarray | None:
    """Each row's Euclidean distance to the nearest center, in blocks (bounded memory); None for
    density models."""
    centers = _centers(state)
    if centers is None:
        return None
    c2 = (centers**2).sum(axis=1)
    out = np.empty(X.shape[0], dtype=np.float64)
    for start in range(0, X.shape[0], CHUNK):
        block = X[start : start + CHUNK]
        d2 = (block**2).sum(axis=1)[:, None] - 2 * block @ centers.T + c2[None, :]
        out[start : start + len(block)] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def mean_distance(state: ClusterState, X: np.ndarray) -> float | None:
    """The mean of :func:`nearest_distances` (None for density models or no rows)."""
    distances = nearest_distances(state, X)
    if distances is None or distances.size == 0:
        return None
    return float(distances.mean())
