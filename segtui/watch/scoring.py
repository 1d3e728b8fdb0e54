"""Label every user with the model, then hold back the moves the thresholds do not allow.

The proposed label is exactly ``assign``'s (:func:`segtui.artifacts.assign.label_users`), so with
``min_margin = 0`` and ``min_events = 0`` the state's labels are batch ``assign``'s. The thresholds
keep users from flapping between neighbouring segments:

- ``min_events``: a user who already has a label moves only once they have this many new events
  since their last move (or since ``init``). New users always get their label.
- ``min_margin`` (hysteresis): the new segment must be better than the user's current one by this
  relative margin. For a nearest-center model a segment's distance is that of its nearest stored
  center (the centers whose base cluster ends in that segment after the merges); the user moves
  when ``d_new <= (1 - margin) * d_current``. For a Gaussian mixture a segment's score is the
  posterior of its most likely component; the user moves when ``p_new >= p_current + margin``.
  Density models (DBSCAN, HDBSCAN) have no margin: their users always take the proposed label.
- Rule segments keep their precedence: a user a rule now matches moves into it, and a user whose
  rule no longer matches leaves it, whatever the margin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from segtui.artifacts.assign import label_users, split_placer
from segtui.artifacts.model import Model
from segtui.clustering.state import CentroidState, MixtureState
from segtui.segments.names import NOISE_NAME


@dataclass(frozen=True)
class Thresholds:
    """What a move needs (see the module docstring); the defaults never hold a move back."""

    min_margin: float = 0.0
    min_events: int = 0


@dataclass(frozen=True)
class Scored:
    """Every user's proposed label (rows in the users table's order) and their prepared row."""

    proposed: np.ndarray
    names: dict[int, str]
    X: np.ndarray


def score(model: Model, users: pl.DataFrame) -> Scored:
    labels, names, noise, X = label_users(model, users)
    named = dict(names)
    if noise is not None:
        named.setdefault(noise, NOISE_NAME)
    return Scored(np.asarray(labels, dtype=np.int64), named, X)


def name_of(names: dict[int, str], segment_id: int) -> str:
    """A segment's name (``Segment N`` for an id the model never named), as exports say it."""
    return names.get(int(segment_id), f"Segment {int(segment_id)}")


def _base_costs(model: Model, X: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Per row and base cluster: the cost of that cluster (lower is better), and the base ids."""
    state = model.state
    if isinstance(state, CentroidState):
        d = np.sqrt(((X[:, None, :] - state.centers[None, :, :]) ** 2).sum(axis=2))
        ids = np.unique(state.center_labels)
        costs = np.stack([d[:, state.center_labels == b].min(axis=1) for b in ids], axis=1)
        return costs, ids
    if isinstance(state, MixtureState):
        log_prob = state.log_prob(X)
        log_prob -= log_prob.max(axis=1, keepdims=True)
        post = np.exp(log_prob)
        post /= post.sum(axis=1, keepdims=True)
        labels = np.asarray(state.component_labels)
        ids = np.unique(labels)
        costs = np.stack([-post[:, labels == b].max(axis=1) for b in ids], axis=1)
        return costs, ids
    return None


def _segment_cost(costs: np.ndarray, finals: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Per row: the best cost among base clusters that end in ``segment`` (inf when none)."""
    masked = np.where(finals == segment[:, None], costs, np.inf)
    return masked.min(axis=1)


def hold_moves(
    model: Model,
    scored: Scored,
    users: pl.DataFrame,
    current: np.ndarray,
    has_current: np.ndarray,
    new_events: np.ndarray,
    thresholds: Thresholds,
) -> np.ndarray:
    """The labels after the thresholds: ``scored.proposed`` except where a move is held back.

    ``current`` is each user's label before this batch (valid where ``has_current``) and
    ``new_events`` their events since their last move.
    """
    final = scored.proposed.copy()
    moving = has_current & (final != current)
    if thresholds.min_events > 0:
        held = moving & (new_events < thresholds.min_events)
        final[held] = current[held]
        moving &= ~held
    if thresholds.min_margin <= 0 or not moving.any():
        return final
    rows = np.flatnonzero(moving)
    X = scored.X[rows]
    found = _base_costs(model, X)
    if found is None:
        return final
    costs, ids = found
    subset = users[rows]
    place = split_placer(model, X)
    saved = model.segmentation
    finals = np.stack(
        [saved.relabel(np.full(len(rows), b, dtype=np.int64), subset, place) for b in ids], axis=1
    )
    rules = set(saved.rule_ids)
    new, cur = final[rows], current[rows]
    new_cost = _segment_cost(costs, finals, new)
    cur_cost = _segment_cost(costs, finals, cur)
    if isinstance(model.state, MixtureState):
        earns = -new_cost >= -cur_cost + thresholds.min_margin
    else:
        earns = new_cost <= (1 - thresholds.min_margin) * cur_cost
    by_rule = np.isin(new, list(rules)) | np.isin(cur, list(rules))
    keep = ~earns & ~by_rule & np.isfinite(cur_cost)
    final[rows[keep]] = cur[keep]
    return final
