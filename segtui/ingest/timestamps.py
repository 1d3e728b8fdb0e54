"""Timestamps: decide the format on a sample, then parse lazily to ``Datetime("us", "UTC")``.

Real exports write time in many ways. The format is decided once on a sample of the column (cheap,
reads only the head) and turned into one polars expression, so a 10M-row file is parsed in the
same lazy pass as everything else. A value the decided format cannot read becomes null; the loader
counts those rows and leaves them out (or raises in strict mode), naming the first few.

Forms understood: ISO 8601 with or without offset (``T`` or space, fractional seconds, ``Z``),
``YYYY-MM-DD HH:MM:SS UTC``, ``M/D/YYYY H:MM`` and ``D/M/YYYY H:MM`` (which one is decided from
the data and reported), ``YYYYMMDD`` dates as integers or strings, and epoch seconds,
milliseconds, microseconds or nanoseconds (decided per value by magnitude, so a column that mixes
seconds and milliseconds reads right; the units seen are said). Naive values are taken as UTC.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from segtui.errors import InputError

UTC_DTYPE = pl.Datetime("us", "UTC")

EPOCH_UNITS = ("s", "ms", "us", "ns")
AUTO_UNIT = "auto"
"""The plan's epoch unit when none is forced: each value's own magnitude says its unit."""
_EPOCH_WORDS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
# Upper bounds of |value| for each unit: anything below 1e11 seconds is before year 5138, and so
# on by factors of 1000. A value's magnitude says its unit for any date between 1973 and 5138.
EPOCH_LIMITS = ((1e11, "s"), (1e14, "ms"), (1e17, "us"))


@dataclass(frozen=True)
class _Form:
    """One strptime format polars can parse, with a readable name."""

    fmt: str
    name: str
    has_offset: bool = False


# Formats without ``%.f`` come first: polars parses them on a fast path (several times faster
# on millions of rows); the greedy cover in ``_text_plan`` takes the first form reading the most.
_OFFSET = (
    _Form("%Y-%m-%dT%H:%M:%SZ", "ISO 8601 UTC (Z)"),
    _Form("%Y-%m-%dT%H:%M:%S%#z", "ISO 8601 with offset", True),
    _Form("%Y-%m-%dT%H:%M:%S%.fZ", "ISO 8601 UTC (Z) with fractional seconds"),
    _Form("%Y-%m-%dT%H:%M:%S%.f%#z", "ISO 8601 with offset and fractional seconds", True),
    _Form("%Y-%m-%d %H:%M:%S%.f%#z", "ISO 8601 with offset (space)", True),
    _Form("%Y-%m-%dT%H:%M%#z", "ISO 8601 with offset, no seconds", True),
)
_NAIVE = (
    _Form("%Y-%m-%d %H:%M:%S UTC", "YYYY-MM-DD HH:MM:SS UTC"),
    _Form("%Y-%m-%d %H:%M:%S", "YYYY-MM-DD HH:MM:SS (taken as UTC)"),
    _Form("%Y-%m-%dT%H:%M:%S", "ISO 8601 without offset (taken as UTC)"),
    _Form("%Y-%m-%d %H:%M:%S%.f UTC", "YYYY-MM-DD HH:MM:SS.f UTC"),
    _Form("%Y-%m-%dT%H:%M:%S%.f", "ISO 8601 without offset, fractional seconds (taken as UTC)"),
    _Form("%Y-%m-%d %H:%M:%S%.f", "YYYY-MM-DD HH:MM:SS.f (taken as UTC)"),
    _Form("%Y-%m-%dT%H:%M", "ISO 8601 without seconds (taken as UTC)"),
    _Form("%Y-%m-%d %H:%M", "YYYY-MM-DD HH:MM (taken as UTC)"),
    _Form("%Y-%m-%d", "YYYY-MM-DD date (midnight UTC)"),
)
_SLASH_MDY = (
    _Form("%m/%d/%Y %H:%M:%S", "M/D/YYYY H:MM:SS (month first)"),
    _Form("%m/%d/%Y %H:%M", "M/D/YYYY H:MM (month first)"),
    _Form("%m/%d/%Y", "M/D/YYYY (month first)"),
)
_SLASH_DMY = (
    _Form("%d/%m/%Y %H:%M:%S", "D/M/YYYY H:MM:SS (day first)"),
    _Form("%d/%m/%Y %H:%M", "D/M/YYYY H:MM (day first)"),
    _Form("%d/%m/%Y", "D/M/YYYY (day first)"),
)
_YYYYMMDD = _Form("%Y%m%d", "YYYYMMDD date (midnight UTC)")

_SLASH_RE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b")
_INT_RE = re.compile(r"^\s*[+-]?\d+\s*$")
_FLOAT_RE = re.compile(r"^\s*[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)\s*$")


@dataclass(frozen=True)
class TimestampPlan:
    """How one column becomes UTC timestamps, decided on a sample.

    ``kind`` is one of ``datetime`` (already a datetime/date column), ``text`` (strptime formats
    in ``formats``, tried in order), ``epoch`` (numbers in ``epoch_unit``) or ``yyyymmdd``.
    ``decisions`` are the human-readable lines that say what was decided and how to change it.
    """

    kind: str
    formats: tuple[str, ...] = ()
    offsets: tuple[bool, ...] = ()
    epoch_unit: str | None = None
    day_first: bool | None = None
    numeric_text: bool = False
    integer: bool = False
    source_tz: str | None = None
    is_date: bool = False
    decisions: tuple[str, ...] = field(default_factory=tuple)

    def expr(self, column: str) -> pl.Expr:
        """Lazy expression: ``column`` as ``Datetime("us", "UTC")``, null where it fails."""
        col = pl.col(column)
        if self.kind == "datetime":
            return _datetime_to_utc(col, self.source_tz, self.is_date).alias(column)
        if self.kind == "epoch":
            assert self.epoch_unit is not None
            return _epoch_to_utc(col, self.epoch_unit, self.numeric_text, self.integer).alias(
                column
            )
        if self.kind == "yyyymmdd":
            text = col.cast(pl.Utf8).str.strip_chars()
            return (
                text.str.to_datetime("%Y%m%d", strict=False, time_unit="us")
                .dt.replace_time_zone("UTC")
                .alias(column)
            )
        text = col.cast(pl.Utf8).str.strip_chars()
        parsed = [
            _parse_text(text, fmt, has_offset)
            for fmt, has_offset in zip(self.formats, self.offsets, strict=True)
        ]
        return (parsed[0] if len(parsed) == 1 else pl.coalesce(parsed)).alias(column)


def _parse_text(text: pl.Expr, fmt: str, has_offset: bool) -> pl.Expr:
    if has_offset:
        return text.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC")
    return text.str.to_datetime(fmt, strict=False, time_unit="us").dt.replace_time_zone("UTC")


def _datetime_to_utc(col: pl.Expr, tz: str | None, is_date: bool) -> pl.Expr:
    """Datetime columns: naive ones are taken as UTC, aware ones converted; dates are midnight."""
    if is_date:
        return col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if tz is None:
        return col.dt.cast_time_unit("us").dt.replace_time_zone("UTC")
    return col.dt.cast_time_unit("us").dt.convert_time_zone("UTC")


def _epoch_to_utc(col: pl.Expr, unit: str, numeric_text: bool, integer: bool) -> pl.Expr:
    """Epoch numbers to UTC; integers stay exact, values a datetime cannot hold become null.

    ``unit`` "auto" decides per value by magnitude (``EPOCH_LIMITS``).
    """
    if numeric_text:
        col = col.cast(pl.Utf8).str.strip_chars()
    if integer:
        value = col.cast(pl.Int64, strict=False)
        if unit == AUTO_UNIT:
            size = value.abs()
            micros = (
                pl.when(size < int(EPOCH_LIMITS[0][0]))
                .then(value * 1_000_000)
                .when(size < int(EPOCH_LIMITS[1][0]))
                .then(value * 1_000)
                .when(size < int(EPOCH_LIMITS[2][0]))
                .then(value)
                .otherwise(value // 1_000)
            )
        elif unit == "ns":
            micros = value // 1_000
        else:
            factor = {"s": 1_000_000, "ms": 1_000, "us": 1}[unit]
            limit = 9_000_000_000_000_000 // factor
            micros = pl.when(value.abs() < limit).then(value * factor)
    else:
        value = col.cast(pl.Float64, strict=False)
        if unit == AUTO_UNIT:
            size = value.abs()
            scaled = (
                pl.when(size < EPOCH_LIMITS[0][0])
                .then(value * 1e6)
                .when(size < EPOCH_LIMITS[1][0])
                .then(value * 1e3)
                .when(size < EPOCH_LIMITS[2][0])
                .then(value)
                .otherwise(value * 1e-3)
            )
        else:
            scaled = value * {"s": 1e6, "ms": 1e3, "us": 1.0, "ns": 1e-3}[unit]
        micros = pl.when(scaled.abs() < 9e15).then(scaled.round(0)).cast(pl.Int64)
    return pl.from_epoch(micros, time_unit="us").dt.replace_time_zone("UTC")


def _fits(values: pl.Series, form: _Form) -> pl.Series:
    """Which sample values the form reads."""
    expr = _parse_text(pl.col("v"), form.fmt, form.has_offset).is_not_null()
    return pl.DataFrame({"v": values}).select(expr).to_series()


def _unit_of(value: float) -> str:
    size = abs(value)
    return next((unit for limit, unit in EPOCH_LIMITS if size < limit), "ns")


def epoch_unit_for(values: Sequence[float]) -> str:
    """The epoch unit most of a set of numbers is in (by the median magnitude)."""
    mags = sorted(abs(v) for v in values)
    return _unit_of(mags[len(mags) // 2])


def epoch_unit_counts(values: Sequence[float]) -> dict[str, int]:
    """How many of ``values`` are in each epoch unit, judged one by one by magnitude."""
    counts = {unit: 0 for unit in EPOCH_UNITS}
    for value in values:
        counts[_unit_of(value)] += 1
    return {unit: n for unit, n in counts.items() if n}


def _looks_yyyymmdd(texts: list[str]) -> bool:
    for t in texts:
        t = t.strip()
        if len(t) != 8 or not t.isdigit():
            return False
        year, month, day = int(t[:4]), int(t[4:6]), int(t[6:])
        if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
            return False
    return True


def decide_day_first(texts: Sequence[str]) -> tuple[bool | None, str]:
    """Month-first or day-first from slash dates: a first number above 12 proves day-first.

    Returns (day_first, reason); day_first is None when the sample cannot tell.
    """
    first_big = second_big = 0
    for t in texts:
        m = _SLASH_RE.match(t)
        if not m:
            continue
        a, b = int(m.group(1)), int(m.group(2))
        first_big += a > 12
        second_big += b > 12
    if first_big and not second_big:
        return True, f"{first_big} sampled value(s) have a first number above 12, so day first"
    if second_big and not first_big:
        return False, f"{second_big} sampled value(s) have a second number above 12, so month first"
    if first_big and second_big:
        return None, (
            f"the sample mixes both orders ({first_big} values read only day first, "
            f"{second_big} only month first)"
        )
    return None, "no sampled value has a number above 12 in the first two places"


def plan_timestamps(
    sample: pl.Series,
    *,
    column: str,
    day_first: bool | None = None,
    epoch_unit: str | None = None,
    file: str | None = None,
) -> TimestampPlan:
    """Decide how to parse a timestamp column from a sample of its values.

    ``day_first`` and ``epoch_unit`` force the decision when given (from options or a saved
    mapping). Raises InputError when no known form reads the sample.
    """
    dtype = sample.dtype
    values = sample.drop_nulls()
    if isinstance(dtype, pl.Datetime):
        tz = dtype.time_zone
        note = f"time zone {tz}, converted to UTC" if tz else "no time zone, taken as UTC"
        return TimestampPlan(
            kind="datetime",
            source_tz=tz,
            decisions=(f"ts: {column} is already a datetime ({note})",),
        )
    if dtype == pl.Date:
        return TimestampPlan(
            kind="datetime", is_date=True, decisions=(f"ts: {column} is a date (midnight UTC)",)
        )
    if values.is_empty():
        raise InputError(
            "the timestamp column has no values in the first rows",
            file=file,
            column=column,
            hint="Map another column with --map ts=COLUMN.",
        )
    if dtype.is_numeric():
        texts = [str(int(v)) if float(v).is_integer() else str(v) for v in values.to_list()]
        if dtype.is_integer() and _looks_yyyymmdd(texts):
            return TimestampPlan(
                kind="yyyymmdd",
                decisions=(f"ts: {column} holds YYYYMMDD dates as integers (midnight UTC)",),
            )
        numbers = [float(v) for v in values.to_list()]
        return _epoch_plan(column, numbers, epoch_unit, False, dtype.is_integer())
    texts = [str(v) for v in values.cast(pl.Utf8).to_list()]
    if all(_INT_RE.match(t) for t in texts):
        if _looks_yyyymmdd(texts):
            return TimestampPlan(
                kind="yyyymmdd", decisions=(f"ts: {column} holds YYYYMMDD dates (midnight UTC)",)
            )
        return _epoch_plan(column, [float(t) for t in texts], epoch_unit, True, True)
    if all(_INT_RE.match(t) or _FLOAT_RE.match(t) for t in texts):
        return _epoch_plan(column, [float(t) for t in texts], epoch_unit, True, False)
    return _text_plan(column, values.cast(pl.Utf8).str.strip_chars(), texts, day_first, file)


def _epoch_plan(
    column: str, numbers: list[float], unit: str | None, numeric_text: bool, integer: bool
) -> TimestampPlan:
    if unit is None:
        counts = epoch_unit_counts(numbers)
        if len(counts) == 1:
            (only,) = counts
            what = f"epoch {_EPOCH_WORDS[only]} (every sampled value)"
        else:
            seen = ", ".join(f"{n:,} in {_EPOCH_WORDS[u]}" for u, n in counts.items())
            what = f"epoch time in MIXED units ({seen} of the sampled values)"
        decision = (
            f"ts: {column} is {what}; each value's unit is decided by its magnitude "
            "(force one with epoch_unit in a saved mapping)"
        )
        unit = AUTO_UNIT
    else:
        if unit not in EPOCH_UNITS:
            raise InputError(
                f"unknown epoch unit {unit!r}", column=column, hint="Use one of s, ms, us, ns."
            )
        decision = f"ts: {column} is epoch {_EPOCH_WORDS[unit]}, as given"
    return TimestampPlan(
        kind="epoch",
        epoch_unit=unit,
        numeric_text=numeric_text,
        integer=integer,
        decisions=(decision,),
    )


def _text_plan(
    column: str,
    values: pl.Series,
    texts: list[str],
    day_first: bool | None,
    file: str | None,
) -> TimestampPlan:
    decisions: list[str] = []
    candidates: list[_Form] = [*_OFFSET, *_NAIVE]
    chosen_day_first: bool | None = None
    if any(_SLASH_RE.match(t) for t in texts):
        chosen_day_first, decision = _slash_order(column, texts, day_first)
        decisions.append(decision)
        candidates += list(_SLASH_DMY if chosen_day_first else _SLASH_MDY)
    if all(len(t.strip()) == 8 and t.strip().isdigit() for t in texts[:50]):
        candidates.append(_YYYYMMDD)
    chosen, remaining = _cover(values, candidates)
    if not chosen:
        shown = ", ".join(repr(t) for t in texts[:3])
        raise InputError(
            f"no timestamp format reads these values (first: {shown})",
            file=file,
            column=column,
            hint=(
                "segtui reads ISO 8601, 'YYYY-MM-DD HH:MM:SS UTC', M/D/YYYY or D/M/YYYY H:MM, "
                "YYYYMMDD and epoch numbers; map another column with --map ts=COLUMN."
            ),
        )
    names = "; then ".join(f.name for f in chosen)
    decisions.insert(0, f"ts: {column} parsed as {names}")
    if remaining.len():
        decisions.append(
            f"ts: {remaining.len()} of {values.len()} sampled values fit no format "
            f"(e.g. {remaining[0]!r}); such rows are left out"
        )
    return TimestampPlan(
        kind="text",
        formats=tuple(f.fmt for f in chosen),
        offsets=tuple(f.has_offset for f in chosen),
        day_first=chosen_day_first,
        decisions=tuple(decisions),
    )


def _slash_order(column: str, texts: list[str], day_first: bool | None) -> tuple[bool, str]:
    """Whether slash dates are day first, as given or decided on the sample, and the words."""
    if day_first is not None:
        order = "day first (D/M/YYYY)" if day_first else "month first (M/D/YYYY)"
        return day_first, f"ts: {column}: slash dates read {order}, as given"
    decided, reason = decide_day_first(texts)
    if decided is None:
        return False, (
            f"ts: {column} dates like {_first_slash(texts)!r}: {reason}; assumed month "
            "first (M/D/YYYY). If they are day first, pass --day-first "
            "(day_first = true in a mapping file)"
        )
    order = "day first (D/M/YYYY)" if decided else "month first (M/D/YYYY)"
    return decided, f"ts: {column}: slash dates read {order}: {reason}"


def _cover(values: pl.Series, candidates: Sequence[_Form]) -> tuple[list[_Form], pl.Series]:
    """Greedy cover: the form reading most of the sample first, then what the rest needs.

    Returns the forms chosen and the sampled values none of them reads."""
    remaining = pl.Series("v", values.to_list(), dtype=pl.Utf8)
    chosen: list[_Form] = []
    while remaining.len():
        best, best_hits = None, None
        for form in candidates:
            if form in chosen:
                continue
            hits = _fits(remaining, form)
            if best_hits is None or hits.sum() > best_hits.sum():
                best, best_hits = form, hits
        if best is None or best_hits is None or not best_hits.any():
            break
        chosen.append(best)
        remaining = remaining.filter(~best_hits)
    return chosen, remaining


def _first_slash(texts: Sequence[str]) -> str:
    return next((t for t in texts if _SLASH_RE.match(t)), texts[0])


def parse_timestamps(
    values: pl.Series, *, day_first: bool | None = None, epoch_unit: str | None = None
) -> pl.Series:
    """Parse a small series eagerly (tests, previews): plan on the values, then apply."""
    plan = plan_timestamps(
        values, column=values.name or "ts", day_first=day_first, epoch_unit=epoch_unit
    )
    name = values.name or "ts"
    return pl.DataFrame({name: values}).select(plan.expr(name)).to_series()
