"""Canonical events: load event files, map them, and build one lazy plan of canonical columns.

:func:`load_events` is the public entry point. It reads only a sample of the head to decide the
layout, the mapping, the timestamp format and the event aliases, then returns a lazy plan:
``LoadedEvents.events`` (canonical columns, bad rows left out, ``session_id`` always present)
and ``LoadedEvents.report_query`` (one row of counts) that a caller collects together with its
own work (``pl.collect_all``) so a big file is scanned once. Everything decided is listed in
``LoadedEvents.decisions`` so the person can see it and correct it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import polars as pl

from segtui.errors import InputError
from segtui.ingest.mapping import (
    CANONICAL_COLUMNS,
    CANONICAL_EVENT_NAMES,
    PRESETS,
    ColumnMapping,
    apply_overrides,
    check_columns_exist,
    detect_mapping,
    generic_event_aliases,
    load_mapping,
    require_columns,
    resolve_event_aliases,
)
from segtui.ingest.sources import (
    FILE_COL,
    ROW_COL,
    SourceInfo,
    input_error_from_polars,
    inspect_source,
    scan_source,
)
from segtui.ingest.timestamps import UTC_DTYPE, TimestampPlan, plan_timestamps

CANONICAL_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.Utf8(),
    "ts": UTC_DTYPE,
    "event": pl.Utf8(),
    "session_id": pl.Utf8(),
    "order_id": pl.Utf8(),
    "category": pl.Utf8(),
    "item_id": pl.Utf8(),
    "page": pl.Utf8(),
    "price": pl.Float64(),
    "quantity": pl.Float64(),
    "revenue": pl.Float64(),
    "duration_s": pl.Float64(),
    "scroll_depth": pl.Float64(),
}
REQUIRED_COLUMNS: tuple[str, ...] = ("user_id", "ts", "event")
CANONICAL_EVENTS: tuple[str, ...] = CANONICAL_EVENT_NAMES
assert tuple(CANONICAL_SCHEMA) == CANONICAL_COLUMNS

SAMPLE_ROWS = 5_000
EVENT_SAMPLE_ROWS = 100_000
EXAMPLES = 5

_TEXT_COLUMNS = ("user_id", "session_id", "order_id", "category", "item_id", "page")
_ID_COLUMNS = ("user_id", "session_id", "order_id", "item_id")
_NUMBER_COLUMNS = ("price", "quantity", "revenue", "duration_s", "scroll_depth")

REASON_COL = "__reason"
NUM_RAW = "__raw_"
TS_RAW = "__ts_raw"
EVENT_RAW = "__event_raw"

# Reasons a row is left out, in the order they are checked (code, key).
_REASONS = ((1, "no_user"), (2, "no_timestamp"), (3, "bad_timestamp"), (4, "no_event"))


@dataclass(frozen=True)
class LoadOptions:
    """How to load: mapping corrections, strictness and the session gap.

    ``mapping`` (a ColumnMapping object) wins over ``mapping_file``; ``overrides`` (canonical ->
    source, empty source unmaps) apply on top of either or of the detected mapping. ``layout``
    forces a preset by name. ``day_first`` None means decide from the data.
    """

    overrides: dict[str, str] = field(default_factory=dict)
    mapping_file: Path | None = None
    mapping: ColumnMapping | None = None
    strict: bool = False
    session_gap_minutes: float = 30
    day_first: bool | None = None
    layout: str | None = None


@dataclass(frozen=True)
class LeftOut:
    """Rows left out for one reason, with the first few (file, 1-based data row, raw value)."""

    reason: str
    label: str
    count: int
    examples: list[tuple[str, int, str | None]] = field(default_factory=list)

    def line(self) -> str:
        shown = "; ".join(
            f"{Path(f).name} row {r}: {'(empty)' if v is None else repr(v)}"
            for f, r, v in self.examples
        )
        return f"{self.count:,} {self.label}" + (f" (e.g. {shown})" if shown else "")


@dataclass(frozen=True)
class BadValues:
    """Values of a number column that are not numbers: the rows are kept, the value is empty."""

    column: str
    """The canonical column (price, revenue...)."""
    source: str
    count: int
    examples: list[tuple[str, int, str | None]] = field(default_factory=list)
    show_file: bool = False

    def line(self) -> str:
        shown = "; ".join(
            (f"{Path(f).name} " if self.show_file else "") + f"row {r}: {v!r}"
            for f, r, v in self.examples[:3]
        )
        many = self.count != 1
        text = (
            f"{self.count:,} value{'s' if many else ''} of {self.source!r} "
            f"{'are not numbers' if many else 'is not a number'}"
        )
        if shown:
            text += f", e.g. {shown}"
        return text + f"; the row{'s are' if many else ' is'} kept with no {self.column}"


@dataclass
class LoadReport:
    """What loading did: rows read and kept, rows left out and why, users, time span, events."""

    rows_read: int
    rows_kept: int
    left_out: list[LeftOut]
    users: int
    first_ts: datetime | None
    last_ts: datetime | None
    events_by_type: dict[str, int] | None = None
    notes: list[str] = field(default_factory=list)
    bad_values: list[BadValues] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Plain lines for a terminal."""
        out = [
            f"rows read: {self.rows_read:,}; kept: {self.rows_kept:,}; "
            f"left out: {self.rows_read - self.rows_kept:,}"
        ]
        out += [f"  left out: {lo.line()}" for lo in self.left_out if lo.count]
        out.append(f"users: {self.users:,}")
        if self.first_ts is not None and self.last_ts is not None:
            days = (self.last_ts - self.first_ts).total_seconds() / 86400
            out.append(
                f"time span: {self.first_ts:%Y-%m-%d %H:%M:%S} to {self.last_ts:%Y-%m-%d %H:%M:%S}"
                f" UTC ({days:,.1f} days)"
            )
        if self.events_by_type:
            out.append("events by type:")
            width = max(len(k) for k in self.events_by_type)
            out += [f"  {k:<{width}}  {v:>12,}" for k, v in self.events_by_type.items()]
        out += [f"note: {b.line()}" for b in self.bad_values]
        out += [f"note: {n}" for n in self.notes]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "left_out": [
                {
                    "reason": lo.reason,
                    "label": lo.label,
                    "count": lo.count,
                    "examples": [{"file": f, "row": r, "value": v} for f, r, v in lo.examples],
                }
                for lo in self.left_out
            ],
            "users": self.users,
            "first_ts": self.first_ts.isoformat() if self.first_ts else None,
            "last_ts": self.last_ts.isoformat() if self.last_ts else None,
            "events_by_type": self.events_by_type,
            "bad_values": [
                {
                    "column": b.column,
                    "source": b.source,
                    "count": b.count,
                    "examples": [{"file": f, "row": r, "value": v} for f, r, v in b.examples],
                }
                for b in self.bad_values
            ],
            "notes": list(self.notes),
        }


@dataclass
class LoadedEvents:
    """The canonical events as a lazy plan, with the mapping, decisions and a lazy report."""

    events: pl.LazyFrame
    mapping: ColumnMapping
    columns: list[str]
    source: SourceInfo
    decisions: list[str]
    report_query: pl.LazyFrame
    timestamp_plan: TimestampPlan
    session_derived: bool
    session_gap_minutes: float
    checked: pl.LazyFrame = field(repr=False)
    reason_labels: dict[str, str] = field(default_factory=dict)
    reason_values: dict[str, str] = field(default_factory=dict)
    alias_targets: dict[str, list[str]] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)
    number_sources: dict[str, str] = field(default_factory=dict)
    """Number columns read from text: canonical -> source name (non-numbers are counted)."""

    def finish_report(self, counts: pl.DataFrame) -> LoadReport:
        """Turn the collected ``report_query`` row into a LoadReport.

        Reads the first few failing rows (a head-limited scan) only when some rows failed.
        """
        row = counts.row(0, named=True)
        left_out: list[LeftOut] = []
        queries: list[tuple[str, pl.LazyFrame]] = []
        for code, key in _REASONS:
            if row.get(f"left_out_{key}", 0):
                queries.append((key, self._examples_query(code, key)))
        for column in self.number_sources:
            if row.get(f"bad_number_{column}", 0):
                queries.append((NUM_RAW + column, self._bad_number_query(column)))
        examples: dict[str, list[tuple[str, int, str | None]]] = {}
        if queries:
            try:
                frames = pl.collect_all([q for _, q in queries])
            except pl.exceptions.PolarsError as error:
                raise input_error_from_polars(error, self.source) from error
            for (key, _), frame in zip(queries, frames, strict=True):
                examples[key] = [
                    (self.source.file_name(f), int(r), v) for f, r, v in frame.iter_rows()
                ]
        for _, key in _REASONS:
            count = int(row.get(f"left_out_{key}", 0) or 0)
            if count:
                left_out.append(LeftOut(key, self.reason_labels[key], count, examples.get(key, [])))
        bad_values = [
            BadValues(
                column,
                source,
                int(row[f"bad_number_{column}"]),
                examples.get(NUM_RAW + column, []),
                show_file=len(self.source.files) > 1,
            )
            for column, source in self.number_sources.items()
            if row.get(f"bad_number_{column}", 0)
        ]
        events_by_type = None
        if row.get("events_by_type") is not None:
            pairs = [(d["event"], int(d["count"])) for d in row["events_by_type"]]
            events_by_type = {
                str(k): v for k, v in sorted(pairs, key=lambda kv: (-kv[1], str(kv[0])))
            }
        notes = []
        for target, raws in self.alias_targets.items():
            n = int(row.get(f"conflict_{target}", 0) or 0)
            if n:
                notes.append(
                    f"{n:,} rows are named {target!r} in the data itself, beyond the sample used "
                    f"to decide aliases, and {', '.join(repr(r) for r in raws)} were folded "
                    "into it; "
                    f"remove that alias from the mapping if they differ"
                )
        return LoadReport(
            rows_read=int(row["rows_read"]),
            rows_kept=int(row["rows_kept"]),
            left_out=left_out,
            users=int(row["users"]),
            first_ts=row["first_ts"],
            last_ts=row["last_ts"],
            events_by_type=events_by_type,
            notes=notes,
            bad_values=bad_values,
        )

    def collect_report(self) -> LoadReport:
        """Collect the report on its own (one scan of the columns it needs)."""
        return self.finish_report(_collect(self.report_query, self.source))

    def collect_with_report(self, query: pl.LazyFrame) -> tuple[pl.DataFrame, LoadReport]:
        """Collect ``query`` (built on ``events``) and the report together: one scan of the files.

        Polars errors (a value that does not parse) become an InputError naming the file.
        """
        try:
            counts, frame = pl.collect_all([self.report_query, query], engine="streaming")
        except pl.exceptions.PolarsError as error:
            raise input_error_from_polars(error, self.source) from error
        return frame, self.finish_report(counts)

    def _bad_number_query(self, column: str) -> pl.LazyFrame:
        return (
            self.checked.filter((pl.col(REASON_COL) == 0) & _not_a_number(column))
            .select(pl.col(FILE_COL), pl.col(ROW_COL), pl.col(NUM_RAW + column).alias("value"))
            .head(EXAMPLES)
        )

    def _examples_query(self, code: int, key: str) -> pl.LazyFrame:
        value = pl.col(self.reason_values[key]).cast(pl.Utf8)
        return (
            self.checked.filter(pl.col(REASON_COL) == code)
            .select(pl.col(FILE_COL), pl.col(ROW_COL), value.alias("value"))
            .head(EXAMPLES)
        )


# --------------------------------------------------------------------------------------------
# expressions


def _text(name: str, dtype: pl.DataType, *, drop_dot_zero: bool = False) -> pl.Expr:
    """A raw column as trimmed text; floats holding whole numbers lose their ``.0``."""
    col = pl.col(name)
    if dtype.is_float():
        whole = col.cast(pl.Int64, strict=False).cast(pl.Utf8)
        return pl.when(col == col.floor()).then(whole).otherwise(col.cast(pl.Utf8))
    if dtype == pl.Utf8:
        text = col.str.strip_chars()
        if drop_dot_zero:
            text = text.str.replace(r"\.0+$", "")
        return pl.when(text == "").then(None).otherwise(text)
    return col.cast(pl.Utf8)


def _texts(sources: Sequence[str], schema: pl.Schema, **kw: Any) -> pl.Expr:
    exprs = [_text(s, schema[s], **kw) for s in sources]
    return exprs[0] if len(exprs) == 1 else pl.coalesce(exprs)


# --------------------------------------------------------------------------------------------
# numbers held as text: the decimal mark and thousands separators, decided on a sample

_SIGN = r"^[+-]?"
_SPACE_GROUPS = r"[1-9]\d{0,2}(?:[ \u00a0\u202f]\d{3})+"
_RE_COMMA_DECIMAL = re.compile(_SIGN + r"\d+,\d+$")  # 108,32 (unless it could be 1,234)
_RE_DOT_DECIMAL = re.compile(_SIGN + r"\d*\.\d+$")  # 37.96 (unless it could be 1.234)
_RE_ONE_COMMA_GROUP = re.compile(_SIGN + r"[1-9]\d{0,2},\d{3}$")  # 1,234: either way
_RE_ONE_DOT_GROUP = re.compile(_SIGN + r"[1-9]\d{0,2}\.\d{3}$")  # 1.234: either way
_RE_COMMA_GROUPS = re.compile(_SIGN + r"[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$")  # 1,234.5
_RE_DOT_GROUPS = re.compile(_SIGN + r"[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?$")  # 1.234,5


@dataclass(frozen=True)
class NumberFormat:
    """How numbers written as text read: the decimal mark and the thousands separator.

    ``decimal`` is "." or ","; ``thousands`` is the other mark when the sample showed it grouping
    digits (``1.234,56``), else None. A value the format cannot read becomes null and is counted.
    """

    decimal: str = "."
    thousands: str | None = None
    decision: str | None = None

    def expr(self, text: pl.Expr) -> pl.Expr:
        """Trimmed text -> Float64, null where the value is not a number in this format."""
        if self.decimal == ",":
            groups = r"[1-9]\d{0,2}(?:\.\d{3})+"
            whole = rf"(?:\d+|{_SPACE_GROUPS}|{groups},\d+"
            whole += rf"|{groups})" if self.thousands == "." else ")"
            ok = text.str.contains(rf"^[+-]?(?:{whole}|\d+,\d+|{_SPACE_GROUPS},\d+)$")
            plain = text.str.replace_all(r"[ .\u00a0\u202f]", "").str.replace(
                ",", ".", literal=True
            )
            return pl.when(ok).then(plain.cast(pl.Float64, strict=False))
        plain = text.cast(pl.Float64, strict=False)
        if self.thousands is None:  # the fast path: plain numbers (a grouped one is counted)
            return plain
        groups = r"[1-9]\d{0,2}(?:,\d{3})+"
        grouped = rf"{groups}(?:\.\d+)?|{_SPACE_GROUPS}(?:\.\d+)?"
        ok = text.str.contains(rf"^[+-]?(?:{grouped})$")
        digits = text.str.replace_all(r"[, \u00a0\u202f]", "")
        return pl.coalesce(plain, pl.when(ok).then(digits.cast(pl.Float64, strict=False)))


def plan_numbers(
    samples: Mapping[str, Sequence[str]], delimiter: str | None, forced: str | None = None
) -> NumberFormat:
    """Decide the decimal mark from sampled text values (source column -> values).

    A value like ``108,32`` or ``1.234,56`` says decimal comma; ``37.96`` or ``1,234.56`` says
    decimal point. Values that read either way (``1,234``, ``1.234``) follow the delimiter: a
    semicolon-delimited file writes decimal commas, a comma-delimited one cannot. ``forced`` (a
    saved mapping's ``decimal``) wins.
    """
    comma = dot = 0
    comma_groups = dot_groups = False
    either: list[tuple[str, str]] = []
    evidence: dict[str, tuple[str, str]] = {}
    for column, values in samples.items():
        for v in values:
            if "," not in v and "." not in v:
                continue
            if _RE_ONE_COMMA_GROUP.match(v) or _RE_ONE_DOT_GROUP.match(v):
                either.append((column, v))
                comma_groups |= "," in v
                dot_groups |= "." in v
            elif _RE_COMMA_DECIMAL.match(v) or _RE_DOT_GROUPS.match(v):
                comma += 1
                evidence.setdefault(",", (column, v))
                dot_groups |= "." in v
            elif _RE_DOT_DECIMAL.match(v) or _RE_COMMA_GROUPS.match(v):
                dot += 1
                evidence.setdefault(".", (column, v))
                comma_groups |= "," in v
    if not comma and not dot and not either:
        return NumberFormat(decimal=forced or ".")
    semicolon = delimiter == ";"
    if forced is not None:
        decimal, why = forced, "as the mapping says"
    elif comma != dot:
        decimal = "," if comma > dot else "."
        column, value = evidence[decimal]
        why = f"values like {value!r} in {column}"
        if comma and dot:
            why += f" ({max(comma, dot):,} values against {min(comma, dot):,} the other way)"
    else:
        decimal = "," if semicolon else "."
        column, value = either[0] if either else evidence[decimal]
        why = f"values like {value!r} in {column} read either way; the file is " + (
            "semicolon-delimited" if semicolon else f"{_delimiter_word(delimiter)}"
        )
    thousands = None
    if decimal == "," and dot_groups:
        thousands = "."
    elif decimal == "." and comma_groups:
        thousands = ","
    words = "decimal comma" if decimal == "," else "decimal point"
    if thousands:
        words += f", {thousands!r} between thousands"
    plain = decimal == "." and thousands is None and comma == 0 and not either
    change = (
        ""
        if forced or plain
        else f'; set decimal = "{"." if decimal == "," else ","}" in a saved mapping to change it'
    )
    return NumberFormat(decimal, thousands, f"numbers: {words} ({why}){change}")


def _delimiter_word(delimiter: str | None) -> str:
    names = {",": "comma-delimited", "\t": "tab-delimited", "|": "pipe-delimited"}
    return names.get(delimiter or "", "not semicolon-delimited")


def _number(name: str, dtype: pl.DataType, fmt: NumberFormat | None = None) -> pl.Expr:
    col = pl.col(name)
    if dtype == pl.Utf8:
        return (fmt or NumberFormat()).expr(col.str.strip_chars())
    return col.cast(pl.Float64, strict=False)


def _numbers(sources: Sequence[str], schema: pl.Schema, fmt: NumberFormat | None = None) -> pl.Expr:
    exprs = [_number(s, schema[s], fmt) for s in sources]
    return exprs[0] if len(exprs) == 1 else pl.coalesce(exprs)


def _number_raw(sources: Sequence[str], schema: pl.Schema) -> pl.Expr | None:
    """The non-empty text of a number column's text sources (None when no source is text)."""
    texts = [_text(s, schema[s]) for s in sources if schema[s] == pl.Utf8]
    if not texts:
        return None
    return texts[0] if len(texts) == 1 else pl.coalesce(texts)


def _not_a_number(canonical: str) -> pl.Expr:
    """True where a number column's text is there but did not read as a number."""
    return pl.col(NUM_RAW + canonical).is_not_null() & pl.col(canonical).is_null()


def _ts_raw(sources: Sequence[str], schema: pl.Schema) -> pl.Expr:
    dtypes = {schema[s] for s in sources}
    if len(sources) == 1 or len(dtypes) == 1:
        exprs = [_text(s, schema[s]) if schema[s] == pl.Utf8 else pl.col(s) for s in sources]
    else:
        exprs = [_text(s, schema[s]) for s in sources]
    return exprs[0] if len(exprs) == 1 else pl.coalesce(exprs)


def _check_source_types(mapping: ColumnMapping, schema: pl.Schema, source: SourceInfo) -> None:
    for canonical in mapping.columns:
        for src in mapping.sources(canonical):
            dtype = schema[src]
            if isinstance(dtype, pl.List | pl.Array | pl.Object):
                raise InputError(
                    f"the column holds lists ({dtype}), not single values",
                    file=source.files[0],
                    column=src,
                    hint=f"Flatten the export first or map another column to {canonical}.",
                )


def _session_expr(gap_minutes: float) -> pl.Expr:
    """Session id for data sorted by (user_id, ts): user plus the session's start (epoch s)."""
    gap = pl.duration(microseconds=round(gap_minutes * 60_000_000))
    new = (pl.col("user_id") != pl.col("user_id").shift(1)).fill_null(True) | (
        (pl.col("ts") - pl.col("ts").shift(1)) > gap
    ).fill_null(True)
    start = pl.when(new).then(pl.col("ts").dt.epoch("s")).forward_fill()
    return (pl.col("user_id") + pl.lit("#") + start.cast(pl.Utf8)).alias("session_id")


def derive_sessions(lf: pl.LazyFrame, gap_minutes: float) -> pl.LazyFrame:
    """Sort by (user_id, ts) and add ``session_id`` from an inactivity gap."""
    return lf.sort(["user_id", "ts"]).with_columns(_session_expr(gap_minutes))


# --------------------------------------------------------------------------------------------
# load


def _collect(lf: pl.LazyFrame, source: SourceInfo) -> pl.DataFrame:
    try:
        return lf.collect()
    except pl.exceptions.PolarsError as error:
        raise input_error_from_polars(error, source) from error


def _layout_line(mapping: ColumnMapping) -> str:
    preset = next((p for p in PRESETS if p.name == mapping.layout), None)
    if preset is not None:
        return f"layout: {preset.title} (preset {preset.name})"
    if mapping.layout == "transactions":
        return "layout: transaction table (no event column): every row is a purchase"
    return f"layout: {mapping.layout} event log (columns matched by known names)"


def _resolve_mapping(
    options: LoadOptions, source: SourceInfo, raw: pl.LazyFrame, schema: pl.Schema
) -> ColumnMapping:
    columns = list(schema.names())
    columns = [c for c in columns if c not in (FILE_COL, ROW_COL)]
    first_file = source.files[0]
    if options.mapping is not None:
        mapping = options.mapping
        check_columns_exist(mapping, columns, origin="the mapping", data_file=first_file)
    elif options.mapping_file is not None:
        mapping = load_mapping(options.mapping_file)
        check_columns_exist(
            mapping,
            columns,
            origin="the mapping file",
            file=options.mapping_file,
            data_file=first_file,
        )
    else:
        mapping = detect_mapping(columns, layout=options.layout)
        if mapping.layout == "generic" and "event" in mapping.columns:
            names = _event_names(raw, mapping, schema, source)
            mapping.event_aliases = generic_event_aliases(names)
    mapping = apply_overrides(mapping, options.overrides, columns)
    if "event" not in mapping.columns and not mapping.event_constant:
        mapping = replace(mapping, event_constant="purchase")
    if options.day_first is not None:
        mapping = replace(mapping, day_first=options.day_first)
    require_columns(mapping, columns, file=first_file)
    _check_source_types(mapping, schema, source)
    return mapping


def _event_names(
    raw: pl.LazyFrame, mapping: ColumnMapping, schema: pl.Schema, source: SourceInfo
) -> list[str]:
    expr = _texts(mapping.sources("event"), schema).alias("e")
    frame = _collect(raw.select(expr).head(EVENT_SAMPLE_ROWS).unique(), source)
    return [str(v) for v in frame["e"].drop_nulls().to_list()]


def load_events(
    paths: Sequence[str | Path] | str | Path, options: LoadOptions | None = None
) -> LoadedEvents:
    """Load event files into canonical events (lazy), deciding the mapping on a sample.

    Raises InputError for bad input (see segtui.ingest.sources and segtui.ingest.mapping), and in
    strict mode when any row would be left out.
    """
    options = options or LoadOptions()
    if isinstance(paths, str | Path):
        paths = [paths]
    if options.session_gap_minutes <= 0:
        raise InputError("the session gap must be a positive number of minutes")
    source = inspect_source(paths)
    raw = scan_source(source)
    try:
        schema = raw.collect_schema()
    except pl.exceptions.PolarsError as error:
        raise input_error_from_polars(error, source) from error
    mapping = _resolve_mapping(options, source, raw, schema)
    first_file = str(source.files[0])
    decisions = [
        f"source: {source.describe()}",
        *[f"source: {note}" for note in source.notes],
        _layout_line(mapping),
    ]

    # ---- sample: timestamps, ids, number format, scroll units
    ts_sources = mapping.sources("ts")
    text_numbers = list(
        dict.fromkeys(
            s for c in _NUMBER_COLUMNS for s in mapping.sources(c) if schema[s] == pl.Utf8
        )
    )
    sampled = [
        s for c in ("user_id", "scroll_depth") for s in mapping.sources(c) if c in mapping.columns
    ]
    sampled = list(dict.fromkeys([*sampled, *text_numbers]))
    sample = _collect(
        raw.select(_ts_raw(ts_sources, schema).alias(TS_RAW), *[pl.col(s) for s in sampled]).head(
            SAMPLE_ROWS
        ),
        source,
    )
    numbers = plan_numbers(
        {
            s: [
                v for v in sample[s].drop_nulls().str.strip_chars().unique(maintain_order=True) if v
            ]
            for s in text_numbers
        },
        source.delimiter,
        forced=mapping.decimal,
    )
    if numbers.decimal == "," and mapping.decimal is None:
        mapping = replace(mapping, decimal=",")
    plan = plan_timestamps(
        sample[TS_RAW].rename(mapping.columns["ts"]),
        column=mapping.columns["ts"],
        day_first=mapping.day_first,
        epoch_unit=mapping.epoch_unit,
        file=first_file,
    )
    decisions += list(plan.decisions)
    if numbers.decision:
        decisions.append(numbers.decision)
    mapping = replace(
        mapping,
        day_first=plan.day_first if plan.day_first is not None else mapping.day_first,
        epoch_unit=plan.epoch_unit if plan.epoch_unit is not None else mapping.epoch_unit,
    )

    exprs: dict[str, pl.Expr] = {}
    for canonical in _TEXT_COLUMNS:
        if canonical not in mapping.columns:
            continue
        sources = mapping.sources(canonical)
        drop = False
        if canonical in _ID_COLUMNS and schema[sources[0]] == pl.Utf8 and canonical == "user_id":
            values = sample[sources[0]].drop_nulls().str.strip_chars()
            values = values.filter(values != "")
            if values.len() and values.str.contains(r"^\d+\.0+$").all():
                drop = True
                decisions.append(
                    f"user_id: values like {values[0]!r} in {sources[0]} read without the "
                    f"trailing '.0' ({values[0].split('.')[0]!r})"
                )
        exprs[canonical] = _texts(sources, schema, drop_dot_zero=drop)
    number_raws: dict[str, pl.Expr] = {}
    for canonical in _NUMBER_COLUMNS:
        if canonical in mapping.columns:
            exprs[canonical] = _numbers(mapping.sources(canonical), schema, numbers)
            raw_text = _number_raw(mapping.sources(canonical), schema)
            if raw_text is not None:
                number_raws[canonical] = raw_text
    if "scroll_depth" in mapping.columns:
        src = mapping.columns["scroll_depth"]
        values = sample.select(_number(src, schema[src], numbers)).to_series().drop_nulls()
        if values.len() and 1 < float(values.max()) <= 100:  # type: ignore[arg-type]
            exprs["scroll_depth"] = exprs["scroll_depth"] / 100.0
            decisions.append(
                f"scroll_depth: {src} is in percent (largest sampled value {values.max()}), "
                "divided by 100"
            )

    # ---- events and aliases
    alias_targets: dict[str, list[str]] = {}
    event_raw: pl.Expr | None = None
    if mapping.invoice_refunds and "order_id" in exprs:
        refund = exprs["order_id"].str.starts_with("C").fill_null(False)
        exprs["event"] = pl.when(refund).then(pl.lit("refund")).otherwise(pl.lit("purchase"))
        decisions.append(
            f"event: every line is a purchase; lines whose {mapping.columns['order_id']} starts "
            "with 'C' are refunds with negative revenue; the invoice is the order (order_id)"
        )
    elif "event" in mapping.columns:
        event_raw = _texts(mapping.sources("event"), schema)
        names = _event_names(raw, mapping, schema, source)
        apply, skipped = resolve_event_aliases(mapping.event_aliases, names)
        seen = set(names)
        used = {k: v for k, v in apply.items() if k in seen}
        exprs["event"] = event_raw.replace(apply) if apply else event_raw
        if used:
            decisions.append(
                "event: aliases applied: " + ", ".join(f"{k} -> {v}" for k, v in used.items())
            )
        for k, why in skipped.items():
            if k in seen:
                decisions.append(f"event: kept {k!r} as it is: {why}")
        unknown = sorted(n for n in seen if n not in apply and n not in CANONICAL_EVENT_NAMES)
        if unknown:
            shown = ", ".join(unknown[:12]) + (
                f" and {len(unknown) - 12} more" if len(unknown) > 12 else ""
            )
            decisions.append(f"event: names kept as they are: {shown}")
        for k, v in apply.items():
            alias_targets.setdefault(v, []).append(k)
        alias_targets = {t: raws for t, raws in alias_targets.items() if t not in seen}
        alias_targets = {t: [r for r in raws if r in seen] for t, raws in alias_targets.items()}
        alias_targets = {t: raws for t, raws in alias_targets.items() if raws}
        decisions.append(
            f"event: alias table of layout {mapping.layout!r} has {len(mapping.event_aliases)} "
            "entries (names checked on the first "
            f"{EVENT_SAMPLE_ROWS:,} rows); edit event_aliases in a saved mapping to change it"
        )
    else:
        constant = mapping.event_constant or "purchase"
        exprs["event"] = pl.lit(constant)
        decisions.append(f"event: no event column, every row is a {constant}")

    # ---- revenue
    revenue_mode: str | None = None
    if "revenue" in exprs:
        revenue_mode = "mapped"
        decisions.append(f"revenue: from {mapping.columns['revenue']}; refunds made negative")
    elif "price" in exprs:
        revenue_mode = "derived"
        decisions.append(
            "revenue: derived as price x "
            + ("quantity" if "quantity" in exprs else "1 (no quantity column)")
            + " on purchase and refund events; refunds negative"
        )

    # ---- the checked frame: every row, canonical columns, and why a failing row is left out.
    # One select from raw columns first (raw and canonical names may collide), then the
    # expressions that read canonical columns.
    base = [pl.col(FILE_COL), pl.col(ROW_COL), _ts_raw(ts_sources, schema).alias(TS_RAW)]
    if event_raw is not None:
        base.append(event_raw.alias(EVENT_RAW))
    base += [e.alias(NUM_RAW + c) for c, e in number_raws.items()]
    stage1 = raw.select(*base, *[e.alias(k) for k, e in exprs.items()])
    stage1 = stage1.with_columns(plan.expr(TS_RAW).alias("ts"))
    if revenue_mode == "derived":
        amount = pl.col("price") * (
            pl.col("quantity").fill_null(1.0) if "quantity" in exprs else pl.lit(1.0)
        )
        is_sale = pl.col("event").is_in(["purchase", "refund"])
        stage1 = stage1.with_columns(pl.when(is_sale).then(amount).alias("revenue"))
    if revenue_mode is not None:
        rev = pl.col("revenue")
        stage1 = stage1.with_columns(
            pl.when(pl.col("event") == "refund").then(-rev.abs()).otherwise(rev).alias("revenue")
        )
    reason = (
        pl.when(pl.col("user_id").is_null())
        .then(1)
        .when(pl.col(TS_RAW).is_null())
        .then(2)
        .when(pl.col("ts").is_null())
        .then(3)
        .when(pl.col("event").is_null())
        .then(4)
        .otherwise(0)
        .cast(pl.UInt8)
        .alias(REASON_COL)
    )
    checked = stage1.with_columns(reason)

    user_src = mapping.columns["user_id"]
    ts_src = mapping.columns["ts"]
    labels = {
        "no_user": f"with no user id ({user_src} empty)",
        "no_timestamp": f"with no timestamp ({ts_src} empty)",
        "bad_timestamp": f"with an unparseable timestamp ({ts_src})",
        "no_event": "with no event name"
        + (f" ({mapping.columns['event']} empty)" if "event" in mapping.columns else ""),
    }
    values = {
        "no_user": "user_id",
        "no_timestamp": TS_RAW,
        "bad_timestamp": TS_RAW,
        "no_event": EVENT_RAW if event_raw is not None else "event",
    }
    if mapping.invoice_refunds:
        decisions.append(f"user_id: lines with no {user_src} are counted and left out")

    present = [
        c
        for c in CANONICAL_COLUMNS
        if c in exprs or c in ("user_id", "ts", "event") or (c == "revenue" and revenue_mode)
    ]
    kept = checked.filter(pl.col(REASON_COL) == 0)
    session_derived = "session_id" not in exprs
    if session_derived:
        kept = derive_sessions(kept.select(present), options.session_gap_minutes)
        present = [c for c in CANONICAL_COLUMNS if c in present or c == "session_id"]
        decisions.append(
            f"session_id: derived from a {options.session_gap_minutes:g}-minute inactivity gap "
            "per user (no session column); id is user#start-epoch-seconds"
        )
    events = kept.select([pl.col(c).cast(CANONICAL_SCHEMA[c]) for c in present])

    ok = pl.col(REASON_COL) == 0
    aggs = [
        pl.len().alias("rows_read"),
        ok.sum().alias("rows_kept"),
        *[(pl.col(REASON_COL) == code).sum().alias(f"left_out_{key}") for code, key in _REASONS],
        pl.col("user_id").filter(ok).n_unique().alias("users"),
        pl.col("ts").filter(ok).min().alias("first_ts"),
        pl.col("ts").filter(ok).max().alias("last_ts"),
        pl.col("event").filter(ok).value_counts(sort=True).implode().alias("events_by_type"),
        *[
            (pl.col(EVENT_RAW) == target).sum().alias(f"conflict_{target}")
            for target in alias_targets
        ],
        *[(ok & _not_a_number(c)).sum().alias(f"bad_number_{c}") for c in number_raws],
    ]
    report_query = checked.select(aggs)

    derived: dict[str, str] = {}
    if revenue_mode == "derived":
        derived["revenue"] = (
            "price x quantity" if "quantity" in exprs else "price (no quantity column)"
        )
    if session_derived:
        derived["session_id"] = f"{options.session_gap_minutes:g}-minute inactivity gap"
    loaded = LoadedEvents(
        events=events,
        mapping=mapping,
        columns=present,
        source=source,
        decisions=decisions,
        report_query=report_query,
        timestamp_plan=plan,
        session_derived=session_derived,
        session_gap_minutes=options.session_gap_minutes,
        checked=checked,
        reason_labels=labels,
        reason_values=values,
        alias_targets=alias_targets,
        derived=derived,
        number_sources={
            c: ", ".join(s for s in mapping.sources(c) if schema[s] == pl.Utf8) for c in number_raws
        },
    )
    if options.strict:
        strict_check(loaded, loaded.collect_report())
    return loaded


_STRICT_WHAT = {
    "no_user": "has no user id",
    "no_timestamp": "has no timestamp",
    "bad_timestamp": "has a timestamp that cannot be read",
    "no_event": "has no event name",
}


def strict_check(loaded: LoadedEvents, report: LoadReport) -> None:
    """``--strict``: raise on the first row that would be left out, or the first value of a
    number column that is not a number, naming its row and raw value."""
    mapping = loaded.mapping
    files = {str(f): i for i, f in enumerate(loaded.source.files)}
    firsts: list[tuple[tuple[int, int], str, str, tuple[str, int, str | None]]] = []
    for lo in report.left_out:
        if lo.count and lo.examples:
            f, r, v = lo.examples[0]
            column = {"no_user": "user_id", "no_event": "event"}.get(lo.reason, "ts")
            where = mapping.columns.get(column, column)
            firsts.append(
                ((files.get(f, 0), r), f"the row {_STRICT_WHAT[lo.reason]}", where, (f, r, v))
            )
    counts = [lo for lo in report.left_out if lo.count]
    if counts and not firsts:  # pragma: no cover - examples come with every count
        raise InputError(
            f"{counts[0].count:,} row(s) {counts[0].label}",
            file=loaded.source.files[0],
            hint="Fix the rows, correct the mapping, or drop --strict to leave them out.",
        )
    if firsts:
        _, what, where, (f, r, v) = min(firsts, key=lambda x: x[0])
        total = sum(lo.count for lo in counts)
        summary = ", ".join(f"{lo.count:,} {lo.label}" for lo in counts)
        raise InputError(
            f"{what} (value: {'empty' if v is None or v == '' else repr(v)})",
            file=f,
            column=where,
            row=r,
            details=[
                f"{total:,} row{'s' if total != 1 else ''} would be left out in all: {summary}"
            ],
            hint="Fix the rows, correct the mapping, or drop --strict to leave them out.",
        )
    bad = [b for b in report.bad_values if b.count and b.examples]
    if bad:

        def first(b: BadValues) -> tuple[int, int]:
            return (files.get(b.examples[0][0], 0), b.examples[0][1])

        b = min(bad, key=first)
        f, r, v = b.examples[0]
        raise InputError(
            f"{v!r} is not a number ({b.column})",
            file=f,
            column=b.source,
            row=r,
            details=[
                "; ".join(
                    f"{x.count:,} value{'s' if x.count != 1 else ''} of {x.source!r} "
                    f"{'are not numbers' if x.count != 1 else 'is not a number'}"
                    for x in report.bad_values
                )
            ],
            hint="Fix the values, correct the mapping, or drop --strict to read them as empty.",
        )


def check_as_of(report: LoadReport, as_of: datetime | None, file: str | Path | None) -> None:
    """An ``--as-of`` before the first event counts nothing: say so, with the first event."""
    if as_of is None or report.first_ts is None:
        return
    moment = as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=UTC)
    first = report.first_ts
    if moment >= first:
        return
    shown = f"{moment:%Y-%m-%d}" if moment.time() == time(0) else f"{moment:%Y-%m-%d %H:%M:%S}"
    raise InputError(
        f"--as-of {shown} is before the first event ({first:%Y-%m-%d %H:%M:%S} UTC), "
        "so no event would be counted",
        file=file,
        hint=f"Give a date on or after {first:%Y-%m-%d}, or drop --as-of to count up to the "
        f"last event ({report.last_ts:%Y-%m-%d}).",
    )


def preview(loaded: LoadedEvents, n: int = 20) -> pl.DataFrame:
    """The first ``n`` source rows after mapping (reads only the head).

    Columns: ``file``, ``row`` (1-based data row in that file), the canonical columns, and
    ``left_out`` (why the row would be left out, null when kept). Derived sessions are computed
    within these rows only.
    """
    labels = {code: loaded.reason_labels[key] for code, key in _REASONS}
    cols = [c for c in loaded.columns if c != "session_id" or not loaded.session_derived]
    frame = loaded.checked.head(n).select(
        pl.col(FILE_COL).alias("file"),
        pl.col(ROW_COL).alias("row"),
        *[pl.col(c).cast(CANONICAL_SCHEMA[c]) for c in cols],
        pl.col(REASON_COL)
        .replace_strict(labels, default=None, return_dtype=pl.Utf8)
        .alias("left_out"),
    )
    frame = _collect(frame, loaded.source)
    if loaded.session_derived:
        sessions = (
            frame.filter(pl.col("left_out").is_null())
            .sort(["user_id", "ts"])
            .with_columns(_session_expr(loaded.session_gap_minutes))
            .select("file", "row", "session_id")
        )
        frame = frame.join(sessions, on=["file", "row"], how="left", maintain_order="left")
    names = {i: str(f) for i, f in enumerate(loaded.source.files)}
    frame = frame.with_columns(
        pl.col("file").replace_strict(names, return_dtype=pl.Utf8),
    )
    return frame.select("file", "row", *loaded.columns, "left_out")
