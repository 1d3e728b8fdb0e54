"""How a file's columns became canonical events, as plain data every engine applies.

Loading decides a mapping and how values read on a sample (:mod:`segtui.ingest.columns`): which
source feeds each canonical column, the decimal mark, the timestamp formats or epoch unit, ids
written as ``17850.0``, scroll depth in percent, event aliases, invoice refunds, how revenue is
derived, the session gap. :class:`ReadPlan` holds those decisions, and only those, so the SQL
engines read raw rows the way polars does (:mod:`segtui.ingest.read_sql`) and a model can record
them: the decisions are made once, on the sample, and never guessed again by an engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from segtui.canonical import CANONICAL_COLUMNS
from segtui.fields import Fields
from segtui.ingest.columns import NUMBER_COLUMNS, TEXT_COLUMNS, ColumnPlan, EventPlan, RevenuePlan
from segtui.ingest.mapping import ColumnMapping
from segtui.ingest.numbers import NumberFormat
from segtui.ingest.sessions import check_session_gap
from segtui.ingest.timestamps import AUTO_UNIT, EPOCH_UNITS, TimestampPlan


@dataclass(frozen=True)
class Source:
    """One source column and how its engine type reads: ``text``, ``float``, ``integer``,
    ``datetime`` or ``other`` (booleans and the rest: read as their text)."""

    name: str
    kind: str


def source_kind(dtype: pl.DataType) -> str:
    """The kind of a polars source type (what decides how a value reads)."""
    if dtype == pl.Utf8:
        return "text"
    if dtype.is_float():
        return "float"
    if dtype.is_integer():
        return "integer"
    if dtype.is_temporal():
        return "datetime"
    return "other"


@dataclass(frozen=True)
class ReadPlan:
    """Every reading decision of one load (see the module docstring)."""

    texts: Mapping[str, tuple[Source, ...]]
    """Canonical text column -> its sources, the first non-empty one winning."""
    numbers: Mapping[str, tuple[Source, ...]]
    """Canonical number column -> its sources, the first number winning."""
    ts: tuple[Source, ...]
    timestamps: TimestampPlan
    number_format: NumberFormat = field(default_factory=NumberFormat)
    dot_zero_ids: bool = False
    scroll_percent: bool = False
    event_mode: str = "column"
    """``column`` (the ``event`` sources through ``aliases``), ``invoice`` or ``constant``."""
    event: tuple[Source, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    event_constant: str | None = None
    revenue_mode: str | None = None
    """``mapped``, ``derived`` (price x quantity on sales) or None (no revenue)."""
    revenue_with_quantity: bool = False
    session_gap_minutes: float | None = None
    """Sessions from this inactivity gap; None when the log has a session column."""
    columns: tuple[str, ...] = ()
    """The canonical columns the events have, in canonical order."""
    json_paths: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """NDJSON: a nested source's flattened name (``properties.price``) -> its key path
    (``("properties", "price")``), so SQL over an engine's JSON reader (structs) can address
    it; sources at the top level are not listed."""


def build_read_plan(
    mapping: ColumnMapping,
    schema: pl.Schema,
    columns: ColumnPlan,
    event: EventPlan,
    timestamps: TimestampPlan,
    revenue: RevenuePlan,
    numbers: NumberFormat,
    session_gap_minutes: float | None,
    present: tuple[str, ...],
    json_paths: Mapping[str, tuple[str, ...]] | None = None,
) -> ReadPlan:
    """The decisions of one load as a :class:`ReadPlan`; ``json_paths``: the NDJSON files'
    nested columns (those the plan reads are kept)."""

    def sources(canonical: str) -> tuple[Source, ...]:
        return tuple(Source(s, source_kind(schema[s])) for s in mapping.sources(canonical))

    mapped = {name for canonical in mapping.columns for name in mapping.sources(canonical)}

    return ReadPlan(
        texts={c: sources(c) for c in TEXT_COLUMNS if c in columns.exprs},
        numbers={c: sources(c) for c in NUMBER_COLUMNS if c in columns.exprs},
        ts=sources("ts"),
        timestamps=timestamps,
        number_format=numbers,
        dot_zero_ids=columns.dot_zero_ids,
        scroll_percent=columns.scroll_percent,
        event_mode=event.mode,
        event=sources("event") if event.mode == "column" else (),
        aliases=dict(event.aliases),
        event_constant=event.constant,
        revenue_mode=revenue.mode,
        revenue_with_quantity=revenue.with_quantity,
        session_gap_minutes=session_gap_minutes,
        columns=present,
        json_paths={n: keys for n, keys in (json_paths or {}).items() if n in mapped},
    )


SOURCE_KINDS: tuple[str, ...] = ("text", "float", "integer", "datetime", "other")
TIMESTAMP_KINDS: tuple[str, ...] = ("datetime", "text", "epoch", "yyyymmdd")
EVENT_MODES: tuple[str, ...] = ("column", "invoice", "constant")
REVENUE_MODES: tuple[str | None, ...] = ("mapped", "derived", None)


def read_plan_to_dict(plan: ReadPlan) -> dict[str, Any]:
    """Plain JSON data for a model file (:func:`read_plan_from_dict` reads it back)."""

    def sources(items: tuple[Source, ...]) -> list[dict[str, str]]:
        return [{"name": s.name, "kind": s.kind} for s in items]

    ts = plan.timestamps
    return {
        "texts": {c: sources(s) for c, s in plan.texts.items()},
        "numbers": {c: sources(s) for c, s in plan.numbers.items()},
        "ts": sources(plan.ts),
        "timestamps": {
            "kind": ts.kind,
            "formats": list(ts.formats),
            "offsets": list(ts.offsets),
            "epoch_unit": ts.epoch_unit,
            "numeric_text": ts.numeric_text,
            "integer": ts.integer,
            "source_tz": ts.source_tz,
            "is_date": ts.is_date,
        },
        "decimal": plan.number_format.decimal,
        "thousands": plan.number_format.thousands,
        "dot_zero_ids": plan.dot_zero_ids,
        "scroll_percent": plan.scroll_percent,
        "event_mode": plan.event_mode,
        "event": sources(plan.event),
        "aliases": dict(plan.aliases),
        "event_constant": plan.event_constant,
        "revenue_mode": plan.revenue_mode,
        "revenue_with_quantity": plan.revenue_with_quantity,
        "session_gap_minutes": plan.session_gap_minutes,
        "columns": list(plan.columns),
        "json_paths": {name: list(keys) for name, keys in plan.json_paths.items()},
    }


def _choice(fields: Fields, key: str, kind: type | tuple[type, ...], allowed: Sequence[Any]) -> Any:
    value = fields.get(key, kind)
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise fields.error(key, f"is {value!r}, not one of {shown}")
    return value


def _sources(fields: Fields, key: str) -> tuple[Source, ...]:
    out = []
    for item in fields.items(key):
        out.append(Source(item.get("name", str), _choice(item, "kind", str, SOURCE_KINDS)))
    return tuple(out)


def _column_sources(
    fields: Fields, key: str, allowed: Sequence[str]
) -> dict[str, tuple[Source, ...]]:
    section = fields.section(key)
    out = {}
    for canonical in section.data:
        if canonical not in allowed:
            raise section.error(str(canonical), "is not a canonical column")
        out[canonical] = _sources(section, canonical)
        if not out[canonical]:
            raise section.error(canonical, "names no source column")
    return out


def _json_paths(top: Fields) -> dict[str, tuple[str, ...]]:
    """``json_paths``: flattened name -> a list of at least two keys (absent in models written
    before it was kept: their NDJSON sources are read by the flattened names)."""
    if top.data.get("json_paths") is None:
        return {}
    section = top.section("json_paths")
    out = {}
    for name in section.data:
        keys = section.names(str(name), "a list of JSON keys")
        if len(keys) < 2:
            raise section.error(str(name), "must list at least two JSON keys")
        out[str(name)] = tuple(keys)
    return out


def read_plan_from_dict(data: Any, file: str | Path | None = None) -> ReadPlan:
    """A ReadPlan from a model's ``reading`` section, every field checked (InputError)."""
    top = Fields(data, file, "reading")
    ts = top.section("timestamps")
    kind = _choice(ts, "kind", str, TIMESTAMP_KINDS)
    formats = tuple(ts.names("formats", "a list of formats"))
    offsets = ts.get("offsets", list)
    if len(offsets) != len(formats) or not all(isinstance(o, bool) for o in offsets):
        raise ts.error("offsets", "must be one true/false per format")
    if kind == "text" and not formats:
        raise ts.error("formats", "must name at least one format")
    unit = ts.get("epoch_unit", (str, type(None)))
    if unit is not None and unit not in (*EPOCH_UNITS, AUTO_UNIT):
        raise ts.error("epoch_unit", f"is {unit!r}, not a known unit")
    if kind == "epoch" and unit is None:
        raise ts.error("epoch_unit", "is needed for epoch timestamps")
    timestamps = TimestampPlan(
        kind=kind,
        formats=formats,
        offsets=tuple(offsets),
        epoch_unit=unit,
        numeric_text=ts.get("numeric_text", bool),
        integer=ts.get("integer", bool),
        source_tz=ts.get("source_tz", (str, type(None))),
        is_date=ts.get("is_date", bool),
    )
    decimal = _choice(top, "decimal", str, (".", ","))
    thousands = _choice(top, "thousands", (str, type(None)), (".", ",", None))
    aliases = top.get("aliases", dict)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in aliases.items()):
        raise top.error("aliases", "must map event names to event names")
    columns = tuple(top.names("columns", "a list of canonical columns"))
    unknown = [c for c in columns if c not in CANONICAL_COLUMNS]
    if unknown or not {"user_id", "ts", "event"} <= set(columns):
        raise top.error("columns", "must be canonical columns with user_id, ts and event")
    gap = top.get("session_gap_minutes", (int, float, type(None)))
    if gap is not None:
        check_session_gap(float(gap))
    plan = ReadPlan(
        texts=_column_sources(top, "texts", TEXT_COLUMNS),
        numbers=_column_sources(top, "numbers", NUMBER_COLUMNS),
        ts=_sources(top, "ts"),
        timestamps=timestamps,
        number_format=NumberFormat(decimal, thousands),
        dot_zero_ids=top.get("dot_zero_ids", bool),
        scroll_percent=top.get("scroll_percent", bool),
        event_mode=_choice(top, "event_mode", str, EVENT_MODES),
        event=_sources(top, "event"),
        aliases=dict(aliases),
        event_constant=top.get("event_constant", (str, type(None))),
        revenue_mode=_choice(top, "revenue_mode", (str, type(None)), REVENUE_MODES),
        revenue_with_quantity=top.get("revenue_with_quantity", bool),
        session_gap_minutes=None if gap is None else float(gap),
        columns=columns,
        json_paths=_json_paths(top),
    )
    _check_consistent(top, plan)
    return plan


def _check_consistent(top: Fields, plan: ReadPlan) -> None:
    """What the SQL reads must be there: a user and a time source, an event source when the
    name comes from a column, an order id for invoice refunds, price for derived revenue."""
    if "user_id" not in plan.texts or not plan.ts:
        raise top.error("texts", "must give sources for user_id and ts")
    if plan.event_mode == "column" and not plan.event:
        raise top.error("event", "names no source column")
    if plan.event_mode == "invoice" and "order_id" not in plan.texts:
        raise top.error("event_mode", "is 'invoice' but no order_id source is given")
    if plan.revenue_mode == "derived" and "price" not in plan.numbers:
        raise top.error("revenue_mode", "is 'derived' but no price source is given")
    if plan.revenue_mode == "mapped" and "revenue" not in plan.numbers:
        raise top.error("revenue_mode", "is 'mapped' but no revenue source is given")
