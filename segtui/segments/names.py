"""Segment names: the one unique-name rule, and names generated from a segment's traits.

:func:`unique_name` makes a name unique: ``Name``, else ``Name 2``, ``Name 3``, ... Generated
names, rule segments a person adds, rule segments carried over a refit and split halves all go
through it, so a person sees the same suffix wherever a name was taken, and a pipeline reading
``segment`` never meets two spellings of the same idea.

:func:`generate_names` turns traits into names ("Cart abandoners", "Loyal premium buyers") using a
small table of patterns over well-known feature names, falling back to a name composed from the
top traits ("High add_to_cart, low purchases") for any other users table. A segment with no
trait is "Typical users" ("Everyone" when it holds every user): a name needs a contrast.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from segtui.segments.wording import (
    MIN_COVERAGE,
    TRAIT_MIN_EFFECT,
    comparative,
    display_name,
    feature_label,
)

if TYPE_CHECKING:
    from segtui.segments.profiles import SegmentProfile

NOISE_NAME = "Noise (unassigned)"
"""The name of the users a density clustering leaves unassigned."""
TYPICAL_NAME = "Typical users"
"""A segment with no trait: it looks like everyone (a pattern name would be made up)."""
EVERYONE_NAME = "Everyone"
"""A segment holding every user: there is no one else to differ from."""
HIGH = 0.5
"""|effect| from which a pattern calls a feature high or low. A trait-sized effect
(TRAIT_MIN_EFFECT) also counts when the lift is at least 2 (high) or at most 0.5 (low): a few
extreme users inflate the overall standard deviation of skewed counts and recency."""


def unique_name(name: str, taken: Collection[str]) -> str:
    """``name`` if it is free, else ``name 2``, ``name 3``... the first one not in ``taken``.

    >>> unique_name("Browsers", {"Browsers", "Browsers 2"})
    'Browsers 3'
    """
    if name not in taken:
        return name
    i = 2
    while f"{name} {i}" in taken:
        i += 1
    return f"{name} {i}"


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


def _base_name(profile: SegmentProfile) -> tuple[str, set[str]]:
    """The name a segment would get on its own, and the features that name speaks of."""
    if profile.is_noise:
        return NOISE_NAME, set()
    if not profile.traits:
        return (EVERYONE_NAME if profile.share >= 1.0 else TYPICAL_NAME), set()
    match = _match_pattern(profile)
    if match is not None:
        return match[0], match[2]
    return _composed_name(profile), {t.feature for t in profile.traits[:2]}


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
        base, used = _base_name(profile)
        holder = holders.get(base)
        qualifier = None
        if holder is not None and not profile.is_noise:
            qualifier = _differentiator(profile, holder, used)
        qualified = f"{base} ({qualifier})" if qualifier is not None else None
        name = qualified if qualified and qualified not in taken else unique_name(base, taken)
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
    return f"{comparative(label, higher=gap > 0)} {label.noun}"
