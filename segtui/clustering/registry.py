"""The algorithms segtui offers, as data: parameters, costs, and the fitter of each.

The app renders its setup panel and the CLI its help from :data:`ALGORITHMS`;
:func:`resolve_params` fills defaults and validates what a person typed;
:func:`segtui.clustering.fit.fit_clusters` dispatches on ``AlgorithmInfo.fitter``. Adding an
algorithm is one entry here and, for a new family, one fitter module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from segtui.clustering._centroid import BIRCH, KMEANS, MINIBATCH_KMEANS
from segtui.clustering._density import DBSCAN, HDBSCAN
from segtui.clustering._fitter import Fitter
from segtui.clustering._hierarchical import AGGLOMERATIVE
from segtui.clustering._mixture import MIXTURE
from segtui.errors import InputError

DENSITY_SAMPLE_SIZE = 5_000
"""Default sample for DBSCAN/HDBSCAN: HDBSCAN fits 5k x 30 in ~0.6 s on 2 cores (9.5 s on 20k)."""

HIERARCHY_SAMPLE_SIZE = 10_000
"""Default sample for agglomerative/BIRCH: ward fits 10k x 30 in ~2.9 s on 2 cores (14 s on 20k)."""


@dataclass(frozen=True)
class ParamSpec:
    """One algorithm parameter, as data the app renders an input from and the core validates."""

    name: str
    label: str
    kind: str
    """"int", "float", "choice" or "bool"."""
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    allow_none: bool = False
    """None is allowed and means "choose for me" (e.g. DBSCAN's eps from the k-distance curve)."""
    help: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "default": self.default,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "choices": list(self.choices),
            "allow_none": self.allow_none,
            "help": self.help,
        }


@dataclass(frozen=True)
class AlgorithmInfo:
    """What the app and CLI need to offer an algorithm, and the fitter that runs it."""

    name: str
    label: str
    description: str
    parameters: tuple[ParamSpec, ...]
    quadratic: bool
    """Cost grows with users squared: fitted on a sample of ``default_sample_size`` by default."""
    kind: str
    """"centroid", "hierarchical", "density" or "mixture": the family (how labels are extended)."""
    fitter: Fitter = field(repr=False, compare=False)
    default_sample_size: int | None = None
    uses_k: bool = True
    """Has a number-of-segments parameter named "k" (so a k sweep makes sense)."""
    continues: bool = False
    """Can start from given centres with one start (``fit_clusters(init=...)``), so a refit of
    a reweighted matrix continues the fit before it (K-Means and MiniBatch K-Means)."""
    timing: str = ""
    """Measured cost that justifies the default sample (2 cores, 30 features)."""

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "parameters": [p.to_dict() for p in self.parameters],
            "quadratic": self.quadratic,
            "kind": self.kind,
            "default_sample_size": self.default_sample_size,
            "uses_k": self.uses_k,
            "timing": self.timing,
        }


MIN_K = 2
"""Fewest segments an algorithm with a k may be asked for: one segment is everyone."""


def _k(default: int = 6) -> ParamSpec:
    return ParamSpec("k", "Segments (k)", "int", default, MIN_K, 200, help="Number of segments.")


_INFOS = (
    AlgorithmInfo(
        "kmeans",
        "K-Means",
        "Splits users into k groups around centers; fast, linear in users, favors round groups "
        "of similar spread.",
        (
            _k(),
            ParamSpec(
                "n_init",
                "Restarts",
                "int",
                None,
                1,
                50,
                allow_none=True,
                help="Best of this many starts; auto: 10 up to 50k users, 3 up to 300k, else 1.",
            ),
            ParamSpec("max_iter", "Max iterations", "int", 300, 10, 10_000),
        ),
        quadratic=False,
        kind="centroid",
        fitter=KMEANS,
        continues=True,
    ),
    AlgorithmInfo(
        "minibatch_kmeans",
        "MiniBatch K-Means",
        "K-Means on small random batches: faster on millions of users, slightly less exact.",
        (
            _k(),
            ParamSpec("batch_size", "Batch size", "int", 4096, 256, 1_000_000),
            ParamSpec("n_init", "Restarts", "int", 3, 1, 50),
            ParamSpec("max_iter", "Max passes", "int", 100, 1, 10_000),
        ),
        quadratic=False,
        kind="centroid",
        fitter=MINIBATCH_KMEANS,
        continues=True,
    ),
    AlgorithmInfo(
        "agglomerative",
        "Hierarchical (agglomerative)",
        "Merges users bottom-up into a tree (dendrogram) and cuts it at k groups; ward makes "
        "compact groups, average follows elongated ones. Quadratic: fitted on a sample.",
        (
            _k(),
            ParamSpec(
                "linkage",
                "Linkage",
                "choice",
                "ward",
                choices=("ward", "average"),
                help="ward: minimise within-group variance; average: mean pairwise distance.",
            ),
        ),
        quadratic=True,
        kind="hierarchical",
        fitter=AGGLOMERATIVE,
        default_sample_size=HIERARCHY_SAMPLE_SIZE,
        timing=(
            "ward fits 10,000 users x 30 in ~2.9 s and average ~2.2 s on 2 cores; "
            "ward takes ~14 s on 20,000"
        ),
    ),
    AlgorithmInfo(
        "dbscan",
        "DBSCAN",
        "Groups users in dense regions and leaves the rest as noise (its own segment); finds "
        "any shape, no k. Quadratic: fitted on a sample.",
        (
            ParamSpec(
                "eps",
                "Radius (eps)",
                "float",
                None,
                0.0,
                None,
                allow_none=True,
                help="Neighborhood radius in scaled units; empty = knee of the k-distance curve.",
            ),
            ParamSpec(
                "min_samples",
                "Min samples",
                "int",
                10,
                2,
                10_000,
                help="Users (itself included) within eps for a user to be a core point.",
            ),
        ),
        quadratic=True,
        kind="density",
        fitter=DBSCAN,
        default_sample_size=DENSITY_SAMPLE_SIZE,
        timing=(
            "DBSCAN fits 5,000 users x 30 in <0.1 s on 2 cores; extending the labels "
            "costs ~0.6 s per 100,000 users"
        ),
        uses_k=False,
    ),
    AlgorithmInfo(
        "hdbscan",
        "HDBSCAN",
        "Density clustering across scales: finds groups of varying density and leaves the rest "
        "as noise (its own segment); no k, no radius. Quadratic: fitted on a sample.",
        (
            ParamSpec("min_cluster_size", "Min segment size", "int", 50, 2, 1_000_000),
            ParamSpec(
                "min_samples",
                "Min samples",
                "int",
                10,
                1,
                10_000,
                help="Neighbors for the core distance; larger = more conservative, more noise.",
            ),
            ParamSpec(
                "allow_single_cluster",
                "Allow one segment",
                "bool",
                False,
                help="Let the result be a single segment plus noise.",
            ),
        ),
        quadratic=True,
        kind="density",
        fitter=HDBSCAN,
        default_sample_size=DENSITY_SAMPLE_SIZE,
        timing=(
            "HDBSCAN fits 5,000 users x 30 in ~0.6 s on 2 cores (2.4 s on 10,000, 9.5 s "
            "on 20,000); extending the labels costs ~0.6 s per 100,000 users"
        ),
        uses_k=False,
    ),
    AlgorithmInfo(
        "gmm",
        "Gaussian mixture",
        "Fits k overlapping Gaussian groups, each with its own shape; gives a BIC to compare k.",
        (
            _k(),
            ParamSpec(
                "covariance_type",
                "Covariance",
                "choice",
                "diag",
                choices=("full", "tied", "diag", "spherical"),
                help="Group shapes: full is most flexible and slowest on many features.",
            ),
            ParamSpec("max_iter", "Max iterations", "int", 100, 1, 10_000),
            ParamSpec("n_init", "Restarts", "int", 1, 1, 50),
        ),
        quadratic=False,
        kind="mixture",
        fitter=MIXTURE,
    ),
    AlgorithmInfo(
        "birch",
        "BIRCH",
        "Summarises users into a tree of small subclusters, then groups those into k; its final "
        "step is quadratic in subclusters, so it is fitted on a sample.",
        (
            _k(),
            ParamSpec(
                "threshold",
                "Subcluster radius",
                "float",
                0.5,
                0.0,
                None,
                help="Larger = fewer, coarser subclusters.",
            ),
            ParamSpec("branching_factor", "Branching factor", "int", 50, 2, 10_000),
        ),
        quadratic=True,
        kind="centroid",
        fitter=BIRCH,
        default_sample_size=HIERARCHY_SAMPLE_SIZE,
        timing=(
            "BIRCH fits 10,000 users x 30 in ~2.2 s on 2 cores; unsampled on 100,000 its "
            "final ward step asked for 37 GB"
        ),
    ),
)

ALGORITHMS: Mapping[str, AlgorithmInfo] = MappingProxyType({a.name: a for a in _INFOS})
"""Algorithm name -> :class:`AlgorithmInfo`, in the order the app lists them (read-only)."""


def algorithm_info(algorithm: str) -> AlgorithmInfo:
    try:
        return ALGORITHMS[algorithm]
    except KeyError:
        raise InputError(
            f"unknown algorithm '{algorithm}'",
            hint=f"Use one of: {', '.join(ALGORITHMS)}.",
        ) from None


class _TooFewSegments(ValueError):
    """k below MIN_K: said in words of its own rather than as a range error."""


def _coerce(spec: ParamSpec, value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "auto")):
        if spec.allow_none:
            return None
        raise ValueError("a value is required")
    if spec.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on", "false", "no"):
            return value.lower() in ("true", "yes", "1", "on")
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise ValueError("expected true or false")
    if spec.kind == "choice":
        if str(value) not in spec.choices:
            raise ValueError(f"expected one of {', '.join(spec.choices)}")
        return str(value)
    if isinstance(value, bool):
        raise ValueError(f"expected a{'n integer' if spec.kind == 'int' else ' number'}")
    if spec.kind == "int":
        number = float(value)
        if not number.is_integer():
            raise ValueError("expected a whole number")
        out: float | int = int(number)
    else:
        out = float(value)
        if not math.isfinite(out):
            raise ValueError("expected a finite number")
    if spec.minimum is not None and out < spec.minimum:
        if spec.name == "k":
            raise _TooFewSegments
        raise ValueError(f"must be at least {spec.minimum:g}")
    if spec.maximum is not None and out > spec.maximum:
        raise ValueError(f"must be at most {spec.maximum:g}")
    if spec.kind == "float" and spec.minimum == 0.0 and out == 0.0:
        raise ValueError("must be greater than 0")
    return out


def resolve_params(algorithm: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Fill defaults and validate types and ranges; bad values are an :class:`InputError`."""
    info = algorithm_info(algorithm)
    given = dict(params or {})
    specs = {p.name: p for p in info.parameters}
    unknown = sorted(set(given) - set(specs))
    if unknown:
        raise InputError(
            f"{info.label} has no parameter{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(u) for u in unknown)}",
            hint=f"Its parameters are: {', '.join(specs)}.",
        )
    out = info.defaults()
    for name, value in given.items():
        try:
            out[name] = _coerce(specs[name], value)
        except _TooFewSegments:
            raise InputError(
                f"k must be at least {MIN_K}: one segment is everyone",
                hint="Pick k of 2 or more (segtui sweep suggests one).",
            ) from None
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"{info.label} parameter '{name}' = {value!r}: {exc}",
                hint=specs[name].help or None,
            ) from None
    return out
