"""Users table -> numeric matrix for clustering, with the fitted transform kept as plain data.

Clustering is only as good as the space it runs in: counts and money are heavy-tailed, features
live on different scales, and real tables have holes. ``prepare`` applies a per-feature transform
(none, signed log1p, percentile rank), fills missing values the way each feature declares (a null
that means "the event never happened" is not an unknown value: no cart adds means nothing was
abandoned, never bought means the last purchase is as long ago as anyone's), drops features that
carry no information, and scales (standard or robust). Everything it learned goes into a
:class:`PrepareParams` that serialises to JSON, so ``transform_users`` can put new users into the
exact same space when a saved model labels them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl

from segtui.clustering.choose import (
    TIME_POSITION,
    composition_share,
    family_weights,
    weight_family,
)
from segtui.clustering.specs import POWERS, WEIGHTINGS, PrepSpec
from segtui.errors import InputError, closest
from segtui.features.spec import FILLS
from segtui.fields import MODEL_HINT
from segtui.formatting import number, percent

TRANSFORMS: tuple[str, ...] = ("default", "none", "log1p", "rank")
"""Transforms a person can pick per feature; "default" means the catalog's choice."""

SCALINGS: tuple[str, ...] = ("standard", "robust")
"""standard: (x - mean) / std; robust: (x - median) / IQR (falls back to std when IQR is 0)."""

RESOLVED_TRANSFORMS: tuple[str, ...] = ("none", "log1p", "rank", "log_share")
"""What a feature's transform resolves to in a model ("log_share" only by ``PrepSpec.shares``)."""

SHARE_PSEUDO = 0.1
"""The share added before the log of a composition share: ln(share + 0.1), computed as
log1p(share / 0.1) (the same after centring). A tenth keeps a share of 0 finite and spreads the
rare events (1 % against 5 % of a user's events is a 5x difference in how often they do it)
without letting a 0.1 % share outvote everything; 0.05 and 0.2 scored within 0.01 of it."""

RANK_REFERENCE_MAX = 1001
"""Keep every sorted value up to this many users, else this many evenly spaced quantiles.

The reference is what lets a new user get a percentile rank in the training population; 1001
quantiles give 0.1 % resolution and keep the model JSON small.
"""


@dataclass(frozen=True)
class FeatureParams:
    """What ``prepare`` learned about one kept feature (plain data, JSON-safe)."""

    name: str
    transform: str
    """Resolved transform: "none", "log1p", "rank" or "log_share" (never "default")."""
    impute: float
    """Value (after the transform) that fills missing entries; ``fill`` says how it was chosen."""
    center: float
    scale: float
    rank_reference: tuple[float, ...] | None = None
    """Sorted raw values (or quantiles) a "rank" transform measures new users against."""
    n_missing: int = 0
    """Missing values seen when fitting (null, NaN or infinite)."""
    fill: str = "median"
    """How ``impute`` was chosen (one of ``FILLS``): the transformed column's median, the
    transform of 0, or its largest or smallest value. Models written before fills existed have
    no such key and mean "median"."""
    power: float | None = None
    """Yeo-Johnson lambda applied after ``transform`` (fitted on the data), or None for none.
    Models written before the power transform have no such key and mean None."""
    weight: float = 1.0
    """Multiplies the scaled column (family balance); absent in older models, meaning 1."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "transform": self.transform,
            "impute": float(self.impute),
            "center": float(self.center),
            "scale": float(self.scale),
            "rank_reference": None if self.rank_reference is None else list(self.rank_reference),
            "n_missing": int(self.n_missing),
            "fill": self.fill,
        } | self._optional()

    def _optional(self) -> dict[str, Any]:
        """Keys newer than the first model format, written only when they say something."""
        extra: dict[str, Any] = {}
        if self.power is not None:
            extra["power"] = float(self.power)
        if self.weight != 1.0:
            extra["weight"] = float(self.weight)
        return extra

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureParams:
        try:
            ref = data.get("rank_reference")
            transform = str(data["transform"])
            if transform not in RESOLVED_TRANSFORMS:
                raise ValueError(f"unknown transform {transform!r}")
            if transform == "rank" and not ref:
                raise ValueError("a rank transform needs its rank_reference")
            fill = str(data.get("fill", "median"))
            if fill not in FILLS:
                raise ValueError(f"unknown fill {fill!r}")
            power = data.get("power")
            power = None if power is None else float(power)
            weight = float(data.get("weight", 1.0))
            if not (np.isfinite(weight) and weight > 0):
                raise ValueError(f"weight must be a positive number, not {weight!r}")
            if power is not None and not np.isfinite(power):
                raise ValueError(f"power must be a finite number, not {power!r}")
            return cls(
                name=str(data["name"]),
                transform=transform,
                impute=float(data["impute"]),
                center=float(data["center"]),
                scale=float(data["scale"]),
                rank_reference=None if ref is None else tuple(float(v) for v in ref),
                n_missing=int(data.get("n_missing", 0)),
                fill=fill,
                power=power,
                weight=weight,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"the preparation parameters for a feature are not valid ({exc})",
                hint=MODEL_HINT,
            ) from exc


@dataclass(frozen=True)
class PrepareParams:
    """The fitted preparation: scaling name and per-feature parameters, in matrix column order."""

    scaling: str
    features: tuple[FeatureParams, ...]
    weighting: str = "none"
    """How the per-feature weights were chosen (``PrepSpec.weighting``); older models: none."""
    power: str = "none"
    """The power transform used (``PrepSpec.power``); the lambdas are per feature."""

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def to_dict(self) -> dict[str, Any]:
        return {
            "scaling": self.scaling,
            "weighting": self.weighting,
            "power": self.power,
            "features": [f.to_dict() for f in self.features],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PrepareParams:
        if not isinstance(data, Mapping) or not isinstance(data.get("features"), list):
            raise InputError(
                "the preparation parameters are not valid (expected 'scaling' and 'features')",
                hint=MODEL_HINT,
            )
        scaling = data.get("scaling")
        if scaling not in SCALINGS:
            raise InputError(
                f"unknown scaling {scaling!r} in the preparation parameters",
                hint=f"Use one of: {', '.join(SCALINGS)}.",
            )
        if not all(isinstance(f, Mapping) for f in data["features"]):
            raise InputError(
                "the preparation parameters are not valid (each feature must be an object)",
                hint=MODEL_HINT,
            )
        weighting = data.get("weighting", "none")
        power = data.get("power", "none")
        if weighting not in WEIGHTINGS or power not in POWERS:
            raise InputError(
                f"unknown weighting {weighting!r} or power transform {power!r} in the "
                "preparation parameters",
                hint=MODEL_HINT,
            )
        return cls(
            scaling=str(scaling),
            features=tuple(FeatureParams.from_dict(f) for f in data["features"]),
            weighting=str(weighting),
            power=str(power),
        )


@dataclass
class PreparedMatrix:
    """The matrix a clustering runs on, and how it was made."""

    X: np.ndarray
    """float64, n_users x n_kept, C-contiguous; rows in user_id order."""
    user_ids: pl.Series
    features: list[str]
    """Kept feature names, in column order."""
    params: PrepareParams
    messages: list[str] = field(default_factory=list)
    """Human-readable notes: imputed values per feature, dropped features, sorting."""
    dropped: dict[str, str] = field(default_factory=dict)
    """Dropped feature -> why ("all missing", "constant")."""

    @property
    def segment_weights(self) -> np.ndarray | None:
        """The within-segment weight of each column (None: the matrix has none)."""
        if self.params.weighting != "within-segment":
            return None
        return np.array([f.weight for f in self.params.features], dtype=np.float64)

    def unweighted(self) -> np.ndarray:
        """X before its within-segment weights (choosing k comes before them)."""
        weights = self.segment_weights
        return self.X if weights is None else self.X / weights


def signed_log1p(x: np.ndarray) -> np.ndarray:
    """sign(x) * log1p(|x|): compresses heavy tails and keeps refunds (negative money) negative."""
    return np.sign(x) * np.log1p(np.abs(x))


def percentile_rank(x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Mid-rank percentile of ``x`` in the sorted ``reference``, in [0, 1].

    (count below + count at-or-below) / (2 * len(reference)): ties share their middle percentile,
    so a zero-inflated count gets one value for all its zeros.
    """
    lo = np.searchsorted(reference, x, side="left")
    hi = np.searchsorted(reference, x, side="right")
    out = (lo + hi) / (2.0 * len(reference))
    return np.where(np.isnan(x), np.nan, out)


def _rank_reference(values: np.ndarray) -> np.ndarray:
    """Sorted values, or evenly spaced quantiles when there are more than RANK_REFERENCE_MAX."""
    if len(values) <= RANK_REFERENCE_MAX:
        return np.sort(values)
    return np.quantile(values, np.linspace(0.0, 1.0, RANK_REFERENCE_MAX), method="linear")


POWER_SAMPLE = 20_000
"""Values a Yeo-Johnson lambda is fitted on (evenly spaced sorted values when there are more)."""


def yeo_johnson(x: np.ndarray, lam: float) -> np.ndarray:
    """The Yeo-Johnson transform with parameter ``lam`` (NaN stays NaN).

    x >= 0: ((x + 1)^lam - 1) / lam (log1p(x) at lam = 0); x < 0: -((1 - x)^(2 - lam) - 1) /
    (2 - lam) (-log1p(-x) at lam = 2). Monotone for every lam, so ranks survive.
    """
    out = np.array(x, dtype=np.float64, copy=True)
    pos = x >= 0
    neg = x < 0
    if abs(lam) < 1e-12:
        out[pos] = np.log1p(x[pos])
    else:
        out[pos] = np.expm1(lam * np.log1p(x[pos])) / lam
    if abs(lam - 2.0) < 1e-12:
        out[neg] = -np.log1p(-x[neg])
    else:
        out[neg] = -np.expm1((2.0 - lam) * np.log1p(-x[neg])) / (2.0 - lam)
    return out


def fit_yeo_johnson(values: np.ndarray) -> float:
    """The maximum-likelihood Yeo-Johnson lambda of ``values`` (no missing), within [-3, 3].

    Fitted on at most POWER_SAMPLE evenly spaced order statistics, so it is deterministic and
    fast at a million users; the data are centred and scaled first so the fit cannot overflow.
    """
    from scipy import stats  # imported here: scipy is slow to import and only this needs it

    v = np.sort(values)
    if v.size > POWER_SAMPLE:
        v = v[np.linspace(0, v.size - 1, POWER_SAMPLE).round().astype(np.int64)]
    lam = float(stats.yeojohnson_normmax(v, brack=None))
    if not np.isfinite(lam):
        return 1.0
    return float(np.clip(lam, -3.0, 3.0))


def log_share(x: np.ndarray) -> np.ndarray:
    """log1p(max(x, 0) / SHARE_PSEUDO): a share on a log scale (NaN stays NaN)."""
    return np.log1p(np.maximum(x, 0.0) / SHARE_PSEUDO)


def _apply_transform(
    raw: np.ndarray, fp_transform: str, reference: np.ndarray | None
) -> np.ndarray:
    if fp_transform == "log1p":
        return signed_log1p(raw)
    if fp_transform == "log_share":
        return log_share(raw)
    if fp_transform == "rank":
        assert reference is not None
        return percentile_rank(raw, reference)
    return raw


def _column(users: pl.DataFrame, name: str) -> np.ndarray:
    """A feature column as float64 with NaN for missing (null, NaN and +-inf all count)."""
    s = users.get_column(name)
    if s.dtype == pl.Boolean:
        s = s.cast(pl.Float64)
    if not s.dtype.is_numeric():
        raise InputError(
            f"feature is not numeric (type {s.dtype})",
            column=name,
            hint="Pick numeric features, or convert this column before segmenting.",
        )
    arr = s.cast(pl.Float64).to_numpy(allow_copy=True)
    arr = np.array(arr, dtype=np.float64, copy=True)
    arr[~np.isfinite(arr)] = np.nan
    return arr


def _check_features(users: pl.DataFrame, features: Sequence[str]) -> list[str]:
    if "user_id" not in users.columns:
        raise InputError(
            "the users table has no 'user_id' column",
            hint="A users table needs one row per user and a 'user_id' column.",
        )
    names = list(dict.fromkeys(features))
    available = [c for c in users.columns if c != "user_id"]
    for name in names:
        if name == "user_id":
            raise InputError("'user_id' cannot be a feature", column=name)
        if name not in users.columns:
            close = closest(name, available)
            hint = f"Did you mean '{close}'?" if close else None
            raise InputError("no such feature in the users table", column=name, hint=hint)
    return names


def _fill_value(
    kind: str, present: np.ndarray, transform: str, reference: np.ndarray | None
) -> float:
    """The transformed value that fills a missing entry (``present``: transformed, non-missing)."""
    if kind == "zero":
        return float(_apply_transform(np.zeros(1), transform, reference)[0])
    if kind == "max":
        return float(present.max())
    if kind == "min":
        return float(present.min())
    return float(np.median(present))


def _untransform(value: float, transform: str) -> float | None:
    """The raw value a transformed one stands for (None for a rank: it has no single inverse)."""
    if transform == "log1p":
        return float(np.sign(value) * np.expm1(abs(value)))
    if transform == "log_share":
        return float(np.expm1(value) * SHARE_PSEUDO)
    if transform == "rank":
        return None
    return value


def _fill_message(
    name: str,
    kind: str,
    impute: float,
    transform: str,
    n_missing: int,
    n: int,
    reason: str | None,
) -> str:
    """What was filled and why, in words a person reads (see ``prepare``)."""
    users = f"{n_missing:,} user{'s' if n_missing != 1 else ''}"
    if reason and reason.startswith("no "):
        who = f"{users} with {reason}"
    elif reason:
        who = f"{users} with no value ({reason})"
    else:
        who = f"{users} with a missing value"
    days = name.endswith("_days")
    label = name[: -len("_days")].replace("_", " ") if days else "value"
    raw = _untransform(impute, transform)
    units = "" if raw is None else (f"{raw:,.0f} days" if days else number(raw))
    if kind == "zero":
        rank = f" (percentile rank {number(impute)})" if raw is None else ""
        what = f"0{rank}: nothing it measures happened"
    elif kind in ("max", "min"):
        if days:
            end = "longest" if kind == "max" else "shortest"
        else:
            end = "largest" if kind == "max" else "smallest"
        if raw is None:
            value = f"percentile rank {number(impute)}"
        elif transform == "none":
            value = units
        else:
            value = f"{units} ({number(impute)} after {transform})"
        what = f"the {end} {label} seen, {value}"
    else:
        # Taken after the transform: say so, and what it stands for in the feature's units.
        if raw is None:
            what = f"the median percentile rank, {number(impute)}"
        elif transform == "none":
            what = f"the median, {units}"
        else:
            what = f"the median after {transform}, {number(impute)} (= {units})"
        what += ": unknown, so a typical value" if reason else ""
    return f"'{name}': {who} ({percent(n_missing / n)}) set to {what}"


def _check_fills(
    fills: Mapping[str, str], default_fills: Mapping[str, str], columns: Sequence[str]
) -> None:
    """Fill kinds must be known; a person's fill must name a column (a fill for a feature that
    is not clustered this time is kept for the next, not an error)."""
    for name, kind in fills.items():
        if kind not in FILLS:
            raise InputError(
                f"unknown fill '{kind}'", column=name, hint=f"Use one of: {', '.join(FILLS)}."
            )
        if name not in columns:
            close = closest(name, columns)
            raise InputError(
                "a fill is given for a feature the users table does not have",
                column=name,
                hint=f"Did you mean '{close}'?" if close else None,
            )
    for name, kind in default_fills.items():
        if kind not in FILLS:
            raise InputError(f"unknown default fill '{kind}'", column=name)


def prepare(users: pl.DataFrame, spec: PrepSpec) -> PreparedMatrix:
    """Turn a users table into the scaled matrix a clustering runs on.

    Parameters
    ----------
    users:
        One row per user: ``user_id`` plus numeric feature columns. Rows are expected sorted by
        ``user_id`` (``compute_features`` returns them so); if they are not, they are sorted here
        and a message says so, because row order decides sampling and segment ids downstream.
    spec:
        The features, in the order wanted; per feature a transform among ``TRANSFORMS``
        (``transforms``, else "default", which is ``default_transforms``' choice or "none")
        and a fill among ``FILLS`` (``fills``, else ``default_fills``, else "median", which is
        what a users table gets); the scaling, "standard" or "robust". ``missing_reasons`` (why
        a value is missing: "no purchases") only words the messages.

    Per feature: transform, then fill missing values (median: the transformed column's median;
    zero: the transform of 0; max/min: the transformed column's largest/smallest value), then
    scale. Features that are all missing or constant (after the transform) are dropped with a
    message. Fewer than two usable features is an :class:`InputError`.

    Example
    -------
    >>> users = pl.DataFrame({"user_id": ["a", "b", "c"], "x": [0.0, 1.0, 2.0], "y": [1, 1, 4]})
    >>> prepare(users, PrepSpec(("x", "y"))).X.shape
    (3, 2)
    """
    scaling = spec.scaling
    if scaling not in SCALINGS:
        raise InputError(f"unknown scaling '{scaling}'", hint=f"Use one of: {', '.join(SCALINGS)}.")
    transforms = dict(spec.transforms)
    fills = dict(spec.fills)
    default_fills = dict(spec.default_fills)
    names = _check_features(users, spec.features)
    _check_fills(fills, default_fills, [c for c in users.columns if c != "user_id"])
    _check_transforms(transforms)
    users, messages = _checked_users(users)
    defaults = dict(spec.default_transforms)
    reasons = dict(spec.missing_reasons)
    kept: list[_Prepared] = []
    dropped: dict[str, str] = {}
    for name in names:
        choice = _transform_choice(name, transforms, defaults, spec.shares)
        fill = fills.get(name) or default_fills.get(name) or "median"
        outcome = _prepare_feature(
            name, _column(users, name), choice, fill, scaling, reasons, spec.power
        )
        messages.extend(outcome.messages)
        if outcome.dropped is not None:
            dropped[name] = outcome.dropped
        else:
            kept.append(outcome)
    return _assemble(users, kept, scaling, messages, dropped, spec)


def _check_transforms(transforms: Mapping[str, str]) -> None:
    for name, choice in transforms.items():
        if choice not in TRANSFORMS:
            raise InputError(
                f"unknown transform '{choice}'",
                column=name,
                hint=f"Use one of: {', '.join(TRANSFORMS)}.",
            )


def _checked_users(users: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """One row per user, sorted by user_id (row order decides sampling and segment ids)."""
    if users.height == 0:
        raise InputError("the users table is empty", hint="There must be users to segment.")
    if users.get_column("user_id").n_unique() != users.height:
        raise InputError(
            "user_id is not unique in the users table",
            column="user_id",
            hint="A users table needs exactly one row per user; aggregate it first.",
        )
    if users.get_column("user_id").is_sorted():
        return users, []
    return users.sort("user_id"), [
        "users were not sorted by user_id; sorted them so results are repeatable"
    ]


def _transform_choice(
    name: str, transforms: Mapping[str, str], defaults: Mapping[str, str], shares: str = "none"
) -> str:
    """The transform a feature gets: the person's choice, else its declared default; a
    composition share declared without one is read on a log scale when ``shares`` is "log"."""
    choice = transforms.get(name, "default")
    if choice != "default":
        return choice
    choice = defaults.get(name, "none")
    if choice not in ("none", "log1p", "rank"):
        raise InputError(f"unknown default transform '{choice}'", column=name)
    if choice == "none" and shares == "log" and composition_share(name):
        return "log_share"
    return choice


@dataclass(frozen=True, eq=False)
class _Prepared:
    """One feature after transform, fill and scaling, or why it was dropped."""

    messages: tuple[str, ...]
    dropped: str | None = None
    params: FeatureParams | None = None
    values: np.ndarray | None = None
    """Transformed and filled, not yet scaled."""


def _prepare_feature(
    name: str,
    raw: np.ndarray,
    transform: str,
    fill: str,
    scaling: str,
    reasons: Mapping[str, str],
    power: str = "none",
) -> _Prepared:
    """Transform, power, fill missing values, then measure center and scale (see ``prepare``)."""
    missing = np.isnan(raw)
    n, n_missing = len(raw), int(missing.sum())
    if n_missing == n:
        return _Prepared((f"dropped '{name}': every value is missing",), "all missing")
    reference = _rank_reference(raw[~missing]) if transform == "rank" else None
    values = _apply_transform(raw, transform, reference)
    lam: float | None = None
    if power == "yeo-johnson" and transform != "rank" and np.ptp(values[~missing]) > 0:
        lam = fit_yeo_johnson(values[~missing])
        values = yeo_johnson(values, lam)
    impute = _fill_value(fill, values[~missing], transform, reference)
    if fill == "zero" and lam is not None:
        impute = float(yeo_johnson(np.array([impute]), lam)[0])
    messages: list[str] = []
    if n_missing:
        values[missing] = impute
        messages.append(
            _fill_message(name, fill, impute, transform, n_missing, n, reasons.get(name))
        )
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        messages.append(f"dropped '{name}': it has the same value ({number(lo)}) for every user")
        return _Prepared(tuple(messages), "constant")
    center, scale, note = _center_and_scale(values, scaling, name)
    messages.extend(note)
    if not np.isfinite(scale) or scale <= 0:
        messages.append(f"dropped '{name}': it has (almost) no spread")
        return _Prepared(tuple(messages), "constant")
    params = FeatureParams(
        name=name,
        transform=transform,
        impute=impute,
        center=center,
        scale=scale,
        rank_reference=None if reference is None else tuple(float(v) for v in reference),
        n_missing=n_missing,
        fill=fill,
        power=lam,
    )
    return _Prepared(tuple(messages), params=params, values=values)


def _center_and_scale(
    values: np.ndarray, scaling: str, name: str
) -> tuple[float, float, tuple[str, ...]]:
    """Mean and standard deviation, or median and interquartile range (robust)."""
    if scaling == "standard":
        return float(values.mean()), float(values.std()), ()
    q25, center, q75 = (float(v) for v in np.quantile(values, [0.25, 0.5, 0.75]))
    if q75 - q25 > 0:
        return center, q75 - q25, ()
    note = (
        f"'{name}': interquartile range is 0 (most users share one value); "
        "scaled by the standard deviation instead"
    )
    return center, float(values.std()), (note,)


def _assemble(
    users: pl.DataFrame,
    kept: Sequence[_Prepared],
    scaling: str,
    messages: list[str],
    dropped: dict[str, str],
    spec: PrepSpec,
) -> PreparedMatrix:
    """The scaled, weighted matrix of the kept features; fewer than two is an InputError."""
    features = [k.params for k in kept if k.params is not None]
    if len(features) < 2:
        usable = ", ".join(f.name for f in features) or "none"
        raise InputError(
            f"fewer than two usable features (usable: {usable})",
            details=[f"'{k}' dropped: {v}" for k, v in dropped.items()],
            hint="Pick more features, or features that vary between users.",
        )
    weights = _weights(features, spec)
    features = [replace(f, weight=weights[f.name]) for f in features]
    messages.extend(_step_messages(features, spec))
    # Within-segment weights come from a fit (with_segment_weights): until then, none.
    weighting = "none" if spec.weighting == "within-segment" else spec.weighting
    params = PrepareParams(
        scaling=scaling, features=tuple(features), weighting=weighting, power=spec.power
    )
    X = np.empty((users.height, len(features)), dtype=np.float64)
    for j, item in enumerate(kept):
        assert item.params is not None and item.values is not None
        X[:, j] = (item.values - item.params.center) / item.params.scale * weights[item.params.name]
    return PreparedMatrix(
        X=X,
        user_ids=users.get_column("user_id"),
        features=params.names,
        params=params,
        messages=messages,
        dropped=dropped,
    )


def _weights(features: Sequence[FeatureParams], spec: PrepSpec) -> dict[str, float]:
    """Family-balanced weights over the kept features (1 each when balancing is off)."""
    names = [f.name for f in features]
    if spec.weighting in ("none", "within-segment"):
        return dict.fromkeys(names, 1.0)
    if spec.weighting == "time-position":
        return family_weights({n: weight_family(n, n) for n in names})
    return family_weights({n: weight_family(n, spec.families.get(n, n)) for n in names})


def _step_messages(features: Sequence[FeatureParams], spec: PrepSpec) -> list[str]:
    """Each preparation step used, in words."""
    lines: list[str] = []
    logged = [f.name for f in features if f.transform == "log_share"]
    if logged:
        lines.append(
            f"{len(logged)} shares of the user's events (event types, categories) are read on a "
            f"log scale, ln(share + {SHARE_PSEUDO:g}), so doing something 5 times as often "
            "counts alike at 1 % and at 20 % of a user's events"
        )
    powered = [f for f in features if f.power is not None]
    if powered:
        lams = [f.power for f in powered if f.power is not None]
        lines.append(
            f"a Yeo-Johnson power transform, its lambda fitted per feature "
            f"(from {min(lams):.2f} to {max(lams):.2f}), brought {len(powered)} features "
            "closer to a normal shape"
        )
    if spec.weighting in ("none", "within-segment"):
        return lines
    if spec.weighting == "time-position":
        tp = [f for f in features if f.name in TIME_POSITION]
        if tp:
            lines.append(
                f"the {len(tp)} time-position features (how long ago, how long active) count "
                f"together as one feature, {tp[0].weight:.2f} each: "
                + ", ".join(f.name for f in tp)
            )
        return lines
    if spec.weighting == "family":
        by_family: dict[str, list[FeatureParams]] = {}
        for f in features:
            family = weight_family(f.name, spec.families.get(f.name, f.name))
            by_family.setdefault(family, []).append(f)
        parts = [f"{fam} {len(fs)} x {fs[0].weight:.2f}" for fam, fs in by_family.items()]
        lines.append(
            "weights give each feature family the same say (each family's squared weights sum "
            "to 1; time-position features, how long ago and how long active, are one family): "
            + ", ".join(parts)
        )
    return lines


def with_segment_weights(
    prepared: PreparedMatrix, weights: np.ndarray, note: str, X: np.ndarray | None = None
) -> PreparedMatrix:
    """The matrix with each column times its within-segment weight, recorded per feature.

    The weights multiply any the preparation gave, so ``transform_users`` and the scoring SQL
    put new users into the same weighted space; ``note`` says in words what was done. ``X``
    is that product when the caller has it already.
    """
    features = tuple(
        replace(f, weight=f.weight * float(w))
        for f, w in zip(prepared.params.features, weights, strict=True)
    )
    params = replace(prepared.params, features=features, weighting="within-segment")
    return replace(
        prepared,
        X=np.ascontiguousarray(prepared.X * weights if X is None else X),
        params=params,
        messages=[*prepared.messages, note],
    )


def transform_users(params: PrepareParams, users: pl.DataFrame) -> np.ndarray:
    """Put new users into a fitted preparation's space (for assigning them with a saved model).

    Rows come out in the order of ``users`` as given (the caller keeps the user ids). Missing
    values get the fitted fill value (``impute``, already in the transformed space), rank features
    are ranked against the training reference, and the fitted center and scale are applied; a
    feature the model needs but the table lacks is an :class:`InputError` naming it.
    """
    missing_cols = [f.name for f in params.features if f.name not in users.columns]
    if missing_cols:
        raise InputError(
            f"the users table lacks feature{'s' if len(missing_cols) > 1 else ''} the model "
            f"needs: {', '.join(missing_cols)}",
            hint="Compute the same features the model was built with.",
        )
    X = np.empty((users.height, len(params.features)), dtype=np.float64)
    for j, fp in enumerate(params.features):
        raw = _column(users, fp.name)
        ref = None if fp.rank_reference is None else np.asarray(fp.rank_reference, dtype=np.float64)
        values = _apply_transform(raw, fp.transform, ref)
        if fp.power is not None:
            values = yeo_johnson(values, fp.power)
        values[np.isnan(values)] = fp.impute
        X[:, j] = (values - fp.center) / fp.scale * fp.weight
    return X
