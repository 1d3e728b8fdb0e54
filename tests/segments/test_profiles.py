"""Profiles: exact sizes, shares, means, medians, lift and effects; traits; generated names."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from segtui.errors import InputError
from segtui.segments.names import NOISE_NAME, generate_names
from segtui.segments.profiles import profile_segments
from segtui.segments.wording import display_name


@pytest.fixture
def tiny() -> tuple[pl.DataFrame, np.ndarray]:
    users = pl.DataFrame(
        {
            "user_id": ["a", "b", "c", "d", "e", "f"],
            "purchases": [0, 0, 0, 3, 5, 1],
            "add_to_cart": [4, 6, 2, 1, 1, 0],
            "trend": [-1.0, 1.0, 0.0, 2.0, 2.0, -4.0],
            "const": [1, 1, 1, 1, 1, 1],
            "gappy": [None, 2.0, 4.0, float("nan"), 1.0, 1.0],
        }
    )
    return users, np.array([0, 0, 0, 1, 1, 2])


FEATS = ["purchases", "add_to_cart", "trend", "const", "gappy"]


def test_sizes_shares_means_medians(tiny: tuple[pl.DataFrame, np.ndarray]) -> None:
    users, labels = tiny
    profiles = profile_segments(users, labels, FEATS, names={0: "A", 1: "B", 2: "C"})
    assert [(p.segment_id, p.name, p.size) for p in profiles] == [
        (0, "A", 3),
        (1, "B", 2),
        (2, "C", 1),
    ]
    assert [p.share for p in profiles] == [0.5, 2 / 6, 1 / 6]
    p0, p1, p2 = profiles
    assert p0.mean == {
        "purchases": 0.0,
        "add_to_cart": 4.0,
        "trend": 0.0,
        "const": 1.0,
        "gappy": 3.0,
    }
    assert p0.median == {
        "purchases": 0.0,
        "add_to_cart": 4.0,
        "trend": 0.0,
        "const": 1.0,
        "gappy": 3.0,
    }
    assert p1.mean == {
        "purchases": 4.0,
        "add_to_cart": 1.0,
        "trend": 2.0,
        "const": 1.0,
        "gappy": 1.0,
    }
    assert p2.median["purchases"] == 1.0
    assert p0.overall_mean == {
        "purchases": 1.5,
        "add_to_cart": pytest.approx(14 / 6),
        "trend": 0.0,
        "const": 1.0,
        "gappy": 2.0,  # null and NaN left out: (2 + 4 + 1 + 1) / 4
    }
    assert p0.overall_median["add_to_cart"] == 1.5


def test_lift_and_effect(tiny: tuple[pl.DataFrame, np.ndarray]) -> None:
    users, labels = tiny
    p0, p1, _ = profile_segments(users, labels, FEATS)
    assert p1.lift["purchases"] == pytest.approx(4 / 1.5)
    assert p0.lift["purchases"] == 0.0
    assert p1.lift["add_to_cart"] == pytest.approx(1 / (14 / 6))
    assert p1.lift["const"] == 1.0
    assert p1.lift["trend"] is None  # can be negative: no ratio
    std = float(np.std([0, 0, 0, 3, 5, 1]))
    assert p1.effect["purchases"] == pytest.approx((4 - 1.5) / std)
    assert p0.effect["purchases"] == pytest.approx(-1.5 / std)
    assert p1.effect["const"] is None  # constant feature: no effect


def test_zero_overall_mean_has_no_lift() -> None:
    users = pl.DataFrame({"user_id": ["a", "b"], "x": [0, 0], "y": [1, 3]})
    p0, _ = profile_segments(users, np.array([0, 1]), ["x", "y"])
    assert p0.lift == {"x": None, "y": 0.5}


def test_traits_text_and_ranking(tiny: tuple[pl.DataFrame, np.ndarray]) -> None:
    users, labels = tiny
    p0, p1, _ = profile_segments(users, labels, FEATS)
    texts0 = {t.feature: t.text for t in p0.traits}
    assert texts0["purchases"] == "no purchases"
    assert texts0["add_to_cart"] == "71% more cart adds"
    texts1 = {t.feature: t.text for t in p1.traits}
    assert texts1["purchases"] == "2.7x more purchases"
    assert texts1["add_to_cart"] == "57% fewer cart adds"
    assert texts1["trend"] == "trend 2 vs 0 overall"
    effects = [abs(t.effect) for t in p1.traits]
    assert effects == sorted(effects, reverse=True)
    assert all(t.feature != "const" for t in p1.traits)


def test_days_and_share_traits() -> None:
    users = pl.DataFrame(
        {
            "user_id": [str(i) for i in range(4)],
            "recency_days": [12.0, 12.0, 148.0, 148.0],
            "weekend_share": [0.9, 0.7, 0.1, 0.1],
        }
    )
    p0, _ = profile_segments(users, np.array([0, 0, 1, 1]), ["recency_days", "weekend_share"])
    texts = [t.text for t in p0.traits]
    assert texts == ["recency 12 days vs 80 overall", "80% weekend activity vs 45% overall"]


def test_display_names() -> None:
    assert display_name("add_to_cart") == "cart adds"
    assert display_name("some_column") == "some_column"


def shop_users() -> tuple[pl.DataFrame, np.ndarray]:
    """Four planted groups: browsers, cart abandoners, loyal premium buyers, lapsed users."""
    sizes = [40, 30, 20, 10]
    labels = np.repeat([0, 1, 2, 3], sizes)
    wiggle = np.arange(labels.size) % 3  # 0, 1, 2, 0, 1, 2, ...

    def column(values: list[float], scale: float = 1.0) -> np.ndarray:
        return np.array([values[g] for g in labels], dtype=float) + scale * wiggle

    users = pl.DataFrame(
        {
            "user_id": [f"u{i:03d}" for i in range(labels.size)],
            "page_views": column([30, 10, 5, 2]),
            "add_to_cart": column([0, 8, 2, 0], 0.5) * (labels != 0),
            "purchases": column([0, 0, 10, 0]) * (labels == 2),
            "avg_order_value": column([0, 0, 150, 0], 2) * (labels == 2),
            "recency_days": column([10, 5, 3, 200]),
        }
    )
    return users, labels


def test_generated_names_on_planted_groups() -> None:
    users, labels = shop_users()
    profiles = profile_segments(users, labels, users.columns[1:])
    assert {p.segment_id: p.name for p in profiles} == {
        0: "Browsers",
        1: "Cart abandoners",
        2: "Loyal repeat buyers of premium products",
        3: "Lapsed users",
    }
    abandoners = profiles[1]
    carts = users["add_to_cart"].to_numpy()
    lift = carts[labels == 1].mean() / carts.mean()
    assert abandoners.traits[0].text == f"{lift:.1f}x more cart adds" == "2.7x more cart adds"
    assert "no purchases" in [t.text for t in abandoners.traits]


def test_names_unique_with_differentiating_trait_then_number() -> None:
    users, labels = shop_users()
    # split the cart abandoners in three look-alike parts: numbered.
    labels = labels.copy()
    idx = np.flatnonzero(labels == 1)
    labels[idx[:10]] = 4
    labels[idx[10:20]] = 5
    names = generate_names(profile_segments(users, labels, users.columns[1:]))
    assert [names[i] for i in (1, 4, 5)] == [
        "Cart abandoners",
        "Cart abandoners 2",
        "Cart abandoners 3",
    ]
    # give part 4 many more page views: it is told apart by that.
    more_views = pl.Series((labels == 4) * 25.0)
    users = users.with_columns(pl.col("page_views") + more_views)
    names = generate_names(profile_segments(users, labels, users.columns[1:]))
    assert [names[i] for i in (1, 4, 5)] == [
        "Cart abandoners",
        "Cart abandoners (more page views)",
        "Cart abandoners 2",
    ]
    assert len(set(names.values())) == len(names)


def test_noise_is_named_noise() -> None:
    users, labels = shop_users()
    profiles = profile_segments(users, labels, users.columns[1:], noise_id=3)
    assert profiles[3].name == NOISE_NAME and profiles[3].is_noise


def test_composed_name_for_unknown_features() -> None:
    users = pl.DataFrame(
        {
            "user_id": [str(i) for i in range(8)],
            "x_score": [9.0, 9.0, 9.0, 9.0, 1.0, 1.0, 1.0, 1.0],
            "y_count": [0.0, 1.0, 0.0, 1.0, 5.0, 6.0, 5.0, 6.0],
        }
    )
    names = generate_names(profile_segments(users, np.repeat([0, 1], 4), ["x_score", "y_count"]))
    assert names == {0: "High x_score, low y_count", 1: "Low x_score, high y_count"}


def test_typical_users_when_nothing_stands_out() -> None:
    users = pl.DataFrame({"user_id": ["a", "b", "c", "d"], "x": [1.0, 2.0, 1.0, 2.0]})
    names = generate_names(profile_segments(users, np.array([0, 0, 1, 1]), ["x"]))
    assert names == {0: "Typical users", 1: "Typical users 2"}


def test_bad_input() -> None:
    users = pl.DataFrame({"user_id": ["a", "b"], "x": [1, 2], "s": ["p", "q"]})
    with pytest.raises(InputError, match="no feature 'nope'"):
        profile_segments(users, np.array([0, 1]), ["nope"])
    with pytest.raises(InputError, match="not numeric"):
        profile_segments(users, np.array([0, 1]), ["s"])
    with pytest.raises(InputError, match="aligned"):
        profile_segments(users, np.array([0]), ["x"])


def test_mostly_null_feature_is_not_a_trait() -> None:
    users = pl.DataFrame(
        {
            "user_id": [str(i) for i in range(8)],
            "cart_abandonment": [1.0, None, None, None, 0.0, 0.1, 0.0, 0.1],
            "page_views": [9, 9, 9, 9, 1, 1, 1, 1],
        }
    )
    p0, _ = profile_segments(users, np.repeat([0, 1], 4), ["cart_abandonment", "page_views"])
    assert p0.coverage == {"cart_abandonment": 0.25, "page_views": 1.0}
    assert p0.effect["cart_abandonment"] is not None
    assert [t.feature for t in p0.traits] == ["page_views"]


def rfm_users(n: int = 100) -> pl.DataFrame:
    """Buyers whose typical order count is one: orders 1,1,2 repeating, sessions and recency
    spread the same way for everyone."""
    i = np.arange(n)
    return pl.DataFrame(
        {
            "user_id": [f"u{v:03d}" for v in i],
            "orders": np.where(i % 3 == 2, 2, 1),
            "sessions": 1 + i % 5,
            "recency_days": 5.0 + (i * 7) % 60,
        }
    )


def test_one_segment_is_everyone_not_one_time_buyers() -> None:
    users = rfm_users()
    (only,) = profile_segments(users, np.zeros(users.height, dtype=int), users.columns[1:])
    assert only.median["orders"] == 1 and only.share == 1.0
    assert only.traits == ()
    assert only.name == "Everyone"


def test_dominant_segment_without_traits_is_typical_users() -> None:
    # 97 users like everyone else and 3 noise users who differ only in their recency
    users = rfm_users().with_columns(
        pl.when(pl.int_range(pl.len()) >= 97)
        .then(pl.lit(400.0))
        .otherwise(pl.col("recency_days"))
        .alias("recency_days")
    )
    labels = np.where(np.arange(users.height) >= 97, 1, 0)
    main, noise = profile_segments(users, labels, users.columns[1:], noise_id=1)
    assert (main.size, main.median["orders"], main.traits) == (97, 1.0, ())
    assert main.name == "Typical users"
    assert noise.name == NOISE_NAME
    # without noise the small group is a segment of its own, and the only one with a trait
    names = generate_names(profile_segments(users, labels, users.columns[1:]))
    assert names[0] == "Typical users"
    # long gone, but their order count is everyone's (1.33 against 1.33): no "one-time" claim
    assert names[1] == "Lapsed buyers"


def test_one_time_buyers_need_a_contrast_with_everyone() -> None:
    # 30 one-order buyers long gone, 30 repeat buyers seen lately
    n = 60
    half = np.arange(n) < 30
    users = pl.DataFrame(
        {
            "user_id": [f"u{v:02d}" for v in range(n)],
            "orders": np.where(half, 1, 4 + np.arange(n) % 3),
            "recency_days": np.where(half, 120.0, 10.0) + np.arange(n) % 4,
        }
    )
    labels = np.where(half, 0, 1)
    names = generate_names(profile_segments(users, labels, ["orders", "recency_days"]))
    assert names == {0: "One-time buyers", 1: "Loyal buyers"}


def test_median_of_one_is_not_one_time_buying_for_most_users() -> None:
    # the big segment's median of 1 sits between its non-buyers and its two-order buyers
    orders = [0] * 30 + [2] * 30 + [3] * 40
    users = pl.DataFrame({"user_id": [f"u{v:03d}" for v in range(100)], "orders": orders})
    labels = np.repeat([0, 1], [60, 40])
    big, small = profile_segments(users, labels, ["orders"])
    assert (big.share, big.median["orders"], big.mean["orders"]) == (0.6, 1.0, 1.0)
    assert users["orders"].median() == 2.0
    assert big.name == "Low orders"
    assert small.name == "Frequent buyers"


def test_almost_none_is_not_said_as_none() -> None:
    from segtui.segments.profiles import _trait

    assert _trait("add_to_cart", -2.0, 0.01, 4.5, 0.01 / 4.5).text == ">99% fewer cart adds"
    assert _trait("add_to_cart", -2.0, 0.0, 4.5, 0.0).text == "no cart adds"
    assert _trait("add_to_cart", -1.0, 2.25, 4.5, 0.5).text == "50% fewer cart adds"
