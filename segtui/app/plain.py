"""Text from files and people, shown exactly as it is: never parsed as Rich or Textual markup.

A category value ``[/]fashion[bold``, a path with ``[/`` or a segment renamed ``[b]x`` is data,
not markup: a string handed to a Static, a Label, a DataTable cell, a rich Table cell, an option
or a border title is parsed as markup (and a stray ``[/]`` crashes the app), so every such text
goes through :func:`plain` (or :func:`plain_cells`) on its way to the screen. Notifications are
plain through ``SegtuiApp.notify``. ``tests/app/test_markup_text.py`` visits every screen with
markup-like data and fails when any of it reaches a markup parser.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text


def plain(text: object, style: str = "") -> Text:
    """``text`` as a rich Text that shows its characters as they are (a Text is kept)."""
    if isinstance(text, Text):
        return text
    return Text("" if text is None else str(text), style=style)


def plain_cells(values: Iterable[object]) -> list[Text]:
    """A row of table cells (or column labels), each shown as it is."""
    return [plain(value) for value in values]
