"""Rows whose field count is not the header's: found, so they are left out and counted.

polars pads a short row with nulls and (with ``truncate_ragged_lines``) cuts a long one, both in
silence: a row shifted by a stray delimiter would be read with its values under the wrong
columns. One extra streaming pass reads each line as one string and counts its delimiters
(a literal count; quotes are looked at only on the lines that count wrong). Trailing empty fields
(``1,2,3,,``) are a writer's habit, not a shifted row, and pass. A file with quoted line breaks
(a line with an odd number of quotes) has lines that are not rows, so it is not checked; the
caller says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

FIELDS_COL = "__fields"
"""Column of the scanned frame: the field count of a ragged row, null for every other row."""
_LINE = "__line"
_INDEX = "__line_no"


@dataclass(frozen=True)
class RaggedRows:
    """The data rows (1-based, as ``__row``) whose field count differs, with that count."""

    rows: pl.DataFrame
    """Columns ``__row`` (UInt32) and ``__fields`` (UInt32); empty when every row fits."""
    checked: bool = True
    """False when quoted line breaks made lines and rows differ, so nothing was checked."""


def find_ragged_rows(path: Path, delimiter: str, width: int, row_col: str) -> RaggedRows:
    """Rows of a CSV file whose field count is not ``width`` (the header's).

    Every line gets the cheap literal delimiter count; only the few lines it flags (usually
    none) get the quote-aware count, after a filter, so a sound file pays one literal count per
    line. A quoted line break makes its line (and the next) count wrong and hold an odd number
    of quotes, which is how such files are told apart and left unchecked.
    """
    lines = pl.scan_csv(
        path,
        has_header=False,
        separator="\x1f",
        quote_char=None,
        new_columns=[_LINE],
        infer_schema=False,
        truncate_ragged_lines=True,
        glob=False,
        row_index_name=_INDEX,
    )
    line = pl.col(_LINE)
    plain = line.str.count_matches(delimiter, literal=True) + 1
    suspects = lines.filter((pl.col(_INDEX) > 0) & (plain != width)).collect(engine="streaming")
    if suspects.is_empty():
        return RaggedRows(_empty(row_col))
    bare = line.str.replace_all(r'"[^"]*"', "")
    count = bare.str.count_matches(delimiter, literal=True) + 1
    kept = bare.str.strip_chars_end(delimiter + " \t\r").str.count_matches(delimiter, literal=True)
    found = suspects.select(
        pl.col(_INDEX).cast(pl.UInt32).alias(row_col),
        count.cast(pl.UInt32).alias(FIELDS_COL),
        (kept + 1).alias("__kept"),
        (line.str.count_matches('"', literal=True) % 2 == 1).alias("__odd"),
    )
    if found.get_column("__odd").any():
        return RaggedRows(_empty(row_col), checked=False)
    bad = found.filter((pl.col(FIELDS_COL) < width) | (pl.col("__kept") > width))
    return RaggedRows(bad.select(row_col, FIELDS_COL))


def _empty(row_col: str) -> pl.DataFrame:
    return pl.DataFrame(schema={row_col: pl.UInt32, FIELDS_COL: pl.UInt32})
