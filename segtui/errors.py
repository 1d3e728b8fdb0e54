"""Errors a person can act on.

Every problem with a user's input is raised as an :class:`InputError` that names the file, the
column and the row where it can. The CLI prints it as one paragraph and exits with code 2; the app
shows it where the person is looking. Anything else escaping the core is a bug in segtui.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class InputError(Exception):
    """Bad input: a file, column, value or option that segtui cannot use as given."""

    message: str
    file: str | Path | None = None
    column: str | None = None
    row: int | None = None
    hint: str | None = None
    details: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        """One paragraph: where, what, and what to do about it."""
        where = []
        if self.file is not None:
            where.append(f"{self.file}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        if self.row is not None:
            where.append(f"row {self.row}")
        text = (": ".join([", ".join(where), self.message]) if where else self.message).rstrip()
        if self.details:
            text = _sentence(text) + " " + _capital("; ".join(self.details))
        if self.hint:
            text = _sentence(text) + " " + _capital(self.hint)
        return terminal_safe(_sentence(text))


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]}
_CONTROL |= {c: f"\\u{c:04x}" for c in [0x061C, 0x200E, 0x200F, *range(0x2028, 0x202F)]}
_CONTROL |= {c: f"\\u{c:04x}" for c in range(0x2066, 0x206A)}
"""Characters a terminal obeys rather than shows: C0/C1 controls (ESC, CR, BS, NUL, ...), the
bidirectional marks, embeddings, overrides and isolates (text that displays reversed), and the
Unicode line and paragraph separators."""
_WITH_BREAKS = {c: v for c, v in _CONTROL.items() if c not in (0x0A, 0x09)}
"""The same less line breaks and tabs, for a paragraph (the rule caret uses a newline)."""


def terminal_safe(text: str, *, breaks: bool = True) -> str:
    r"""Text from files and users with terminal control characters shown, not obeyed.

    An escape sequence in a column name or a value (``\x1b[2J`` clears the screen) would reach
    the terminal as it is; here it prints as ``\x1b[2J``. ``breaks=False`` shows line breaks and
    tabs too (``\n``), for one line of a table: a value holding a line break cannot forge a row.
    Idempotent: what it returns has nothing left to escape.

    >>> terminal_safe("bad\x1b[2Jname\tx")
    'bad\\x1b[2Jname\tx'
    >>> terminal_safe("a\nb\u202ec", breaks=False)
    'a\\x0ab\\u202ec'
    """
    return text.translate(_WITH_BREAKS if breaks else _CONTROL)


def closest(
    word: str,
    choices: Iterable[str],
    *,
    cutoff: float = 0.6,
    key: Callable[[str], str] | None = None,
) -> str | None:
    """The choice most like ``word`` (difflib), for a "did you mean" hint; None when none is close.

    ``key`` compares normalised forms (``str.lower``, or names without punctuation) and returns the
    choice as written; of choices with the same form, the first wins. Every hint in segtui that
    suggests a name uses this, so the suggestions agree wherever a name is mistyped.
    """
    options = list(choices)
    if key is None:
        hits = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
        return hits[0] if hits else None
    by_key: dict[str, str] = {}
    for option in options:
        by_key.setdefault(key(option), option)
    hits = difflib.get_close_matches(key(word), list(by_key), n=1, cutoff=cutoff)
    return by_key[hits[0]] if hits else None


def _sentence(text: str) -> str:
    """End ``text`` with a full stop unless it already ends a sentence."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", ":")) else text + "."


def _capital(text: str) -> str:
    """Start a sentence with a capital letter without touching the rest (names keep their case)."""
    return text[:1].upper() + text[1:]
