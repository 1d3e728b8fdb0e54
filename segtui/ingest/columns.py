"""The canonical columns as expressions on the raw ones, each decision said in words.

Loading is a few stages, each returning its expressions and decisions as a frozen value:
:func:`read_sample` (the head that every decision is made on), :func:`plan_values` (how numbers
and timestamps read), :func:`plan_columns` (text and number columns), :func:`plan_event` (the
event name and its aliases), :func:`plan_revenue`, and :func:`checked_frame`, which puts them
together with the reason each row would be left out. Nothing here collects more than a head.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import polars as pl

from segtui.ingest.mapping import CANONICAL_EVENT_NAMES, ColumnMapping, resolve_event_aliases
from segtui.ingest.numbers import NumberFormat, number_expr, number_text, numbers_expr, plan_numbers
from segtui.ingest.ragged import FIELDS_COL
from segtui.ingest.report import EVENT_RAW, NUM_RAW, TS_RAW, reason_expr
from segtui.ingest.sources import FILE_COL, ROW_COL, ScannedSource
from segtui.ingest.text import first_of, text_expr, texts_expr
from segtui.ingest.timestamps import AUTO_UNIT, TimestampPlan, plan_timestamps

SAMPLE_ROWS = 5_000
EVENT_SAMPLE_ROWS = 100_000

TEXT_COLUMNS = ("user_id", "session_id", "order_id", "category", "item_id", "page", "event_id")
NUMBER_COLUMNS = ("price", "quantity", "revenue", "duration_s", "scroll_depth")


def ts_raw_expr(sources: Sequence[str], schema: pl.Schema) -> pl.Expr:
    """The raw timestamp: text trimmed, other types as they are (text when the sources differ)."""
    dtypes = {schema[s] for s in sources}
    if len(sources) == 1 or len(dtypes) == 1:
        return first_of(
            [text_expr(s, schema[s]) if schema[s] == pl.Utf8 else pl.col(s) for s in sources]
        )
    return first_of([text_expr(s, schema[s]) for s in sources])


def event_names(raw: ScannedSource, mapping: ColumnMapping) -> list[str]:
    """The distinct event names in the first rows (the sample aliases are decided on)."""
    expr = texts_expr(mapping.sources("event"), raw.schema).alias("e")
    frame = raw.collect(raw.frame.select(expr).head(EVENT_SAMPLE_ROWS).unique())
    return [str(v) for v in frame["e"].drop_nulls().to_list()]


# --------------------------------------------------------------------------------------------
# the sample, and how values read


@dataclass(frozen=True)
class Sample:
    """The head of the data: the raw timestamp (``__ts_raw``) and the source columns sampled."""

    frame: pl.DataFrame
    text_numbers: tuple[str, ...]
    """Source columns of number columns that hold text (their decimal mark is decided)."""

    def texts(self, column: str) -> list[str]:
        """The distinct non-empty trimmed values of a text column, in order of appearance."""
        values = self.frame[column].drop_nulls().str.strip_chars().unique(maintain_order=True)
        return [v for v in values if v]


def read_sample(raw: ScannedSource, mapping: ColumnMapping) -> Sample:
    """Read the first rows of the columns decisions are made on (ts, user_id, numbers)."""
    text_numbers = list(
        dict.fromkeys(
            s for c in NUMBER_COLUMNS for s in mapping.sources(c) if raw.schema[s] == pl.Utf8
        )
    )
    sampled = [
        s for c in ("user_id", "scroll_depth") for s in mapping.sources(c) if c in mapping.columns
    ]
    sampled = list(dict.fromkeys([*sampled, *text_numbers]))
    query = raw.frame.select(
        ts_raw_expr(mapping.sources("ts"), raw.schema).alias(TS_RAW), *[pl.col(s) for s in sampled]
    )
    return Sample(raw.collect(query.head(SAMPLE_ROWS)), tuple(text_numbers))


@dataclass(frozen=True)
class ValuePlan:
    """How numbers and timestamps read, and the mapping updated to record both."""

    mapping: ColumnMapping
    numbers: NumberFormat
    timestamps: TimestampPlan
    decisions: tuple[str, ...]


def plan_values(raw: ScannedSource, mapping: ColumnMapping, sample: Sample) -> ValuePlan:
    """Decide the decimal mark and the timestamp format on the sample."""
    numbers = plan_numbers(
        {s: sample.texts(s) for s in sample.text_numbers},
        raw.info.delimiter,
        forced=mapping.decimal,
    )
    if numbers.decimal == "," and mapping.decimal is None:
        mapping = replace(mapping, decimal=",")
    ts = plan_timestamps(
        sample.frame[TS_RAW].rename(mapping.columns["ts"]),
        column=mapping.columns["ts"],
        day_first=mapping.day_first,
        epoch_unit=mapping.epoch_unit,
        file=str(raw.info.files[0]),
    )
    mapping = replace(
        mapping,
        day_first=ts.day_first if ts.day_first is not None else mapping.day_first,
        # "auto" (each value by its magnitude) is what no unit means; a mapping keeps None.
        epoch_unit=ts.epoch_unit if ts.epoch_unit not in (None, AUTO_UNIT) else mapping.epoch_unit,
    )
    decisions = (*ts.decisions, *([numbers.decision] if numbers.decision else []))
    return ValuePlan(mapping, numbers, ts, decisions)


# --------------------------------------------------------------------------------------------
# text and number columns


@dataclass(frozen=True)
class ColumnPlan:
    """The canonical text and number columns as expressions on the raw columns."""

    exprs: Mapping[str, pl.Expr]
    number_texts: Mapping[str, pl.Expr]
    """Number column -> its raw text, where a source is text (to count values that are not
    numbers)."""
    decisions: tuple[str, ...]
    dot_zero_ids: bool = False
    """user_id text like ``17850.0`` read without the ``.0`` (see ``_dot_zero_ids``)."""
    scroll_percent: bool = False
    """scroll_depth is in percent and divided by 100."""


def plan_columns(
    raw: ScannedSource, mapping: ColumnMapping, sample: Sample, numbers: NumberFormat
) -> ColumnPlan:
    """Text columns trimmed (ids read from floats without ``.0``), numbers in ``numbers``."""
    exprs: dict[str, pl.Expr] = {}
    decisions: list[str] = []
    dot_zero = False
    for canonical in TEXT_COLUMNS:
        if canonical not in mapping.columns:
            continue
        sources = mapping.sources(canonical)
        note = _dot_zero_ids(raw, sample, sources) if canonical == "user_id" else None
        if note:
            decisions.append(note)
            dot_zero = True
        exprs[canonical] = texts_expr(sources, raw.schema, drop_dot_zero=note is not None)
    number_texts: dict[str, pl.Expr] = {}
    for canonical in NUMBER_COLUMNS:
        if canonical in mapping.columns:
            exprs[canonical] = numbers_expr(mapping.sources(canonical), raw.schema, numbers)
            text = number_text(mapping.sources(canonical), raw.schema)
            if text is not None:
                number_texts[canonical] = text
    percent = _scroll_in_percent(raw, mapping, sample, numbers)
    if percent:
        exprs["scroll_depth"] = exprs["scroll_depth"] / 100.0
        decisions.append(percent)
    return ColumnPlan(
        exprs, number_texts, tuple(decisions), dot_zero_ids=dot_zero, scroll_percent=bool(percent)
    )


def _dot_zero_ids(raw: ScannedSource, sample: Sample, sources: Sequence[str]) -> str | None:
    """Text ids all written like ``17850.0`` (a spreadsheet's floats) are read without ``.0``."""
    if raw.schema[sources[0]] != pl.Utf8:
        return None
    values = sample.frame[sources[0]].drop_nulls().str.strip_chars()
    values = values.filter(values != "")
    if not values.len() or not values.str.contains(r"^\d+\.0+$").all():
        return None
    return (
        f"user_id: values like {values[0]!r} in {sources[0]} read without the "
        f"trailing '.0' ({values[0].split('.')[0]!r})"
    )


def _scroll_in_percent(
    raw: ScannedSource, mapping: ColumnMapping, sample: Sample, numbers: NumberFormat
) -> str | None:
    """Scroll depth sampled above 1 and at most 100 is in percent (divided by 100)."""
    if "scroll_depth" not in mapping.columns:
        return None
    src = mapping.columns["scroll_depth"]
    values = sample.frame.select(number_expr(src, raw.schema[src], numbers)).to_series()
    values = values.drop_nulls()
    if not (values.len() and 1 < float(values.max()) <= 100):  # type: ignore[arg-type]
        return None
    return (
        f"scroll_depth: {src} is in percent (largest sampled value {values.max()}), divided by 100"
    )


# --------------------------------------------------------------------------------------------
# events


@dataclass(frozen=True)
class EventPlan:
    """The canonical event name: from a column through the alias table, or a constant."""

    expr: pl.Expr
    raw: pl.Expr | None
    """The event column's own text (before aliases), when there is one."""
    alias_targets: Mapping[str, list[str]]
    """Canonical name -> raw names folded into it, where the sample did not show the canonical
    name itself (the report counts rows that do, beyond the sample)."""
    decisions: tuple[str, ...]
    mode: str = "column"
    """Where the name comes from: ``column`` (through ``aliases``), ``invoice`` (purchase, or
    refund for orders starting with C) or ``constant``."""
    aliases: Mapping[str, str] = field(default_factory=dict)
    """Raw name -> canonical name, applied to the event column."""
    constant: str | None = None


def plan_event(raw: ScannedSource, mapping: ColumnMapping, columns: ColumnPlan) -> EventPlan:
    """Invoice lines (purchase, or refund for orders starting with C), a column, or a constant."""
    if mapping.invoice_refunds and "order_id" in columns.exprs:
        refund = columns.exprs["order_id"].str.starts_with("C").fill_null(False)
        decision = (
            f"event: every line is a purchase; lines whose {mapping.columns['order_id']} starts "
            "with 'C' are refunds with negative revenue; the invoice is the order (order_id)"
        )
        expr = pl.when(refund).then(pl.lit("refund")).otherwise(pl.lit("purchase"))
        return EventPlan(expr, None, {}, (decision,), mode="invoice")
    if "event" in mapping.columns:
        return _event_column(raw, mapping)
    constant = mapping.event_constant or "purchase"
    return EventPlan(
        pl.lit(constant),
        None,
        {},
        (f"event: no event column, every row is a {constant}",),
        mode="constant",
        constant=constant,
    )


def _event_column(raw: ScannedSource, mapping: ColumnMapping) -> EventPlan:
    event_raw = texts_expr(mapping.sources("event"), raw.schema)
    seen = set(event_names(raw, mapping))
    apply, skipped = resolve_event_aliases(mapping.event_aliases, seen)
    decisions = _alias_decisions(apply, skipped, seen)
    decisions.append(
        f"event: alias table of layout {mapping.layout!r} has {len(mapping.event_aliases)} "
        "entries (names checked on the first "
        f"{EVENT_SAMPLE_ROWS:,} rows); edit event_aliases in a saved mapping to change it"
    )
    targets: dict[str, list[str]] = {}
    for k, v in apply.items():
        targets.setdefault(v, []).append(k)
    targets = {t: [r for r in raws if r in seen] for t, raws in targets.items() if t not in seen}
    targets = {t: raws for t, raws in targets.items() if raws}
    expr = event_raw.replace(apply) if apply else event_raw
    return EventPlan(expr, event_raw, targets, tuple(decisions), aliases=dict(apply))


def _alias_decisions(
    apply: Mapping[str, str], skipped: Mapping[str, str], seen: set[str]
) -> list[str]:
    """Which aliases were applied, which were not and why, and the names kept as they are."""
    decisions = []
    used = {k: v for k, v in apply.items() if k in seen}
    if used:
        decisions.append(
            "event: aliases applied: " + ", ".join(f"{k} -> {v}" for k, v in used.items())
        )
    decisions += [f"event: kept {k!r} as it is: {why}" for k, why in skipped.items() if k in seen]
    unknown = sorted(n for n in seen if n not in apply and n not in CANONICAL_EVENT_NAMES)
    if unknown:
        more = f" and {len(unknown) - 12} more" if len(unknown) > 12 else ""
        decisions.append(f"event: names kept as they are: {', '.join(unknown[:12])}{more}")
    return decisions


# --------------------------------------------------------------------------------------------
# revenue, and the checked frame


@dataclass(frozen=True)
class RevenuePlan:
    """Revenue mapped from a column, derived from price x quantity, or absent (None)."""

    mode: str | None
    with_quantity: bool = False
    decision: str | None = None

    @property
    def derived(self) -> str | None:
        """How a derived revenue is computed, for the mapping table."""
        if self.mode != "derived":
            return None
        return "price x quantity" if self.with_quantity else "price (no quantity column)"

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """Add a derived revenue on sale events; make refunds negative."""
        if self.mode == "derived":
            quantity = pl.col("quantity").fill_null(1.0) if self.with_quantity else pl.lit(1.0)
            is_sale = pl.col("event").is_in(["purchase", "refund"])
            frame = frame.with_columns(
                pl.when(is_sale).then(pl.col("price") * quantity).alias("revenue")
            )
        if self.mode is None:
            return frame
        rev = pl.col("revenue")
        refund = pl.col("event") == "refund"
        return frame.with_columns(pl.when(refund).then(-rev.abs()).otherwise(rev).alias("revenue"))


def plan_revenue(mapping: ColumnMapping, columns: ColumnPlan) -> RevenuePlan:
    """Revenue from its column when mapped, else from the price when there is one."""
    if "revenue" in columns.exprs:
        decision = f"revenue: from {mapping.columns['revenue']}; refunds made negative"
        return RevenuePlan("mapped", decision=decision)
    if "price" not in columns.exprs:
        return RevenuePlan(None)
    quantity = "quantity" in columns.exprs
    decision = (
        "revenue: derived as price x "
        + ("quantity" if quantity else "1 (no quantity column)")
        + " on purchase and refund events; refunds negative"
    )
    return RevenuePlan("derived", with_quantity=quantity, decision=decision)


def checked_frame(
    raw: ScannedSource,
    mapping: ColumnMapping,
    columns: ColumnPlan,
    event: EventPlan,
    timestamps: TimestampPlan,
    revenue: RevenuePlan,
) -> pl.LazyFrame:
    """Every row: file, row, raw values, canonical columns, and why a failing row is left out.

    One select from raw columns first (raw and canonical names may collide), then the
    expressions that read canonical columns. Six parameters: one per stage before this one.
    """
    base = [
        pl.col(FILE_COL),
        pl.col(ROW_COL),
        pl.col(FIELDS_COL),
        ts_raw_expr(mapping.sources("ts"), raw.schema).alias(TS_RAW),
    ]
    if event.raw is not None:
        base.append(event.raw.alias(EVENT_RAW))
    base += [e.alias(NUM_RAW + c) for c, e in columns.number_texts.items()]
    canonical = [*[e.alias(k) for k, e in columns.exprs.items()], event.expr.alias("event")]
    frame = raw.frame.select(*base, *canonical).with_columns(timestamps.expr(TS_RAW).alias("ts"))
    return revenue.apply(frame).with_columns(reason_expr())
