"""Clustering on data whose right answer is known exactly: blobs, a ring with noise."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from segtui.clustering.control import Cancelled
from segtui.clustering.fit import assign_new, auto_restarts, fit_clusters, suggest_eps
from segtui.clustering.kernels import canonical_labels
from segtui.clustering.registry import ALGORITHMS, resolve_params
from segtui.clustering.specs import FitSpec
from segtui.clustering.state import ClusterState, cluster_state_from_dict
from segtui.errors import InputError


def through_json(state: ClusterState) -> ClusterState:
    """The state as a model file stores it and reads it back."""
    return cluster_state_from_dict(json.loads(json.dumps(state.to_dict())))


CENTROID_LIKE = [
    ("kmeans", {}),
    ("minibatch_kmeans", {"batch_size": 256}),
    ("gmm", {}),
    ("gmm", {"covariance_type": "full"}),
    ("birch", {}),
    ("agglomerative", {"linkage": "ward"}),
    ("agglomerative", {"linkage": "average"}),
]


def blobs(sizes: tuple[int, ...] = (50, 30, 20), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Far-apart round blobs, rows shuffled; truth = blob index (blobs listed largest first)."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0, 0.0], [20.0, 0.0, 0.0], [0.0, 20.0, 0.0], [0.0, 0.0, 20.0]])
    X = np.vstack([centers[i] + rng.normal(0, 0.5, (s, 3)) for i, s in enumerate(sizes)])
    truth = np.repeat(np.arange(len(sizes)), sizes)
    order = rng.permutation(len(truth))
    return X[order], truth[order]


def ring_blob_noise() -> tuple[np.ndarray, np.ndarray]:
    """200 evenly spaced points on a circle (r=10), a 10x10 grid (spacing 0.2) far to the right,
    and 10 isolated points >= 30 apart from everything. Truth: ring 0, grid 1, noise 2."""
    angle = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    ring = np.c_[10 * np.cos(angle), 10 * np.sin(angle)]
    gx, gy = np.meshgrid(np.arange(10) * 0.2, np.arange(10) * 0.2)
    grid = np.c_[gx.ravel() + 30, gy.ravel()]
    noise = np.c_[np.arange(10) * 30.0 - 135, np.full(10, 50.0)]
    X = np.vstack([ring, grid, noise])
    truth = np.repeat([0, 1, 2], [200, 100, 10])
    order = np.random.default_rng(1).permutation(len(truth))
    return X[order], truth[order]


@pytest.mark.parametrize(("algorithm", "params"), CENTROID_LIKE)
def test_separated_blobs_get_exact_canonical_ids(algorithm: str, params: dict) -> None:
    X, truth = blobs()
    r = fit_clusters(X, FitSpec(algorithm, {"k": 3, **params}, seed=0))
    np.testing.assert_array_equal(r.labels, truth)
    assert r.n_segments == 3
    assert r.noise_id is None
    assert r.sizes.tolist() == [50, 30, 20]
    for seg in range(3):
        np.testing.assert_allclose(r.centers[seg], X[truth == seg].mean(axis=0))
    assert not r.sampled and r.sample_size == 100 and r.extension is None
    assert r.params["k"] == 3
    json.dumps(r.to_dict(include_labels=True))  # JSON-safe throughout


def test_equal_sizes_tie_goes_to_the_segment_holding_the_earliest_row() -> None:
    X, truth = blobs((30, 30, 20))
    r = fit_clusters(X, FitSpec("kmeans", {"k": 3}, seed=4))
    first_blob = truth[0]
    assert r.labels[0] == 0
    np.testing.assert_array_equal(r.labels == 0, truth == first_blob)
    assert r.sizes.tolist() == [30, 30, 20]


def test_canonical_labels_order_by_size_then_first_row_noise_last() -> None:
    labels, mapping = canonical_labels(np.array([5, 5, 2, -1, 2, 2, 7, 9]))
    assert labels.tolist() == [1, 1, 0, 4, 0, 0, 2, 2 + 1]
    assert mapping == {2: 0, 5: 1, 7: 2, 9: 3, -1: 4}


@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch_kmeans", "gmm", "agglomerative"])
def test_same_seed_same_result(algorithm: str) -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(400, 4))  # no structure: the hardest case for stability
    a = fit_clusters(X, FitSpec(algorithm, {"k": 5}, seed=11))
    b = fit_clusters(X, FitSpec(algorithm, {"k": 5}, seed=11))
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.state == b.state
    assert np.all(np.diff(a.sizes) <= 0)  # largest first


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"covariance_type": "full"},
        {"covariance_type": "tied"},
        {"covariance_type": "spherical"},
    ],
)
def test_gmm_assign_new_reproduces_fit_exactly_after_json(params: dict) -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1500, 5)) + np.repeat(rng.normal(0, 2, (3, 5)), 500, axis=0)
    r = fit_clusters(X, FitSpec("gmm", {"k": 6, **params}, seed=3))
    state = through_json(r.state)
    np.testing.assert_array_equal(assign_new(state, X), r.labels)
    assert r.bic is not None
    # matches scikit-learn's own predict up to the canonical renaming
    from sklearn.mixture import GaussianMixture

    cov = params.get("covariance_type", "diag")
    sk = GaussianMixture(6, covariance_type=cov, random_state=3).fit(X).predict(X)
    mapping = dict(zip(sk.tolist(), r.labels.tolist(), strict=True))
    np.testing.assert_array_equal(np.array([mapping[v] for v in sk]), r.labels)


@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch_kmeans", "birch"])
def test_centroid_assign_new_reproduces_fit_exactly_after_json(algorithm: str) -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(2000, 6))
    r = fit_clusters(X, FitSpec(algorithm, {"k": 7}, seed=1))
    state = through_json(r.state)
    np.testing.assert_array_equal(assign_new(state, X), r.labels)
    # new rows are labelled too, and only with real segment ids
    new = rng.normal(size=(50, 6))
    assert set(assign_new(state, new).tolist()) <= set(range(r.n_segments))


def test_kmeans_inertia_matches_scikit_learn() -> None:
    from sklearn.cluster import KMeans

    X, _ = blobs()
    r = fit_clusters(X, FitSpec("kmeans", {"k": 3}, seed=0))
    sk = KMeans(3, n_init=1, random_state=0).fit(X)
    assert r.inertia == pytest.approx(sk.inertia_, rel=1e-9)


def test_sampled_agglomerative_and_birch_label_everyone_correctly() -> None:
    X, truth = blobs((500, 300, 200))
    for algorithm in ("agglomerative", "birch"):
        r = fit_clusters(X, FitSpec(algorithm, {"k": 3}, seed=0, sample_size=60))
        np.testing.assert_array_equal(r.labels, truth)
        assert r.sampled and r.sample_size == 60 and r.extension == "nearest_center"
        assert r.sample_indices is not None and len(r.sample_indices) == 60
        assert "seeded sample of 60 of 1,000 users" in r.note
        np.testing.assert_array_equal(assign_new(through_json(r.state), X), truth)


def test_agglomerative_tree_is_plain_data_over_the_sample() -> None:
    X, truth = blobs()
    r = fit_clusters(X, FitSpec("agglomerative", {"k": 3}, seed=0))
    tree = r.tree
    assert tree is not None
    assert tree["n_leaves"] == 100
    assert len(tree["children"]) == len(tree["distances"]) == len(tree["counts"]) == 99
    assert tree["counts"][-1] == 100
    assert tree["distances"] == sorted(tree["distances"])  # ward merges never get closer
    assert tree["leaf_labels"] == r.labels.tolist()
    json.dumps(tree)
    sampled = fit_clusters(X, FitSpec("agglomerative", {"k": 3}, seed=0, sample_size=40)).tree
    assert sampled is not None and sampled["n_leaves"] == 40
    assert sampled["leaf_labels"] == truth[sampled["leaf_rows"]].tolist()


@pytest.mark.parametrize(
    ("algorithm", "params"),
    [
        ("dbscan", {"eps": 1.0, "min_samples": 5}),
        ("dbscan", {"min_samples": 5}),  # eps from the k-distance curve
        ("hdbscan", {"min_cluster_size": 20, "min_samples": 5}),
    ],
)
def test_density_finds_ring_and_grid_and_exact_noise(algorithm: str, params: dict) -> None:
    X, truth = ring_blob_noise()
    r = fit_clusters(X, FitSpec(algorithm, params, seed=0))
    np.testing.assert_array_equal(r.labels, truth)
    assert r.n_segments == 3 and r.noise_id == 2
    assert r.sizes.tolist() == [200, 100, 10]
    np.testing.assert_array_equal(assign_new(through_json(r.state), X), truth)
    far = np.array([[100.0, 100.0], [10.0, 0.05]])
    assert assign_new(r.state, far).tolist() == [2, 0]


@pytest.mark.parametrize(
    ("algorithm", "params"),
    [("dbscan", {"min_samples": 4}), ("hdbscan", {"min_cluster_size": 15, "min_samples": 5})],
)
def test_density_sampled_fit_extends_to_everyone(algorithm: str, params: dict) -> None:
    X, truth = ring_blob_noise()
    r = fit_clusters(X, FitSpec(algorithm, params, seed=0, sample_size=240))
    assert r.sampled and r.extension == "nearest_sampled_user"
    assert "radius_rule" in r.state.to_dict()
    np.testing.assert_array_equal(r.labels, truth)
    assert r.noise_id == 2


def test_suggest_eps_sits_between_cluster_spacing_and_noise() -> None:
    X, _ = ring_blob_noise()
    s = suggest_eps(X, min_samples=5, seed=0)
    ring_gap = 2 * 10 * np.sin(np.pi * 2 / 200)  # distance to the 2nd neighbor on the ring
    assert s.eps == pytest.approx(ring_gap)
    assert len(s.k_distances) == 310 and s.knee_index == 299
    assert "97% of them" in s.reason
    again = suggest_eps(X, min_samples=5, seed=0)
    assert again.eps == s.eps


def test_k_larger_than_users_and_bad_params_are_input_errors() -> None:
    X, _ = blobs()
    with pytest.raises(InputError, match=r"k = 101 is larger than the number of users \(100\)"):
        fit_clusters(X, FitSpec("kmeans", {"k": 101}))
    with pytest.raises(InputError, match="larger than the fitted sample"):
        fit_clusters(X, FitSpec("agglomerative", {"k": 30}, sample_size=20))
    with pytest.raises(InputError, match="unknown algorithm"):
        fit_clusters(X, FitSpec("spectral"))
    with pytest.raises(InputError, match="no parameter 'n_clusters'"):
        fit_clusters(X, FitSpec("kmeans", {"n_clusters": 3}))
    with pytest.raises(InputError, match="expected one of full, tied, diag, spherical"):
        fit_clusters(X, FitSpec("gmm", {"covariance_type": "banana"}))
    with pytest.raises(InputError, match="must be greater than 0"):
        fit_clusters(X, FitSpec("dbscan", {"eps": 0}))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InputError, match="missing or infinite"):
        fit_clusters(bad, FitSpec("kmeans", {"k": 2}))
    with pytest.raises(InputError, match="expects 3 features"):
        assign_new(fit_clusters(X, FitSpec("kmeans", {"k": 2})).state, X[:, :2])
    with pytest.raises(InputError, match=r"'cluster\.state\.means' is missing"):
        cluster_state_from_dict({"rule": "gmm"})
    broken = replace(fit_clusters(X, FitSpec("gmm", {"k": 2})).state, covariance_type="banana")
    with pytest.raises(InputError, match="not valid"):
        assign_new(broken, X)


@pytest.mark.parametrize("algorithm", [a for a, info in ALGORITHMS.items() if info.uses_k])
@pytest.mark.parametrize("k", [1, "1", 0])
def test_one_segment_is_refused(algorithm: str, k: object) -> None:
    X, _ = blobs()
    with pytest.raises(InputError) as info:
        fit_clusters(X, FitSpec(algorithm, {"k": k}))
    assert info.value.message == "k must be at least 2: one segment is everyone"
    spec = next(p for p in ALGORITHMS[algorithm].parameters if p.name == "k")
    assert spec.minimum == 2  # the app renders its k input from this
    assert resolve_params(algorithm, {"k": 2})["k"] == 2


def test_resolve_params_fills_defaults_and_coerces_strings() -> None:
    assert resolve_params("kmeans", {"k": "4"}) == {"k": 4, "n_init": None, "max_iter": 300}
    assert resolve_params("dbscan", {"eps": "auto"}) == {"eps": None, "min_samples": 10}
    assert resolve_params("hdbscan", {"allow_single_cluster": "yes"})["allow_single_cluster"]


def test_algorithm_catalog_is_complete_plain_data() -> None:
    assert list(ALGORITHMS) == [
        "kmeans",
        "minibatch_kmeans",
        "agglomerative",
        "dbscan",
        "hdbscan",
        "gmm",
        "birch",
    ]
    for info in ALGORITHMS.values():
        json.dumps(info.to_dict())
        assert resolve_params(info.name) == info.defaults()
        assert info.quadratic == (info.default_sample_size is not None)
        assert info.uses_k == ("k" in info.defaults())


def test_progress_is_reported_and_should_stop_cancels() -> None:
    X, _ = blobs()
    seen: list[tuple[str, float]] = []
    fit_clusters(X, FitSpec("kmeans", {"k": 3}), progress=lambda s, f: seen.append((s, f)))
    assert seen[-1] == ("done", 1.0)
    assert [f for _, f in seen] == sorted(f for _, f in seen)
    with pytest.raises(Cancelled):
        fit_clusters(X, FitSpec("kmeans", {"k": 3}), should_stop=lambda: True)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("algorithm", ["kmeans", "agglomerative", "gmm", "birch"])
def test_k_above_the_distinct_users_is_refused_saying_how_many(algorithm: str) -> None:
    same = np.zeros((500, 3))
    same[:2] = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]  # three distinct profiles in all
    with pytest.raises(InputError, match="only 3 distinct feature profiles") as info:
        fit_clusters(same, FitSpec(algorithm, {"k": 5}))
    assert "Pick k of at most 3" in str(info.value)
    assert fit_clusters(same, FitSpec(algorithm, {"k": 3})).n_segments == 3


def test_library_warnings_become_notes_without_file_paths() -> None:
    X = np.random.default_rng(0).normal(size=(300, 2))
    result = fit_clusters(X, FitSpec("gmm", {"k": 3, "max_iter": 1}))
    notes = [m for m in result.messages if m.startswith("Gaussian mixture: ")]
    assert notes and all(".py" not in m for m in notes)


def test_all_noise_is_said() -> None:
    scattered = np.random.default_rng(0).normal(size=(30, 3))
    r = fit_clusters(scattered, FitSpec("hdbscan"))  # min_cluster_size 50 > 30 users
    assert (r.n_segments, r.noise_id) == (1, 0)
    assert r.messages[0].startswith("every user is noise")


def test_kmeans_auto_restarts_depend_on_size_and_are_recorded() -> None:
    X, _ = blobs((50, 30, 20))
    assert fit_clusters(X, FitSpec("kmeans", {"k": 3})).params["n_init"] == 10
    assert fit_clusters(X, FitSpec("kmeans", {"k": 3, "n_init": 2})).params["n_init"] == 2
    assert [auto_restarts(n) for n in (2_500, 50_000, 50_001, 300_001)] == [10, 10, 3, 1]


def test_thread_limited_fits_equal_scikit_learn_with_its_default_threads() -> None:
    # MiniBatch (one OpenMP/BLAS thread, no labelling pass) and the mixture (one BLAS thread)
    # give the very centers and parameters scikit-learn gives with its default thread pools.
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(4)
    X = rng.normal(size=(20_000, 8)) + np.repeat(rng.normal(0, 3, (4, 8)), 5_000, axis=0)
    mb = fit_clusters(X, FitSpec("minibatch_kmeans", {"k": 5, "batch_size": 512}, seed=2))
    sk_mb = MiniBatchKMeans(5, batch_size=512, n_init=3, max_iter=100, random_state=2).fit(X)
    np.testing.assert_array_equal(mb.state.centers, sk_mb.cluster_centers_)
    gm = fit_clusters(X, FitSpec("gmm", {"k": 5}, seed=2))
    sk_gm = GaussianMixture(5, covariance_type="diag", random_state=2).fit(X)
    np.testing.assert_array_equal(gm.state.means, sk_gm.means_)
    np.testing.assert_array_equal(gm.state.precisions_cholesky, sk_gm.precisions_cholesky_)
    assert gm.bic == sk_gm.bic(X)
