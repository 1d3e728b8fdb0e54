"""SQL literals are exact and carry no raw control characters; DuckDB reads them back."""

from __future__ import annotations

import duckdb
import pytest

from segtui.errors import InputError
from segtui.sqltext import quote, string

TEXTS = ["plain", "it's", "a\\b", "\x1b[31mred\x1b[0m", "tab\there", "\u202eevil", "", "[/]x"]


@pytest.mark.parametrize("text", TEXTS)
def test_duckdb_reads_the_literal_back_exactly(text: str) -> None:
    literal = string(text)
    assert not any(ord(c) < 32 or c in "\x7f\u202e" for c in literal)
    con = duckdb.connect()
    name = quote('odd "name')
    assert con.execute(f"SELECT {literal} AS {name}").fetchall() == [(text,)]


def test_spark_spelling_escapes_backslashes_and_quotes() -> None:
    assert string("a\\b'c", "spark") == "'a\\\\b\\'c'"
    assert string("\x1b\u202e", "spark") == "'\\u001b\\u202e'"
    assert quote("a`b", "spark") == "`a``b`"


def test_a_name_with_a_control_character_is_refused() -> None:
    with pytest.raises(InputError, match=r"the name 'a\\x1bb' holds a control character"):
        quote("a\x1bb")
