"""Raw source values as trimmed text: the first step of every canonical text column.

CSV columns arrive as text, parquet and NDJSON columns as whatever they hold; these expressions
give one spelling for both, so an id read from a float column (``17850.0``) and the same id read
from text (``17850``) compare equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl


def text_expr(name: str, dtype: pl.DataType, *, drop_dot_zero: bool = False) -> pl.Expr:
    """A raw column as trimmed text; floats holding whole numbers lose their ``.0``."""
    col = pl.col(name)
    if dtype.is_float():
        whole = col.cast(pl.Int64, strict=False).cast(pl.Utf8)
        return pl.when(col == col.floor()).then(whole).otherwise(col.cast(pl.Utf8))
    if dtype == pl.Utf8:
        text = col.str.strip_chars()
        if drop_dot_zero:
            text = text.str.replace(r"\.0+$", "")
        # when/then, not text.replace("", None): in a streaming sink replace holds what it
        # read (six columns of 10M CSV rows: 2,477 MiB against 454 MiB, the same values;
        # benchmarks/bench_read_memory.py --text)
        return pl.when(text != "").then(text)
    return col.cast(pl.Utf8)


def first_of(exprs: Sequence[pl.Expr]) -> pl.Expr:
    """The first non-null of several source columns feeding one canonical column."""
    return exprs[0] if len(exprs) == 1 else pl.coalesce(exprs)


def texts_expr(
    sources: Sequence[str], schema: pl.Schema, *, drop_dot_zero: bool = False
) -> pl.Expr:
    """The sources of one canonical column as text, the first non-empty one winning."""
    return first_of([text_expr(s, schema[s], drop_dot_zero=drop_dot_zero) for s in sources])
