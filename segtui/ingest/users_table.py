"""Users tables: one row per customer, aggregated elsewhere (an RFM table, features from Spark).

Many teams already have per-customer features; segtui segments them as they are. A users table
is read with :func:`read_users_table`: the id column is picked (``user_id`` or a known alias such
as ``customer_id``, ``CustomerID`` or ``client_id``; ``--map user_id=COL`` picks it by hand), its
numeric columns become the features and other columns are ignored with a message. Duplicate ids
are an :class:`InputError` naming the rows, because a users table has exactly one row per user.

:func:`is_users_table` decides, when nobody said, whether files hold events or users: users when
the columns have no timestamp+event layout and the id column is unique.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from segtui.errors import InputError
from segtui.ingest.mapping import detect_mapping
from segtui.ingest.numbers import NumberFormat, plan_numbers
from segtui.ingest.presets import COLUMN_ALIASES, normalise_name
from segtui.ingest.sources import (
    FILE_COL,
    ROW_COL,
    ScannedSource,
    SourceInfo,
    input_error_from_polars,
    inspect_source,
    scan,
    scan_source,
)

RESERVED_COLUMNS: tuple[str, ...] = ("segment", "segment_id", "pc1", "pc2")
"""Columns segtui writes into segments.parquet: never features (a re-read export has them)."""

DUPLICATE_EXAMPLES = 5


@dataclass
class UsersTable:
    """A users table read as it is: ``user_id`` (Utf8) first, sorted, numeric features after."""

    users: pl.DataFrame
    id_column: str
    """The source column the ids came from."""
    features: list[str]
    """Numeric columns, in file order."""
    ignored: dict[str, str] = field(default_factory=dict)
    """Column -> why it is not a feature."""
    messages: list[str] = field(default_factory=list)


def find_id_column(columns: Sequence[str], overrides: Mapping[str, str] | None = None) -> str:
    """The id column: ``--map user_id=COL`` when given, else ``user_id`` or its first alias."""
    wanted = (overrides or {}).get("user_id")
    if wanted:
        if wanted not in columns:
            raise InputError(
                f"--map user_id={wanted}: no such column",
                hint=f"Columns: {', '.join(columns)}.",
            )
        return wanted
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(normalise_name(c), c)
    for alias in COLUMN_ALIASES["user_id"]:
        found = by_norm.get(normalise_name(alias))
        if found is not None:
            return found
    raise InputError(
        "the users table has no user id column",
        hint="Name it user_id (or customer_id, client_id...), or pick it with --map user_id=COL.",
        details=[f"columns: {', '.join(columns)}"],
    )


def has_event_layout(columns: Sequence[str], layout: str | None = None) -> bool:
    """True when the columns look like an event log: a timestamp plus an event (or a preset)."""
    mapping = detect_mapping(list(columns), layout=layout)
    if "ts" not in mapping.columns:
        return False
    return "event" in mapping.columns or mapping.layout not in ("generic", "transactions")


def is_users_table(
    source: SourceInfo, overrides: Mapping[str, str] | None = None, layout: str | None = None
) -> bool:
    """Auto-detection: no timestamp+event layout and a unique id column (scans that column)."""
    if layout is not None or has_event_layout(source.columns):
        return False
    try:
        id_column = find_id_column(source.columns, overrides)
    except InputError:
        return False
    ids = pl.col(id_column)
    try:
        counts = (
            scan_source(source, row_index=False)
            .select(pl.len().alias("rows"), ids.n_unique().alias("unique"))
            .collect()
        )
    except (pl.exceptions.PolarsError, OSError) as error:
        raise input_error_from_polars(error, source) from error
    return int(counts["rows"][0]) == int(counts["unique"][0]) > 0


def _numeric_text(name: str, fmt: NumberFormat) -> pl.Expr:
    """A text column read as numbers in the decided format: null where empty or not a number."""
    return fmt.expr(pl.col(name).str.strip_chars())


def read_users_table(
    source: SourceInfo,
    overrides: Mapping[str, str] | None = None,
    needed: Sequence[str] | None = None,
) -> UsersTable:
    """Read a users table: the id column as ``user_id`` (Utf8), numeric columns as features.

    CSV columns arrive as text; a column is numeric when every non-empty value reads as a number.
    ``needed`` (assigning with a model) names columns that must be present and numeric.
    """
    id_column = find_id_column(list(source.columns), overrides)
    raw = scan(source)
    columns = _plan_columns(raw, id_column)
    frame = raw.collect(
        raw.frame.select(
            _id_expr(id_column, raw.schema).alias("user_id"),
            pl.col(FILE_COL),
            pl.col(ROW_COL),
            *columns.exprs,
        )
    )
    _check_ids(frame, id_column, source)
    users = frame.drop(FILE_COL, ROW_COL).sort("user_id")
    if needed is not None:
        _check_needed(needed, columns, source)
    messages = [_table_line(users, id_column), *_number_lines(users, columns)]
    if columns.ignored:
        messages.append(
            "columns not used as features: "
            + ", ".join(f"{c} ({why})" for c, why in columns.ignored.items())
        )
    return UsersTable(users, id_column, list(columns.features), dict(columns.ignored), messages)


@dataclass(frozen=True)
class _FeatureColumns:
    """Which columns of a users table are features, how they read, and why the others are not."""

    features: tuple[str, ...]
    exprs: tuple[pl.Expr, ...]
    text: tuple[str, ...]
    """Candidate columns held as text (read in ``numbers``)."""
    numbers: NumberFormat
    ignored: Mapping[str, str]


def _plan_columns(raw: ScannedSource, id_column: str) -> _FeatureColumns:
    ignored: dict[str, str] = {}
    candidates: list[str] = []
    for c in raw.info.columns:
        if c == id_column:
            continue
        if c in RESERVED_COLUMNS or c == "user_id":
            ignored[c] = "segtui writes this column in its exports"
            continue
        candidates.append(c)
    text = [c for c in candidates if raw.schema[c] in (pl.String, pl.Categorical)]
    fmt = _number_format(raw, text)
    not_numbers = _not_numeric(raw, text, fmt)
    features: list[str] = []
    exprs: list[pl.Expr] = []
    for c in candidates:
        dtype = raw.schema[c]
        if c in not_numbers:
            ignored[c] = "not numeric"
        elif c in text:
            exprs.append(_numeric_text(c, fmt).alias(c))
        elif dtype.is_numeric() or dtype == pl.Boolean:
            exprs.append(pl.col(c))
        else:
            ignored[c] = f"not numeric ({dtype})"
        if c not in ignored:
            features.append(c)
    return _FeatureColumns(tuple(features), tuple(exprs), tuple(text), fmt, ignored)


def _number_format(raw: ScannedSource, text: Sequence[str]) -> NumberFormat:
    """The decimal mark of the text columns, decided on the first rows."""
    if not text:
        return NumberFormat()
    head = raw.collect(raw.frame.select(pl.col(c).cast(pl.Utf8) for c in text).head(5_000))
    return plan_numbers(
        {c: [v for v in head[c].drop_nulls().str.strip_chars() if v] for c in text},
        raw.info.delimiter,
    )


def _not_numeric(raw: ScannedSource, text: Sequence[str], fmt: NumberFormat) -> set[str]:
    """Text columns with a non-empty value that is not a number (one scan of the file)."""
    if not text:
        return set()
    checks = raw.collect(
        raw.frame.select(
            *[
                (
                    _numeric_text(c, fmt).is_null()
                    & (pl.col(c).str.strip_chars().str.len_bytes() > 0)  # null stays null
                )
                .sum()
                .alias(c)
                for c in text
            ]
        )
    )
    return {c for c in text if int(checks[c][0]) > 0}


def _id_expr(id_column: str, schema: pl.Schema) -> pl.Expr:
    """Ids as trimmed text; whole floats lose their ``.0`` (``17850.0`` -> ``17850``)."""
    ident = pl.col(id_column).cast(pl.Utf8).str.strip_chars()
    if schema[id_column].is_float():
        ident = pl.col(id_column).cast(pl.Int64, strict=False).cast(pl.Utf8).fill_null(ident)
    return ident


def _table_line(users: pl.DataFrame, id_column: str) -> str:
    renamed = "" if id_column == "user_id" else " (written as user_id in the exports)"
    return f"users table: {users.height:,} users, id column '{id_column}'{renamed}"


def _number_lines(users: pl.DataFrame, columns: _FeatureColumns) -> list[str]:
    """The decimal mark when it is not plain, and whole numbers read from text as floats."""
    lines = []
    fmt = columns.numbers
    from_text = [c for c in columns.features if c in columns.text]
    if fmt.decision and not fmt.plain and from_text:
        lines.append(fmt.decision.split("; set decimal")[0])
    if not from_text or not users.height:
        return lines
    whole = users.select(
        [((pl.col(c) == pl.col(c).round()) | pl.col(c).is_null()).all().alias(c) for c in from_text]
    ).row(0, named=True)
    ints = [c for c in from_text if whole[c]]
    if ints:
        example = users.get_column(ints[0]).drop_nulls()
        shown = (
            f": {int(example[0])} becomes {float(example[0])!r} in the exports"
            if example.len()
            else ""
        )
        lines.append(
            f"whole-number column{'s' if len(ints) > 1 else ''} {', '.join(ints)} "
            f"{'are' if len(ints) > 1 else 'is'} read as decimal numbers (float){shown}"
        )
    return lines


def _check_needed(needed: Sequence[str], columns: _FeatureColumns, source: SourceInfo) -> None:
    missing = [c for c in needed if c not in columns.features]
    if missing:
        details = [f"'{c}' {columns.ignored[c]}" for c in missing if c in columns.ignored]
        raise InputError(
            f"the users table lacks column{'s' if len(missing) > 1 else ''} the model needs: "
            f"{', '.join(missing)}",
            file=source.files[0],
            details=details,
            hint="Give a users table with the same numeric columns the model was built from.",
        )


def given_users_table(
    paths: Sequence[str | Path],
    overrides: Mapping[str, str] | None,
    *,
    mapping_given: bool = False,
    layout: str | None = None,
) -> UsersTable | None:
    """The users table, read, when files given to an events command hold one (else None).

    A table with no numeric column is not taken for one (the events error says more). A mapping,
    a layout or ``--map`` pairs other than user_id say the files are events.
    """
    if mapping_given or layout is not None or any(k != "user_id" for k in overrides or {}):
        return None
    source = inspect_source(list(paths))
    if not is_users_table(source, overrides):
        return None
    table = read_users_table(source, overrides)
    return table if table.features else None


def users_table_line(table: UsersTable) -> str:
    """What to do with a users table given to a command that reads events."""
    n = len(table.features)
    return (
        f"this is a users table (one row per {table.id_column}, {n} numeric "
        f"column{'s' if n != 1 else ''}): use segtui segment/sweep/assign with it"
    )


def _check_ids(frame: pl.DataFrame, id_column: str, source: SourceInfo) -> None:
    """Empty or duplicated ids are an InputError naming the rows."""
    empty = frame.filter(pl.col("user_id").is_null() | (pl.col("user_id") == ""))
    if empty.height:
        first = empty.row(0, named=True)
        raise InputError(
            f"{empty.height:,} row(s) have no user id",
            file=source.file_name(int(first[FILE_COL])),
            column=id_column,
            row=int(first[ROW_COL]),
            hint="Every row of a users table needs an id.",
        )
    dup = frame.filter(pl.col("user_id").is_duplicated())
    if not dup.height:
        return
    groups = (
        dup.group_by("user_id", maintain_order=True)
        .agg(pl.col(FILE_COL).first(), pl.col(ROW_COL))
        .head(DUPLICATE_EXAMPLES)
    )
    details = [
        f"'{uid}' on rows {', '.join(str(r) for r in sorted(rows))}"
        + (f" of {Path(source.file_name(int(f))).name}" if len(source.files) > 1 else "")
        for uid, f, rows in groups.iter_rows()
    ]
    n = dup.get_column("user_id").n_unique()
    first = groups.row(0)
    raise InputError(
        f"{n:,} user id(s) appear on more than one row",
        file=source.file_name(int(first[1])),
        column=id_column,
        row=int(min(first[2])),
        details=details,
        hint="A users table needs exactly one row per user: aggregate it first, or load the "
        "file as events (drop --users-table).",
    )
