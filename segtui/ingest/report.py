"""What loading did, for the person: rows read and kept, rows left out and why, odd values.

The loader builds one lazy frame of every row with the reason it is left out (``__reason``, 0
when kept); :class:`ReportPlan` turns it into one row of counts (``ReportPlan.query``) that a
caller collects together with its own work, and :func:`finish_report` turns that row into a
:class:`LoadReport`, reading the first few failing rows only when some rows failed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from segtui.ingest.mapping import ColumnMapping
from segtui.ingest.ragged import FIELDS_COL
from segtui.ingest.sources import FILE_COL, ROW_COL, SourceInfo, input_error_from_polars

# Columns of the checked frame besides the canonical ones.
REASON_COL = "__reason"
NUM_RAW = "__raw_"
TS_RAW = "__ts_raw"
EVENT_RAW = "__event_raw"
BAD_FLAG = "__bad_"
"""``__bad_<column>``: a checked row's number text did not read as a number."""
CONFLICT_FLAG = "__conflict_"
"""``__conflict_<event>``: a checked row's raw event name is that canonical event."""

EXAMPLES = 5
REASONS = (
    (5, "ragged"),
    (1, "no_user"),
    (2, "no_timestamp"),
    (3, "bad_timestamp"),
    (4, "no_event"),
)
"""Reasons a row is left out, in the order they are checked: (code in ``__reason``, key)."""

Example = tuple[str, int, str | None]
"""(file, 1-based data row, raw value)."""


def reason_expr() -> pl.Expr:
    """``__reason``: why a row of canonical columns is left out (the first failing check), or 0."""
    return (
        pl.when(pl.col(FIELDS_COL).is_not_null())
        .then(5)
        .when(pl.col("user_id").is_null())
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


def not_a_number(canonical: str) -> pl.Expr:
    """True where a number column's text is there but did not read as a number."""
    return pl.col(NUM_RAW + canonical).is_not_null() & pl.col(canonical).is_null()


def _shown(examples: Sequence[Example], *, show_file: bool = True) -> str:
    return "; ".join(
        (f"{Path(f).name} " if show_file else "")
        + f"row {r}: {'(empty)' if v is None else repr(v)}"
        for f, r, v in examples
    )


@dataclass(frozen=True)
class LeftOut:
    """Rows left out for one reason, with the first few (file, 1-based data row, raw value)."""

    reason: str
    label: str
    count: int
    examples: list[Example] = field(default_factory=list)

    def line(self) -> str:
        shown = _shown(self.examples)
        return f"{self.count:,} {self.label}" + (f" (e.g. {shown})" if shown else "")


def not_numbers(count: int, source: str) -> str:
    """``3 values of 'Price' are not numbers`` (one wording for the note and --strict)."""
    many = count != 1
    return (
        f"{count:,} value{'s' if many else ''} of {source!r} "
        f"{'are not numbers' if many else 'is not a number'}"
    )


@dataclass(frozen=True)
class BadValues:
    """Values of a number column that are not numbers: the rows are kept, the value is empty."""

    column: str
    """The canonical column (price, revenue...)."""
    source: str
    count: int
    examples: list[Example] = field(default_factory=list)
    show_file: bool = False

    def line(self) -> str:
        shown = _shown(self.examples[:3], show_file=self.show_file)
        text = not_numbers(self.count, self.source)
        if shown:
            text += f", e.g. {shown}"
        many = self.count != 1
        return text + f"; the row{'s are' if many else ' is'} kept with no {self.column}"


def _examples_data(examples: Sequence[Example]) -> list[dict[str, Any]]:
    return [{"file": f, "row": r, "value": v} for f, r, v in examples]


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

    def summary_lines(self) -> list[str]:
        """The lines a command prints (``features``, ``segment``, ``sweep``, every engine):
        :meth:`lines` without the per-reason detail and the events by type."""
        return [
            line for line in self.lines() if not line.startswith("  ") and "events by" not in line
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "left_out": [
                {
                    "reason": lo.reason,
                    "label": lo.label,
                    "count": lo.count,
                    "examples": _examples_data(lo.examples),
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
                    "examples": _examples_data(b.examples),
                }
                for b in self.bad_values
            ],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class LeftOutReasons:
    """For each reason a row is left out: the words for a person and the column to show."""

    labels: Mapping[str, str]
    """Reason key -> e.g. ``with no user id (CustomerID empty)``."""
    values: Mapping[str, str]
    """Reason key -> the column of the checked frame whose value the examples show."""


def left_out_reasons(mapping: ColumnMapping, *, event_raw: bool) -> LeftOutReasons:
    """The reasons worded with the mapped source columns; ``event_raw``: an event column is read."""
    user_src = mapping.columns["user_id"]
    ts_src = mapping.columns["ts"]
    labels = {
        "ragged": "with more or fewer fields than the header (their field count shown)",
        "no_user": f"with no user id ({user_src} empty)",
        "no_timestamp": f"with no timestamp ({ts_src} empty)",
        "bad_timestamp": f"with an unparseable timestamp ({ts_src})",
        "no_event": "with no event name"
        + (f" ({mapping.columns['event']} empty)" if "event" in mapping.columns else ""),
    }
    values = {
        "ragged": FIELDS_COL,
        "no_user": "user_id",
        "no_timestamp": TS_RAW,
        "bad_timestamp": TS_RAW,
        "no_event": EVENT_RAW if event_raw else "event",
    }
    return LeftOutReasons(labels, values)


@dataclass(frozen=True)
class ReportPlan:
    """Everything the report needs from loading: the checked frame and how to word it."""

    checked: pl.LazyFrame = field(repr=False)
    """Every row: file, row, raw values, canonical columns and ``__reason``."""
    source: SourceInfo
    reasons: LeftOutReasons
    alias_targets: Mapping[str, list[str]] = field(default_factory=dict)
    """Canonical event -> raw names folded into it that the sample did not show in the data."""
    number_sources: Mapping[str, str] = field(default_factory=dict)
    """Number columns read from text: canonical -> source name (non-numbers are counted)."""

    def query(self) -> pl.LazyFrame:
        """One row of counts: rows read and kept, per reason, users, time span, events."""
        ok = pl.col(REASON_COL) == 0
        aggs = [
            pl.len().alias("rows_read"),
            ok.sum().alias("rows_kept"),
            *[(pl.col(REASON_COL) == code).sum().alias(f"left_out_{key}") for code, key in REASONS],
            pl.col("user_id").filter(ok).n_unique().alias("users"),
            pl.col("ts").filter(ok).min().alias("first_ts"),
            pl.col("ts").filter(ok).max().alias("last_ts"),
            pl.col("event").filter(ok).value_counts(sort=True).implode().alias("events_by_type"),
            *[
                (pl.col(EVENT_RAW) == target).sum().alias(f"conflict_{target}")
                for target in self.alias_targets
            ],
            *[(ok & not_a_number(c)).sum().alias(f"bad_number_{c}") for c in self.number_sources],
        ]
        return self.checked.select(aggs)

    def flags(self) -> list[pl.Expr]:
        """The flags :func:`segtui.ingest.read_sql.checked_sql` gives every row, as polars
        computes them: what :func:`~segtui.ingest.read_sql.report_counts_sql` counts."""
        return [
            *[not_a_number(c).alias(BAD_FLAG + c) for c in self.number_sources],
            *[(pl.col(EVENT_RAW) == t).alias(CONFLICT_FLAG + t) for t in self.alias_targets],
        ]

    def examples_query(self, code: int, key: str) -> pl.LazyFrame:
        """The first rows left out for one reason, with the value that made them fail."""
        value = pl.col(self.reasons.values[key]).cast(pl.Utf8)
        return self._head(pl.col(REASON_COL) == code, value)

    def bad_number_query(self, column: str) -> pl.LazyFrame:
        """The first kept rows whose ``column`` text is not a number."""
        return self._head(
            (pl.col(REASON_COL) == 0) & not_a_number(column), pl.col(NUM_RAW + column)
        )

    def _head(self, where: pl.Expr, value: pl.Expr) -> pl.LazyFrame:
        return (
            self.checked.filter(where)
            .select(pl.col(FILE_COL), pl.col(ROW_COL), value.alias("value"))
            .head(EXAMPLES)
        )


def _count(row: Mapping[str, Any], name: str) -> int:
    return int(row.get(name, 0) or 0)


def _examples(plan: ReportPlan, row: Mapping[str, Any]) -> dict[str, list[Example]]:
    """The first failing rows of every reason and number column that has any (one collect)."""
    queries: list[tuple[str, pl.LazyFrame]] = [
        (key, plan.examples_query(code, key))
        for code, key in REASONS
        if _count(row, f"left_out_{key}")
    ]
    queries += [
        (NUM_RAW + column, plan.bad_number_query(column))
        for column in plan.number_sources
        if _count(row, f"bad_number_{column}")
    ]
    if not queries:
        return {}
    try:
        frames = pl.collect_all([q for _, q in queries])
    except (pl.exceptions.PolarsError, OSError) as error:
        raise input_error_from_polars(error, plan.source) from error
    return {
        key: [(plan.source.file_name(f), int(r), v) for f, r, v in frame.iter_rows()]
        for (key, _), frame in zip(queries, frames, strict=True)
    }


def _events_by_type(row: Mapping[str, Any]) -> dict[str, int] | None:
    if row.get("events_by_type") is None:
        return None
    pairs = [(d["event"], int(d["count"])) for d in row["events_by_type"]]
    return {str(k): v for k, v in sorted(pairs, key=lambda kv: (-kv[1], str(kv[0])))}


def _alias_notes(plan: ReportPlan, row: Mapping[str, Any]) -> list[str]:
    notes = []
    for target, raws in plan.alias_targets.items():
        n = _count(row, f"conflict_{target}")
        if n:
            notes.append(
                f"{n:,} rows are named {target!r} in the data itself, beyond the sample used "
                f"to decide aliases, and {', '.join(repr(r) for r in raws)} were folded "
                "into it; "
                f"remove that alias from the mapping if they differ"
            )
    return notes


def finish_report(plan: ReportPlan, counts: pl.DataFrame) -> LoadReport:
    """Turn the collected ``plan.query()`` row into a LoadReport.

    Reads the first few failing rows (a head-limited scan) only when some rows failed.
    """
    return report_from_counts(plan, counts.row(0, named=True))


def report_from_counts(plan: ReportPlan, row: Mapping[str, Any]) -> LoadReport:
    """A LoadReport from one row of counts named as :meth:`ReportPlan.query` names them,
    whoever counted them (polars, or a SQL engine through
    :func:`segtui.ingest.read_sql.report_sql`); ``events_by_type`` is a list of
    ``{"event", "count"}``. The first failing rows of each reason are read as
    :func:`finish_report` reads them: a head-limited scan, only when some rows failed."""
    examples = _examples(plan, row)
    left_out = [
        LeftOut(key, plan.reasons.labels[key], count, examples.get(key, []))
        for _, key in REASONS
        if (count := _count(row, f"left_out_{key}"))
    ]
    bad_values = [
        BadValues(
            column,
            source,
            int(row[f"bad_number_{column}"]),
            examples.get(NUM_RAW + column, []),
            show_file=len(plan.source.files) > 1,
        )
        for column, source in plan.number_sources.items()
        if row.get(f"bad_number_{column}", 0)
    ]
    return LoadReport(
        rows_read=int(row["rows_read"]),
        rows_kept=int(row["rows_kept"]),
        left_out=left_out,
        users=int(row["users"]),
        first_ts=row["first_ts"],
        last_ts=row["last_ts"],
        events_by_type=_events_by_type(row),
        notes=_alias_notes(plan, row),
        bad_values=bad_values,
    )
