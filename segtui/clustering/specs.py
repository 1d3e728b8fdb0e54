"""The choices behind a segmentation, as two small values: how to prepare, how to fit.

The CLI builds them from flags, the app from its setup panel, the project file stores them and
the model records what they resolved to; :func:`segtui.pipeline.run_segmentation` takes them.
Keeping the choices in two frozen values (instead of sixteen keyword arguments copied from layer
to layer) is what lets those four places agree without being kept in step by hand.

    >>> fit = FitSpec("kmeans", {"k": 4}, seed=3)
    >>> FitSpec.from_dict(fit.to_dict()) == fit
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from segtui.errors import InputError

WEIGHTINGS: tuple[str, ...] = ("within-segment", "time-position", "family", "none")
POWERS: tuple[str, ...] = ("yeo-johnson", "none")
SHARES: tuple[str, ...] = ("log", "none")


def check_weighting(weighting: str, file: str | Path | None = None) -> str:
    """``weighting`` when it is one of :data:`WEIGHTINGS`; otherwise an InputError listing them
    (naming ``file`` when the value was read from one)."""
    if weighting not in WEIGHTINGS:
        hint = f"Use one of: {', '.join(WEIGHTINGS)}."
        raise InputError(f"unknown weighting '{weighting}'", file=file, hint=hint)
    return weighting


class DataDefaults(Protocol):
    """What the data says about its features (``segtui.pipeline.UsersData`` has these)."""

    default_features: list[str]
    default_transforms: dict[str, str]
    default_fills: dict[str, str]
    missing_reasons: dict[str, str]
    families: dict[str, str]


@dataclass(frozen=True)
class PrepSpec:
    """Which features become the matrix and how: transform, missing-value fill, scaling.

    ``transforms`` and ``fills`` are a person's choices (by feature); ``default_transforms``
    and ``default_fills`` are what each feature's declaration says, used where the person chose
    nothing. ``missing_reasons`` ("no purchases") only words the messages.
    """

    features: tuple[str, ...]
    transforms: Mapping[str, str] = field(default_factory=dict)
    fills: Mapping[str, str] = field(default_factory=dict)
    scaling: str = "standard"
    default_transforms: Mapping[str, str] = field(default_factory=dict)
    default_fills: Mapping[str, str] = field(default_factory=dict)
    missing_reasons: Mapping[str, str] = field(default_factory=dict)
    families: Mapping[str, str] = field(default_factory=dict)
    """Feature -> family, for the family-balanced weights (a feature without one is its own)."""
    weighting: str = "within-segment"
    """"within-segment" (each feature weighted by one over its spread within the segments,
    refitted until they settle: :mod:`segtui.clustering.segment_weights`; K-Means and MiniBatch
    K-Means only, the others run unweighted; the measured winner, see the README), "none"
    (every feature counts once), "time-position" (the time-position features together count as
    one) or "family" (each family's squared weights sum to 1, time position being a family)."""
    power: str = "none"
    """After each feature's transform: "none" (the measured winner) or "yeo-johnson" (lambda
    fitted per feature, recorded in the model)."""
    shares: str = "log"
    """How generated shares of the user's events (``event_<id>_share``, ``category_<id>_share``)
    are read when their declaration says no transform: "log" (ln(share + 0.1), the measured
    winner, see the README) or "none"."""

    def __post_init__(self) -> None:
        # Read-only copies: a spec handed to a worker cannot change under it.
        object.__setattr__(self, "features", tuple(self.features))
        check_weighting(self.weighting)
        if self.power not in POWERS:
            raise InputError(
                f"unknown power transform '{self.power}'", hint=f"Use one of: {', '.join(POWERS)}."
            )
        if self.shares not in SHARES:
            raise InputError(
                f"unknown share transform '{self.shares}'", hint=f"Use one of: {', '.join(SHARES)}."
            )
        for name in ("transforms", "fills", "default_transforms", "default_fills", "families"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        object.__setattr__(self, "missing_reasons", MappingProxyType(dict(self.missing_reasons)))

    @classmethod
    def for_data(
        cls,
        data: DataDefaults,
        features: Sequence[str] | None = None,
        *,
        transforms: Mapping[str, str] | None = None,
        fills: Mapping[str, str] | None = None,
        scaling: str = "standard",
        weighting: str = "within-segment",
    ) -> PrepSpec:
        """The data's defaults (features, transforms, fills) with a person's choices on top."""
        return cls(
            features=tuple(features if features else data.default_features),
            transforms=dict(transforms or {}),
            fills=dict(fills or {}),
            scaling=scaling,
            default_transforms=dict(data.default_transforms),
            default_fills=dict(data.default_fills),
            missing_reasons=dict(data.missing_reasons),
            families=dict(data.families),
            weighting=weighting,
        )


@dataclass(frozen=True, eq=False)
class FitSpec:
    """Which algorithm, with which parameters, seed and sample size for quadratic ones."""

    algorithm: str = "kmeans"
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    sample_size: int | None = None

    def __post_init__(self) -> None:
        # Frozen all the way down: a read-only copy, so a caller's dict changed later (or a
        # consumer writing into spec.params) cannot change a spec already handed out.
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FitSpec):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[Any, ...]:
        params = tuple(sorted((k, repr(v)) for k, v in self.params.items()))
        return (self.algorithm, params, self.seed, self.sample_size)

    def without(self, *names: str) -> FitSpec:
        return replace(self, params={k: v for k, v in self.params.items() if k not in names})

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "params": dict(self.params),
            "seed": self.seed,
            "sample_size": self.sample_size,
        }

    @classmethod
    def from_dict(cls, data: Any, file: str | None = None) -> FitSpec:
        """Check and build; a wrong shape is an InputError naming the key."""
        if not isinstance(data, Mapping):
            raise InputError("the fit choices must be an object", file=file)
        algorithm = data.get("algorithm", "kmeans")
        params = data.get("params", {})
        seed = data.get("seed", 0)
        sample_size = data.get("sample_size")
        if not isinstance(algorithm, str):
            raise InputError("'algorithm' must be a name", file=file)
        if not isinstance(params, Mapping):
            raise InputError("'params' must be an object", file=file)
        if not _is_int(seed):
            raise InputError("'seed' must be a whole number", file=file)
        if sample_size is not None and not _is_int(sample_size):
            raise InputError("'sample_size' must be a whole number or null", file=file)
        return cls(algorithm, dict(params), seed, sample_size)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
