"""The built-in feature catalog, as data: every feature segtui computes unless told otherwise.

Each entry is a :class:`segtui.features.spec.FeatureSpec`; the comments say why a feature is
declared the way it is (its fill, what a user without the events gets). The catalog is checked
by the tests with :func:`segtui.features.checks.check_spec`, like a user's own feature file.
"""

from __future__ import annotations

from collections.abc import Mapping

from segtui.features.spec import Agg, FeatureSpec, Filter, event_in


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
