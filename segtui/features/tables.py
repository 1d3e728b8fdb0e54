"""Declarations as plain tables (TOML, JSON) and back: what feature files and models hold.

:func:`spec_from_dict` reads one ``[[feature]]`` table (shorthands such as ``events = [...]``
included) and checks it; :func:`spec_to_dict` writes the same form, so that
``spec_from_dict(spec_to_dict(s)) == s``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from segtui.features.checks import check_spec, suggestion
from segtui.features.spec import AGG_KINDS, FILLS, TIME_PARTS, Agg, FeatureSpec, Filter, event_in

_SPEC_KEYS = (
    "name",
    "family",
    "description",
    "transform",
    "when_missing",
    "why_missing",
    "default",
    "requires",
    "kind",
    "column",
    "where",
    "match",
    "events",
    "operands",
    "stat",
    "fallback",
    "fill",
    "origin",
)
_AGG_KEYS = ("kind", "column", "where", "match", "events", "operands", "stat")
_FILTER_KEYS = ("column", "op", "value")


def _filter_from(data: Any) -> Filter:
    if not isinstance(data, dict):
        raise ValueError('a filter is a table like {column = "event", op = "in", value = [...]}')
    extra = set(data) - set(_FILTER_KEYS)
    if extra:
        key = sorted(extra)[0]
        raise ValueError(f"unknown filter key '{key}'{suggestion(key, _FILTER_KEYS)}")
    if "column" not in data or "op" not in data:
        raise ValueError("a filter needs 'column' and 'op'")
    value = data.get("value")
    if isinstance(value, list):
        value = tuple(value)
    return Filter(str(data["column"]), str(data["op"]), value)


def _filters_from(data: Any, key: str) -> tuple[Filter, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        raise ValueError(f"'{key}' is a list of filter tables")
    return tuple(_filter_from(item) for item in data)


def _agg_from(data: Mapping[str, Any]) -> Agg:
    if "kind" not in data:
        raise ValueError(f"needs 'kind' (one of {', '.join(AGG_KINDS)})")
    where = _filters_from(data.get("where"), "where")
    if "events" in data:
        events = data["events"]
        if isinstance(events, str):
            events = [events]
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise ValueError("'events' is a list of event names")
        where = (event_in(*events), *where)
    operands: list[Agg | str] = []
    for op in data.get("operands") or []:
        if isinstance(op, str):
            operands.append(op)
        elif isinstance(op, dict):
            extra = set(op) - set(_AGG_KEYS)
            if extra:
                key = sorted(extra)[0]
                raise ValueError(f"unknown operand key '{key}'{suggestion(key, _AGG_KEYS)}")
            operands.append(_agg_from(op))
        else:
            raise ValueError("an operand is a feature name or an aggregation table")
    column = data.get("column")
    return Agg(
        kind=str(data["kind"]),
        column=None if column is None else str(column),
        where=where,
        match=_filters_from(data.get("match"), "match"),
        operands=tuple(operands),
        stat=str(data.get("stat", "last")),
    )


def spec_from_dict(data: Mapping[str, Any], known: Iterable[str] = ()) -> FeatureSpec:
    """Build and check one spec from a TOML/JSON table; raises ``ValueError`` on a problem."""
    extra = set(data) - set(_SPEC_KEYS)
    if extra:
        key = sorted(extra)[0]
        raise ValueError(f"unknown key '{key}'{suggestion(key, _SPEC_KEYS)}")
    for key in ("name", "family", "description"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ValueError(f"needs '{key}' (text)")
    agg = _agg_from(data)
    missing_value = data.get("when_missing", 0)
    if missing_value == "null":
        when_missing: float | None = None
    elif isinstance(missing_value, int | float) and not isinstance(missing_value, bool):
        when_missing = float(missing_value)
    else:
        raise ValueError('when_missing is 0 or "null"')
    requires = data.get("requires")
    if requires is None:
        needed = agg.columns() - {*TIME_PARTS}
        requires_t = tuple(sorted(c for c in needed if c not in ("user_id", "event")))
    elif isinstance(requires, list) and all(isinstance(c, str) for c in requires):
        requires_t = tuple(requires)
    else:
        raise ValueError("'requires' is a list of canonical column names")
    default = data.get("default", False)
    if not isinstance(default, bool):
        raise ValueError("'default' is true or false")
    fallback = data.get("fallback")
    if fallback is not None and not isinstance(fallback, dict):
        raise ValueError("'fallback' is an aggregation table")
    fill = data.get("fill", "median")
    if not isinstance(fill, str):
        raise ValueError(f"'fill' is one of {', '.join(FILLS)} (text)")
    origin = data.get("origin", "")
    if not isinstance(origin, str):
        raise ValueError("'origin' is text")
    spec = FeatureSpec(
        name=data["name"],
        family=data["family"],
        description=data["description"],
        agg=agg,
        requires=requires_t,
        transform=str(data.get("transform", "none")),
        when_missing=when_missing,
        why_missing=str(data.get("why_missing", "")),
        default=default,
        fallback=_agg_from(fallback) if fallback else None,
        fill=fill,
        origin=origin,
    )
    check_spec(spec, known)
    return spec


def _filter_to_dict(flt: Filter) -> dict[str, Any]:
    out: dict[str, Any] = {"column": flt.column, "op": flt.op}
    if flt.value is not None:
        out["value"] = list(flt.value) if isinstance(flt.value, tuple) else flt.value
    return out


def agg_to_dict(agg: Agg) -> dict[str, Any]:
    """An aggregation as plain JSON/TOML-ready data (the inverse of reading a feature table)."""
    out: dict[str, Any] = {"kind": agg.kind}
    if agg.column is not None:
        out["column"] = agg.column
    if agg.where:
        out["where"] = [_filter_to_dict(f) for f in agg.where]
    if agg.match:
        out["match"] = [_filter_to_dict(f) for f in agg.match]
    if agg.operands:
        out["operands"] = [op if isinstance(op, str) else agg_to_dict(op) for op in agg.operands]
    if agg.kind == "days_since":
        out["stat"] = agg.stat
    return out


def spec_to_dict(spec: FeatureSpec) -> dict[str, Any]:
    """A feature as plain data; ``spec_from_dict(spec_to_dict(s)) == s``."""
    out: dict[str, Any] = {
        "name": spec.name,
        "family": spec.family,
        "description": spec.description,
        **agg_to_dict(spec.agg),
        "requires": list(spec.requires),
        "transform": spec.transform,
        "when_missing": "null" if spec.when_missing is None else spec.when_missing,
    }
    if spec.why_missing:
        out["why_missing"] = spec.why_missing
    if spec.default:
        out["default"] = True
    if spec.fallback is not None:
        out["fallback"] = agg_to_dict(spec.fallback)
    out["fill"] = spec.fill
    if spec.origin:
        out["origin"] = spec.origin
    return out
