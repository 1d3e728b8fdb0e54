"""PCA projection: exact explained variance on built data, fixed signs, sampling, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segtui.clustering.projection import Projection, display_sample, project_pca
from segtui.errors import InputError


def test_points_on_a_line_have_all_variance_on_first_axis() -> None:
    t = np.linspace(-3, 3, 61)
    X = np.column_stack([t, 2 * t, -t])
    p = project_pca(X)
    assert p.explained[0] == pytest.approx(1.0)
    assert p.explained[1] == pytest.approx(0.0, abs=1e-12)
    direction = np.array([1, 2, -1]) / np.sqrt(6)
    assert np.allclose(p.components[0], direction)  # sign fixed: largest loading positive
    assert np.allclose(p.coords[:, 0], t * np.sqrt(6), atol=1e-5)
    assert p.coords.dtype == np.float32 and p.coords.shape == (61, 2)


def test_known_variances() -> None:
    # Orthogonal +-patterns with variances 9, 4 and 1: ratios 9/14 and 4/14, axes = columns.
    a = np.array([3.0, -3.0, 3.0, -3.0] * 5)
    b = np.array([2.0, 2.0, -2.0, -2.0] * 5)
    c = np.array([1.0, -1.0, -1.0, 1.0] * 5)
    X = np.column_stack([c, a, b]) + np.array([10.0, 20.0, 30.0])
    p = project_pca(X)
    assert p.explained == pytest.approx((9 / 14, 4 / 14))
    assert np.allclose(p.components, [[0, 1, 0], [0, 0, 1]])
    assert p.mean == pytest.approx([10.0, 20.0, 30.0])
    assert np.allclose(p.coords[:, 0], a) and np.allclose(p.coords[:, 1], b)
    assert p.fitted_rows == 20


def test_one_feature() -> None:
    p = project_pca(np.array([[1.0], [2.0], [4.0]]))
    assert p.explained == (1.0, 0.0)
    assert np.allclose(p.coords[:, 1], 0.0)


def test_constant_data_has_zero_explained() -> None:
    p = project_pca(np.ones((5, 3)))
    assert p.explained == (0.0, 0.0)
    assert np.allclose(p.coords, 0.0)


def test_transform_and_params_round_trip() -> None:
    X = np.random.default_rng(3).normal(size=(200, 4))
    p = project_pca(X)
    assert np.array_equal(p.transform(X), p.coords)
    data = json.loads(json.dumps(p.to_dict()))
    components, mean = Projection.params_from_dict(data)
    assert components == p.components and mean == p.mean
    with pytest.raises(InputError, match="fitted on 4"):
        p.transform(X[:, :3])
    with pytest.raises(InputError, match="damaged"):
        Projection.params_from_dict({"components": [[1.0]], "mean": [0.0, 1.0]})


def test_sampled_fit_is_deterministic_and_close_to_full() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 3)) * np.array([3.0, 2.0, 1.0])
    a = project_pca(X, seed=5, fit_max_rows=1000)
    b = project_pca(X, seed=5, fit_max_rows=1000)
    full = project_pca(X)
    assert a.fitted_rows == 1000 and full.fitted_rows == 3000
    assert np.array_equal(a.coords, b.coords) and a.explained == b.explained
    assert a.coords.shape == (3000, 2)
    assert a.explained[0] == pytest.approx(full.explained[0], abs=0.05)
    assert abs(np.dot(a.components[0], full.components[0])) > 0.99


def test_display_index_all_rows_when_small() -> None:
    p = project_pca(np.random.default_rng(1).normal(size=(50, 2)), max_points=100)
    assert p.display_index.tolist() == list(range(50))
    assert project_pca(np.eye(3), max_points=None).display_index.tolist() == [0, 1, 2]


def test_display_sample_seeded_and_sorted() -> None:
    a = display_sample(10_000, 500, seed=1)
    assert a.size == 500 and np.unique(a).size == 500
    assert np.array_equal(a, np.sort(a))
    assert np.array_equal(a, display_sample(10_000, 500, seed=1))
    assert not np.array_equal(a, display_sample(10_000, 500, seed=2))


def test_display_sample_stratified_keeps_small_segments() -> None:
    labels = np.zeros(100_000, dtype=np.int64)
    labels[:30] = 2  # a tiny segment
    labels[30:5030] = 1
    idx = display_sample(labels.size, 1000, seed=0, labels=labels)
    assert idx.size == 1000 and np.unique(idx).size == 1000
    counts = np.bincount(labels[idx], minlength=3)
    # a fifth of the budget shared equally (67 each, all 30 of the tiny one), the rest by size
    assert counts[2] == 30
    assert counts.sum() == 1000
    assert counts[0] > counts[1] > counts[2]
    assert np.array_equal(idx, display_sample(labels.size, 1000, seed=0, labels=labels))


def test_display_sample_more_segments_than_points() -> None:
    labels = np.repeat(np.arange(10), [50, 40, 30, 20, 10, 9, 8, 7, 6, 5])
    idx = display_sample(labels.size, 3, seed=0, labels=labels)
    assert sorted(set(labels[idx].tolist())) == [0, 1, 2]


def test_bad_matrix() -> None:
    with pytest.raises(InputError, match="missing or infinite"):
        project_pca(np.array([[1.0, np.nan], [2.0, 3.0]]))
    with pytest.raises(InputError, match="at least one user"):
        project_pca(np.zeros((0, 3)))
