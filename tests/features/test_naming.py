"""The naming rule for generated features: exact ids for awkward texts, collisions, keywords."""

from __future__ import annotations

import hashlib
import random
import re

import pytest

from segtui.features.catalog import CATALOG
from segtui.features.naming import MAX_ID_LENGTH, RULE_KEYWORDS, assign_identifiers, identifier
from segtui.segments.rules import KEYWORDS, parse_rule


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Order Completed", "order_completed"),
        ("electronics.smartphone", "electronics_smartphone"),
        ("Video Played", "video_played"),
        ("video_play", "video_play"),
        ("[bold]x", "bold_x"),
        ("[red]Sale[/red]!", "red_sale_red"),
        ("Café Crème", "cafe_creme"),
        ("Ünïcödé—Naïve", "unicode_naive"),
        ("東京 Tower", "tower"),
        ("  --Sign-Up!!  ", "sign_up"),
        ("page/view?id=3", "page_view_id_3"),
        ("404", "x_404"),
        ("3d printing", "x_3d_printing"),
        ("Not", "x_not"),
        ("and", "x_and"),
        ("NULL", "x_null"),
        ("nothing", "nothing"),  # a keyword inside a word is no keyword
        ("a" * 32, "a" * 32),
    ],
)
def test_exact_identifiers(text: str, expected: str) -> None:
    assert identifier(text) == expected


def test_nothing_usable_is_a_stable_hash() -> None:
    assert identifier("日本") == "x_" + sha1("日本")[:8]
    assert identifier("!!!") == "x_" + sha1("!!!")[:8]
    assert identifier("") == "x_" + sha1("")[:8]
    assert identifier("日本") != identifier("中国")


def test_long_texts_are_bounded_with_a_hash_of_the_raw_text() -> None:
    long_a = "Some Very Long Event Name That Goes On And On (variant A)"
    long_b = "Some Very Long Event Name That Goes On And On (variant B)"
    assert identifier(long_a) == "some_very_long_event_name_" + sha1(long_a)[:6]
    assert len(identifier(long_a)) == MAX_ID_LENGTH
    assert identifier(long_a) != identifier(long_b)
    # a cut that ends on "_" is trimmed before the hash
    assert identifier("a" * 24 + " b" * 10) == "a" * 24 + "_" + sha1("a" * 24 + " b" * 10)[:6]


def test_keywords_are_the_rule_languages() -> None:
    assert RULE_KEYWORDS == KEYWORDS


@pytest.mark.parametrize("text", ["Order Completed", "404", "or", "日本", "[bold]x", "x" * 80])
def test_every_identifier_is_a_rule_name_and_a_plain_sql_name(text: str) -> None:
    ident = identifier(text)
    assert re.fullmatch(r"[a-z][a-z0-9_]*", ident)
    assert parse_rule(f"{ident} > 0").features_used == (ident,)


def test_collisions_are_resolved_by_sorted_raw_text_whatever_the_order() -> None:
    texts = ["video_played", "Video Played", "VIDEO-PLAYED", "share", "Share!"]
    expected = {
        "VIDEO-PLAYED": "video_played",
        "Video Played": "video_played_2",
        "video_played": "video_played_3",
        "Share!": "share",
        "share": "share_2",
    }
    rng = random.Random(0)
    for _ in range(10):
        rng.shuffle(texts)
        assert dict(assign_identifiers(texts)) == expected


def test_a_suffix_never_takes_a_name_another_text_has_naturally() -> None:
    got = assign_identifiers(["a b", "a_b", "a_b_2"])
    assert dict(got) == {"a b": "a_b", "a_b": "a_b_2", "a_b_2": "a_b_2_2"}
    assert len(set(got.values())) == 3


def test_built_in_names_win() -> None:
    catalog = {spec.name for spec in CATALOG}
    got = assign_identifiers(["Events", "revenue", "weird"], catalog)
    assert dict(got) == {"Events": "events_2", "revenue": "revenue_2", "weird": "weird"}
    # with feature names built from the id, any taken name moves the id on
    got = assign_identifiers(
        ["Video Played"],
        {"event_video_played_share"},
        lambda i: (f"event_{i}_count", f"event_{i}_share"),
    )
    assert dict(got) == {"Video Played": "video_played_2"}
