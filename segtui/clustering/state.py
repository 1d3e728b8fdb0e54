"""What a fitted clustering keeps to label new users: one typed state per assignment rule.

``to_dict()`` is the model file's ``cluster.state`` object (same keys, same values as ever) and
:func:`cluster_state_from_dict` reads one back, naming the key when something is wrong.

- :class:`CentroidState` (``"nearest_center"``): K-Means, MiniBatch, BIRCH, agglomerative;
- :class:`MixtureState` (``"gmm"``): the Gaussian mixture;
- :class:`DensityState` (``"density"``): DBSCAN and HDBSCAN.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from segtui.clustering._centroid import CentroidState
from segtui.clustering._density import DensityState
from segtui.clustering._mixture import MixtureState
from segtui.fields import Fields

__all__ = [
    "CentroidState",
    "ClusterState",
    "DensityState",
    "MixtureState",
    "cluster_state_from_dict",
]

ClusterState = CentroidState | MixtureState | DensityState

_BY_RULE: dict[str, type[CentroidState] | type[MixtureState] | type[DensityState]] = {
    kind.rule: kind for kind in (CentroidState, MixtureState, DensityState)
}


def cluster_state_from_dict(
    data: Mapping[str, Any], file: str | Path | None = None, n_features: int | None = None
) -> ClusterState:
    """The state a model file holds; ``n_features`` (when given) is the width it must have."""
    fields = Fields(data, file)
    rule = fields.get("rule", str)
    kind = _BY_RULE.get(rule)
    if kind is None:
        raise fields.error("rule", f"is {rule!r}, not a rule this segtui knows")
    return kind.from_dict(data, file, n_features)
