"""Refitting a watch state's model when the population drifts, keeping segment identity.

The refit uses the model's own preparation (the same transforms, fills and scaling, so the
features mean what they meant) and fits the model's algorithm with the model's k on every user's
current features. New clusters are matched to the old ones by the Hungarian method on the
distance between centers (a mixture's means). A new cluster keeps the id (and name) of the old
one it is paired with when its center lies within half the distance from that old center to the
nearest other old center; otherwise it is a new segment: a fresh id above every id used before
and a fresh name from its profile. Rule segments keep their rules and precedence.

Refit is built for K-Means, MiniBatch K-Means and Gaussian-mixture models without merged or
split segments; other models are refused with the reason (their edits name clusters that a refit
does not keep).

The new model is written into the state's ``models`` table and as ``MODEL.vN.json`` beside the
state's model file; every user whose label changed gets a move with reason ``refit``.
``refit_now(state)`` is what the app's key calls: it refits at once when no ``watch run`` holds the
state, or leaves a request (``STATE.refit``) that the running process takes after its batch.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from segtui.artifacts.model import Model, model_to_json, parse_model
from segtui.clustering.fit import fit_clusters
from segtui.clustering.prepare import transform_users
from segtui.clustering.specs import FitSpec
from segtui.clustering.state import CentroidState, MixtureState
from segtui.errors import InputError
from segtui.fileio import atomic_write
from segtui.segments.names import generate_names
from segtui.segments.profiles import profile_segments
from segtui.watch.current import Current, load_current
from segtui.watch.relabel import REFIT, apply_model
from segtui.watch.state import check_schema, first_row, meta_value, read_frame, run_lock, writing

REFITTABLE = ("kmeans", "minibatch_kmeans", "gmm")
MATCH_SHARE = 0.5


@dataclass(frozen=True)
class Refitted:
    """A refitted model and how its clusters relate to the old ones."""

    data: dict[str, Any]
    kept: dict[int, int]
    """old id -> the new cluster (by fitted index) that kept it."""
    fresh: list[int]
    """ids given to clusters that match no old one."""
    gone: list[int]
    """old ids no new cluster kept."""

    def line(self) -> str:
        parts = [f"{len(self.kept)} segments kept their ids"]
        if self.fresh:
            parts.append(f"new segments {', '.join(map(str, self.fresh))}")
        if self.gone:
            parts.append(f"segments {', '.join(map(str, self.gone))} no longer fit any cluster")
        return "; ".join(parts)


def _refusal(model: Model) -> str | None:
    if model.algorithm not in REFITTABLE:
        return f"refit is built for {', '.join(REFITTABLE)}; this model uses {model.algorithm}"
    edits = [e for e in model.data["segmentation"].get("edits", []) if isinstance(e, dict)]
    if model.splits or any(e.get("op") in ("merge", "split") for e in edits):
        return "the model has merged or split segments, which a refit does not keep"
    return None


def centers_by_id(state: CentroidState | MixtureState) -> tuple[np.ndarray, np.ndarray]:
    """Per base id (sorted): the mean of its stored centers (a mixture's means)."""
    if isinstance(state, CentroidState):
        centers, labels = np.asarray(state.centers), np.asarray(state.center_labels)
    else:
        centers, labels = np.asarray(state.means), np.asarray(state.component_labels)
    ids = np.unique(labels)
    return ids, np.stack([centers[labels == i].mean(axis=0) for i in ids])


def match_clusters(
    old_ids: np.ndarray, old: np.ndarray, new: np.ndarray, next_id: int
) -> tuple[dict[int, int], dict[int, int], list[int]]:
    """(new index -> id, old id -> new index kept, fresh ids) by the rule in the docstring."""
    cost = np.sqrt(((new[:, None, :] - old[None, :, :]) ** 2).sum(axis=2))
    from scipy.optimize import linear_sum_assignment  # 0.5 s of import: only when refitting

    rows, cols = linear_sum_assignment(cost)
    between = np.sqrt(((old[:, None, :] - old[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(between, np.inf)
    reach = MATCH_SHARE * between.min(axis=1)
    ids: dict[int, int] = {}
    kept: dict[int, int] = {}
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        if cost[i, j] <= reach[j]:
            ids[i] = int(old_ids[j])
            kept[int(old_ids[j])] = i
    fresh = []
    for i in range(new.shape[0]):
        if i not in ids:
            ids[i] = next_id
            fresh.append(next_id)
            next_id += 1
    return ids, kept, fresh


def refit_model(
    model: Model, features: pl.DataFrame, used_ids: set[int], seed: int = 0
) -> Refitted:
    """The refitted model (see the module docstring); ``used_ids`` are every id ever given."""
    why = _refusal(model)
    if why is not None:
        raise InputError(f"cannot refit: {why}", hint="Fit again with segtui segment.")
    state = model.state
    assert isinstance(state, CentroidState | MixtureState)
    X = transform_users(model.prepare, features)
    old_ids, old_centers = centers_by_id(state)
    params = dict(model.data["cluster"].get("params", {}))
    result = fit_clusters(X, FitSpec(model.algorithm, params, seed))
    new_state = result.state
    assert isinstance(new_state, CentroidState | MixtureState)
    fitted_ids, new_centers = centers_by_id(new_state)
    next_id = max([*used_ids, *model.segmentation.created_ids, -1]) + 1
    by_index, kept, fresh = match_clusters(old_ids, old_centers, new_centers, next_id)
    to_id = {int(fitted_ids[i]): sid for i, sid in by_index.items()}
    relabel = np.vectorize(lambda v: to_id[int(v)])
    if isinstance(new_state, CentroidState):
        mapped = CentroidState(
            new_state.centers,
            relabel(new_state.center_labels).astype(np.int64),
            new_state.algorithm,
            None,  # ids are no longer 0..k-1: fresh ones go above every id used before
        )
    else:
        mapped = MixtureState(
            new_state.covariance_type,
            new_state.weights,
            new_state.means,
            new_state.covariances,
            new_state.precisions_cholesky,
            relabel(new_state.component_labels).astype(np.int64),
            new_state.algorithm,
            None,
        )
    labels = relabel(result.labels).astype(np.int64)
    old_names = model.segmentation.names
    fixed = {sid: old_names[sid] for sid in kept if sid in old_names}
    profiles = profile_segments(features, labels, model.features, names=None)
    names = generate_names(profiles, fixed)
    ids, counts = np.unique(labels, return_counts=True)
    sizes = {int(i): int(n) for i, n in zip(ids, counts, strict=True)}
    data = patched_model(model, mapped, sizes, names, result.seed, REFIT_NOTE)
    parse_model(copy.deepcopy(data))  # the new model must read back like any other
    gone = [int(i) for i in old_ids if int(i) not in kept]
    return Refitted(data, {k: v for k, v in kept.items()}, fresh, gone)


REFIT_NOTE = "refitted by segtui watch on every user's current features"


def patched_model(
    model: Model,
    state: CentroidState | MixtureState,
    sizes: dict[int, int],
    names: dict[int, str],
    seed: int,
    note: str,
) -> dict[str, Any]:
    """The model's data with a new cluster state and its cluster segments (``sizes``: users per
    segment id; every id in it gets a segment entry, size 0 included); rule segments kept."""
    data = copy.deepcopy(model.data)
    data["created"] = datetime.now(UTC).isoformat()
    data["cluster"]["state"] = state.to_dict()
    data["cluster"]["seed"] = seed
    data["cluster"]["note"] = note
    seg = data["segmentation"]
    seg["names"] = [[sid, names[sid]] for sid in sorted(sizes)]
    seg["edits"] = [
        e
        for e in seg.get("edits", [])
        if not (e.get("op") == "rename" and e.get("segment_id") not in sizes)
    ]
    seg["n_users"] = int(sum(sizes.values()))
    rules = [s for s in data["segments"] if s.get("kind") != "cluster"]
    data["segments"] = [
        {
            "id": sid,
            "name": names[sid],
            "kind": "cluster",
            "source_ids": [sid],
            "rule": None,
            "size": sizes[sid],
            "claims": [],
        }
        for sid in sorted(sizes)
    ] + rules
    return data


def write_version(
    state: Path, con: duckdb.DuckDBPyConnection, data: dict[str, Any], reason: str
) -> tuple[int, Path | None]:
    """Record the new model as the next version (in the open transaction) and beside the model
    file as ``MODEL.vN.json``; (version, file written)."""
    version = int(first_row(con, "SELECT max(version) FROM models")[0]) + 1
    text = model_to_json(data)
    con.sql(
        "INSERT INTO models VALUES (?, ?, ?, ?)",
        params=[version, datetime.now(UTC), reason, text],
    )
    con.sql("UPDATE meta SET value = ? WHERE key = 'model_version'", params=[str(version)])
    source = meta_value(con, "model_file")
    if not source:
        return version, None
    base = Path(source)
    name = base.name.removesuffix(".json").removesuffix(".model")
    target = base.with_name(f"{name}.v{version}.json")
    try:
        with atomic_write(target) as tmp:
            tmp.write_text(text + "\n", encoding="utf-8")
    except OSError:
        return version, None
    return version, target


def used_ids(con: duckdb.DuckDBPyConnection) -> set[int]:
    """Every segment id any version of the model has given (fresh ids go above them all)."""
    out: set[int] = set()
    for (text,) in con.sql("SELECT model_json FROM models").fetchall():
        for s in json.loads(text).get("segments", []):
            out.add(int(s["id"]))
    frame = read_frame(con, "SELECT DISTINCT to_id FROM moves WHERE to_id IS NOT NULL")
    out |= {int(v) for v in frame["to_id"]} if frame.height else set()
    return out


def request_path(state: Path) -> Path:
    return state.with_name(state.name + ".refit")


def refit_in_state(state: Path, current: Current, reason: str) -> str:
    """Refit the model on every user's features now (one transaction); the line to print."""
    batch = current.next_batch - 1
    with writing(state) as con:
        con.sql("BEGIN TRANSACTION")
        try:
            features = read_frame(con, "SELECT * FROM features ORDER BY user_id")
            refitted = refit_model(current.model, features, used_ids(con))
            version, written = write_version(state, con, refitted.data, reason)
            model = parse_model(refitted.data)
            moved = apply_model(con, model, current.layout, batch, REFIT, datetime.now(UTC))
            con.sql("COMMIT")
        except BaseException:
            con.sql("ROLLBACK")
            raise
    current.model, current.version = model, version
    where = f"; wrote {written}" if written is not None else ""
    return f"refit ({reason}): model version {version}; {refitted.line()}; {moved:,} moves{where}"


def refit_now(state: Path) -> str:
    """Refit now when no run holds the state; else ask the running process (``STATE.refit``)."""
    try:
        with run_lock(state):
            with writing(state) as con:
                check_schema(con, state)
                current = load_current(con)
            if current.next_batch == 1 and not current.done:
                raise InputError("the state has no batch yet", file=state)
            return refit_in_state(state, current, "asked")
    except InputError as error:
        if "being run already" not in error.describe():
            raise
    request_path(state).touch()
    return "asked the running `segtui watch run` to refit after its current batch"
