"""``watch run --online``: the centers adapt to each batch with mini-batch K-Means updates.

The rule is scikit-learn's ``MiniBatchKMeans`` step. Every user the batch touched (their features
after the batch, in the model's prepared space) is assigned to its nearest center; a center
``c`` with ``N`` users so far and ``n`` of them in this batch, summing to ``s``, becomes
``(N * c + s) / (N + n)`` and its count ``N + n``: it moves toward the batch's mean of its users
with a per-user learning rate ``1 / count``, so it slows as it absorbs more. A center's count
starts at its segment's size in the model version it belongs to (the users it held when it was
fitted or refitted) and is kept in the state (meta ``online_counts``, tagged with the model
version it goes with: a refit starts the counts again from its own sizes).

Ids follow the refit's rule (:func:`segtui.watch.refit.match_clusters`): a center that moved
less than half the distance to the nearest other center keeps its id and name (every small step
does); one that jumped further becomes a fresh segment with a fresh id and name. Each update is a
new model version (``models`` and ``MODEL.vN.json``, reason ``online``), inside the batch's own
transaction; every user the moved centers relabel gets a move with reason ``online``.

Only the K-Means family has centers that mean a mean of users (K-Means, MiniBatch K-Means); a
Gaussian mixture, density and agglomerative models (and BIRCH's subclusters) are refused, and so
are models with merged or split segments (the refit refuses them for the same reason).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from segtui.artifacts.model import Model, parse_model
from segtui.clustering.kernels import nearest_center
from segtui.clustering.prepare import transform_users
from segtui.clustering.state import CentroidState
from segtui.segments.names import generate_names
from segtui.segments.profiles import profile_segments
from segtui.watch.layout import Layout
from segtui.watch.refit import centers_by_id, match_clusters, patched_model, used_ids, write_version
from segtui.watch.relabel import apply_model, features_at
from segtui.watch.state import meta_value, read_frame, set_meta

ONLINE = "online"
"""The reason of the model versions and of the moves an online update makes."""
ONLINE_ALGORITHMS = ("kmeans", "minibatch_kmeans")
COUNTS_KEY = "online_counts"
ONLINE_NOTE = "centers moved by segtui watch --online (mini-batch K-Means updates)"


def online_refusal(model: Model) -> str | None:
    """Why ``--online`` has no meaning for this model (None: it has)."""
    if model.algorithm not in ONLINE_ALGORITHMS or not isinstance(model.state, CentroidState):
        return (
            f"--online moves K-Means centers ({', '.join(ONLINE_ALGORITHMS)}); this model uses "
            f"{model.algorithm}, whose segments have no center to move"
        )
    edits = [e for e in model.data["segmentation"].get("edits", []) if isinstance(e, dict)]
    if model.splits or any(e.get("op") in ("merge", "split") for e in edits):
        return "the model has merged or split segments, which an online update does not keep"
    return None


def initial_counts(model: Model) -> np.ndarray:
    """Per stored center: its segment's size in the model (shared equally among the centers of
    one segment; 0 for a center that won no user)."""
    state = model.state
    assert isinstance(state, CentroidState)
    sizes = {int(s["id"]): float(s.get("size", 0)) for s in model.data.get("segments", [])}
    labels = np.asarray(state.center_labels)
    out = np.zeros(len(labels), dtype=np.float64)
    for label in np.unique(labels[labels >= 0]):
        where = labels == label
        out[where] = sizes.get(int(label), 0.0) / int(where.sum())
    return out


def mini_batch_step(
    centers: np.ndarray, counts: np.ndarray, allowed: np.ndarray, X: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One update (the module docstring's rule): new centers, new counts, users per center."""
    centers, counts = centers.copy(), counts.copy()
    hits = np.zeros(len(centers), dtype=np.int64)
    if X.shape[0] == 0 or not allowed.any():
        return centers, counts, hits
    nearest, _ = nearest_center(X, centers, allowed=allowed)
    for j in np.unique(nearest).tolist():
        mine = X[nearest == j]
        n = mine.shape[0]
        total = counts[j] + n
        centers[j] = (counts[j] * centers[j] + mine.sum(axis=0)) / total
        counts[j], hits[j] = total, n
    return centers, counts, hits


def stored_counts(con: duckdb.DuckDBPyConnection, model: Model, version: int) -> np.ndarray:
    """The counts kept for this model version, else the version's starting counts."""
    text = meta_value(con, COUNTS_KEY)
    if text:
        kept = json.loads(text)
        if int(kept.get("model_version", -1)) == version:
            return np.asarray(kept["counts"], dtype=np.float64)
    return initial_counts(model)


@dataclass(frozen=True)
class Adapted:
    """What an online update did: the new version, how far centers moved, the moves it made."""

    model: Model
    version: int
    shift: float
    """The largest distance a center moved (prepared space)."""
    users: int
    moves: int
    fresh: list[int]
    written: Path | None

    def line(self) -> str:
        fresh = f"; new segments {', '.join(map(str, self.fresh))}" if self.fresh else ""
        where = f"; wrote {self.written}" if self.written is not None else ""
        return (
            f"online: model version {self.version}; centers moved by {self.users:,} users "
            f"(at most {self.shift:.4f}){fresh}; {self.moves:,} moves{where}"
        )


def _names(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    state: CentroidState,
    kept: dict[int, int],
    fresh: list[int],
) -> dict[int, str]:
    old = model.segmentation.names
    fixed = {sid: old[sid] for sid in kept if sid in old}
    if not fresh:
        return fixed
    users = read_frame(con, "SELECT * FROM features ORDER BY user_id")
    labels = state.assign(transform_users(model.prepare, users))
    profiles = profile_segments(users, labels, model.features, names=None)
    return {**generate_names(profiles, fixed), **fixed}


def adapt(
    con: duckdb.DuckDBPyConnection,
    state_path: Path,
    model: Model,
    version: int,
    layout: Layout,
    touched: pl.DataFrame,
    ref_us: int,
    batch: int,
    logged: datetime,
) -> Adapted | None:
    """Move the centers with the touched users (their leaves), inside the caller's transaction:
    a new model version, the counts kept, everyone relabelled; None when no center moved."""
    state = model.state
    assert isinstance(state, CentroidState)
    if touched.height == 0:
        return None
    features = features_at(touched, layout.plan, ref_us, model.columns)
    X = transform_users(model.prepare, features)
    allowed = np.asarray(state.center_labels) >= 0
    counts = stored_counts(con, model, version)
    centers, counts, hits = mini_batch_step(np.asarray(state.centers), counts, allowed, X)
    shift = float(np.sqrt(((centers - state.centers) ** 2).sum(axis=1)).max())
    if not hits.any():
        return None
    old_ids, old = centers_by_id(_labelled(state))
    new_ids, new = centers_by_id(_labelled(CentroidState(centers, state.center_labels)))
    assert np.array_equal(old_ids, new_ids)
    next_id = max([*used_ids(con), *model.segmentation.created_ids, -1]) + 1
    by_index, kept, fresh = match_clusters(old_ids, old, new, next_id)
    to_id = {int(new_ids[i]): sid for i, sid in by_index.items()}
    center_labels = np.asarray([to_id.get(int(v), -1) for v in state.center_labels], np.int64)
    moved = CentroidState(centers, center_labels, state.algorithm, None)
    names = _names(con, model, moved, kept, fresh)
    old_sizes = {int(s["id"]): int(s.get("size", 0)) for s in model.data.get("segments", [])}
    sizes = {sid: old_sizes.get(sid, 0) if sid in kept else 0 for sid in to_id.values()}
    data = patched_model(
        model, moved, sizes, names, int(model.data["cluster"].get("seed", 0)), ONLINE_NOTE
    )
    parse_model(copy.deepcopy(data))  # the new model must read back like any other
    new_version, written = write_version(state_path, con, data, ONLINE)
    set_meta(
        con,
        COUNTS_KEY,
        json.dumps({"model_version": new_version, "counts": counts.tolist()}),
    )
    new_model = parse_model(data)
    n_moves = apply_model(con, new_model, layout, batch, ONLINE, logged)
    return Adapted(new_model, new_version, shift, int(hits.sum()), n_moves, fresh, written)


def _labelled(state: CentroidState) -> CentroidState:
    """Only the centers that stand for a segment (a center that won no user never moves)."""
    keep = np.asarray(state.center_labels) >= 0
    return CentroidState(np.asarray(state.centers)[keep], np.asarray(state.center_labels)[keep])
