"""Segment profiles: what each segment looks like, in words a marketer reads.

For each segment: size, share, mean and median of each feature, lift against everyone, a
standardized effect size per feature, and the top distinguishing traits as readable text
("3.1x more cart adds", "no purchases", "45% fewer sessions", "recency 12 days vs 80 overall"),
numbers written by :mod:`segtui.formatting` like everywhere else. A segment nobody named is named
from its traits by :func:`segtui.segments.names.generate_names`.

Definitions (all computed on the raw users table, not the scaled matrix):

* **lift** = segment mean / overall mean, defined only when the feature is never negative and its
  overall mean is positive; otherwise ``None`` (a ratio of means is meaningless for a feature that
  can be negative, such as a trend, or that is zero for everyone). Traits then speak in values
  ("trend -0.4 vs 0.1 overall").
* **effect** = (segment mean - overall mean) / overall standard deviation (population, ddof=0);
  ``None`` when the feature is constant or all null. Traits are ranked by ``|effect|``, not by lift,
  so a rare behavior with a huge ratio but little spread does not crowd out real differences.
* Null and NaN values are left out of means, medians and standard deviations, and a feature that
  is null for most of a segment (``coverage`` < 0.5) is not used for its traits or its name.

Everything is one ``group_by`` over the users table plus one overall ``select``: linear in users.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import polars as pl

from segtui.errors import InputError
from segtui.formatting import number, percent
from segtui.segments.names import generate_names
from segtui.segments.wording import (
    MIN_COVERAGE,
    TRAIT_MIN_EFFECT,
    comparative,
    feature_label,
)

# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Trait:
    """One way a segment differs from everyone, with the sentence fragment that says it."""

    feature: str
    direction: Literal["higher", "lower"]
    effect: float
    segment_mean: float
    overall_mean: float
    lift: float | None
    text: str


@dataclass(frozen=True)
class SegmentProfile:
    """What one segment looks like. Per-feature dicts are keyed by feature name."""

    segment_id: int
    name: str
    size: int
    share: float
    is_noise: bool
    mean: dict[str, float | None]
    median: dict[str, float | None]
    overall_mean: dict[str, float | None]
    overall_median: dict[str, float | None]
    lift: dict[str, float | None]
    effect: dict[str, float | None]
    coverage: dict[str, float]
    """Share of the segment's users with a value (not null/NaN) for each feature."""
    traits: tuple[Trait, ...]


# --------------------------------------------------------------------------------------------
# Profiles


def _numeric_features(users: pl.DataFrame, features: Sequence[str]) -> list[str]:
    missing = [f for f in features if f not in users.columns]
    if missing:
        raise InputError(
            f"the users table has no feature {', '.join(repr(m) for m in missing)}",
            column=missing[0],
        )
    bad = [
        f for f in features if not (users.schema[f].is_numeric() or users.schema[f] == pl.Boolean)
    ]
    if bad:
        raise InputError(f"feature '{bad[0]}' is not numeric", column=bad[0])
    return list(dict.fromkeys(features))


def _num(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def _aligned_labels(labels: np.ndarray | Sequence[int], users: pl.DataFrame) -> np.ndarray:
    label_array = np.asarray(labels)
    if label_array.ndim != 1 or label_array.size != users.height:
        raise InputError(
            f"{label_array.size} labels for {users.height} users: they must be aligned"
        )
    return label_array


def _feature_frame(
    users: pl.DataFrame, feats: Sequence[str], labels: np.ndarray
) -> tuple[pl.DataFrame, dict[str, str]]:
    """Features as floats (NaN as null) under short keys, plus the segment; feature -> key."""
    keys = {f: f"f{i}" for i, f in enumerate(feats)}
    cols = [pl.col(f).cast(pl.Float64).fill_nan(None).alias(k) for f, k in keys.items()]
    frame = users.select(cols).with_columns(pl.Series("segment", labels.astype(np.int64)))
    return frame, keys


@dataclass(frozen=True)
class _Overall:
    """Everyone's statistics per feature: what each segment is compared with."""

    mean: dict[str, float | None]
    median: dict[str, float | None]
    std: dict[str, float | None]
    low: dict[str, float | None]
    users: int


def _overall(frame: pl.DataFrame, keys: Mapping[str, str]) -> _Overall:
    stats = {"mean": pl.Expr.mean, "median": pl.Expr.median, "min": pl.Expr.min}
    row = frame.select(
        *[
            how(pl.col(k)).alias(f"{k}_{what}")
            for what, how in stats.items()
            for k in keys.values()
        ],
        *[pl.col(k).std(ddof=0).alias(f"{k}_std") for k in keys.values()],
    ).row(0, named=True)

    def per_feature(what: str) -> dict[str, float | None]:
        return {f: _num(row[f"{k}_{what}"]) for f, k in keys.items()}

    return _Overall(
        per_feature("mean"),
        per_feature("median"),
        per_feature("std"),
        per_feature("min"),
        frame.height,
    )


def _per_segment(frame: pl.DataFrame, keys: Mapping[str, str]) -> pl.DataFrame:
    """One row per segment (by id): size, and each feature's mean, median and value count."""
    return (
        frame.group_by("segment")
        .agg(
            pl.len().alias("size"),
            *[pl.col(k).mean().alias(f"{k}_mean") for k in keys.values()],
            *[pl.col(k).median().alias(f"{k}_median") for k in keys.values()],
            *[pl.col(k).count().alias(f"{k}_count") for k in keys.values()],
        )
        .sort("segment")
    )


def _lift(mean: float | None, overall: float | None, low: float | None) -> float | None:
    """Segment mean / overall mean, for a feature never negative with a positive mean."""
    if mean is None or overall is None or overall <= 0 or low is None or low < 0:
        return None
    return mean / overall


def _effect(mean: float | None, overall: float | None, std: float | None) -> float | None:
    """(segment mean - overall mean) / overall std; None for a constant or empty feature."""
    if mean is None or overall is None or std is None or std <= 1e-12 * max(1.0, abs(overall)):
        return None
    return (mean - overall) / std


def _profile(
    row: Mapping[str, object],
    keys: Mapping[str, str],
    overall: _Overall,
    noise_id: int | None,
    top_traits: int,
) -> SegmentProfile:
    """One segment's profile from its :func:`_per_segment` row (its name is left empty)."""
    sid, size = int(row["segment"]), int(row["size"])  # type: ignore[call-overload]
    mean = {f: _num(row[f"{k}_mean"]) for f, k in keys.items()}
    lift = {f: _lift(mean[f], overall.mean[f], overall.low[f]) for f in keys}
    effect = {f: _effect(mean[f], overall.mean[f], overall.std[f]) for f in keys}
    coverage = {f: int(row[f"{k}_count"]) / size for f, k in keys.items()}  # type: ignore[call-overload]
    traits = [
        _trait(f, e, mean[f], overall.mean[f], lift[f])  # type: ignore[arg-type]
        for f, e in effect.items()
        if e is not None and abs(e) >= TRAIT_MIN_EFFECT and coverage[f] >= MIN_COVERAGE
    ]
    traits.sort(key=lambda t: -abs(t.effect))
    return SegmentProfile(
        segment_id=sid,
        name="",
        size=size,
        share=size / overall.users,
        is_noise=noise_id is not None and sid == noise_id,
        mean=mean,
        median={f: _num(row[f"{k}_median"]) for f, k in keys.items()},
        overall_mean=dict(overall.mean),
        overall_median=dict(overall.median),
        lift=lift,
        effect=effect,
        coverage=coverage,
        traits=tuple(traits[:top_traits]),
    )


def profile_segments(
    users: pl.DataFrame,
    labels: np.ndarray | Sequence[int],
    features: Sequence[str],
    names: Mapping[int, str] | None = None,
    noise_id: int | None = None,
    top_traits: int = 4,
) -> list[SegmentProfile]:
    """Profile every segment in ``labels`` (one label per row of ``users``), ordered by id.

    ``names`` gives segment names; ids it leaves out are named by :func:`generate_names`.
    """
    feats = _numeric_features(users, features)
    label_array = _aligned_labels(labels, users)
    if users.height == 0:
        return []
    frame, keys = _feature_frame(users, feats, label_array)
    overall = _overall(frame, keys)
    profiles = [
        _profile(row, keys, overall, noise_id, top_traits)
        for row in _per_segment(frame, keys).iter_rows(named=True)
    ]
    generated = generate_names(profiles)
    given = dict(names or {})
    return [replace(p, name=given.get(p.segment_id, generated[p.segment_id])) for p in profiles]


def _trait(feature: str, effect: float, seg: float, overall: float, lift: float | None) -> Trait:
    direction: Literal["higher", "lower"] = "higher" if effect > 0 else "lower"
    label = feature_label(feature)
    noun = label.noun
    if label.style == "days":
        text = f"{noun} {number(seg)} days vs {number(overall)} overall"
    elif label.style == "share" and 0 <= seg <= 1 and 0 <= overall <= 1:
        text = f"{percent(seg, 0)} {noun} vs {percent(overall, 0)} overall"
    elif lift is None:
        text = f"{noun} {number(seg)} vs {number(overall)} overall"
    elif seg == 0 and label.style in ("count", "amount"):
        text = f"no {noun}"
    elif seg == 0:
        text = f"{noun} 0 vs {number(overall)} overall"
    elif lift >= 1:
        more = comparative(label, higher=True)
        if lift >= 1.95:
            times = f"{lift:.0f}" if lift >= 10 else f"{lift:.1f}"
            text = f"{times}x {more} {noun}"
        else:
            text = f"{percent(lift - 1, 0)} {more} {noun}"
    else:
        fewer = comparative(label, higher=False)
        # percent() says ">99%", never a false "100% fewer": only seg == 0 (above) says none
        text = f"{percent(1 - lift, 0)} {fewer} {noun}"
    return Trait(feature, direction, effect, seg, overall, lift, text)
