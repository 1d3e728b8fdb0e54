"""Diagnostics agree with scikit-learn's own scores; the sweep finds the planted k."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from segtui.clustering.diagnostics import (
    SweepRow,
    diagnose,
    diagnose_result,
    elbow_k,
    suggest_k,
    sweep,
)
from segtui.clustering.specs import FitSpec
from segtui.errors import InputError


def four_blobs(n_per: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0, 0, 0], [12, 0, 0, 0], [0, 12, 0, 0], [0, 0, 12, 0]], float)
    X = np.vstack([c + rng.normal(0, 1.0, (n_per, 4)) for c in centers])
    truth = np.repeat(np.arange(4), n_per)
    order = rng.permutation(len(truth))
    return X[order], truth[order]


def test_scores_equal_scikit_learn_on_everyone() -> None:
    X, truth = four_blobs()
    d = diagnose(X, truth)
    assert d.silhouette == silhouette_score(X, truth)
    assert d.davies_bouldin == pytest.approx(davies_bouldin_score(X, truth), rel=1e-12)
    assert d.calinski_harabasz == pytest.approx(calinski_harabasz_score(X, truth), rel=1e-12)
    expected_inertia = sum(
        float(((X[truth == s] - X[truth == s].mean(axis=0)) ** 2).sum()) for s in range(4)
    )
    assert d.inertia == pytest.approx(expected_inertia, rel=1e-12)
    assert d.bic is None
    assert d.n_segments == 4 and d.n_users == 240 and d.noise_share == 0.0
    assert d.silhouette_sample == 240
    json.dumps(d.to_dict())


def test_noise_is_left_out_of_every_score() -> None:
    X, truth = four_blobs()
    labels = truth.copy()
    labels[:24] = 4  # call some users noise
    d = diagnose(X, labels, noise_id=4)
    keep = labels != 4
    assert d.silhouette == silhouette_score(X[keep], labels[keep])
    assert d.davies_bouldin == pytest.approx(davies_bouldin_score(X[keep], labels[keep]), rel=1e-12)
    assert d.calinski_harabasz == pytest.approx(
        calinski_harabasz_score(X[keep], labels[keep]), rel=1e-12
    )
    assert d.noise_share == pytest.approx(0.1)
    assert d.n_segments == 4
    assert "24 noise users left out of the scores" in d.notes


def test_silhouette_uses_a_seeded_sample() -> None:
    X, truth = four_blobs()
    d = diagnose(X, truth, seed=5, silhouette_sample=100)
    rows = np.sort(np.random.default_rng(5).choice(240, size=100, replace=False))
    assert d.silhouette == silhouette_score(X[rows], truth[rows])
    assert d.silhouette_sample == 100
    assert d.davies_bouldin == pytest.approx(davies_bouldin_score(X, truth), rel=1e-12)  # all
    assert diagnose(X, truth, seed=5, silhouette_sample=100).silhouette == d.silhouette


def test_davies_bouldin_and_calinski_harabasz_on_a_known_answer() -> None:
    # Two segments on a line: {0, 2} (center 1) and {10, 12} (center 11), ids not 0..k-1.
    X = np.array([[0.0], [2.0], [10.0], [12.0]])
    labels = np.array([7, 7, 3, 3])
    d = diagnose(X, labels)
    # each user is 1 from its center; centers 10 apart: DB = (1 + 1) / 10
    assert d.davies_bouldin == pytest.approx(0.2, rel=1e-15)
    # between = 2 * 2 * 5^2 = 100, within = 4 * 1 = 4: CH = 100 * (4 - 2) / (4 * (2 - 1)) = 50
    assert d.calinski_harabasz == pytest.approx(50.0, rel=1e-15)
    assert d.inertia == pytest.approx(4.0, rel=1e-15)
    # identical users within each segment: CH is 1 by convention, as in scikit-learn
    same = diagnose(np.array([[0.0], [0.0], [5.0], [5.0]]), np.array([0, 0, 1, 1]))
    assert same.calinski_harabasz == 1.0
    assert same.davies_bouldin == 0.0


def test_scores_agree_with_scikit_learn_on_chunked_input() -> None:
    # more rows than one chunk of the single pass, with a missing id and negative ids
    rng = np.random.default_rng(3)
    X = rng.normal(size=(70_000, 3)) + np.repeat(np.eye(3) * 6, [30_000, 25_000, 15_000], axis=0)
    labels = np.repeat(np.array([0, 5, 2]), [30_000, 25_000, 15_000])
    d = diagnose(X, labels, silhouette_sample=500)
    assert d.davies_bouldin == pytest.approx(davies_bouldin_score(X, labels), rel=1e-10)
    assert d.calinski_harabasz == pytest.approx(calinski_harabasz_score(X, labels), rel=1e-10)
    part, shifted = X[29_000:31_000], labels[29_000:31_000] - 9  # ids -9 and -4
    negative = diagnose(part, shifted, silhouette_sample=500)
    assert negative.n_segments == 2
    assert negative.davies_bouldin == pytest.approx(davies_bouldin_score(part, shifted), rel=1e-10)


def test_undefined_scores_are_none() -> None:
    X, _ = four_blobs()
    one = diagnose(X, np.zeros(len(X), dtype=int))
    assert (one.silhouette, one.davies_bouldin, one.calinski_harabasz) == (None, None, None)
    assert one.inertia == pytest.approx(float(((X - X.mean(axis=0)) ** 2).sum()))
    with pytest.raises(InputError, match="differ"):
        diagnose(X, np.zeros(3, dtype=int))


def test_diagnose_result_takes_inertia_and_bic_from_the_fit() -> None:
    from segtui.clustering.fit import fit_clusters

    X, _ = four_blobs()
    km = fit_clusters(X, FitSpec("kmeans", {"k": 4}, seed=0))
    assert diagnose_result(X, km).inertia == km.inertia
    gm = fit_clusters(X, FitSpec("gmm", {"k": 4}, seed=0))
    d = diagnose_result(X, gm)
    assert d.bic == gm.bic and d.bic is not None


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm", "agglomerative"])
def test_sweep_suggests_the_planted_k(algorithm: str) -> None:
    X, _ = four_blobs()
    result = sweep(X, FitSpec(algorithm, seed=0), range(2, 8))
    assert [r.k for r in result.rows] == [2, 3, 4, 5, 6, 7]
    assert result.suggested_k == 4
    assert result.rule == "silhouette"
    assert result.reason.startswith("k=4 has the highest silhouette")
    best = max(result.rows, key=lambda r: r.diagnostics.silhouette or -1)
    assert best.k == 4
    if algorithm == "gmm":
        assert all(r.diagnostics.bic is not None for r in result.rows)
    assert not result.stopped
    json.dumps(result.to_dict())


def test_sweep_reports_progress_and_stops_on_request() -> None:
    X, _ = four_blobs()
    seen: list[float] = []
    result = sweep(X, FitSpec("kmeans"), [2, 3, 4], progress=lambda s, f: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert result.suggested_k == 4

    stages: list[str] = []
    result = sweep(
        X,
        FitSpec("kmeans"),
        [2, 3, 4, 5],
        progress=lambda s, f: stages.append(s),
        should_stop=lambda: "k=3: scoring" in stages,
    )
    assert result.stopped
    assert [r.k for r in result.rows] == [2, 3]
    assert "sweep stopped after 2 of 4 k" in result.reason


@pytest.mark.parametrize(
    ("algorithm", "params", "inertia", "bic"),
    [
        ("kmeans", {"k": 4}, True, False),
        ("minibatch_kmeans", {"k": 4}, True, False),
        ("birch", {"k": 4}, True, False),
        ("agglomerative", {"k": 4}, True, False),
        ("gmm", {"k": 4}, False, True),
        ("dbscan", {"eps": 3.0, "min_samples": 5}, False, False),
        ("hdbscan", {"min_cluster_size": 20}, False, False),
    ],
)
def test_diagnose_result_keeps_the_scores_of_its_algorithm(
    algorithm: str, params: dict, inertia: bool, bic: bool
) -> None:
    from segtui.clustering.fit import fit_clusters

    X, _ = four_blobs()
    d = diagnose_result(X, fit_clusters(X, FitSpec(algorithm, params, seed=0)))
    assert (d.inertia is not None, d.bic is not None) == (inertia, bic)
    assert d.n_segments == 4 and d.silhouette is not None


def test_sweep_times_each_k_after_the_warm_up() -> None:
    X, _ = four_blobs()
    result = sweep(X, FitSpec("kmeans"), [2, 3])
    assert result.warmup_seconds > 0
    assert [r.k for r in result.rows] == [2, 3] and all(r.seconds > 0 for r in result.rows)
    assert result.to_dict()["warmup_seconds"] == result.warmup_seconds


def test_sweep_bad_input() -> None:
    X, _ = four_blobs()
    for ks in ([1, 2, 3], [0, 4]):
        with pytest.raises(InputError, match="k must be at least 2: one segment is everyone"):
            sweep(X, FitSpec("kmeans"), ks)
    with pytest.raises(InputError, match="has no k to sweep"):
        sweep(X, FitSpec("dbscan"), [2, 3])
    with pytest.raises(InputError, match="larger than the number of users"):
        sweep(X, FitSpec("kmeans"), [2, 500])
    with pytest.raises(InputError, match="no k to sweep"):
        sweep(X, FitSpec("kmeans"), [])


def _row(k: int, sil: float | None, inertia: float | None, bic: float | None = None) -> SweepRow:
    from segtui.clustering.diagnostics import Diagnostics

    d = Diagnostics(k, 100, 0.0, sil, None, None, inertia, bic, 100 if sil else 0)
    return SweepRow(k, d, 0.0)


def test_elbow_and_tie_breaking_rules() -> None:
    assert elbow_k([1, 2, 3, 4, 5], [100.0, 40, 12, 10, 8]) == 3
    assert elbow_k([2, 3], [10.0, 5]) is None
    inertia = {2: 100.0, 3: 40.0, 4: 12.0, 5: 10.0, 6: 8.0}
    tied = [_row(k, {2: 0.50, 3: 0.61, 4: 0.60, 5: 0.40, 6: 0.3}[k], inertia[k]) for k in inertia]
    k, reason, rule = suggest_k(tied, "kmeans")
    assert (k, rule) == (4, "silhouette+elbow")
    assert "nearest the inertia elbow (k=4)" in reason
    bics = {3: 500.0, 4: 450.0}
    gm = [_row(k, {3: 0.61, 4: 0.60}[k], None, bics[k]) for k in (3, 4)]
    k, reason, rule = suggest_k(gm, "gmm")
    assert (k, rule) == (4, "silhouette+bic")
    k, reason, rule = suggest_k([_row(k, None, inertia[k]) for k in inertia], "kmeans")
    assert (k, rule) == (4, "elbow")
    assert suggest_k([], "kmeans")[0] is None
