"""Checking declarations: a feature is well formed, and its operands are features that exist.

A declaration is data, from the catalog, a user's feature file or a model; every one passes
:func:`check_spec` before it is compiled, and every problem is a ``ValueError`` that says what is
wrong, with a "did you mean" when a name is mistyped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from segtui.errors import closest
from segtui.features.catalog import CATALOG_BY_NAME
from segtui.features.spec import (
    AGG_KINDS,
    FAMILIES,
    FILLS,
    FILTER_OPS,
    KNOWN_COLUMNS,
    NUMERIC_COLUMNS,
    TIME_PARTS,
    TRANSFORMS,
    Agg,
    FeatureSpec,
    Filter,
)

_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
_OPERAND_COUNT = {"ratio": (2, 2), "difference": (2, 2), "add": (2, 16)}
_COLUMN_KINDS = ("sum", "mean", "max", "min", "distinct", "top_share")


def _check_filter(flt: Filter) -> None:
    if flt.column not in KNOWN_COLUMNS and flt.column not in TIME_PARTS:
        raise ValueError(
            f"filter column '{flt.column}' is not a canonical column"
            + suggestion(flt.column, (*KNOWN_COLUMNS, *TIME_PARTS))
        )
    if flt.op not in FILTER_OPS:
        raise ValueError(f"filter op '{flt.op}' is not one of {', '.join(FILTER_OPS)}")
    if flt.op in ("in", "not_in"):
        if not isinstance(flt.value, tuple) or not flt.value:
            raise ValueError(f"filter '{flt.column} {flt.op}' needs a non-empty list of values")
    elif flt.op in ("is_null", "not_null"):
        if flt.value is not None:
            raise ValueError(f"filter '{flt.column} {flt.op}' takes no value")
    elif not isinstance(flt.value, str | int | float) or isinstance(flt.value, bool):
        raise ValueError(f"filter '{flt.column} {flt.op}' needs one string or number value")


def check_agg(agg: Agg) -> None:
    """Raise ``ValueError`` saying what is wrong with an aggregation declaration."""
    _one_of("kind", agg.kind, AGG_KINDS)
    for flt in (*agg.where, *agg.match):
        _check_filter(flt)
    if agg.kind in _COLUMN_KINDS:
        if not agg.column:
            raise ValueError(f"kind '{agg.kind}' needs a column")
        allowed = (*KNOWN_COLUMNS, *TIME_PARTS)
        if agg.kind in ("sum", "mean", "max", "min"):
            allowed = (*NUMERIC_COLUMNS, *TIME_PARTS)
        if agg.column not in allowed:
            raise ValueError(
                f"kind '{agg.kind}' cannot use column '{agg.column}'"
                + suggestion(agg.column, allowed)
            )
    elif agg.column is not None:
        raise ValueError(f"kind '{agg.kind}' takes no column")
    if agg.kind in _OPERAND_COUNT:
        low, high = _OPERAND_COUNT[agg.kind]
        if not low <= len(agg.operands) <= high:
            raise ValueError(
                f"kind '{agg.kind}' needs {low if low == high else f'{low} or more'} operands"
            )
        for op in agg.operands:
            if isinstance(op, Agg):
                check_agg(op)
            elif not isinstance(op, str):
                raise ValueError("an operand is a feature name or an aggregation table")
    elif agg.operands:
        raise ValueError(f"kind '{agg.kind}' takes no operands")
    if agg.match and agg.kind != "share":
        raise ValueError("only kind 'share' takes 'match'")
    if agg.kind == "share" and not agg.match:
        raise ValueError("kind 'share' needs 'match' (the events counted)")
    if agg.kind == "days_since" and agg.stat not in ("last", "first"):
        raise ValueError(f"days_since stat must be 'last' or 'first', not '{agg.stat}'")


def check_spec(spec: FeatureSpec, known: Iterable[str] = ()) -> None:
    """Raise ``ValueError`` if ``spec`` is not a well-formed declaration.

    ``known`` are the feature names operands may refer to (besides the catalog's).
    """
    if not _NAME_RE.match(spec.name):
        raise ValueError("a name uses lower-case letters, digits and _ and starts with a letter")
    _one_of("family", spec.family, FAMILIES)
    if spec.transform not in TRANSFORMS:
        raise ValueError(f"transform '{spec.transform}' is not one of {', '.join(TRANSFORMS)}")
    if spec.when_missing is not None and spec.when_missing != 0:
        raise ValueError('when_missing is 0 or "null"')
    _one_of("fill", spec.fill, FILLS)
    check_agg(spec.agg)
    if spec.fallback is not None:
        check_agg(spec.fallback)
    names = set(CATALOG_BY_NAME) | set(known)
    for ref in sorted(spec.agg.references()):
        if ref == spec.name:
            raise ValueError("a feature cannot use itself as an operand")
        if ref not in names:
            raise ValueError(f"operand '{ref}' is not a known feature{suggestion(ref, names)}")
    unknown = [c for c in spec.requires if c not in KNOWN_COLUMNS]
    if unknown:
        raise ValueError(
            f"requires unknown column '{unknown[0]}'{suggestion(unknown[0], KNOWN_COLUMNS)}"
        )


def _one_of(what: str, value: str, choices: Sequence[str]) -> None:
    """Raise when ``value`` is not one of ``choices``, naming them and the closest."""
    if value not in choices:
        raise ValueError(
            f"{what} '{value}' is not one of {', '.join(choices)}{suggestion(value, choices)}"
        )


def suggestion(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a declaration error, or nothing (a stricter match)."""
    match = closest(word, choices, cutoff=0.6)
    return f" (did you mean '{match}'?)" if match else ""
