"""One interface over the clustering algorithms segtui offers, with stable segment ids.

``fit_clusters(X, FitSpec(algorithm, params, seed))`` fits K-Means, MiniBatch K-Means, agglomerative
(ward/average), DBSCAN, HDBSCAN, a Gaussian mixture or BIRCH and returns a :class:`ClusterResult`
whose labels are *canonical*: segment 0 is the largest, ties go to the segment holding the
earliest row, and noise (DBSCAN/HDBSCAN) is the last id. So the same data, parameters and seed
always give the same ids, whatever numbers the algorithm happened to use.

Algorithms whose cost grows with the square of the number of users (agglomerative, DBSCAN,
HDBSCAN, and BIRCH, whose final ward step is quadratic in its subclusters) fit on a seeded sample
and extend the labels to everyone; the result says so in ``sampled``, ``extension`` and ``note``.
Default sample sizes, measured on the 2-core reference machine with 30 features:

- agglomerative and BIRCH: 10,000 (ward ~2.9 s, average ~2.2 s, BIRCH ~2.2 s on 10k;
  ward needs ~14 s on 20k), extended by nearest segment center (cheap).
- DBSCAN and HDBSCAN: 5,000 (HDBSCAN ~0.6 s on 5k, 2.4 s on 10k, 9.5 s on 20k), extended by
  nearest sampled user; the extension itself costs ~0.6 s per 100k users on 5k sampled users.

What is common to every algorithm (checks, sampling, the summary) is here; each family's fit is
a fitter in its own module (``_centroid``, ``_hierarchical``, ``_density``, ``_mixture``), found
through :data:`segtui.clustering.registry.ALGORITHMS`. Everything needed to label new users the
same way is in ``ClusterResult.state``, a typed state (:mod:`segtui.clustering.state`) that
:func:`assign_new` reads.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from segtui.clustering._centroid import auto_restarts
from segtui.clustering._density import EpsSuggestion, suggest_eps
from segtui.clustering._fitter import FitJob, Fitted
from segtui.clustering.control import Progress, ShouldStop, check_stop, report
from segtui.clustering.kernels import as_matrix, segment_means
from segtui.clustering.registry import AlgorithmInfo, algorithm_info, resolve_params
from segtui.clustering.specs import FitSpec
from segtui.clustering.state import ClusterState
from segtui.errors import InputError
from segtui.fields import MODEL_HINT
from segtui.sampling import sample_rows

__all__ = [
    "ClusterResult",
    "EpsSuggestion",
    "assign_new",
    "auto_restarts",
    "fit_clusters",
    "suggest_eps",
]


@dataclass
class ClusterResult:
    """A fitted clustering with canonical segment ids."""

    labels: np.ndarray
    """int64 segment id per row of X: 0 is the largest segment, noise (if any) is the last id."""
    n_segments: int
    noise_id: int | None
    """Id of the noise segment (always the last), or None when no user is noise. Density
    results keep ``state.noise_id`` (= n_segments when no user was noise) for new users."""
    centers: np.ndarray
    """n_segments x n_features: mean of X per segment (noise too)."""
    sizes: np.ndarray
    algorithm: str
    params: dict[str, Any]
    """Parameters used, with defaults filled (and DBSCAN's eps resolved)."""
    seed: int
    state: ClusterState
    """What :func:`assign_new` needs to label new users (``to_dict()`` is JSON-safe)."""
    sampled: bool = False
    sample_size: int | None = None
    """Users the model was fitted on (all of them when not sampled)."""
    sample_indices: np.ndarray | None = None
    """Rows of X in the fitted sample (sorted), when sampled."""
    extension: str | None = None
    """How users outside the sample were labelled: "nearest_center" or "nearest_sampled_user"."""
    note: str = ""
    tree: dict[str, Any] | None = None
    """Agglomerative merge tree (scikit-learn/scipy convention) over the fitted sample."""
    inertia: float | None = None
    """Sum of squared distances to the assigned center (centroid algorithms)."""
    bic: float | None = None
    """Bayesian information criterion on the fitted data (Gaussian mixture)."""
    messages: list[str] = field(default_factory=list)

    def to_dict(self, include_labels: bool = False) -> dict[str, Any]:
        """JSON-safe summary (labels only when asked: they are one number per user)."""
        out: dict[str, Any] = {
            "algorithm": self.algorithm,
            "params": dict(self.params),
            "seed": self.seed,
            "n_segments": self.n_segments,
            "noise_id": self.noise_id,
            "sizes": [int(s) for s in self.sizes],
            "centers": self.centers.tolist(),
            "sampled": self.sampled,
            "sample_size": self.sample_size,
            "extension": self.extension,
            "note": self.note,
            "inertia": self.inertia,
            "bic": self.bic,
            "messages": list(self.messages),
            "state": self.state.to_dict(),
        }
        if include_labels:
            out["labels"] = self.labels.tolist()
        return out


def fit_clusters(
    X: np.ndarray,
    spec: FitSpec,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    user_ids: Sequence[str] | None = None,
    init: np.ndarray | None = None,
) -> ClusterResult:
    """Cluster the rows of X and return canonical labels plus what assigning new rows needs.

    Parameters
    ----------
    X:
        Prepared matrix (finite float, users x features), rows in user_id order.
    spec:
        The algorithm (a key of :data:`ALGORITHMS`), its parameters (defaults filled in), the
        seed (same inputs and seed -> same labels and ids) and the sample size: users a
        quadratic algorithm is fitted on (default ``AlgorithmInfo.default_sample_size``: 10,000
        for agglomerative/BIRCH, 5,000 for DBSCAN/HDBSCAN; ignored by linear algorithms).
    progress:
        Called as ``progress(stage, fraction)``.
    should_stop:
        Polled between stages and label blocks; when it returns True, :class:`Cancelled` is raised.
    user_ids:
        The users of X's rows: a sample holds the users :func:`segtui.sampling.sample_rows`
        picks, the same ones an engine's SQL picks (without ids, row numbers stand in).
    init:
        Centres (k x features) to start K-Means or MiniBatch K-Means from, with one start:
        how a reweighted refit continues the fit before it. Other algorithms refuse it.

    Extension rules when sampled (the fitted sample keeps its own labels):

    - agglomerative: nearest segment center (mean of its sampled members);
    - BIRCH: nearest BIRCH subcluster, which carries its segment (BIRCH's own predict);
    - DBSCAN: the segment of the nearest sampled *core* user when within eps, else noise
      (DBSCAN's own border-point rule);
    - HDBSCAN: the segment of the nearest sampled user when it is not noise and the distance is
      within that user's core distance (distance to its min_samples-th nearest sampled user,
      itself included), else noise.
    """
    algorithm, seed, sample_size = spec.algorithm, spec.seed, spec.sample_size
    params = spec.params
    info = algorithm_info(algorithm)
    X = as_matrix(X)
    resolved = resolve_params(algorithm, params)
    _check_users(info, resolved, X.shape[0])
    ids = [str(i) for i in range(X.shape[0])] if user_ids is None else user_ids
    if len(ids) != X.shape[0]:
        raise ValueError(f"{len(ids)} user ids for {X.shape[0]} rows")
    rows = _sample_rows(info, resolved, ids, seed, sample_size, progress)
    if init is not None and not info.continues:
        raise ValueError(f"{info.label} does not start from given centres")
    job = FitJob(
        algorithm=algorithm,
        X=X,
        sample=X if rows is None else X[rows],
        rows=rows,
        params=resolved,
        seed=seed,
        progress=progress,
        should_stop=should_stop,
        init=None if init is None else np.ascontiguousarray(init, dtype=np.float64),
    )
    _check_distinct(info, resolved, job.sample)
    check_stop(should_stop)
    report(progress, "fitting", 0.05)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = info.fitter.fit(job)
    fitted = replace(fitted, messages=(*fitted.messages, *_warning_messages(info, caught)))
    check_stop(should_stop)
    report(progress, "summarising", 0.9)
    result = _result(info, job, fitted)
    report(progress, "done", 1.0)
    return result


def _check_users(info: AlgorithmInfo, params: Mapping[str, Any], n: int) -> None:
    if n < 2:
        raise InputError(f"need at least 2 users to cluster (got {n})")
    if info.uses_k and params["k"] > n:
        raise InputError(
            f"k = {params['k']} is larger than the number of users ({n:,})",
            hint=f"Pick k of at most {n:,}.",
        )


def _check_distinct(info: AlgorithmInfo, params: Mapping[str, Any], X: np.ndarray) -> None:
    """k segments need k different users: refuse, saying how many distinct ones there are.

    Rows are read in order until k distinct ones are seen, so real data pays for about k rows;
    only a matrix with fewer than k distinct rows is read whole.
    """
    if not info.uses_k:
        return
    k = int(params["k"])
    seen: set[bytes] = set()
    for row in X:
        seen.add(row.tobytes())
        if len(seen) >= k:
            return
    raise InputError(
        f"k = {k} segments were asked, but the {X.shape[0]:,} users fitted have only "
        f"{len(seen)} distinct feature profile{'s' if len(seen) != 1 else ''}",
        hint=f"Pick k of at most {len(seen)}, or features that tell these users apart.",
    )


def _warning_messages(info: AlgorithmInfo, caught: list[warnings.WarningMessage]) -> list[str]:
    """What the library warned about while fitting, as notes for a person (no file paths)."""
    texts: dict[str, None] = {}
    for item in caught:
        first = str(item.message).strip().splitlines()[0] if str(item.message).strip() else ""
        if first:
            texts.setdefault(f"{info.label}: {first}", None)
    return list(texts)


def _sample_rows(
    info: AlgorithmInfo,
    params: Mapping[str, Any],
    user_ids: Sequence[str],
    seed: int,
    sample_size: int | None,
    progress: Progress | None,
) -> np.ndarray | None:
    """The seeded sample a quadratic algorithm is fitted on (sorted rows), or None for all."""
    n = len(user_ids)
    limit = sample_size if sample_size is not None else info.default_sample_size
    if sample_size is not None and sample_size < 2:
        raise InputError(f"sample_size must be at least 2 (got {sample_size})")
    if not (info.quadratic and limit is not None and n > limit):
        return None
    report(progress, "sampling", 0.0)
    rows = sample_rows(user_ids, limit, seed)
    if info.uses_k and params["k"] > limit:
        raise InputError(
            f"k = {params['k']} is larger than the fitted sample ({limit:,} users)",
            hint="Raise the sample size or lower k.",
        )
    return rows


def _result(info: AlgorithmInfo, job: FitJob, fitted: Fitted) -> ClusterResult:
    """The fitter's labels and state, with what every algorithm reports alongside."""
    n = job.X.shape[0]
    centers, sizes = segment_means(job.X, fitted.labels, fitted.n_segments)
    params = {**job.params, **fitted.params}
    return ClusterResult(
        labels=fitted.labels,
        n_segments=fitted.n_segments,
        noise_id=fitted.noise_id,
        centers=centers,
        sizes=sizes,
        algorithm=info.name,
        params=params,
        seed=job.seed,
        state=fitted.state,
        sampled=job.sampled,
        sample_size=n if job.rows is None else len(job.rows),
        sample_indices=job.rows,
        extension=fitted.extension,
        note=_note(info, n, job.rows, fitted.extended_how),
        tree=fitted.tree,
        inertia=fitted.inertia,
        bic=fitted.bic,
        messages=[*fitted.messages, *_segment_messages(info, job.params, fitted)],
    )


def _segment_messages(info: AlgorithmInfo, params: Mapping[str, Any], fitted: Fitted) -> list[str]:
    """Say when fewer segments than asked were found, or when everyone is noise."""
    n_real = fitted.n_segments - (fitted.noise_id is not None)
    messages = []
    if info.uses_k and n_real < params["k"]:
        messages.append(
            f"found {n_real} segment{'s' if n_real != 1 else ''} where k = {params['k']} was "
            "asked: the users are too alike to split further" + fitted.fewer_hint
        )
    if fitted.noise_id is not None and n_real == 0:
        messages.append(
            "every user is noise: lower min_cluster_size/min_samples (or raise eps), or use "
            "another algorithm"
        )
    return messages


def _note(info: AlgorithmInfo, n: int, rows: np.ndarray | None, how: str) -> str:
    if rows is None:
        return f"{info.label} fitted on all {n:,} users."
    text = (
        f"{info.label} is quadratic in users, so it was fitted on a seeded sample of "
        f"{len(rows):,} of {n:,} users; the other {n - len(rows):,} got {how}."
    )
    return f"{text} Measured: {info.timing}." if info.timing else text


def assign_new(
    state: ClusterState, X: np.ndarray, should_stop: ShouldStop | None = None
) -> np.ndarray:
    """Label new rows (prepared with the same parameters) with a fitted result's ``state``.

    Centroid algorithms: the nearest stored center. Gaussian mixture: the most likely component
    under the stored weights, means and precisions (the mixture's own predict; reproduces the
    fitted labels exactly on the training X). DBSCAN/HDBSCAN: see ``state.radius_rule``.
    """
    X = as_matrix(X)
    expected = state.n_features
    if expected is not None and X.shape[1] != expected:
        raise InputError(
            f"the model expects {expected} features but the matrix has {X.shape[1]}",
            hint="Prepare new users with the model's own preparation parameters.",
        )
    try:
        return state.assign(X, should_stop)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise InputError(
            f"the clustering state is not valid ({type(exc).__name__}: {exc})", hint=MODEL_HINT
        ) from None
