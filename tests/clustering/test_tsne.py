"""t-SNE view: deterministic with a seed, a stratified sample, and planted blobs stay apart."""

from __future__ import annotations

import numpy as np
import pytest

from segtui.clustering.projection import project_tsne
from segtui.errors import InputError


def _blobs(
    per: int = 60, groups: int = 4, d: int = 8, seed: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Well-separated Gaussian blobs: centers 20 apart, spread 1."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(groups, d)) * 20
    labels = np.repeat(np.arange(groups), per)
    return centers[labels] + rng.normal(size=(len(labels), d)), labels


def _knn_purity(coords: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Share of each point's k nearest neighbours (in 2-D) that carry its own label."""
    distance = ((coords[:, None, :] - coords[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(distance, np.inf)
    nearest = np.argsort(distance, axis=1)[:, :k]
    return float((labels[nearest] == labels[:, None]).mean())


def test_same_seed_same_picture() -> None:
    X, labels = _blobs()
    a = project_tsne(X, seed=1, labels=labels)
    b = project_tsne(X, seed=1, labels=labels)
    assert np.array_equal(a.coords, b.coords) and np.array_equal(a.rows, b.rows)
    assert a.coords.shape == (240, 2) and a.coords.dtype == np.float32
    assert not a.sampled and a.n_rows == 240


def test_planted_blobs_stay_apart() -> None:
    X, labels = _blobs()
    picture = project_tsne(X, seed=0)
    assert _knn_purity(picture.coords, labels[picture.rows]) > 0.95


def test_sample_is_seeded_and_keeps_every_segment() -> None:
    # One tiny segment of 6 among 600: a plain random sample of 60 would often miss it.
    X, labels = _blobs(per=150)
    labels = labels.copy()
    labels[:6] = 9
    picture = project_tsne(X, seed=4, max_points=60, labels=labels)
    again = project_tsne(X, seed=4, max_points=60, labels=labels)
    assert len(picture.rows) == 60 and picture.sampled
    assert np.array_equal(picture.rows, np.sort(picture.rows))
    assert np.array_equal(picture.rows, again.rows)
    assert set(labels[picture.rows]) == {0, 1, 2, 3, 9}
    assert picture.perplexity == pytest.approx(59 / 3)


def test_refuses_what_it_cannot_draw() -> None:
    with pytest.raises(InputError, match="three users"):
        project_tsne(np.zeros((2, 3)))
    with pytest.raises(InputError, match="missing or infinite"):
        project_tsne(np.array([[0.0, 1.0], [np.nan, 1.0], [2.0, 2.0], [3.0, 1.0]]))
