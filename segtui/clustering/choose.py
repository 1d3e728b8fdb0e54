"""Which offered features clustering uses on this log, and how much each counts.

A fixed default list is written for one kind of log; on another it clusters on features that are
constant there, on five copies of "how active", or on when people arrived. ``choose_features``
looks at the users table instead and keeps what carries information, once:

0. **What users do, not when they came.** Time-position features (how long ago, how long active:
   ``TIME_POSITION``) are left out of the clustering set: with users arriving over the whole span
   they mostly say when a user arrived, and they outvoted what users did on every planted world
   (benchmarks/README.md). They stay among the users' features (``segtui features``).
1. **Information.** A feature that is missing for every user, the same for every user, or the
   same for almost every user (one value holds at least ``NEAR_CONSTANT_SHARE`` of the users) is
   left out. A count that is 0 for 85 % of users stays: the 15 % can be the most telling group.
2. **Redundancy.** Of two features whose rank correlation is at least ``REDUNDANT_RHO`` (events,
   sessions, active days and page views often are), only the one first in preference order is
   kept. Preference goes by kind first (``KIND_ORDER``): shares, ratios and means (comparable
   between a user with a week of history and one with a year), then rates per session, then
   calendar shares, then volume counts (``feature_kind``: they grow with how long a user has been
   around); within a kind, the catalog's defaults, then the rest of the catalog, then generated
   features, each in the order offered. Correlations are measured on at most
   ``CORRELATION_SAMPLE`` users.
   A generated per-event count or per-category total (``event_<id>_count``,
   ``category_<id>_duration_s``) is left out when its share (``event_<id>_share``,
   ``category_<id>_share``) is offered: the count is the share times the user's events, so
   beside the share and ``events`` it only adds one more copy of "how active, for how long"
   per event (nine on the content world). ``TOTAL_REASON`` words it.
   **The count of everything is left out beside a rate of it.** After the pruning, ``events``
   stands for the user's whole volume (sessions, active days and page views were pruned as
   its twins). When a rate of it is clustered on (``ACTIVITY_RATES``: events per session or per
   active day), itself or through a twin, ``events`` is left out: the rate says how active a
   user is, and the total says as much how long they have been around, which put late joiners
   of every group together on the planted worlds (benchmarks/README.md).
   ``ACTIVITY_TOTAL_REASON`` words it.
3. **Weights.** Each family (activity, engagement, funnel, value, interest, time, ...) gets the
   same total say: a feature's weight is ``1 / sqrt(n)`` with ``n`` kept features in its family,
   so the squared weights (what a Euclidean distance adds up) sum to 1 per family. Time-position
   features (how long ago, how long active: ``TIME_POSITION``) form a family of their own, so
   when users arrived and left cannot outvote what they did.

Everything is plain data and deterministic (the sample is a fixed, evenly spaced set of rows).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

NEAR_CONSTANT_SHARE = 0.99
"""A feature where one value holds at least this share of users carries (almost) nothing."""

REDUNDANT_RHO = 0.9
"""|Spearman| at or above this: the two features order users the same way; keep one."""
MIN_USERS_FOR_REDUNDANCY = 50
"""Below this many users a rank correlation says little (3 users order alike by chance), so
nothing is pruned as redundant."""

CORRELATION_SAMPLE = 20_000
"""Users the correlations are measured on (evenly spaced rows when there are more)."""

TIME_POSITION: frozenset[str] = frozenset(
    {"days_since_last_event", "tenure_days", "recency_days", "purchase_span_days", "activity_trend"}
)
"""Features that say when a user was active (how long ago, how long) rather than what they did."""

TIME_POSITION_FAMILY = "time position"
TIME_POSITION_REASON = (
    "says when the user was active (how long ago, how long), not what they did; "
    "kept among the users' features, not clustered on"
)

CALENDAR: frozenset[str] = frozenset(
    {"weekend_share", "night_share", "winter_share", "summer_share", "winter_purchase_share"}
)
"""Shares of a user's activity at a time of day, week or year."""

VOLUME: frozenset[str] = frozenset(
    {
        "events", "sessions", "active_days", "page_views", "product_views", "searches",
        "form_submits", "total_duration_s", "add_to_cart", "remove_from_cart", "checkouts",
        "purchases", "refunds", "orders", "revenue", "items_purchased", "distinct_items",
        "categories_purchased", "category_diversity",
    }
)  # fmt: skip
"""Catalog features that count or sum over the user's whole history (generated ones are named
``event_<id>_count`` and ``category_<id>_duration_s``)."""

ACTIVITY_RATES: tuple[str, ...] = ("events_per_session", "events_per_active_day")
"""How active a user is, whatever the length of their history."""

ACTIVITY_TOTAL_REASON = (
    "counts the user's whole history, so it says how long they have been around as much as "
    "how active they are, and '{rate}' says how active; kept among the users' features"
)

TOTAL_REASON = (
    "its share '{share}' is offered: a count is the share times the user's events, so it "
    "would count how active the user is once more; kept among the users' features"
)


def composition_share(name: str) -> bool:
    """A generated share of the user's events (``event_<id>_share``, ``category_<id>_share``):
    one part of a composition, read on a log scale by ``prepare`` (``PrepSpec.shares``)."""
    return name.startswith(("event_", "category_")) and name.endswith("_share")


def share_of_total(name: str) -> str | None:
    """The share a generated count or per-category total is that share times the events of,
    or None for any other feature."""
    if name.startswith("event_") and name.endswith("_count"):
        return name[: -len("_count")] + "_share"
    if _category_total(name):
        return name[: -len("_duration_s")] + "_share"
    return None


KIND_ORDER: tuple[str, ...] = ("mix", "rate", "calendar", "volume", TIME_POSITION_FAMILY)
"""Redundancy pruning keeps the kind that comes first: see the module docstring."""


def feature_kind(name: str) -> str:
    """ "time position", "calendar", "volume", "rate" (per session or active day) or "mix"
    (shares, ratios, means): what a feature measures, read from its documented name."""
    if name in TIME_POSITION:
        return TIME_POSITION_FAMILY
    if name in CALENDAR:
        return "calendar"
    generated_volume = name.startswith("event_") and name.endswith("_count")
    if name in VOLUME or generated_volume or _category_total(name):
        return "volume"
    if name.endswith(("_per_session", "_per_active_day")):
        return "rate"
    return "mix"


def _category_total(name: str) -> bool:
    return name.startswith("category_") and name.endswith("_duration_s")


@dataclass(frozen=True)
class Candidate:
    """One offered feature: its name, family, and where it sits in the preference order."""

    name: str
    family: str
    tier: int = 1
    """0: a catalog default, 1: the rest of the catalog, 2: generated from the data."""
    fill: str = "median"
    """How a missing value is read for the correlations (the declaration's fill)."""


@dataclass(frozen=True)
class FeatureChoice:
    """The features clustering uses, their weights, and why every other one is left out."""

    features: tuple[str, ...]
    weights: Mapping[str, float]
    families: Mapping[str, str]
    """Chosen feature -> the family its weight is balanced in (time position is its own)."""
    left_out: Mapping[str, str] = field(default_factory=dict)
    """Feature -> the reason in words ("constant", "redundant with 'sessions' (Spearman 0.97)")."""
    given: bool = False
    """The person named the features (``--features``): nothing was chosen or left out."""

    @classmethod
    def named(cls, features: Sequence[str], families: Mapping[str, str]) -> FeatureChoice:
        """The features a person named, as they named them, each weighing 1."""
        names = tuple(dict.fromkeys(features))
        return cls(
            features=names,
            weights=dict.fromkeys(names, 1.0),
            families={n: weight_family(n, families.get(n, n)) for n in names},
            given=True,
        )

    def messages(self) -> list[str]:
        """The choice in words, for the CLI and the app."""
        how = "given (--features)" if self.given else "chosen from the data"
        lines = [f"clustering on {len(self.features)} features {how}: " + ", ".join(self.features)]
        for name, why in self.left_out.items():
            lines.append(f"left out '{name}': {why}")
        return lines


def weight_family(name: str, family: str) -> str:
    """The family a feature's weight is balanced in: time-position features form their own."""
    return TIME_POSITION_FAMILY if name in TIME_POSITION else family


def family_weights(families: Mapping[str, str]) -> dict[str, float]:
    """1 / sqrt(n in family) per feature: each family's squared weights sum to 1."""
    counts: dict[str, int] = {}
    for family in families.values():
        counts[family] = counts.get(family, 0) + 1
    return {name: 1.0 / math.sqrt(counts[family]) for name, family in families.items()}


def choose_features(
    users: pl.DataFrame,
    candidates: Sequence[Candidate],
    *,
    redundancy: bool = True,
    balance: bool = True,
    time_position_out: bool = True,
    by_kind: bool = True,
    totals_out: bool = True,
    activity_total_out: bool = True,
) -> FeatureChoice:
    """Keep the informative, non-redundant candidates and weight them by family (see module).

    ``redundancy`` False keeps correlated features; ``balance`` False gives every feature weight
    1; ``time_position_out`` False offers the time-position features like any other; ``by_kind``
    False prunes redundancy in catalog order alone; ``totals_out`` False offers generated counts
    beside their shares (all five only for measuring what each step buys,
    ``benchmarks/bench_prepare_ablation.py``).
    """
    if time_position_out and _too_few_without_time(users, candidates):
        time_position_out = False  # a log with (almost) only time position: cluster on it
    left_out: dict[str, str] = {}
    columns: dict[str, np.ndarray] = {}
    present = {c.name for c in candidates if c.name in users.columns}
    for cand in candidates:
        if cand.name not in users.columns or cand.name in columns:
            continue
        if time_position_out and cand.name in TIME_POSITION:
            left_out[cand.name] = TIME_POSITION_REASON
            continue
        share = share_of_total(cand.name)
        if totals_out and share is not None and share in present:
            left_out[cand.name] = TOTAL_REASON.format(share=share)
            continue
        values = _values(users.get_column(cand.name))
        why = _no_information(values)
        if why is not None:
            left_out[cand.name] = why
        else:
            columns[cand.name] = _filled(values, cand.fill)
    order = sorted(
        (c for c in candidates if c.name in columns),
        key=lambda c: (
            KIND_ORDER.index(feature_kind(c.name)) if by_kind else 0,
            c.tier,
            [x.name for x in candidates].index(c.name),
        ),
    )
    kept = [c.name for c in order]
    if redundancy and users.height >= MIN_USERS_FOR_REDUNDANCY:
        kept, twins = _prune(kept, columns)
        left_out.update(
            {
                name: f"redundant with '{twin}' (Spearman {rho:.2f})"
                for name, (twin, rho) in twins.items()
            }
        )
        if activity_total_out:  # its twins are out, so the whole volume goes with it
            kept = _activity_total_out(kept, twins, left_out)
    family_of = {c.name: c.family for c in candidates}
    families = {name: weight_family(name, family_of[name]) for name in kept}
    weights = family_weights(families) if balance else dict.fromkeys(kept, 1.0)
    # Chosen features in the order offered, reasons in the order offered.
    offered = [c.name for c in candidates]
    chosen = tuple(n for n in offered if n in weights)
    ordered_out = {n: left_out[n] for n in offered if n in left_out}
    return FeatureChoice(
        features=chosen,
        weights={n: weights[n] for n in chosen},
        families={n: families[n] for n in chosen},
        left_out=ordered_out,
    )


def _activity_total_out(
    kept: list[str], twins: Mapping[str, tuple[str, float]], left_out: dict[str, str]
) -> list[str]:
    """``kept`` without ``events`` when a rate of it is clustered on, itself or through its
    twin (travel's app opens are one per visit: their share is 1 / events per session), and
    two other features remain."""
    if "events" not in kept or len(kept) < 3:
        return kept
    for rate in ACTIVITY_RATES:
        said_by = rate if rate in kept else twins.get(rate, ("", 0.0))[0]
        if said_by and said_by != "events":
            left_out["events"] = ACTIVITY_TOTAL_REASON.format(rate=said_by)
            return [name for name in kept if name != "events"]
    return kept


def _too_few_without_time(users: pl.DataFrame, candidates: Sequence[Candidate]) -> bool:
    """Fewer than two informative candidates besides the time-position ones."""
    rest = {c.name for c in candidates if c.name in users.columns and c.name not in TIME_POSITION}
    informative = (n for n in rest if _no_information(_values(users.get_column(n))) is None)
    return sum(1 for _ in zip(range(2), informative, strict=False)) < 2


def _values(series: pl.Series) -> np.ndarray:
    """float64 with NaN for missing (null, NaN, infinite); non-numeric columns are all-missing."""
    if series.dtype == pl.Boolean:
        series = series.cast(pl.Float64)
    if not series.dtype.is_numeric():
        return np.full(series.len(), np.nan)
    arr = np.array(series.cast(pl.Float64).to_numpy(allow_copy=True), dtype=np.float64, copy=True)
    arr[~np.isfinite(arr)] = np.nan
    return arr


def _no_information(values: np.ndarray) -> str | None:
    """Why a column says nothing about users on this log, or None when it says something."""
    present = values[~np.isnan(values)]
    if present.size == 0:
        return "every value is missing"
    uniques, counts = np.unique(present, return_counts=True)
    n_missing = values.size - present.size
    if uniques.size == 1 and n_missing == 0:
        return f"constant ({_num(uniques[0])} for every user)"
    top = int(counts.argmax())
    if n_missing >= counts[top]:
        share, what = n_missing / values.size, "no value"
    else:
        share, what = counts[top] / values.size, _num(uniques[top])
    if share >= NEAR_CONSTANT_SHARE:
        return f"near-constant ({share * 100:.1f}% of users have {what})"
    return None


def _num(value: float) -> str:
    return f"{int(value)}" if float(value).is_integer() else f"{value:.4g}"


def _filled(values: np.ndarray, fill: str) -> np.ndarray:
    """Missing values read the way the declaration fills them (for the rank correlations)."""
    missing = np.isnan(values)
    if not missing.any():
        return values
    present = values[~missing]
    value = {"zero": 0.0, "max": present.max(), "min": present.min()}.get(
        fill, float(np.median(present))
    )
    out = values.copy()
    out[missing] = value
    return out


def _sample_rows(n: int) -> np.ndarray:
    """Evenly spaced rows (deterministic), at most CORRELATION_SAMPLE of them."""
    if n <= CORRELATION_SAMPLE:
        return np.arange(n)
    return np.linspace(0, n - 1, CORRELATION_SAMPLE).round().astype(np.int64)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (ties share), standardized; a constant sample gives zeros."""
    order = values.argsort(kind="stable")
    sorted_vals = values[order]
    ranks = np.empty(values.size, dtype=np.float64)
    starts = np.flatnonzero(np.r_[True, sorted_vals[1:] != sorted_vals[:-1]])
    ends = np.r_[starts[1:], values.size]
    for s, e in zip(starts, ends, strict=True):
        ranks[order[s:e]] = (s + e - 1) / 2.0
    ranks -= ranks.mean()
    sd = ranks.std()
    return ranks / sd if sd > 0 else ranks


def _prune(
    order: Sequence[str], columns: Mapping[str, np.ndarray]
) -> tuple[list[str], dict[str, tuple[str, float]]]:
    """Walk in preference order; drop a feature that ranks users like one already kept.

    Returns the kept names and, per dropped one, its twin (the kept feature) and |Spearman|."""
    if not order:
        return [], {}
    rows = _sample_rows(len(next(iter(columns.values()))))
    ranked = {name: _ranks(columns[name][rows]) for name in order}
    kept: list[str] = []
    dropped: dict[str, tuple[str, float]] = {}
    for name in order:
        best, twin = 0.0, None
        for other in kept:
            rho = abs(float(np.mean(ranked[name] * ranked[other])))
            if rho > best:
                best, twin = rho, other
        if twin is not None and best >= REDUNDANT_RHO:
            dropped[name] = (twin, best)
        else:
            kept.append(name)
    return kept, dropped
