"""Text to numbers and timestamps in PostgreSQL SQL, reading exactly what polars reads.

PostgreSQL has no ``TRY_CAST`` and no ``try_strptime``: a cast of text that does not read stops
the whole query, and ``to_timestamp`` reads leniently what polars refuses. So every reading here
first matches the text against a regular expression of what polars (chrono, fast-float) accepts,
checks the ranges, and only then casts, so no row can make the query fail and every value is the
one polars gives:

- a number: fast-float's spelling (``1.``, ``.5``, ``+1e5``; NaN and infinities are not finite,
  hence null), read through NUMERIC so the DOUBLE is the correctly rounded one; beyond a DOUBLE's
  range null (polars: infinite, then null), below its smallest subnormal 0;
- an integer: digits with a sign, within BIGINT;
- a timestamp: a chrono format (:mod:`segtui.ingest.timestamps`) as chrono reads it: a numeric
  field takes up to its width of digits (greedy, never giving digits back) after any white
  space, a space in the format any white space (none included), ``%.f`` an optional fraction
  cut to microseconds, ``%#z`` ``Z`` or a sign, two hour digits and optionally two minute
  digits after colons or spaces; a second of 60 is the next minute's first; a date must exist
  (February 29 in leap years only). Years PostgreSQL cannot hold (before 4711 BC) are null.

Each reading is one scalar subquery binding its parts once (:func:`let`; ``OFFSET 0`` keeps
PostgreSQL from inlining a binding into every place it is used), so the SQL grows linearly with
the plan and every part is computed once per row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from segtui import sqltext
from segtui.errors import InputError

WHITE_SPACE = r"[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""Unicode White_Space as a PostgreSQL regex class: what polars' strip_chars and chrono skip."""
EDGE_SPACE = rf"^{WHITE_SPACE}+|{WHITE_SPACE}+$"
WHITE_SPACE_CHARS = (
    "\t\n\v\f\r \u0085\u00a0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
"""The same characters as one string, for DuckDB's ``trim(text, characters)``."""

_FLOAT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?0*[0-9]{1,3})?$"
_INTEGER = r"^[+-]?[0-9]+$"
# The DOUBLE range: at or beyond half an ulp past the largest double a value rounds to infinity
# (polars reads it so, then drops it as not finite); below half the least subnormal 0 (PostgreSQL
# refuses a value that underflows to zero rather than rounding it).
_OVERFLOW = str(2**1024 - 2**970)
_UNDERFLOW = "2.4703282292062328e-324"  # just above 2**-1075, half the least subnormal
FENCE = "\nOFFSET 0"
"""Ends a CTE's SELECT so PostgreSQL keeps it apart: it inlines a CTE used once and then puts
each column's whole expression into every place that column is used, so a chain of steps that
each use the previous one's column twice (a score compared with the best score, a label in a
merge's CASE) grows exponentially. ``OFFSET 0`` keeps the rows streaming, computed once."""
_EPOCH = "TIMESTAMPTZ '1970-01-01 00:00:00+00'"
_MAX_YEAR = 262143  # chrono's last year
_MIN_YEAR = -4711  # PostgreSQL's first full year (4712 BC) and a day's offset to spare


def let(bindings: Sequence[tuple[str, str]], body: str, alias: str) -> str:
    """``body`` with each name bound once to its expression, as a scalar subquery."""
    bound = ", ".join(f"{value} AS {name}" for name, value in bindings)
    return f"(SELECT {body} FROM (SELECT {bound} OFFSET 0) AS {alias})"


def _literal(text: str) -> str:
    return sqltext.string(text, "postgres")


def to_double(text: str) -> str:
    """Trimmed text (or null) as the DOUBLE polars' ``cast(Float64, strict=False)`` gives
    (infinities and NaN null here: every reader of this keeps only finite numbers)."""
    number = f"CASE WHEN v ~ {_literal(_FLOAT)} THEN CAST(v AS NUMERIC) END"
    body = (
        f"CASE WHEN abs(n) >= {_OVERFLOW} THEN NULL WHEN abs(n) < {_UNDERFLOW} THEN "
        "CAST(0 AS DOUBLE PRECISION) ELSE CAST(n AS DOUBLE PRECISION) END"
    )
    inner = let([("v", text)], f"{number}", "__t")
    return let([("n", inner)], body, "__n")


def to_bigint(text: str) -> str:
    """Trimmed text (or null) as polars' ``cast(Int64, strict=False)``: digits with a sign."""
    number = f"CASE WHEN v ~ {_literal(_INTEGER)} THEN CAST(v AS NUMERIC) END"
    body = (
        "CASE WHEN n BETWEEN -9223372036854775808 AND 9223372036854775807 "
        "THEN CAST(n AS BIGINT) END"
    )
    return let([("n", let([("v", text)], number, "__t"))], body, "__n")


def finite(value: str) -> str:
    """A DOUBLE, null where NaN or infinite (PostgreSQL has no isfinite for numbers)."""
    specials = ", ".join(
        f"CAST('{v}' AS DOUBLE PRECISION)" for v in ("Infinity", "-Infinity", "NaN")
    )
    return let([("f", value)], f"CASE WHEN f NOT IN ({specials}) THEN f END", "__f")


def floor_div(value: str, divisor: int) -> str:
    """BIGINT floor division (PostgreSQL's ``/`` truncates toward zero)."""
    return f"({value} / {divisor} - CASE WHEN {value} % {divisor} < 0 THEN 1 ELSE 0 END)"


def round_half_away(value: str) -> str:
    """A DOUBLE rounded half away from zero, as polars' ``round(0)`` (PostgreSQL's ``round``
    of a DOUBLE rounds half to even). ``x - floor(x)`` is exact in floating point."""
    a = f"abs({value})"
    rounded = f"CASE WHEN {a} - floor({a}) >= 0.5 THEN floor({a}) + 1 ELSE floor({a}) END"
    return f"(sign({value}) * {rounded})"


def epoch_us(ts: str) -> str:
    """A TIMESTAMPTZ as epoch microseconds, exactly (EXTRACT gives a NUMERIC)."""
    return f"CAST(EXTRACT(EPOCH FROM {ts}) * 1000000 AS BIGINT)"


def micros_to_ts(micros: str) -> str:
    """Epoch microseconds (BIGINT) as TIMESTAMPTZ, exactly: whole seconds and the rest apart,
    each product exact in the DOUBLE an interval is multiplied by."""
    body = (
        f"{_EPOCH} + (m / 1000000) * INTERVAL '1 second' + (m % 1000000) * INTERVAL '1 microsecond'"
    )
    return let([("m", micros)], body, "__e")


# One chrono field: the regex of its text (capturing groups) and the names of those groups.
_NUMERIC = {"%Y": ("y", 4), "%m": ("mo", 2), "%d": ("d", 2), "%H": ("h", 2), "%M": ("mi", 2)}
_NUMERIC["%S"] = ("s", 2)
_SPECIALS = re.compile(r"[\\^$.|?*+()\[\]{}]")


def _digits(width: int) -> str:
    """Up to ``width`` digits, as many as there are: chrono never gives a digit back."""
    return f"([0-9]{{{width}}}|[0-9]{{1,{width - 1}}}(?![0-9]))"


def _format_regex(fmt: str) -> tuple[str, list[str]]:
    """A chrono format as an anchored PostgreSQL regex and the names of its groups in order."""
    out, names, i = ["^"], [], 0
    while i < len(fmt):
        if fmt.startswith("%Y", i):
            out.append(f"{WHITE_SPACE}*([+-][0-9]{{1,6}}|{_digits(4)[1:-1]})")
            names.append("y")
            i += 2
        elif fmt[i : i + 2] in _NUMERIC:
            name, width = _NUMERIC[fmt[i : i + 2]]
            out.append(f"{WHITE_SPACE}*{_digits(width)}")
            names.append(name)
            i += 2
        elif fmt.startswith("%.f", i):
            out.append(r"(?:\.([0-9]+))?")
            names.append("f")
            i += 3
        elif fmt.startswith("%#z", i):
            out.append(
                f"{WHITE_SPACE}*(?:([Zz])|([+\\-\\u2212])([0-9]{{2}})"
                f"(?:{WHITE_SPACE}|:)*([0-9]{{2}})?)"
            )
            names += ["z", "sign", "oh", "om"]
            i += 3
        elif fmt[i] == "%":
            raise InputError(
                f"the timestamp format {fmt!r} has a field ({fmt[i : i + 2]!r}) that segtui "
                "cannot read in PostgreSQL",
                hint="Print the query for duckdb or spark, which read every format segtui does.",
            )
        elif fmt[i] == " ":
            out.append(f"{WHITE_SPACE}*")
            i += 1
        else:
            out.append(_SPECIALS.sub(lambda m: "\\" + m.group(), fmt[i]))
            i += 1
    out.append("$")
    return "".join(out), names


def parse_timestamp(text: str, fmt: str) -> str:
    """Trimmed text (or null) through one chrono format: TIMESTAMPTZ, null where chrono (and so
    polars) reads nothing. A value with no offset is UTC."""
    regex, names = _format_regex(fmt)
    groups = {name: f"p[{i + 1}]" for i, name in enumerate(names)}

    def number(name: str, default: str = "0") -> str:
        return (
            f"coalesce(CAST({groups[name]} AS INTEGER), {default})" if name in groups else default
        )

    parts = [(name, number(name)) for name in ("y", "mo", "d", "h", "mi", "s")]
    micros = "0"
    if "f" in groups:
        micros = f"coalesce(CAST(rpad(substr({groups['f']}, 1, 6), 6, '0') AS INTEGER), 0)"
    offset, offset_ok = "0", "TRUE"
    if "z" in groups:
        oh, om = number("oh"), number("om")
        sign = f"CASE WHEN {groups['sign']} = '+' THEN 1 ELSE -1 END"
        offset = f"CASE WHEN {groups['z']} IS NOT NULL THEN 0 ELSE {sign} * ({oh} * 60 + {om}) END"
        offset_ok = f"({oh} <= 23 AND {om} <= 59)"
    bindings = [*parts, ("us", micros), ("off", offset), ("zok", offset_ok)]
    # y, mo and d are 0 only when absent (a format without them: not among segtui's forms).
    leap = "((y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0)"
    month_days = (
        f"CASE WHEN mo = 2 THEN CASE WHEN {leap} THEN 29 ELSE 28 END "
        "WHEN mo IN (4, 6, 9, 11) THEN 30 ELSE 31 END"
    )
    valid = (
        f"y BETWEEN {_MIN_YEAR} AND {_MAX_YEAR} AND mo BETWEEN 1 AND 12 AND d >= 1 "
        f"AND d <= {month_days} AND h <= 23 AND mi <= 59 AND s <= 60 AND zok"
    )
    year = "CASE WHEN y <= 0 THEN y - 1 ELSE y END"  # PostgreSQL counts 1 BC as year -1
    stamp = (
        f"make_timestamptz({year}, mo, d, 0, 0, 0, 'UTC') + (h * 3600 + mi * 60 + s - off * 60)"
        " * INTERVAL '1 second' + us * INTERVAL '1 microsecond'"
    )
    body = f"CASE WHEN {valid} THEN {stamp} END"
    match = f"SELECT regexp_match({text}, {_literal(regex)}) AS p OFFSET 0"
    bound = ", ".join(f"{value} AS {name}" for name, value in bindings)
    return f"(SELECT {body} FROM (SELECT {bound} FROM ({match}) AS __m OFFSET 0) AS __p)"
