"""Why this user: the features that put a user in their segment rather than the next nearest one.

In the prepared space (the matrix the clustering saw), a user sits in segment S and the next
nearest segment centre is N (centre = the mean of a segment's members). The squared distances
split exactly into one term per feature::

    |x - c_N|^2 - |x - c_S|^2 = sum_j [(x_j - c_Nj)^2 - (x_j - c_Sj)^2]

so each feature's term says how much closer that feature alone brings the user to S than to N.
The features with the largest positive terms are the reasons; they are said in raw units: the
user's value, S's typical (median) value and N's. A rule segment's user is there because of the
rule (first rule wins); the same comparison then tells how the user also looks like it.

Noise (DBSCAN/HDBSCAN) has no centre: a noise user is only told the nearest segment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from segtui.errors import InputError, closest
from segtui.formatting import number, percent
from segtui.segments.wording import display_name, feature_label

TOP_FEATURES = 3
"""How many features an explanation names unless asked for more."""
_MAX_SUGGEST_IDS = 20_000
"""A "did you mean" compares the unknown id with at most this many ids of a similar length."""


def said(feature: str, value: float | None) -> str:
    """A feature's value as people read it: shares as percents, the rest as numbers."""
    if value is not None and feature_label(feature).style == "share" and 0 <= value <= 1:
        return percent(value, 0)
    return number(value)


@dataclass(frozen=True)
class Reason:
    """One feature that puts the user in its segment rather than the next one."""

    feature: str
    value: float | None
    segment_typical: float | None
    next_typical: float | None
    share: float
    """This feature's share of the user's margin between the two centres (0..1)."""

    def text(self, segment: str, next_segment: str) -> str:
        """``cart adds 8: typical in 'Cart abandoners' 7, in 'Browsers' 0``."""
        return (
            f"{display_name(self.feature)} {said(self.feature, self.value)}: typical in "
            f"'{segment}' {said(self.feature, self.segment_typical)}, in '{next_segment}' "
            f"{said(self.feature, self.next_typical)}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "value": self.value,
            "segment_typical": self.segment_typical,
            "next_typical": self.next_typical,
            "share": self.share,
        }


@dataclass(frozen=True)
class Explanation:
    """Why one user is in its segment: the segment, the next nearest one, and the reasons."""

    user_id: str
    segment_id: int
    segment: str
    size: int
    next_id: int | None
    next_segment: str | None
    reasons: tuple[Reason, ...]
    rule: str | None = None
    """The rule that put the user there, for a rule segment."""
    is_noise: bool = False

    def short(self) -> str:
        """One line for a table cell: ``cart adds 8 vs 0 in 'Browsers'; ...``."""
        if self.next_segment is None:
            return "-"
        if self.is_noise:
            return f"noise; nearest '{self.next_segment}'"
        parts = [
            f"{display_name(r.feature)} {said(r.feature, r.value)} vs "
            f"{said(r.feature, r.next_typical)}"
            for r in self.reasons
        ]
        return (f"vs '{self.next_segment}': " + "; ".join(parts)) if parts else "-"

    def lines(self) -> list[str]:
        """The explanation in words, one sentence a line."""
        out = [f"user {self.user_id} is in segment {self.segment_id} '{self.segment}' "]
        out[0] += f"({self.size:,} users)"
        if self.rule is not None:
            out.append(f"  it matches the segment's rule: {self.rule}")
        if self.next_segment is None:
            out.append("  there is no other segment to compare with")
            return out
        if self.is_noise:
            out.append(f"  it is near no segment; the nearest is '{self.next_segment}'")
            return out
        out.append(f"  the next nearest segment is {self.next_id} '{self.next_segment}'")
        if not self.reasons:
            out.append("  no single feature stands out: it is close to both")
            return out
        out.append(f"  what puts it in '{self.segment}' rather than '{self.next_segment}':")
        out += [
            f"    {r.text(self.segment, self.next_segment)} ({percent(r.share, 0)} of the margin)"
            for r in self.reasons
        ]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "segment": {"id": self.segment_id, "name": self.segment, "size": self.size},
            "next_segment": None
            if self.next_id is None
            else {"id": self.next_id, "name": self.next_segment},
            "rule": self.rule,
            "noise": self.is_noise,
            "features": [r.to_dict() for r in self.reasons],
        }


@dataclass(frozen=True)
class _Space:
    """Segment centres in the prepared space and typical raw values, computed once."""

    ids: np.ndarray
    centres: np.ndarray
    sizes: dict[int, int]
    typical: dict[int, dict[str, float | None]]


def _space(
    users: pl.DataFrame,
    labels: np.ndarray,
    X: np.ndarray,
    features: Sequence[str],
    noise_id: int | None,
) -> _Space:
    ids, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    sums = np.zeros((ids.size, X.shape[1]))
    np.add.at(sums, inverse, X)
    centres = sums / counts[:, None]
    medians = (
        users.select([pl.col(f).cast(pl.Float64).fill_nan(None) for f in features])
        .with_columns(pl.Series("__segment", labels.astype(np.int64)))
        .group_by("__segment")
        .median()
    )
    typical = {
        int(row["__segment"]): {f: row[f] for f in features}
        for row in medians.iter_rows(named=True)
    }
    keep = ids != noise_id if noise_id is not None else np.ones(ids.size, dtype=bool)
    sizes = {int(i): int(c) for i, c in zip(ids, counts, strict=True)}
    return _Space(ids[keep], centres[keep], sizes, typical)


def _explain_row(
    row: int,
    user_id: str,
    labels: np.ndarray,
    X: np.ndarray,
    values: np.ndarray,
    features: Sequence[str],
    space: _Space,
    names: Mapping[int, str],
    rules: Mapping[int, str],
    top: int,
) -> Explanation:
    sid = int(labels[row])
    x = X[row]
    own = np.flatnonzero(space.ids == sid)
    others = np.flatnonzero(space.ids != sid)
    name = names.get(sid, f"segment {sid}")
    base = {"user_id": user_id, "segment_id": sid, "segment": name, "size": space.sizes[sid]}
    base["rule"] = rules.get(sid)
    if others.size == 0:
        return Explanation(**base, next_id=None, next_segment=None, reasons=())
    distance = np.linalg.norm(space.centres[others] - x, axis=1)
    nearest = int(others[int(np.argmin(distance))])
    nid = int(space.ids[nearest])
    nname = names.get(nid, f"segment {nid}")
    if own.size == 0:  # noise: no centre of its own
        return Explanation(**base, next_id=nid, next_segment=nname, reasons=(), is_noise=True)
    c_own, c_next = space.centres[int(own[0])], space.centres[nearest]
    terms = (x - c_next) ** 2 - (x - c_own) ** 2
    positive = terms[terms > 0].sum()
    order = [j for j in np.argsort(-terms, kind="stable")[:top] if terms[j] > 0]
    reasons = tuple(
        Reason(
            feature=features[j],
            value=None if np.isnan(values[j]) else float(values[j]),
            segment_typical=space.typical[sid][features[j]],
            next_typical=space.typical[nid][features[j]],
            share=float(terms[j] / positive),
        )
        for j in order
    )
    return Explanation(**base, next_id=nid, next_segment=nname, reasons=reasons)


def explain_rows(
    users: pl.DataFrame,
    labels: np.ndarray | Sequence[int],
    X: np.ndarray,
    features: Sequence[str],
    rows: Sequence[int],
    *,
    names: Mapping[int, str] | None = None,
    rules: Mapping[int, str] | None = None,
    noise_id: int | None = None,
    top: int = TOP_FEATURES,
) -> list[Explanation]:
    """Explain the users at ``rows`` (positions in ``users``); one pass over everyone.

    ``X`` is the prepared matrix (rows aligned with ``users``, one column per feature).
    """
    label_array = np.asarray(labels)
    matrix = np.asarray(X, dtype=np.float64)
    if label_array.size != users.height or matrix.shape[0] != users.height:
        raise InputError("the users, their labels and the prepared matrix differ in rows")
    if matrix.shape[1] != len(features):
        raise InputError(f"{matrix.shape[1]} prepared columns for {len(features)} features")
    space = _space(users, label_array, matrix, features, noise_id)
    picked = users[list(rows)]
    values = (
        picked.select([pl.col(f).cast(pl.Float64).fill_nan(None) for f in features])
        .to_numpy()
        .astype(np.float64)
        .reshape(len(rows), -1)
    )
    ids = picked.get_column("user_id").cast(pl.Utf8).to_list()
    return [
        _explain_row(
            int(row),
            str(uid),
            label_array,
            matrix,
            values[i],
            features,
            space,
            dict(names or {}),
            dict(rules or {}),
            top,
        )
        for i, (row, uid) in enumerate(zip(rows, ids, strict=True))
    ]


def find_user(users: pl.DataFrame, user_id: str) -> int:
    """The row of ``user_id``; an unknown id is an InputError naming it, with a "did you mean"."""
    ids = users.get_column("user_id").cast(pl.Utf8)
    hits = np.flatnonzero((ids == str(user_id)).fill_null(False).to_numpy())
    if hits.size:
        return int(hits[0])
    length = ids.str.len_chars().cast(pl.Int64)
    near = ids.filter((length - len(str(user_id))).abs() <= 2).head(_MAX_SUGGEST_IDS)
    suggestion = closest(str(user_id), near.to_list())
    raise InputError(
        f"no user '{user_id}' among the {users.height:,} users of these files",
        column="user_id",
        hint=f"Did you mean '{suggestion}'?"
        if suggestion
        else "Check the id: it must be a user_id of these files.",
    )


def explain_user(
    users: pl.DataFrame,
    labels: np.ndarray | Sequence[int],
    X: np.ndarray,
    features: Sequence[str],
    user_id: str,
    *,
    names: Mapping[int, str] | None = None,
    rules: Mapping[int, str] | None = None,
    noise_id: int | None = None,
    top: int = TOP_FEATURES,
) -> Explanation:
    """Why ``user_id`` is in its segment rather than the next nearest (see the module docs)."""
    row = find_user(users, user_id)
    return explain_rows(
        users, labels, X, features, [row], names=names, rules=rules, noise_id=noise_id, top=top
    )[0]
