"""Stability per segment (clusterboot), over-segmentation flags and -k auto, on planted blobs
whose answer is known: well-separated blobs come back every time, a random half of a blob does
not, and auto-k finds the number of blobs."""

from __future__ import annotations

import numpy as np
import pytest

from segtui.clustering.autok import auto_k_range, choose_k
from segtui.clustering.fit import fit_clusters
from segtui.clustering.specs import FitSpec
from segtui.clustering.stability import (
    BootCache,
    draw_resamples,
    segment_flags,
    segment_stability,
    stability_class,
)


def blobs(k: int, n: int = 600, dims: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """k unit-variance blobs with centers 12 apart on distinct axes (no overlap), equal sizes."""
    rng = np.random.default_rng(seed)
    truth = np.arange(n) % k
    centers = np.zeros((k, max(dims, k)))
    centers[np.arange(k), np.arange(k)] = 12.0
    X = centers[truth] + rng.normal(size=(n, centers.shape[1]))
    return X, truth


def test_classes_follow_hennig() -> None:
    assert [stability_class(v) for v in (0.5, 0.6, 0.7, 0.8, 0.86, None)] == [
        "dissolved",
        "weak",
        "weak",
        "fair",
        "stable",
        "",
    ]


def test_well_separated_blobs_are_stable() -> None:
    X, _ = blobs(4)
    fit = FitSpec("kmeans", {"k": 4}, seed=0)
    labels = fit_clusters(X, fit).labels
    report = segment_stability(X, labels, fit, fits=10)
    assert sorted(report.segments) == [0, 1, 2, 3]
    assert all(s.jaccard is not None and s.jaccard > 0.85 for s in report.segments.values())
    assert all(s.label == "stable" and s.fits == 10 for s in report.segments.values())
    assert segment_flags(labels, None, report) == {0: [], 1: [], 2: [], 3: []}


def test_a_random_half_of_a_blob_is_flagged() -> None:
    X, truth = blobs(3, n=600)
    labels = truth.copy()
    rng = np.random.default_rng(1)
    in_first = np.flatnonzero(truth == 0)
    labels[rng.choice(in_first, size=len(in_first) // 2, replace=False)] = 3
    report = segment_stability(X, labels, FitSpec("kmeans", {"k": 4}, seed=0), fits=10)
    for half in (0, 3):
        assert report.jaccard(half) < 0.6  # a random half never comes back as a cluster
    for blob in (1, 2):  # real groups; a k=4 refit sometimes cuts one of them, so not 1.0
        assert report.jaccard(blob) > 0.75
    flags = segment_flags(labels, None, report, {0: "A", 3: "B"})
    assert any(r.startswith("unstable: dissolved") for r in flags[0])
    assert any(r.startswith("indistinguishable from B (id 3)") for r in flags[0])
    assert any(r.startswith("indistinguishable from A (id 0)") for r in flags[3])
    assert flags[1] == [] and flags[2] == []


def test_merged_halves_are_indistinguishable() -> None:
    """Refitted with k=3 (the real number of groups), both halves best match the same blob."""
    X, truth = blobs(2, n=400)
    labels = truth.copy()
    in_first = np.flatnonzero(truth == 0)
    labels[in_first[::2]] = 2
    fit = FitSpec("kmeans", {"k": 3}, seed=0)
    report = segment_stability(X, labels, fit, fits=6)
    flags = segment_flags(labels, None, report, {2: "Other half"})
    assert report.segments[0].merged_with.get(2, 0) > 3
    assert any("indistinguishable from Other half (id 2)" in r for r in flags[0])


def test_tiny_segments_are_flagged_without_stability() -> None:
    labels = np.array([0] * 995 + [1] * 5)
    flags = segment_flags(labels, None, None)
    assert flags[0] == []
    assert flags[1] == ["tiny: 0.5% of users (under 1%)"]


@pytest.mark.parametrize("k", [2, 3, 5])
def test_auto_k_finds_the_planted_k(k: int) -> None:
    X, _ = blobs(k, n=500, dims=5)
    choice, _ = choose_k(X, FitSpec("kmeans", {}, seed=0))
    assert choice.k == k, choice.reason
    assert [s.k for s in choice.scores] == list(range(2, 11))
    assert f"k={k}" in choice.reason
    assert choice.score(k).holds


def test_auto_k_range_is_bounded_by_users() -> None:
    assert auto_k_range(10_000) == list(range(2, 11))
    assert auto_k_range(45) == [2, 3, 4]
    assert auto_k_range(5) == [2]


def test_same_seed_same_stability_and_choice() -> None:
    X, _ = blobs(3, n=300)
    fit = FitSpec("kmeans", {"k": 4}, seed=3)
    labels = fit_clusters(X, fit).labels
    a = segment_stability(X, labels, fit, fits=5).to_dict()
    b = segment_stability(X, labels, fit, fits=5).to_dict()
    assert a == b
    first, _ = choose_k(X, FitSpec("kmeans", {}, seed=3), [2, 3, 4])
    second, _ = choose_k(X, FitSpec("kmeans", {}, seed=3), [2, 3, 4])
    assert first.to_dict() == second.to_dict()


def test_resamples_are_bounded_and_cached() -> None:
    draws = draw_resamples(100_000, 4, 500, seed=0)
    assert len(draws.rows) == 500 and len(set(draws.rows.tolist())) == 500
    assert all(len(d) == 500 and d.max() < 500 for d in draws.draws)
    X, _ = blobs(3, n=300)
    cache = BootCache(X, FitSpec("kmeans", {"k": 3}, seed=0), fits=4, users=200)
    first = cache.fits_at(3, count=2)
    again = cache.fits_at(3)
    assert again[:2] == first and len(again) == 4
