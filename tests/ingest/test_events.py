"""Loading each layout into canonical events, with exact values, and the load report."""

from __future__ import annotations

import gzip
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from segtui.errors import InputError
from segtui.ingest.events import (
    CANONICAL_EVENTS,
    CANONICAL_SCHEMA,
    REQUIRED_COLUMNS,
    LoadOptions,
    load_events,
    preview,
)
from segtui.ingest.mapping import detect_mapping, save_mapping
from segtui.ingest.strict import check_as_of

LAYOUTS = Path(__file__).parents[1] / "data" / "layouts"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rows(path: Path | list, options: LoadOptions | None = None) -> pl.DataFrame:
    loaded = load_events(path if isinstance(path, list) else [path], options)
    return loaded.events.collect().sort("user_id", "ts")


def by(frame: pl.DataFrame, **where: object) -> dict:
    found = frame.filter(*[pl.col(k) == v for k, v in where.items()])
    assert found.height == 1, found
    return found.row(0, named=True)


def test_constants() -> None:
    assert REQUIRED_COLUMNS == ("user_id", "ts", "event")
    assert CANONICAL_SCHEMA["ts"] == pl.Datetime("us", "UTC")
    assert "add_to_cart" in CANONICAL_EVENTS


def test_clickstream() -> None:
    loaded = load_events([LAYOUTS / "clickstream.csv"])
    df = loaded.events.collect()
    assert dict(df.schema) == {c: CANONICAL_SCHEMA[c] for c in loaded.columns}
    assert loaded.columns == [
        "user_id", "ts", "event", "session_id", "category", "item_id", "price", "revenue",
    ]  # fmt: skip
    cart = by(df, event="add_to_cart")
    assert cart["user_id"] == "554748717"
    assert cart["ts"] == utc(2019, 10, 1, 0, 0, 5)
    assert cart["session_id"] == "9333dfbd-b87a-4708-9857-6336556b0fcc"
    assert cart["category"] == "appliances.environment.water_heater"
    assert cart["price"] == 33.20 and cart["revenue"] is None
    assert by(df, event="purchase")["revenue"] == 33.20
    assert by(df, user_id="541312140")["event"] == "product_view"
    assert by(df, user_id="541312140")["category"] is None
    assert any("view -> product_view, cart -> add_to_cart" in d for d in loaded.decisions)


def test_invoice_lines() -> None:
    loaded = load_events([LAYOUTS / "invoice_lines.csv"])
    df = loaded.events.collect()
    assert df.height == 5
    refund = by(df, order_id="C536379")
    assert refund == {
        "user_id": "14527",
        "ts": utc(2010, 12, 1, 9, 41),
        "event": "refund",
        "session_id": "14527#1291196460",
        "order_id": "C536379",
        "item_id": "D",
        "price": 27.5,
        "quantity": -1.0,
        "revenue": -27.5,
    }
    line = by(df, item_id="22728")
    assert (line["user_id"], line["event"], line["ts"]) == (
        "12583",
        "purchase",
        utc(2010, 12, 1, 8, 45),
    )
    assert line["revenue"] == pytest.approx(90.0)
    # M/D was decided from the data (12/13/2010 has a second number above 12)
    assert any("month first" in d and "above 12" in d for d in loaded.decisions)
    report = loaded.collect_report()
    assert (report.rows_read, report.rows_kept, report.users) == (7, 5, 3)
    (no_customer,) = report.left_out
    assert no_customer.count == 2
    assert "CustomerID" in no_customer.label
    assert [(Path(f).name, r) for f, r, _ in no_customer.examples] == [
        ("invoice_lines.csv", 5),
        ("invoice_lines.csv", 7),
    ]
    assert report.events_by_type == {"purchase": 4, "refund": 1}


def test_invoice_lines_ii() -> None:
    loaded = load_events([LAYOUTS / "invoice_lines_ii.csv"])
    df = loaded.events.collect()
    refund = by(df, order_id="C489449")
    assert (refund["user_id"], refund["event"], refund["ts"]) == (
        "16321",
        "refund",
        utc(2009, 12, 1, 10, 33),
    )
    assert refund["revenue"] == pytest.approx(-35.4)
    first = by(df, item_id="85048")
    assert first["user_id"] == "13085"  # "13085.0" in the file
    assert first["revenue"] == pytest.approx(83.4)
    assert any("'13085.0'" in d for d in loaded.decisions)
    assert loaded.collect_report().left_out[0].count == 1


def test_segment_track_ndjson() -> None:
    df = rows(LAYOUTS / "segment_track.ndjson")
    added = by(df, event="add_to_cart")
    assert added["user_id"] == "a-2"  # userId null -> anonymousId
    assert added["ts"] == utc(2024, 3, 5, 14, 0)  # 16:00+02:00
    assert (added["item_id"], added["category"], added["price"], added["quantity"]) == (
        "sku-2",
        "Hats",
        20.0,
        2.0,
    )
    viewed = by(df, event="product_view")
    assert viewed["ts"] == utc(2024, 3, 5, 14, 30, 0, 123000)
    order = by(df, event="purchase")
    assert (order["user_id"], order["order_id"], order["revenue"]) == ("u-1", "o-9", 119.8)
    assert order["session_id"] == viewed["session_id"] == "u-1#1709649000"
    assert by(df, user_id="u-3")["event"] == "Signed Up"  # unknown names kept


def test_ga4_export() -> None:
    loaded = load_events([LAYOUTS / "ga4_events.csv"])
    df = loaded.events.collect()
    first = by(df, event="page_view")
    assert first["ts"] == utc(2024, 3, 5, 14, 30, 0, 123456)
    assert first["user_id"] == "1234567890.1709649000"
    assert first["session_id"] == "1709649000"
    assert first["page"] == "https://shop.example/"
    cart = by(df, event="add_to_cart")
    assert (cart["item_id"], cart["category"], cart["price"], cart["quantity"]) == (
        "SKU_1",
        "Shoes",
        59.9,
        2.0,
    )
    bought = by(df, event="purchase")
    assert (bought["order_id"], bought["revenue"]) == ("T-100", 119.8)
    assert by(df, user_id="987654321.1709722800")["event"] == "search"
    assert any("epoch microseconds" in d for d in loaded.decisions)


def test_transaction_table() -> None:
    loaded = load_events([LAYOUTS / "transactions.csv"])
    assert loaded.mapping.layout == "transactions"
    df = loaded.events.collect().sort("user_id", "ts")
    assert df.rows() == [
        ("C-001", utc(2024, 1, 15), "purchase", "C-001#1705276800", 1.0, 19.99),
        ("C-001", utc(2024, 2, 1), "purchase", "C-001#1706745600", None, 42.5),
        ("C-002", utc(2024, 1, 16), "purchase", "C-002#1705363200", 2.0, 5.0),
    ]
    assert loaded.columns == ["user_id", "ts", "event", "session_id", "quantity", "revenue"]


def test_semicolon_day_first_transactions() -> None:
    loaded = load_events([LAYOUTS / "transactions_semicolon.csv"])
    df = loaded.events.collect()
    assert by(df, user_id="k2")["ts"] == utc(2024, 3, 1, 9, 0)
    assert loaded.mapping.day_first is True
    assert any("day first" in d for d in loaded.decisions)


def test_generic_log_alias_rule_sessions_and_scroll() -> None:
    loaded = load_events([LAYOUTS / "generic_events.tsv"])
    df = loaded.events.collect()
    # 'pageview' is not folded into 'page_view': the data already uses 'page_view'
    assert sorted(df["event"].to_list()) == [
        "click", "page_view", "pageview", "pageview", "purchase",
    ]  # fmt: skip
    assert any("kept 'pageview' as it is" in d for d in loaded.decisions)
    assert by(df, event="purchase")["scroll_depth"] == pytest.approx(0.1)
    u2 = df.filter(pl.col("user_id") == "u2").sort("ts")["session_id"].to_list()
    assert u2 == ["u2#1709735400", "u2#1709742600"]  # 2 h apart: two sessions
    one = rows(LAYOUTS / "generic_events.tsv", LoadOptions(session_gap_minutes=180))
    assert one.filter(pl.col("user_id") == "u2")["session_id"].n_unique() == 1


def test_session_gap_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(
        "user_id,ts,event\n"
        "a,2024-01-01T00:00:00Z,view\n"
        "a,2024-01-01T00:30:00Z,view\n"  # exactly 30 min: same session
        "a,2024-01-01T01:00:01Z,view\n"  # 30 min 1 s: new session
        "b,2024-01-01T00:10:00Z,view\n"
    )
    df = rows(path)
    assert df["session_id"].to_list() == [
        "a#1704067200", "a#1704067200", "a#1704070801", "b#1704067800",
    ]  # fmt: skip


def test_unparseable_timestamps_left_out_with_rows_and_values(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(
        "user_id,ts,event\n"
        "a,2024-01-01T00:00:00Z,view\n"
        "a,not a date,view\n"
        "b,,view\n"
        ",2024-01-02T00:00:00Z,view\n"
        "c,2024-01-03T00:00:00Z,\n"
    )
    loaded = load_events([path])
    assert loaded.events.collect()["user_id"].to_list() == ["a"]
    report = loaded.collect_report()
    got = {lo.reason: (lo.count, [(r, v) for _, r, v in lo.examples]) for lo in report.left_out}
    assert got == {
        "no_user": (1, [(4, None)]),
        "no_timestamp": (1, [(3, None)]),
        "bad_timestamp": (1, [(2, "not a date")]),
        "no_event": (1, [(5, None)]),
    }
    assert any("row 2: 'not a date'" in line for line in report.lines())
    with pytest.raises(InputError) as info:
        load_events([path], LoadOptions(strict=True))
    assert str(info.value) == (
        f"{path}, column 'ts', row 2: the row has a timestamp that cannot be read "
        "(value: 'not a date'). 4 rows would be left out in all: 1 with no user id (user_id "
        "empty), 1 with no timestamp (ts empty), 1 with an unparseable timestamp (ts), 1 with no "
        "event name (event empty). Fix the rows, correct the mapping, or drop --strict to leave "
        "them out."
    )


def test_strict_names_the_first_bad_row_and_says_empty(tmp_path: Path) -> None:
    """The first bad row in the file is named, whatever its reason; an empty value says so."""
    path = tmp_path / "e.csv"
    path.write_text("user_id,ts,event\na,2024-01-01T00:00:00Z,view\na,,view\nb,yesterday,view\n")
    with pytest.raises(InputError) as info:
        load_events([path], LoadOptions(strict=True))
    assert str(info.value) == (
        f"{path}, column 'ts', row 2: the row has no timestamp (value: empty). 2 rows would be "
        "left out in all: 1 with no timestamp (ts empty), 1 with an unparseable timestamp (ts). "
        "Fix the rows, correct the mapping, or drop --strict to leave them out."
    )


def test_strict_names_first_bad_timestamp(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("user_id,ts,event\na,2024-01-01T00:00:00Z,view\nb,2024-13-45T00:00:00Z,view\n")
    with pytest.raises(InputError) as info:
        load_events([path], LoadOptions(strict=True))
    err = info.value
    assert (err.row, err.column) == (2, "ts")
    assert "'2024-13-45T00:00:00Z'" in err.message


def test_unparseable_timestamp_column_raises(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("user_id,ts,event\na,soon,view\n")
    with pytest.raises(InputError, match="no timestamp format") as info:
        load_events([path])
    assert info.value.column == "ts" and str(path) in str(info.value.file)


def test_missing_required_column(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("usr,event_tme,event\na,2024-01-01,view\n")
    with pytest.raises(InputError) as info:
        load_events([path])
    assert str(info.value) == (
        f"{path}: no columns for the required 'user_id' and 'ts' were found. The file has "
        "columns: usr, event_tme, event. Closest matches: 'usr' for user_id, 'event_tme' for ts; "
        "use --map user_id=usr --map ts=event_tme."
    )
    fixed = load_events([path], LoadOptions(overrides={"user_id": "usr", "ts": "event_tme"}))
    assert fixed.events.collect()["ts"].to_list() == [utc(2024, 1, 1)]
    assert fixed.mapping.how["user_id"] == "--map"


def test_mapping_file_naming_missing_column(tmp_path: Path) -> None:
    mapping_path = tmp_path / "m.toml"
    mapping_path.write_text('[columns]\nuser_id = "customer"\nts = "date"\n')
    with pytest.raises(InputError) as info:
        load_events([LAYOUTS / "clickstream.csv"], LoadOptions(mapping_file=mapping_path))
    err = info.value
    assert (err.file, err.column) == (mapping_path, "customer")
    assert "clickstream.csv" in err.message


def test_saved_mapping_reused(tmp_path: Path) -> None:
    first = load_events([LAYOUTS / "invoice_lines.csv"])
    path = save_mapping(first.mapping, tmp_path / "m.toml")
    again = load_events([LAYOUTS / "invoice_lines.csv"], LoadOptions(mapping_file=path))
    assert again.mapping.day_first is False
    assert again.events.collect().equals(first.events.collect())
    given = detect_mapping(["user", "timestamp", "action"])
    loaded = load_events([LAYOUTS / "generic_events.tsv"], LoadOptions(mapping=given))
    assert loaded.mapping.how["user_id"].startswith("alias")


def test_parquet_gzip_and_multiple_files(tmp_path: Path) -> None:
    pq = tmp_path / "e.parquet"
    pl.DataFrame(
        {
            "user_id": [1.0, 2.0],
            "event_time": [datetime(2024, 1, 1, 12), datetime(2024, 1, 2, 12)],
            "event": ["Purchase", "page"],
            "amount": [3.5, None],
        }
    ).write_parquet(pq)
    df = rows(pq)
    assert df.select("user_id", "ts", "event", "revenue").rows() == [
        ("1", utc(2024, 1, 1, 12), "purchase", 3.5),
        ("2", utc(2024, 1, 2, 12), "page_view", None),
    ]
    gz = tmp_path / "a.csv.gz"
    gz.write_bytes(gzip.compress(b"user_id,ts,event\nx,1704067200000,view\n"))
    plain = tmp_path / "b.csv"
    plain.write_text("user_id,ts,event\ny,1704153600000,view\n")
    both = load_events([gz, plain])
    assert both.source.compression == "gzip"
    got = both.events.collect().sort("user_id")
    assert got.select("user_id", "ts").rows() == [("x", utc(2024, 1, 1)), ("y", utc(2024, 1, 2))]


def test_report_query_collects_with_other_work() -> None:
    loaded = load_events([LAYOUTS / "invoice_lines.csv"])
    counts, users = pl.collect_all(
        [loaded.report_query, loaded.events.group_by("user_id").len().sort("user_id")]
    )
    report = loaded.finish_report(counts)
    assert report.rows_read == 7 and report.users == users.height == 3
    assert report.first_ts == utc(2010, 12, 1, 8, 26)
    assert report.last_ts == utc(2010, 12, 1, 9, 41)


def test_preview_reads_head_and_marks_left_out_rows() -> None:
    loaded = load_events([LAYOUTS / "invoice_lines.csv"])
    head = preview(loaded, n=5)
    assert head.height == 5
    assert head["row"].to_list() == [1, 2, 3, 4, 5]
    assert head["left_out"].to_list()[4] == "with no user id (CustomerID empty)"
    assert head["left_out"].null_count() == 4
    assert head.row(3, named=True)["session_id"] == "14527#1291196460"
    assert head.columns == ["file", "row", *loaded.columns, "left_out"]


def test_layout_option_and_day_first_option(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("customer,date,amount\nk,1/2/2024 10:00,4\n")
    loaded = load_events([path], LoadOptions(day_first=True))
    assert loaded.events.collect()["ts"].to_list() == [utc(2024, 2, 1, 10, 0)]
    assert any("as given" in d for d in loaded.decisions)
    with pytest.raises(InputError, match="session gap"):
        load_events([path], LoadOptions(session_gap_minutes=0))
    # ids are the start in whole seconds: two sessions a shorter gap apart could share one
    with pytest.raises(InputError, match="shorter than a second"):
        load_events([path], LoadOptions(session_gap_minutes=0.001))
    assert load_events([path], LoadOptions(session_gap_minutes=1 / 60)).events.collect().height


# ---- numbers written as text: decimal comma, thousands separators, values that are not numbers


def test_decimal_comma_semicolon_export_keeps_revenue() -> None:
    """A European export (BOM, semicolons, 108,32) must not lose its amounts."""
    loaded = load_events([LAYOUTS / "transactions_decimal_comma.csv"])
    df = loaded.events.collect().sort("user_id", "ts")
    assert df["revenue"].to_list() == [289.74, 108.32, 32.69, 209.23, 210.9, 226.61, 21.77]
    assert round(df["revenue"].sum(), 2) == 1099.26
    assert df["quantity"].to_list() == [3.0, 3.0, 3.0, 2.0, 5.0, 3.0, 4.0]
    assert (
        "numbers: decimal comma (values like '108,32' in amount); set decimal = \".\" in a saved "
        "mapping to change it"
    ) in loaded.decisions
    assert loaded.mapping.decimal == ","
    report = loaded.collect_report()
    assert report.bad_values == []
    assert report.rows_kept == 7


def test_thousands_separators_both_ways(tmp_path: Path) -> None:
    euro = tmp_path / "euro.csv"
    euro.write_text(
        "user_id;ts;price\n"
        "a;2024-01-01T00:00:00Z;1.234,56\n"
        "a;2024-01-02T00:00:00Z;12,5\n"
        "a;2024-01-03T00:00:00Z;7\n"
        "a;2024-01-04T00:00:00Z;2.000\n"
    )
    loaded = load_events([euro])
    assert loaded.events.collect()["price"].to_list() == [1234.56, 12.5, 7.0, 2000.0]
    assert (
        "numbers: decimal comma, '.' between thousands (values like '1.234,56' in price); "
        'set decimal = "." in a saved mapping to change it'
    ) in loaded.decisions
    us = tmp_path / "us.csv"
    us.write_text(
        "user_id,ts,price\n"
        'a,2024-01-01T00:00:00Z,"1,234.56"\n'
        "a,2024-01-02T00:00:00Z,3.5\n"
        'a,2024-01-03T00:00:00Z,"2,000"\n'
    )
    loaded = load_events([us])
    assert loaded.events.collect()["price"].to_list() == [1234.56, 3.5, 2000.0]
    assert (
        "numbers: decimal point, ',' between thousands (values like '1,234.56' in price); "
        'set decimal = "," in a saved mapping to change it'
    ) in loaded.decisions
    assert loaded.mapping.decimal is None


def test_number_that_reads_either_way_follows_the_delimiter(tmp_path: Path) -> None:
    semi = tmp_path / "semi.csv"
    semi.write_text("user_id;ts;price\na;2024-01-01T00:00:00Z;1,234\n")
    loaded = load_events([semi])
    assert loaded.events.collect()["price"].to_list() == [1.234]
    assert (
        "numbers: decimal comma (values like '1,234' in price read either way; the file is "
        'semicolon-delimited); set decimal = "." in a saved mapping to change it'
    ) in loaded.decisions
    comma = tmp_path / "comma.csv"
    comma.write_text('user_id,ts,price\na,2024-01-01T00:00:00Z,"1,234"\n')
    assert load_events([comma]).events.collect()["price"].to_list() == [1234.0]
    given = replace(load_events([semi]).mapping, decimal=".")  # a saved mapping's decimal wins
    assert load_events([semi], LoadOptions(mapping=given)).events.collect()["price"].to_list() == [
        1234.0
    ]


def test_values_that_are_not_numbers_are_counted_and_named(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "customer_id;order_date;amount\n"
        "a;2024-01-01;10,50\n"
        "a;2024-01-02;n/a\n"
        "b;2024-01-03;\n"
        "b;2024-01-04;12.5\n"
        "b;2024-01-05;1,25\n"
    )
    loaded = load_events([path])
    df = loaded.events.collect().sort("user_id", "ts")
    assert df["revenue"].to_list() == [10.5, None, None, None, 1.25]  # kept, value empty
    report = loaded.collect_report()
    assert report.rows_kept == 5
    assert [b.line() for b in report.bad_values] == [
        "2 values of 'amount' are not numbers, e.g. row 2: 'n/a'; row 4: '12.5'; "
        "the rows are kept with no revenue"
    ]
    assert report.lines()[-1] == "note: " + report.bad_values[0].line()
    assert report.to_dict()["bad_values"] == [
        {
            "column": "revenue",
            "source": "amount",
            "count": 2,
            "examples": [
                {"file": str(path), "row": 2, "value": "n/a"},
                {"file": str(path), "row": 4, "value": "12.5"},
            ],
        }
    ]
    with pytest.raises(InputError) as info:
        load_events([path], LoadOptions(strict=True))
    assert str(info.value) == (
        f"{path}, column 'amount', row 2: 'n/a' is not a number (revenue). 2 values of 'amount' "
        "are not numbers. Fix the values, correct the mapping, or drop --strict to read them as "
        "empty."
    )


def test_parquet_named_csv_is_read_and_said(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    pl.DataFrame(
        {"user_id": ["a"], "ts": ["2024-01-01T00:00:00Z"], "event": ["purchase"]}
    ).write_parquet(path)
    loaded = load_events([path])
    assert loaded.events.collect()["user_id"].to_list() == ["a"]
    assert loaded.decisions[1] == (
        f"source: {path}: the name says .csv but the file is parquet; read as parquet "
        "(rename it to .parquet to say so)"
    )


def test_as_of_before_the_first_event(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("user_id,ts,event\na,2024-03-05T10:00:00Z,view\na,2024-04-01T00:00:00Z,view\n")
    report = load_events([path]).collect_report()
    check_as_of(report, datetime(2024, 3, 5, 10), path)  # the first event itself is fine
    with pytest.raises(InputError) as info:
        check_as_of(report, datetime(2024, 1, 1), path)
    assert str(info.value) == (
        f"{path}: --as-of 2024-01-01 is before the first event (2024-03-05 10:00:00 UTC), so no "
        "event would be counted. Give a date on or after 2024-03-05, or drop --as-of to count up "
        "to the last event (2024-04-01)."
    )
