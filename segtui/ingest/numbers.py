"""Numbers held as text: the decimal mark and thousands separators, decided on a sample.

A CSV column of prices arrives as text. Whether ``1,234`` is a thousand or one and a bit depends
on the file: the mark is decided once on a sample (:func:`plan_numbers`), said to the person, and
turned into one polars expression (:meth:`NumberFormat.expr`). A value the decided format cannot
read becomes null; the loader counts those and keeps the row. So do NaN, infinities and values
too large for a float (``1e309``): a price of ``inf`` would make every sum it touches infinite.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from segtui.ingest.text import first_of, text_expr

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

    @property
    def plain(self) -> bool:
        """Numbers as Python writes them: a decimal point, no thousands separator."""
        return self.decimal == "." and self.thousands is None

    @property
    def grouped_pattern(self) -> str | None:
        """The regex a number written in this format's grouping matches, or None when only plain
        numbers read (a decimal point, no grouping). With a decimal comma every value must match
        it; with a thousands comma it reads what a plain number cast does not."""
        if self.decimal == ",":
            groups = r"[1-9]\d{0,2}(?:\.\d{3})+"
            whole = rf"(?:\d+|{_SPACE_GROUPS}|{groups},\d+"
            whole += rf"|{groups})" if self.thousands == "." else ")"
            return rf"^[+-]?(?:{whole}|\d+,\d+|{_SPACE_GROUPS},\d+)$"
        if self.thousands is None:
            return None
        groups = r"[1-9]\d{0,2}(?:,\d{3})+"
        return rf"^[+-]?(?:{groups}(?:\.\d+)?|{_SPACE_GROUPS}(?:\.\d+)?)$"

    @property
    def group_marks(self) -> str:
        """The characters removed from a grouped number before it reads (a regex class)."""
        return r"[ .\u00a0\u202f]" if self.decimal == "," else r"[, \u00a0\u202f]"

    def expr(self, text: pl.Expr) -> pl.Expr:
        """Trimmed text -> Float64, null where the value is not a number in this format."""
        pattern = self.grouped_pattern
        if pattern is None:  # the fast path: plain numbers (a grouped one is counted)
            return text.cast(pl.Float64, strict=False)
        ok = text.str.contains(pattern)
        digits = text.str.replace_all(self.group_marks, "")
        if self.decimal == ",":
            plain = digits.str.replace(",", ".", literal=True)
            return pl.when(ok).then(plain.cast(pl.Float64, strict=False))
        plain = text.cast(pl.Float64, strict=False)
        return pl.coalesce(plain, pl.when(ok).then(digits.cast(pl.Float64, strict=False)))


@dataclass(frozen=True)
class _Evidence:
    """What the sampled values say about the decimal mark."""

    comma: int
    """Values that read only with a decimal comma (``108,32``, ``1.234,5``)."""
    dot: int
    """Values that read only with a decimal point (``37.96``, ``1,234.5``)."""
    comma_groups: bool
    dot_groups: bool
    either: tuple[tuple[str, str], ...]
    """(column, value) of values that read either way (``1,234``)."""
    first: Mapping[str, tuple[str, str]]
    """Decimal mark -> the first (column, value) that showed it."""

    @property
    def empty(self) -> bool:
        return not self.comma and not self.dot and not self.either


def _tally(samples: Mapping[str, Sequence[str]]) -> _Evidence:
    comma = dot = 0
    comma_groups = dot_groups = False
    either: list[tuple[str, str]] = []
    first: dict[str, tuple[str, str]] = {}
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
                first.setdefault(",", (column, v))
                dot_groups |= "." in v
            elif _RE_DOT_DECIMAL.match(v) or _RE_COMMA_GROUPS.match(v):
                dot += 1
                first.setdefault(".", (column, v))
                comma_groups |= "," in v
    return _Evidence(comma, dot, comma_groups, dot_groups, tuple(either), first)


def _decide_decimal(seen: _Evidence, delimiter: str | None, forced: str | None) -> tuple[str, str]:
    """The decimal mark and why: as forced, by the majority, or (a tie) by the delimiter."""
    if forced is not None:
        return forced, "as the mapping says"
    if seen.comma != seen.dot:
        decimal = "," if seen.comma > seen.dot else "."
        column, value = seen.first[decimal]
        why = f"values like {value!r} in {column}"
        if seen.comma and seen.dot:
            high, low = max(seen.comma, seen.dot), min(seen.comma, seen.dot)
            why += f" ({high:,} values against {low:,} the other way)"
        return decimal, why
    semicolon = delimiter == ";"
    decimal = "," if semicolon else "."
    column, value = seen.either[0] if seen.either else seen.first[decimal]
    why = f"values like {value!r} in {column} read either way; the file is " + (
        "semicolon-delimited" if semicolon else f"{_delimiter_word(delimiter)}"
    )
    return decimal, why


def plan_numbers(
    samples: Mapping[str, Sequence[str]], delimiter: str | None, forced: str | None = None
) -> NumberFormat:
    """Decide the decimal mark from sampled text values (source column -> values).

    A value like ``108,32`` or ``1.234,56`` says decimal comma; ``37.96`` or ``1,234.56`` says
    decimal point. Values that read either way (``1,234``, ``1.234``) follow the delimiter: a
    semicolon-delimited file writes decimal commas, a comma-delimited one cannot. ``forced`` (a
    saved mapping's ``decimal``) wins.
    """
    seen = _tally(samples)
    if seen.empty:
        return NumberFormat(decimal=forced or ".")
    decimal, why = _decide_decimal(seen, delimiter, forced)
    thousands = None
    if decimal == "," and seen.dot_groups:
        thousands = "."
    elif decimal == "." and seen.comma_groups:
        thousands = ","
    words = "decimal comma" if decimal == "," else "decimal point"
    if thousands:
        words += f", {thousands!r} between thousands"
    plain = decimal == "." and thousands is None and seen.comma == 0 and not seen.either
    change = (
        ""
        if forced or plain
        else f'; set decimal = "{"." if decimal == "," else ","}" in a saved mapping to change it'
    )
    return NumberFormat(decimal, thousands, f"numbers: {words} ({why}){change}")


def _delimiter_word(delimiter: str | None) -> str:
    names = {",": "comma-delimited", "\t": "tab-delimited", "|": "pipe-delimited"}
    return names.get(delimiter or "", "not semicolon-delimited")


def _finite(value: pl.Expr) -> pl.Expr:
    """Null where the value is NaN or infinite: such a value is missing, and counted as such."""
    return pl.when(value.is_finite()).then(value)


def number_expr(name: str, dtype: pl.DataType, fmt: NumberFormat | None = None) -> pl.Expr:
    """One source column as finite Float64: text read in ``fmt``, other types cast (else null)."""
    col = pl.col(name)
    if dtype == pl.Utf8:
        return _finite((fmt or NumberFormat()).expr(col.str.strip_chars()))
    return _finite(col.cast(pl.Float64, strict=False))


def numbers_expr(
    sources: Sequence[str], schema: pl.Schema, fmt: NumberFormat | None = None
) -> pl.Expr:
    """The sources of one canonical number column as Float64, the first number winning."""
    return first_of([number_expr(s, schema[s], fmt) for s in sources])


def _non_finite_text(name: str) -> pl.Expr:
    """A float column's NaN and infinities as text (null elsewhere), so they are counted."""
    col = pl.col(name)
    return (
        pl.when(col.is_nan())
        .then(pl.lit("NaN"))
        .when(col == float("inf"))
        .then(pl.lit("inf"))
        .when(col == float("-inf"))
        .then(pl.lit("-inf"))
    )


def is_counted_source(dtype: pl.DataType) -> bool:
    """Sources whose unreadable values are counted: text, and floats (for NaN and infinities)."""
    return dtype == pl.Utf8 or dtype.is_float()


def number_text(sources: Sequence[str], schema: pl.Schema) -> pl.Expr | None:
    """The non-empty text of a number column's text sources (None when no source is text).

    Compared with the parsed value it tells "not a number" from "empty". A float source
    contributes only its NaN and infinite values, which the parsed value leaves out."""
    texts = [
        text_expr(s, schema[s]) if schema[s] == pl.Utf8 else _non_finite_text(s)
        for s in sources
        if is_counted_source(schema[s])
    ]
    return first_of(texts) if texts else None
