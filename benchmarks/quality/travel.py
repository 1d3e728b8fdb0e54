"""World "travel": a travel-booking app's event export, held out from the choice of defaults.

Written before the default preparation was chosen and not looked at until it was (see the
"Quality" section of benchmarks/README.md): it checks that the defaults were not tuned to the
five worlds they were measured on.

File: ``bookings.csv`` with ``occurred_at`` (ISO 8601 with a +01:00 offset), ``customer_id``
(``TRV-004211``), ``visit_id`` (the app's visit number per customer, ``v17``), ``event_name``
(app_open, search, offer_view, booking, cancellation, seat_selected, bag_added, loyalty_redeemed,
review_written), ``product_category`` (flight / hotel / car / rail / package; empty for app_open
and review_written), ``amount`` (EUR, on bookings and cancellations, the latter negative) and
``platform`` (ios / android / web, decoration). Twelve months, 2025-01-01 to 2025-12-31.

Groups (share of users): deal seekers 38%, weekend getaways 20%, family vacationers 15%, business
travellers 12%, serial cancellers 11.3%, loyalty elites 3.7% (size skew 10.3:1).

What tells them apart (latent per user, the ceiling's matrix): visits per month, events per
visit, the log weight of six event kinds (search, offer view, booking, cancellation, extras:
seats and bags, loyalty), the log weight of four product kinds (flight, hotel, rail, package; car
is the baseline) and the log booking value.

Nuisance, in numbers:
- 10% of users are blends (``w`` uniform 0.60-0.85 of their own group, the rest another).
- Start dates uniform over the twelve months (minus a week), everyone stays to the end, so
  counts grow with tenure: a late joiner has a twelfth of an early one's history.
- Within a group: visits per month sd 0.5 in log, events per visit sd 0.3 in log, each weight
  sd 0.5 in log, booking value sd 0.35 in log (each booking log-normal sd 0.4 around it); time
  of day peaks per user at normal(14h, 4h), the same for every group.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.quality import common as c

NAME = "travel"
LAYOUT = "generic"
GROUPS = (
    ("deal_seekers", 0.38),
    ("weekend_getaways", 0.20),
    ("family_vacationers", 0.15),
    ("business_travellers", 0.12),
    ("serial_cancellers", 0.113),
    ("loyalty_elites", 0.037),
)
BLEND_SHARE = 0.10
ORIGIN = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_DAYS = 365.0
KINDS = ("search", "offer_view", "booking", "cancellation", "extras", "loyalty_redeemed")
PRODUCTS = ("car", "flight", "hotel", "rail", "package")
PARAMS = (
    "log_visits_per_month",
    "log_events_per_visit",
    *(f"log_w_{k}" for k in KINDS),
    *(f"log_w_{p}" for p in PRODUCTS[1:]),
    "log_booking_value",
)


def _means() -> np.ndarray:
    lg = np.log
    rows = [
        # vpm, epv, search, view, book, cancel, extras, loyalty, flight, hotel, rail, pkg, value
        (2.0, 6, 0.55, 0.40, 0.03, 0.005, 0.01, 0.005, 1.0, 1.0, 0.5, 0.3, 120),  # deal seekers
        (1.0, 5, 0.30, 0.35, 0.20, 0.02, 0.03, 0.01, 0.2, 2.0, 1.5, 0.2, 260),  # weekend
        (0.6, 7, 0.30, 0.40, 0.15, 0.02, 0.12, 0.01, 0.8, 0.6, 0.1, 3.0, 1900),  # families
        (2.5, 4, 0.25, 0.20, 0.35, 0.05, 0.12, 0.03, 3.0, 1.5, 1.0, 0.05, 450),  # business
        (1.2, 5, 0.25, 0.25, 0.22, 0.25, 0.02, 0.01, 1.0, 1.5, 0.3, 0.5, 380),  # cancellers
        (3.0, 5, 0.15, 0.20, 0.30, 0.03, 0.15, 0.20, 2.5, 1.5, 0.3, 0.3, 700),  # elites
    ]
    return np.array([tuple(lg(v) for v in row) for row in rows])


SDS = np.array([0.5, 0.3, *[0.5] * len(KINDS), *[0.5] * (len(PRODUCTS) - 1), 0.35])


def generate(n_users: int, seed: int, out_dir: Path) -> c.Generated:
    rng = np.random.default_rng([seed, 606])
    truth = c.plant_groups(rng, n_users, [s for _, s in GROUPS])
    lat = c.latent(rng, truth, PARAMS, _means(), SDS, BLEND_SHARE)
    start, end = c.windows(rng, n_users, SPAN_DAYS)
    peak = rng.normal(14.0, 4.0, n_users)

    vpm = np.exp(lat.col("log_visits_per_month"))
    n_visits = c.count_at_least_one(rng, vpm / 30.0 * (end - start))
    v_user = np.repeat(np.arange(n_users), n_visits)
    v_t0 = c.at_hour(rng, c.session_days(rng, v_user, start, end), peak[v_user], 2.0)
    v_t0 = np.minimum(v_t0, SPAN_DAYS * c.DAY - 3 * 3600.0)
    v_no = c.cumsum_within(np.ones(len(v_user)), v_user).astype(int)

    n_ev = 1 + rng.poisson(np.maximum(np.exp(lat.col("log_events_per_visit"))[v_user] - 1, 0))
    e_visit = np.repeat(np.arange(len(v_user)), n_ev)
    e_user = v_user[e_visit]
    k_cols = [PARAMS.index(f"log_w_{k}") for k in KINDS]
    p_cols = [PARAMS.index(f"log_w_{p}") for p in PRODUCTS[1:]]
    kind = c.categorical(rng, c.softmax(lat.values[:, k_cols])[e_user])
    logits = np.hstack([np.zeros((n_users, 1)), lat.values[:, p_cols]])
    product = c.categorical(rng, c.softmax(logits)[e_user])
    extras = np.where(rng.random(len(e_user)) < 0.6, "seat_selected", "bag_added")
    name = np.array(KINDS, dtype=object)[kind]
    name = np.where(name == "extras", extras, name)
    scale = np.array([0.5, 0.6, 1.0, 0.25, 1.6])[product]  # a car costs less than a package
    value = np.exp(lat.col("log_booking_value")[e_user] + rng.normal(0, 0.4, len(e_user)))
    amount = np.where(name == "booking", value * scale, np.nan)
    amount = np.where(name == "cancellation", -value * scale, amount)
    e_t = v_t0[e_visit] + c.cumsum_within(rng.exponential(45, len(e_user)), e_visit)

    opens = np.arange(len(v_user))
    reviewed = np.flatnonzero(rng.random(len(v_user)) < 0.03)
    t = np.r_[e_t, v_t0[opens] - 1.0, v_t0[reviewed] + 1800.0]
    user = np.r_[e_user, v_user[opens], v_user[reviewed]]
    visit = np.r_[e_visit, opens, reviewed]
    names = np.r_[
        name.astype(str), np.full(len(opens), "app_open"), np.full(len(reviewed), "review_written")
    ]
    cats = np.r_[np.array(PRODUCTS)[product], np.full(len(opens), ""), np.full(len(reviewed), "")]
    amounts = np.r_[np.round(amount, 2), np.full(len(opens) + len(reviewed), np.nan)]
    platform = np.array(["ios", "android", "web"])[rng.integers(0, 3, n_users)]
    user_ids = np.array([f"TRV-{i:06d}" for i in rng.permutation(n_users) + 1])
    log = pl.DataFrame(
        {"t": np.round(t), "u": user, "v": v_no[visit], "event_name": names, "cat": cats}
    ).with_columns(amount=pl.Series(amounts, nan_to_null=True))
    log = log.sort("t", "u", maintain_order=True)
    u = log["u"].to_numpy()
    local = pl.lit(ORIGIN.replace(tzinfo=None)) + pl.duration(seconds=pl.col("t") + 3600)
    log = log.with_columns(
        occurred_at=local.dt.strftime("%Y-%m-%dT%H:%M:%S+01:00"),
        customer_id=pl.Series(user_ids[u]),
        visit_id=pl.format("v{}", pl.col("v")),
        product_category=pl.when(pl.col("cat") == "").then(None).otherwise(pl.col("cat")),
        platform=pl.Series(platform[u]),
    ).select(
        "occurred_at",
        "customer_id",
        "visit_id",
        "event_name",
        "product_category",
        "amount",
        "platform",
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "bookings.csv"
    log.write_csv(path)
    return c.Generated([path], list(user_ids), truth, lat)
