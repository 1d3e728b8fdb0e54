"""Segment profiles: what each segment looks like, in words a marketer reads, and a name for it.

For each segment: size, share, mean and median of each feature, lift against everyone, a
standardized effect size per feature, and the top distinguishing traits as readable text
("3.1x more cart adds", "no purchases", "45% fewer sessions", "recency 12 days vs 80 overall").
:func:`generate_names` turns traits into names ("Cart abandoners", "Loyal premium buyers") using a
small table of patterns over well-known feature names, falling back to a name composed from the
top traits ("High add_to_cart, low purchases") for any other users table. A segment with no
trait is "Typical users" ("Everyone" when it holds every user): a name needs a contrast.

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

Everything is one ``group_by`` over the users table plus one overall ``select``: linear in users.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import polars as pl

from segtui.errors import InputError

NOISE_NAME = "Noise (unassigned)"
TYPICAL_NAME = "Typical users"
"""A segment with no trait: it looks like everyone (a pattern name would be made up)."""
EVERYONE_NAME = "Everyone"
"""A segment holding every user: there is no one else to differ from."""
TRAIT_MIN_EFFECT = 0.25
"""Smallest |effect| (in overall standard deviations) that counts as a trait."""
HIGH = 0.5
"""|effect| from which a pattern calls a feature high or low. A trait-sized effect
(TRAIT_MIN_EFFECT) also counts when the lift is at least 2 (high) or at most 0.5 (low): a few
extreme users inflate the overall standard deviation of skewed counts and recency."""

MIN_COVERAGE = 0.5
"""A feature says something about a segment (trait, name) only when at least this share of its
users has a value: "100% cart abandonment" over the 3 of 500 browsers who added to cart is noise."""

Style = Literal["count", "amount", "level", "days", "share"]


@dataclass(frozen=True)
class FeatureLabel:
    """How to speak about a feature: the noun people use and how its values read."""

    noun: str
    style: Style


FEATURE_LABELS: Mapping[str, FeatureLabel] = {
    # activity
    "events": FeatureLabel("events", "count"),
    "event_count": FeatureLabel("events", "count"),
    "sessions": FeatureLabel("sessions", "count"),
    "active_days": FeatureLabel("active days", "count"),
    "events_per_session": FeatureLabel("events per session", "level"),
    "events_per_active_day": FeatureLabel("events per active day", "level"),
    "days_since_last_event": FeatureLabel("days since last visit", "days"),
    "tenure_days": FeatureLabel("tenure", "days"),
    "days_since_first": FeatureLabel("tenure", "days"),
    # engagement
    "page_views": FeatureLabel("page views", "count"),
    "product_views": FeatureLabel("product views", "count"),
    "searches": FeatureLabel("searches", "count"),
    "form_submits": FeatureLabel("form submits", "count"),
    "avg_duration_s": FeatureLabel("time on page", "level"),
    "total_duration_s": FeatureLabel("time on site", "amount"),
    "avg_scroll_depth": FeatureLabel("scroll depth", "share"),
    "scroll_depth": FeatureLabel("scroll depth", "share"),
    "deep_scroll_share": FeatureLabel("deep scrolls", "share"),
    # funnel
    "add_to_cart": FeatureLabel("cart adds", "count"),
    "remove_from_cart": FeatureLabel("cart removals", "count"),
    "checkouts": FeatureLabel("checkouts", "count"),
    "cart_abandonment": FeatureLabel("cart abandonment", "share"),
    "view_to_cart_rate": FeatureLabel("view-to-cart rate", "share"),
    "cart_to_purchase_rate": FeatureLabel("cart-to-purchase rate", "share"),
    "checkout_to_purchase_rate": FeatureLabel("checkout-to-purchase rate", "share"),
    "conversion_rate": FeatureLabel("conversion", "share"),
    # value
    "purchases": FeatureLabel("purchases", "count"),
    "orders": FeatureLabel("orders", "count"),
    "frequency": FeatureLabel("purchase frequency", "level"),
    "refunds": FeatureLabel("refunds", "count"),
    "revenue": FeatureLabel("revenue", "amount"),
    "monetary": FeatureLabel("spend", "amount"),
    "total_revenue": FeatureLabel("revenue", "amount"),
    "avg_order_value": FeatureLabel("order value", "level"),
    "aov": FeatureLabel("order value", "level"),
    "max_purchase_revenue": FeatureLabel("largest purchase", "level"),
    "recency_days": FeatureLabel("recency", "days"),
    "recency": FeatureLabel("recency", "days"),
    "purchase_span_days": FeatureLabel("purchase span", "days"),
    "items_purchased": FeatureLabel("items bought", "count"),
    "quantity": FeatureLabel("items bought", "count"),
    "avg_purchase_price": FeatureLabel("item price", "level"),
    "avg_price": FeatureLabel("item price", "level"),
    "refund_rate": FeatureLabel("refund rate", "share"),
    "refund_share": FeatureLabel("refunds", "share"),
    "discount_share": FeatureLabel("discounted purchases", "share"),
    # interest
    "category_diversity": FeatureLabel("categories", "count"),
    "distinct_categories": FeatureLabel("categories", "count"),
    "categories_purchased": FeatureLabel("categories bought", "count"),
    "distinct_items": FeatureLabel("distinct items", "count"),
    "avg_price_viewed": FeatureLabel("price viewed", "level"),
    "max_price_viewed": FeatureLabel("top price viewed", "level"),
    "search_share": FeatureLabel("searching", "share"),
    # time
    "weekend_share": FeatureLabel("weekend activity", "share"),
    "night_share": FeatureLabel("night activity", "share"),
    "winter_share": FeatureLabel("winter activity", "share"),
    "summer_share": FeatureLabel("summer activity", "share"),
    "winter_purchase_share": FeatureLabel("winter purchases", "share"),
    "activity_trend": FeatureLabel("activity trend", "level"),
}


def feature_label(feature: str) -> FeatureLabel:
    """The label for a known feature; other columns are spoken of by their own name."""
    known = FEATURE_LABELS.get(feature)
    if known is not None:
        return known
    if feature.endswith("_days"):
        return FeatureLabel(feature, "days")
    return FeatureLabel(feature, "level")


def display_name(feature: str) -> str:
    """The words people read for a feature ("cart adds" for add_to_cart)."""
    return feature_label(feature).noun


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


def profile_segments(
    users: pl.DataFrame,
    labels: np.ndarray | Sequence[int],
    features: Sequence[str],
    names: Mapping[int, str] | None = None,
    noise_id: int | None = None,
    top_traits: int = 4,
) -> list[SegmentProfile]:
    """Profile every segment in ``labels`` (one label per row of ``users``), ordered by id.

    ``names`` gives segment names; ids it leaves out are named by :func:`generate_names`.
    """
    feats = _numeric_features(users, features)
    label_array = np.asarray(labels)
    if label_array.ndim != 1 or label_array.size != users.height:
        raise InputError(
            f"{label_array.size} labels for {users.height} users: they must be aligned"
        )
    if users.height == 0:
        return []
    cols = [pl.col(f).cast(pl.Float64).fill_nan(None).alias(f"f{i}") for i, f in enumerate(feats)]
    frame = users.select(cols).with_columns(pl.Series("segment", label_array.astype(np.int64)))
    keys = [f"f{i}" for i in range(len(feats))]
    overall = frame.select(
        *[pl.col(k).mean().alias(f"{k}_mean") for k in keys],
        *[pl.col(k).median().alias(f"{k}_median") for k in keys],
        *[pl.col(k).std(ddof=0).alias(f"{k}_std") for k in keys],
        *[pl.col(k).min().alias(f"{k}_min") for k in keys],
    ).row(0, named=True)
    grouped = (
        frame.group_by("segment")
        .agg(
            pl.len().alias("size"),
            *[pl.col(k).mean().alias(f"{k}_mean") for k in keys],
            *[pl.col(k).median().alias(f"{k}_median") for k in keys],
            *[pl.col(k).count().alias(f"{k}_count") for k in keys],
        )
        .sort("segment")
    )
    total = users.height
    overall_mean = {f: _num(overall[f"{k}_mean"]) for f, k in zip(feats, keys, strict=True)}
    overall_median = {f: _num(overall[f"{k}_median"]) for f, k in zip(feats, keys, strict=True)}
    profiles: list[SegmentProfile] = []
    for row in grouped.iter_rows(named=True):
        sid = int(row["segment"])
        mean: dict[str, float | None] = {}
        median: dict[str, float | None] = {}
        lift: dict[str, float | None] = {}
        effect: dict[str, float | None] = {}
        coverage: dict[str, float] = {}
        candidates: list[Trait] = []
        for f, k in zip(feats, keys, strict=True):
            m, o = _num(row[f"{k}_mean"]), overall_mean[f]
            std, low = _num(overall[f"{k}_std"]), _num(overall[f"{k}_min"])
            mean[f] = m
            median[f] = _num(row[f"{k}_median"])
            coverage[f] = int(row[f"{k}_count"]) / int(row["size"])
            ratio_ok = m is not None and o is not None and o > 0 and low is not None and low >= 0
            lift[f] = m / o if ratio_ok else None  # type: ignore[operator]
            if m is None or o is None or std is None or std <= 1e-12 * max(1.0, abs(o)):
                effect[f] = None
                continue
            effect[f] = (m - o) / std
            if abs(effect[f]) >= TRAIT_MIN_EFFECT and coverage[f] >= MIN_COVERAGE:
                candidates.append(_trait(f, effect[f], m, o, lift[f]))
        candidates.sort(key=lambda t: -abs(t.effect))
        profiles.append(
            SegmentProfile(
                segment_id=sid,
                name="",
                size=int(row["size"]),
                share=int(row["size"]) / total,
                is_noise=noise_id is not None and sid == noise_id,
                mean=mean,
                median=median,
                overall_mean=dict(overall_mean),
                overall_median=dict(overall_median),
                lift=lift,
                effect=effect,
                coverage=coverage,
                traits=tuple(candidates[:top_traits]),
            )
        )
    generated = generate_names(profiles)
    given = dict(names or {})
    return [replace(p, name=given.get(p.segment_id, generated[p.segment_id])) for p in profiles]


def _fmt(value: float) -> str:
    """Short human number: 12, 3.4, 0.25, 1.2k."""
    a = abs(value)
    if a >= 10_000:
        return f"{value / 1000:,.0f}k"
    if a >= 100:
        return f"{value:,.0f}"
    if a >= 10:
        return f"{value:.0f}"
    if a >= 1:
        return f"{value:.1f}".removesuffix(".0")
    return f"{value:.2g}"


def _trait(feature: str, effect: float, seg: float, overall: float, lift: float | None) -> Trait:
    direction: Literal["higher", "lower"] = "higher" if effect > 0 else "lower"
    label = feature_label(feature)
    noun = label.noun
    if label.style == "days":
        text = f"{noun} {_fmt(seg)} days vs {_fmt(overall)} overall"
    elif label.style == "share" and 0 <= seg <= 1 and 0 <= overall <= 1:
        text = f"{seg:.0%} {noun} vs {overall:.0%} overall"
    elif lift is None:
        text = f"{noun} {_fmt(seg)} vs {_fmt(overall)} overall"
    elif seg == 0 and label.style in ("count", "amount"):
        text = f"no {noun}"
    elif seg == 0:
        text = f"{noun} 0 vs {_fmt(overall)} overall"
    elif lift >= 1:
        more = "more" if label.style in ("count", "amount") else "higher"
        if lift >= 1.95:
            times = f"{lift:.0f}" if lift >= 10 else f"{lift:.1f}"
            text = f"{times}x {more} {noun}"
        else:
            text = f"{(lift - 1) * 100:.0f}% {more} {noun}"
    else:
        fewer = {"count": "fewer", "amount": "less"}.get(label.style, "lower")
        drop = (1 - lift) * 100
        # "100% fewer" would claim none at all; only seg == 0 (above) says that.
        share = ">99" if drop > 99.5 else f"{drop:.0f}"
        text = f"{share}% {fewer} {noun}"
    return Trait(feature, direction, effect, seg, overall, lift, text)


# --------------------------------------------------------------------------------------------
# Names

CONCEPTS: Mapping[str, tuple[str, ...]] = {
    "buys": ("orders", "purchases", "frequency", "n_orders", "order_count", "purchase_count"),
    "carts": ("add_to_cart", "cart_adds", "n_add_to_cart"),
    "views": ("product_views", "page_views", "views", "pageviews"),
    "activity": ("events", "sessions", "event_count", "active_days", "n_events"),
    "spend": ("revenue", "monetary", "total_revenue", "spend", "total_spend", "ltv"),
    "aov": ("avg_order_value", "aov", "average_order_value", "avg_basket_value"),
    "price": ("avg_purchase_price", "avg_price", "avg_item_price"),
    "items": ("items_purchased", "items_bought", "quantity"),
    "recency": ("recency_days", "recency", "days_since_last_purchase"),
    "last_seen": ("days_since_last_event", "days_since_last", "recency_days", "recency"),
    "tenure": ("tenure_days", "days_since_first", "tenure"),
    "abandon": ("cart_abandonment", "cart_abandonment_rate", "abandonment_rate"),
    "searches": ("searches", "search_share", "search_count", "n_searches"),
    "refunds": ("refunds", "refund_rate", "refund_share"),
    "discount": ("discount_share", "discount_rate", "coupon_share"),
    "winter": ("winter_share", "winter_purchase_share"),
    "summer": ("summer_share",),
    "weekend": ("weekend_share",),
    "night": ("night_share",),
}
"""Well-known ideas and the feature names they go by (the strongest one present counts)."""

Test = Literal["high", "low", "none", "notlow", "some", "one"]


@dataclass(frozen=True)
class NamePattern:
    """A name and the conditions a segment must meet for it: (concept, test) pairs."""

    name: str
    conditions: tuple[tuple[str, Test], ...]


NAME_PATTERNS: tuple[NamePattern, ...] = (
    NamePattern("Loyal premium buyers", (("buys", "high"), ("aov", "high"), ("recency", "low"))),
    NamePattern("Loyal premium buyers", (("buys", "high"), ("price", "high"), ("recency", "low"))),
    NamePattern("Loyal buyers", (("buys", "high"), ("recency", "low"))),
    NamePattern("Big spenders", (("spend", "high"), ("aov", "high"))),
    NamePattern("Big spenders", (("spend", "high"),)),
    NamePattern("Premium buyers", (("aov", "high"), ("buys", "some"))),
    NamePattern("Bargain hunters", (("price", "low"), ("items", "high"))),
    NamePattern("Bargain hunters", (("price", "low"), ("buys", "high"))),
    NamePattern("Bargain hunters", (("aov", "low"), ("buys", "high"))),
    NamePattern("Bargain hunters", (("discount", "high"),)),
    NamePattern("Cart abandoners", (("carts", "high"), ("buys", "none"))),
    NamePattern("Cart abandoners", (("carts", "high"), ("buys", "low"))),
    NamePattern("Cart abandoners", (("abandon", "high"), ("carts", "notlow"))),
    NamePattern("Browsers", (("views", "high"), ("buys", "none"))),
    NamePattern("Browsers", (("views", "high"), ("buys", "low"))),
    NamePattern("One-time buyers", (("buys", "one"), ("last_seen", "high"))),
    NamePattern("One-time buyers", (("buys", "one"),)),
    NamePattern("Frequent buyers", (("buys", "high"),)),
    NamePattern("Lapsed buyers", (("recency", "high"), ("buys", "some"))),
    NamePattern("Lapsed users", (("last_seen", "high"),)),
    NamePattern("New users", (("tenure", "low"),)),
    NamePattern("Serial returners", (("refunds", "high"),)),
    NamePattern("Searchers", (("searches", "high"),)),
    NamePattern("Winter shoppers", (("winter", "high"),)),
    NamePattern("Summer shoppers", (("summer", "high"),)),
    NamePattern("Weekend shoppers", (("weekend", "high"),)),
    NamePattern("Night owls", (("night", "high"),)),
    NamePattern("Power users", (("activity", "high"),)),
    NamePattern("Casual visitors", (("activity", "low"), ("buys", "none"))),
    NamePattern("Casual visitors", (("activity", "low"),)),
)
"""Checked against every segment; the match with the largest summed |effect| names it. Every
pattern needs a contrast with everyone (a high or low feature; "one" is gated on one, see
:func:`_one_time_contrast`), so a segment that looks like everyone never gets a behavioral name."""


def _concept_features(profile: SegmentProfile, concept: str) -> list[str]:
    return [feature for feature in CONCEPTS[concept] if feature in profile.mean]


def _condition_score(profile: SegmentProfile, feature: str, test: Test) -> float | None:
    """How strongly ``test`` holds for ``feature`` (None: it does not hold)."""
    if profile.coverage.get(feature, 1.0) < MIN_COVERAGE:
        return None
    effect = profile.effect.get(feature)
    mean = profile.mean.get(feature)
    overall = profile.overall_mean.get(feature)
    lift = profile.lift.get(feature)
    if test == "high":
        if effect is None:
            return None
        strong = effect >= HIGH or (effect >= TRAIT_MIN_EFFECT and lift is not None and lift >= 2)
        return effect if strong else None
    if test == "low":
        if effect is None:
            return None
        strong = effect <= -HIGH or (
            effect <= -TRAIT_MIN_EFFECT and lift is not None and lift <= 0.5
        )
        return -effect if strong else None
    if test == "none":
        if mean is None or overall is None or overall <= 0 or effect is None:
            return None
        return -effect if mean <= 0.05 * overall else None
    if test == "notlow":
        return 0.0 if effect is not None and effect > -TRAIT_MIN_EFFECT else None
    if test == "some":
        return 0.0 if mean is not None and mean > 0 else None
    if test == "one":
        median = profile.median.get(feature)
        if median != 1 or mean is None or mean > 1.5:
            return None
        if profile.share > 0.5 and profile.overall_median.get(feature) != 1:
            return None  # most users: their median is everyone's, not a trait of theirs
        if not _one_time_contrast(profile, feature):
            return None
        return max(0.5, abs(effect or 0.0))
    return None


def _one_time_contrast(profile: SegmentProfile, feature: str) -> bool:
    """Whether a segment whose typical user bought once stands apart from everyone.

    A median of one order says nothing on its own (it is everyone's median on many shops): the
    segment must also buy clearly fewer (or, among mostly non-buyers, more) times than everyone,
    be less active, or have been away longer. Only a gate: the strength of those contrasts
    counts once, in the patterns that name them ("last_seen high", "Casual visitors").
    """
    checks = [
        (feature, "low"),
        (feature, "high"),
        *[(f, "low") for f in _concept_features(profile, "activity")],
        *[(f, "high") for c in ("recency", "last_seen") for f in _concept_features(profile, c)],
    ]
    return any(_condition_score(profile, f, test) is not None for f, test in checks)


def _match_pattern(profile: SegmentProfile) -> tuple[str, float, set[str]] | None:
    """The best-scoring pattern: each condition holds for some feature of its concept (the
    strongest one counts); the score is the sum over conditions."""
    best: tuple[str, float, set[str]] | None = None
    for pattern in NAME_PATTERNS:
        score = 0.0
        used: set[str] = set()
        for concept, test in pattern.conditions:
            held = [
                (value, feature)
                for feature in _concept_features(profile, concept)
                if (value := _condition_score(profile, feature, test)) is not None
            ]
            if not held:
                break
            value, feature = max(held, key=lambda item: item[0])
            score += value
            used.add(feature)
        else:
            if best is None or score > best[1] + 1e-12:
                best = (pattern.name, score, used)
    return best


def _composed_name(profile: SegmentProfile) -> str:
    words = [
        f"{'high' if t.direction == 'higher' else 'low'} {display_name(t.feature)}"
        for t in profile.traits[:2]
    ]
    if not words:
        return TYPICAL_NAME
    text = ", ".join(words)
    return text[0].upper() + text[1:]


def generate_names(profiles: Sequence[SegmentProfile]) -> dict[int, str]:
    """A readable, unique name per segment id, from its traits.

    Noise is "Noise (unassigned)"; a segment with no trait is "Typical users" ("Everyone" when it
    holds every user), whatever a pattern would say. Larger segments pick first; a later segment
    whose name is taken gets the feature that most sets it apart from the segment holding that
    name, in parentheses ("Cart abandoners (more page views)"), else a number ("Cart abandoners 2").
    """
    order = sorted(profiles, key=lambda p: (p.is_noise, -p.size, p.segment_id))
    taken: set[str] = set()
    holders: dict[str, SegmentProfile] = {}
    names: dict[int, str] = {}
    for profile in order:
        if profile.is_noise:
            base, used = NOISE_NAME, set()
        elif not profile.traits:
            base, used = (EVERYONE_NAME if profile.share >= 1.0 else TYPICAL_NAME), set()
        else:
            match = _match_pattern(profile)
            if match is not None:
                base, _, used = match
            else:
                base, used = _composed_name(profile), {t.feature for t in profile.traits[:2]}
        name = base
        holder = holders.get(base)
        if holder is not None and not profile.is_noise:
            qualifier = _differentiator(profile, holder, used)
            if qualifier is not None and f"{base} ({qualifier})" not in taken:
                name = f"{base} ({qualifier})"
        i = 2
        while name in taken:
            name = f"{base} {i}"
            i += 1
        taken.add(name)
        holders.setdefault(base, profile)
        names[profile.segment_id] = name
    return names


def _differentiator(profile: SegmentProfile, other: SegmentProfile, skip: set[str]) -> str | None:
    """'more page views' / 'lower order value': the feature most unlike ``other`` (>= 0.25 sd)."""
    best: tuple[float, str] | None = None
    for feature, effect in profile.effect.items():
        theirs = other.effect.get(feature)
        if feature in skip or effect is None or theirs is None:
            continue
        gap = effect - theirs
        if abs(gap) >= TRAIT_MIN_EFFECT and (best is None or abs(gap) > abs(best[0])):
            best = (gap, feature)
    if best is None:
        return None
    gap, feature = best
    label = feature_label(feature)
    if label.style == "count":
        word = "more" if gap > 0 else "fewer"
    elif label.style == "amount":
        word = "more" if gap > 0 else "less"
    else:
        word = "higher" if gap > 0 else "lower"
    return f"{word} {label.noun}"


# --------------------------------------------------------------------------------------------
# Why is this user here?


def explain_user(
    users: pl.DataFrame,
    labels: np.ndarray | Sequence[int],
    user_id: str,
    features: Sequence[str],
    names: Mapping[int, str] | None = None,
    X: np.ndarray | None = None,
    top: int = 3,
) -> list[str]:
    """Readable lines on why ``user_id`` sits in its segment.

    The features listed are those where the user is much closer to its segment's mean than to
    everyone's (in overall standard deviations). With the prepared matrix ``X`` (rows aligned
    with ``users``) it also names the nearest and second-nearest segment centres.
    """
    feats = _numeric_features(users, features)
    label_array = np.asarray(labels)
    if label_array.size != users.height:
        raise InputError(
            f"{label_array.size} labels for {users.height} users: they must be aligned"
        )
    hits = np.flatnonzero((users["user_id"].cast(pl.Utf8) == str(user_id)).to_numpy())
    if hits.size == 0:
        raise InputError(f"no user '{user_id}' in the users table", column="user_id")
    row = int(hits[0])
    sid = int(label_array[row])
    seg_names = dict(names or {})
    seg_name = seg_names.get(sid, f"segment {sid}")
    values = users.select([pl.col(f).cast(pl.Float64).fill_nan(None) for f in feats]).with_columns(
        pl.Series("segment", label_array.astype(np.int64))
    )
    in_seg = values.filter(pl.col("segment") == sid)
    stats = values.select(
        *[pl.col(f).mean().alias(f"{f}\0o") for f in feats],
        *[pl.col(f).std(ddof=0).alias(f"{f}\0s") for f in feats],
    ).row(0, named=True)
    seg_means = in_seg.select([pl.col(f).mean() for f in feats]).row(0, named=True)
    mine = values.row(row, named=True)
    scored: list[tuple[float, str]] = []
    for f in feats:
        u, m, o, s = mine[f], _num(seg_means[f]), _num(stats[f"{f}\0o"]), _num(stats[f"{f}\0s"])
        if u is None or m is None or o is None or not s:
            continue
        pull = (abs(u - o) - abs(u - m)) / s
        if pull > 0:
            line = f"{display_name(f)} {_fmt(u)} (segment average {_fmt(m)}, everyone {_fmt(o)})"
            scored.append((pull, line))
    scored.sort(key=lambda item: -item[0])
    lines = [f"{user_id} is in '{seg_name}' ({in_seg.height} users)"]
    lines += [f"  {line}" for _, line in scored[:top]]
    if X is not None:
        matrix = np.asarray(X, dtype=np.float64)
        if matrix.shape[0] != users.height:
            raise InputError("the prepared matrix and the users table differ in rows")
        ids, inverse, counts = np.unique(label_array, return_inverse=True, return_counts=True)
        sums = np.zeros((ids.size, matrix.shape[1]))
        np.add.at(sums, inverse, matrix)
        centres = sums / counts[:, None]
        dist = np.linalg.norm(centres - matrix[row], axis=1)
        order = np.argsort(dist, kind="stable")
        parts = [
            f"'{seg_names.get(int(ids[i]), f'segment {int(ids[i])}')}' ({dist[i]:.2f})"
            for i in order[:2]
        ]
        lines.append("  nearest segment centres: " + ", then ".join(parts))
    return lines
