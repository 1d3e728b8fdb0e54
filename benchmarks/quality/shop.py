"""World "shop": a multi-category store's clickstream in the public e-commerce (REES46) layout.

File: ``events.csv`` with ``event_time`` ("2019-10-01 00:00:05 UTC"), ``event_type``
(view / cart / remove_from_cart / purchase), ``product_id``, ``category_id``, ``category_code``
(``electronics.smartphone``; empty for a share of products, as in the real export), ``brand``,
``price``, ``user_id`` (9 digits), ``user_session`` (a UUID), sorted by time. Six months,
2019-10-01 to 2020-03-31.

Groups (share of users): browsers 40%, cart abandoners 18%, bargain hunters 16%, one-time buyers
14%, winter shoppers 8%, loyal premium buyers 3.7% (size skew 10.8:1).

What tells them apart (latent per user, the ceiling's matrix): sessions per week, views per
session, chance a viewed product goes to the cart, chance a carted one is removed, chance it is
bought, the price level a user looks at, the share of views in their favourite category, the share
of sessions placed in winter (December-February), and how long the user stays (one-time buyers:
about a day).

Nuisance, in numbers:
- 10% of users are blends: ``w * own + (1 - w) * other`` with ``w`` uniform in 0.60-0.85 and
  ``other`` a random other group (truth is the own, dominant, group).
- Start dates uniform over the six months (minus the last week), so late joiners have short
  histories; everyone but one-time buyers stays to the end.
- Within a group: sessions per week log-normal (sd 0.5 in log, so the most active tenth is ~3x
  the least active), views per session sd 0.3 in log, each rate's logit sd 0.5, price sd 0.35
  in log; then Poisson session and view counts and Bernoulli cart/remove/buy per product.
- Favourite category drawn per group from overlapping weights; time of day peaks per user at a
  normal(15h, 3h) hour (same for all groups: not a group trait).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.quality import common as c

NAME = "shop"
LAYOUT = "clickstream"
GROUPS = (
    ("browsers", 0.40),
    ("cart_abandoners", 0.18),
    ("bargain_hunters", 0.16),
    ("one_time_buyers", 0.14),
    ("winter_shoppers", 0.08),
    ("loyal_premium", 0.037),
)
BLEND_SHARE = 0.10
ORIGIN = datetime(2019, 10, 1, tzinfo=UTC)
SPAN_DAYS = 182.0
WINTER = (61.0, 152.0)  # 2019-12-01 .. 2020-03-01

CATEGORIES = (
    # code, log-price mean of its products
    ("electronics.smartphone", np.log(350)),
    ("electronics.audio.headphone", np.log(60)),
    ("computers.notebook", np.log(700)),
    ("appliances.kitchen.refrigerators", np.log(500)),
    ("appliances.environment.vacuum", np.log(150)),
    ("apparel.shoes", np.log(70)),
    ("apparel.costume", np.log(40)),
    ("furniture.living_room.sofa", np.log(400)),
    ("kids.toys", np.log(25)),
    ("sport.snowboard", np.log(250)),
    ("accessories.bag", np.log(35)),
    ("", np.log(30)),
)
# Favourite-category weights per group (same order as CATEGORIES).
FAVOURITE = np.array(
    [
        [3, 2, 2, 1, 1, 2, 1, 1, 1, 1, 1, 2],  # browsers
        [3, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1],  # cart abandoners
        [1, 2, 0.5, 0.5, 1, 3, 2, 0.5, 3, 0.5, 3, 3],  # bargain hunters
        [2, 2, 1, 1, 1, 2, 1, 1, 2, 1, 1, 1],  # one-time buyers
        [0.5, 1, 0.5, 0.2, 0.5, 1, 3, 0.2, 4, 3, 1, 1],  # winter shoppers
        [5, 1, 4, 2, 1, 0.5, 0.2, 2, 0.2, 1, 0.2, 0.2],  # loyal premium
    ]
)
BRANDS = ("samsung", "apple", "xiaomi", "huawei", "lenovo", "bosch", "lg", "nike", "adidas")
BRANDS += ("lego", "hasbro", "burton", "ikea", "samsonite", "sony", "philips", "")

PARAMS = (
    "log_sessions_per_week",
    "log_views_per_session",
    "logit_cart",
    "logit_remove",
    "logit_buy",
    "log_price",
    "logit_focus",
    "logit_winter",
    "log_lifetime_days",
)


def _means() -> np.ndarray:
    lg, lt = np.log, lambda p: np.log(p / (1 - p))
    rows = [
        # spw, views/session, cart, remove, buy, price, focus, winter share, lifetime
        (0.5, 6.0, 0.015, 0.20, 0.15, 80, 0.35, 0.03, 400),  # browsers
        (0.5, 4.0, 0.35, 0.35, 0.04, 120, 0.40, 0.03, 400),  # cart abandoners
        (0.7, 7.0, 0.12, 0.25, 0.55, 12, 0.30, 0.03, 400),  # bargain hunters
        (3.0, 3.0, 0.50, 0.05, 0.85, 60, 0.60, 0.03, 1.0),  # one-time buyers
        (0.6, 5.0, 0.20, 0.15, 0.50, 50, 0.50, 0.85, 400),  # winter shoppers
        (1.0, 4.0, 0.35, 0.05, 0.80, 600, 0.75, 0.03, 400),  # loyal premium
    ]
    return np.array(
        [
            (lg(a), lg(b), lt(cc), lt(d), lt(e), lg(f), lt(g), lt(h), lg(i))
            for a, b, cc, d, e, f, g, h, i in rows
        ]
    )


SDS = np.array([0.5, 0.3, 0.5, 0.5, 0.5, 0.35, 0.5, 0.5, 0.3])


def _catalog(rng: np.random.Generator) -> pl.DataFrame:
    """Products: 400 per category, prices log-normal around the category's level."""
    per = 400
    cat = np.repeat(np.arange(len(CATEGORIES)), per)
    logp = np.array([CATEGORIES[i][1] for i in cat]) + rng.normal(0, 0.8, len(cat))
    order = np.lexsort((logp, cat))
    cat, logp = cat[order], logp[order]
    return pl.DataFrame(
        {
            "cat": cat,
            "logp": logp,
            "product_id": rng.choice(np.arange(1_000_000, 60_000_000), len(cat), replace=False),
            "brand": rng.integers(0, len(BRANDS), len(cat)),
        }
    )


def generate(n_users: int, seed: int, out_dir: Path) -> c.Generated:
    rng = np.random.default_rng([seed, 101])
    truth = c.plant_groups(rng, n_users, [s for _, s in GROUPS])
    lat = c.latent(rng, truth, PARAMS, _means(), SDS, BLEND_SHARE)
    fav_w = FAVOURITE[truth] * rng.uniform(0.5, 1.5, (n_users, len(CATEGORIES)))
    favourite = c.categorical(rng, fav_w / fav_w.sum(axis=1, keepdims=True))
    start, end = c.windows(rng, n_users, SPAN_DAYS, np.exp(lat.col("log_lifetime_days")))
    peak = rng.normal(15.0, 3.0, n_users)

    # Sessions.
    spw = np.exp(lat.col("log_sessions_per_week"))
    n_sessions = c.count_at_least_one(rng, spw / 7.0 * (end - start))
    s_user = np.repeat(np.arange(n_users), n_sessions)
    winter = c.sigmoid(lat.col("logit_winter"))
    s_day = c.session_days(rng, s_user, start, end, WINTER, winter)
    s_t0 = c.at_hour(rng, s_day, peak[s_user])
    s_t0 = np.minimum(s_t0, SPAN_DAYS * c.DAY - 3600.0)
    s_id = np.array(c.uuids(rng, len(s_user)))

    # Views: favourite category with the user's focus, otherwise any category.
    n_views = 1 + rng.poisson(np.maximum(np.exp(lat.col("log_views_per_session"))[s_user] - 1, 0))
    v_sess = np.repeat(np.arange(len(s_user)), n_views)
    v_user = s_user[v_sess]
    focus = c.sigmoid(lat.col("logit_focus"))[v_user]
    any_cat = rng.integers(0, len(CATEGORIES), len(v_sess))
    v_cat = np.where(rng.random(len(v_sess)) < focus, favourite[v_user], any_cat)
    catalog = _catalog(rng)
    per = catalog.height // len(CATEGORIES)
    logp = catalog["logp"].to_numpy().reshape(len(CATEGORIES), per)
    target = lat.col("log_price")[v_user] + rng.normal(0, 0.35, len(v_sess))
    keyed = (np.arange(len(CATEGORIES))[:, None] * 100.0 + logp).ravel()
    pos = np.searchsorted(keyed, v_cat * 100.0 + target) - v_cat * per
    v_prod = v_cat * per + pos.clip(0, per - 1)
    gaps = rng.exponential(45.0, len(v_sess))
    v_t = s_t0[v_sess] + c.cumsum_within(gaps, v_sess)

    # Cart, remove, purchase.
    cart = rng.random(len(v_sess)) < c.sigmoid(lat.col("logit_cart"))[v_user]
    removed = cart & (rng.random(len(v_sess)) < c.sigmoid(lat.col("logit_remove"))[v_user])
    bought = cart & ~removed & (rng.random(len(v_sess)) < c.sigmoid(lat.col("logit_buy"))[v_user])
    session_end = np.zeros(len(s_user))
    np.maximum.at(session_end, v_sess, v_t)
    rows = [
        ("view", np.arange(len(v_sess)), v_t),
        ("cart", np.flatnonzero(cart), v_t[cart] + rng.uniform(5, 40, cart.sum())),
        ("remove_from_cart", np.flatnonzero(removed), session_end[v_sess[removed]] + 30.0),
        ("purchase", np.flatnonzero(bought), session_end[v_sess[bought]] + 90.0),
    ]
    kinds = np.concatenate([np.full(len(ix), k) for k, ix, _ in rows])
    view_ix = np.concatenate([ix for _, ix, _ in rows])
    t = np.concatenate([tt for _, _, tt in rows])

    user_ids = rng.choice(np.arange(510_000_000, 640_000_000), n_users, replace=False)
    category_ids = 2_053_013_552_326_770_705 + rng.integers(0, 10**17, len(CATEGORIES))
    prod = v_prod[view_ix]
    cat = v_cat[view_ix]
    price = np.exp(catalog["logp"].to_numpy()[prod])
    log = pl.DataFrame(
        {
            "t": t,
            "event_type": kinds,
            "product_id": catalog["product_id"].to_numpy()[prod],
            "category_id": category_ids[cat],
            "category_code": np.array([code for code, _ in CATEGORIES])[cat],
            "brand": np.array(BRANDS)[catalog["brand"].to_numpy()[prod]],
            "price": np.round(price, 2),
            "user_id": user_ids[v_user[view_ix]],
            "user_session": s_id[v_sess[view_ix]],
        }
    ).sort("t", "user_id", maintain_order=True)
    stamp = pl.lit(ORIGIN.replace(tzinfo=None)) + pl.duration(seconds=pl.col("t").floor())
    log = log.with_columns(
        event_time=stamp.dt.strftime("%Y-%m-%d %H:%M:%S UTC"),
        category_code=pl.when(pl.col("category_code") == "")
        .then(None)
        .otherwise(pl.col("category_code")),
        brand=pl.when(pl.col("brand") == "").then(None).otherwise(pl.col("brand")),
    ).select(
        "event_time",
        "event_type",
        "product_id",
        "category_id",
        "category_code",
        "brand",
        "price",
        "user_id",
        "user_session",
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "events.csv"
    log.write_csv(path, float_precision=2)
    return c.Generated([path], [str(u) for u in user_ids], truth, lat)
