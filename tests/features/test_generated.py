"""Features generated from the data: which, named how, why, and their exact values on a tiny log."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from segtui.features.catalog import CATALOG
from segtui.features.compile import compute_features
from segtui.features.generated import (
    Counted,
    DataStats,
    data_stats,
    generated_specs,
    offered_specs,
)
from segtui.features.tables import spec_from_dict, spec_to_dict
from segtui.ingest.events import load_events
from segtui.pipeline import load_users

# A content-site log: a non-canonical event with a space in its name, one with no category or
# duration, categories in mixed case. Users per event: page_view 2, "Video Played" 2, share 1
# (ties in sorted raw text: "Video Played" < "page_view"); per category: Sports 2, News 1, Tech 1.
LOG = """\
user_id,ts,event,session_id,category,duration_s
u1,2024-01-01T10:00:00Z,page_view,s1,News,10
u1,2024-01-01T10:01:00Z,page_view,s1,News,20
u1,2024-01-01T10:02:00Z,Video Played,s1,Sports,30
u1,2024-01-02T10:00:00Z,page_view,s2,Sports,40
u2,2024-01-03T10:00:00Z,Video Played,s3,Sports,5
u2,2024-01-03T10:01:00Z,share,s3,,
u3,2024-01-04T10:00:00Z,page_view,s4,Tech,
"""
GENERATED = [
    "event_video_played_count",
    "event_video_played_share",
    "event_video_played_per_session",
    "event_video_played_avg_duration_s",
    # page_view's count is the catalog's page_views: not generated again
    "event_page_view_share",
    "event_page_view_per_session",
    "event_page_view_avg_duration_s",
    "event_share_count",
    "event_share_share",
    "event_share_per_session",
    "top_category_share",
    "category_sports_share",
    "category_sports_duration_s",
    "category_news_share",
    "category_news_duration_s",
    "category_tech_share",
    "category_tech_duration_s",
]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    path.write_text(LOG, encoding="utf-8")
    return path


def stats_of(path: Path) -> DataStats:
    return data_stats(load_events([path]).events)


def test_stats_rank_by_users_then_sorted_text(log: Path) -> None:
    stats = stats_of(log)
    assert stats.events == (
        Counted("Video Played", 2),
        Counted("page_view", 2),
        Counted("share", 1),
    )
    assert stats.categories == (Counted("Sports", 2), Counted("News", 1), Counted("Tech", 1))
    assert stats.has_duration
    assert stats.duration_events == {"Video Played", "page_view"}


def test_generated_names_families_and_reasons(log: Path) -> None:
    specs = generated_specs(stats_of(log))
    assert [s.name for s in specs] == GENERATED
    by = {s.name: s for s in specs}
    assert by["event_video_played_count"].family == "activity"
    assert by["event_video_played_share"].family == "engagement"
    assert by["event_video_played_per_session"].family == "activity"
    assert by["category_news_share"].family == "interest"
    assert by["event_video_played_share"].origin == (
        "event 'Video Played': 2 users, the most common of 3 event names"
    )
    assert by["event_page_view_share"].origin == (
        "event 'page_view': 2 users, 2nd most common of 3 event names "
        "(its count is the built-in 'page_views')"
    )
    assert (
        by["category_news_share"].origin
        == "category 'News': 1 user, 2nd most common of 3 categories"
    )
    assert not any(s.default for s in specs)
    assert all(s.name not in {c.name for c in CATALOG} for s in specs)


def test_funnel_events_share_is_funnel() -> None:
    stats = DataStats(events=(Counted("add_to_cart", 5), Counted("video_play", 3)))
    by = {s.name: s for s in generated_specs(stats)}
    assert by["event_add_to_cart_share"].family == "funnel"
    assert by["event_video_play_share"].family == "engagement"
    assert "event_add_to_cart_count" not in by  # the catalog's add_to_cart
    assert "event_video_play_count" in by


def test_exact_values_on_a_tiny_log(log: Path) -> None:
    specs = generated_specs(stats_of(log))
    table = compute_features(load_events([log]).events, specs)
    assert table.columns == ["user_id", *GENERATED]
    rows = {r["user_id"]: r for r in table.iter_rows(named=True)}
    u1, u2, u3 = rows["u1"], rows["u2"], rows["u3"]
    assert (u1["event_video_played_count"], u2["event_video_played_count"]) == (1, 1)
    assert u3["event_video_played_count"] == 0
    assert u1["event_video_played_share"] == 0.25
    assert u1["event_video_played_per_session"] == 0.5  # 1 play in 2 sessions
    assert u1["event_video_played_avg_duration_s"] == 30.0
    assert u3["event_video_played_avg_duration_s"] is None  # no play
    assert u1["event_page_view_share"] == 0.75
    assert u1["event_page_view_per_session"] == 1.5
    assert u1["event_page_view_avg_duration_s"] == pytest.approx(70 / 3)
    assert u3["event_page_view_avg_duration_s"] is None  # a page view without a duration
    assert (u2["event_share_count"], u2["event_share_share"], u2["event_share_per_session"]) == (
        1,
        0.5,
        1.0,
    )
    # categories: shares among the user's events with a category
    assert u1["top_category_share"] == 0.5  # News 2, Sports 2 of 4
    assert u2["top_category_share"] == 1.0  # the share event has no category
    assert u3["top_category_share"] == 1.0
    assert (u1["category_sports_share"], u1["category_news_share"]) == (0.5, 0.5)
    assert u1["category_tech_share"] == 0.0
    assert u2["category_sports_share"] == 1.0
    assert u3["category_tech_share"] == 1.0
    assert (u1["category_sports_duration_s"], u1["category_news_duration_s"]) == (70.0, 30.0)
    assert u2["category_sports_duration_s"] == 5.0
    assert u3["category_tech_duration_s"] == 0.0  # no duration recorded


def test_the_rest_of_the_categories_beyond_the_cap(log: Path) -> None:
    specs = generated_specs(stats_of(log), event_cap=1, category_cap=2)
    names = [s.name for s in specs]
    assert names == [
        "event_video_played_count",
        "event_video_played_share",
        "event_video_played_per_session",
        "event_video_played_avg_duration_s",
        "top_category_share",
        "category_sports_share",
        "category_sports_duration_s",
        "category_news_share",
        "category_news_duration_s",
        "category_other_share",
    ]
    other = specs[-1]
    assert other.origin == "the 1 category outside the top 2 of 3 categories"
    table = compute_features(load_events([log]).events, specs)
    assert table["category_other_share"].to_list() == [0.0, 0.0, 1.0]


def test_a_category_named_other_and_colliding_events_keep_apart() -> None:
    stats = DataStats(
        events=(Counted("video_played", 4), Counted("Video Played", 4), Counted("[b]x", 1)),
        categories=(Counted("A", 9), Counted("B", 8), Counted("C", 7), Counted("Other", 1)),
    )
    names = [s.name for s in generated_specs(stats, category_cap=4)]
    assert "event_video_played_share" in names and "event_video_played_2_share" in names
    assert "event_b_x_share" in names
    assert "category_other_2_share" in names  # category_other_share is the rest's name


def test_row_order_does_not_change_names(log: Path, tmp_path: Path) -> None:
    lines = LOG.splitlines()
    extra = [
        "u4,2024-01-05T10:00:00Z,Video-Played,s5,sports,1",
        "u4,2024-01-05T10:01:00Z,video played,s5,SPORTS,1",
    ]
    body = lines[1:] + extra
    names = None
    for seed in range(4):
        random.Random(seed).shuffle(body)
        path = tmp_path / f"shuffled{seed}.csv"
        path.write_text("\n".join([lines[0], *body]) + "\n", encoding="utf-8")
        got = [(s.name, s.origin) for s in generated_specs(stats_of(path))]
        assert names is None or got == names
        names = got
    assert names is not None
    named = dict(names)
    assert named["event_video_played_share"].startswith("event 'Video Played'")
    assert named["event_video_played_2_share"].startswith("event 'Video-Played'")
    assert named["event_video_played_3_share"].startswith("event 'video played'")


def test_own_features_win_over_generated(log: Path) -> None:
    specs = generated_specs(stats_of(log), reserved={"event_share_share"})
    names = [s.name for s in specs]
    assert "event_share_share" not in names
    assert "event_share_2_share" in names and "event_share_2_count" in names


def test_generated_specs_round_trip_as_tables(log: Path) -> None:
    for spec in generated_specs(stats_of(log)):
        assert spec_from_dict(spec_to_dict(spec)) == spec


def test_offered_specs_put_catalog_first_and_skip_the_scan_when_not_needed(log: Path) -> None:
    events = load_events([log]).events
    offered = offered_specs(events)
    assert [s.name for s in offered[: len(CATALOG)]] == [s.name for s in CATALOG]
    assert [s.name for s in offered[len(CATALOG) :]] == GENERATED
    assert offered_specs(events, wanted=["events", "revenue"]) == list(CATALOG)


def test_pipeline_offers_generated_and_engagement_features(log: Path) -> None:
    data = load_users([log])
    assert data.features[-len(GENERATED) :] == GENERATED
    for name in ("avg_duration_s", "total_duration_s"):
        assert name in data.features
    assert not any(spec.default for spec in data.specs or [] if spec.name in GENERATED)
    assert data.users.filter(pl.col("user_id") == "u1")["event_video_played_share"].item() == 0.25
