"""Mapping detection, aliases, overrides, and saving/reusing mappings as TOML or JSON."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from segtui.errors import InputError
from segtui.ingest.mapping import (
    ColumnMapping,
    apply_overrides,
    check_columns_exist,
    closest_column,
    detect_mapping,
    generic_event_aliases,
    load_mapping,
    parse_overrides,
    require_columns,
    resolve_event_aliases,
    save_mapping,
)

CLICKSTREAM = [
    "event_time", "event_type", "product_id", "category_id", "category_code", "brand", "price",
    "user_id", "user_session",
]  # fmt: skip
INVOICE = [
    "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
    "CustomerID", "Country",
]  # fmt: skip
INVOICE_II = [
    "Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID",
    "Country",
]  # fmt: skip


def test_clickstream_preset() -> None:
    m = detect_mapping(CLICKSTREAM)
    assert m.layout == "clickstream"
    assert m.columns == {
        "user_id": "user_id",
        "ts": "event_time",
        "event": "event_type",
        "session_id": "user_session",
        "item_id": "product_id",
        "category": "category_code",
        "price": "price",
    }
    assert m.how["ts"] == "preset clickstream"
    assert m.event_aliases["cart"] == "add_to_cart"
    assert m.event_aliases["view"] == "product_view"


def test_invoice_presets() -> None:
    m = detect_mapping(INVOICE)
    assert (m.layout, m.columns["user_id"], m.columns["order_id"]) == (
        "invoice_lines",
        "CustomerID",
        "InvoiceNo",
    )
    assert m.invoice_refunds and m.event_constant == "purchase"
    assert "event" not in m.columns
    m2 = detect_mapping(INVOICE_II)
    assert (m2.layout, m2.columns["user_id"], m2.columns["price"]) == (
        "invoice_lines_ii",
        "Customer ID",
        "Price",
    )
    assert ("event", "(every line)", "purchase; refund where the order starts with C") in (
        m2.table()
    )


def test_segment_preset_user_falls_back_to_anonymous_id() -> None:
    m = detect_mapping(["type", "event", "userId", "anonymousId", "timestamp", "properties.price"])
    assert m.layout == "segment"
    assert m.sources("user_id") == ["userId", "anonymousId"]
    assert m.columns["price"] == "properties.price"
    only_anon = detect_mapping(["event", "anonymousId", "timestamp"])
    assert only_anon.sources("user_id") == ["anonymousId"]


def test_ga4_preset() -> None:
    m = detect_mapping(["event_date", "event_timestamp", "event_name", "user_pseudo_id", "value"])
    assert m.layout == "ga4"
    assert m.columns["ts"] == "event_timestamp"
    assert m.columns["revenue"] == "value"
    assert m.event_aliases["begin_checkout"] == "checkout"


def test_transaction_table_in_any_names() -> None:
    m = detect_mapping(["Customer Number", "Purchase Date", "Total Amount", "Units"])
    assert m.layout == "transactions"
    assert m.event_constant == "purchase"
    assert m.columns == {
        "user_id": "Customer Number",
        "ts": "Purchase Date",
        "quantity": "Units",
        "revenue": "Total Amount",
    }
    assert "known name" in m.how["user_id"]


def test_generic_aliases_and_forced_layout() -> None:
    m = detect_mapping(["uid", "time", "action", "url"])
    assert m.layout == "generic"
    assert m.columns == {"user_id": "uid", "ts": "time", "event": "action", "page": "url"}
    forced = detect_mapping(["uid", "time", "action"], layout="transactions")
    assert forced.layout == "transactions" and "event" not in forced.columns
    with pytest.raises(InputError, match="unknown layout"):
        detect_mapping(["uid"], layout="nope")


def test_generic_event_alias_table_matches_loosely() -> None:
    table = generic_event_aliases(["Add To Cart", "PURCHASE", "click"])
    assert table["Add To Cart"] == "add_to_cart"
    assert table["PURCHASE"] == "purchase"
    assert "click" not in table


def test_alias_never_folds_into_a_name_the_data_uses() -> None:
    apply, skipped = resolve_event_aliases(
        {"cart": "add_to_cart", "view": "product_view", "purchase": "purchase"},
        ["cart", "add_to_cart", "view"],
    )
    assert apply == {"view": "product_view"}
    assert skipped == {"cart": "the data already uses 'add_to_cart'"}


def test_overrides() -> None:
    m = detect_mapping(CLICKSTREAM)
    out = apply_overrides(
        m, parse_overrides(["ts=event_time", "category=category_id"]), CLICKSTREAM
    )
    assert out.columns["category"] == "category_id"
    assert out.how["category"] == "--map"
    assert m.columns["category"] == "category_code"  # the original is not changed
    unmapped = apply_overrides(m, {"price": ""}, CLICKSTREAM)
    assert "price" not in unmapped.columns
    moved = apply_overrides(m, {"item_id": "price"}, CLICKSTREAM)
    assert moved.columns["item_id"] == "price" and "price" not in moved.columns


def test_override_errors_name_column_and_closest() -> None:
    with pytest.raises(InputError) as info:
        apply_overrides(detect_mapping(CLICKSTREAM), {"ts": "event_tme"}, CLICKSTREAM)
    assert info.value.column == "event_tme"
    assert "event_time" in info.value.hint
    with pytest.raises(InputError) as info:
        apply_overrides(detect_mapping(CLICKSTREAM), {"userid": "user_id"}, CLICKSTREAM)
    assert "user_id" in info.value.hint
    with pytest.raises(InputError, match="canonical=source"):
        parse_overrides(["ts"])


def test_missing_required_column_names_columns_and_closest() -> None:
    cols = ["usr_idx", "when_it_happened", "kind"]
    m = detect_mapping(cols)
    with pytest.raises(InputError) as info:
        require_columns(m, cols, file="x.csv")
    assert str(info.value) == (
        "x.csv: no columns for the required 'user_id' and 'ts' were found. The file has columns: "
        "usr_idx, when_it_happened, kind. Closest match: 'usr_idx' for user_id; use --map "
        "user_id=usr_idx and name ts with --map ts=COLUMN."
    )
    assert closest_column("ts", ["timestmp", "foo"]) == "timestmp"
    one = detect_mapping(["customer_id", "recency", "signup_date"])
    with pytest.raises(InputError) as info:
        require_columns(one, ["customer_id", "recency", "signup_date"], file="u.csv")
    assert str(info.value) == (
        "u.csv, column 'ts': no column for the required 'ts' was found. The file has columns: "
        "customer_id, recency, signup_date. Closest match: 'signup_date' for ts; use --map "
        "ts=signup_date."
    )
    spaced = detect_mapping(["Kunden Nr", "Datum", "event"])
    with pytest.raises(InputError) as info:
        require_columns(spaced, ["Kunden Nr", "Datum", "event"])
    assert info.value.hint == (
        "Closest matches: 'Kunden Nr' for user_id, 'Datum' for ts; "
        "use --map 'user_id=Kunden Nr' --map ts=Datum."
    )


@pytest.mark.parametrize("name", ["client", "client_id", "ClientID", "buyer_id", "account_id"])
def test_common_customer_names_are_user_ids(name: str) -> None:
    assert detect_mapping([name, "timestamp", "event"]).columns["user_id"] == name


def test_plain_log_is_not_taken_for_segment() -> None:
    """user_id normalises like userId: Segment needs a name only Segment writes."""
    plain = detect_mapping(["user_id", "timestamp", "event", "revenue"])
    assert plain.layout == "generic"
    assert plain.columns == {
        "user_id": "user_id",
        "ts": "timestamp",
        "event": "event",
        "revenue": "revenue",
    }
    for evidence in (["userId"], ["anonymousId"], ["user_id", "messageId"]):
        cols = [*evidence, "timestamp", "event"]
        assert detect_mapping(cols).layout == "segment", cols
    with_props = detect_mapping(["user_id", "timestamp", "event", "properties.revenue"])
    assert with_props.layout == "segment"
    assert with_props.columns["revenue"] == "properties.revenue"


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_save_and_load_roundtrip(tmp_path: Path, suffix: str) -> None:
    m = detect_mapping(["type", "event", "userId", "anonymousId", "timestamp", "properties.price"])
    m.event_aliases['Weird "Name" \\ é'] = "search"
    m.day_first = True
    m.epoch_unit = "ms"
    path = save_mapping(m, tmp_path / f"m{suffix}")
    text = path.read_text()
    data = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    assert data["columns"]["user_id"] == "userId"
    back = load_mapping(path)
    assert back.to_dict() == m.to_dict()
    assert back.how["user_id"] == "mapping file"
    assert back.event_aliases['Weird "Name" \\ é'] == "search"
    assert not list(tmp_path.glob(".*.tmp"))


def test_mapping_file_errors(tmp_path: Path) -> None:
    bad_key = tmp_path / "m.toml"
    bad_key.write_text('[columns]\nuser_idd = "a"\n')
    with pytest.raises(InputError) as info:
        load_mapping(bad_key)
    assert info.value.file == bad_key and "user_id" in info.value.hint
    broken = tmp_path / "b.json"
    broken.write_text("{nope")
    with pytest.raises(InputError, match="not valid JSON"):
        load_mapping(broken)
    with pytest.raises(InputError, match=r"\.toml or \.json"):
        save_mapping(ColumnMapping(columns={"user_id": "u"}), tmp_path / "m.yaml")


def test_mapping_naming_a_missing_column() -> None:
    m = ColumnMapping(columns={"user_id": "customer", "ts": "date"})
    with pytest.raises(InputError) as info:
        check_columns_exist(m, ["customer", "day"], origin="the mapping file", file="m.toml")
    assert info.value.column == "date" and info.value.file == "m.toml"
    assert "customer, day" in info.value.details[0]
