"""The Textual app: a thin layer over the core (see segtui.app.app). Import ``run_app`` to start."""

from __future__ import annotations

from typing import Any


def run_app(paths: list[str] | None = None, **kwargs: Any) -> None:
    """Build and run the app (the CLI's ``open`` and the no-argument default call this)."""
    from segtui.app.app import SegtuiApp

    SegtuiApp(paths, **kwargs).run()
