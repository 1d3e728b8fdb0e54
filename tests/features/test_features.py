"""Every catalog feature's exact value on a hand-built log of four users, plus as_of behavior."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import polars as pl
import pytest

from segtui.errors import InputError
from segtui.features.catalog import CATALOG, CATALOG_BY_NAME
from segtui.features.compile import build_feature_query, compute_features
from segtui.features.spec import Agg, FeatureSpec, Filter, event_in


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# user, ts, event, session, order, category, item, price, quantity, revenue, duration, scroll
N = None
# fmt: off
ROWS = [
    # u1, a browser: 2024-01-06 is a Saturday, 2024-01-08 a Monday.
    ("u1", "2024-01-06 23:00", "page_view", "a1", N, "books", "i1", 10.0, N, N, 30.0, 0.5),
    ("u1", "2024-01-06 23:10", "product_view", "a1", N, "books", "i2", 20.0, N, N, 60.0, 0.9),
    ("u1", "2024-01-08 10:00", "search", "a2", N, N, N, N, N, N, N, N),
    ("u1", "2024-01-08 10:05", "product_view", "a2", N, "toys", "i3", 30.0, N, N, 90.0, 0.8),
    # u2, a cart abandoner: 2024-03-01 is a Friday; carts in three sessions, one bought.
    ("u2", "2024-03-01 12:00", "product_view", "b1", N, "shoes", "i10", 50.0, N, N, N, N),
    ("u2", "2024-03-01 12:05", "add_to_cart", "b1", N, "shoes", "i10", 50.0, 1.0, N, N, N),
    ("u2", "2024-03-02 12:00", "add_to_cart", "b2", N, "shoes", "i11", 70.0, 1.0, N, N, N),
    ("u2", "2024-03-02 12:10", "remove_from_cart", "b2", N, "shoes", "i11", 70.0, 1.0, N, N, N),
    ("u2", "2024-03-03 09:00", "add_to_cart", "b3", N, "shoes", "i10", 50.0, 1.0, N, N, N),
    ("u2", "2024-03-03 09:05", "checkout", "b3", N, N, N, N, N, N, N, N),
    ("u2", "2024-03-03 09:10", "purchase", "b3", "o1", "shoes", "i10", 50.0, 1.0, 50.0, N, N),
    # u3, a buyer: two lines of one order, a purchase with no order id, a refund. 06-15 Saturday.
    ("u3", "2024-06-15 22:30", "purchase", "c1", "o2", "jewelry", "i20", 200.0, 1.0, 200.0, N, N),
    ("u3", "2024-06-15 22:31", "purchase", "c1", "o2", "jewelry", "i21", 100.0, 2.0, 200.0, N, N),
    ("u3", "2024-07-01 03:00", "purchase", "c2", N, "jewelry", "i22", 300.0, 1.0, 300.0, N, N),
    ("u3", "2024-07-02 08:00", "refund", "c3", "o3", "jewelry", "i22", 300.0, 1.0, -300.0, N, N),
    ("u3", "2024-07-02 08:05", "form_submit", "c3", N, N, N, N, N, N, N, N),
    # u4, one event, the last in the data (a Tuesday): the reference time.
    ("u4", "2024-12-31 12:00", "page_view", "d1", N, N, N, N, N, N, N, N),
]
# fmt: on
COLUMNS = {
    "user_id": pl.String,
    "ts": pl.Datetime("us", "UTC"),
    "event": pl.String,
    "session_id": pl.String,
    "order_id": pl.String,
    "category": pl.String,
    "item_id": pl.String,
    "price": pl.Float64,
    "quantity": pl.Float64,
    "revenue": pl.Float64,
    "duration_s": pl.Float64,
    "scroll_depth": pl.Float64,
}


def events(columns: list[str] | None = None) -> pl.LazyFrame:
    rows = [(r[0], t(r[1]), *r[2:]) for r in ROWS]  # t() accepts "YYYY-MM-DD HH:MM"
    frame = pl.DataFrame(rows, schema=COLUMNS, orient="row")
    # Shuffle so nothing depends on the input order.
    frame = frame.sample(fraction=1.0, shuffle=True, seed=3)
    return frame.lazy().select(columns or list(COLUMNS))


REF = t("2024-12-31 12:00:00")


def days(a: str, b: datetime = REF) -> float:
    return (b - t(a)).total_seconds() / 86400


def trend(*stamps: str) -> float:
    secs = [(t(s) - t(stamps[0])).total_seconds() for s in stamps]
    return (sum(secs) / len(secs)) / secs[-1]


EXPECTED: dict[str, dict[str, float | int | None]] = {
    "u1": {
        "events": 4,
        "sessions": 2,
        "active_days": 2,
        "events_per_session": 2.0,
        "events_per_active_day": 2.0,
        "days_since_last_event": days("2024-01-08 10:05:00"),
        "tenure_days": days("2024-01-06 23:00:00"),
        "page_views": 1,
        "product_views": 2,
        "searches": 1,
        "form_submits": 0,
        "avg_duration_s": 60.0,
        "total_duration_s": 180.0,
        "avg_scroll_depth": (0.5 + 0.9 + 0.8) / 3,
        "deep_scroll_share": 2 / 3,
        "add_to_cart": 0,
        "remove_from_cart": 0,
        "checkouts": 0,
        "cart_abandonment": None,
        "view_to_cart_rate": 0.0,
        "cart_to_purchase_rate": None,
        "checkout_to_purchase_rate": None,
        "purchases": 0,
        "refunds": 0,
        "orders": 0,
        "revenue": 0.0,
        "avg_order_value": None,
        "max_purchase_revenue": None,
        "recency_days": None,
        "purchase_span_days": None,
        "items_purchased": 0.0,
        "avg_purchase_price": None,
        "refund_rate": None,
        "category_diversity": 2,
        "categories_purchased": 0,
        "distinct_items": 3,
        "avg_price_viewed": 25.0,
        "max_price_viewed": 30.0,
        "search_share": 0.25,
        "weekend_share": 0.5,
        "night_share": 0.5,
        "winter_share": 1.0,
        "summer_share": 0.0,
        "winter_purchase_share": None,
        "activity_trend": trend(
            "2024-01-06 23:00:00",
            "2024-01-06 23:10:00",
            "2024-01-08 10:00:00",
            "2024-01-08 10:05:00",
        ),
    },
    "u2": {
        "events": 7,
        "sessions": 3,
        "active_days": 3,
        "events_per_session": 7 / 3,
        "events_per_active_day": 7 / 3,
        "days_since_last_event": days("2024-03-03 09:10:00"),
        "tenure_days": days("2024-03-01 12:00:00"),
        "page_views": 0,
        "product_views": 1,
        "searches": 0,
        "form_submits": 0,
        "avg_duration_s": None,
        "total_duration_s": 0.0,
        "avg_scroll_depth": None,
        "deep_scroll_share": None,
        "add_to_cart": 3,
        "remove_from_cart": 1,
        "checkouts": 1,
        "cart_abandonment": 2 / 3,
        "view_to_cart_rate": 3.0,
        "cart_to_purchase_rate": 1 / 3,
        "checkout_to_purchase_rate": 1.0,
        "purchases": 1,
        "refunds": 0,
        "orders": 1,
        "revenue": 50.0,
        "avg_order_value": 50.0,
        "max_purchase_revenue": 50.0,
        "recency_days": days("2024-03-03 09:10:00"),
        "purchase_span_days": 0.0,
        "items_purchased": 1.0,
        "avg_purchase_price": 50.0,
        "refund_rate": 0.0,
        "category_diversity": 1,
        "categories_purchased": 1,
        "distinct_items": 2,
        "avg_price_viewed": 50.0,
        "max_price_viewed": 50.0,
        "search_share": 0.0,
        "weekend_share": 5 / 7,
        "night_share": 0.0,
        "winter_share": 0.0,
        "summer_share": 0.0,
        "winter_purchase_share": 0.0,
        "activity_trend": trend(
            "2024-03-01 12:00:00",
            "2024-03-01 12:05:00",
            "2024-03-02 12:00:00",
            "2024-03-02 12:10:00",
            "2024-03-03 09:00:00",
            "2024-03-03 09:05:00",
            "2024-03-03 09:10:00",
        ),
    },
    "u3": {
        "events": 5,
        "sessions": 3,
        "active_days": 3,
        "events_per_session": 5 / 3,
        "events_per_active_day": 5 / 3,
        "days_since_last_event": days("2024-07-02 08:05:00"),
        "tenure_days": days("2024-06-15 22:30:00"),
        "page_views": 0,
        "product_views": 0,
        "searches": 0,
        "form_submits": 1,
        "avg_duration_s": None,
        "total_duration_s": 0.0,
        "avg_scroll_depth": None,
        "deep_scroll_share": None,
        "add_to_cart": 0,
        "remove_from_cart": 0,
        "checkouts": 0,
        "cart_abandonment": None,
        "view_to_cart_rate": None,
        "cart_to_purchase_rate": None,
        "checkout_to_purchase_rate": None,
        "purchases": 3,
        "refunds": 1,
        "orders": 2,  # o2 (two lines) + one purchase with no order id; the refund is no order
        "revenue": 400.0,
        "avg_order_value": 200.0,
        "max_purchase_revenue": 300.0,
        "recency_days": days("2024-07-01 03:00:00"),
        "purchase_span_days": 15.1875,
        "items_purchased": 4.0,
        "avg_purchase_price": 200.0,
        "refund_rate": 1 / 3,
        "category_diversity": 1,
        "categories_purchased": 1,
        "distinct_items": 3,
        "avg_price_viewed": None,
        "max_price_viewed": None,
        "search_share": 0.0,
        "weekend_share": 0.4,
        "night_share": 0.6,
        "winter_share": 0.0,
        "summer_share": 1.0,
        "winter_purchase_share": 0.0,
        "activity_trend": trend(
            "2024-06-15 22:30:00",
            "2024-06-15 22:31:00",
            "2024-07-01 03:00:00",
            "2024-07-02 08:00:00",
            "2024-07-02 08:05:00",
        ),
    },
    "u4": {
        "events": 1,
        "sessions": 1,
        "active_days": 1,
        "events_per_session": 1.0,
        "events_per_active_day": 1.0,
        "days_since_last_event": 0.0,
        "tenure_days": 0.0,
        "page_views": 1,
        "product_views": 0,
        "searches": 0,
        "form_submits": 0,
        "avg_duration_s": None,
        "total_duration_s": 0.0,
        "avg_scroll_depth": None,
        "deep_scroll_share": None,
        "add_to_cart": 0,
        "remove_from_cart": 0,
        "checkouts": 0,
        "cart_abandonment": None,
        "view_to_cart_rate": None,
        "cart_to_purchase_rate": None,
        "checkout_to_purchase_rate": None,
        "purchases": 0,
        "refunds": 0,
        "orders": 0,
        "revenue": 0.0,
        "avg_order_value": None,
        "max_purchase_revenue": None,
        "recency_days": None,
        "purchase_span_days": None,
        "items_purchased": 0.0,
        "avg_purchase_price": None,
        "refund_rate": None,
        "category_diversity": 0,
        "categories_purchased": 0,
        "distinct_items": 0,
        "avg_price_viewed": None,
        "max_price_viewed": None,
        "search_share": 0.0,
        "weekend_share": 0.0,
        "night_share": 0.0,
        "winter_share": 1.0,
        "summer_share": 0.0,
        "winter_purchase_share": None,
        "activity_trend": None,
    },
}


def assert_row(actual: dict, expected: dict, user: str) -> None:
    for name, want in expected.items():
        got = actual[name]
        if want is None:
            assert got is None, f"{user}.{name}: expected null, got {got!r}"
        else:
            assert got is not None, f"{user}.{name}: expected {want!r}, got null"
            assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12), (
                f"{user}.{name}: expected {want!r}, got {got!r}"
            )


def test_expected_table_covers_the_whole_catalog() -> None:
    for user, row in EXPECTED.items():
        assert list(row) == [s.name for s in CATALOG], user


def test_every_feature_exact_value() -> None:
    out = compute_features(events(), CATALOG)
    assert out.columns == ["user_id", *[s.name for s in CATALOG]]
    assert out["user_id"].to_list() == ["u1", "u2", "u3", "u4"]
    for row in out.iter_rows(named=True):
        assert_row(row, EXPECTED[row["user_id"]], row["user_id"])


def test_types_counts_are_integers_and_the_rest_floats() -> None:
    out = compute_features(events(), CATALOG)
    assert out.schema["user_id"] == pl.String
    for name in ("events", "sessions", "active_days", "purchases", "orders", "distinct_items"):
        assert out.schema[name] == pl.Int64, name
    for name in ("revenue", "recency_days", "weekend_share", "cart_abandonment"):
        assert out.schema[name] == pl.Float64, name
    # No NaN or infinity anywhere: a zero denominator gives null.
    floats = out.select(pl.col(pl.Float64))
    assert floats.select(pl.all().is_nan().any()).row(0) == (False,) * floats.width


def test_as_of_filters_later_events_and_sets_the_reference() -> None:
    as_of = datetime(2024, 3, 2, 12, 5)  # naive means UTC
    out = compute_features(events(), CATALOG, as_of=as_of)
    assert out["user_id"].to_list() == ["u1", "u2"]  # u3 and u4 start later
    rows = {r["user_id"]: r for r in out.iter_rows(named=True)}
    ref = as_of.replace(tzinfo=UTC)
    assert rows["u1"]["days_since_last_event"] == pytest.approx(days("2024-01-08 10:05:00", ref))
    u2 = rows["u2"]
    assert u2["events"] == 3
    assert u2["add_to_cart"] == 2
    assert u2["cart_abandonment"] == 1.0  # b1 and b2 had carts, neither a purchase by then
    assert u2["purchases"] == 0
    assert u2["recency_days"] is None
    assert u2["days_since_last_event"] == pytest.approx(5 / 1440, rel=1e-12)
    assert u2["tenure_days"] == pytest.approx(1 + 5 / 1440, rel=1e-12)


def test_as_of_after_the_data_only_moves_the_reference() -> None:
    as_of = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    out = compute_features(events(), CATALOG, as_of)
    rows = {r["user_id"]: r for r in out.iter_rows(named=True)}
    assert rows["u4"]["days_since_last_event"] == 1.0
    assert rows["u3"]["recency_days"] == pytest.approx(days("2024-07-01 03:00:00") + 1.0)
    assert rows["u1"]["events"] == 4


def test_only_the_asked_features_in_the_asked_order() -> None:
    specs = [CATALOG_BY_NAME[n] for n in ("avg_order_value", "events", "cart_abandonment")]
    out = compute_features(events(), specs)
    assert out.columns == ["user_id", "avg_order_value", "events", "cart_abandonment"]
    assert out["avg_order_value"].to_list() == [None, 50.0, 200.0, None]


def test_orders_falls_back_to_purchases_without_an_order_column() -> None:
    lf = events(["user_id", "ts", "event", "session_id", "revenue"])
    specs = [CATALOG_BY_NAME[n] for n in ("orders", "avg_order_value", "revenue")]
    out = compute_features(lf, specs)
    assert out["orders"].to_list() == [0, 1, 3, 0]
    assert out["avg_order_value"].to_list() == [None, 50.0, 400 / 3, None]


def test_a_feature_whose_column_is_missing_is_an_input_error() -> None:
    lf = events(["user_id", "ts", "event", "session_id"])
    with pytest.raises(InputError, match=r"'avg_price_viewed'.*'price'"):
        compute_features(lf, [CATALOG_BY_NAME["avg_price_viewed"]])
    with pytest.raises(InputError, match=r"avg_order_value.*revenue"):
        compute_features(lf, [CATALOG_BY_NAME["avg_order_value"]])


def test_user_declared_features_compute_with_filters_and_references() -> None:
    big = FeatureSpec(
        "big_purchases",
        "value",
        "purchases of at least 100 in revenue",
        Agg("count", where=(event_in("purchase"), Filter("revenue", ">=", 100.0))),
        requires=("revenue",),
    )
    share = FeatureSpec(
        "big_purchase_share",
        "value",
        "big_purchases / purchases",
        Agg("ratio", operands=("big_purchases", "purchases")),
        when_missing=None,
        why_missing="no purchases",
    )
    not_books = FeatureSpec(
        "not_books_views",
        "interest",
        "views outside books",
        Agg(
            "count",
            where=(event_in("product_view", "page_view"), Filter("category", "not_in", ("books",))),
        ),
    )
    morning = FeatureSpec(
        "morning_events",
        "time",
        "events 06:00-11:59",
        Agg("count", where=(Filter("ts.hour", ">=", 6), Filter("ts.hour", "<", 12))),
    )
    out = compute_features(events(), [big, share, not_books, morning])
    assert out["big_purchases"].to_list() == [0, 0, 3, 0]
    assert out["big_purchase_share"].to_list() == [None, 0.0, 1.0, None]
    # Null categories never match a not_in filter: u1's and u4's uncategorised views are out.
    assert out["not_books_views"].to_list() == [1, 1, 0, 0]
    assert out["morning_events"].to_list() == [2, 3, 2, 0]


def test_duplicate_names_are_refused() -> None:
    spec = CATALOG_BY_NAME["events"]
    with pytest.raises(InputError, match="twice"):
        compute_features(events(), [spec, spec])


def test_build_feature_query_is_lazy_and_collects_with_other_queries() -> None:
    lf = events()
    query = build_feature_query(lf, [CATALOG_BY_NAME["events"]])
    assert isinstance(query, pl.LazyFrame)
    counts, table = pl.collect_all([lf.select(pl.len()), query], engine="streaming")
    assert counts.item() == len(ROWS)
    assert table["events"].to_list() == [4, 7, 5, 1]


def test_no_events_gives_an_empty_table_with_the_columns() -> None:
    lf = events().filter(pl.lit(False))
    out = compute_features(lf, [CATALOG_BY_NAME["events"], CATALOG_BY_NAME["recency_days"]])
    assert out.columns == ["user_id", "events", "recency_days"]
    assert out.height == 0
