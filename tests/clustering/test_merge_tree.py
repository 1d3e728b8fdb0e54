"""The merge tree of a hierarchical fit: cuts reproduce fits, rows show the segments at the cut."""

from __future__ import annotations

import numpy as np
import pytest

from segtui.clustering.fit import fit_clusters
from segtui.clustering.merge_tree import cut_tree, segment_at, tree_rows, tree_text
from segtui.clustering.specs import FitSpec
from segtui.errors import InputError


def _blobs(sizes=(100, 80, 60, 40, 20), seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(len(sizes), 4)) * 10
    return np.repeat(centers, sizes, axis=0) + rng.normal(size=(sum(sizes), 4))


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Each group of ``a`` is exactly one group of ``b`` (labels may differ)."""
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("linkage", ["ward", "average"])
def test_cut_at_k_is_the_fit_and_another_cut_is_that_k_s_fit(linkage: str) -> None:
    X = _blobs()
    fit3 = fit_clusters(X, FitSpec("agglomerative", {"k": 3, "linkage": linkage}))
    fit5 = fit_clusters(X, FitSpec("agglomerative", {"k": 5, "linkage": linkage}))
    tree = fit3.tree
    assert _same_partition(cut_tree(tree, 3), fit3.labels)
    assert _same_partition(cut_tree(tree, 5), fit5.labels)
    assert not _same_partition(cut_tree(tree, 4), fit5.labels)
    assert len(set(cut_tree(tree, 4).tolist())) == 4
    # the clusters of the cut at the fit's k carry the fit's own segment ids
    groups = cut_tree(tree, 3)
    to_segment = segment_at(tree, 3)
    assert np.array_equal(np.array([to_segment[g] for g in groups]), fit3.labels)


def test_cut_on_a_sample_matches_the_sampled_labels() -> None:
    X = _blobs(sizes=(300, 200, 100))
    fit = fit_clusters(X, FitSpec("agglomerative", {"k": 3}, sample_size=150))
    tree = fit.tree
    assert tree["n_leaves"] == 150
    rows = np.asarray(tree["leaf_rows"])
    assert _same_partition(cut_tree(tree, 3), fit.labels[rows])


def test_rows_show_merges_above_the_cut_and_the_segments_at_it() -> None:
    # Four leaves: (0,1) at 1, (2,3) at 2, both at 9: cut at 2 gives {0,1} and {2,3}.
    tree = {
        "children": [[0, 1], [2, 3], [4, 5]],
        "distances": [1.0, 2.0, 9.0],
        "counts": [2, 2, 4],
        "n_leaves": 4,
        "leaf_labels": [1, 1, 0, 0],
    }
    rows = tree_rows(tree, 2, extra=1)
    assert [(r.depth, r.segment, r.split_k, r.above_cut) for r in rows] == [
        (0, None, 2, True),
        (1, 1, 4, False),  # a segment is cut at its own merge even when not expanded
        (1, 0, 3, False),
        (2, None, None, False),
        (2, None, None, False),
    ]
    text = tree_text(rows, {0: "Buyers", 1: "[b]Browsers[/b]"}, {0: 70, 1: 30})
    assert text[0] == "All fitted users (4) · splits at k=2"
    assert text[1] == "├ [1] [b]Browsers[/b] (30 users, 50%) · splits at k=4"
    assert text[2] == "└ [0] Buyers (70 users, 50%) · splits at k=3"
    assert text[3] == "  ├ 25% (1 fitted users)"
    assert sum(r.segment is not None for r in tree_rows(tree, 3)) == 3


def test_tree_rows_of_a_real_fit_list_every_segment_once() -> None:
    fit = fit_clusters(_blobs(), FitSpec("agglomerative", {"k": 4}))
    rows = tree_rows(fit.tree, 4)
    assert sorted(r.segment for r in rows if r.segment is not None) == [0, 1, 2, 3]
    merges = {r.split_k for r in rows if r.split_k is not None and r.segment is None}
    assert merges == set(range(2, 9)) - {r.split_k for r in rows if r.segment is not None}
    # every segment can be split from the tree: the cut just below its own merge
    assert all(r.split_k is not None and r.split_k > 4 for r in rows if r.segment is not None)


def test_bad_cuts_are_refused() -> None:
    fit = fit_clusters(_blobs(), FitSpec("agglomerative", {"k": 3}))
    with pytest.raises(InputError, match="1 to 300"):
        cut_tree(fit.tree, 301)
    with pytest.raises(InputError, match="damaged"):
        cut_tree({"children": [[0, 1]], "n_leaves": 5}, 2)
