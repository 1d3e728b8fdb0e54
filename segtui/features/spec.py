"""Feature declarations: the types a per-user feature is declared with, as plain data.

A feature is a :class:`FeatureSpec`: a name people and pipelines rely on, a family, a description,
the canonical columns it needs, a default transform for clustering, an aggregation built from a few
kinds (:class:`Agg`) and what a user without the relevant events gets. Nothing here runs polars:
``segtui.features.compile`` turns declarations into one lazy ``group_by``; because they are data
they can also be shown to a person, written to a model file, read from a user's TOML file, or
rendered as SQL later.

Aggregation kinds (``Agg.kind``):

- ``count``: events matching ``where``.
- ``sum``, ``mean``, ``max``, ``min``: of ``column`` over events matching ``where`` (nulls ignored;
  ``ts`` works too and is read as microseconds since the epoch).
- ``distinct``: distinct non-null values of ``column`` over events matching ``where``.
- ``share``: events matching ``where`` and ``match`` / events matching ``where``.
- ``ratio``: first operand / second operand; null when the second is 0 or null.
- ``difference``: first operand - second operand. ``add``: sum of the operands.
- ``days_since``: fractional days from the user's ``last`` (or ``first``) event matching ``where``
  to the reference time.
- ``span_days``: fractional days between the user's first and last event matching ``where``.
- ``top_share``: of the events matching ``where`` with a non-null ``column``, the share holding
  the user's most frequent value of ``column`` (how concentrated a user is on one category). Null
  when no such event. In SQL (DuckDB): ``list_max(map_values(histogram(column))) / count(column)``
  with ``where`` as the aggregates' ``FILTER``.

Operands of ``ratio``/``difference``/``add`` are feature names (looked up in the catalog or the
user's file) or nested :class:`Agg` declarations. Filters (:class:`Filter`) compare a column, or a
UTC time part of ``ts`` (``ts.hour``, ``ts.weekday`` with Monday = 1, ``ts.month``), with a value.
"""

from __future__ import annotations

from dataclasses import dataclass

from segtui.canonical import CANONICAL_COLUMNS

FAMILIES: tuple[str, ...] = ("activity", "engagement", "funnel", "value", "interest", "time")
TRANSFORMS: tuple[str, ...] = ("log1p", "none")
FILLS: tuple[str, ...] = ("median", "zero", "max", "min")
"""How clustering fills a missing (null) value of a feature, decided per feature:

- ``median``: the value is merely unknown (no duration recorded): a typical value says least.
- ``zero``: a rate or average of things that never happened, where 0 reads right (no cart adds:
  nothing was abandoned). 0 is taken in the transformed space (the transform of 0).
- ``max``: recency-like; never happened = at least as long ago as the longest observed.
- ``min``: the other end, for features where "never" means the smallest value.
"""
AGG_KINDS: tuple[str, ...] = (
    "count",
    "sum",
    "mean",
    "max",
    "min",
    "distinct",
    "share",
    "ratio",
    "difference",
    "add",
    "days_since",
    "span_days",
    "top_share",
)
FILTER_OPS: tuple[str, ...] = (
    "in",
    "not_in",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "is_null",
    "not_null",
)
# UTC parts of ``ts`` usable as a column: hour 0-23, ISO weekday (Monday = 1), month 1-12, and
# the date as whole days since 1970-01-01.
TIME_PARTS: tuple[str, ...] = ("ts.hour", "ts.weekday", "ts.month", "ts.date")
# Columns every canonical event frame has (required by loading); never a reason to leave a
# feature out. ``session_id`` is always present after loading too, but is checked like any other
# column so a hand-built frame without it gets a clear reason.
ALWAYS_PRESENT: tuple[str, ...] = ("user_id", "ts", "event")
# The canonical columns (segtui.ingest.mapping owns the list).
KNOWN_COLUMNS: tuple[str, ...] = CANONICAL_COLUMNS
NUMERIC_COLUMNS: tuple[str, ...] = (
    "ts",
    "price",
    "quantity",
    "revenue",
    "duration_s",
    "scroll_depth",
)

Scalar = str | int | float


@dataclass(frozen=True)
class Filter:
    """One condition on an event: ``column op value`` (``value`` is a tuple for in/not_in)."""

    column: str
    op: str
    value: Scalar | tuple[Scalar, ...] | None = None

    def columns(self) -> set[str]:
        """Canonical columns this filter reads (a time part reads ``ts``)."""
        return {"ts" if self.column in TIME_PARTS else self.column}

    def describe(self) -> str:
        """Human-readable condition, e.g. ``event in {purchase, refund}``."""
        if self.op in ("is_null", "not_null"):
            return f"{self.column} {'is' if self.op == 'is_null' else 'is not'} null"
        if isinstance(self.value, tuple):
            return (
                f"{self.column} {self.op.replace('_', ' ')} {{{', '.join(map(str, self.value))}}}"
            )
        return f"{self.column} {self.op} {self.value}"


def event_in(*names: str) -> Filter:
    """Shorthand for the most common filter: the event is one of ``names``."""
    return Filter("event", "in", tuple(names))


@dataclass(frozen=True)
class Agg:
    """An aggregation over one user's events, declared as data (see the module docstring)."""

    kind: str
    column: str | None = None
    where: tuple[Filter, ...] = ()
    match: tuple[Filter, ...] = ()
    operands: tuple[Agg | str, ...] = ()
    stat: str = "last"

    def columns(self) -> set[str]:
        """Canonical columns read directly (not through feature-name operands)."""
        cols: set[str] = set()
        if self.column:
            cols.add(self.column)
        if self.kind in ("days_since", "span_days"):
            cols.add("ts")
        for flt in (*self.where, *self.match):
            cols |= flt.columns()
        for op in self.operands:
            if isinstance(op, Agg):
                cols |= op.columns()
        return cols

    def references(self) -> set[str]:
        """Feature names this aggregation uses as operands (recursively through nested ones)."""
        names: set[str] = set()
        for op in self.operands:
            names |= {op} if isinstance(op, str) else op.references()
        return names


@dataclass(frozen=True)
class FeatureSpec:
    """One per-user feature, declared as data.

    ``when_missing`` is what a user without the relevant events gets: ``0.0`` or ``None`` (null,
    with the reason in ``why_missing``). ``fallback`` is the aggregation used when a column in
    ``requires`` is absent (``orders`` falls back to counting purchases); without one the feature
    is left out. ``default`` marks the features used for clustering unless a person picks others.
    ``fill`` is how clustering fills a null (one of ``FILLS``); a value computed as null because
    the event never happened is not an unknown value, so each null-able feature says which fill
    reads right for it (see the comments in ``CATALOG``). ``origin`` says why a feature generated
    from the data exists (``event 'video_play': 3,412 users, 2nd most common of 14 event names``);
    empty for the catalog and a person's own features.
    """

    name: str
    family: str
    description: str
    agg: Agg
    requires: tuple[str, ...] = ()
    transform: str = "none"
    when_missing: float | None = 0.0
    why_missing: str = ""
    default: bool = False
    fallback: Agg | None = None
    fill: str = "median"
    origin: str = ""

    @property
    def missing_text(self) -> str:
        """What a user without the relevant events gets, for a person to read."""
        if self.when_missing is None:
            return f"null ({self.why_missing})" if self.why_missing else "null"
        value = self.when_missing
        return f"{int(value)}" if float(value).is_integer() else f"{value}"
