"""What a watch state stores and how its features are computed: the layout, decided at init."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

import duckdb

from segtui.artifacts.model import Model
from segtui.features.plan import FeaturePlan, Leaf, plan_features
from segtui.features.spec import Filter
from segtui.ingest.events import CANONICAL_SCHEMA
from segtui.watch.state import meta_value

EVENT_ID = "event_id"
"""The canonical column of the layout's own event id: the event key where a row has one."""
ID_DISTINCT_SHARE = 0.9
"""An event id column repeats rarely (a sink's replays); one whose values repeat more is a code
(an event type number, say) and keying by it would merge distinct events."""
LATEST = Leaf("max", "ts", ())
"""Each user's latest event time: the state's reference time is the largest."""
SESSION_START = "__session_start"
"""With derived sessions, each event's session start (epoch seconds, the ``#`` part of its
derived id); the state keeps each user's latest (:data:`LAST_SESSION`)."""
LAST_SESSION = Leaf("max", SESSION_START, ())
"""The start of a user's last derived session: a new event within the gap of the user's latest
event continues that session (:mod:`segtui.watch.merge`)."""


def mean_count(leaf: Leaf) -> Leaf:
    """The count a mean leaf averages over (its filter's events with a value): what merging the
    mean of old events with the mean of new ones weighs them by."""
    assert leaf.column is not None
    return Leaf("count", None, (*leaf.where, Filter(leaf.column, "not_null")))


def with_merge_leaves(plan: FeaturePlan, sessions_derived: bool) -> FeaturePlan:
    """The plan with the leaves the state keeps so that new events merge into old leaves:
    the latest event time, each mean's count, the last derived session's start. Appended, so
    the plan's own leaves keep their indexes (the outputs refer to them)."""
    extra = [LATEST, *(mean_count(leaf) for leaf in plan.leaves if leaf.kind == "mean")]
    if sessions_derived:
        extra.append(LAST_SESSION)
    leaves = list(plan.leaves)
    for leaf in extra:
        if leaf not in leaves:
            leaves.append(leaf)
    return replace(plan, leaves=tuple(leaves))


@dataclass(frozen=True)
class Layout:
    """What the state stores: the canonical event columns and how features are computed
    (``plan``: the model's plan with the leaves merging needs appended)."""

    event_columns: tuple[str, ...]
    plan: FeaturePlan
    sessions_derived: bool
    session_gap_minutes: float


def layout_for(model: Model, columns: Sequence[str], sessions_derived: bool, gap: float) -> Layout:
    """The state's layout: stored columns (derived sessions are not stored) and the plan."""
    stored = tuple(c for c in columns if not (sessions_derived and c == "session_id"))
    plan = with_merge_leaves(plan_features(model.specs or [], list(columns)), sessions_derived)
    return Layout(stored, plan, sessions_derived, gap)


def event_id_check(given: int, distinct: int) -> str | None:
    """Why the history's ``event_id`` values (``given`` non-empty ones, ``distinct`` of them)
    cannot key events (none given, or repeated more than a replay would), or None when they
    can."""
    if given == 0:
        return "event_id is empty in the history"
    if distinct < ID_DISTINCT_SHARE * given:
        return (
            f"event_id repeats ({distinct:,} distinct values in {given:,} events): it is "
            "not an id of each event, so events are keyed by their values"
        )
    return None


def read_layout(con: duckdb.DuckDBPyConnection, model: Model) -> Layout:
    """The layout a state was created with (its meta), with the plan built from ``model``."""
    stored = json.loads(meta_value(con, "event_columns") or "[]")
    derived = meta_value(con, "sessions_derived") == "true"
    gap = float(meta_value(con, "session_gap_minutes") or 30)
    columns = [c for c in CANONICAL_SCHEMA if c in stored or (derived and c == "session_id")]
    return layout_for(model, columns, derived, gap)
