"""A 2-D PCA projection of all users for the scatter plot and the export's pc1/pc2 columns.

The PCA is fitted on the prepared matrix (on a seeded sample when it is large: two components of a
few dozen features are pinned down well by 100k rows) and then applied to every user. The fitted
``mean`` and ``components`` are plain lists so the model JSON can place new users on the same
axes. Component signs are fixed (the largest-magnitude loading of each axis is positive), so the
picture does not flip between runs or machines.

Drawing a million points in a terminal helps no one, so ``display_index`` is a seeded sample of at
most ``max_points`` rows; given ``labels`` it is stratified so small segments still show up
(a fifth of the budget is shared equally among segments, the rest is proportional to size).

:func:`project_tsne` is the other picture: a t-SNE of a seeded (stratified) sample of at most
:data:`TSNE_SAMPLE` users. It keeps neighbours together, so well-separated groups show as
islands, but the distances between islands and their sizes mean nothing; it places no new users
and is never written to the model (a view only).

    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    >>> p = project_pca(X)
    >>> [round(v, 6) for v in p.explained]
    [1.0, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from segtui.errors import InputError
from segtui.fields import Fields

DISPLAY_SAMPLE = 20_000
"""Rows a projection's ``display_index`` holds at most by default: the users a scatter of the
run may draw (a stratified sample). A viewer may draw fewer of them (the app's terminal scatter)."""

FIT_MAX_ROWS = 100_000
"""Rows the PCA is fitted on at most (a seeded sample above this); every row is projected."""


TSNE_SAMPLE = 2_000
"""Users a t-SNE is computed on at most (a seeded, stratified sample). Measured on a 2-core
machine shared with other jobs: 2,500 x 30 in 20 s (500 steps, load 7) and 2,000 x 19 in 57 s
(load 11); it runs in a worker, so the app waits for it, never freezes. A terminal scatter
cannot show more points than this anyway."""

TSNE_ITERATIONS = 500
"""Gradient steps of the t-SNE (scikit-learn's default is 1,000): the picture of a few thousand
points has settled by then, at half the cost."""


@dataclass(frozen=True, eq=False)
class TsneProjection:
    """A t-SNE picture of a sample of users: coordinates for the sampled rows only."""

    coords: np.ndarray
    """(m, 2) float32, one row per sampled user, in the order of ``rows``."""
    rows: np.ndarray
    """Sorted row indices (int64) of the sampled users in the matrix."""
    n_rows: int
    """Users in the matrix the sample was drawn from."""
    perplexity: float
    seed: int

    @property
    def sampled(self) -> bool:
        return len(self.rows) < self.n_rows


@dataclass(frozen=True, eq=False)
class Projection:
    """2-D coordinates for every user plus what is needed to project new ones."""

    coords: np.ndarray
    """(n, 2) float32, one row per user in input order."""
    explained: tuple[float, float]
    """Share of the total variance along each axis."""
    components: list[list[float]]
    """Two rows of loadings, one value per feature."""
    mean: list[float]
    """Per-feature mean subtracted before projecting."""
    display_index: np.ndarray
    """Sorted row indices (int64) to draw: all rows, or a seeded (stratified) sample."""
    fitted_rows: int
    """How many rows the PCA was fitted on (less than n when sampled)."""

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Project new rows (same features, same preparation) onto the two axes."""
        with _one_blas_thread():
            return _project(np.asarray(X, dtype=np.float64), self.components, self.mean)

    def to_dict(self) -> dict[str, Any]:
        """The fitted parameters (not the coordinates), JSON-ready."""
        return {
            "explained": list(self.explained),
            "components": self.components,
            "mean": self.mean,
            "fitted_rows": self.fitted_rows,
        }

    @staticmethod
    def params_from_dict(
        data: Any, width: int | None = None, file: str | Path | None = None
    ) -> tuple[list[list[float]], list[float]]:
        """``(components, mean)`` from :meth:`to_dict` output, checked (``width`` features).

        Errors name the model key (``projection.mean``): this is the model's projection section.
        """
        fields = Fields(data, file, "projection")
        mean = [float(v) for v in fields.numbers("mean", width)]
        n = len(mean)
        components = fields.matrix("components", n)
        if len(components) != 2:
            raise fields.error("components", "must hold two rows (pc1 and pc2); it is damaged")
        return components.tolist(), mean


def project_rows(
    X: np.ndarray, components: Sequence[Sequence[float]], mean: Sequence[float]
) -> np.ndarray:
    """Rows projected onto saved PCA axes (a model's ``projection``): (n, 2) float32."""
    with _one_blas_thread():
        return _project(np.asarray(X, dtype=np.float64), components, mean)


def _one_blas_thread() -> Any:
    """One BLAS thread for the 30 x 30 covariance and the 2-column projection.

    Both are memory-bound; on 2 cores a second OpenBLAS thread gains nothing and, when the
    machine is busy, the calling thread spins waiting for it (seen: 0.1 s became 3-7 s for 1M
    users). The products are the same bit for bit with one thread.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _project(
    X: np.ndarray, components: Sequence[Sequence[float]], mean: Sequence[float]
) -> np.ndarray:
    comp = np.asarray(components, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != comp.shape[1]:
        raise InputError(
            f"the matrix has {X.shape[-1] if X.ndim else 0} features but the projection was fitted "
            f"on {comp.shape[1]}"
        )
    # C @ X.T - C @ mean avoids a centred copy of a large X (and is the fast BLAS layout).
    offset = comp @ np.asarray(mean, dtype=np.float64)
    projected = (comp @ X.T).T - offset
    return np.ascontiguousarray(projected, dtype=np.float32)


def project_pca(
    X: np.ndarray,
    seed: int = 0,
    max_points: int | None = DISPLAY_SAMPLE,
    labels: np.ndarray | Sequence[int] | None = None,
    fit_max_rows: int = FIT_MAX_ROWS,
) -> Projection:
    """Fit a 2-component PCA on ``X`` (sampled above ``fit_max_rows``) and project every row.

    Same ``X`` and ``seed`` give the same result. ``max_points=None`` draws every row.
    """
    matrix = np.asarray(X, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise InputError("the projection needs at least one user and one feature")
    if not np.isfinite(matrix).all():
        raise InputError("the prepared matrix has missing or infinite values")
    n, d = matrix.shape
    rng = np.random.default_rng(seed)
    if n > fit_max_rows:
        sample = np.sort(rng.choice(n, size=fit_max_rows, replace=False))
        fit = matrix[sample]
    else:
        fit = matrix
    with _one_blas_thread():
        mean = fit.mean(axis=0)
        centred = fit - mean
        cov = centred.T @ centred / fit.shape[0]
        values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1]
    values, vectors = np.clip(values[order], 0.0, None), vectors[:, order]
    components = np.zeros((2, d))
    take = min(2, d)
    components[:take] = vectors[:, :take].T
    for row in components[:take]:
        if row[np.argmax(np.abs(row))] < 0:
            row *= -1.0
    total = float(values.sum())
    explained = [float(values[i]) / total if total > 0 and i < d else 0.0 for i in range(2)]
    with _one_blas_thread():
        coords = _project(matrix, components.tolist(), mean.tolist())
    display = display_sample(n, max_points, seed=seed, labels=labels)
    return Projection(
        coords=coords,
        explained=(explained[0], explained[1]),
        components=components.tolist(),
        mean=mean.tolist(),
        display_index=display,
        fitted_rows=int(fit.shape[0]),
    )


def display_sample(
    n: int,
    max_points: int | None,
    seed: int = 0,
    labels: np.ndarray | Sequence[int] | None = None,
) -> np.ndarray:
    """Sorted row indices to draw: all when ``n <= max_points``, else a seeded sample.

    With ``labels`` the sample is stratified: each segment first gets an equal part of a fifth of
    the budget (all its rows when smaller), the rest is split in proportion to the rows left
    (largest remainders), so every segment appears and the total is exactly ``max_points``.
    """
    if max_points is None or n <= max_points:
        return np.arange(n, dtype=np.int64)
    if max_points < 1:
        raise InputError("max_points must be at least 1")
    rng = np.random.default_rng([seed, 1])
    if labels is None:
        return np.sort(rng.choice(n, size=max_points, replace=False)).astype(np.int64)
    label_array = np.asarray(labels)
    if label_array.shape != (n,):
        raise InputError(f"{label_array.size} labels for {n} rows: they must be aligned")
    _, inverse, sizes = np.unique(label_array, return_inverse=True, return_counts=True)
    quota = _stratified_quota(sizes, max_points)
    perm = rng.permutation(n)
    by_group = perm[np.argsort(inverse[perm], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    picked = [by_group[s : s + q] for s, q in zip(starts, quota, strict=True)]
    return np.sort(np.concatenate(picked)).astype(np.int64)


def _stratified_quota(sizes: np.ndarray, budget: int) -> np.ndarray:
    """Rows per group: an equal floor from a fifth of the budget, the rest by size."""
    groups = sizes.size
    floor = np.minimum(sizes, max(1, math.ceil(0.2 * budget / groups)))
    if floor.sum() >= budget:  # more groups than budget: the largest groups first
        floor = np.zeros_like(sizes)
        for i in np.argsort(-sizes, kind="stable")[:budget]:
            floor[i] = 1
        return floor
    remaining = budget - int(floor.sum())
    left = sizes - floor
    exact = remaining * left / left.sum()
    extra = np.floor(exact).astype(np.int64)
    short = remaining - int(extra.sum())
    fraction = exact - extra
    for i in np.argsort(-fraction, kind="stable")[:short]:
        extra[i] += 1
    return floor + extra


def project_tsne(
    X: np.ndarray,
    seed: int = 0,
    max_points: int = TSNE_SAMPLE,
    labels: np.ndarray | Sequence[int] | None = None,
    iterations: int = TSNE_ITERATIONS,
) -> TsneProjection:
    """A 2-D t-SNE (PCA start, seeded) of at most ``max_points`` rows of ``X``.

    The sample is :func:`display_sample` (stratified by ``labels`` when given, so small segments
    show); same ``X``, ``seed`` and ``labels`` give the same picture. Perplexity is 30, or less
    when there are too few rows for it (t-SNE needs more than three times the perplexity).
    """
    from sklearn.manifold import TSNE

    matrix = np.asarray(X, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] < 3 or matrix.shape[1] == 0:
        raise InputError("t-SNE needs at least three users and one feature")
    if not np.isfinite(matrix).all():
        raise InputError("the prepared matrix has missing or infinite values")
    n = matrix.shape[0]
    rows = display_sample(n, max(3, max_points), seed=seed, labels=labels)
    sample = matrix[rows]
    perplexity = float(min(30.0, (len(rows) - 1) / 3.0))
    with _one_blas_thread():
        coords = TSNE(
            n_components=2,
            perplexity=perplexity,
            init="pca",
            learning_rate="auto",
            max_iter=max(250, iterations),
            random_state=seed,
            n_jobs=1,
        ).fit_transform(sample)
    return TsneProjection(
        coords=np.ascontiguousarray(coords, dtype=np.float32),
        rows=rows,
        n_rows=n,
        perplexity=perplexity,
        seed=seed,
    )
