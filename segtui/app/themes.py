"""Themes from the repository's ``themes/`` folder: TOML files turned into textual Themes.

A file holds Theme's own fields (name, primary, background, dark, ...) and a ``[variables]``
table. A broken file is skipped with a message rather than stopping the app.
"""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

from textual.theme import Theme

THEMES_DIR = Path(__file__).resolve().parents[2] / "themes"
DEFAULT_THEME = "dark"


def load_theme_file(path: Path) -> Theme:
    """One theme file -> Theme; ValueError names the file and what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"{path}: {error}") from None
    allowed = {field.name for field in fields(Theme)}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"{path}: unknown theme keys {', '.join(unknown)}")
    if "name" not in data or "primary" not in data:
        raise ValueError(f"{path}: a theme needs at least 'name' and 'primary'")
    variables = data.pop("variables", {})
    return Theme(**data, variables={str(k): str(v) for k, v in variables.items()})


def load_themes(folder: Path = THEMES_DIR) -> tuple[list[Theme], list[str]]:
    """Every ``*.toml`` theme in ``folder``, and one message per file that could not be read."""
    themes: list[Theme] = []
    problems: list[str] = []
    if not folder.is_dir():
        return themes, [f"no themes folder at {folder}; using textual's built-in themes"]
    for path in sorted(folder.glob("*.toml")):
        try:
            themes.append(load_theme_file(path))
        except ValueError as error:
            problems.append(str(error))
    return themes, problems
