"""Segments within segments: the agglomerative merge tree, cut at any k, as rows to show.

A hierarchical fit keeps its whole merge tree (``ClusterResult.tree``, built by
``segtui.clustering._hierarchical``: scikit-learn/scipy's ``children`` over the fitted sample).
Cutting it at k undoes its last k - 1 merges, which is what scikit-learn does for
``n_clusters=k`` (ward and average linkage merge at rising heights), so :func:`cut_tree` at the
fit's own k gives the fit's partition of the sample, and at another k the partition a refit with
that k would give. :func:`tree_rows` is the top of the tree as an indented list: the merges above
the cut, the segments at the cut, and a few splits below it, each with the k a person would get by
cutting just below that merge.

    >>> tree = {"children": [[0, 1], [2, 3], [4, 5]], "distances": [1.0, 2.0, 9.0],
    ...         "counts": [2, 2, 4], "n_leaves": 4, "leaf_labels": [0, 0, 1, 1]}
    >>> cut_tree(tree, 2).tolist()
    [0, 0, 1, 1]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from segtui.errors import InputError

EXTRA_LEVELS = 4
"""Splits shown below the current cut (so a person can cut at k + 1 .. k + 4 from the tree)."""

MAX_SHOWN = 40
"""Clusters the tree shows at most at its deepest level (a screen, not a full dendrogram)."""


@dataclass(frozen=True)
class TreeRow:
    """One node of the shown tree, indented by ``depth``."""

    depth: int
    node: int
    """Node id in the scipy convention (leaves 0..n-1, merge j is node n + j)."""
    size: int
    """Fitted (sampled) users under this node."""
    share: float
    """``size`` as a share of the fitted users."""
    height: float
    """Merge distance of this node (0 for a single user)."""
    split_k: int | None
    """Segments a cut just below this merge gives: set for the shown merges and for every
    segment at the cut that holds more than one user (its children may not be shown)."""
    segment: int | None
    """Segment id when this node is a segment at the current cut, else None."""
    above_cut: bool
    """A merge the current cut undoes (a group of segments)."""
    last: bool
    """The last child of its parent (for drawing the branch)."""
    branches: tuple[bool, ...] = ()
    """Per ancestor level: does a vertical line continue there (its ancestor has siblings below)."""


def _check(tree: Mapping[str, Any]) -> tuple[np.ndarray, int]:
    children = np.asarray(tree.get("children", []), dtype=np.int64)
    n = int(tree.get("n_leaves", 0))
    if n < 2 or children.shape != (n - 1, 2):
        raise InputError("the merge tree is damaged: refit with the hierarchical algorithm")
    return children, n


def cut_tree(tree: Mapping[str, Any], k: int) -> np.ndarray:
    """Cluster per fitted row when the tree is cut into ``k`` groups (ids by first row)."""
    children, n = _check(tree)
    if not 1 <= k <= n:
        raise InputError(f"the tree holds {n:,} users: cut it into 1 to {n:,} segments, not {k}")
    kept = n - k  # merges 0..kept-1 stay done
    root = np.arange(2 * n - 1, dtype=np.int64)
    for j in range(kept - 1, -1, -1):  # top-down: a merge's children take its root
        node = n + j
        top = root[node]
        a, b = children[j]
        root[a] = top
        root[b] = top
    _, first, inverse = np.unique(root[:n], return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse].astype(np.int64)


def segment_at(tree: Mapping[str, Any], k: int) -> dict[int, int]:
    """Cluster of :func:`cut_tree` -> the fit's segment id (the leaves' label), at the fit's k."""
    groups = cut_tree(tree, k)
    labels = np.asarray(tree.get("leaf_labels", []), dtype=np.int64)
    if labels.shape != groups.shape:
        return {}
    out: dict[int, int] = {}
    for group in range(k):
        values, counts = np.unique(labels[groups == group], return_counts=True)
        out[group] = int(values[np.argmax(counts)])
    return out


def tree_rows(tree: Mapping[str, Any], k: int, extra: int = EXTRA_LEVELS) -> list[TreeRow]:
    """The top of the merge tree cut at ``k``: merges above the cut, the ``k`` segments, and the
    splits inside them down to ``k + extra`` clusters (at most :data:`MAX_SHOWN`), depth first."""
    children, n = _check(tree)
    if not 1 <= k <= n:
        raise InputError(f"the tree holds {n:,} users: cut it into 1 to {n:,} segments, not {k}")
    counts = np.asarray(tree.get("counts", []), dtype=np.int64)
    distances = np.asarray(tree.get("distances", []), dtype=np.float64)
    shown = min(n, max(k, min(MAX_SHOWN, k + extra)))
    first_shown = n - shown  # merges from here on are drawn as nodes with children
    groups = cut_tree(tree, k)
    segment_of = _segment_of_nodes(tree, children, n, k, groups)

    def size(node: int) -> int:
        return 1 if node < n else int(counts[node - n]) if counts.size else 0

    rows: list[TreeRow] = []
    stack: list[tuple[int, int, bool, tuple[bool, ...]]] = [(2 * n - 2, 0, True, ())]
    while stack:
        node, depth, last, branches = stack.pop()
        j = node - n
        expands = j >= first_shown
        rows.append(
            TreeRow(
                depth=depth,
                node=node,
                size=size(node),
                share=size(node) / n,
                height=float(distances[j]) if j >= 0 and distances.size else 0.0,
                split_k=n - j if expands or (j >= 0 and node in segment_of) else None,
                segment=segment_of.get(node),
                above_cut=j >= n - k,
                last=last,
                branches=branches,
            )
        )
        if expands:
            a, b = (int(c) for c in children[j])
            first, second = sorted((a, b), key=lambda c: (-size(c), c))
            below = (*branches, not last) if depth > 0 else branches
            stack.append((second, depth + 1, True, below))
            stack.append((first, depth + 1, False, below))
    return rows


def _segment_of_nodes(
    tree: Mapping[str, Any], children: np.ndarray, n: int, k: int, groups: np.ndarray
) -> dict[int, int]:
    """Node id -> segment id for the ``k`` nodes that are the segments at the cut."""
    tops: dict[int, int] = {}
    kept = n - k
    done = {n + j for j in range(kept)}
    for j in range(kept, n - 1):  # merges the cut undoes: their done children are segments
        for child in children[j]:
            c = int(child)
            if c < n or c in done:
                tops[c] = -1
    if k == 1:
        tops = {2 * n - 2: -1}
    to_segment = segment_at(tree, k) if tree.get("leaf_labels") is not None else {}
    leaf_of = {node: _a_leaf(children, n, node) for node in tops}
    return {
        node: to_segment.get(int(groups[leaf]), int(groups[leaf])) for node, leaf in leaf_of.items()
    }


def _a_leaf(children: np.ndarray, n: int, node: int) -> int:
    while node >= n:
        node = int(children[node - n][0])
    return node


def tree_text(
    rows: list[TreeRow],
    names: Mapping[int, str],
    sizes: Mapping[int, int] | None = None,
) -> list[str]:
    """Plain lines of :func:`tree_rows`: branches, sizes, and what cutting there gives."""
    return [row_text(row, names, sizes) for row in rows]


def row_text(row: TreeRow, names: Mapping[int, str], sizes: Mapping[int, int] | None) -> str:
    """One row: the branch drawing, then the node (a segment by name, a merge by its k)."""
    prefix = "".join("│ " if more else "  " for more in row.branches)
    if row.depth > 0:
        prefix += "└ " if row.last else "├ "
    share = f"{row.share:.0%}"
    if row.segment is not None:
        name = names.get(row.segment, f"Segment {row.segment}")
        users = f"{sizes[row.segment]:,} users, " if sizes and row.segment in sizes else ""
        text = f"[{row.segment}] {name} ({users}{share})"
        if row.split_k is not None:
            text += f" · splits at k={row.split_k}"
        return prefix + text
    if row.split_k is None:
        return prefix + f"{share} ({row.size:,} fitted users)"
    if row.depth == 0:
        return prefix + f"All fitted users ({row.size:,}) · splits at k={row.split_k}"
    return prefix + f"{share} ({row.size:,}) · splits at k={row.split_k}"


def tree_report(
    tree: Mapping[str, Any],
    k: int,
    names: Mapping[int, str],
    sizes: Mapping[int, int] | None = None,
    users: int | None = None,
) -> list[str]:
    """The tree as the CLI prints it: a heading saying what it covers, then :func:`tree_text`."""
    fitted = int(tree.get("n_leaves", 0))
    who = (
        f"a sample of {fitted:,} of {users:,} users"
        if users is not None and fitted < users
        else f"all {fitted:,} users"
    )
    linkage = tree.get("linkage", "")
    heading = f"merge tree ({linkage} linkage) of {who}, cut at k={k}:"
    hint = "  (to cut elsewhere, run again with -k N: the same seed gives the same tree)"
    return [heading, *(f"  {line}" for line in tree_text(tree_rows(tree, k), names, sizes)), hint]
