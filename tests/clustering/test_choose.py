"""The default set is chosen from the data: exact choices on tables built to have a known answer."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from segtui.clustering.choose import (
    ACTIVITY_TOTAL_REASON,
    TIME_POSITION_REASON,
    TOTAL_REASON,
    Candidate,
    choose_features,
    composition_share,
    feature_kind,
    share_of_total,
)
from segtui.clustering.prepare import (
    SHARE_PSEUDO,
    PrepareParams,
    prepare,
    transform_users,
    yeo_johnson,
)
from segtui.clustering.specs import PrepSpec
from segtui.errors import InputError
from segtui.pipeline import load_users

N = 1000


def _users() -> pl.DataFrame:
    rng = np.random.default_rng(0)
    buys = rng.poisson(2.0, N).astype(float)
    buys[rng.random(N) < 0.85] = 0.0  # 85 % zeros: informative, must stay
    views = rng.lognormal(2, 1, N)
    rare = np.zeros(N)
    rare[:4] = 1.0  # 99.6 % of users have 0
    return pl.DataFrame(
        {
            "user_id": [f"u{i:04d}" for i in range(N)],
            "views": views,
            "views_twice": views * 2 + 1,  # same order as views: redundant
            "constant": np.full(N, 3.0),
            "nothing": pl.Series([None] * N, dtype=pl.Float64),
            "rare": rare,
            "buys": buys,
            "tenure_days": rng.uniform(0, 300, N),
            "days_since_last_event": rng.uniform(0, 300, N),
            "night_share": rng.random(N),
        }
    )


CANDIDATES = [
    Candidate("views_twice", "activity", tier=2),
    Candidate("views", "activity", tier=0),
    Candidate("constant", "activity", tier=0),
    Candidate("nothing", "value", tier=0),
    Candidate("rare", "funnel", tier=1),
    Candidate("buys", "value", tier=0),
    Candidate("tenure_days", "activity", tier=0),
    Candidate("days_since_last_event", "activity", tier=0),
    Candidate("night_share", "time", tier=1),
]


def test_uninformative_and_redundant_features_are_left_out_with_their_reason() -> None:
    choice = choose_features(_users(), CANDIDATES)
    assert choice.features == ("views", "buys", "night_share")
    assert choice.left_out == {
        # the catalog default wins over the generated twin, whatever the order offered
        "views_twice": "redundant with 'views' (Spearman 1.00)",
        "constant": "constant (3 for every user)",
        "nothing": "every value is missing",
        "rare": "near-constant (99.6% of users have 0)",
        "tenure_days": TIME_POSITION_REASON,
        "days_since_last_event": TIME_POSITION_REASON,
    }
    messages = choice.messages()
    assert messages[0].startswith("clustering on 3 features chosen from the data: views, buys")
    assert "left out 'constant': constant (3 for every user)" in messages


def test_a_share_wins_over_the_count_it_duplicates_and_time_position_stays_when_alone() -> None:
    rng = np.random.default_rng(1)
    count = rng.poisson(5.0, N).astype(float)
    users = pl.DataFrame(
        {
            "user_id": [f"u{i:04d}" for i in range(N)],
            "purchases": count,  # a catalog default, but a volume count
            "event_purchase_share": count / 40.0,  # same order, a share: comparable across users
            "tenure_days": rng.uniform(0, 300, N),
            "recency_days": rng.uniform(0, 300, N),
        }
    )
    cands = [
        Candidate("purchases", "value", tier=0),
        Candidate("event_purchase_share", "funnel", tier=2),
        Candidate("tenure_days", "activity", tier=0),
        Candidate("recency_days", "value", tier=0),
    ]
    choice = choose_features(users, cands)
    assert choice.features == ("event_purchase_share",)
    assert choice.left_out["purchases"] == ("redundant with 'event_purchase_share' (Spearman 1.00)")
    assert feature_kind("purchases") == "volume" and feature_kind("event_x_count") == "volume"
    assert feature_kind("event_x_per_session") == "rate"
    # fewer than two features besides time position: it is clustered on after all
    alone = choose_features(users.drop("event_purchase_share"), cands)
    assert alone.features == ("purchases", "tenure_days", "recency_days")


def test_time_position_features_share_one_familys_say() -> None:
    choice = choose_features(_users(), CANDIDATES, balance=True, time_position_out=False)
    w = choice.weights
    # activity: views alone; time position: tenure and days since, 1/sqrt(2) each
    assert w["views"] == 1.0 and w["buys"] == 1.0 and w["night_share"] == 1.0
    assert w["tenure_days"] == pytest.approx(1 / math.sqrt(2))
    assert w["days_since_last_event"] == pytest.approx(1 / math.sqrt(2))
    assert choice.families["tenure_days"] == "time position"
    unweighted = choose_features(_users(), CANDIDATES, balance=False)
    assert set(unweighted.weights.values()) == {1.0}


@pytest.mark.parametrize("weighting", ["time-position", "family"])
def test_prepare_weights_the_scaled_columns(weighting: str) -> None:
    users = _users()
    spec = PrepSpec(
        ("views", "buys", "tenure_days", "days_since_last_event", "night_share"),
        families={"views": "activity", "buys": "value", "night_share": "time"},
        weighting=weighting,
    )
    pm = prepare(users, spec)
    stds = dict(zip(pm.features, pm.X.std(axis=0), strict=True))
    assert stds["views"] == pytest.approx(1.0)
    assert stds["tenure_days"] == pytest.approx(1 / math.sqrt(2))
    assert stds["days_since_last_event"] == pytest.approx(1 / math.sqrt(2))
    assert any("time-position" in m for m in pm.messages)
    assert pm.params.weighting == weighting


def test_yeo_johnson_lambda_round_trips_through_the_model_and_gives_the_same_x() -> None:
    users = _users()
    spec = PrepSpec(("views", "buys", "night_share"), power="yeo-johnson")
    pm = prepare(users, spec)
    params = {f.name: f for f in pm.params.features}
    # the lambda is the maximum-likelihood one for the column as given (no transform declared)
    expected = stats.yeojohnson_normmax(np.sort(users["views"].to_numpy()), brack=None)
    assert params["views"].power == pytest.approx(expected, rel=1e-6)
    assert yeo_johnson(np.array([3.0]), 0.0)[0] == pytest.approx(math.log(4.0))
    assert yeo_johnson(np.array([3.0]), 0.5)[0] == pytest.approx((4.0**0.5 - 1) / 0.5)
    assert any("Yeo-Johnson" in m for m in pm.messages)
    saved = PrepareParams.from_dict(pm.params.to_dict())
    assert saved == pm.params and saved.power == "yeo-johnson"
    np.testing.assert_allclose(transform_users(saved, users), pm.X, rtol=0, atol=1e-12)
    # and on users in another order, each row is that user's
    shuffled = users.reverse()
    np.testing.assert_allclose(transform_users(saved, shuffled), pm.X[::-1], atol=1e-12)


def test_a_model_without_power_or_weights_reads_as_before() -> None:
    pm = prepare(_users(), PrepSpec(("views", "buys")))
    old = pm.params.to_dict()
    del old["weighting"], old["power"]
    for f in old["features"]:
        assert "power" not in f and "weight" not in f  # only written when they say something
    saved = PrepareParams.from_dict(old)
    assert saved.weighting == "none" and saved.power == "none"
    assert all(f.weight == 1.0 and f.power is None for f in saved.features)


def test_a_users_table_keeps_its_informative_columns(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    _users().drop("nothing").write_csv(path)
    data = load_users([path])
    assert data.kind == "users_table"
    assert data.default_features == ["views", "buys", "night_share"]
    assert data.choice is not None
    assert data.choice.left_out["tenure_days"] == TIME_POSITION_REASON
    assert data.choice.left_out["views_twice"] == "redundant with 'views' (Spearman 1.00)"
    assert "left out 'constant': constant (3 for every user)" in data.messages


def _mix_users() -> pl.DataFrame:
    rng = np.random.default_rng(2)
    events = rng.poisson(30.0, N).astype(float) + 1
    share = rng.beta(1.0, 9.0, N)
    return pl.DataFrame(
        {
            "user_id": [f"u{i:04d}" for i in range(N)],
            "events": events,
            "event_video_share": share,
            "event_video_count": np.round(share * events),
            "category_news_share": rng.beta(2.0, 5.0, N),
            "category_news_duration_s": rng.lognormal(5, 1, N),
            "event_login_count": rng.poisson(3.0, N).astype(float),  # its share is not offered
        }
    )


MIX = [
    Candidate("events", "activity", tier=0),
    Candidate("event_video_share", "activity", tier=2),
    Candidate("event_video_count", "activity", tier=2),
    Candidate("category_news_share", "interest", tier=2),
    Candidate("category_news_duration_s", "interest", tier=2),
    Candidate("event_login_count", "activity", tier=2),
]


def test_a_generated_count_is_left_out_when_its_share_is_offered() -> None:
    choice = choose_features(_mix_users(), MIX)
    assert choice.features == (
        "events",
        "event_video_share",
        "category_news_share",
        "event_login_count",
    )
    assert choice.left_out == {
        "event_video_count": TOTAL_REASON.format(share="event_video_share"),
        "category_news_duration_s": TOTAL_REASON.format(share="category_news_share"),
    }
    assert share_of_total("event_video_count") == "event_video_share"
    assert share_of_total("category_news_duration_s") == "category_news_share"
    assert share_of_total("purchases") is None and share_of_total("events") is None
    offered = choose_features(_mix_users(), MIX, totals_out=False)
    assert "category_news_duration_s" in offered.features


def _activity_users() -> pl.DataFrame:
    rng = np.random.default_rng(3)
    sessions = rng.poisson(8.0, N).astype(float) + 1
    per_session = rng.lognormal(1.5, 0.4, N)
    events = np.round(sessions * per_session) + 1
    return pl.DataFrame(
        {
            "user_id": [f"u{i:04d}" for i in range(N)],
            "events": events,
            "sessions": np.ceil(events / 3),  # ranks users like events: its twin
            "events_per_session": per_session,
            "avg_price_viewed": rng.lognormal(4.0, 0.5, N),
        }
    )


ACTIVITY = [
    Candidate("events", "activity", tier=0),
    Candidate("sessions", "activity", tier=0),
    Candidate("events_per_session", "activity", tier=0),
    Candidate("avg_price_viewed", "value", tier=0),
]


def test_the_count_of_everything_is_left_out_beside_a_rate_of_it_and_its_twins_with_it() -> None:
    users = _activity_users()
    choice = choose_features(users, ACTIVITY)
    assert choice.features == ("events_per_session", "avg_price_viewed")
    assert choice.left_out["events"] == ACTIVITY_TOTAL_REASON.format(rate="events_per_session")
    assert choice.left_out["sessions"].startswith("redundant with 'events'")
    kept = choose_features(users, ACTIVITY, activity_total_out=False)
    assert kept.features == ("events", "events_per_session", "avg_price_viewed")
    # Without a rate of it, the count is how active a user is: it stays.
    no_rate = choose_features(users.drop("events_per_session"), ACTIVITY)
    assert no_rate.features == ("events", "avg_price_viewed")
    # With one other feature it stays too: two features are the least a clustering gets.
    alone = choose_features(users.drop("avg_price_viewed"), ACTIVITY)
    assert alone.features == ("events", "events_per_session")
    # Below the users redundancy needs, the twins stay: so does the count.
    few = choose_features(users.head(40), ACTIVITY)
    assert few.features == ("events", "sessions", "events_per_session", "avg_price_viewed")
    # A twin of the rate says it too: one app open per session is a share of 1 / the rate.
    opens = users.with_columns((1 / pl.col("events_per_session")).alias("event_app_open_share"))
    twin = choose_features(opens, [*ACTIVITY, Candidate("event_app_open_share", "activity", 2)])
    assert twin.features == ("avg_price_viewed", "event_app_open_share")
    assert twin.left_out["events_per_session"].startswith("redundant with 'event_app_open_share'")
    assert twin.left_out["events"] == ACTIVITY_TOTAL_REASON.format(rate="event_app_open_share")


def test_composition_shares_are_read_on_a_log_scale_and_assign_does_the_same() -> None:
    users = _mix_users()
    spec = PrepSpec(("events", "event_video_share", "category_news_share"))
    pm = prepare(users, spec)
    params = {f.name: f for f in pm.params.features}
    assert params["event_video_share"].transform == "log_share"
    assert params["category_news_share"].transform == "log_share"
    assert params["events"].transform == "none"  # not a share: its declaration decides
    assert composition_share("event_video_share") and not composition_share("night_share")
    raw = users["event_video_share"].to_numpy()
    expected = np.log(raw + SHARE_PSEUDO)  # ln(share + 0.1), centred and scaled
    col = pm.features.index("event_video_share")
    np.testing.assert_allclose(pm.X[:, col], (expected - expected.mean()) / expected.std())
    assert any("ln(share + 0.1)" in m for m in pm.messages)
    saved = PrepareParams.from_dict(pm.params.to_dict())
    assert saved == pm.params
    np.testing.assert_allclose(transform_users(saved, users), pm.X, rtol=0, atol=1e-12)
    # "none" keeps the raw share; a person's own transform wins over the log
    plain = prepare(users, replace(spec, shares="none"))
    assert {f.transform for f in plain.params.features} == {"none"}
    mine = prepare(users, replace(spec, transforms={"event_video_share": "rank"}))
    assert {f.name: f.transform for f in mine.params.features}["event_video_share"] == "rank"
    with pytest.raises(InputError, match="unknown share transform"):
        PrepSpec(("events",), shares="sqrt")


LAYOUTS = Path(__file__).resolve().parents[1] / "data" / "layouts"


@pytest.mark.parametrize("path", [LAYOUTS / "clickstream.csv", LAYOUTS / "users_rfm.csv"])
def test_features_a_person_names_are_used_and_said_as_given(path: Path) -> None:
    """Nothing is chosen or left out of a person's ``--features``, and the output says so."""
    data = load_users([path])
    named = [f for f in data.features if f != "user_id"][:4]
    given = load_users([path], features=named)
    assert given.default_features == named
    assert given.choice is not None and given.choice.given
    assert given.choice.messages() == [
        f"clustering on {len(named)} features given (--features): " + ", ".join(named)
    ]
    assert [m for m in given.messages if m.startswith(("clustering on", "left out"))] == (
        given.choice.messages()
    )
