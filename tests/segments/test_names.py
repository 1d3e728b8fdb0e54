"""Names that are true: built from claims, from absolute contrasts, one claim per idea, in words
that fit any log; merged segments renamed from their profile, split parts told apart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl
import pytest

from segtui.segments.names import Claim, claim_holds, concept_of, person_named
from segtui.segments.profiles import (
    SegmentProfile,
    merge_renamed,
    profile_segments,
    segment_outcomes,
    split_named,
)
from segtui.segments.segmentation import Segmentation


def planted(
    groups: Sequence[Mapping[str, float]], sizes: Sequence[int]
) -> tuple[pl.DataFrame, np.ndarray]:
    """Users of known groups: each feature at the group's value, wiggled by 0, +1%, +2%."""
    labels = np.repeat(np.arange(len(groups)), sizes)
    wiggle = 1 + 0.01 * (np.arange(labels.size) % 3)
    columns = {f: np.array([groups[g][f] for g in labels], dtype=float) * wiggle for f in groups[0]}
    ids = [f"u{i:04d}" for i in range(labels.size)]
    return pl.DataFrame({"user_id": ids, **columns}), labels


def named(users: pl.DataFrame, labels: np.ndarray) -> list[SegmentProfile]:
    return profile_segments(users, labels, users.columns[1:])


def assert_true_claims(profiles: Sequence[SegmentProfile]) -> None:
    """Every claim holds on its profile, and no idea is claimed twice in one name."""
    for p in profiles:
        assert all(claim_holds(c, p) for c in p.claims), (p.name, p.claims)
        groups = [p.concepts.get(c.feature) or concept_of(c.feature) for c in p.claims]
        assert len(groups) == len(set(groups)), (p.name, p.claims)


SHOP = [
    # recent buyers of electronics
    {
        "page_views": 8,
        "purchases": 5,
        "recency_days": 10,
        "category_electronics_share": 0.8,
        "category_books_share": 0.1,
        "tenure_days": 300,
    },
    # browsers of books
    {
        "page_views": 30,
        "purchases": 0,
        "recency_days": 365,
        "category_electronics_share": 0.1,
        "category_books_share": 0.8,
        "tenure_days": 290,
    },
    # a bit of everything
    {
        "page_views": 6,
        "purchases": 1,
        "recency_days": 200,
        "category_electronics_share": 0.3,
        "category_books_share": 0.3,
        "tenure_days": 310,
    },
]


def test_recent_buyers_of_electronics_and_browsers_of_books() -> None:
    users, labels = planted(SHOP, [30, 40, 30])
    profiles = named(users, labels)
    assert [p.name for p in profiles] == [
        "Loyal buyers interested in electronics",
        "Browsers interested in books",
        "Low page views",
    ]
    buyers = profiles[0]
    assert [(c.feature, c.direction) for c in buyers.claims] == [
        ("purchases", "higher"),
        ("recency_days", "lower"),
        ("category_electronics_share", "higher"),
    ]
    assert buyers.claims[0] == Claim(
        "purchases", "higher", buyers.mean["purchases"], buyers.overall_mean["purchases"]
    )
    assert_true_claims(profiles)


def test_premium_buyers_of_a_category() -> None:
    groups = [
        {"purchases": 6, "avg_order_value": 300, "recency_days": 12, "category_watches_share": 0.9},
        {"purchases": 1, "avg_order_value": 60, "recency_days": 150, "category_watches_share": 0.1},
    ]
    profiles = named(*planted(groups, [30, 70]))
    assert profiles[0].name == "Loyal repeat buyers of premium watches"
    assert_true_claims(profiles)


def test_tenure_near_the_overall_is_not_new_users() -> None:
    # 475 days against 502 overall: a whole standard deviation, but 5% apart
    users, labels = planted(
        [{"tenure_days": 475, "sessions": 5}, {"tenure_days": 530, "sessions": 5.2}], [50, 50]
    )
    young, old = named(users, labels)
    assert young.effect["tenure_days"] == pytest.approx(-0.99, abs=0.01)
    assert young.overall_mean["tenure_days"] == pytest.approx(507.5, abs=0.1)
    assert (young.name, old.name) == ("Typical users", "Typical users 2")
    assert young.traits == () and young.claims == ()
    # 100 days against 318 is new
    users, labels = planted(
        [{"tenure_days": 100, "sessions": 5}, {"tenure_days": 530, "sessions": 5.2}], [50, 50]
    )
    young, old = named(users, labels)
    assert (young.name, old.name) == ("New users", "Long-time users")
    assert young.claims == (
        Claim("tenure_days", "lower", young.mean["tenure_days"], young.overall_mean["tenure_days"]),
    )


def test_small_share_gap_is_no_night_owls() -> None:
    # 12% of events at night against 9%: a ratio of 1.3, but three points
    groups = [{"night_share": 0.12, "sessions": 5}, {"night_share": 0.08, "sessions": 5}]
    first, _ = named(*planted(groups, [40, 60]))
    assert first.effect["night_share"] is not None and first.effect["night_share"] > 0.9
    assert (first.name, first.claims) == ("Typical users 2", ())


def test_name_speaks_of_the_strongest_contrast() -> None:
    # cart abandoners who are also somewhat more active at night: not "Night owls"
    groups = [
        {"add_to_cart": 4, "purchases": 0.1, "cart_abandonment": 0.97, "night_share": 0.2},
        {"add_to_cart": 2, "purchases": 3, "cart_abandonment": 0.2, "night_share": 0.12},
        {"add_to_cart": 2, "purchases": 3.2, "cart_abandonment": 0.1, "night_share": 0.2},
    ]
    profiles = named(*planted(groups, [40, 30, 30]))
    abandoners = profiles[0]
    assert abandoners.traits[0].feature in ("cart_abandonment", "purchases", "add_to_cart")
    assert abandoners.name == "Cart abandoners"
    assert_true_claims(profiles)


def test_one_trait_and_one_claim_per_idea() -> None:
    # purchases, orders, the generated purchase count and revenue say one thing here
    groups = [
        {"purchases": 6, "orders": 6, "event_purchase_count": 6, "revenue": 600, "sessions": 10},
        {"purchases": 1, "orders": 1, "event_purchase_count": 1, "revenue": 100, "sessions": 10.5},
    ]
    users, labels = planted(groups, [40, 60])
    profiles = named(users, labels)
    for p in profiles:
        assert len(p.traits) == 1, [t.text for t in p.traits]
        assert len(p.claims) == 1
    assert {p.concepts[f] for p in profiles for f in users.columns[1:4]} == {"buys"}
    assert profiles[0].concepts["revenue"] == "buys"  # joined by the data (r = 1)
    assert_true_claims(profiles)


def test_revenue_not_moving_with_purchases_is_its_own_trait() -> None:
    # the same purchases, very different money: two ideas, two traits
    groups = [
        {"purchases": 6, "revenue": 2000, "sessions": 10},
        {"purchases": 6, "revenue": 100, "sessions": 10},
        {"purchases": 1, "revenue": 100, "sessions": 10},
    ]
    profiles = named(*planted(groups, [30, 30, 40]))
    assert profiles[0].concepts["revenue"] == "spend"
    assert [t.feature for t in profiles[0].traits] == ["revenue", "purchases"]


def test_generated_event_features_are_worded_from_their_names() -> None:
    groups = [
        {
            "event_video_played_share": 0.6,
            "event_level_up_count": 1,
            "event_api_call_per_session": 0.5,
        },
        {
            "event_video_played_share": 0.1,
            "event_level_up_count": 12,
            "event_api_call_per_session": 0.5,
        },
        {
            "event_video_played_share": 0.1,
            "event_level_up_count": 1,
            "event_api_call_per_session": 6,
        },
    ]
    profiles = named(*planted(groups, [40, 30, 30]))
    assert [p.name for p in profiles] == [
        "Video watchers",
        "Heavy on level up, light on video played",
        "API users",
    ]
    assert profiles[0].traits[0].text == "61% video played share vs 30% overall"
    assert profiles[1].traits[0].text == "2.8x more level up events"
    assert_true_claims(profiles)


def test_event_personas_read_the_action_before_the_object() -> None:
    # "Article Shared": the segment shares articles; everyone reads them
    groups = [
        {"event_article_shared_share": 0.30, "event_article_viewed_share": 0.5},
        {"event_article_shared_share": 0.02, "event_article_viewed_share": 0.5},
        {"event_article_shared_share": 0.02, "event_article_viewed_share": 0.9},
    ]
    profiles = named(*planted(groups, [30, 40, 30]))
    assert profiles[0].name == "Sharers"
    assert profiles[2].name == "Readers"  # "viewed" is no known action: the object speaks
    assert_true_claims(profiles)


@pytest.mark.parametrize(
    ("feature", "persona"),
    [
        ("event_video_sharing_share", "Sharers"),
        ("event_post_liked_share", "Likers"),
        ("event_friend_inviting_share", "Inviters"),
        ("event_chatting_share", "Chatters"),
    ],
)
def test_event_personas_read_any_common_inflection(feature: str, persona: str) -> None:
    groups = [{feature: 0.4, "sessions": 5}, {feature: 0.02, "sessions": 5}]
    first, _ = named(*planted(groups, [30, 70]))
    assert first.name == persona


def test_a_small_share_many_times_everyones_names_the_segment() -> None:
    # invites are 9% of the segment's events against under 2% overall: a gap of 7 points, a
    # lift of 5: what the segment does, not "Typical users"
    groups = [
        {"event_invite_sent_share": 0.09, "sessions": 5},
        {"event_invite_sent_share": 0.004, "sessions": 5},
    ]
    social, other = named(*planted(groups, [15, 85]))
    assert social.name == "Inviters"
    assert other.name.startswith("Typical users")
    assert_true_claims([social, other])


def test_generated_count_share_and_rate_of_one_event_are_one_idea() -> None:
    assert concept_of("event_share_count") == concept_of("event_share_share") == "event:share"
    assert concept_of("event_purchase_per_session") == "buys"
    assert concept_of("event_order_completed_count") == "buys"
    assert concept_of("category_electronics_duration_s") == "category:electronics"
    assert concept_of("event_count") == "activity"  # a built-in name, not a generated one


def test_outcomes_beside_everyone() -> None:
    users = pl.DataFrame(
        {
            "user_id": ["a", "b", "c", "d"],
            "sessions": [1, 2, 3, 4],
            "revenue": [0.0, 0.0, 30.0, 10.0],
            "purchases": [0, 0, 2, 1],
            "active_days": [1, 3, 4, 4],
        }
    )
    out = segment_outcomes(users, np.array([0, 0, 1, 1]), clustered=["sessions"])
    assert [(o.what, o.column, o.value, o.overall, o.clustered) for o in out[1]] == [
        ("revenue", "revenue", 20.0, 10.0, False),
        ("conversion", "purchases", 1.0, 0.5, False),
        ("active days", "active_days", 4.0, 3.0, False),
    ]
    assert out[1][0].share_of_total == 1.0
    assert out[1][0].text == "revenue 20 per user vs 10 overall (100% of all revenue)"
    assert out[0][1].text == "conversion 0% vs 50% overall"
    (_, p1) = profile_segments(users, np.array([0, 0, 1, 1]), ["sessions", "revenue"])
    assert [o.clustered for o in p1.outcomes] == [True, False, False]


# ---- edits


def shop_segmentation() -> tuple[pl.DataFrame, np.ndarray, Segmentation, list[str]]:
    """Browsers (0), cart abandoners (1), loyal buyers (2), generated names."""
    groups = [
        {"page_views": 30, "add_to_cart": 0, "purchases": 0, "sessions": 5},
        {"page_views": 12, "add_to_cart": 8, "purchases": 0, "sessions": 5},
        {"page_views": 10, "add_to_cart": 3, "purchases": 8, "sessions": 5},
    ]
    users, labels = planted(groups, [40, 30, 30])
    features = users.columns[1:]
    names = {p.segment_id: p.name for p in profile_segments(users, labels, features)}
    seg = Segmentation.from_labels(users["user_id"], labels, names=names)
    return users, labels, seg, features


def test_merged_segment_is_renamed_from_its_profile() -> None:
    users, _, seg, features = shop_segmentation()
    assert seg.names == {0: "Browsers", 1: "Cart abandoners", 2: "Frequent buyers"}
    merged = merge_renamed(seg, users, features, [0, 1])
    assert merged.names == {0: "Non-buyers", 2: "Frequent buyers"}
    assert person_named(merged.edits) == frozenset()
    profiles = profile_segments(users, merged.labels(), features, merged.names)
    assert profiles[0].claims  # the new name is built from the merged profile
    assert_true_claims(profiles)


def test_merge_keeps_a_persons_name() -> None:
    users, _, seg, features = shop_segmentation()
    seg = seg.rename(0, "Window shoppers")
    merged = merge_renamed(seg, users, features, [0, 1])
    assert merged.names[0] == "Window shoppers"
    assert person_named(merged.edits) == frozenset({0})
    profiles = profile_segments(users, merged.labels(), features, merged.names)
    assert profiles[0].claims == ()  # a person's name claims nothing


def test_split_parts_are_named_from_what_tells_them_apart() -> None:
    users, _, seg, features = shop_segmentation()
    members = seg.members(0)
    half = (np.arange(int(members.sum())) % 2).astype(int)
    # the browsers' halves differ in page views only: wiggle them apart
    views = users["page_views"].to_numpy().copy()
    where = np.flatnonzero(members)
    views[where[half == 1]] *= 1.6
    users = users.with_columns(pl.Series("page_views", views))
    split = split_named(seg, users, features, 0, half)
    part_names = sorted(split.names[sid] for sid in split.edits[-1].part_ids)
    assert part_names == ["Browsers (fewer page views)", "Browsers (more page views)"]
    profiles = profile_segments(users, split.labels(), features, split.names)
    assert_true_claims(profiles)
    # a person's name is the stem
    named_split = split_named(seg.rename(0, "VIP"), users, features, 0, half)
    parts = named_split.edits[-1].part_ids
    assert sorted(named_split.names[sid] for sid in parts) == [
        "VIP (fewer page views)",
        "VIP (more page views)",
    ]
