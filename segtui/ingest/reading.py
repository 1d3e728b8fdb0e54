"""How a file's columns became canonical events, as plain data every engine applies.

Loading decides a mapping and how values read on a sample (:mod:`segtui.ingest.columns`): which
source feeds each canonical column, the decimal mark, the timestamp formats or epoch unit, ids
written as ``17850.0``, scroll depth in percent, event aliases, invoice refunds, how revenue is
derived, the session gap. :class:`ReadPlan` holds those decisions, and only those, so the SQL
engines read raw rows the way polars does (:mod:`segtui.ingest.read_sql`) and a model can record
them: the decisions are made once, on the sample, and never guessed again by an engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from segtui.ingest.columns import NUMBER_COLUMNS, TEXT_COLUMNS, ColumnPlan, EventPlan, RevenuePlan
from segtui.ingest.mapping import ColumnMapping
from segtui.ingest.numbers import NumberFormat
from segtui.ingest.timestamps import TimestampPlan


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
) -> ReadPlan:
    """The decisions of one load as a :class:`ReadPlan`."""

    def sources(canonical: str) -> tuple[Source, ...]:
        return tuple(Source(s, source_kind(schema[s])) for s in mapping.sources(canonical))

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
    )
