"""Segment profiles: what each segment looks like, in words a marketer reads.

For each segment: size, share, mean and median of each feature, lift against everyone, a
standardized effect size per feature, and the top distinguishing traits as readable text
("3.1x more cart adds", "no purchases", "45% fewer sessions", "recency 12 days vs 80 overall"),
numbers written by :mod:`segtui.formatting` like everywhere else. A segment nobody named is named
from its contrasts by :func:`segtui.segments.names.name_segments`.

Definitions (all computed on the raw users table, not the scaled matrix):

* **lift** = segment mean / overall mean, defined only when the feature is never negative and its
  overall mean is positive; otherwise ``None`` (a ratio of means is meaningless for a feature that
  can be negative, such as a trend, or that is zero for everyone). Traits then speak in values
  ("trend -0.4 vs 0.1 overall").
* **effect** = (segment mean - overall mean) / overall standard deviation (population, ddof=0);
  ``None`` when the feature is constant or all null. Traits are ranked by ``|effect|``, not by lift,
  so a rare behavior with a huge ratio but little spread does not crowd out real differences.
* Null and NaN values are left out of means, medians and standard deviations, and a feature that
  is null for most of a segment (``coverage`` < 0.5) is not used for its traits or its name.
* A trait is also large in absolute terms (at least a 10% ratio, or 3 points for shares: a tenure
  of 475 days against 502 is not one), and one idea is listed once: features of one concept, or
  that move together in the data (|r| >= 0.9 over a sample of users), give one trait, the
  strongest (``concepts`` records the grouping).
* **outcomes**: revenue per user (and the segment's share of all revenue), conversion (the share
  of users with a purchase) and active days, from the users table whether or not they were
  clustered on, so a person can check a segment against what the business sees.

Everything is one ``group_by`` over the users table plus one overall ``select``: linear in users.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import polars as pl

from segtui.errors import InputError
from segtui.formatting import number, percent
from segtui.segments.names import (
    Claim,
    concept_of,
    contrast,
    may_say_the_same,
    name_segments,
    person_named,
)
from segtui.segments.segmentation import Segmentation
from segtui.segments.wording import (
    comparative,
    feature_label,
)

# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Trait:
    """One way a segment differs from everyone, with the sentence fragment that says it."""

    feature: str
    direction: Literal["higher", "lower"]
    effect: float
    segment_mean: float
    overall_mean: float
    lift: float | None
    text: str


@dataclass(frozen=True)
class SegmentProfile:
    """What one segment looks like. Per-feature dicts are keyed by feature name."""

    segment_id: int
    name: str
    size: int
    share: float
    is_noise: bool
    mean: dict[str, float | None]
    median: dict[str, float | None]
    overall_mean: dict[str, float | None]
    overall_median: dict[str, float | None]
    lift: dict[str, float | None]
    effect: dict[str, float | None]
    coverage: dict[str, float]
    """Share of the segment's users with a value (not null/NaN) for each feature."""
    traits: tuple[Trait, ...]
    concepts: dict[str, str] = field(default_factory=dict)
    """The group each feature counts in (one trait, one claim per group)."""
    claims: tuple[Claim, ...] = ()
    """What the name says, each true of this profile (empty for a person's name)."""
    outcomes: tuple[Outcome, ...] = ()
    """Business outcomes from the users table (revenue, conversion, active days)."""


@dataclass(frozen=True)
class Outcome:
    """A business number for a segment beside everyone's: ``what`` it is, the ``column`` it
    comes from, whether it was clustered on, and the words that say it."""

    what: str
    column: str
    value: float | None
    overall: float | None
    clustered: bool
    share_of_total: float | None
    text: str


# --------------------------------------------------------------------------------------------
# Profiles


def _numeric_features(users: pl.DataFrame, features: Sequence[str]) -> list[str]:
    missing = [f for f in features if f not in users.columns]
    if missing:
        raise InputError(
            f"the users table has no feature {', '.join(repr(m) for m in missing)}",
            column=missing[0],
        )
    bad = [
        f for f in features if not (users.schema[f].is_numeric() or users.schema[f] == pl.Boolean)
    ]
    if bad:
        raise InputError(f"feature '{bad[0]}' is not numeric", column=bad[0])
    return list(dict.fromkeys(features))


def _num(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def _aligned_labels(labels: np.ndarray | Sequence[int], users: pl.DataFrame) -> np.ndarray:
    label_array = np.asarray(labels)
    if label_array.ndim != 1 or label_array.size != users.height:
        raise InputError(
            f"{label_array.size} labels for {users.height} users: they must be aligned"
        )
    return label_array


def _feature_frame(
    users: pl.DataFrame, feats: Sequence[str], labels: np.ndarray
) -> tuple[pl.DataFrame, dict[str, str]]:
    """Features as floats (NaN as null) under short keys, plus the segment; feature -> key."""
    keys = {f: f"f{i}" for i, f in enumerate(feats)}
    cols = [pl.col(f).cast(pl.Float64).fill_nan(None).alias(k) for f, k in keys.items()]
    frame = users.select(cols).with_columns(pl.Series("segment", labels.astype(np.int64)))
    return frame, keys


@dataclass(frozen=True)
class _Overall:
    """Everyone's statistics per feature: what each segment is compared with."""

    mean: dict[str, float | None]
    median: dict[str, float | None]
    std: dict[str, float | None]
    low: dict[str, float | None]
    users: int


def _overall(frame: pl.DataFrame, keys: Mapping[str, str]) -> _Overall:
    stats = {"mean": pl.Expr.mean, "median": pl.Expr.median, "min": pl.Expr.min}
    row = frame.select(
        *[
            how(pl.col(k)).alias(f"{k}_{what}")
            for what, how in stats.items()
            for k in keys.values()
        ],
        *[pl.col(k).std(ddof=0).alias(f"{k}_std") for k in keys.values()],
    ).row(0, named=True)

    def per_feature(what: str) -> dict[str, float | None]:
        return {f: _num(row[f"{k}_{what}"]) for f, k in keys.items()}

    return _Overall(
        per_feature("mean"),
        per_feature("median"),
        per_feature("std"),
        per_feature("min"),
        frame.height,
    )


def _per_segment(frame: pl.DataFrame, keys: Mapping[str, str]) -> pl.DataFrame:
    """One row per segment (by id): size, and each feature's mean, median and value count."""
    return (
        frame.group_by("segment")
        .agg(
            pl.len().alias("size"),
            *[pl.col(k).mean().alias(f"{k}_mean") for k in keys.values()],
            *[pl.col(k).median().alias(f"{k}_median") for k in keys.values()],
            *[pl.col(k).count().alias(f"{k}_count") for k in keys.values()],
        )
        .sort("segment")
    )


def _lift(mean: float | None, overall: float | None, low: float | None) -> float | None:
    """Segment mean / overall mean, for a feature never negative with a positive mean."""
    if mean is None or overall is None or overall <= 0 or low is None or low < 0:
        return None
    return mean / overall


def _effect(mean: float | None, overall: float | None, std: float | None) -> float | None:
    """(segment mean - overall mean) / overall std; None for a constant or empty feature."""
    if mean is None or overall is None or std is None or std <= 1e-12 * max(1.0, abs(overall)):
        return None
    return (mean - overall) / std


def _profile(
    row: Mapping[str, object],
    keys: Mapping[str, str],
    overall: _Overall,
    noise_id: int | None,
    top_traits: int,
    concepts: Mapping[str, str],
) -> SegmentProfile:
    """One segment's profile from its :func:`_per_segment` row (its name is left empty)."""
    sid, size = int(row["segment"]), int(row["size"])  # type: ignore[call-overload]
    mean = {f: _num(row[f"{k}_mean"]) for f, k in keys.items()}
    lift = {f: _lift(mean[f], overall.mean[f], overall.low[f]) for f in keys}
    effect = {f: _effect(mean[f], overall.mean[f], overall.std[f]) for f in keys}
    coverage = {f: int(row[f"{k}_count"]) / size for f, k in keys.items()}  # type: ignore[call-overload]
    profile = SegmentProfile(
        segment_id=sid,
        name="",
        size=size,
        share=size / overall.users,
        is_noise=noise_id is not None and sid == noise_id,
        mean=mean,
        median={f: _num(row[f"{k}_median"]) for f, k in keys.items()},
        overall_mean=dict(overall.mean),
        overall_median=dict(overall.median),
        lift=lift,
        effect=effect,
        coverage=coverage,
        traits=(),
        concepts=dict(concepts),
    )
    return replace(profile, traits=tuple(_traits(profile)[:top_traits]))


def _traits(profile: SegmentProfile) -> list[Trait]:
    """Trait-sized, material differences, strongest first, one per concept group."""
    found = [c for f in profile.mean if (c := contrast(profile, f, "trait")) is not None]
    found.sort(key=lambda c: (-c.strength, c.feature))
    seen: set[str] = set()
    traits = []
    for item in found:
        feature = item.feature
        group = profile.concepts.get(feature) or concept_of(feature)
        if group in seen:
            continue
        seen.add(group)
        effect = profile.effect[feature]
        traits.append(
            _trait(feature, effect, item.claim.value, item.claim.overall, profile.lift[feature])  # type: ignore[arg-type]
        )
    return traits


CORRELATION_SAMPLE = 20_000
"""Users (every n-th row, no randomness) over which features are correlated for grouping."""
SAME_THING = 0.9
"""|Pearson r| from which purchases, revenue and items bought (or days since the last purchase
and since the last visit) say the same thing in this data: one trait, one claim. Only those
(see ``names.may_say_the_same``): features that tell planted groups apart correlate across users
because of the groups themselves, not because they are one idea."""


def concept_groups(users: pl.DataFrame, features: Sequence[str]) -> dict[str, str]:
    """Feature -> group: its concept (:func:`segtui.segments.names.concept_of`), joined with
    the purchase-volume concepts it moves with (|r| >= SAME_THING over a sample of users)."""
    groups = {f: concept_of(f) for f in features}
    parent = {g: g for g in groups.values()}

    def find(g: str) -> str:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    if users.height >= 3 and len(features) >= 2:
        step = max(1, users.height // CORRELATION_SAMPLE)
        sample = users.select([pl.col(f).cast(pl.Float64).fill_nan(None) for f in features])
        sample = sample.gather_every(step)
        means = np.array([v if v is not None else 0.0 for v in sample.mean().row(0)], np.float64)
        matrix = sample.to_numpy().astype(np.float64)
        matrix = np.where(np.isfinite(matrix), matrix, means)
        spread = matrix.std(axis=0)
        varying = np.flatnonzero(spread > 1e-12)
        if varying.size >= 2:
            corr = np.corrcoef(matrix[:, varying], rowvar=False)
            for a, b in zip(*np.nonzero(np.triu(np.abs(corr) >= SAME_THING, k=1)), strict=True):
                fa, fb = features[varying[a]], features[varying[b]]
                if not may_say_the_same(fa, fb):
                    continue
                ra, rb = find(groups[fa]), find(groups[fb])
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    return {f: find(g) for f, g in groups.items()}


def profile_segments(
    users: pl.DataFrame,
    labels: np.ndarray | Sequence[int],
    features: Sequence[str],
    names: Mapping[int, str] | None = None,
    noise_id: int | None = None,
    top_traits: int = 4,
    segment_ids: Sequence[int] = (),
) -> list[SegmentProfile]:
    """Profile every segment in ``labels`` (one label per row of ``users``), ordered by id.

    ``names`` gives segment names; ids it leaves out are named from their contrasts by
    :func:`segtui.segments.names.name_segments` (with the claims each name is built from).
    ``segment_ids`` are segments that exist even when no user is in them (a rule that matches
    nobody yet): each one missing from ``labels`` gets an empty profile (size 0, no means, no
    traits) under its name in ``names``, so it can still be seen, selected and removed.
    """
    feats = _numeric_features(users, features)
    label_array = _aligned_labels(labels, users)
    if users.height == 0:
        return []
    frame, keys = _feature_frame(users, feats, label_array)
    overall = _overall(frame, keys)
    concepts = concept_groups(users, feats)
    profiles = [
        _profile(row, keys, overall, noise_id, top_traits, concepts)
        for row in _per_segment(frame, keys).iter_rows(named=True)
    ]
    outcomes = segment_outcomes(users, label_array, feats)
    given = {sid: name for sid, name in (names or {}).items()}
    named = name_segments(profiles, given)
    found = [
        replace(
            p,
            name=named[p.segment_id].text,
            claims=named[p.segment_id].claims,
            outcomes=outcomes.get(p.segment_id, ()),
        )
        for p in profiles
    ]
    present = {p.segment_id for p in found}
    empty = [
        _empty_profile(int(sid), given.get(int(sid), f"Segment {sid}"), overall, noise_id, concepts)
        for sid in dict.fromkeys(segment_ids)
        if int(sid) not in present
    ]
    return sorted(found + empty, key=lambda p: p.segment_id)


def _empty_profile(
    sid: int, name: str, overall: _Overall, noise_id: int | None, concepts: Mapping[str, str]
) -> SegmentProfile:
    """A segment no user is in: size 0, everyone's statistics beside nothing of its own."""
    none: dict[str, float | None] = dict.fromkeys(overall.mean)
    return SegmentProfile(
        segment_id=sid,
        name=name,
        size=0,
        share=0.0,
        is_noise=noise_id is not None and sid == noise_id,
        mean=dict(none),
        median=dict(none),
        overall_mean=dict(overall.mean),
        overall_median=dict(overall.median),
        lift=dict(none),
        effect=dict(none),
        coverage=dict.fromkeys(overall.mean, 0.0),
        traits=(),
        concepts=dict(concepts),
    )


# --------------------------------------------------------------------------------------------
# Names after an edit


def fresh_names(
    users: pl.DataFrame,
    labels: np.ndarray | Sequence[int],
    features: Sequence[str],
    names: Mapping[int, str],
    fresh: Sequence[int],
    *,
    noise_id: int | None = None,
    siblings: bool = False,
    stem: str | None = None,
) -> dict[int, str]:
    """Names for the segments ``fresh`` from their profiles, every other segment's name in
    ``names`` kept (the new names are unique among them). ``siblings``: the fresh segments are
    the parts of one split, told apart from each other (see ``names.name_segments``)."""
    feats = _numeric_features(users, features)
    label_array = _aligned_labels(labels, users)
    frame, keys = _feature_frame(users, feats, label_array)
    overall = _overall(frame, keys)
    concepts = concept_groups(users, feats)
    profiles = [
        _profile(row, keys, overall, noise_id, 4, concepts)
        for row in _per_segment(frame, keys).iter_rows(named=True)
    ]
    fixed = {sid: name for sid, name in names.items() if sid not in set(fresh)}
    named = name_segments(profiles, fixed, fresh if siblings else (), stem)
    return {sid: named[sid].text for sid in fresh if sid in named}


def merge_renamed(
    segmentation: Segmentation,
    users: pl.DataFrame,
    features: Sequence[str],
    ids: Sequence[int],
    into: int | None = None,
) -> Segmentation:
    """Merge ``ids``; the merged segment is named from its new profile, unless a person named
    the segment it keeps (then that name stays)."""
    merged = segmentation.merge(ids, into=into)
    target = merged.edits[-1].target_id  # type: ignore[union-attr]
    if target in person_named(segmentation.edits):
        return merged
    labels = merged.labels(users)
    name = fresh_names(
        users, labels, features, merged.names, [target], noise_id=segmentation.noise_id
    ).get(target)
    return merged if name is None else segmentation.merge(ids, into=into, name=name)


def split_named(
    segmentation: Segmentation,
    users: pl.DataFrame,
    features: Sequence[str],
    segment_id: int,
    sub_labels: np.ndarray | Sequence[int],
) -> Segmentation:
    """Split ``segment_id`` (one sub-label per member), each part named from what tells it
    apart: its own name when the parts' names differ, else the shared name with the trait that
    sets it apart from the other part ("Browsers (more sessions)"); a person's name for the
    segment stays the stem ("VIP (fewer sessions)")."""
    sub = np.asarray(sub_labels)
    split = segmentation.split(segment_id, sub)
    parts = split.edits[-1].part_ids  # type: ignore[union-attr]
    stem = None
    if segment_id in person_named(segmentation.edits):
        stem = segmentation.names[segment_id]
    labels = split.labels(users)
    named = fresh_names(
        users,
        labels,
        features,
        split.names,
        parts,
        noise_id=segmentation.noise_id,
        siblings=True,
        stem=stem,
    )
    members = segmentation.members(segment_id)
    by_sub: dict[int, str] = {}
    for pid in parts:
        mask = split.members(pid)[members]
        if mask.any() and pid in named:
            by_sub[sub[mask][0].item()] = named[pid]
    if len(set(by_sub.values())) != len(by_sub):
        return split
    return segmentation.split(segment_id, sub, names=by_sub)


# --------------------------------------------------------------------------------------------
# Business outcomes

REVENUE_COLUMNS = ("revenue", "monetary", "total_revenue", "spend", "total_spend")
"""Money per user, the first present counts."""
PURCHASE_COLUMNS = (
    "purchases",
    "orders",
    "n_orders",
    "order_count",
    "purchase_count",
    "event_purchase_count",
    "event_order_completed_count",
)
"""Purchase counts: conversion is the share of users with one or more (not ``frequency``: in
RFM tables it often counts repeat purchases only, 0 for a one-time buyer)."""
ACTIVE_DAYS_COLUMNS = ("active_days", "days_active")


def _first_numeric(users: pl.DataFrame, names: Sequence[str]) -> str | None:
    for name in names:
        if name in users.columns and users.schema[name].is_numeric():
            return name
    return None


def segment_outcomes(
    users: pl.DataFrame, labels: np.ndarray, clustered: Collection[str] = ()
) -> dict[int, tuple[Outcome, ...]]:
    """Revenue per user, conversion and active days per segment, where the users table has
    the columns (one ``group_by``), each beside everyone's value."""
    picks = [
        ("revenue", _first_numeric(users, REVENUE_COLUMNS)),
        ("conversion", _first_numeric(users, PURCHASE_COLUMNS)),
        ("active days", _first_numeric(users, ACTIVE_DAYS_COLUMNS)),
    ]
    picks = [(what, col) for what, col in picks if col is not None]
    if not picks or users.height == 0:
        return {}
    exprs = []
    for i, (what, col) in enumerate(picks):
        value = pl.col(col).cast(pl.Float64).fill_nan(None)
        if what == "conversion":
            exprs.append((value > 0).cast(pl.Float64).alias(f"o{i}"))
        else:
            exprs.append(value.alias(f"o{i}"))
    frame = users.select(exprs).with_columns(pl.Series("segment", labels.astype(np.int64)))
    keys = [f"o{i}" for i in range(len(picks))]
    everyone = frame.select(
        *[pl.col(k).mean().alias(f"{k}_mean") for k in keys],
        *[pl.col(k).sum().alias(f"{k}_sum") for k in keys],
    ).row(0, named=True)
    rows = frame.group_by("segment").agg(
        *[pl.col(k).mean().alias(f"{k}_mean") for k in keys],
        *[pl.col(k).sum().alias(f"{k}_sum") for k in keys],
    )
    out: dict[int, tuple[Outcome, ...]] = {}
    for row in rows.iter_rows(named=True):
        items = []
        for k, (what, col) in zip(keys, picks, strict=True):
            value, overall = _num(row[f"{k}_mean"]), _num(everyone[f"{k}_mean"])
            total = _num(everyone[f"{k}_sum"])
            share = None
            if what == "revenue" and total:
                share = (_num(row[f"{k}_sum"]) or 0.0) / total
            items.append(
                Outcome(
                    what,
                    col,
                    value,
                    overall,
                    col in clustered,
                    share,
                    _outcome_text(what, value, overall, share),
                )
            )
        out[int(row["segment"])] = tuple(items)
    return out


def _outcome_text(
    what: str, value: float | None, overall: float | None, share: float | None
) -> str:
    if what == "conversion":
        return f"conversion {percent(value, 0)} vs {percent(overall, 0)} overall"
    if what == "revenue":
        said = f"revenue {number(value)} per user vs {number(overall)} overall"
        return said if share is None else f"{said} ({percent(share, 0)} of all revenue)"
    return f"{what} {number(value)} vs {number(overall)} overall"


def outcome_lines(profiles: Sequence[SegmentProfile]) -> list[str]:
    """The business outcomes of every segment, one line each (empty when the data has none)."""
    with_outcomes = [p for p in profiles if p.outcomes]
    if not with_outcomes:
        return []
    clustered = sorted({o.what for p in with_outcomes for o in p.outcomes if o.clustered})
    kinds = sorted({o.what for p in with_outcomes for o in p.outcomes} - set(clustered))
    said = [f"not clustered on: {', '.join(kinds)}"] if kinds else []
    said += [f"clustered on: {', '.join(clustered)}"] if clustered else []
    head = f"business outcomes ({'; '.join(said)})"
    lines = [f"{head}:"]
    width = max(len(p.name) for p in with_outcomes)
    for p in with_outcomes:
        lines.append(f"  {p.name:<{width}}  " + "; ".join(o.text for o in p.outcomes))
    return lines


def _trait(feature: str, effect: float, seg: float, overall: float, lift: float | None) -> Trait:
    direction: Literal["higher", "lower"] = "higher" if effect > 0 else "lower"
    label = feature_label(feature)
    noun = label.noun
    if label.style == "days":
        text = f"{noun} {number(seg)} days vs {number(overall)} overall"
    elif label.style == "share" and 0 <= seg <= 1 and 0 <= overall <= 1:
        text = f"{percent(seg, 0)} {noun} vs {percent(overall, 0)} overall"
    elif lift is None:
        text = f"{noun} {number(seg)} vs {number(overall)} overall"
    elif seg == 0 and label.style in ("count", "amount"):
        text = f"no {noun}"
    elif seg == 0:
        text = f"{noun} 0 vs {number(overall)} overall"
    elif lift >= 1:
        more = comparative(label, higher=True)
        if lift >= 1.95:
            times = f"{lift:.0f}" if lift >= 10 else f"{lift:.1f}"
            text = f"{times}x {more} {noun}"
        else:
            text = f"{percent(lift - 1, 0)} {more} {noun}"
    else:
        fewer = comparative(label, higher=False)
        # percent() says ">99%", never a false "100% fewer": only seg == 0 (above) says none
        text = f"{percent(1 - lift, 0)} {fewer} {noun}"
    return Trait(feature, direction, effect, seg, overall, lift, text)
