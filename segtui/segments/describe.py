"""Each segment as a readable rule: at most three conditions a person can read, check and reuse.

For every segment a shallow one-vs-rest decision tree (depth <= 3) is grown on the users' raw
values of the clustering features. Every node of the tree is a candidate conjunction (the
conditions on the path to it). Each threshold is then rounded to the roundest number that still
splits the tree's training users the same way (``sessions >= 10``, not ``sessions > 9.5``), the
conditions on one feature are merged into its tightest bounds, and the candidate with the best
F1 over **all** users wins (ties: fewer conditions). Its precision and coverage are finally
recomputed exactly, on all users, by the same evaluator rule segments use
(:meth:`segtui.segments.rules.Rule.mask`), so the numbers said are the numbers of the rule shown:

* **precision** = share of the users matching the rule that are in the segment;
* **coverage** (recall) = share of the segment's users that the rule matches.

Nulls: a condition on a null (or NaN) value is false, as everywhere in the rule language, and the
SQL (:func:`segtui.segments.rules.to_sql`) says the same. The tree learns on a sample (up to
``TREE_SAMPLE`` users per segment and as many others, drawn with the seed), so describing costs
about the same at 10k and 1M users apart from the exact counts, which read every user once per
candidate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import numpy as np
import polars as pl

from segtui.errors import InputError
from segtui.formatting import percent
from segtui.segments.rules import (
    And,
    Compare,
    Feature,
    IsNull,
    Node,
    Number,
    parse_rule,
    render,
    to_sql,
)

MAX_CONDITIONS = 3
"""A description never has more conditions than this (the tree's depth)."""
TREE_SAMPLE = 10_000
"""The tree learns on up to this many of the segment's users and as many of the others."""
ROUNDING_SLACK = 0.002
"""A rounder threshold is taken when it costs at most this much F1 (over all users)."""
MIN_LEAF_SHARE = 0.005
"""A tree leaf holds at least this share of the training users: no rule for a handful."""


@dataclass(frozen=True)
class RuleDescription:
    """One segment described as a rule, with how well the rule matches it."""

    segment_id: int
    rule: str
    """Canonical rule text; ``parse_rule`` reads it back to the same rule."""
    sql: str
    """The same condition as a SQL ``WHERE`` clause (DuckDB)."""
    precision: float
    coverage: float
    matched: int
    """Users the rule matches (in the segment or not)."""
    size: int
    """Users in the segment."""

    def to_dict(self) -> dict[str, Any]:
        """The model's per-segment ``description`` key."""
        return {
            "rule": self.rule,
            "sql": self.sql,
            "precision": self.precision,
            "coverage": self.coverage,
            "matched": self.matched,
            "size": self.size,
        }

    @classmethod
    def from_dict(cls, segment_id: int, data: Mapping[str, Any]) -> RuleDescription:
        """Read a model's ``description``; a damaged one is an InputError naming the key."""
        try:
            return cls(
                int(segment_id),
                str(data["rule"]),
                str(data["sql"]),
                float(data["precision"]),
                float(data["coverage"]),
                int(data.get("matched", 0)),
                int(data.get("size", 0)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"a segment's description is not valid ({error})") from None

    def text(self) -> str:
        """``rule  (precision 97%, coverage 88%)``."""
        return (
            f"{self.rule}  (precision {percent(self.precision)}, coverage {percent(self.coverage)})"
        )


@dataclass(frozen=True)
class _Condition:
    feature: int
    op: str  # "<", ">=", "==", "is null" or "is not null"
    value: int | float


def round_between(low: float, high: float) -> int | float:
    """The roundest number r with ``low < r <= high`` (fewest significant digits, then 5s and
    2s): a threshold that splits values ``<= low`` from values ``>= high`` the same way."""
    if not high > low:
        raise ValueError(f"empty interval ({low}, {high}]")
    lo, hi = Decimal(repr(float(low))), Decimal(repr(float(high)))
    top = max(abs(lo), abs(hi), Decimal(1))
    exponent = math.floor(math.log10(float(top))) + 1
    while exponent > -20:
        for mantissa in (10, 5, 2, 1):
            step = Decimal(mantissa).scaleb(exponent - 1)
            candidate = ((lo / step).to_integral_value(ROUND_FLOOR) + 1) * step
            if candidate <= hi:
                return _plain(candidate)
        exponent -= 1
    return _plain(hi)


def _plain(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _float_matrix(users: pl.DataFrame, features: Sequence[str]) -> np.ndarray:
    """Features as float columns, null and NaN both as NaN (the evaluator's view of them)."""
    cols = [pl.col(f).cast(pl.Float64).fill_nan(None).fill_null(float("nan")) for f in features]
    return users.select(cols).to_numpy().astype(np.float64, copy=False).reshape(users.height, -1)


def _training_rows(labels: np.ndarray, segment_id: int, sample: int, seed: int) -> np.ndarray:
    """Up to ``sample`` members and ``sample`` others, a seeded draw, in user order."""
    rng = np.random.default_rng([seed, abs(int(segment_id))])
    parts = []
    for rows in (np.flatnonzero(labels == segment_id), np.flatnonzero(labels != segment_id)):
        parts.append(rows if rows.size <= sample else rng.choice(rows, sample, replace=False))
    return np.sort(np.concatenate(parts))


def _tree_paths(X: np.ndarray, y: np.ndarray, seed: int) -> list[list[tuple[int, str, float]]]:
    """Every node's path from the root of a depth-3 tree: (feature, '<=' or '>', threshold)."""
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier(
        max_depth=MAX_CONDITIONS,
        class_weight="balanced",
        min_samples_leaf=max(1, int(MIN_LEAF_SHARE * y.size)),
        random_state=seed,
    ).fit(X, y)
    t = tree.tree_
    paths: list[list[tuple[int, str, float]]] = []

    def walk(node: int, path: list[tuple[int, str, float]]) -> None:
        if path:
            paths.append(path)
        left, right = int(t.children_left[node]), int(t.children_right[node])
        if left < 0:
            return
        feature, threshold = int(t.feature[node]), float(t.threshold[node])
        walk(left, [*path, (feature, "<=", threshold)])
        walk(right, [*path, (feature, ">", threshold)])

    walk(0, [])
    return paths


def _rounded(
    path: list[tuple[int, str, float]], sorted_values: list[np.ndarray]
) -> list[_Condition] | None:
    """The path with readable thresholds and one lower/upper bound per feature (None: empty).

    A split at an infinite threshold is the tree's own test for missing values: every value
    goes left and the nulls right, so it reads ``is not null`` / ``is null``.
    """
    lower: dict[int, int | float] = {}
    upper: dict[int, int | float] = {}
    nulls: dict[int, bool] = {}
    order: list[int] = []
    for feature, op, threshold in path:
        if feature not in order:
            order.append(feature)
        if math.isinf(threshold):
            is_null = op == ">"
            if nulls.get(feature, is_null) != is_null:
                return None
            nulls[feature] = is_null
            continue
        values = sorted_values[feature]
        at = int(np.searchsorted(values, threshold, side="right"))
        if at == 0 or at == values.size:
            return None
        r = round_between(float(values[at - 1]), float(values[at]))
        if op == "<=":
            upper[feature] = min(upper.get(feature, r), r)
        else:
            lower[feature] = max(lower.get(feature, r), r)
    conditions = []
    for feature in order:
        bounded = feature in lower or feature in upper
        if nulls.get(feature) and bounded:
            return None  # null and compared: nobody
        if feature in lower and feature in upper and lower[feature] >= upper[feature]:
            return None
        if feature in nulls and not bounded:  # a bound already implies "is not null"
            conditions.append(
                _Condition(feature, "is null" if nulls[feature] else "is not null", 0)
            )
        if feature in lower:
            conditions.append(_Condition(feature, ">=", lower[feature]))
        if feature in upper:
            conditions.append(_Condition(feature, "<", upper[feature]))
    assert len(conditions) <= MAX_CONDITIONS  # a path of the depth-3 tree, bounds merged
    return conditions


def _readable(condition: _Condition, column: np.ndarray) -> _Condition:
    """``purchases < 1`` on a whole-number feature never below 0 reads ``purchases == 0``."""
    finite = column[~np.isnan(column)]
    if condition.op != "<" or finite.size == 0 or not np.all(finite == np.round(finite)):
        return condition
    low = float(finite.min())
    if condition.value == low + 1:
        return _Condition(condition.feature, "==", _plain(Decimal(repr(low))))
    return condition


def _significant(value: float, digits: int) -> int | float:
    """``value`` rounded to ``digits`` significant digits (exact decimal, no float noise)."""
    if value == 0:
        return 0
    exact = Decimal(repr(float(value)))
    step = Decimal(1).scaleb(exact.adjusted() - digits + 1)
    return _plain(exact.quantize(step) if step < 1 else (exact / step).quantize(1) * step)


def _rounder(X: np.ndarray, members: np.ndarray, conditions: list[_Condition]) -> list[_Condition]:
    """Each threshold as round as it gets without losing F1 over all users beyond
    ``ROUNDING_SLACK`` (``a < 49.982`` becomes ``a < 50`` when that matches as well)."""
    current = list(conditions)
    score = _f1(_match(X, current), members)
    for i, c in enumerate(current):
        if c.op not in (">=", "<"):
            continue
        for digits in (1, 2, 3):
            value = _significant(float(c.value), digits)
            if value == c.value:
                break
            trial = [*current[:i], _Condition(c.feature, c.op, value), *current[i + 1 :]]
            trial_score = _f1(_match(X, trial), members)
            if trial_score >= score - ROUNDING_SLACK:
                current, score = trial, max(score, trial_score)
                break
    return current


def _match(X: np.ndarray, conditions: Sequence[_Condition]) -> np.ndarray:
    mask = np.ones(X.shape[0], dtype=bool)
    with np.errstate(invalid="ignore"):
        for c in conditions:
            column = X[:, c.feature]
            if c.op == ">=":
                mask &= column >= c.value
            elif c.op == "<":
                mask &= column < c.value
            elif c.op == "==":
                mask &= column == c.value
            else:
                mask &= np.isnan(column) == (c.op == "is null")
    return mask  # NaN compares false: as in the rule language


def _f1(mask: np.ndarray, members: np.ndarray) -> float:
    hit = int(np.count_nonzero(mask & members))
    return 0.0 if hit == 0 else 2 * hit / (int(np.count_nonzero(mask)) + int(members.sum()))


def _term(c: _Condition, features: Sequence[str]) -> Node:
    feature = Feature(features[c.feature])
    if c.op in ("is null", "is not null"):
        return IsNull(feature, negated=c.op == "is not null")
    return Compare(feature, c.op, Number(c.value))


def _ast(conditions: Sequence[_Condition], features: Sequence[str]) -> Node:
    terms = tuple(_term(c, features) for c in conditions)
    return terms[0] if len(terms) == 1 else And(terms)


def describe_segments(
    users: pl.DataFrame,
    labels: np.ndarray | Sequence[int],
    features: Sequence[str],
    *,
    noise_id: int | None = None,
    seed: int = 0,
    sample: int = TREE_SAMPLE,
) -> dict[int, RuleDescription]:
    """A rule for every segment in ``labels`` (one per row of ``users``) but noise, by id.

    A segment no tree separates (every candidate matches nobody) gets no entry.
    """
    label_array = np.asarray(labels)
    if label_array.ndim != 1 or label_array.size != users.height:
        raise InputError(
            f"{label_array.size} labels for {users.height} users: they must be aligned"
        )
    feats = [f for f in dict.fromkeys(features) if f in users.columns]
    if not feats or users.height == 0:
        return {}
    X = _float_matrix(users, feats)
    nan_free = _nan_free(users, feats)
    out: dict[int, RuleDescription] = {}
    for sid in np.unique(label_array).tolist():
        if noise_id is not None and sid == noise_id:
            continue
        found = _describe_one(users, X, label_array, int(sid), feats, nan_free, seed, sample)
        if found is not None:
            out[int(sid)] = found
    return out


def describe_segment(
    users: pl.DataFrame,
    labels: np.ndarray | Sequence[int],
    segment_id: int,
    features: Sequence[str],
    *,
    seed: int = 0,
    sample: int = TREE_SAMPLE,
) -> RuleDescription | None:
    """The rule for one segment (what the app's detail screen shows); None when none is found."""
    label_array = np.asarray(labels)
    if label_array.ndim != 1 or label_array.size != users.height:
        raise InputError(
            f"{label_array.size} labels for {users.height} users: they must be aligned"
        )
    feats = [f for f in dict.fromkeys(features) if f in users.columns]
    if not feats or users.height == 0 or not np.any(label_array == segment_id):
        return None
    X = _float_matrix(users, feats)
    nan_free = _nan_free(users, feats)
    return _describe_one(users, X, label_array, int(segment_id), feats, nan_free, seed, sample)


def _nan_free(users: pl.DataFrame, feats: Sequence[str]) -> list[str]:
    """Columns that cannot hold NaN (integers, booleans): their SQL needs no NaN guard."""
    return [f for f in feats if users.schema[f].is_integer() or users.schema[f] == pl.Boolean]


def _describe_one(
    users: pl.DataFrame,
    X: np.ndarray,
    labels: np.ndarray,
    segment_id: int,
    feats: list[str],
    nan_free: list[str],
    seed: int,
    sample: int,
) -> RuleDescription | None:
    members = labels == segment_id
    if members.all():
        return None
    rows = _training_rows(labels, segment_id, sample, seed)
    train = X[rows]
    sorted_values = [np.unique(col[~np.isnan(col)]) for col in train.T]
    best: tuple[float, int, list[_Condition]] | None = None
    seen: set[tuple[_Condition, ...]] = set()
    for path in _tree_paths(train, members[rows], seed):
        conditions = _rounded(path, sorted_values)
        if not conditions:
            continue
        conditions = [_readable(c, X[:, c.feature]) for c in conditions]
        if tuple(conditions) in seen:
            continue
        seen.add(tuple(conditions))
        score = _f1(_match(X, conditions), members)
        if score > 0 and (best is None or (score, -len(conditions)) > (best[0], -best[1])):
            best = (score, len(conditions), conditions)
    if best is None:
        return None
    rule = parse_rule(render(_ast(_rounder(X, members, best[2]), feats)), feats)
    matched = rule.mask(users)  # the rule segments' own evaluator: the numbers of the rule shown
    hit = int(np.count_nonzero(matched & members))
    n_matched, size = int(matched.sum()), int(members.sum())
    return RuleDescription(
        segment_id=segment_id,
        rule=str(rule),
        sql=to_sql(rule.ast, nan_free=nan_free),
        precision=hit / n_matched if n_matched else 0.0,
        coverage=hit / size if size else 0.0,
        matched=n_matched,
        size=size,
    )


def description_lines(
    descriptions: Mapping[int, RuleDescription], names: Mapping[int, str]
) -> list[str]:
    """One line per described segment: id, name, rule, precision and coverage."""
    if not descriptions:
        return []
    ids = sorted(descriptions)
    width = max(len(names.get(i, str(i))) for i in ids)
    out = [
        "segments as rules (precision: matched users in the segment; coverage: segment matched):"
    ]
    for i in ids:
        d = descriptions[i]
        out.append(
            f"  {i:>3}  {names.get(i, str(i)):<{width}}  {d.rule}  "
            f"(precision {percent(d.precision)}, coverage {percent(d.coverage)})"
        )
    return out
