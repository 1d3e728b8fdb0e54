"""The mixture family: a Gaussian mixture, its log-probabilities and its predict.

New users take their most likely component under the stored weights, means and precisions:
scikit-learn's own formulas, so assigning the training rows reproduces the fitted labels exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from segtui.clustering._fitter import ComparedAsDict, FitJob, Fitted, with_identity
from segtui.clustering.control import ShouldStop, check_stop
from segtui.clustering.kernels import CHUNK_ROWS, canonical_labels, threads
from segtui.fields import Fields


@dataclass(frozen=True, eq=False)
class MixtureState(ComparedAsDict):
    """A fitted Gaussian mixture; ``component_labels`` maps components to segments (-1: none)."""

    rule: ClassVar[str] = "gmm"
    covariance_type: str
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray | None
    """Kept for people reading the model; predicting uses the precisions."""
    precisions_cholesky: np.ndarray
    component_labels: np.ndarray
    algorithm: str | None = None
    n_segments: int | None = None

    @property
    def n_features(self) -> int | None:
        return int(self.means.shape[1])

    def assign(self, X: np.ndarray, should_stop: ShouldStop | None = None) -> np.ndarray:
        comp = self.most_likely(X, should_stop, allowed=self.component_labels >= 0)
        return self.component_labels[comp]

    def most_likely(
        self,
        X: np.ndarray,
        should_stop: ShouldStop | None = None,
        allowed: np.ndarray | None = None,
    ) -> np.ndarray:
        """Most likely component per row (raw component index), block by block."""
        out = np.empty(X.shape[0], dtype=np.int64)
        with threads(1):
            for start in range(0, X.shape[0], CHUNK_ROWS):
                check_stop(should_stop)
                block = X[start : start + CHUNK_ROWS]
                log_prob = self.log_prob(block)
                if allowed is not None:
                    log_prob[:, ~allowed] = -np.inf
                out[start : start + len(block)] = np.argmax(log_prob, axis=1)
        return out

    def log_prob(self, X: np.ndarray) -> np.ndarray:
        """Weighted log density per component (scikit-learn's formulas), for one block of rows."""
        d = X.shape[1]
        log_det, squared = _SQUARED_DISTANCES[self.covariance_type](
            X, self.means, self.precisions_cholesky
        )
        return -0.5 * (d * np.log(2 * np.pi) + squared) + log_det + np.log(self.weights)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "covariance_type": self.covariance_type,
            "weights": self.weights.tolist(),
            "means": self.means.tolist(),
        }
        if self.covariances is not None:
            out["covariances"] = self.covariances.tolist()
        out["precisions_cholesky"] = self.precisions_cholesky.tolist()
        out["component_labels"] = self.component_labels.tolist()
        return with_identity(out, self.algorithm, self.n_segments)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], file: str | Path | None = None, n_features: int | None = None
    ) -> MixtureState:
        fields = Fields(data, file)
        means = fields.matrix("means", n_features)
        labels = fields.labels("component_labels", len(means))
        covariance_type = fields.get("covariance_type", str)
        if covariance_type not in _SQUARED_DISTANCES:
            raise fields.error("covariance_type", f"is {covariance_type!r}, not a known type")
        covariances = data.get("covariances")
        return cls(
            covariance_type=covariance_type,
            weights=fields.numbers("weights"),
            means=means,
            covariances=None if covariances is None else fields.numbers("covariances"),
            precisions_cholesky=fields.numbers("precisions_cholesky"),
            component_labels=labels,
            **fields.identity(),
        )


def _full(X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray) -> tuple[Any, np.ndarray]:
    log_det = np.sum(np.log(np.diagonal(prec_chol, axis1=1, axis2=2)), axis=1)
    squared = np.empty((X.shape[0], means.shape[0]))
    for c in range(means.shape[0]):
        y = X @ prec_chol[c] - means[c] @ prec_chol[c]
        squared[:, c] = np.sum(np.square(y), axis=1)
    return log_det, squared


def _tied(X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray) -> tuple[Any, np.ndarray]:
    log_det = np.full(means.shape[0], np.sum(np.log(np.diag(prec_chol))))
    squared = np.empty((X.shape[0], means.shape[0]))
    for c in range(means.shape[0]):
        y = X @ prec_chol - means[c] @ prec_chol
        squared[:, c] = np.sum(np.square(y), axis=1)
    return log_det, squared


def _diag(X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray) -> tuple[Any, np.ndarray]:
    precisions = prec_chol**2
    squared = (
        np.sum(means**2 * precisions, 1)
        - 2.0 * (X @ (means * precisions).T)
        + (X**2) @ precisions.T
    )
    return np.sum(np.log(prec_chol), axis=1), squared


def _spherical(X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray) -> tuple[Any, np.ndarray]:
    precisions = prec_chol**2
    squared = (
        np.sum(means**2, 1) * precisions
        - 2 * (X @ means.T * precisions)
        + np.outer(np.einsum("ij,ij->i", X, X), precisions)
    )
    return X.shape[1] * np.log(prec_chol), squared


_SQUARED_DISTANCES = {"full": _full, "tied": _tied, "diag": _diag, "spherical": _spherical}
"""Covariance type -> (log-determinant of the precisions, squared Mahalanobis distance)."""


class MixtureFitter:
    """EM on the matrix, then every user's most likely component."""

    def fit(self, job: FitJob) -> Fitted:
        from sklearn.mixture import GaussianMixture

        p = job.params
        # EM is numpy on (users x k) blocks: one BLAS thread (its K-Means start keeps OpenMP)
        with threads(1):
            model = GaussianMixture(
                n_components=p["k"],
                covariance_type=p["covariance_type"],
                max_iter=p["max_iter"],
                n_init=p["n_init"],
                random_state=job.seed,
            ).fit(job.sample)
            bic = float(model.bic(job.sample))
        messages: tuple[str, ...] = ()
        if not model.converged_:
            messages = (
                f"the Gaussian mixture did not converge in {p['max_iter']} iterations; "
                "raise max_iter for a steadier result",
            )
        job.labelling()
        state = _state(model, p["covariance_type"], job.algorithm)
        labels, mapping = canonical_labels(state.most_likely(job.X, job.should_stop))
        component_labels = [mapping.get(c, -1) for c in range(p["k"])]
        state = replace(
            state,
            component_labels=np.asarray(component_labels, dtype=np.int64),
            n_segments=len(mapping),
        )
        return Fitted(labels, len(mapping), state, bic=bic, messages=messages)


def _state(model: Any, covariance_type: str, algorithm: str) -> MixtureState:
    """The fitted mixture as plain arrays (C order, as read back from a model file)."""

    def array(value: Any) -> np.ndarray:
        return np.array(np.asarray(value).tolist(), dtype=np.float64)

    k = len(model.weights_)
    return MixtureState(
        covariance_type=covariance_type,
        weights=array(model.weights_),
        means=array(model.means_),
        covariances=array(model.covariances_),
        precisions_cholesky=array(model.precisions_cholesky_),
        component_labels=np.arange(k, dtype=np.int64),
        algorithm=algorithm,
    )


MIXTURE = MixtureFitter()
