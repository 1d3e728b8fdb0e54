"""World "game": a free-to-play mobile puzzle game's GA4 (Firebase) event export, flattened.

File: ``ga4_events.csv`` with ``event_date`` (YYYYMMDD), ``event_timestamp`` (epoch
microseconds), ``event_name``, ``user_pseudo_id`` (``1834512209.1704134412``), ``ga_session_id``,
``ga_session_number``, ``platform`` (ANDROID / IOS), ``country``, ``level``,
``engagement_time_msec`` (on ``user_engagement``), ``value`` and ``currency`` (USD, on
``in_app_purchase``). Events: first_open, session_start, level_start, level_end, level_up,
ad_impression, ad_reward, share, invite, post_score, earn_virtual_currency,
spend_virtual_currency, screen_view, in_app_purchase, user_engagement. Three months, 2024-01-01
to 2024-03-31.

Groups (share of users): churned after day one 34%, casual 22%, ad watchers 15%, grinders 13%,
socials 12.8%, whales 3.2% (size skew 10.6:1).

What tells them apart (latent per user, the ceiling's matrix): sessions per week, events per
session, the weight of five event families (play, ads, social, purchases, virtual currency; screen
views are the fixed baseline), the chance a finished level is a level-up, the typical purchase
value, and how long the player stays (churned: about half a day after install).

Nuisance, in numbers:
- 10% of users are blends (``w`` uniform 0.60-0.85 of their own group, the rest another).
- Installs (first_open) uniform over the three months (minus a week).
- Within a group: sessions per week sd 0.5 in log, events per session sd 0.3 in log, each
  family's log weight sd 0.5, level-up logit sd 0.5, purchase value sd 0.35 in log (each
  purchase log-normal sd 0.4 around it), lifetime sd 0.3 in log; Poisson counts on top.
- Platform, country and time of day (peak normal(19h, 3h) per user) are the same for all groups.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.quality import common as c

NAME = "game"
LAYOUT = "ga4"
GROUPS = (
    ("churned_day_one", 0.34),
    ("casual", 0.22),
    ("ad_watchers", 0.15),
    ("grinders", 0.13),
    ("socials", 0.128),
    ("whales", 0.032),
)
BLEND_SHARE = 0.10
ORIGIN = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_DAYS = 91.0
FAMILIES = (
    ("screen_view",),
    ("level_start", "level_end"),
    ("ad_impression", "ad_impression", "ad_reward"),
    ("share", "invite", "post_score"),
    ("in_app_purchase",),
    ("earn_virtual_currency", "spend_virtual_currency"),
)
PRICES = np.array([0.99, 1.99, 4.99, 9.99, 19.99, 49.99, 99.99])
COUNTRIES = ("United States", "Brazil", "India", "Germany", "Japan", "United Kingdom", "Mexico")
PARAMS = (
    "log_sessions_per_week",
    "log_events_per_session",
    "log_w_play",
    "log_w_ads",
    "log_w_social",
    "log_w_purchase",
    "log_w_currency",
    "logit_level_up",
    "log_purchase_value",
    "log_lifetime_days",
)


def _means() -> np.ndarray:
    lg, lt = np.log, lambda p: np.log(p / (1 - p))
    rows = [
        # spw, events, play, ads, social, purchase, currency, level-up, value, lifetime
        (8.0, 6, 0.50, 0.10, 0.02, 0.002, 0.20, 0.25, 3, 0.5),  # churned after day one
        (0.6, 6, 0.50, 0.10, 0.03, 0.003, 0.20, 0.15, 3, 400),  # casual
        (1.0, 9, 0.35, 0.60, 0.03, 0.002, 0.25, 0.15, 3, 400),  # ad watchers
        (1.8, 12, 0.80, 0.05, 0.03, 0.010, 0.30, 0.40, 3, 400),  # grinders
        (1.0, 9, 0.35, 0.08, 0.40, 0.005, 0.20, 0.15, 3, 400),  # socials
        (1.5, 10, 0.50, 0.02, 0.05, 0.120, 0.40, 0.20, 20, 400),  # whales
    ]
    return np.array(
        [
            (lg(a), lg(b), lg(p), lg(ad), lg(so), lg(pu), lg(cu), lt(lv), lg(v), lg(li))
            for a, b, p, ad, so, pu, cu, lv, v, li in rows
        ]
    )


SDS = np.array([0.5, 0.3, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.35, 0.3])
SCREEN_WEIGHT = 0.2


def generate(n_users: int, seed: int, out_dir: Path) -> c.Generated:
    rng = np.random.default_rng([seed, 505])
    truth = c.plant_groups(rng, n_users, [s for _, s in GROUPS])
    lat = c.latent(rng, truth, PARAMS, _means(), SDS, BLEND_SHARE)
    start, end = c.windows(rng, n_users, SPAN_DAYS, np.exp(lat.col("log_lifetime_days")))
    peak = rng.normal(19.0, 3.0, n_users)

    spw = np.exp(lat.col("log_sessions_per_week"))
    n_sessions = c.count_at_least_one(rng, spw / 7.0 * (end - start))
    s_user = np.repeat(np.arange(n_users), n_sessions)
    s_day = c.session_days(rng, s_user, start, end)
    s_t0 = c.at_hour(rng, s_day, peak[s_user])
    s_t0 = np.clip(s_t0, start[s_user] * c.DAY, SPAN_DAYS * c.DAY - 3 * 3600.0)
    order = np.lexsort((s_t0, s_user))
    s_user, s_t0 = s_user[order], s_t0[order]
    s_number = (c.cumsum_within(np.ones(len(s_user)), s_user)).astype(int)

    n_events = 1 + rng.poisson(np.maximum(np.exp(lat.col("log_events_per_session"))[s_user] - 1, 0))
    e_sess = np.repeat(np.arange(len(s_user)), n_events)
    e_user = s_user[e_sess]
    logw = np.c_[np.full(n_users, np.log(SCREEN_WEIGHT)), lat.values[:, 2:7]]
    family = c.categorical(rng, c.softmax(logw)[e_user])
    sizes = np.array([len(f) for f in FAMILIES])
    member = np.floor(rng.random(len(e_sess)) * sizes[family]).astype(int)
    names = np.array([f[m] for f in FAMILIES for m in range(len(f))])
    name = names[np.r_[0, np.cumsum(sizes)[:-1]][family] + member]
    level_up = (name == "level_end") & (
        rng.random(len(e_sess)) < c.sigmoid(lat.col("logit_level_up"))[e_user]
    )
    e_t = s_t0[e_sess] + 5.0 + c.cumsum_within(rng.exponential(25.0, len(e_sess)), e_sess)
    value = np.where(
        name == "in_app_purchase",
        PRICES[
            np.searchsorted(
                PRICES,
                np.exp(lat.col("log_purchase_value")[e_user] + rng.normal(0, 0.4, len(e_sess))),
            ).clip(0, len(PRICES) - 1)
        ],
        np.nan,
    )
    s_end = np.zeros(len(s_user))
    np.maximum.at(s_end, e_sess, e_t)
    s_end = np.maximum(s_end, s_t0 + 10)
    # Levels reached: a running count of level-ups per user.
    lvl = np.zeros(len(e_sess), int)
    by_user = np.lexsort((e_t, e_user))
    lvl[by_user] = 1 + c.cumsum_within(level_up[by_user].astype(float), e_user[by_user]).astype(int)

    first = np.r_[True, np.diff(s_user) != 0]
    frame = pl.DataFrame(
        {
            "t": np.r_[e_t, e_t[level_up] + 1.0, s_t0, s_t0[first] - 1.0, s_end + 2.0],
            "u": np.r_[e_user, e_user[level_up], s_user, s_user[first], s_user],
            "s": np.r_[
                e_sess,
                e_sess[level_up],
                np.arange(len(s_user)),
                np.flatnonzero(first),
                np.arange(len(s_user)),
            ],
            "event_name": np.r_[
                name,
                np.full(level_up.sum(), "level_up"),
                np.full(len(s_user), "session_start"),
                np.full(first.sum(), "first_open"),
                np.full(len(s_user), "user_engagement"),
            ],
            "level": np.r_[lvl, lvl[level_up] + 1, np.full(len(s_user) * 2 + first.sum(), -1)],
            "engagement_time_msec": np.r_[
                np.full(len(e_sess) + level_up.sum(), -1),
                np.full(len(s_user) + first.sum(), -1),
                np.round((s_end - s_t0) * 1000).astype(int),
            ],
            "value": np.r_[value, np.full(level_up.sum() + 2 * len(s_user) + first.sum(), np.nan)],
        }
    ).sort("t", "u", maintain_order=True)
    install = np.floor(start * c.DAY + ORIGIN.timestamp()).astype(np.int64)
    pseudo = np.array(
        [f"{a}.{b}" for a, b in zip(rng.integers(10**9, 2 * 10**9, n_users), install, strict=True)]
    )
    platform = np.where(rng.random(n_users) < 0.7, "ANDROID", "IOS")
    country = np.array(COUNTRIES)[rng.integers(0, len(COUNTRIES), n_users)]
    u = frame["u"].to_numpy()
    session_id = (np.floor(s_t0) + ORIGIN.timestamp()).astype(np.int64)
    micros = (np.floor(frame["t"].to_numpy() * 1e6) + ORIGIN.timestamp() * 1e6).astype(np.int64)
    frame = (
        frame.with_columns(
            event_timestamp=pl.Series(micros),
            user_pseudo_id=pl.Series(pseudo[u]),
            ga_session_id=pl.Series(session_id[frame["s"].to_numpy()]),
            ga_session_number=pl.Series(s_number[frame["s"].to_numpy()]),
            platform=pl.Series(platform[u]),
            country=pl.Series(country[u]),
            level=pl.when(pl.col("level") < 0).then(None).otherwise(pl.col("level")),
            engagement_time_msec=pl.when(pl.col("engagement_time_msec") < 0)
            .then(None)
            .otherwise(pl.col("engagement_time_msec")),
            value=pl.col("value").fill_nan(None),
            currency=pl.when(pl.col("event_name") == "in_app_purchase").then(pl.lit("USD")),
        )
        .with_columns(
            event_date=pl.from_epoch(pl.col("event_timestamp"), time_unit="us").dt.strftime(
                "%Y%m%d"
            )
        )
        .select(
            "event_date",
            "event_timestamp",
            "event_name",
            "user_pseudo_id",
            "ga_session_id",
            "ga_session_number",
            "platform",
            "country",
            "level",
            "engagement_time_msec",
            "value",
            "currency",
        )
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "ga4_events.csv"
    frame.write_csv(path)
    return c.Generated([path], list(pseudo), truth, lat)
