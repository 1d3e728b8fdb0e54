"""The one way the CLI prints: text from files and users never drives the terminal.

A column name, a value, a segment name or a path can hold an escape sequence (``\\x1b[2J``
clears the screen), a carriage return or backspace that overwrites what was printed, a NUL, or a
bidirectional override that shows text reversed. Every command prints through these functions,
which show such characters escaped (:func:`segtui.errors.terminal_safe`), never raw
``typer.echo``/``print`` (tests/hostile/test_control_chars.py keeps it so). SQL, which must
stay exact, is escaped only on a terminal (:func:`echo_exact`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

import typer

from segtui.errors import terminal_safe


def echo_lines(lines: Iterable[str], *, err: bool = False) -> None:
    """Print lines of a report or table, each escaped whole: a line break inside a value shows
    as ``\\x0a`` and cannot forge a row."""
    typer.echo("\n".join(terminal_safe(line, breaks=False) for line in lines), err=err)


def echo(text: str, *, err: bool = False) -> None:
    """Print one paragraph (an error message: its own line breaks stay, controls are escaped)."""
    typer.echo(terminal_safe(text), err=err)


def echo_json(data: Any) -> None:
    """Print one JSON object for scripts; JSON escapes every control and non-ASCII character."""
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=True))


def echo_exact(text: str) -> None:
    """Print text that must stay byte for byte what it is (SQL for an engine): as it is into a
    file or a pipe; on a terminal, holding a control character, escaped with a note on stderr
    (escaping it elsewhere would change a string literal, and so the query's answer)."""
    shown = terminal_safe(text)
    if shown == text or not sys.stdout.isatty():
        typer.echo(text, color=True)  # color=True: click would strip escape sequences off a pipe
        return
    typer.echo(shown)
    echo(
        "segtui: control characters in the text above are shown escaped (\\x1b); "
        "redirect it to a file for the exact text.",
        err=True,
    )
