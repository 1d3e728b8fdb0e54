"""Users tables: id column picked, numeric columns as features, duplicates refused, detection."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from segtui.errors import InputError
from segtui.ingest.sources import inspect_source
from segtui.ingest.users_table import (
    find_id_column,
    given_users_table,
    has_event_layout,
    is_users_table,
    read_users_table,
    users_table_line,
)
from segtui.pipeline import load_users

RFM_CSV = """CustomerID,Recency,Frequency,Monetary,Country,segment_id
c3,10,5,120.5,FR,1
c1,200,1,15,UK,0
c2,,2,40,UK,0
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_rfm_csv_with_customer_id(tmp_path: Path) -> None:
    path = write(tmp_path, "rfm.csv", RFM_CSV)
    table = read_users_table(inspect_source([path]))
    assert table.id_column == "CustomerID"
    assert table.features == ["Recency", "Frequency", "Monetary"]
    assert table.ignored == {
        "Country": "not numeric",
        "segment_id": "segtui writes this column in its exports",
    }
    users = table.users
    assert users.columns == ["user_id", "Recency", "Frequency", "Monetary"]
    assert users["user_id"].to_list() == ["c1", "c2", "c3"]  # sorted
    assert users["Recency"].to_list() == [200.0, None, 10.0]
    assert users["Monetary"].dtype == pl.Float64
    assert any("Country (not numeric)" in m for m in table.messages)


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["user_id", "x"], "user_id"),
        (["customer_id", "x"], "customer_id"),
        (["x", "CustomerID"], "CustomerID"),
        (["client_id", "spend"], "client_id"),
        (["UserId", "customer_id"], "UserId"),
    ],
)
def test_id_column_aliases(columns: list[str], expected: str) -> None:
    assert find_id_column(columns) == expected


def test_id_column_override_and_missing() -> None:
    assert find_id_column(["acct", "x"], {"user_id": "acct"}) == "acct"
    with pytest.raises(InputError, match="no user id column"):
        find_id_column(["acct", "x"])
    with pytest.raises(InputError, match="no such column"):
        find_id_column(["acct", "x"], {"user_id": "nope"})


def test_duplicate_ids_name_the_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.csv", "user_id,a,b\nu1,1,2\nu2,3,4\nu1,5,6\nu3,1,1\nu2,0,0\n")
    with pytest.raises(InputError) as info:
        read_users_table(inspect_source([path]))
    error = info.value
    assert error.message == "2 user id(s) appear on more than one row"
    assert error.column == "user_id"
    assert error.row == 1
    assert error.details == ["'u1' on rows 1, 3", "'u2' on rows 2, 5"]


def test_parquet_types_and_needed_columns(tmp_path: Path) -> None:
    path = tmp_path / "users.parquet"
    pl.DataFrame(
        {"client_id": [3, 1, 2], "orders": [1, 2, 3], "vip": [True, False, True], "n": ["a"] * 3}
    ).write_parquet(path)
    table = read_users_table(inspect_source([path]))
    assert table.users["user_id"].to_list() == ["1", "2", "3"]
    assert table.features == ["orders", "vip"]
    assert table.ignored == {"n": "not numeric"}
    with pytest.raises(InputError, match="lacks columns the model needs: spend, n"):
        read_users_table(inspect_source([path]), needed=["orders", "spend", "n"])


def test_detection(tmp_path: Path) -> None:
    rfm = write(tmp_path, "rfm.csv", RFM_CSV)
    events = write(
        tmp_path,
        "events.csv",
        "user_id,ts,event\nu1,2024-01-01T00:00:00Z,page_view\nu2,2024-01-02T00:00:00Z,purchase\n",
    )
    dup = write(tmp_path, "dup.csv", "user_id,a\nu1,1\nu1,2\n")
    assert not has_event_layout(["CustomerID", "Recency"])
    assert has_event_layout(["user_id", "ts", "event"])
    assert is_users_table(inspect_source([rfm]))
    assert not is_users_table(inspect_source([events]))  # unique ids, but an event layout
    assert not is_users_table(inspect_source([dup]))
    data = load_users([rfm])
    assert data.kind == "users_table"
    assert data.default_features == ["Recency", "Frequency", "Monetary"]
    assert data.default_transforms == {"Recency": "none", "Frequency": "none", "Monetary": "none"}
    assert load_users([events]).kind == "events"


def test_forced_users_table_without_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "names.csv", "user_id,name\nu1,ann\nu2,bob\n")
    with pytest.raises(InputError, match="no numeric columns"):
        load_users([path], users_table=True)


def test_messages_say_the_rename_and_the_float_cast(tmp_path: Path) -> None:
    path = write(tmp_path, "rfm.csv", RFM_CSV)
    table = read_users_table(inspect_source([path]))
    assert table.messages == [
        "users table: 3 users, id column 'CustomerID' (written as user_id in the exports)",
        "whole-number columns Recency, Frequency are read as decimal numbers (float): 200 becomes "
        "200.0 in the exports",
        "columns not used as features: segment_id (segtui writes this column in its exports), "
        "Country (not numeric)",
    ]
    assert users_table_line(table) == (
        "this is a users table (one row per CustomerID, 3 numeric columns): use segtui "
        "segment/sweep/assign with it"
    )


def test_given_users_table_only_when_nothing_says_events(tmp_path: Path) -> None:
    path = write(tmp_path, "rfm.csv", RFM_CSV)
    table = given_users_table([path], {})
    assert table is not None and table.features == ["Recency", "Frequency", "Monetary"]
    assert given_users_table([path], {"ts": "Recency"}) is None
    assert given_users_table([path], {}, layout="generic") is None
    assert given_users_table([path], {}, mapping_given=True) is None
    no_numbers = write(tmp_path, "ids.csv", "uid;when\nx;y\n")
    assert given_users_table([no_numbers], {}) is None


def test_decimal_comma_users_table(tmp_path: Path) -> None:
    path = write(tmp_path, "rfm.csv", "kunde_id;client;spend\nk1;3;12,50\nk2;4;1.234,5\n")
    table = read_users_table(inspect_source([path]))
    assert table.id_column == "client"
    assert table.users["spend"].to_list() == [12.5, 1234.5]
    assert table.messages[1] == (
        "numbers: decimal comma, '.' between thousands (values like '12,50' in spend)"
    )
