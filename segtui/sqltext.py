"""Names and strings as SQL text, per dialect: one place for quoting and escaping.

Every SQL segtui writes (reading raw rows, features, scoring, rules) quotes identifiers and
writes string literals through here. A string literal never carries a raw control character:
one becomes ``chr(n)`` joined on (a ``\\uXXXX`` escape in Spark), so the SQL stays exact and
printing it cannot drive a terminal. An identifier cannot be spelled that way, so a name
holding a control character is refused (InputError) rather than printed.

PostgreSQL is spelled as DuckDB is, except that its text cannot hold NUL (``chr(0)`` is an
error there) and it cuts names longer than 63 bytes (two long feature names would become one
column), so both are refused there.
"""

from __future__ import annotations

import re

from segtui.errors import InputError

DIALECTS: tuple[str, ...] = ("duckdb", "spark", "postgres")
_POSTGRES_NAME_BYTES = 63
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def quote(name: str, dialect: str = "duckdb") -> str:
    """An identifier, quoted: ``"name"`` (DuckDB, PostgreSQL) or ```name``` (Spark)."""
    bad = _CONTROL.search(name)
    if bad:
        shown = name.encode("unicode_escape").decode("ascii")
        raise InputError(
            f"the name '{shown}' holds a control character (U+{ord(bad.group()):04X}), which SQL "
            "text segtui prints cannot carry",
            hint="Rename the column in the file (or map another one).",
        )
    if dialect == "spark":
        return "`" + name.replace("`", "``") + "`"
    if dialect == "postgres" and len(name.encode()) > _POSTGRES_NAME_BYTES:
        raise InputError(
            f"the name '{name}' is longer than PostgreSQL's {_POSTGRES_NAME_BYTES} bytes, which "
            "it would cut (and two such names could become one column)",
            hint="Use a shorter feature or column name.",
        )
    return '"' + name.replace('"', '""') + '"'


def _plain_literal(text: str, dialect: str) -> str:
    if dialect == "spark":  # Spark reads backslash escapes inside literals
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + text.replace("'", "''") + "'"


def string(text: str, dialect: str = "duckdb") -> str:
    """A string literal equal to ``text``; control characters joined on as ``chr(n)`` (DuckDB)
    or written as ``\\uXXXX`` escapes inside the literal (Spark, whose chr() is ASCII only)."""
    if dialect == "spark":
        escaped = _plain_literal(text, dialect)
        return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", escaped)
    if dialect == "postgres" and "\x00" in text:
        raise InputError(
            "a text holds a NUL character, which PostgreSQL text cannot hold",
            hint="Remove the NUL from the name or value (an event alias, a segment name).",
        )
    parts, last = [], 0
    for match in _CONTROL.finditer(text):
        if match.start() > last:
            parts.append(_plain_literal(text[last : match.start()], dialect))
        parts.append(f"chr({ord(match.group())})")
        last = match.end()
    if last < len(text) or not parts:
        parts.append(_plain_literal(text[last:], dialect))
    return parts[0] if len(parts) == 1 else "(" + " || ".join(parts) + ")"
