"""Errors a person can act on.

Every problem with a user's input is raised as an :class:`InputError` that names the file, the
column and the row where it can. The CLI prints it as one paragraph and exits with code 2; the app
shows it where the person is looking. Anything else escaping the core is a bug in segtui.
"""

from __future__ import annotations

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
        return _sentence(text)


def _sentence(text: str) -> str:
    """End ``text`` with a full stop unless it already ends a sentence."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", ":")) else text + "."


def _capital(text: str) -> str:
    """Start a sentence with a capital letter without touching the rest (names keep their case)."""
    return text[:1].upper() + text[1:]
