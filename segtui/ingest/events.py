"""Canonical events: load event files, map them, and build one lazy plan of canonical columns.

:func:`load_events` is the public entry point. It reads only a sample of the head to decide the
layout, the mapping, the timestamp format and the event aliases, then returns a lazy plan:
``LoadedEvents.events`` (canonical columns, bad rows left out, ``session_id`` always present)
and ``LoadedEvents.report_query`` (one row of counts) that a caller collects together with its
own work (``pl.collect_all``) so a big file is scanned once. Everything decided is listed in
``LoadedEvents.decisions`` so the person can see it and correct it.

The stages live where their idea does: the source (:mod:`segtui.ingest.sources`), the mapping
(:mod:`segtui.ingest.mapping`, resolved here from the options), the column expressions
(:mod:`segtui.ingest.columns`), sessions (:mod:`segtui.ingest.sessions`) and the report
(:mod:`segtui.ingest.report`, :mod:`segtui.ingest.strict`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from segtui.errors import InputError
from segtui.ingest.columns import (
    ColumnPlan,
    EventPlan,
    RevenuePlan,
    checked_frame,
    event_names,
    plan_columns,
    plan_event,
    plan_revenue,
    plan_values,
    read_sample,
)
from segtui.ingest.mapping import (
    CANONICAL_COLUMNS,
    CANONICAL_EVENT_NAMES,
    ColumnMapping,
    apply_overrides,
    check_columns_exist,
    detect_mapping,
    generic_event_aliases,
    load_mapping,
    require_columns,
)
from segtui.ingest.numbers import is_counted_source
from segtui.ingest.presets import get_preset
from segtui.ingest.reading import ReadPlan, build_read_plan
from segtui.ingest.report import (
    REASON_COL,
    REASONS,
    LoadReport,
    ReportPlan,
    finish_report,
    left_out_reasons,
)
from segtui.ingest.sessions import (
    check_session_gap,
    derive_sessions,
    session_decision,
    session_expr,
)
from segtui.ingest.sources import (
    FILE_COL,
    ROW_COL,
    ScannedSource,
    SourceInfo,
    collect_source,
    input_error_from_polars,
    open_source,
    with_absent_keys,
)
from segtui.ingest.strict import strict_check
from segtui.ingest.timestamps import UTC_DTYPE, TimestampPlan

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
    "event_id": pl.Utf8(),
}
REQUIRED_COLUMNS: tuple[str, ...] = ("user_id", "ts", "event")
CANONICAL_EVENTS: tuple[str, ...] = CANONICAL_EVENT_NAMES
assert tuple(CANONICAL_SCHEMA) == CANONICAL_COLUMNS


@dataclass(frozen=True)
class LoadOptions:
    """How to load: mapping corrections, strictness and the session gap.

    ``mapping`` (a ColumnMapping object) wins over ``mapping_file``; ``overrides`` (canonical ->
    source, empty source unmaps) apply on top of either or of the detected mapping. ``layout``
    forces a preset by name. ``day_first`` None means decide from the data. ``absent_keys``
    (NDJSON only: flattened name -> key path) are keys a saved model reads that these files may
    not have; a key no record has is read as empty in every row (:func:`with_absent_keys`).
    """

    overrides: dict[str, str] = field(default_factory=dict)
    mapping_file: Path | None = None
    mapping: ColumnMapping | None = None
    strict: bool = False
    session_gap_minutes: float = 30
    day_first: bool | None = None
    layout: str | None = None
    absent_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadedEvents:
    """The canonical events as a lazy plan, with the mapping, decisions and a lazy report."""

    events: pl.LazyFrame
    mapping: ColumnMapping
    columns: list[str]
    source: SourceInfo
    decisions: list[str]
    timestamp_plan: TimestampPlan
    session_gap_minutes: float
    report: ReportPlan = field(repr=False)
    """The checked frame and how to word the report (what :meth:`finish_report` reads)."""
    derived: dict[str, str] = field(default_factory=dict)
    """Canonical columns segtui computed rather than read: column -> how."""
    read_plan: ReadPlan | None = None
    """The reading decisions as data (what the SQL engines apply to raw rows)."""

    @property
    def session_derived(self) -> bool:
        """The log had no session column: sessions come from the inactivity gap."""
        return "session_id" in self.derived

    @property
    def checked_columns(self) -> list[str]:
        """The canonical columns every checked row has: sessions from the gap aside."""
        return [c for c in self.columns if not (c == "session_id" and self.session_derived)]

    @property
    def checked_rows(self) -> pl.LazyFrame:
        """Every row read, as :func:`segtui.ingest.read_sql.checked_sql` gives it from the raw
        rows: :attr:`checked_columns`, ``__reason`` (0 for a kept row) and the report's flags.

        Written out (one streaming sink, in file order, no sort for sessions), a SQL engine
        counts the loading report over it and keeps its events (``watch init``'s spool): the
        sink's memory stays flat with the rows, where polars 2.1 holds what it read when one
        scan feeds both the events and the report's counts (``bench_read_memory.py``)."""
        return self.report.checked.select(
            *[pl.col(c).cast(CANONICAL_SCHEMA[c]) for c in self.checked_columns],
            pl.col(REASON_COL),
            *self.report.flags(),
        )

    @property
    def report_query(self) -> pl.LazyFrame:
        """One row of counts; collect it with other work and pass it to :meth:`finish_report`."""
        return self.report.query()

    def finish_report(self, counts: pl.DataFrame) -> LoadReport:
        """Turn the collected ``report_query`` row into a LoadReport."""
        return finish_report(self.report, counts)

    def collect_report(self) -> LoadReport:
        """Collect the report on its own (one scan of the columns it needs)."""
        return self.finish_report(collect_source(self.report_query, self.source))

    def collect_with_report(self, query: pl.LazyFrame) -> tuple[pl.DataFrame, LoadReport]:
        """Collect ``query`` (built on ``events``) and the report together: one scan of the files.

        Polars errors (a value that does not parse) become an InputError naming the file.
        """
        try:
            counts, frame = pl.collect_all([self.report_query, query], engine="streaming")
        except (pl.exceptions.PolarsError, OSError) as error:
            raise input_error_from_polars(error, self.source) from error
        return frame, self.finish_report(counts)


# --------------------------------------------------------------------------------------------
# the mapping, from the options or detected


def resolve_mapping(options: LoadOptions, raw: ScannedSource) -> ColumnMapping:
    """The mapping given (object or file) or detected, with the options applied, checked."""
    columns = raw.columns
    first_file = raw.info.files[0]
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
            mapping.event_aliases = generic_event_aliases(event_names(raw, mapping))
    mapping = apply_overrides(mapping, options.overrides, columns)
    if "event" not in mapping.columns and not mapping.event_constant:
        mapping = replace(mapping, event_constant="purchase")
    if options.day_first is not None:
        mapping = replace(mapping, day_first=options.day_first)
    require_columns(mapping, columns, file=first_file)
    _check_source_types(mapping, raw)
    return mapping


def _check_source_types(mapping: ColumnMapping, raw: ScannedSource) -> None:
    for canonical in mapping.columns:
        for src in mapping.sources(canonical):
            dtype = raw.schema[src]
            if isinstance(dtype, pl.List | pl.Array | pl.Object):
                raise InputError(
                    f"the column holds lists ({dtype}), not single values",
                    file=raw.info.files[0],
                    column=src,
                    hint=f"Flatten the export first or map another column to {canonical}.",
                )


def _layout_line(mapping: ColumnMapping) -> str:
    preset = get_preset(mapping.layout)
    if preset is not None:
        return f"layout: {preset.title} (preset {preset.name})"
    if mapping.layout == "transactions":
        return "layout: transaction table (no event column): every row is a purchase"
    return f"layout: {mapping.layout} event log (columns matched by known names)"


def _source_lines(raw: ScannedSource, mapping: ColumnMapping) -> list[str]:
    return [
        f"source: {raw.info.describe()}",
        *[f"source: {note}" for note in raw.info.notes],
        _layout_line(mapping),
    ]


# --------------------------------------------------------------------------------------------
# load


def _present(columns: ColumnPlan, revenue: RevenuePlan) -> list[str]:
    """The canonical columns the events will have, in canonical order (before sessions)."""
    return [
        c
        for c in CANONICAL_COLUMNS
        if c in columns.exprs
        or c in ("user_id", "ts", "event")
        or (c == "revenue" and revenue.mode is not None)
    ]


def _report_plan(
    raw: ScannedSource,
    mapping: ColumnMapping,
    checked: pl.LazyFrame,
    columns: ColumnPlan,
    event: EventPlan,
) -> ReportPlan:
    number_sources = {
        c: ", ".join(s for s in mapping.sources(c) if is_counted_source(raw.schema[s]))
        for c in columns.number_texts
    }
    reasons = left_out_reasons(mapping, event_raw=event.raw is not None)
    return ReportPlan(checked, raw.info, reasons, event.alias_targets, number_sources)


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
    check_session_gap(options.session_gap_minutes)
    raw = open_source(paths)
    raw, absent = with_absent_keys(raw, options.absent_keys)
    mapping = resolve_mapping(options, raw)
    decisions = _source_lines(raw, mapping)
    if absent:
        decisions.append(
            f"source: no record has the key{'s' if len(absent) > 1 else ''} "
            f"{', '.join(absent)} (the model reads {'them' if len(absent) > 1 else 'it'}): "
            "read as empty in every row"
        )
    sample = read_sample(raw, mapping)
    values = plan_values(raw, mapping, sample)
    mapping = values.mapping
    columns = plan_columns(raw, mapping, sample, values.numbers)
    event = plan_event(raw, mapping, columns)
    revenue = plan_revenue(mapping, columns)
    checked = checked_frame(raw, mapping, columns, event, values.timestamps, revenue)
    decisions += [*values.decisions, *columns.decisions, *event.decisions]
    decisions += [revenue.decision] if revenue.decision else []
    if mapping.invoice_refunds:
        decisions.append(
            f"user_id: lines with no {mapping.columns['user_id']} are counted and left out"
        )
    present = _present(columns, revenue)
    kept = checked.filter(pl.col(REASON_COL) == 0)
    derived = {"revenue": revenue.derived} if revenue.derived else {}
    if "session_id" not in columns.exprs:
        kept = derive_sessions(kept.select(present), options.session_gap_minutes)
        present = [c for c in CANONICAL_COLUMNS if c in present or c == "session_id"]
        decisions.append(session_decision(options.session_gap_minutes))
        derived["session_id"] = f"{options.session_gap_minutes:g}-minute inactivity gap"
    report = _report_plan(raw, mapping, checked, columns, event)
    read_plan = build_read_plan(
        mapping,
        raw.schema,
        columns,
        event,
        values.timestamps,
        revenue,
        values.numbers,
        options.session_gap_minutes if "session_id" in derived else None,
        tuple(present),
        raw.info.json_paths,
    )
    loaded = LoadedEvents(
        events=kept.select([pl.col(c).cast(CANONICAL_SCHEMA[c]) for c in present]),
        mapping=mapping,
        columns=present,
        source=raw.info,
        decisions=decisions,
        timestamp_plan=values.timestamps,
        session_gap_minutes=options.session_gap_minutes,
        report=report,
        derived=derived,
        read_plan=read_plan,
    )
    if options.strict:
        strict_check(loaded.collect_report(), mapping, raw.info.files)
    return loaded


def preview(loaded: LoadedEvents, n: int = 20) -> pl.DataFrame:
    """The first ``n`` source rows after mapping (reads only the head).

    Columns: ``file``, ``row`` (1-based data row in that file), the canonical columns, and
    ``left_out`` (why the row would be left out, null when kept). Derived sessions are computed
    within these rows only.
    """
    labels = {code: loaded.report.reasons.labels[key] for code, key in REASONS}
    cols = [c for c in loaded.columns if c != "session_id" or not loaded.session_derived]
    frame = loaded.report.checked.head(n).select(
        pl.col(FILE_COL).alias("file"),
        pl.col(ROW_COL).alias("row"),
        *[pl.col(c).cast(CANONICAL_SCHEMA[c]) for c in cols],
        pl.col(REASON_COL)
        .replace_strict(labels, default=None, return_dtype=pl.Utf8)
        .alias("left_out"),
    )
    frame = collect_source(frame, loaded.source)
    if loaded.session_derived:
        sessions = (
            frame.filter(pl.col("left_out").is_null())
            .sort(["user_id", "ts"])
            .with_columns(session_expr(loaded.session_gap_minutes))
            .select("file", "row", "session_id")
        )
        frame = frame.join(sessions, on=["file", "row"], how="left", maintain_order="left")
    names = {i: str(f) for i, f in enumerate(loaded.source.files)}
    frame = frame.with_columns(
        pl.col("file").replace_strict(names, return_dtype=pl.Utf8),
    )
    return frame.select("file", "row", *loaded.columns, "left_out")
