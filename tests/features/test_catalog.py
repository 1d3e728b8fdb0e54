"""The feature catalog as data: its contents, availability, selection and user TOML files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from segtui.errors import InputError
from segtui.features.catalog import CATALOG, CATALOG_BY_NAME
from segtui.features.checks import check_spec
from segtui.features.files import dump_feature_file, load_feature_file
from segtui.features.selection import available_features, default_features, select_features
from segtui.features.spec import (
    ALWAYS_PRESENT,
    FAMILIES,
    FILLS,
    TIME_PARTS,
    Agg,
    FeatureSpec,
    Filter,
    event_in,
)
from segtui.features.tables import spec_from_dict, spec_to_dict

FIXED_NAMES = [
    "events",
    "sessions",
    "active_days",
    "page_views",
    "product_views",
    "searches",
    "add_to_cart",
    "checkouts",
    "purchases",
    "refunds",
    "orders",
    "revenue",
    "avg_order_value",
    "recency_days",
    "days_since_last_event",
    "tenure_days",
    "cart_abandonment",
    "weekend_share",
    "night_share",
    "category_diversity",
]
ALL_COLUMNS = [
    "user_id",
    "ts",
    "event",
    "session_id",
    "order_id",
    "category",
    "item_id",
    "page",
    "price",
    "quantity",
    "revenue",
    "duration_s",
    "scroll_depth",
]
BARE = ["user_id", "ts", "event", "session_id"]


def test_at_least_30_features_in_all_six_families_with_unique_names() -> None:
    names = [s.name for s in CATALOG]
    assert len(names) >= 30
    assert len(set(names)) == len(names)
    assert {s.family for s in CATALOG} == set(FAMILIES)
    assert set(FIXED_NAMES) <= set(names)


def test_every_declaration_is_well_formed() -> None:
    for spec in CATALOG:
        check_spec(spec)
        assert spec.description
        if spec.when_missing is None:
            assert spec.why_missing, spec.name


def test_requires_names_every_column_a_feature_reads() -> None:
    def reads(spec: FeatureSpec, through_reference: bool = False) -> set[str]:
        # A referenced feature with a fallback (orders) needs only its fallback's columns.
        agg = spec.fallback if through_reference and spec.fallback else spec.agg
        cols = agg.columns() - set(TIME_PARTS)
        for ref in agg.references():
            cols |= reads(CATALOG_BY_NAME[ref], through_reference=True)
        return cols

    for spec in CATALOG:
        missing = reads(spec) - set(spec.requires) - {"user_id", "event", "ts"}
        assert not missing, f"{spec.name} reads {missing} without requiring it"


def test_counts_and_money_default_to_log1p() -> None:
    for name in ("events", "purchases", "revenue", "avg_order_value", "sessions", "add_to_cart"):
        assert CATALOG_BY_NAME[name].transform == "log1p", name
    for name in ("weekend_share", "cart_abandonment", "recency_days", "activity_trend"):
        assert CATALOG_BY_NAME[name].transform == "none", name


def test_fixed_meanings_are_declared_as_the_issue_says() -> None:
    c = CATALOG_BY_NAME
    assert c["revenue"].agg == Agg("sum", "revenue", where=(event_in("purchase", "refund"),))
    assert c["recency_days"].agg == Agg("days_since", where=(event_in("purchase"),))
    assert c["recency_days"].when_missing is None
    assert c["cart_abandonment"].when_missing is None
    assert c["cart_abandonment"].why_missing == "no add to cart"
    assert c["avg_order_value"].agg == Agg("ratio", operands=("revenue", "orders"))
    assert c["orders"].fallback == Agg("count", where=(event_in("purchase"),))
    assert c["night_share"].agg.match == (Filter("ts.hour", "in", (22, 23, 0, 1, 2, 3, 4, 5)),)
    assert c["weekend_share"].agg.match == (Filter("ts.weekday", ">=", 6),)
    assert c["events"].missing_text == "0"
    assert c["recency_days"].missing_text == "null (no purchases)"


def test_fills_are_declared_feature_by_feature() -> None:
    fills = {spec.name: spec.fill for spec in CATALOG if spec.fill != "median"}
    assert fills == {
        "cart_abandonment": "zero",
        "view_to_cart_rate": "zero",
        "cart_to_purchase_rate": "zero",
        "checkout_to_purchase_rate": "zero",
        "recency_days": "max",
        "purchase_span_days": "zero",
        "refund_rate": "zero",
    }
    # a fill only matters where a value can be missing
    assert all(CATALOG_BY_NAME[name].when_missing is None for name in fills)
    # money and prices without purchases are unknown, not 0 (see the comments in CATALOG)
    for name in ("avg_order_value", "avg_purchase_price", "avg_duration_s", "avg_price_viewed"):
        assert CATALOG_BY_NAME[name].fill == "median", name
    assert FILLS == ("median", "zero", "max", "min")


def test_default_set_is_a_subset_for_clustering() -> None:
    defaults = default_features()
    assert 8 <= len(defaults) < len(CATALOG)
    assert [s.name for s in defaults] == [s.name for s in CATALOG if s.default]
    assert {"events", "purchases", "revenue", "cart_abandonment", "winter_share"} <= {
        s.name for s in defaults
    }


def test_available_features_with_every_column_leaves_nothing_out() -> None:
    offered, left_out = available_features(CATALOG, ALL_COLUMNS)
    assert left_out == {}
    assert [s.name for s in offered] == [s.name for s in CATALOG]
    assert offered == list(CATALOG)


def test_available_features_leaves_out_those_whose_columns_are_missing_and_says_why() -> None:
    offered, left_out = available_features(CATALOG, BARE)
    names = {s.name for s in offered}
    assert {"events", "sessions", "purchases", "cart_abandonment", "recency_days"} <= names
    assert left_out["revenue"] == "needs column 'revenue', not in the data"
    assert left_out["avg_order_value"] == "needs column 'revenue', not in the data"
    assert left_out["category_diversity"] == "needs column 'category', not in the data"
    assert left_out["avg_price_viewed"] == "needs column 'price', not in the data"
    assert "orders" not in left_out  # falls back to counting purchases
    orders = next(s for s in offered if s.name == "orders")
    assert orders.agg == Agg("count", where=(event_in("purchase"),))
    assert orders.requires == ()
    assert set(names) | set(left_out) == {s.name for s in CATALOG}


def test_a_feature_using_a_left_out_feature_is_left_out_too() -> None:
    spec = FeatureSpec(
        "revenue_per_event",
        "value",
        "revenue / events",
        Agg("ratio", operands=("revenue", "events")),
    )
    offered, left_out = available_features([spec], BARE)
    assert offered == []
    assert left_out == {
        "revenue_per_event": "uses revenue, which needs column 'revenue', not in the data"
    }


def test_required_columns_never_leave_a_feature_out() -> None:
    offered, left_out = available_features(CATALOG, [])
    assert {s.name for s in offered} >= {"events", "purchases", "weekend_share", "recency_days"}
    assert left_out["sessions"] == "needs column 'session_id', not in the data"
    assert left_out["events_per_session"] == "needs column 'session_id', not in the data"
    assert set(ALWAYS_PRESENT) == {"user_id", "ts", "event"}


def test_select_features_keeps_the_asked_order() -> None:
    chosen = select_features(["revenue", "events"], list(CATALOG))
    assert [s.name for s in chosen] == ["revenue", "events"]


def test_select_features_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(InputError) as info:
        select_features(["purchses"], list(CATALOG))
    assert "unknown feature 'purchses'; did you mean 'purchases'?" in str(info.value)


def test_select_features_left_out_name_says_why() -> None:
    offered, left_out = available_features(CATALOG, BARE)
    with pytest.raises(InputError) as info:
        select_features(["revenue"], offered, left_out)
    assert "feature 'revenue' cannot be computed on this data" in str(info.value)
    assert "needs column 'revenue'" in str(info.value)


FEATURE_FILE = """
[[feature]]
name = "big_purchases"
family = "value"
description = "purchases of at least 100 in revenue"
kind = "count"
events = ["purchase"]
where = [{column = "revenue", op = ">=", value = 100}]
transform = "log1p"

[[feature]]
name = "big_purchase_share"
family = "value"
description = "big_purchases / purchases"
kind = "ratio"
operands = ["big_purchases", "purchases"]
when_missing = "null"
why_missing = "no purchases"
default = true

[[feature]]
name = "morning_share"
family = "time"
description = "share of events from 06:00 to 11:59 UTC"
kind = "share"
match = [{column = "ts.hour", op = "in", value = [6, 7, 8, 9, 10, 11]}]
"""


def test_load_feature_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(FEATURE_FILE, encoding="utf-8")
    specs = load_feature_file(path)
    assert specs == [
        FeatureSpec(
            "big_purchases",
            "value",
            "purchases of at least 100 in revenue",
            Agg("count", where=(event_in("purchase"), Filter("revenue", ">=", 100))),
            requires=("revenue",),
            transform="log1p",
        ),
        FeatureSpec(
            "big_purchase_share",
            "value",
            "big_purchases / purchases",
            Agg("ratio", operands=("big_purchases", "purchases")),
            when_missing=None,
            why_missing="no purchases",
            default=True,
        ),
        FeatureSpec(
            "morning_share",
            "time",
            "share of events from 06:00 to 11:59 UTC",
            Agg("share", match=(Filter("ts.hour", "in", (6, 7, 8, 9, 10, 11)),)),
            requires=("ts",),
        ),
    ]
    # The user's feature that uses a left-out one is left out with it.
    _, left_out = available_features(specs, BARE)
    assert set(left_out) == {"big_purchases", "big_purchase_share"}


def test_feature_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text(FEATURE_FILE, encoding="utf-8")
    specs = load_feature_file(path)
    again = tmp_path / "again.toml"
    again.write_text(dump_feature_file(specs), encoding="utf-8")
    assert load_feature_file(again) == specs


def test_whole_catalog_round_trips_through_plain_data() -> None:
    for spec in CATALOG:
        assert spec_from_dict(spec_to_dict(spec)) == spec
    assert spec_to_dict(CATALOG_BY_NAME["recency_days"])["fill"] == "max"


def test_fill_in_a_feature_file_and_old_declarations_without_it(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        FEATURE_FILE.replace(
            'why_missing = "no purchases"\n', 'why_missing = "no purchases"\nfill = "zero"\n'
        ),
        encoding="utf-8",
    )
    specs = load_feature_file(path)
    assert [s.fill for s in specs] == ["median", "zero", "median"]
    again = tmp_path / "again.toml"
    again.write_text(dump_feature_file(specs), encoding="utf-8")
    assert 'fill = "zero"' in again.read_text(encoding="utf-8")
    assert load_feature_file(again) == specs
    # a declaration written before fills existed (e.g. in an old model file) reads as median
    old = spec_to_dict(CATALOG_BY_NAME["recency_days"])
    del old["fill"]
    assert spec_from_dict(old).fill == "median"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "[[feature]]\nname = 'x'\nfamily = 'value'\ndescription = 'd'\nkind = 'count'\n"
            "colour = 1",
            "feature 'x': unknown key 'colour'",
        ),
        (
            "[[feature]]\nname = 'x'\nfamily = 'valeu'\ndescription = 'd'\nkind = 'count'",
            "feature 'x': family 'valeu' is not one of activity, engagement, funnel, value, "
            "interest, time (did you mean 'value'?)",
        ),
        (
            "[[feature]]\nname = 'x'\nfamily = 'value'\ndescription = 'd'\nkind = 'cuont'",
            "feature 'x': kind 'cuont' is not one of",
        ),
        (
            "[[feature]]\nname = 'x'\nfamily = 'value'\ndescription = 'd'\nkind = 'sum'",
            "feature 'x': kind 'sum' needs a column",
        ),
        (
            "[[feature]]\nname = 'x'\nfamily = 'value'\ndescription = 'd'\nkind = 'sum'\n"
            "column = 'revenu'",
            "feature 'x': kind 'sum' cannot use column 'revenu' (did you mean 'revenue'?)",
        ),
        (
            "[[feature]]\nname = 'x'\nfamily = 'value'\ndescription = 'd'\nkind = 'ratio'\n"
            "operands = ['purchases', 'ordrs']",
            "feature 'x': operand 'ordrs' is not a known feature (did you mean 'orders'?)",
        ),
        (
            "[[feature]]\nname = 'x'\nfamily = 'value'\ndescription = 'd'\nkind = 'count'\n"
            "where = [{column = 'event', op = 'like', value = 'p'}]",
            "feature 'x': filter op 'like' is not one of",
        ),
        (
            "[[feature]]\nname = 'x'\nfamily = 'value'\ndescription = 'd'\nkind = 'count'\n"
            "where = [{column = 'event', op = 'in', value = 'purchase'}]",
            "feature 'x': filter 'event in' needs a non-empty list of values",
        ),
        (
            "[[feature]]\nname = 'x'\nfamily = 'value'\ndescription = 'd'\nkind = 'share'",
            "feature 'x': kind 'share' needs 'match'",
        ),
        (
            "[[feature]]\nname = 'x'\nfamily = 'value'\ndescription = 'd'\nkind = 'count'\n"
            "when_missing = 5",
            "feature 'x': when_missing is 0 or \"null\"",
        ),
        (
            "[[feature]]\nname = 'x'\nfamily = 'value'\ndescription = 'd'\nkind = 'count'\n"
            "fill = 'maxx'",
            "feature 'x': fill 'maxx' is not one of median, zero, max, min (did you mean 'max'?)",
        ),
        (
            "[[feature]]\nname = 'x'\nfamily = 'value'\ndescription = 'd'\nkind = 'count'\n"
            "fill = 0",
            "feature 'x': 'fill' is one of median, zero, max, min (text)",
        ),
        (
            "[[feature]]\nname = 'x'\nfamily = 'value'\ndescription = 'd'\nkind = 'count'\n"
            "fil = 'zero'",
            "feature 'x': unknown key 'fil' (did you mean 'fill'?)",
        ),
        (
            "[[feature]]\nname = 'x'\nfamily = 'value'\nkind = 'count'",
            "feature 'x': needs 'description' (text)",
        ),
        (
            "[[feature]]\nname = 'Big One'\nfamily = 'value'\ndescription = 'd'\nkind = 'count'",
            "feature 'Big One': a name uses lower-case letters",
        ),
        (
            "[[feature]]\nname = 'revenue'\nfamily = 'value'\ndescription = 'd'\nkind = 'count'",
            "feature 'revenue': the name is already a built-in feature",
        ),
        (
            "[[feature]]\nname = 'x'\nfamily = 'value'\ndescription = 'd'\nkind = 'count'\n"
            "[[feature]]\nname = 'x'\nfamily = 'value'\ndescription = 'd'\nkind = 'count'",
            "feature 'x': declared twice",
        ),
        (
            "[[feature]]\nname = 'a'\nfamily = 'value'\ndescription = 'd'\nkind = 'ratio'\n"
            "operands = ['b', 'events']\n"
            "[[feature]]\nname = 'b'\nfamily = 'value'\ndescription = 'd'\nkind = 'ratio'\n"
            "operands = ['a', 'events']",
            "feature 'a': operands go round in a circle (a -> b -> a)",
        ),
        (
            "[[feature]]\nfamily = 'value'\ndescription = 'd'\nkind = 'count'",
            "feature #1: needs 'name' (text)",
        ),
        ("[feature]\nname = 'x'", "no features declared"),
        ("title = 'x'", "unknown top-level key 'title'"),
        ("", "no features declared"),
        ("[[feature]\nname = ", "not valid TOML"),
    ],
)
def test_feature_file_errors_name_the_file_and_the_feature(
    tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_feature_file(path)
    text = str(info.value)
    assert text.startswith(f"{path}: "), text
    assert message in text, text


def test_missing_and_non_utf8_feature_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=re.escape("feature file not found")):
        load_feature_file(tmp_path / "nope.toml")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes("[[feature]]\nname = 'caf\xe9'".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        load_feature_file(bad)
