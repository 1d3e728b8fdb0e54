"""Value columns by the words of their names: line totals, unit prices and counts (CDNOW)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from segtui.artifacts.model import read_model
from segtui.cli.main import app
from segtui.ingest.mapping import detect_mapping
from segtui.ingest.presets import name_words, value_role
from segtui.pipeline import load_users


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("dollar_value", "revenue"),
        ("sale_amount", "revenue"),
        ("amount_usd", "revenue"),
        ("order_value", "revenue"),
        ("order_amount", "revenue"),
        ("order_count", None),  # orders, not items
        ("order_number", None),  # an id
        ("phone_number", None),
        ("item_no", None),  # an item id
        ("Kunden Nr", None),
        ("no_of_items", "quantity"),
        ("transaction_value", "revenue"),
        ("line_total", "revenue"),
        ("Total Price", "revenue"),
        ("total_cost", "revenue"),
        ("unit_price", "price"),
        ("price_usd", "price"),
        ("unitCost", "price"),
        ("price_each", "price"),
        ("number_of_cds", "quantity"),
        ("numberOfCDs", "quantity"),
        ("num_items", "quantity"),
        ("n_items", "quantity"),
        ("item_count", "quantity"),
        ("units_sold", "quantity"),
        ("total_items", "quantity"),
        ("qty", "quantity"),
        ("tax_amount", None),
        ("discount_amount", None),
        ("avg_order_value", None),
        ("customer_number", None),
        ("event_count", None),
        ("session_count", None),
        ("scroll_depth", None),
        ("cost", None),
        ("comment", None),
    ],
)
def test_value_roles(name: str, role: str | None) -> None:
    found = value_role(name)
    assert (found[0] if found else None) == role


def test_words_split_at_punctuation_and_camel_case() -> None:
    assert name_words("numberOfCDs") == ("number", "of", "cds")
    assert name_words("Dollar-Value (USD)") == ("dollar", "value", "usd")


CDNOW = """\
customer_id,date,number_of_cds,dollar_value
00001,19970101,1,11.77
00002,19970112,1,12.00
00002,19970112,5,77.00
00003,19970102,2,20.76
00003,19970330,2,20.76
00003,19970402,2,19.54
00004,19970101,2,29.33
00004,19970118,2,29.73
00004,19970802,1,14.96
00004,19971212,2,26.48
"""


@pytest.fixture
def cdnow(tmp_path: Path) -> Path:
    path = tmp_path / "cdnow.csv"
    path.write_text(CDNOW, encoding="utf-8")
    return path


def test_cdnow_columns_map_with_the_words_that_decided() -> None:
    mapping = detect_mapping(["customer_id", "date", "number_of_cds", "dollar_value"])
    assert mapping.layout == "transactions"
    assert mapping.columns == {
        "user_id": "customer_id",
        "ts": "date",
        "quantity": "number_of_cds",
        "revenue": "dollar_value",
    }
    rows = {c: (src, how) for c, src, how in mapping.table()}
    assert rows["revenue"] == (
        "dollar_value",
        "name rule ('dollar_value': 'dollar' + 'value' reads as a line total)",
    )
    assert rows["quantity"] == (
        "number_of_cds",
        "name rule ('number_of_cds': 'number' + 'cds' reads as a count of items)",
    )


def test_an_alias_wins_over_a_name_rule() -> None:
    mapping = detect_mapping(["user_id", "ts", "dollar_value", "amount"])
    assert mapping.columns["revenue"] == "amount"
    assert "dollar_value" not in mapping.used_columns()


def test_cdnow_monetary_features_equal_an_independent_sum(cdnow: Path) -> None:
    data = load_users([cdnow])
    got = data.users.select("user_id", "revenue", "items_purchased", "purchases", "orders")
    raw = pl.read_csv(cdnow, schema_overrides={"customer_id": pl.Utf8})
    expected = (
        raw.group_by("customer_id")
        .agg(
            pl.col("dollar_value").sum().alias("revenue"),
            pl.col("number_of_cds").sum().cast(pl.Float64).alias("items_purchased"),
            pl.len().cast(pl.Int64).alias("purchases"),
        )
        .rename({"customer_id": "user_id"})
        .sort("user_id")
    )
    assert got["user_id"].to_list() == ["00001", "00002", "00003", "00004"]
    assert got["revenue"].to_list() == pytest.approx(expected["revenue"].to_list())
    assert got["items_purchased"].to_list() == expected["items_purchased"].to_list()
    assert got["purchases"].to_list() == expected["purchases"].to_list()
    assert "avg_order_value" in data.default_features


def test_segment_on_cdnow_builds_monetary_features_with_no_map(cdnow: Path, tmp_path: Path) -> None:
    out = tmp_path / "cd.parquet"
    result = CliRunner().invoke(app, ["segment", str(cdnow), "-k", "2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    model = read_model(tmp_path / "cd.model.json")
    assert {"revenue", "avg_order_value"} <= set(model.features)
    inspect = CliRunner().invoke(app, ["inspect", str(cdnow)])
    assert "name rule ('dollar_value': 'dollar' + 'value' reads as a line total)" in inspect.output


def test_a_topic_column_is_the_category() -> None:
    mapping = detect_mapping(["userId", "timestamp", "event", "topic", "duration"])
    assert mapping.columns["category"] == "topic"
