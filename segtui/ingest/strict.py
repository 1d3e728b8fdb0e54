"""Refusing what loading would otherwise pass over: ``--strict`` and an ``--as-of`` too early.

By default a row that cannot be read is left out and counted, and a value that is not a number is
read as empty; ``--strict`` turns the first of either into an :class:`InputError` that names its
file, row and raw value, so a pipeline stops instead of segmenting part of its data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time
from pathlib import Path

from segtui.errors import InputError
from segtui.ingest.mapping import ColumnMapping
from segtui.ingest.report import BadValues, LeftOut, LoadReport, not_numbers

_STRICT_WHAT = {
    "no_user": "has no user id",
    "no_timestamp": "has no timestamp",
    "bad_timestamp": "has a timestamp that cannot be read",
    "no_event": "has no event name",
    "ragged": "has more or fewer fields than the header",
}
"""What a left-out row has wrong, by the reason key of ``segtui.ingest.report.REASONS``."""
_STRICT_HINT = "Fix the rows, correct the mapping, or drop --strict to leave them out."


def strict_check(report: LoadReport, mapping: ColumnMapping, files: Sequence[Path]) -> None:
    """``--strict``: raise on the first row that would be left out, or the first value of a
    number column that is not a number, naming its row and raw value."""
    order = {str(f): i for i, f in enumerate(files)}
    counts = [lo for lo in report.left_out if lo.count]
    with_examples = [lo for lo in counts if lo.examples]
    if counts and not with_examples:  # pragma: no cover - examples come with every count
        raise InputError(
            f"{counts[0].count:,} row(s) {counts[0].label}", file=files[0], hint=_STRICT_HINT
        )
    if with_examples:
        first = min(
            with_examples, key=lambda lo: (order.get(lo.examples[0][0], 0), lo.examples[0][1])
        )
        raise _left_out_error(first, counts, mapping)
    bad = [b for b in report.bad_values if b.count and b.examples]
    if bad:
        first_bad = min(bad, key=lambda b: (order.get(b.examples[0][0], 0), b.examples[0][1]))
        raise _bad_value_error(first_bad, report.bad_values)


def _left_out_error(
    first: LeftOut, counts: Sequence[LeftOut], mapping: ColumnMapping
) -> InputError:
    f, r, v = first.examples[0]
    total = sum(lo.count for lo in counts)
    summary = ", ".join(f"{lo.count:,} {lo.label}" for lo in counts)
    if first.reason == "ragged":
        what, column = f"{_STRICT_WHAT['ragged']} ({v} fields)", None
    else:
        column = {"no_user": "user_id", "no_event": "event"}.get(first.reason, "ts")
        shown = "empty" if v is None or v == "" else repr(v)
        what = f"{_STRICT_WHAT.get(first.reason, first.label)} (value: {shown})"
        column = mapping.columns.get(column, column)
    return InputError(
        f"the row {what}",
        file=f,
        column=column,
        row=r,
        details=[f"{total:,} row{'s' if total != 1 else ''} would be left out in all: {summary}"],
        hint=_STRICT_HINT,
    )


def _bad_value_error(first: BadValues, every: Sequence[BadValues]) -> InputError:
    f, r, v = first.examples[0]
    return InputError(
        f"{v!r} is not a number ({first.column})",
        file=f,
        column=first.source,
        row=r,
        details=["; ".join(not_numbers(x.count, x.source) for x in every)],
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
