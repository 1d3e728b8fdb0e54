"""The feature catalog: every per-user feature declared as plain data.

A feature is a :class:`FeatureSpec`: a name people and pipelines rely on, a family, a description,
the canonical columns it needs, a default transform for clustering, an aggregation built from a few
kinds (:class:`Agg`) and what a user without the relevant events gets. Nothing here runs polars:
``segtui.features.compile`` turns declarations into one lazy ``group_by``; because they are data
they can also be shown to a person, written to a model file, read from a user's TOML file, or
rendered as SQL later.

Aggregation kinds (``Agg.kind``):

- ``count``: events matching ``where``.
- ``sum``, ``mean``, ``max``, ``min``: of ``column`` over events matching ``where`` (nulls ignored;
  ``ts`` works too and is read as microseconds since the epoch).
- ``distinct``: distinct non-null values of ``column`` over events matching ``where``.
- ``share``: events matching ``where`` and ``match`` / events matching ``where``.
- ``ratio``: first operand / second operand; null when the second is 0 or null.
- ``difference``: first operand - second operand. ``add``: sum of the operands.
- ``days_since``: fractional days from the user's ``last`` (or ``first``) event matching ``where``
  to the reference time.
- ``span_days``: fractional days between the user's first and last event matching ``where``.

Operands of ``ratio``/``difference``/``add`` are feature names (looked up in the catalog or the
user's file) or nested :class:`Agg` declarations. Filters (:class:`Filter`) compare a column, or a
UTC time part of ``ts`` (``ts.hour``, ``ts.weekday`` with Monday = 1, ``ts.month``), with a value.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from segtui.errors import InputError
from segtui.fileio import toml_text
from segtui.ingest.mapping import CANONICAL_COLUMNS

FAMILIES: tuple[str, ...] = ("activity", "engagement", "funnel", "value", "interest", "time")
TRANSFORMS: tuple[str, ...] = ("log1p", "none")
FILLS: tuple[str, ...] = ("median", "zero", "max", "min")
"""How clustering fills a missing (null) value of a feature, decided per feature:

- ``median``: the value is merely unknown (no duration recorded): a typical value says least.
- ``zero``: a rate or average of things that never happened, where 0 reads right (no cart adds:
  nothing was abandoned). 0 is taken in the transformed space (the transform of 0).
- ``max``: recency-like; never happened = at least as long ago as the longest observed.
- ``min``: the other end, for features where "never" means the smallest value.
"""
AGG_KINDS: tuple[str, ...] = (
    "count",
    "sum",
    "mean",
    "max",
    "min",
    "distinct",
    "share",
    "ratio",
    "difference",
    "add",
    "days_since",
    "span_days",
)
FILTER_OPS: tuple[str, ...] = (
    "in",
    "not_in",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "is_null",
    "not_null",
)
# UTC parts of ``ts`` usable as a column: hour 0-23, ISO weekday (Monday = 1), month 1-12, and
# the date as whole days since 1970-01-01.
TIME_PARTS: tuple[str, ...] = ("ts.hour", "ts.weekday", "ts.month", "ts.date")
# Columns every canonical event frame has (required by loading); never a reason to leave a
# feature out. ``session_id`` is always present after loading too, but is checked like any other
# column so a hand-built frame without it gets a clear reason.
ALWAYS_PRESENT: tuple[str, ...] = ("user_id", "ts", "event")
# The canonical columns (segtui.ingest.mapping owns the list).
KNOWN_COLUMNS: tuple[str, ...] = CANONICAL_COLUMNS
NUMERIC_COLUMNS: tuple[str, ...] = (
    "ts",
    "price",
    "quantity",
    "revenue",
    "duration_s",
    "scroll_depth",
)

Scalar = str | int | float


@dataclass(frozen=True)
class Filter:
    """One condition on an event: ``column op value`` (``value`` is a tuple for in/not_in)."""

    column: str
    op: str
    value: Scalar | tuple[Scalar, ...] | None = None

    def columns(self) -> set[str]:
        """Canonical columns this filter reads (a time part reads ``ts``)."""
        return {"ts" if self.column in TIME_PARTS else self.column}

    def describe(self) -> str:
        """Human-readable condition, e.g. ``event in {purchase, refund}``."""
        if self.op in ("is_null", "not_null"):
            return f"{self.column} {'is' if self.op == 'is_null' else 'is not'} null"
        if isinstance(self.value, tuple):
            return (
                f"{self.column} {self.op.replace('_', ' ')} {{{', '.join(map(str, self.value))}}}"
            )
        return f"{self.column} {self.op} {self.value}"


def event_in(*names: str) -> Filter:
    """Shorthand for the most common filter: the event is one of ``names``."""
    return Filter("event", "in", tuple(names))


@dataclass(frozen=True)
class Agg:
    """An aggregation over one user's events, declared as data (see the module docstring)."""

    kind: str
    column: str | None = None
    where: tuple[Filter, ...] = ()
    match: tuple[Filter, ...] = ()
    operands: tuple[Agg | str, ...] = ()
    stat: str = "last"

    def columns(self) -> set[str]:
        """Canonical columns read directly (not through feature-name operands)."""
        cols: set[str] = set()
        if self.column:
            cols.add(self.column)
        if self.kind in ("days_since", "span_days"):
            cols.add("ts")
        for flt in (*self.where, *self.match):
            cols |= flt.columns()
        for op in self.operands:
            if isinstance(op, Agg):
                cols |= op.columns()
        return cols

    def references(self) -> set[str]:
        """Feature names this aggregation uses as operands (recursively through nested ones)."""
        names: set[str] = set()
        for op in self.operands:
            names |= {op} if isinstance(op, str) else op.references()
        return names


@dataclass(frozen=True)
class FeatureSpec:
    """One per-user feature, declared as data.

    ``when_missing`` is what a user without the relevant events gets: ``0.0`` or ``None`` (null,
    with the reason in ``why_missing``). ``fallback`` is the aggregation used when a column in
    ``requires`` is absent (``orders`` falls back to counting purchases); without one the feature
    is left out. ``default`` marks the features used for clustering unless a person picks others.
    ``fill`` is how clustering fills a null (one of ``FILLS``); a value computed as null because
    the event never happened is not an unknown value, so each null-able feature says which fill
    reads right for it (see the comments in ``CATALOG``).
    """

    name: str
    family: str
    description: str
    agg: Agg
    requires: tuple[str, ...] = ()
    transform: str = "none"
    when_missing: float | None = 0.0
    why_missing: str = ""
    default: bool = False
    fallback: Agg | None = None
    fill: str = "median"

    @property
    def missing_text(self) -> str:
        """What a user without the relevant events gets, for a person to read."""
        if self.when_missing is None:
            return f"null ({self.why_missing})" if self.why_missing else "null"
        value = self.when_missing
        return f"{int(value)}" if float(value).is_integer() else f"{value}"


def _count(name: str, event: str, default: bool = False, family: str = "funnel") -> FeatureSpec:
    return FeatureSpec(
        name=name,
        family=family,
        description=f"{event} events of the user",
        agg=Agg("count", where=(event_in(event),)),
        transform="log1p",
        default=default,
    )


PURCHASE = (event_in("purchase"),)
ORDER_EVENTS = (event_in("purchase", "refund"),)

CATALOG: tuple[FeatureSpec, ...] = (
    # --- activity -------------------------------------------------------------------------
    FeatureSpec(
        "events",
        "activity",
        "events of the user",
        Agg("count"),
        transform="log1p",
        default=True,
    ),
    FeatureSpec(
        "sessions",
        "activity",
        "distinct sessions (given, or derived from the inactivity gap)",
        Agg("distinct", "session_id"),
        requires=("session_id",),
        transform="log1p",
        default=True,
    ),
    FeatureSpec(
        "active_days",
        "activity",
        "distinct UTC dates with an event",
        Agg("distinct", "ts.date"),
        requires=("ts",),
        transform="log1p",
        default=True,
    ),
    FeatureSpec(
        "events_per_session",
        "activity",
        "events / sessions",
        Agg("ratio", operands=("events", "sessions")),
        requires=("session_id",),
        transform="log1p",
        default=True,
    ),
    FeatureSpec(
        "events_per_active_day",
        "activity",
        "events / active_days",
        Agg("ratio", operands=("events", "active_days")),
        requires=("ts",),
        transform="log1p",
    ),
    FeatureSpec(
        "days_since_last_event",
        "activity",
        "days (fractional) from the user's last event to the reference time",
        Agg("days_since", stat="last"),
        requires=("ts",),
        default=True,
        # Never null (every user has an event), so no fill applies; contrast recency_days.
    ),
    FeatureSpec(
        "tenure_days",
        "activity",
        "days (fractional) from the user's first event to the reference time",
        Agg("days_since", stat="first"),
        requires=("ts",),
        default=True,
    ),
    # --- engagement -----------------------------------------------------------------------
    _count("page_views", "page_view", family="engagement"),
    _count("product_views", "product_view", default=True, family="engagement"),
    _count("searches", "search", family="engagement"),
    _count("form_submits", "form_submit", family="engagement"),
    FeatureSpec(
        "avg_duration_s",
        "engagement",
        "mean time on page in seconds, over events that record it",
        Agg("mean", "duration_s"),
        requires=("duration_s",),
        transform="log1p",
        when_missing=None,
        why_missing="no event with a duration",
        # The data did not record a duration for this user: unknown, not short.
        fill="median",
    ),
    FeatureSpec(
        "total_duration_s",
        "engagement",
        "total time on page in seconds",
        Agg("sum", "duration_s"),
        requires=("duration_s",),
        transform="log1p",
    ),
    FeatureSpec(
        "avg_scroll_depth",
        "engagement",
        "mean scroll depth (0..1), over events that record it",
        Agg("mean", "scroll_depth"),
        requires=("scroll_depth",),
        when_missing=None,
        why_missing="no event with a scroll depth",
        fill="median",  # no scroll depth recorded: unknown, not shallow
    ),
    FeatureSpec(
        "deep_scroll_share",
        "engagement",
        "share of events with a scroll depth that reach at least 0.75",
        Agg(
            "share",
            where=(Filter("scroll_depth", "not_null"),),
            match=(Filter("scroll_depth", ">=", 0.75),),
        ),
        requires=("scroll_depth",),
        when_missing=None,
        why_missing="no event with a scroll depth",
        fill="median",  # as avg_scroll_depth
    ),
    # --- funnel ---------------------------------------------------------------------------
    _count("add_to_cart", "add_to_cart", default=True),
    _count("remove_from_cart", "remove_from_cart"),
    _count("checkouts", "checkout"),
    FeatureSpec(
        "cart_abandonment",
        "funnel",
        "of the user's sessions with an add to cart, the share with no purchase",
        Agg(
            "ratio",
            operands=(
                Agg(
                    "difference",
                    operands=(
                        Agg("distinct", "session_id", where=(event_in("add_to_cart", "purchase"),)),
                        Agg("distinct", "session_id", where=PURCHASE),
                    ),
                ),
                Agg("distinct", "session_id", where=(event_in("add_to_cart"),)),
            ),
        ),
        requires=("session_id",),
        when_missing=None,
        why_missing="no add to cart",
        default=True,
        # No cart was filled, so none was abandoned. A median (0.25 on the sample) would make
        # a fifth of users, mostly browsers, look like part-time abandoners.
        fill="zero",
    ),
    FeatureSpec(
        "view_to_cart_rate",
        "funnel",
        "add_to_cart / product_views",
        Agg("ratio", operands=("add_to_cart", "product_views")),
        when_missing=None,
        why_missing="no product view",
        # No product viewed, so no view turned into a cart add. (A cart add without any product
        # view also lands here; it is rare where product views are tracked.)
        fill="zero",
    ),
    FeatureSpec(
        "cart_to_purchase_rate",
        "funnel",
        "purchases / add_to_cart",
        Agg("ratio", operands=("purchases", "add_to_cart")),
        when_missing=None,
        why_missing="no add to cart",
        # No cart add, so no cart turned into a purchase; the median would give users who never
        # carted anything a typical buyer's conversion. (A purchase without a tracked cart add
        # also lands here; where carts are not tracked at all the feature is all null and is
        # dropped.)
        fill="zero",
    ),
    FeatureSpec(
        "checkout_to_purchase_rate",
        "funnel",
        "purchases / checkouts",
        Agg("ratio", operands=("purchases", "checkouts")),
        when_missing=None,
        why_missing="no checkout",
        fill="zero",  # no checkout, so none was completed (as cart_to_purchase_rate)
    ),
    # --- value ----------------------------------------------------------------------------
    FeatureSpec(
        "purchases",
        "value",
        "purchase events (every invoice line or transaction row is one)",
        Agg("count", where=PURCHASE),
        transform="log1p",
        default=True,
    ),
    FeatureSpec(
        "refunds",
        "value",
        "refund events",
        Agg("count", where=(event_in("refund"),)),
        transform="log1p",
    ),
    FeatureSpec(
        "orders",
        "value",
        "distinct order ids over purchases (a purchase without one counts as its own order); "
        "purchases when no order column is mapped",
        Agg(
            "add",
            operands=(
                Agg("distinct", "order_id", where=PURCHASE),
                Agg("count", where=(*PURCHASE, Filter("order_id", "is_null"))),
            ),
        ),
        requires=("order_id",),
        transform="log1p",
        fallback=Agg("count", where=PURCHASE),
    ),
    FeatureSpec(
        "revenue",
        "value",
        "sum of revenue over purchases and refunds (refunds negative)",
        Agg("sum", "revenue", where=ORDER_EVENTS),
        requires=("revenue",),
        transform="log1p",
        default=True,
    ),
    FeatureSpec(
        "avg_order_value",
        "value",
        "revenue / orders",
        Agg("ratio", operands=("revenue", "orders")),
        requires=("revenue",),
        transform="log1p",
        when_missing=None,
        why_missing="no orders",
        default=True,
        # How big a user's orders are is a trait of buyers, and without orders it is unknown,
        # not 0: an average over no orders is undefined. "Never bought" is already said by
        # purchases, revenue (0) and recency_days (max); a 0 here too would put a third of the
        # users far below every real order, so the axis would mostly repeat buyer vs non-buyer
        # (its spread dominated by that gap) instead of separating small baskets from big ones.
        fill="median",
    ),
    FeatureSpec(
        "max_purchase_revenue",
        "value",
        "largest revenue of one purchase event",
        Agg("max", "revenue", where=PURCHASE),
        requires=("revenue",),
        transform="log1p",
        when_missing=None,
        why_missing="no purchase with a revenue",
        fill="median",  # unknown without purchases, as avg_order_value
    ),
    FeatureSpec(
        "recency_days",
        "value",
        "days (fractional) from the user's last purchase to the reference time",
        Agg("days_since", where=PURCHASE, stat="last"),
        requires=("ts",),
        when_missing=None,
        why_missing="no purchases",
        default=True,
        # Never bought = the last purchase is at least as long ago as the longest seen. The
        # median (105 days on the sample) made non-buyers look like typical recent buyers. A
        # user's own tenure would be tighter still, but a fill is one value per feature, and the
        # far end is where "never" belongs in a recency ordering.
        fill="max",
    ),
    FeatureSpec(
        "purchase_span_days",
        "value",
        "days (fractional) between the user's first and last purchase",
        Agg("span_days", where=PURCHASE),
        requires=("ts",),
        when_missing=None,
        why_missing="no purchases",
        # No purchases span no time, as for a one-time buyer (whose span is 0).
        fill="zero",
    ),
    FeatureSpec(
        "items_purchased",
        "value",
        "sum of quantity over purchases",
        Agg("sum", "quantity", where=PURCHASE),
        requires=("quantity",),
        transform="log1p",
    ),
    FeatureSpec(
        "avg_purchase_price",
        "value",
        "mean unit price of purchased items",
        Agg("mean", "price", where=PURCHASE),
        requires=("price",),
        transform="log1p",
        when_missing=None,
        why_missing="no purchase with a price",
        default=True,
        # The price tier a user buys in (premium vs bargain) is unknown without purchases, not
        # "free": 0 would put non-buyers below the cheapest item, repeat what purchases and
        # revenue say, and squeeze premium vs bargain buyers on this axis (see avg_order_value).
        fill="median",
    ),
    FeatureSpec(
        "refund_rate",
        "value",
        "refunds / purchases",
        Agg("ratio", operands=("refunds", "purchases")),
        when_missing=None,
        why_missing="no purchases",
        fill="zero",  # nothing bought, nothing refunded
    ),
    # --- interest -------------------------------------------------------------------------
    FeatureSpec(
        "category_diversity",
        "interest",
        "distinct categories the user touched",
        Agg("distinct", "category"),
        requires=("category",),
        transform="log1p",
        default=True,
    ),
    FeatureSpec(
        "categories_purchased",
        "interest",
        "distinct categories of purchased items",
        Agg("distinct", "category", where=PURCHASE),
        requires=("category",),
        transform="log1p",
    ),
    FeatureSpec(
        "distinct_items",
        "interest",
        "distinct items the user touched",
        Agg("distinct", "item_id"),
        requires=("item_id",),
        transform="log1p",
    ),
    FeatureSpec(
        "avg_price_viewed",
        "interest",
        "mean price of viewed products",
        Agg("mean", "price", where=(event_in("product_view"),)),
        requires=("price",),
        transform="log1p",
        when_missing=None,
        why_missing="no product view with a price",
        default=True,
        fill="median",  # the price tier a user looks at is unknown without views, not 0
    ),
    FeatureSpec(
        "max_price_viewed",
        "interest",
        "highest price of a viewed product",
        Agg("max", "price", where=(event_in("product_view"),)),
        requires=("price",),
        transform="log1p",
        when_missing=None,
        why_missing="no product view with a price",
        fill="median",  # as avg_price_viewed
    ),
    FeatureSpec(
        "search_share",
        "interest",
        "share of the user's events that are searches",
        Agg("share", match=(event_in("search"),)),
    ),
    # --- time -----------------------------------------------------------------------------
    FeatureSpec(
        "weekend_share",
        "time",
        "share of events on Saturday or Sunday, UTC",
        Agg("share", match=(Filter("ts.weekday", ">=", 6),)),
        requires=("ts",),
        default=True,
    ),
    FeatureSpec(
        "night_share",
        "time",
        "share of events between 22:00 and 06:00, UTC",
        Agg("share", match=(Filter("ts.hour", "in", (22, 23, 0, 1, 2, 3, 4, 5)),)),
        requires=("ts",),
        default=True,
    ),
    FeatureSpec(
        "winter_share",
        "time",
        "share of events in December, January or February, UTC",
        Agg("share", match=(Filter("ts.month", "in", (12, 1, 2)),)),
        requires=("ts",),
        default=True,
    ),
    FeatureSpec(
        "summer_share",
        "time",
        "share of events in June, July or August, UTC",
        Agg("share", match=(Filter("ts.month", "in", (6, 7, 8)),)),
        requires=("ts",),
    ),
    FeatureSpec(
        "winter_purchase_share",
        "time",
        "share of purchases in December, January or February, UTC",
        Agg("share", where=PURCHASE, match=(Filter("ts.month", "in", (12, 1, 2)),)),
        requires=("ts",),
        when_missing=None,
        why_missing="no purchases",
        # A share of no purchases has no season: 0 would say "buys only outside winter".
        fill="median",
    ),
    FeatureSpec(
        "activity_trend",
        "time",
        "where the user's events sit in their own first-to-last span on average: 0 all at the "
        "start, 0.5 even, 1 all at the end",
        Agg(
            "ratio",
            operands=(
                Agg("difference", operands=(Agg("mean", "ts"), Agg("min", "ts"))),
                Agg("difference", operands=(Agg("max", "ts"), Agg("min", "ts"))),
            ),
        ),
        requires=("ts",),
        when_missing=None,
        why_missing="all events at one instant",
        fill="median",  # one instant has no trend either way
    ),
)

CATALOG_BY_NAME: Mapping[str, FeatureSpec] = {spec.name: spec for spec in CATALOG}


# --- checking declarations ------------------------------------------------------------------

_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
_OPERAND_COUNT = {"ratio": (2, 2), "difference": (2, 2), "add": (2, 16)}
_COLUMN_KINDS = ("sum", "mean", "max", "min", "distinct")


def _check_filter(flt: Filter) -> None:
    if flt.column not in KNOWN_COLUMNS and flt.column not in TIME_PARTS:
        raise ValueError(
            f"filter column '{flt.column}' is not a canonical column"
            + _closest(flt.column, (*KNOWN_COLUMNS, *TIME_PARTS))
        )
    if flt.op not in FILTER_OPS:
        raise ValueError(f"filter op '{flt.op}' is not one of {', '.join(FILTER_OPS)}")
    if flt.op in ("in", "not_in"):
        if not isinstance(flt.value, tuple) or not flt.value:
            raise ValueError(f"filter '{flt.column} {flt.op}' needs a non-empty list of values")
    elif flt.op in ("is_null", "not_null"):
        if flt.value is not None:
            raise ValueError(f"filter '{flt.column} {flt.op}' takes no value")
    elif not isinstance(flt.value, str | int | float) or isinstance(flt.value, bool):
        raise ValueError(f"filter '{flt.column} {flt.op}' needs one string or number value")


def check_agg(agg: Agg) -> None:
    """Raise ``ValueError`` saying what is wrong with an aggregation declaration."""
    if agg.kind not in AGG_KINDS:
        raise ValueError(
            f"kind '{agg.kind}' is not one of {', '.join(AGG_KINDS)}{_closest(agg.kind, AGG_KINDS)}"
        )
    for flt in (*agg.where, *agg.match):
        _check_filter(flt)
    if agg.kind in _COLUMN_KINDS:
        if not agg.column:
            raise ValueError(f"kind '{agg.kind}' needs a column")
        allowed = (*KNOWN_COLUMNS, *TIME_PARTS)
        if agg.kind in ("sum", "mean", "max", "min"):
            allowed = (*NUMERIC_COLUMNS, *TIME_PARTS)
        if agg.column not in allowed:
            raise ValueError(
                f"kind '{agg.kind}' cannot use column '{agg.column}'{_closest(agg.column, allowed)}"
            )
    elif agg.column is not None:
        raise ValueError(f"kind '{agg.kind}' takes no column")
    if agg.kind in _OPERAND_COUNT:
        low, high = _OPERAND_COUNT[agg.kind]
        if not low <= len(agg.operands) <= high:
            raise ValueError(
                f"kind '{agg.kind}' needs {low if low == high else f'{low} or more'} operands"
            )
        for op in agg.operands:
            if isinstance(op, Agg):
                check_agg(op)
            elif not isinstance(op, str):
                raise ValueError("an operand is a feature name or an aggregation table")
    elif agg.operands:
        raise ValueError(f"kind '{agg.kind}' takes no operands")
    if agg.match and agg.kind != "share":
        raise ValueError("only kind 'share' takes 'match'")
    if agg.kind == "share" and not agg.match:
        raise ValueError("kind 'share' needs 'match' (the events counted)")
    if agg.kind == "days_since" and agg.stat not in ("last", "first"):
        raise ValueError(f"days_since stat must be 'last' or 'first', not '{agg.stat}'")


def check_spec(spec: FeatureSpec, known: Iterable[str] = ()) -> None:
    """Raise ``ValueError`` if ``spec`` is not a well-formed declaration.

    ``known`` are the feature names operands may refer to (besides the catalog's).
    """
    if not _NAME_RE.match(spec.name):
        raise ValueError("a name uses lower-case letters, digits and _ and starts with a letter")
    if spec.family not in FAMILIES:
        raise ValueError(
            f"family '{spec.family}' is not one of {', '.join(FAMILIES)}"
            + _closest(spec.family, FAMILIES)
        )
    if spec.transform not in TRANSFORMS:
        raise ValueError(f"transform '{spec.transform}' is not one of {', '.join(TRANSFORMS)}")
    if spec.when_missing is not None and spec.when_missing != 0:
        raise ValueError('when_missing is 0 or "null"')
    if spec.fill not in FILLS:
        raise ValueError(
            f"fill '{spec.fill}' is not one of {', '.join(FILLS)}{_closest(spec.fill, FILLS)}"
        )
    check_agg(spec.agg)
    if spec.fallback is not None:
        check_agg(spec.fallback)
    names = set(CATALOG_BY_NAME) | set(known)
    for ref in sorted(spec.agg.references()):
        if ref == spec.name:
            raise ValueError("a feature cannot use itself as an operand")
        if ref not in names:
            raise ValueError(f"operand '{ref}' is not a known feature{_closest(ref, names)}")
    unknown = [c for c in spec.requires if c not in KNOWN_COLUMNS]
    if unknown:
        raise ValueError(
            f"requires unknown column '{unknown[0]}'{_closest(unknown[0], KNOWN_COLUMNS)}"
        )


def _closest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a declaration error, or nothing (a stricter match)."""
    match = closest_name(word, choices, cutoff=0.6)
    return f" (did you mean '{match}'?)" if match else ""


def closest_name(word: str, choices: Iterable[str], cutoff: float = 0.5) -> str | None:
    """The choice closest to ``word`` (for "did you mean" hints), or None."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return match[0] if match else None


# --- which features the data allows ------------------------------------------------------------


def _columns_needed(spec: FeatureSpec, agg: Agg) -> set[str]:
    return (set(spec.requires) | agg.columns()) - {"ts.date", *TIME_PARTS}


def resolve_spec(
    spec: FeatureSpec, columns: Iterable[str], lookup: Mapping[str, FeatureSpec] | None = None
) -> tuple[FeatureSpec | None, str]:
    """The spec as it will be computed on data with ``columns``, or None and the reason why not.

    A spec whose columns are missing uses its ``fallback`` when it has one; a spec whose operands
    are features that cannot be computed cannot be computed either.
    """
    have = set(columns) | set(ALWAYS_PRESENT)
    lookup = lookup if lookup is not None else CATALOG_BY_NAME
    missing = sorted(_columns_needed(spec, spec.agg) - have)
    if (
        missing
        and spec.fallback is not None
        and not (_columns_needed(replace(spec, requires=()), spec.fallback) - have)
    ):
        spec = replace(spec, agg=spec.fallback, requires=(), fallback=None)
        missing = []
    if missing:
        cols = ", ".join(f"'{c}'" for c in missing)
        return None, f"needs column{'s' if len(missing) > 1 else ''} {cols}, not in the data"
    for ref in sorted(spec.agg.references()):
        target = lookup.get(ref)
        if target is None:
            return None, f"uses feature '{ref}', which is not declared"
        resolved, why = resolve_spec(target, have, lookup)
        if resolved is None:
            return None, f"uses {ref}, which {why}"
    return spec, ""


def available_features(
    specs: Sequence[FeatureSpec], columns: Iterable[str]
) -> tuple[list[FeatureSpec], dict[str, str]]:
    """Split ``specs`` into those computable from ``columns`` and the left-out ones with why.

    Features with a fallback (``orders``) come back with the fallback in place when their column
    is missing, so what is returned is exactly what will be computed.
    """
    columns = list(columns)
    lookup = {**CATALOG_BY_NAME, **{s.name: s for s in specs}}
    offered: list[FeatureSpec] = []
    left_out: dict[str, str] = {}
    for spec in specs:
        resolved, why = resolve_spec(spec, columns, lookup)
        if resolved is None:
            left_out[spec.name] = why
        else:
            offered.append(resolved)
    return offered, left_out


def default_features(specs: Sequence[FeatureSpec] = CATALOG) -> list[FeatureSpec]:
    """The features flagged ``default`` (the clustering default), in catalog order."""
    return [spec for spec in specs if spec.default]


def select_features(
    names: Sequence[str],
    specs: Sequence[FeatureSpec],
    left_out: Mapping[str, str] | None = None,
) -> list[FeatureSpec]:
    """The specs named in ``names`` (in that order); unknown or left-out names are an InputError."""
    by_name = {spec.name: spec for spec in specs}
    left_out = left_out or {}
    chosen: list[FeatureSpec] = []
    for name in names:
        if name in by_name:
            if by_name[name] not in chosen:
                chosen.append(by_name[name])
            continue
        if name in left_out:
            raise InputError(
                f"feature '{name}' cannot be computed on this data: it {left_out[name]}",
                hint="Map the column (--map) or leave the feature out.",
            )
        guess = closest_name(name, [*by_name, *left_out])
        raise InputError(
            f"unknown feature '{name}'" + (f"; did you mean '{guess}'?" if guess else ""),
            hint="`segtui features --list` shows every feature.",
        )
    return chosen


# --- user feature files (TOML) ---------------------------------------------------------------

_SPEC_KEYS = (
    "name",
    "family",
    "description",
    "transform",
    "when_missing",
    "why_missing",
    "default",
    "requires",
    "kind",
    "column",
    "where",
    "match",
    "events",
    "operands",
    "stat",
    "fallback",
    "fill",
)
_AGG_KEYS = ("kind", "column", "where", "match", "events", "operands", "stat")
_FILTER_KEYS = ("column", "op", "value")


def _filter_from(data: Any) -> Filter:
    if not isinstance(data, dict):
        raise ValueError('a filter is a table like {column = "event", op = "in", value = [...]}')
    extra = set(data) - set(_FILTER_KEYS)
    if extra:
        key = sorted(extra)[0]
        raise ValueError(f"unknown filter key '{key}'{_closest(key, _FILTER_KEYS)}")
    if "column" not in data or "op" not in data:
        raise ValueError("a filter needs 'column' and 'op'")
    value = data.get("value")
    if isinstance(value, list):
        value = tuple(value)
    return Filter(str(data["column"]), str(data["op"]), value)


def _filters_from(data: Any, key: str) -> tuple[Filter, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        raise ValueError(f"'{key}' is a list of filter tables")
    return tuple(_filter_from(item) for item in data)


def _agg_from(data: Mapping[str, Any]) -> Agg:
    if "kind" not in data:
        raise ValueError(f"needs 'kind' (one of {', '.join(AGG_KINDS)})")
    where = _filters_from(data.get("where"), "where")
    if "events" in data:
        events = data["events"]
        if isinstance(events, str):
            events = [events]
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise ValueError("'events' is a list of event names")
        where = (event_in(*events), *where)
    operands: list[Agg | str] = []
    for op in data.get("operands") or []:
        if isinstance(op, str):
            operands.append(op)
        elif isinstance(op, dict):
            extra = set(op) - set(_AGG_KEYS)
            if extra:
                key = sorted(extra)[0]
                raise ValueError(f"unknown operand key '{key}'{_closest(key, _AGG_KEYS)}")
            operands.append(_agg_from(op))
        else:
            raise ValueError("an operand is a feature name or an aggregation table")
    column = data.get("column")
    return Agg(
        kind=str(data["kind"]),
        column=None if column is None else str(column),
        where=where,
        match=_filters_from(data.get("match"), "match"),
        operands=tuple(operands),
        stat=str(data.get("stat", "last")),
    )


def spec_from_dict(data: Mapping[str, Any], known: Iterable[str] = ()) -> FeatureSpec:
    """Build and check one spec from a TOML/JSON table; raises ``ValueError`` on a problem."""
    extra = set(data) - set(_SPEC_KEYS)
    if extra:
        key = sorted(extra)[0]
        raise ValueError(f"unknown key '{key}'{_closest(key, _SPEC_KEYS)}")
    for key in ("name", "family", "description"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ValueError(f"needs '{key}' (text)")
    agg = _agg_from(data)
    missing_value = data.get("when_missing", 0)
    if missing_value == "null":
        when_missing: float | None = None
    elif isinstance(missing_value, int | float) and not isinstance(missing_value, bool):
        when_missing = float(missing_value)
    else:
        raise ValueError('when_missing is 0 or "null"')
    requires = data.get("requires")
    if requires is None:
        needed = agg.columns() - {*TIME_PARTS}
        requires_t = tuple(sorted(c for c in needed if c not in ("user_id", "event")))
    elif isinstance(requires, list) and all(isinstance(c, str) for c in requires):
        requires_t = tuple(requires)
    else:
        raise ValueError("'requires' is a list of canonical column names")
    default = data.get("default", False)
    if not isinstance(default, bool):
        raise ValueError("'default' is true or false")
    fallback = data.get("fallback")
    if fallback is not None and not isinstance(fallback, dict):
        raise ValueError("'fallback' is an aggregation table")
    fill = data.get("fill", "median")
    if not isinstance(fill, str):
        raise ValueError(f"'fill' is one of {', '.join(FILLS)} (text)")
    spec = FeatureSpec(
        name=data["name"],
        family=data["family"],
        description=data["description"],
        agg=agg,
        requires=requires_t,
        transform=str(data.get("transform", "none")),
        when_missing=when_missing,
        why_missing=str(data.get("why_missing", "")),
        default=default,
        fallback=_agg_from(fallback) if fallback else None,
        fill=fill,
    )
    check_spec(spec, known)
    return spec


def load_feature_file(path: str | Path) -> list[FeatureSpec]:
    """Read user-declared features from a TOML file (``[[feature]]`` tables), checked.

    Every problem is an InputError naming the file and the feature.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("feature file not found", file=path) from None
    except UnicodeDecodeError:
        raise InputError("feature file is not UTF-8 text", file=path) from None
    except OSError as error:
        raise InputError(f"cannot read the feature file: {error.strerror}", file=path) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"not valid TOML: {error}", file=path) from None
    extra = set(data) - {"feature"}
    if extra:
        raise InputError(
            f"unknown top-level key '{sorted(extra)[0]}'",
            file=path,
            hint="Declare each feature in a [[feature]] table.",
        )
    tables = data.get("feature", [])
    if not isinstance(tables, list) or not tables:
        raise InputError(
            "no features declared", file=path, hint="Declare each feature in a [[feature]] table."
        )
    names = [t.get("name") if isinstance(t, dict) else None for t in tables]
    known = {n for n in names if isinstance(n, str)}
    specs: list[FeatureSpec] = []
    seen: set[str] = set()
    for number, table in enumerate(tables, start=1):
        label = f"feature '{names[number - 1]}'" if names[number - 1] else f"feature #{number}"
        if not isinstance(table, dict):
            raise InputError(f"{label}: not a table", file=path)
        name = table.get("name")
        if name in CATALOG_BY_NAME:
            raise InputError(
                f"{label}: the name is already a built-in feature",
                file=path,
                hint="Pick another name.",
            )
        if name in seen:
            raise InputError(f"{label}: declared twice", file=path)
        try:
            spec = spec_from_dict(table, known)
        except ValueError as error:
            raise InputError(f"{label}: {error}", file=path) from None
        seen.add(spec.name)
        specs.append(spec)
    _check_cycles(specs, path)
    return specs


def _check_cycles(specs: Sequence[FeatureSpec], path: Path) -> None:
    by_name = {s.name: s for s in specs}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            loop = " -> ".join((*trail[trail.index(name) :], name))
            raise InputError(f"feature '{name}': operands go round in a circle ({loop})", file=path)
        spec = by_name.get(name)
        if spec is not None:
            for ref in spec.agg.references():
                visit(ref, (*trail, name))

    for spec in specs:
        visit(spec.name, ())


# --- writing declarations back out (model files, feature files) -------------------------------


def _filter_to_dict(flt: Filter) -> dict[str, Any]:
    out: dict[str, Any] = {"column": flt.column, "op": flt.op}
    if flt.value is not None:
        out["value"] = list(flt.value) if isinstance(flt.value, tuple) else flt.value
    return out


def agg_to_dict(agg: Agg) -> dict[str, Any]:
    """An aggregation as plain JSON/TOML-ready data (the inverse of reading a feature table)."""
    out: dict[str, Any] = {"kind": agg.kind}
    if agg.column is not None:
        out["column"] = agg.column
    if agg.where:
        out["where"] = [_filter_to_dict(f) for f in agg.where]
    if agg.match:
        out["match"] = [_filter_to_dict(f) for f in agg.match]
    if agg.operands:
        out["operands"] = [op if isinstance(op, str) else agg_to_dict(op) for op in agg.operands]
    if agg.kind == "days_since":
        out["stat"] = agg.stat
    return out


def spec_to_dict(spec: FeatureSpec) -> dict[str, Any]:
    """A feature as plain data; ``spec_from_dict(spec_to_dict(s)) == s``."""
    out: dict[str, Any] = {
        "name": spec.name,
        "family": spec.family,
        "description": spec.description,
        **agg_to_dict(spec.agg),
        "requires": list(spec.requires),
        "transform": spec.transform,
        "when_missing": "null" if spec.when_missing is None else spec.when_missing,
    }
    if spec.why_missing:
        out["why_missing"] = spec.why_missing
    if spec.default:
        out["default"] = True
    if spec.fallback is not None:
        out["fallback"] = agg_to_dict(spec.fallback)
    out["fill"] = spec.fill
    return out


def dump_feature_file(specs: Sequence[FeatureSpec]) -> str:
    """TOML text declaring ``specs`` as ``[[feature]]`` tables (readable by load_feature_file)."""
    return toml_text({"feature": [spec_to_dict(spec) for spec in specs]})
