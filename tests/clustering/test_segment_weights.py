"""Within-segment weights: the ratio they rest on, the point-mass guard, and a planted case
where noise features hide the groups from plain K-Means and the weights find them exactly."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from segtui.clustering.fit import assign_new, fit_clusters
from segtui.clustering.segment_weights import (
    describe,
    fit_reweighted,
    within_segment_ratio,
    within_segment_weights,
)
from segtui.clustering.specs import FitSpec


def test_ratio_is_the_pooled_within_spread_over_the_spread_across_users() -> None:
    X = np.array([[0.0], [2.0], [10.0], [12.0]])
    labels = np.array([0, 0, 1, 1])
    # within: sqrt((1 + 1 + 1 + 1) / (4 - 2)); across: the sample sd of 0, 2, 10, 12
    assert within_segment_ratio(X, labels)[0] == pytest.approx(np.sqrt(2) / np.sqrt(104 / 3))


def test_a_point_mass_is_left_out_of_both_spreads() -> None:
    # half the users at 0 (no purchases): the ratio is that of the other half alone
    X = np.array([[0.0], [0.0], [0.0], [0.0], [1.0], [3.0], [11.0], [13.0]])
    labels = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    assert within_segment_ratio(X, labels)[0] == pytest.approx(np.sqrt(2) / np.sqrt(104 / 3))
    # a value held by 20 % of the users, not more, is no point mass: it counts
    X = np.array([[0.0], [0.0], [1.0], [3.0], [5.0], [11.0], [13.0], [15.0], [20.0], [21.0]])
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    within = np.sqrt(((X[:5, 0] - 1.8) ** 2).sum() + ((X[5:, 0] - 16) ** 2).sum()) / np.sqrt(8)
    assert within_segment_ratio(X, labels)[0] == pytest.approx(within / X[:, 0].std(ddof=1))


def test_a_flag_off_its_point_mass_has_no_ratio() -> None:
    # a 0/1 feature: off its commoner value every kept user has the other one, so the
    # segments cannot hold it tighter than everyone (ratio 1), not a ratio of rounding noise
    rng = np.random.default_rng(0)
    flag = (rng.random((5000, 50)) < 0.3).astype(float)
    flag = (flag - flag.mean(0)) / flag.std(0)
    np.testing.assert_array_equal(within_segment_ratio(flag, rng.integers(0, 6, 5000)), 1.0)


def test_noise_users_are_left_out_and_blocks_add_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from segtui.clustering import segment_weights

    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1], 100_000)
    X = np.column_stack([labels * 3.0 + rng.normal(0, 1, 200_000), rng.normal(0, 1, 200_000)])
    expected = within_segment_ratio(X, labels)
    # four row blocks of 65,536 give what one pass over every row gives
    with monkeypatch.context() as patched:
        patched.setattr(segment_weights, "BLOCK", len(X))
        np.testing.assert_allclose(within_segment_ratio(X, labels), expected, rtol=1e-9)
    assert expected[0] == pytest.approx(1 / np.sqrt(1 + 9 / 4), rel=0.01)
    assert expected[1] == pytest.approx(1.0, rel=0.01)
    # noise users (id 2), far out, change nothing
    noisy = np.vstack([X, np.full((50, 2), 1e3)])
    with_noise = within_segment_ratio(noisy, np.r_[labels, np.full(50, 2)], noise_id=2)
    np.testing.assert_allclose(with_noise, expected)


def test_noise_features_lose_weight_and_tight_ones_gain() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 100)
    tight = labels * 4.0 + rng.normal(0, 0.3, 200)
    X = np.column_stack([tight, rng.normal(0, 1, 200), rng.normal(0, 1, 200)])
    X = (X - X.mean(0)) / X.std(0)
    w = within_segment_weights(X, labels)
    assert w[0] > 4 * max(w[1], w[2])
    assert np.mean(w**2) == pytest.approx(1.0)


def planted(noise: int = 12, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Three groups told apart by two tight features, hidden among ``noise`` features of noise."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1, 2], [150, 100, 50])
    means = np.column_stack([np.array([0.0, 1.0, 2.0])[y], np.array([0.0, 1.0, 0.0])[y]])
    X = np.column_stack([means + rng.normal(0, 0.2, (300, 2)), rng.normal(0, 1, (300, noise))])
    return (X - X.mean(0)) / X.std(0), y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weights_find_groups_that_noise_hides_from_plain_kmeans(seed: int) -> None:
    X, y = planted()
    fit = FitSpec("kmeans", {"k": 3}, seed)
    first = fit_clusters(X, fit)
    assert adjusted_rand_score(y, first.labels) < 0.99  # plain K-Means mixes the groups
    result, how = fit_reweighted(X, fit, first)
    assert adjusted_rand_score(y, result.labels) == 1.0
    assert how.settled and 1 <= how.rounds <= 8
    assert how.weights[:2].min() > 2 * how.weights[2:].max()
    # the result is a fit of X * weights: its state labels that matrix the same way
    assert np.array_equal(assign_new(result.state, X * how.weights), result.labels)
    np.testing.assert_array_equal(how.matrix, X * how.weights)
    assert result.params["n_init"] == first.params["n_init"]  # the first fit's restarts


def test_the_loop_stops_on_request() -> None:
    from segtui.clustering.control import Cancelled

    X, _ = planted()
    fit = FitSpec("kmeans", {"k": 3}, 0)
    with pytest.raises(Cancelled):
        fit_reweighted(X, fit, fit_clusters(X, fit), should_stop=lambda: True)


def test_other_algorithms_are_not_refitted() -> None:
    X, _ = planted()
    fit = FitSpec("gmm", {"k": 3}, 0)
    with pytest.raises(ValueError, match="not refitted"):
        fit_reweighted(X, fit, fit_clusters(X, fit))


def test_the_weights_are_said_in_words() -> None:
    X, _ = planted(noise=2)
    fit = FitSpec("kmeans", {"k": 3}, 0)
    _, how = fit_reweighted(X, fit, fit_clusters(X, fit))
    text = describe(["a", "b", "noise_1", "noise_2"], how, shown=2)
    assert text.startswith("features weighted by how tightly the segments hold them")
    assert "most say a " in text and "least noise_" in text
    assert "--weighting none" in text
