"""Edits as data (one dict round trip, errors that name the key) and the Segmentation methods
that apply them for others: relabelling new users, split labels, refits."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from segtui.segments.edits import (
    AddRule,
    EditDataError,
    Merge,
    RemoveRule,
    Rename,
    Split,
    edit_from_dict,
    edit_to_dict,
)
from segtui.segments.segmentation import Segmentation

USER_IDS = [f"u{i}" for i in range(10)]
LABELS = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3]
FEATURES = ["add_to_cart", "purchases"]


@pytest.fixture
def edited() -> Segmentation:
    seg = Segmentation.from_labels(
        USER_IDS, np.array(LABELS), {0: "Browsers", 1: "Shoppers"}, 3, FEATURES
    )
    return (
        seg.rename(2, "Buyers")
        .merge([1, 2], name="Rest")
        .split(0, [0, 1, 1, 0])
        .add_rule_segment("Carts", "add_to_cart >= 5")
    )


@pytest.mark.parametrize(
    "edit",
    [
        Rename(1, "A"),
        Merge((1, 2), 1, "B"),
        Split(0, (0, 4, 4), ((0, "x"), (4, "y"))),
        AddRule(5, "C", "a > 1"),
        RemoveRule(5),
    ],
)
def test_edit_dict_round_trip(edit) -> None:
    assert edit_from_dict(edit_to_dict(edit)) == edit
    assert next(iter(edit_to_dict(edit))) == "op"


def test_saved_split_without_members_reads_as_empty() -> None:
    edit = edit_from_dict({"op": "split", "segment_id": 0, "names": [[0, "x"], [4, "y"]]})
    assert edit == Split(0, (), ((0, "x"), (4, "y")))
    assert edit.part_ids == [0, 4]


@pytest.mark.parametrize(
    ("data", "key", "what"),
    [
        ({"op": "zap"}, "op", "unknown edit 'zap'"),
        ({"op": "merge", "segment_ids": [1, 2], "name": "x"}, "target_id", "is missing"),
        ({"op": "rename", "segment_id": True, "name": "x"}, "segment_id", "must be an integer"),
        ({"op": "split", "segment_id": 0, "names": [[0]]}, "names[0]", "[id, name] pair"),
        ({"op": "add_rule", "segment_id": 4, "name": "x", "rule": 3}, "rule", "must be text"),
    ],
)
def test_edit_errors_name_the_key(data, key: str, what: str) -> None:
    with pytest.raises(EditDataError) as info:
        edit_from_dict(data)
    assert info.value.key == key and what in info.value.what


def test_relabel_own_users_gives_the_labels(edited: Segmentation, users: pl.DataFrame) -> None:
    split = next(edited.split_labels())
    members = split.cluster_labels[np.asarray(LABELS) == 0]

    def place(index: int, mask: np.ndarray) -> np.ndarray:
        assert index == split.index == 2
        return members[: int(mask.sum())]

    expected = edited.labels(users)
    assert edited.relabel(np.asarray(LABELS), users, place).tolist() == expected.tolist()
    bare = edited.without_users()
    assert bare.relabel(np.asarray(LABELS), users, place).tolist() == expected.tolist()
    assert bare.names == edited.names and bare.history == edited.history
    assert [type(e) for e in bare.edits] == [type(e) for e in edited.edits]


def test_relabel_new_users_may_miss_a_part(edited: Segmentation, users: pl.DataFrame) -> None:
    bare = edited.without_users()
    new_users = users.head(3).with_columns(pl.lit(0).alias("add_to_cart"))
    labels = bare.relabel(np.array([0, 2, 3]), new_users, lambda i, m: np.full(int(m.sum()), 4))
    assert labels.tolist() == [4, 1, 3]  # split part 4, merged into 1, noise stays
    with pytest.raises(Exception, match="place_split"):
        bare.relabel(np.array([0]), new_users.head(1))


def test_split_labels_created_ids_and_next_id(edited: Segmentation) -> None:
    (split,) = edited.split_labels()
    assert split.edit.part_ids == [0, 4]
    assert split.cluster_labels.tolist() == [0, 4, 4, 0, 1, 1, 1, 1, 1, 3]
    assert edited.created_ids == {0, 4, 5}  # split parts include the one keeping its id
    assert edited.next_id == 6
    assert edited.rule_ids == [5]


def test_refit_keeps_rules_and_lists_fit_bound_edits(edited: Segmentation) -> None:
    assert edited.rename(5, "Big carts").fit_bound_history() == [
        "renamed 'Segment 2' to 'Buyers'",
        "merged 'Shoppers' and 'Buyers' into 'Rest'",
        "split 'Browsers' into 'Browsers 1' and 'Browsers 2'",
    ]
    fresh = Segmentation.from_labels(USER_IDS, np.array(LABELS), {0: "Carts"}, features=FEATURES)
    carried = fresh.with_rules_from(edited)
    assert carried.carried == ("Carts 2",)  # the one unique-name rule: "Name 2"
    assert carried.segmentation.names[4] == "Carts 2"
    narrow = Segmentation.from_labels(USER_IDS, np.array(LABELS), features=["purchases"])
    dropped = narrow.with_rules_from(edited)
    assert dropped.carried == () and dropped.dropped[0].startswith("'Carts': ")
