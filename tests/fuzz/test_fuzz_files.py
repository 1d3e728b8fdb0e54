"""Hostile model, mapping, feature and project files: a result or an InputError, nothing else.

The model and project checks start from real files (tests/data/compat) and replace each value in
turn, exhaustively, with each hostile one (null, a huge or negative number, NaN text, a deep
list, markup) or delete it, so the inputs pass the first checks and reach the ones deep inside.
Mapping and
feature files are fuzzed as TOML tables built from their own keys.
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from segtui.artifacts.model import parse_model
from segtui.artifacts.project import Project
from segtui.errors import InputError
from segtui.features.tables import spec_from_dict
from segtui.ingest.mapping import ColumnMapping

COMPAT = Path(__file__).resolve().parents[1] / "data" / "compat"
MODEL = json.loads((COMPAT / "edited_v0_1.model.json").read_text())
PROJECT = json.loads((COMPAT / "edited_v0_1.segtui.json").read_text())


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value (dict keys and list indexes), depth first."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value[:2]):  # the first and a later item: one reader reads all
            found += _paths(item, (*prefix, i))
    return found


MODEL_PATHS = _paths(MODEL)[1:]
PROJECT_PATHS = _paths(PROJECT)[1:]


_MISSING = object()
"""As a replacement value: delete the key (or list item) instead."""


def _replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(document)
    here = out
    for step in path[:-1]:
        here = here[step]
    if value is _MISSING:
        del here[path[-1]]
    else:
        here[path[-1]] = value
    return out


HOSTILE_VALUES: tuple[Any, ...] = (
    None,
    True,
    -1,
    2**63,
    10**30,
    1e308,
    "nan",
    "[/]",
    json.loads("[" * 60 + "]" * 60),
    [1, -2],
    {"x": 1},
)


def _broken(document: Any, paths: list[tuple[Any, ...]], read: Any) -> list[str]:
    """Every (place, value) where reading raised something other than an InputError."""
    failures = []
    for path in paths:
        for value in (*HOSTILE_VALUES, _MISSING):
            try:
                read(_replaced(document, path, value))
            except InputError:
                pass
            except Exception as error:
                failures.append(f"{path} = {value!r:.40}: {type(error).__name__}: {error}")
    return failures


def test_a_model_with_any_one_value_hostile_or_missing_loads_or_is_refused() -> None:
    # Exhaustive, not sampled: every place in a real model, every hostile value and deletion.
    failures = _broken(MODEL, MODEL_PATHS, lambda d: parse_model(d, file="fuzz.model.json"))
    assert not failures, "\n".join(failures[:30])


def test_a_project_with_any_one_value_hostile_or_missing_opens_or_is_refused() -> None:
    failures = _broken(
        PROJECT, PROJECT_PATHS, lambda d: Project.from_dict(d, file="fuzz.segtui.json")
    )
    assert not failures, "\n".join(failures[:30])


TOML_VALUE = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=15),
    st.lists(st.text(max_size=8), max_size=3),
    st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=2),
)
MAPPING_KEYS = st.sampled_from(
    [
        "columns",
        "layout",
        "day_first",
        "epoch_unit",
        "decimal",
        "event_aliases",
        "event_constant",
        "revenue_mode",
        "invoice_refunds",
        "fallbacks",
        "user_id",
        "x",
    ]
)
COLUMN_TABLE = st.dictionaries(
    st.sampled_from(["user_id", "ts", "event", "price", "revenue", "nope"]),
    st.one_of(st.text(max_size=10), st.lists(st.text(max_size=6), max_size=3), st.integers()),
    max_size=5,
)


@given(st.dictionaries(MAPPING_KEYS, st.one_of(TOML_VALUE, COLUMN_TABLE), max_size=6))
def test_any_mapping_table_reads_or_is_refused(data: dict[str, Any]) -> None:
    try:
        tomli_w.dumps(data)
    except (TypeError, ValueError):
        return  # not something a TOML file can hold
    with contextlib.suppress(InputError):
        ColumnMapping.from_dict(data, file="fuzz.toml")


FEATURE_KEYS = st.sampled_from(
    [
        "name",
        "family",
        "description",
        "kind",
        "column",
        "where",
        "match",
        "events",
        "operands",
        "stat",
        "transform",
        "when_missing",
        "fill",
        "requires",
        "default",
        "fallback",
        "why_missing",
        "x",
    ]
)
FEATURE_VALUE = st.one_of(
    TOML_VALUE,
    st.sampled_from(["count", "share", "ratio", "revenue", "ts.hour", "value", "log1p", "zero"]),
    st.lists(
        st.dictionaries(
            st.sampled_from(["column", "op", "value", "kind"]),
            st.sampled_from(["event", "in", "==", "purchase", "ts.month", 3]),
            max_size=3,
        ),
        max_size=2,
    ),
)


@given(st.dictionaries(FEATURE_KEYS, FEATURE_VALUE, max_size=8))
def test_any_feature_table_is_a_declaration_or_a_value_error(data: dict[str, Any]) -> None:
    # The feature-file reader words every ValueError as an InputError naming the feature.
    with contextlib.suppress(ValueError):
        spec_from_dict(data)
