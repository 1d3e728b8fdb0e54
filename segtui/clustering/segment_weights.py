"""Feature weights learned from the segments: each counts by how tightly the segments hold it.

Standardising gives every feature the same spread over *all* users, so a feature that is pure
noise (a calendar share that no group owns) pulls as hard as one that splits the users into tight
groups (time on page: skimmers at 10 s, deep readers at 3 min). K-Means alone cannot tell them
apart. This is the classification-EM answer for a Gaussian mixture with one diagonal covariance
shared by every segment: fit, measure each feature's pooled spread *within* the segments against
its spread across users, scale each feature by one over that ratio, refit from the segments'
centres, and repeat until no user moves (:data:`STOCHASTIC_MOVED` for MiniBatch). A feature
the segments hold tightly gains weight; one that is as spread inside each segment as across all
users loses it.

One guard keeps it honest on behaviour logs: a point mass (zero add-to-carts, a fill for "never
bought") makes every segment of non-buyers look perfectly tight on money features. When one value
holds more than :data:`POINT_MASS` of the users, the users at that value are left out of both
spreads of that feature. Without it (the within spread alone, the mass left in or out) the
weights chase the point masses: on the shop world the ARI fell 0.58 -> 0.29.

Measured (README, "How segtui prepares features", step 8): over six planted worlds and three
world draws the mean ARI of K-Means at the true k rose 0.672 -> 0.696, 0.677 -> 0.703 and
0.660 -> 0.690 (content +0.07-0.10, transactions +0.04-0.05, shop -0.002 to -0.011); the bundled
sample 0.900 -> 0.912.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> tight = np.repeat([0.0, 4.0], 50) + rng.normal(0, 0.3, 100)
    >>> X = np.column_stack([tight, rng.normal(0, 1, 100)])
    >>> w = within_segment_weights(X, np.repeat([0, 1], 50))
    >>> bool(w[0] > 3 * w[1])
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from segtui.clustering.control import Progress, ShouldStop, check_stop, report
from segtui.clustering.fit import ClusterResult, fit_clusters
from segtui.clustering.kernels import segment_means
from segtui.clustering.registry import ALGORITHMS
from segtui.clustering.specs import FitSpec

POINT_MASS = 0.2
"""A value held by more than this share of the users is a point mass, left out of the spreads."""

MAX_ROUNDS = 8
"""Refits at most; on the worlds measured and the sample the segments settled in three to seven."""

WEIGHT_RANGE = (0.05, 20.0)
"""Weights are clipped to this range (before scaling to a mean square of 1): a feature constant
within every segment would otherwise take all the say."""

STOCHASTIC_MOVED = 0.001
"""MiniBatch K-Means draws its batches at random, so some users move on every refit: it has
settled when fewer than this share of the users moved (K-Means: when none did)."""

REWEIGHTED_ALGORITHMS = tuple(name for name, info in ALGORITHMS.items() if info.continues)
"""The algorithms a reweighted refit continues from the segments' centres."""


MODE_SAMPLE = 100_000
"""Rows a column's most common value is looked for in (evenly spaced; its share is then counted
over every row): sorting 30 columns of 1M users took 2.4 s of a 14 s loop."""


def point_mass_rows(X: np.ndarray) -> list[np.ndarray | None]:
    """Per column, the rows off its point mass (None: no value holds :data:`POINT_MASS`).

    The mode does not depend on the segments, so the loop finds it once.
    """
    n = len(X)
    step = max(1, n // MODE_SAMPLE)
    out: list[np.ndarray | None] = []
    for j in range(X.shape[1]):
        values, counts = np.unique(X[::step, j], return_counts=True)
        top = values[int(counts.argmax())]
        off = X[:, j] != top
        mass = n - int(off.sum()) > max(POINT_MASS * n, 1)  # one user is no mass
        out.append(off if mass else None)
    return out


def within_segment_ratio(
    X: np.ndarray,
    labels: np.ndarray,
    noise_id: int | None = None,
    rows: Sequence[np.ndarray | None] | None = None,
) -> np.ndarray:
    """Per column, its pooled spread within the segments over its spread across the users.

    Both are measured on the users off the column's point mass (``rows``, from
    :func:`point_mass_rows`, computed when not given), so a mass of zeros neither makes the
    segments look tight nor the users look spread. 1: the segments do not hold the feature at
    all; near 0: each segment holds it at one value. Noise users (``noise_id``) are left out.
    """
    rows = point_mass_rows(X) if rows is None else rows
    real = None if noise_id is None else labels != noise_id
    n, s1, s2 = _segment_sums(X, labels, rows, real)
    out = np.ones(X.shape[1], dtype=np.float64)
    for j in range(X.shape[1]):
        ratio = _spread_ratio(n[:, j], s1[:, j], s2[:, j])
        if np.isfinite(ratio):
            out[j] = ratio
    return out


BLOCK = 65_536
"""Users summed at a time: a block's one-hot segments times its rows is one BLAS product."""


def _segment_sums(
    X: np.ndarray,
    labels: np.ndarray,
    rows: Sequence[np.ndarray | None],
    real: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per segment and column: users kept, the sum of their values and of their squares.

    Values are taken less one kept value of their column, so a column whose kept users all share
    one value (a 0/1 flag off its point mass) sums to exact zeros instead of rounding noise. In
    row blocks, so every column is read in one contiguous pass (reading X column by column took
    1.0-1.7 s a round on 1M users x 30 features; this takes a fraction of it).
    """
    segments, p = int(labels.max()) + 1, X.shape[1]
    n, s1, s2 = (np.zeros((segments, p)) for _ in range(3))
    masked = [j for j, r in enumerate(rows) if r is not None]
    first = [0 if r is None else int(np.argmax(r)) for r in rows]
    ref = X[first, np.arange(p)]
    for start in range(0, len(X), BLOCK):
        block = slice(start, start + BLOCK)
        xb, lb = X[block], labels[block]
        onehot = np.zeros((len(lb), segments))
        onehot[np.arange(len(lb)), lb] = 1.0
        keep = np.ones_like(xb)
        for j in masked:
            keep[:, j] = rows[j][block]  # type: ignore[index]
        if real is not None:
            keep *= real[block, None]
        shifted = xb - ref
        kept = shifted * keep
        n += onehot.T @ keep
        s1 += onehot.T @ kept
        s2 += onehot.T @ (kept * shifted)
    return n, s1, s2


def _spread_ratio(n: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> float:
    """Pooled within-segment sd over the sd across users, from per-segment counts and sums.

    NaN (no ratio) when the kept users hold one value or too few are kept."""
    total = float(n.sum())
    dof = total - np.count_nonzero(n > 0)
    if dof <= 0 or total < 2:
        return float("nan")
    across = (s2.sum() - s1.sum() ** 2 / total) / (total - 1)
    used = n > 0
    within = max(0.0, (s2.sum() - (s1[used] ** 2 / n[used]).sum()) / dof)  # rounding
    if across <= SPREAD_FLOOR:
        return float("nan")
    return float(np.sqrt(within / across))


SPREAD_FLOOR = 1e-12
"""A variance this small (of standardised values) is no spread: the kept users hold one value."""


def within_segment_weights(
    X: np.ndarray,
    labels: np.ndarray,
    noise_id: int | None = None,
    rows: Sequence[np.ndarray | None] | None = None,
    spread: np.ndarray | None = None,
) -> np.ndarray:
    """Each column's weight: one over its within/across ratio and over its own spread.

    So the weighted column is the standardised feature stretched by how tightly the segments
    hold it, whatever the scaling; clipped, then scaled to a mean square of 1. ``spread`` is
    ``X.std(axis=0)`` when the caller has it (the loop's rounds share one).
    """
    ratio = within_segment_ratio(X, labels, noise_id, rows)
    spread = X.std(axis=0) if spread is None else spread
    weights = 1.0 / (np.maximum(ratio, 1e-12) * np.where(spread > 0, spread, 1.0))
    weights = np.clip(weights, *WEIGHT_RANGE)
    return weights / np.sqrt(np.mean(weights**2))


@dataclass(frozen=True)
class Reweighting:
    """The weights a fit settled on and how it got there."""

    weights: np.ndarray
    """Per column of the matrix the loop started from; X * weights is the matrix fitted last."""
    rounds: int
    """Refits after the first fit."""
    settled: bool
    """The last refit moved no user (otherwise :data:`MAX_ROUNDS` ran out)."""
    matrix: np.ndarray = field(repr=False, compare=False)
    """X * weights, the matrix fitted last (kept: on 1M users it is 240 MB to make again)."""


def fit_reweighted(
    X: np.ndarray,
    fit: FitSpec,
    first: ClusterResult,
    *,
    user_ids: Sequence[str] | None = None,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    max_rounds: int | None = None,
) -> tuple[ClusterResult, Reweighting]:
    """From ``first`` (``fit`` on X), alternate weights and refits until no user moves.

    Each refit starts from the current segments' centres in the newly weighted space (one
    start), so a segment keeps its place while the weights move. The result is the last refit,
    fitted on ``X * weights``, with the first fit's parameters (its restarts).
    """
    if fit.algorithm not in REWEIGHTED_ALGORITHMS:
        raise ValueError(f"{fit.algorithm} is not refitted with segment weights")
    labels, last = first.labels, first
    rows, spread = point_mass_rows(X), X.std(axis=0)  # neither depends on the segments
    weights = np.ones(X.shape[1], dtype=np.float64)
    Xw = np.empty_like(X)  # one buffer for every round: no fit keeps its matrix
    settled, rounds = False, 0
    limit = max(1, MAX_ROUNDS if max_rounds is None else max_rounds)  # Xw is always filled
    allowed = STOCHASTIC_MOVED * len(X) if fit.algorithm == "minibatch_kmeans" else 0
    while rounds < limit and not settled:
        check_stop(should_stop)
        report(progress, f"weights: refit {rounds + 1}", rounds / limit)
        rounds += 1
        weights = within_segment_weights(X, labels, first.noise_id, rows, spread)
        np.multiply(X, weights, out=Xw)
        centres, _ = segment_means(Xw, labels, int(labels.max()) + 1)
        last = fit_clusters(Xw, fit, None, should_stop, user_ids, init=centres)
        settled = int(np.count_nonzero(last.labels != labels)) <= allowed
        labels = last.labels
    messages = list(dict.fromkeys([*first.messages, *last.messages]))  # each note once
    result = replace(last, params=dict(first.params), messages=messages)
    report(progress, "weights settled" if settled else "weights: refits ran out", 1.0)
    return result, Reweighting(weights, rounds, settled, Xw)


def describe(features: Sequence[str], how: Reweighting, shown: int = 3) -> str:
    """The weighting in words, for the run's notes: how it ran, which features gained and lost."""
    shown = max(1, min(shown, len(features) // 2))  # the two lists never name one feature
    order = np.argsort(-how.weights, kind="stable")
    top = ", ".join(f"{features[j]} {how.weights[j]:.2f}" for j in order[:shown])
    low = ", ".join(f"{features[j]} {how.weights[j]:.2f}" for j in order[::-1][:shown])
    ran = (
        f"refitted {how.rounds} time{'s' if how.rounds != 1 else ''} until the segments settled"
        if how.settled
        else f"stopped after {how.rounds} refits with users still moving"
    )
    return (
        "features weighted by how tightly the segments hold them (one over each feature's "
        f"spread within the segments; {ran}): most say {top}; least {low}. Weighting none "
        "(--weighting none; Weights in the app's setup) counts every feature once"
    )
