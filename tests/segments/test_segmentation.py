"""Segmentation: each edit's exact result, undo/redo, history, JSON, and undo/redo properties."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segtui.errors import InputError
from segtui.segments.edits import Merge, Rename
from segtui.segments.rules import RuleError
from segtui.segments.segmentation import Segmentation, SegmentInfo

USER_IDS = [f"u{i}" for i in range(10)]
#            u0 u1 u2 u3 u4 u5 u6 u7 u8 u9
LABELS = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3]
NAMES = {0: "Browsers", 1: "Window shoppers", 2: "Buyers"}


@pytest.fixture
def seg() -> Segmentation:
    return Segmentation.from_labels(
        USER_IDS, np.array(LABELS), NAMES, noise_id=3, features=["add_to_cart", "purchases"]
    )


def summary(infos: list[SegmentInfo]) -> list[tuple[int, str, str, int]]:
    return [(i.id, i.name, i.kind, i.size) for i in infos]


# ---- construction --------------------------------------------------------------------------


def test_from_labels_segments(seg: Segmentation) -> None:
    assert seg.segments() == [
        SegmentInfo(0, "Browsers", "cluster", (0,), None, 4),
        SegmentInfo(1, "Window shoppers", "cluster", (1,), None, 3),
        SegmentInfo(2, "Buyers", "cluster", (2,), None, 2),
        SegmentInfo(3, "Noise (unassigned)", "noise", (3,), None, 1),
    ]
    assert seg.labels().tolist() == LABELS
    assert seg.history == []
    assert not seg.can_undo and not seg.can_redo


def test_from_labels_default_and_duplicate_names() -> None:
    s = Segmentation.from_labels(["a", "b", "c"], [0, 1, 2], {0: "X", 1: "X"})
    assert s.names == {0: "X", 1: "X 2", 2: "Segment 2"}


def test_from_labels_rejects_bad_input() -> None:
    with pytest.raises(InputError, match="differ in length"):
        Segmentation.from_labels(["a", "b"], [0])
    with pytest.raises(InputError, match="unique"):
        Segmentation.from_labels(["a", "a"], [0, 1])
    with pytest.raises(InputError, match="integers"):
        Segmentation.from_labels(["a", "b"], [0.5, 1.0])


def test_noise_segment_listed_last_after_new_ids(seg: Segmentation, users: pl.DataFrame) -> None:
    s = seg.add_rule_segment("Heavy carts", "add_to_cart >= 5")
    assert s.segment_ids == [0, 1, 2, 4, 3]


# ---- rename --------------------------------------------------------------------------------


def test_rename(seg: Segmentation) -> None:
    s = seg.rename(2, "  Loyal   buyers ")
    assert s.names[2] == "Loyal buyers"
    assert s.history == ["renamed 'Buyers' to 'Loyal buyers'"]
    assert s.labels().tolist() == LABELS
    assert seg.names[2] == "Buyers"  # the original is untouched


def test_rename_refusals(seg: Segmentation) -> None:
    with pytest.raises(InputError, match="already used by segment 0"):
        seg.rename(2, "Browsers")
    with pytest.raises(InputError, match="empty"):
        seg.rename(2, "   ")
    with pytest.raises(InputError, match="no segment with id 9") as info:
        seg.rename(9, "X")
    assert info.value.hint == "Segment ids: 0, 1, 2, 3."
    assert seg.rename(2, "Buyers").names[2] == "Buyers"  # same name on itself is fine


# ---- merge ---------------------------------------------------------------------------------


def test_merge_keeps_smallest_id_and_its_name(seg: Segmentation) -> None:
    s = seg.merge([1, 0])
    assert s.labels().tolist() == [0, 0, 0, 0, 0, 0, 0, 2, 2, 3]
    assert s.history == ["merged 'Browsers' and 'Window shoppers' into 'Browsers'"]
    assert s.segments()[0] == SegmentInfo(0, "Browsers", "merged", (0, 1), None, 7)
    assert s.segment_ids == [0, 2, 3]
    assert s.edits == (Merge((0, 1), 0, "Browsers"),)


def test_merge_three_with_name_and_into(seg: Segmentation) -> None:
    s = seg.merge([0, 1, 2], name="Everyone", into=2)
    assert s.labels().tolist() == [2] * 9 + [3]
    assert s.history == ["merged 'Buyers', 'Browsers' and 'Window shoppers' into 'Everyone'"]
    assert summary(s.segments()) == [
        (2, "Everyone", "merged", 9),
        (3, "Noise (unassigned)", "noise", 1),
    ]


def test_merge_noise_into_cluster(seg: Segmentation) -> None:
    s = seg.merge([3, 2])
    assert s.labels().tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert s.names[2] == "Buyers"


def test_noise_is_never_the_default_merge_target(seg: Segmentation) -> None:
    s = seg.split(0, [0, 1, 1, 1]).merge([3, 4])
    # split part 4 absorbs the noise (id 3) although 3 is smaller
    assert s.labels().tolist() == [4, 0, 0, 0, 1, 1, 1, 2, 2, 4]
    assert s.names[4] == "Browsers 2" and s.segment_ids == [0, 1, 2, 4]
    assert seg.merge([3, 2], into=3).segment_ids == [0, 1, 3]


def test_merge_refusals(seg: Segmentation) -> None:
    with pytest.raises(InputError, match="two or more"):
        seg.merge([1])
    with pytest.raises(InputError, match="two or more"):
        seg.merge([1, 1])
    with pytest.raises(InputError, match="not one of"):
        seg.merge([0, 1], into=2)
    with pytest.raises(InputError, match="no segment with id 7"):
        seg.merge([0, 7])
    ruled = seg.add_rule_segment("Carts", "add_to_cart > 4")
    with pytest.raises(InputError, match="rule segment 'Carts' cannot be merged"):
        ruled.merge([0, 4])


# ---- split ---------------------------------------------------------------------------------


def test_split_largest_part_keeps_id(seg: Segmentation) -> None:
    members = seg.members(0)
    assert np.flatnonzero(members).tolist() == [0, 1, 2, 3]
    s = seg.split(0, np.array([7, 5, 5, 5]))
    # sub-label 5 (3 members) keeps id 0; sub-label 7 gets the next id, 4.
    assert s.labels().tolist() == [4, 0, 0, 0, 1, 1, 1, 2, 2, 3]
    assert summary(s.segments()) == [
        (0, "Browsers 1", "split", 3),
        (1, "Window shoppers", "cluster", 3),
        (2, "Buyers", "cluster", 2),
        (4, "Browsers 2", "split", 1),
        (3, "Noise (unassigned)", "noise", 1),
    ]
    assert s.segments()[0].source_ids == (0,)
    assert s.history == ["split 'Browsers' into 'Browsers 1' and 'Browsers 2'"]


def test_split_with_names_and_ties_by_sub_label(seg: Segmentation) -> None:
    s = seg.split(0, [1, 0, 1, 0], names={0: "Deep browsers", 1: "Quick browsers"})
    # equal sizes: the smaller sub-label (0) keeps the id.
    assert s.labels().tolist()[:4] == [4, 0, 4, 0]
    assert s.names[0] == "Deep browsers" and s.names[4] == "Quick browsers"


def test_split_then_merge_parts_back(seg: Segmentation) -> None:
    s = seg.split(0, [0, 1, 1, 0]).merge([0, 4], name="Browsers")
    assert s.labels().tolist() == LABELS
    assert s.names[0] == "Browsers"


def test_split_refusals(seg: Segmentation) -> None:
    with pytest.raises(InputError, match="got 3 for 4 members"):
        seg.split(0, [0, 1, 1])
    with pytest.raises(InputError, match="at least two groups"):
        seg.split(0, [1, 1, 1, 1])
    with pytest.raises(InputError, match="already used"):
        seg.split(0, [0, 1, 1, 0], names={0: "Buyers"})
    ruled = seg.add_rule_segment("Carts", "add_to_cart > 4")
    with pytest.raises(InputError, match="rule segment"):
        ruled.split(4, [0, 1])


# ---- rules ---------------------------------------------------------------------------------


def test_rule_segment_takes_precedence(seg: Segmentation, users: pl.DataFrame) -> None:
    s = seg.add_rule_segment("Cart abandoners", "add_to_cart >= 3 and purchases == 0")
    assert s.labels(users).tolist() == [0, 4, 0, 0, 1, 4, 1, 2, 2, 4]
    info = s.segments(users)[3]
    assert info == SegmentInfo(
        4, "Cart abandoners", "rule", (), "add_to_cart >= 3 and purchases == 0", 3
    )
    assert s.history == [
        "added rule segment 'Cart abandoners': add_to_cart >= 3 and purchases == 0"
    ]


def test_segments_count_the_labels_given(seg: Segmentation, users: pl.DataFrame) -> None:
    s = seg.add_rule_segment("Cart abandoners", "add_to_cart >= 3 and purchases == 0")
    labels = s.labels(users)
    assert s.segments(users, labels) == s.segments(users)
    # the sizes come from the labels passed in, not from evaluating the rules again
    assert [i.size for i in s.segments(labels=np.zeros(10, dtype=np.int64))] == [10, 0, 0, 0, 0]


def test_first_added_rule_wins(seg: Segmentation, users: pl.DataFrame) -> None:
    s = seg.add_rule_segment("Carts", "add_to_cart >= 5").add_rule_segment(
        "Non buyers", "purchases == 0"
    )
    assert s.labels(users).tolist() == [5, 4, 5, 0, 5, 5, 5, 4, 2, 4]
    sizes = {i.name: i.size for i in s.segments(users)}
    assert sizes == {
        "Browsers": 1,
        "Window shoppers": 0,
        "Buyers": 1,
        "Carts": 3,
        "Non buyers": 5,
        "Noise (unassigned)": 0,
    }


def test_remove_rule_segment(seg: Segmentation, users: pl.DataFrame) -> None:
    s = seg.add_rule_segment("Carts", "add_to_cart >= 5").remove_rule_segment(4)
    assert s.labels(users).tolist() == LABELS
    assert s.labels().tolist() == LABELS  # no rules left: no users table needed
    assert s.history[-1] == "removed rule segment 'Carts'"
    with pytest.raises(InputError, match="not a rule segment"):
        seg.remove_rule_segment(0)


def test_rule_ids_are_fresh_after_split(seg: Segmentation) -> None:
    s = seg.split(0, [0, 1, 1, 1]).add_rule_segment("Carts", "add_to_cart >= 5")
    assert s.segment_ids == [0, 1, 2, 4, 5, 3]


def test_rule_errors_and_needs_users(seg: Segmentation, users: pl.DataFrame) -> None:
    with pytest.raises(RuleError) as info:
        seg.add_rule_segment("Bad", "add_to_crt >= 3")
    assert info.value.hint == "Did you mean 'add_to_cart'?"
    s = seg.add_rule_segment("Carts", "add_to_cart >= 5")
    with pytest.raises(InputError, match="pass the users table"):
        s.labels()
    with pytest.raises(InputError, match="same users"):
        s.labels(users.head(5))


def test_users_table_in_other_order_is_aligned(seg: Segmentation, users: pl.DataFrame) -> None:
    s = seg.add_rule_segment("Carts", "add_to_cart >= 5")
    assert s.labels(users.reverse()).tolist() == s.labels(users).tolist()


# ---- undo / redo ---------------------------------------------------------------------------


def test_undo_redo(seg: Segmentation) -> None:
    a = seg.rename(0, "A")
    b = a.merge([0, 1])
    assert b.undo_text == "merged 'A' and 'Window shoppers' into 'A'"
    u = b.undo()
    assert u == a and u.labels().tolist() == LABELS
    assert u.can_redo and u.redo_text == "merged 'A' and 'Window shoppers' into 'A'"
    r = u.redo()
    assert r == b and not r.can_redo
    assert r.history == b.history
    assert u.undo() == seg and u.undo().undone == (b.edits[1], b.edits[0])
    # a new edit clears the redo stack
    assert not u.rename(2, "C").can_redo


def test_nothing_to_undo_or_redo(seg: Segmentation) -> None:
    with pytest.raises(InputError, match="nothing to undo"):
        seg.undo()
    with pytest.raises(InputError, match="nothing to redo"):
        seg.redo()
    assert seg.undo_text is None and seg.redo_text is None


# ---- JSON ----------------------------------------------------------------------------------


def test_json_round_trip(seg: Segmentation, users: pl.DataFrame) -> None:
    s = (
        seg.merge([0, 1], name="Visitors")
        .rename(2, "Loyal")
        .split(0, [0, 1, 0, 1, 0, 1, 1])
        .add_rule_segment("Carts", "add_to_cart >= 5")
        .add_rule_segment("Heavy buyers", "purchases >= 3")
        .remove_rule_segment(5)
        .rename(4, "Visitors B")
        .undo()
    )
    text = json.dumps(s.to_dict())
    back = Segmentation.from_dict(json.loads(text))
    assert back == s
    assert back.undone == s.undone == (Rename(4, "Visitors B"),)
    assert back.labels(users).tolist() == s.labels(users).tolist()
    assert back.segments(users) == s.segments(users)
    assert back.history == s.history
    assert back.redo() == s.redo()
    data = json.loads(text)
    assert data["labels"] == LABELS and data["user_ids"] == USER_IDS
    assert data["edits"][0] == {
        "op": "merge",
        "segment_ids": [0, 1],
        "target_id": 0,
        "name": "Visitors",
    }


def test_from_dict_refuses_damaged_data(seg: Segmentation) -> None:
    good = seg.merge([0, 1]).to_dict()
    with pytest.raises(InputError, match="format marker"):
        Segmentation.from_dict({"labels": []})
    with pytest.raises(InputError, match="newer segtui"):
        Segmentation.from_dict({**good, "version": 99})
    with pytest.raises(InputError, match="damaged"):
        Segmentation.from_dict({**good, "labels": ["x"]})
    with pytest.raises(InputError, match="no segment with id 8"):
        Segmentation.from_dict({**good, "edits": [{"op": "rename", "segment_id": 8, "name": "x"}]})
    with pytest.raises(InputError, match="unknown edit"):
        Segmentation.from_dict({**good, "edits": [{"op": "explode"}]})
    with pytest.raises(InputError, match="differ in length"):
        Segmentation.from_dict({**good, "labels": [0, 1]})


# ---- properties ----------------------------------------------------------------------------

FEATURE_NAMES = ["add_to_cart", "purchases"]


@st.composite
def base_and_users(draw: st.DrawFn) -> tuple[Segmentation, pl.DataFrame]:
    n = draw(st.integers(4, 14))
    labels = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    noise = draw(st.sampled_from([None, 3]))
    ids = [f"u{i:02d}" for i in range(n)]
    users = pl.DataFrame(
        {
            "user_id": ids,
            "add_to_cart": draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)),
            "purchases": draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)),
        }
    )
    seg = Segmentation.from_labels(ids, labels, {0: "A", 1: "B"}, noise, FEATURE_NAMES)
    return seg, users


RULES = ["add_to_cart >= 3", "purchases == 0", "add_to_cart > 2 and not purchases > 1"]


def random_edit(data: st.DataObject, seg: Segmentation) -> Segmentation:
    """One valid edit drawn against the current state (refused ones are redrawn by caller)."""
    ids = seg.segment_ids
    op = data.draw(st.sampled_from(["rename", "merge", "split", "add_rule", "remove_rule"]))
    if op == "rename" or (op == "merge" and len(ids) < 2):
        return seg.rename(
            data.draw(st.sampled_from(ids)),
            data.draw(st.sampled_from(["X", "Y", "Z", "W", "V", "Q"])),
        )
    if op == "merge" and len(ids) >= 2:
        chosen = data.draw(st.lists(st.sampled_from(ids), min_size=2, max_size=3, unique=True))
        name = data.draw(st.none() | st.sampled_from(["M", "N"]))
        return seg.merge(chosen, name=name)
    if op == "split":
        sid = data.draw(st.sampled_from(ids))
        count = int(seg.members(sid).sum())
        sub = data.draw(st.lists(st.integers(0, 2), min_size=count, max_size=count))
        return seg.split(sid, np.array(sub, dtype=np.int64))
    if op == "add_rule":
        return seg.add_rule_segment(
            data.draw(st.sampled_from("RSTU")), data.draw(st.sampled_from(RULES))
        )
    rule_ids = [i for i in ids if seg.rule(i) is not None]
    return seg.remove_rule_segment(data.draw(st.sampled_from(rule_ids or ids)))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), base_and_users())
def test_undo_all_gives_original_and_redo_all_gives_edited(
    data: st.DataObject, start: tuple[Segmentation, pl.DataFrame]
) -> None:
    original, users = start
    seg = original
    snapshots = [(seg, seg.labels(users).tolist(), seg.segments(users), seg.history)]
    for _ in range(data.draw(st.integers(0, 8))):
        before = seg
        try:
            seg = random_edit(data, seg)
        except InputError:
            assert seg == before  # a refused edit changes nothing
            continue
        labels = seg.labels(users)
        infos = seg.segments(users)
        assert set(labels.tolist()) <= set(seg.segment_ids)
        assert sum(i.size for i in infos) == users.height
        assert len({i.name for i in infos}) == len(infos)  # names stay unique
        snapshots.append((seg, labels.tolist(), infos, seg.history))
    edited = seg
    # undo step by step: each step gives back the state before that edit
    for expected, labels, infos, history in reversed(snapshots[:-1]):
        seg = seg.undo()
        assert seg == expected
        assert seg.labels(users).tolist() == labels
        assert seg.segments(users) == infos
        assert seg.history == history
    assert seg == original and not seg.can_undo
    assert seg.labels(users).tolist() == original.labels(users).tolist()
    # redo everything: back to the edited one
    for expected, labels, infos, history in snapshots[1:]:
        seg = seg.redo()
        assert seg == expected
        assert seg.labels(users).tolist() == labels
        assert seg.segments(users) == infos
        assert seg.history == history
    assert seg == edited and not seg.can_redo
    # and the edited one survives JSON
    back = Segmentation.from_dict(json.loads(json.dumps(edited.to_dict())))
    assert back == edited
    assert back.labels(users).tolist() == edited.labels(users).tolist()
    assert dataclasses.asdict(back) == dataclasses.asdict(edited)
