"""World "transactions": a retailer with a subscription plan, as a table of transaction lines.

File: ``transactions.csv`` with ``transaction_id``, ``customer_id`` (``CUST-004211``),
``transaction_date`` ("2023-03-14 10:22:05"), ``product_category``, ``quantity``,
``unit_price``, ``amount`` (line total). Returns are their own lines with negative quantity and
amount, a few days to three weeks after the purchase, under an ``R``-prefixed id. No event
column: every line is a purchase or a return. Two years, 2023-01-01 to 2024-12-31; the gift season
is 15 November to 31 December of each year.

Groups (share of users): frequent small spenders 34%, subscribers 26% (a fixed monthly charge of
9.99 / 14.99 / 19.99 plus the odd purchase), lapsed 14% (stop after about five months), big-ticket
buyers 12%, seasonal gift shoppers 10.7%, refund-prone 3.3% (size skew 10.3:1).

What tells them apart (latent per user, the ceiling's matrix): transactions per month, the
typical line amount, units per line, the share of lines that are the subscription charge, the
chance a purchase is returned, the share of purchases in the gift season, and how long the
customer stays.

Nuisance, in numbers:
- 10% of users are blends (``w`` uniform 0.60-0.85 of their own group, the rest another).
- Start dates uniform over the two years (minus a week); late joiners have short histories.
- Within a group: transactions per month sd 0.5 in log, line amount sd 0.35 in log (each line
  log-normal sd 0.5 around it), units sd 0.3 in log, each logit sd 0.5, lifetime sd 0.3 in log.
- Product categories drawn per line from overlapping group weights (not in the ceiling's matrix).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.quality import common as c

NAME = "transactions"
LAYOUT = "transactions"
GROUPS = (
    ("small_spenders", 0.34),
    ("subscribers", 0.26),
    ("lapsed", 0.14),
    ("big_ticket", 0.12),
    ("seasonal", 0.107),
    ("refund_prone", 0.033),
)
BLEND_SHARE = 0.10
ORIGIN = datetime(2023, 1, 1, tzinfo=UTC)
SPAN_DAYS = 731.0
SEASONS = ((318.0, 365.0), (683.0, 731.0))
CATEGORIES = ("groceries", "coffee", "books", "beauty", "home", "fashion", "shoes", "toys")
CATEGORIES += ("gifts", "electronics", "furniture", "appliances")
WEIGHTS = np.array(
    [
        [5, 4, 1, 2, 1, 1, 0.5, 0.3, 0.3, 0.2, 0.1, 0.1],  # small spenders
        [2, 1, 2, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.2, 0.2],  # subscribers (other purchases)
        [1, 1, 1, 1, 2, 2, 1, 0.5, 0.5, 1, 0.5, 0.5],  # lapsed
        [0.1, 0.1, 0.2, 0.2, 1, 0.5, 0.3, 0.2, 0.2, 4, 3, 3],  # big ticket
        [0.3, 0.2, 1, 1, 1, 2, 1, 4, 4, 1, 0.2, 0.2],  # seasonal
        [0.3, 0.2, 0.5, 1, 1, 5, 4, 0.5, 0.5, 1, 0.2, 0.2],  # refund prone
    ]
)
PLANS = (9.99, 14.99, 19.99)
PARAMS = (
    "log_tx_per_month",
    "log_amount",
    "log_units",
    "logit_subscription",
    "logit_refund",
    "logit_season",
    "log_lifetime_days",
)


def _means() -> np.ndarray:
    lg, lt = np.log, lambda p: np.log(p / (1 - p))
    rows = [
        # tx/month, amount, units, subscription share, refund, season share, lifetime
        (6.0, 12, 1.5, 0.02, 0.02, 0.05, 2000),  # small spenders
        (1.4, 25, 1.0, 0.75, 0.01, 0.05, 2000),  # subscribers
        (3.0, 40, 2.0, 0.05, 0.03, 0.05, 150),  # lapsed
        (0.35, 700, 1.0, 0.02, 0.05, 0.05, 2000),  # big ticket
        (1.2, 60, 3.0, 0.02, 0.05, 0.85, 2000),  # seasonal
        (3.0, 70, 2.0, 0.02, 0.35, 0.05, 2000),  # refund prone
    ]
    return np.array(
        [(lg(a), lg(b), lg(u), lt(s), lt(r), lt(se), lg(li)) for a, b, u, s, r, se, li in rows]
    )


SDS = np.array([0.5, 0.35, 0.3, 0.5, 0.5, 0.5, 0.3])


def _days(
    rng: np.random.Generator,
    owner: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    share: np.ndarray,
) -> np.ndarray:
    """Uniform in the window; a user's ``share`` fall in a gift season their window overlaps
    (one of the two at random, by how much of it the window covers)."""
    s, e = start[owner], end[owner]
    day = s + rng.random(len(owner)) * (e - s)
    lo = np.stack([np.maximum(s, a) for a, _ in SEASONS], axis=1)
    hi = np.stack([np.minimum(e, b) for _, b in SEASONS], axis=1)
    cover = np.clip(hi - lo, 0, None)
    total = cover.sum(axis=1)
    which = (rng.random(len(owner)) * total > cover[:, 0]).astype(int)
    rows = np.arange(len(owner))
    inside = lo[rows, which] + rng.random(len(owner)) * cover[rows, which]
    move = (total > 0) & (rng.random(len(owner)) < share[owner])
    return np.where(move, inside, day)


def generate(n_users: int, seed: int, out_dir: Path) -> c.Generated:
    rng = np.random.default_rng([seed, 404])
    truth = c.plant_groups(rng, n_users, [s for _, s in GROUPS])
    lat = c.latent(rng, truth, PARAMS, _means(), SDS, BLEND_SHARE)
    start, end = c.windows(rng, n_users, SPAN_DAYS, np.exp(lat.col("log_lifetime_days")))
    months = (end - start) / 30.44
    rate = np.exp(lat.col("log_tx_per_month"))
    sub_share = c.sigmoid(lat.col("logit_subscription"))

    # Subscription charges: monthly from the start, at the user's plan price.
    n_sub = np.floor(rate * sub_share * months + rng.random(n_users)).astype(int)
    n_sub = np.minimum(n_sub, np.floor(months).astype(int) + 1)
    sub_user = np.repeat(np.arange(n_users), n_sub)
    sub_day = start[sub_user] + 30.44 * _ranks(sub_user) + rng.normal(0, 0.3, len(sub_user))
    plan = np.array(PLANS)[rng.integers(0, len(PLANS), n_users)]

    # Other purchases.
    n_buy = rng.poisson(rate * (1 - sub_share) * months)
    n_buy = np.where(n_sub + n_buy == 0, 1, n_buy)
    buy_user = np.repeat(np.arange(n_users), n_buy)
    buy_day = _days(rng, buy_user, start, end, c.sigmoid(lat.col("logit_season")))
    cat_p = WEIGHTS[truth] / WEIGHTS[truth].sum(axis=1, keepdims=True)
    buy_cat = c.categorical(rng, cat_p[buy_user])
    line = np.exp(lat.col("log_amount")[buy_user] + rng.normal(0, 0.5, len(buy_user)))
    units = 1 + rng.poisson(np.maximum(np.exp(lat.col("log_units"))[buy_user] - 1, 0))
    price = np.maximum(np.round(line / units, 2), 0.5)

    # Returns of some purchases.
    returned = rng.random(len(buy_user)) < c.sigmoid(lat.col("logit_refund"))[buy_user]
    ret = np.flatnonzero(returned)
    ret_day = buy_day[ret] + rng.uniform(2, 21, len(ret))
    keep = ret_day < SPAN_DAYS
    ret = ret[keep]

    user = np.r_[sub_user, buy_user, buy_user[ret]]
    day = np.r_[sub_day, buy_day, ret_day[keep]]
    qty = np.r_[np.ones(len(sub_user), int), units, -units[ret]]
    unit = np.r_[plan[sub_user], price, price[ret]]
    cat = np.r_[
        np.full(len(sub_user), "subscription"),
        np.array(CATEGORIES)[buy_cat],
        np.array(CATEGORIES)[buy_cat[ret]],
    ]
    kind = np.r_[np.zeros(len(sub_user) + len(buy_user), int), np.ones(len(ret), int)]
    hour = np.where(
        np.r_[np.ones(len(sub_user), bool), np.zeros(len(day) - len(sub_user), bool)],
        3.0,
        rng.uniform(8, 22, len(day)),
    )
    t = np.clip(np.floor(day), 0, SPAN_DAYS - 1) * c.DAY + np.floor(hour * 3600)
    t = t + rng.integers(0, 3600, len(t)) * (hour != 3.0)

    customer = np.array([f"CUST-{i:06d}" for i in rng.choice(900_000, n_users, replace=False)])
    log = pl.DataFrame(
        {
            "t": t,
            "u": user,
            "kind": kind,
            "product_category": cat,
            "quantity": qty,
            "unit_price": unit,
        }
    ).sort("t", "u", maintain_order=True)
    ids = np.arange(100_001, 100_001 + log.height)
    stamp = pl.lit(ORIGIN.replace(tzinfo=None)) + pl.duration(seconds=pl.col("t"))
    log = log.with_columns(
        transaction_id=pl.when(pl.col("kind") == 1)
        .then(pl.lit("R") + pl.Series(ids).cast(pl.Utf8))
        .otherwise(pl.Series(ids).cast(pl.Utf8)),
        customer_id=pl.Series(customer[log["u"].to_numpy()]),
        transaction_date=stamp.dt.strftime("%Y-%m-%d %H:%M:%S"),
        amount=(pl.col("quantity") * pl.col("unit_price")).round(2),
    ).select(
        "transaction_id",
        "customer_id",
        "transaction_date",
        "product_category",
        "quantity",
        "unit_price",
        "amount",
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "transactions.csv"
    log.write_csv(path, float_precision=2)
    return c.Generated([path], list(customer), truth, lat)


def _ranks(owner: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal ``owner`` (sorted)."""
    return c.cumsum_within(np.ones(len(owner)), owner) - 1
