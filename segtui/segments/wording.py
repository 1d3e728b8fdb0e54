"""How segtui speaks about features, and what counts as a difference worth saying.

Shared by the traits of :mod:`segtui.segments.profiles` ("3.1x more cart adds") and the names of
:mod:`segtui.segments.names` ("Cart abandoners (more page views)"): the noun people use for a
feature and how its values read, and the thresholds from which a difference is a trait.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

TRAIT_MIN_EFFECT = 0.25
"""Smallest |effect| (in overall standard deviations) that counts as a trait."""

NAME_MIN_EFFECT = 0.5
"""Smallest |effect| from which a name may speak of a feature (a trait-sized effect counts too
when the ratio is at least 2 or at most 0.5: a few extreme users inflate the standard deviation
of skewed counts and recency)."""

MIN_RATIO = {"trait": 1.1, "name": 1.25}
"""A difference must also be large in absolute terms, not only in standard deviations: the
segment mean over the overall mean at least this (or at most its inverse). A tenure of 475 days
against 502 overall is 0.95: no contrast, however small the spread."""

MIN_SHARE_GAP = {"trait": 0.03, "name": 0.08}
"""For shares (0..1) the gap in points must be at least this too (12% night activity against 8%
is a ratio of 1.5 but no persona)."""

SHARE_MULTIPLE = 3.0
"""A share this many times everyone's (or at most its inverse) needs only the trait's gap to
name a segment: invites that are 9% of a segment's events against 1.6% overall are what the
segment does, though the gap is under 8 points."""

NO_RATIO_EFFECT = {"trait": TRAIT_MIN_EFFECT, "name": 0.8}
"""For features that can be negative (no ratio), the |effect| needed instead."""

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
    "top_category_share": FeatureLabel("top-category share", "share"),
    "category_other_share": FeatureLabel("other categories share", "share"),
    # time
    "weekend_share": FeatureLabel("weekend activity", "share"),
    "night_share": FeatureLabel("night activity", "share"),
    "winter_share": FeatureLabel("winter activity", "share"),
    "summer_share": FeatureLabel("summer activity", "share"),
    "winter_purchase_share": FeatureLabel("winter purchases", "share"),
    "activity_trend": FeatureLabel("activity trend", "level"),
}


GENERATED = (
    (re.compile(r"^event_(.+)_(count|share|per_session)$"), "event"),
    (re.compile(r"^category_(.+)_(share|duration_s)$"), "category"),
)
"""The names generated features follow (segtui.features): per event name its count, share of the
user's events and rate per session; per top category its share and time spent."""


@dataclass(frozen=True)
class Generated:
    """A generated feature read back from its name: ``kind`` event or category, the normalised
    ``ident`` (``video_played``) and what it measures (``share``)."""

    kind: Literal["event", "category"]
    ident: str
    measure: str

    @property
    def words(self) -> str:
        """``video played``: the identifier as people read it."""
        return self.ident.replace("_", " ").strip()


def generated(feature: str) -> Generated | None:
    """What a generated feature name says (None for any other name)."""
    for pattern, kind in GENERATED:
        match = pattern.match(feature)
        if match is not None:
            return Generated(kind, match.group(1), match.group(2))  # type: ignore[arg-type]
    return None


def _generated_label(gen: Generated) -> FeatureLabel:
    if gen.kind == "category":
        if gen.measure == "duration_s":
            return FeatureLabel(f"time on {gen.words}", "amount")
        return FeatureLabel(f"{gen.words} share", "share")
    if gen.measure == "count":
        return FeatureLabel(f"{gen.words} events", "count")
    if gen.measure == "share":
        return FeatureLabel(f"{gen.words} share", "share")
    return FeatureLabel(f"{gen.words} per session", "level")


def feature_label(feature: str) -> FeatureLabel:
    """The label for a known feature; other columns are spoken of by their own name."""
    known = FEATURE_LABELS.get(feature)
    if known is not None:
        return known
    gen = generated(feature)
    if gen is not None:
        return _generated_label(gen)
    if feature.endswith("_days"):
        return FeatureLabel(feature, "days")
    return FeatureLabel(feature, "level")


def display_name(feature: str) -> str:
    """The words people read for a feature ("cart adds" for add_to_cart)."""
    return feature_label(feature).noun


def comparative(label: FeatureLabel, higher: bool) -> str:
    """How a difference reads: "more"/"fewer" cart adds, "more"/"less" revenue, "higher"/"lower"
    for levels, days and shares."""
    if label.style == "count":
        return "more" if higher else "fewer"
    if label.style == "amount":
        return "more" if higher else "less"
    return "higher" if higher else "lower"


def is_material(
    mean: float | None,
    overall: float | None,
    lift: float | None,
    effect: float | None,
    label: FeatureLabel,
    level: Literal["trait", "name"],
) -> bool:
    """Whether a segment mean differs from everyone's in absolute terms (see MIN_RATIO,
    MIN_SHARE_GAP, NO_RATIO_EFFECT): the standardized effect is checked by the caller."""
    if mean is None or overall is None or effect is None:
        return False
    if label.style == "share" and 0 <= mean <= 1 and 0 <= overall <= 1:
        gap = abs(mean - overall)
        multiple = lift is not None and (lift >= SHARE_MULTIPLE or lift <= 1 / SHARE_MULTIPLE)
        if gap < MIN_SHARE_GAP["trait" if multiple else level]:
            return False
        if gap >= 2 * MIN_SHARE_GAP[level] + 0.04:
            return True  # 40% against 20% reads as a difference whatever the ratio
    if lift is None:
        return abs(effect) >= NO_RATIO_EFFECT[level]
    ratio = MIN_RATIO[level]
    return lift >= ratio or lift <= 1 / ratio
