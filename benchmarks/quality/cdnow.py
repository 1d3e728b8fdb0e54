"""CDNOW-style transactions: a sanity world for the RFM features, not a clustering benchmark.

File: ``cdnow.csv`` with the columns of the public CDNOW master file: ``customer_id``, ``date``
(YYYYMMDD), ``number_of_cds``, ``dollar_value``; synthetic rows. As in CDNOW, every customer's
first purchase falls in the first quarter of 1997 and the log runs to 1998-06-30; purchases
follow a Pareto/NBD-like process (a gamma-distributed rate per customer and an exponential
lifetime), so most customers buy once or twice and a few dozens of times. About 2% of purchase
days carry a second row for the same customer and day (the real file has such rows too).

:func:`rfm` is the independent computation the test compares segtui's features with.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

ORIGIN = date(1997, 1, 1)
LAST = date(1998, 6, 30)
SPAN_DAYS = (LAST - ORIGIN).days


def generate(n_customers: int, seed: int, out_dir: Path) -> Path:
    rng = np.random.default_rng([seed, 606])
    first = rng.integers(0, 90, n_customers)
    rate = rng.gamma(0.55, 1 / 40, n_customers)  # purchases per day while alive
    alive = rng.exponential(300, n_customers)
    end = np.minimum(first + alive, SPAN_DAYS)
    extra = rng.poisson(rate * (end - first))
    owner = np.r_[np.arange(n_customers), np.repeat(np.arange(n_customers), extra)]
    day = np.r_[
        first,
        first[owner[n_customers:]] + rng.random(extra.sum()) * (end - first)[owner[n_customers:]],
    ].astype(int)
    twice = rng.random(len(owner)) < 0.02
    owner, day = np.r_[owner, owner[twice]], np.r_[day, day[twice]]
    cds = 1 + rng.poisson(1.2, len(owner))
    dollars = np.round(cds * np.exp(rng.normal(np.log(14), 0.35, len(owner))), 2)
    frame = pl.DataFrame(
        {
            "customer_id": owner + 1,
            "day": day,
            "number_of_cds": cds,
            "dollar_value": dollars,
        }
    ).sort("customer_id", "day", maintain_order=True)
    frame = frame.with_columns(
        date=(pl.lit(ORIGIN) + pl.duration(days=pl.col("day"))).dt.strftime("%Y%m%d").cast(pl.Int64)
    ).select("customer_id", "date", "number_of_cds", "dollar_value")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "cdnow.csv"
    frame.write_csv(path, float_precision=2)
    return path


def rfm(path: Path) -> pl.DataFrame:
    """Per customer, straight from the file: days since the last purchase and since the first
    (to the last date in the file, midnight UTC), purchases (rows), revenue, CDs bought."""
    rows = pl.read_csv(path).with_columns(
        day=pl.col("date").cast(pl.Utf8).str.strptime(pl.Date, "%Y%m%d")
    )
    last = rows["day"].max()
    assert isinstance(last, date)
    return (
        rows.group_by("customer_id")
        .agg(
            first=pl.col("day").min(),
            recent=pl.col("day").max(),
            purchases=pl.len(),
            revenue=pl.col("dollar_value").sum(),
            items_purchased=pl.col("number_of_cds").sum(),
        )
        .with_columns(
            user_id=pl.col("customer_id").cast(pl.Utf8),
            recency_days=(pl.lit(last) - pl.col("recent")).dt.total_days().cast(pl.Float64),
            tenure_days=(pl.lit(last) - pl.col("first")).dt.total_days().cast(pl.Float64),
        )
        .select("user_id", "recency_days", "tenure_days", "purchases", "revenue", "items_purchased")
        .sort("user_id")
    )
