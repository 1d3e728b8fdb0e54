"""Fixtures for the app tests: a small generated event log, frozen cursor blink, worker waits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from segtui.sample import write_sample

USERS = 600


@pytest.fixture(scope="session")
def events_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 users from the sample generator: small enough for fast tests, with real structure."""
    folder = tmp_path_factory.mktemp("events")
    return write_sample(folder, USERS, seed=7).events_path


@pytest.fixture(autouse=True)
def no_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """Freeze the cursor blink so snapshots are stable (as Harlequin's tests do)."""
    from textual.widgets import Input

    monkeypatch.setattr(Input, "cursor_blink", False, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture(autouse=True)
def quick_evidence(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """No stability or k scan after each fit: they cost seconds of CPU per app start, and every
    wait for the app to settle waits for them. Tests marked ``auto_k`` get both."""
    if request.node.get_closest_marker("auto_k"):
        return
    from segtui.app.app import SegtuiApp

    monkeypatch.setattr(SegtuiApp, "_start_evidence", lambda self, outcome: None)


@pytest.fixture
def no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")


@pytest.fixture
def markup_seen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every string handed to a markup parser while the test runs."""
    import rich.console
    import rich.markup
    import textual.markup

    seen: list[str] = []

    def recording(original):
        def parse(markup, *args, **kwargs):
            seen.append(str(markup))
            return original(markup, *args, **kwargs)

        return parse

    monkeypatch.setattr(textual.markup, "to_content", recording(textual.markup.to_content))
    monkeypatch.setattr(rich.markup, "render", recording(rich.markup.render))
    monkeypatch.setattr(rich.console, "render_markup", recording(rich.console.render_markup))
    return seen
