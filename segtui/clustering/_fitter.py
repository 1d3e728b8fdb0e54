"""The one interface every algorithm family implements.

A family (centroid, hierarchical, density, mixture) has a fitter: ``fit(job) -> Fitted``. The job
holds the whole matrix and the rows the algorithm is fitted on (a seeded sample for quadratic
algorithms); the fitter labels *every* row canonically and returns the family's typed state, whose
``assign(X, should_stop)`` labels new rows the same way. :func:`segtui.clustering.fit.fit_clusters`
does what is common (checks, sampling, summary, note) and dispatches on
``AlgorithmInfo.fitter``; :func:`segtui.clustering.fit.assign_new` on the state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from segtui.clustering.control import Progress, ShouldStop, check_stop, report

NEAREST_CENTER = "the segment of their nearest center"
"""How users outside a fitted sample were labelled, in the note's words (centroid default)."""


class State(Protocol):
    """What a fitted clustering keeps to label new users (JSON-safe through ``to_dict``)."""

    rule: ClassVar[str]
    """The ``rule`` key of the state in the model file."""

    @property
    def n_features(self) -> int | None:
        """Width of the matrix it labels (None when it holds no reference rows)."""
        ...

    def assign(self, X: np.ndarray, should_stop: ShouldStop | None = None) -> np.ndarray:
        """Canonical segment id per row of X (prepared the same way as the fitted matrix)."""
        ...

    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], file: str | Path | None = None, n_features: int | None = None
    ) -> State: ...


class ComparedAsDict:
    """States hold numpy arrays, which ``==`` cannot compare whole: compare their JSON instead."""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]


def with_identity(
    out: dict[str, Any], algorithm: str | None, n_segments: int | None
) -> dict[str, Any]:
    """Add the algorithm and segment count a fit records last in its state (a split's has none)."""
    if algorithm is not None:
        out["algorithm"] = algorithm
    if n_segments is not None:
        out["n_segments"] = n_segments
    return out


@dataclass(frozen=True, eq=False)
class FitJob:
    """One fit, as every family sees it."""

    algorithm: str
    X: np.ndarray
    """Every row (finite float64, users x features)."""
    sample: np.ndarray
    """The rows the algorithm is fitted on: ``X`` itself, or ``X[rows]``."""
    rows: np.ndarray | None
    """Sorted rows of X in the fitted sample, or None when fitted on all rows."""
    params: Mapping[str, Any]
    """Resolved parameters (defaults filled, validated)."""
    seed: int
    progress: Progress | None = None
    should_stop: ShouldStop | None = None
    init: np.ndarray | None = None
    """Centres to start from (K-Means' one start; a reweighted refit continues a fit)."""

    @property
    def sampled(self) -> bool:
        return self.rows is not None

    def labelling(self) -> None:
        """The model is fitted; labelling every row comes next."""
        report(self.progress, "labelling", 0.6)

    def check_stop(self) -> None:
        check_stop(self.should_stop)


@dataclass(frozen=True, eq=False)
class Fitted:
    """What a fitter found: canonical labels for every row and the state that reproduces them."""

    labels: np.ndarray
    """int64 canonical segment id per row of ``FitJob.X``."""
    n_segments: int
    state: State
    noise_id: int | None = None
    """Id of the noise segment when some user is noise (density families)."""
    extension: str | None = None
    """How rows outside the sample were labelled ("nearest_center", "nearest_sampled_user")."""
    extended_how: str = NEAREST_CENTER
    params: Mapping[str, Any] = field(default_factory=dict)
    """Parameter values the fit chose (DBSCAN's eps, K-Means' automatic restarts)."""
    tree: dict[str, Any] | None = None
    inertia: float | None = None
    bic: float | None = None
    messages: tuple[str, ...] = ()
    fewer_hint: str = ""
    """Appended to "found fewer segments than k" (e.g. BIRCH: lower the threshold)."""


class Fitter(Protocol):
    """One algorithm family's fit."""

    def fit(self, job: FitJob) -> Fitted: ...
