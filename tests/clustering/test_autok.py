"""``-k auto``'s rule: the silhouette against a structureless reference, among the ks that hold."""

from __future__ import annotations

import numpy as np

from segtui.clustering.autok import KScore, choose_k, null_reference, pick_k
from segtui.clustering.specs import FitSpec


def nested(seed: int = 0, dims: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """One group of 1,000 far from four groups of 100 that sit near each other (10:1 skew): the
    shape of a log where one kind of user dwarfs the rest."""
    rng = np.random.default_rng(seed)
    centers = np.zeros((5, dims))
    centers[0, 0] = -14.0
    for i in range(4):
        centers[1 + i, 1 + i] = 5.0
    truth = np.repeat(np.arange(5), [1000, 100, 100, 100, 100])
    return centers[truth] + rng.normal(size=(len(truth), dims)), truth


def test_five_groups_under_one_large_one_give_five_not_the_silhouettes_two() -> None:
    X, _ = nested()
    choice, _ = choose_k(X, FitSpec("kmeans", {}, seed=0))
    by_silhouette = max(choice.scores, key=lambda s: s.silhouette or -1.0)
    assert by_silhouette.k == 2  # the raw silhouette's pick: the large group against the rest
    assert choice.k == 5, choice.reason
    five = choice.score(5)
    assert five is not None and five.holds
    assert five.null_silhouette is not None and 0 < five.null_silhouette < five.silhouette
    assert "the silhouette alone prefers k=2" in choice.reason
    assert f"{five.separation:.2f} times" in choice.reason


def test_the_reference_keeps_mean_and_covariance_and_is_seeded() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(size=(4000, 3)) @ np.array([[2.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0, 0, 0.2]])
    X = np.column_stack([base + 5.0, base[:, 0] * 2.0])  # a fourth column that moves with the first
    ref = null_reference(X, seed=0)
    assert ref.shape == X.shape
    error = 4 * X.std(axis=0) / np.sqrt(len(X))  # four standard errors of a mean
    assert np.all(np.abs(ref.mean(axis=0) - X.mean(axis=0)) < error)
    np.testing.assert_allclose(np.cov(ref, rowvar=False), np.cov(X, rowvar=False), atol=0.3)
    mu = X.mean(axis=0)
    np.testing.assert_allclose(ref[:, 3] - mu[3], 2.0 * (ref[:, 0] - mu[0]), atol=1e-8)
    np.testing.assert_array_equal(ref, null_reference(X, seed=0))
    assert not np.array_equal(ref, null_reference(X, seed=1))


def _score(k: int, sil: float, ref: float | None, stab: float = 0.9, low: float = 0.8) -> KScore:
    return KScore(k, sil, None, None, stab, low, null_silhouette=ref)


def test_the_pick_is_the_largest_multiple_of_the_reference_among_ks_that_hold() -> None:
    scores = [
        _score(2, 0.40, 0.20),  # 2.0 times
        _score(3, 0.20, 0.08),  # 2.5 times: the best of the ks that hold
        _score(4, 0.20, 0.05, stab=0.7),  # 4.0 times, but mean stability under 0.75
        _score(5, 0.19, 0.09),  # 2.11 times: more than 5 % below k=3
    ]
    k, reason, near = pick_k(scores)
    assert (k, near) == (3, [])
    assert "separated 2.50 times as well as data with no groups at k=3" in reason
    assert "the most of the ks whose segments hold" in reason
    assert "the silhouette alone prefers k=2" in reason


def test_of_near_ties_the_larger_k_is_taken() -> None:
    scores = [
        _score(2, 0.40, 0.16),  # 2.5 times: the best
        _score(3, 0.20, 0.10),  # 2.0 times
        _score(6, 0.12, 0.05),  # 2.4 times: within 5 % of k=2
        _score(7, 0.12, 0.049, low=0.5),  # 2.45 times, within 5 %, but a segment dissolves
    ]
    k, reason, near = pick_k(scores)
    assert (k, near) == (6, [2])
    assert "within 5% of the most among the ks whose segments hold" in reason
    assert "(k=2, 2.50 times)" in reason
    assert "larger k (7) split segments that do not come back" in reason


def test_without_a_reference_the_raw_silhouette_decides() -> None:
    k, reason, _ = pick_k([_score(2, 0.40, None), _score(3, 0.20, None)])
    assert k == 2
    assert "has the highest silhouette (0.40)" in reason
    k, reason, _ = pick_k([_score(2, 0.40, None), _score(3, 0.20, 0.05)])  # one k lacks it
    assert k == 2  # by the silhouette for all, not k=3's 4.0 times against k=2's nothing
    assert "has the highest silhouette (0.40)" in reason


def test_when_no_k_holds_the_most_stable_is_taken() -> None:
    k, reason, near = pick_k([_score(2, 0.4, 0.2, stab=0.7), _score(3, 0.3, 0.1, stab=0.72)])
    assert (k, near) == (3, [])
    assert reason.startswith("no k keeps every segment from dissolving")
