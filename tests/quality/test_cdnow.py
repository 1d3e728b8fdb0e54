"""CDNOW-style transactions: segtui's RFM features equal an independent polars computation.

The file has CDNOW's own columns (customer_id, date as YYYYMMDD, number_of_cds, dollar_value)
and no ``--map``: what a person gets when they point segtui at the real file.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from benchmarks.quality import cdnow
from segtui.pipeline import load_users

CUSTOMERS = 1500


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, pl.DataFrame]:
    path = cdnow.generate(CUSTOMERS, 0, tmp_path_factory.mktemp("cdnow"))
    users = load_users([path]).users
    expected = cdnow.rfm(path)
    assert users["user_id"].to_list() == expected["user_id"].to_list()
    return users, expected


def _same(users: pl.DataFrame, expected: pl.DataFrame, ours: str, theirs: str) -> None:
    assert ours in users.columns, f"{ours} not built; columns: {users.columns}"
    got = users[ours].cast(pl.Float64).to_numpy()
    want = expected[theirs].cast(pl.Float64).to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-6, err_msg=ours)


def test_the_file_has_repeat_buyers_one_time_buyers_and_same_day_rows(
    both: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    _, expected = both
    purchases = expected["purchases"]
    assert (purchases == 1).sum() > CUSTOMERS * 0.2
    assert purchases.max() >= 20
    assert expected["recency_days"].min() == 0.0


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("recency_days", "recency_days"),
        ("tenure_days", "tenure_days"),
        ("days_since_last_event", "recency_days"),
        ("purchases", "purchases"),
        ("orders", "purchases"),
    ],
)
def test_recency_frequency_and_tenure_equal_an_independent_computation(
    both: tuple[pl.DataFrame, pl.DataFrame], ours: str, theirs: str
) -> None:
    _same(*both, ours, theirs)


@pytest.mark.parametrize(
    ("ours", "theirs"), [("revenue", "revenue"), ("items_purchased", "items_purchased")]
)
def test_monetary_features_come_from_dollar_value_and_number_of_cds_without_map(
    both: tuple[pl.DataFrame, pl.DataFrame], ours: str, theirs: str
) -> None:
    _same(*both, ours, theirs)
