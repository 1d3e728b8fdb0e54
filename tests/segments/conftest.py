"""Ten users with known cart adds and purchases, shared by the Segmentation and edit tests."""

from __future__ import annotations

import polars as pl
import pytest

USER_IDS = [f"u{i}" for i in range(10)]


@pytest.fixture
def users() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": USER_IDS,
            "add_to_cart": [0, 5, 1, 4, 0, 3, 0, 9, 0, 6],
            "purchases": [0, 0, 0, 1, 0, 0, 0, 2, 3, 0],
        }
    )
