"""World "saas": a B2B analytics product's feature-usage log, as a generic tab-separated file.

File: ``usage.tsv`` with ``timestamp`` (ISO 8601, Z), ``account`` (``acct_0042``), ``user``
(``u_9f3a1c``), ``plan`` (trial / team / business), ``action`` and ``duration`` (seconds the
action took the person; API calls: the request's seconds). Actions: login, dashboard_viewed,
report_viewed, report_created, export_csv, api_call, comment_added, dashboard_shared,
invite_sent, settings_changed, user_role_changed, billing_viewed. No session column. Six months,
2024-01-01 (a Monday) to 2024-06-30.

Groups (share of users): viewers 38%, power users 16%, collaborators 16%, admins 14.5%, API
integrators 12%, dormant trials 3.5% (size skew 10.9:1).

What tells them apart (latent per user, the ceiling's matrix): sessions per week, actions per
session, the weight of five action families (viewing, creating/exporting, API, collaborating,
administering), seconds per action, the share of sessions outside office hours (nights and
weekends: integrations run around the clock) and how long the user stays (dormant trials: about
six days after sign-up).

Nuisance, in numbers:
- 10% of users are blends (``w`` uniform 0.60-0.85 of their own group, the rest another).
- Start dates uniform over the six months (minus a week).
- Within a group: sessions per week sd 0.5 in log, actions per session sd 0.3 in log, each
  family's log weight sd 0.5, seconds per action sd 0.35 in log (each action log-normal sd 0.7
  around it), off-hours logit sd 0.5, lifetime sd 0.3 in log; Poisson counts on top.
- Users belong to accounts of 1-40 users whose plan is decoration (trials excepted).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.quality import common as c

NAME = "saas"
LAYOUT = "generic"
GROUPS = (
    ("viewers", 0.38),
    ("power_users", 0.16),
    ("collaborators", 0.16),
    ("admins", 0.145),
    ("api_integrators", 0.12),
    ("dormant_trials", 0.035),
)
BLEND_SHARE = 0.10
ORIGIN = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_DAYS = 182.0
FAMILIES = (
    ("dashboard_viewed", "report_viewed"),
    ("report_created", "export_csv", "report_viewed"),
    ("api_call",),
    ("comment_added", "dashboard_shared", "invite_sent"),
    ("settings_changed", "user_role_changed", "billing_viewed", "invite_sent"),
)
PARAMS = (
    "log_sessions_per_week",
    "log_actions_per_session",
    "log_w_view",
    "log_w_create",
    "log_w_api",
    "log_w_collab",
    "log_w_admin",
    "log_seconds_per_action",
    "logit_off_hours",
    "log_lifetime_days",
)


def _means() -> np.ndarray:
    lg, lt = np.log, lambda p: np.log(p / (1 - p))
    rows = [
        # spw, actions, view, create, api, collab, admin, seconds, off-hours, lifetime
        (0.6, 4, 1.00, 0.05, 0.01, 0.05, 0.02, 40, 0.08, 400),  # viewers
        (1.2, 8, 0.40, 0.45, 0.03, 0.08, 0.04, 120, 0.15, 400),  # power users
        (1.0, 6, 0.35, 0.10, 0.01, 0.50, 0.04, 60, 0.08, 400),  # collaborators
        (0.8, 5, 0.30, 0.05, 0.02, 0.10, 0.50, 45, 0.10, 400),  # admins
        (2.0, 8, 0.05, 0.02, 0.90, 0.01, 0.02, 1.5, 0.60, 400),  # API integrators
        (3.0, 5, 0.50, 0.15, 0.01, 0.05, 0.20, 50, 0.10, 6),  # dormant trials
    ]
    return np.array(
        [
            (lg(a), lg(b), lg(v), lg(cr), lg(ap), lg(co), lg(ad), lg(s), lt(o), lg(li))
            for a, b, v, cr, ap, co, ad, s, o, li in rows
        ]
    )


SDS = np.array([0.5, 0.3, 0.5, 0.5, 0.5, 0.5, 0.5, 0.35, 0.5, 0.3])


def generate(n_users: int, seed: int, out_dir: Path) -> c.Generated:
    rng = np.random.default_rng([seed, 303])
    truth = c.plant_groups(rng, n_users, [s for _, s in GROUPS])
    lat = c.latent(rng, truth, PARAMS, _means(), SDS, BLEND_SHARE)
    start, end = c.windows(rng, n_users, SPAN_DAYS, np.exp(lat.col("log_lifetime_days")))

    spw = np.exp(lat.col("log_sessions_per_week"))
    n_sessions = c.count_at_least_one(rng, spw / 7.0 * (end - start))
    s_user = np.repeat(np.arange(n_users), n_sessions)
    day = np.floor(c.session_days(rng, s_user, start, end))
    off = rng.random(len(s_user)) < c.sigmoid(lat.col("logit_off_hours"))[s_user]
    weekday = day % 7  # the origin is a Monday
    day = np.where(~off & (weekday >= 5), day - (weekday - 4), day)  # office work on Friday
    hour = np.where(off, rng.uniform(0, 24, len(s_user)), rng.normal(11.5, 2.0, len(s_user)))
    s_t0 = day * c.DAY + np.clip(hour, 0, 23.9) * 3600.0
    s_t0 = np.clip(s_t0, 0, SPAN_DAYS * c.DAY - 6 * 3600.0)

    mean_actions = np.exp(lat.col("log_actions_per_session"))[s_user]
    n_actions = 1 + rng.poisson(np.maximum(mean_actions - 1, 0))
    a_sess = np.repeat(np.arange(len(s_user)), n_actions)
    a_user = s_user[a_sess]
    weights = c.softmax(lat.values[:, 2:7])
    family = c.categorical(rng, weights[a_user])
    sizes = np.array([len(f) for f in FAMILIES])
    member = np.floor(rng.random(len(a_sess)) * sizes[family]).astype(int)
    names = np.array([f[m] for f in FAMILIES for m in range(len(f))])
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]
    action = names[offsets[family] + member]
    seconds = np.exp(lat.col("log_seconds_per_action")[a_user] + rng.normal(0, 0.7, len(a_sess)))
    seconds = np.where(action == "api_call", np.clip(seconds, 0.05, 30), np.clip(seconds, 1, 1500))
    gap = np.where(action == "api_call", rng.exponential(4, len(a_sess)), seconds + 5)
    a_t = s_t0[a_sess] + c.cumsum_within(gap, a_sess)

    # A login opens each session that has anything but API calls.
    ui = np.zeros(len(s_user), bool)
    np.logical_or.at(ui, a_sess, action != "api_call")
    login = np.flatnonzero(ui)

    n_accounts = max(n_users // 12, 1)
    account = rng.zipf(1.6, n_users) % n_accounts
    plan = np.array(["team", "business", "team"])[account % 3]
    plan = np.where(truth == len(GROUPS) - 1, "trial", plan)
    user_ids = np.array([f"u_{h}" for h in c.hex_ids(rng, n_users, 4)])
    log = pl.DataFrame(
        {
            "t": np.r_[a_t, s_t0[login] - 2.0],
            "u": np.r_[a_user, s_user[login]],
            "action": np.r_[action, np.full(len(login), "login")],
            "duration": np.r_[np.round(seconds, 2), np.round(rng.uniform(1, 4, len(login)), 2)],
        }
    ).sort("t", "u", maintain_order=True)
    u = log["u"].to_numpy()
    stamp = pl.lit(ORIGIN.replace(tzinfo=None)) + pl.duration(seconds=pl.col("t").floor())
    log = log.with_columns(
        timestamp=stamp.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        account=pl.Series([f"acct_{a:04d}" for a in account[u]]),
        user=pl.Series(user_ids[u]),
        plan=pl.Series(plan[u]),
    ).select("timestamp", "account", "user", "plan", "action", "duration")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "usage.tsv"
    log.write_csv(path, separator="\t")
    return c.Generated([path], list(user_ids), truth, lat)
