"""How a long clustering step reports progress and is asked to stop.

Every fit, sweep and label pass takes ``progress(stage, fraction)`` and ``should_stop()``; the
stop is polled between stages and label blocks, and honoured by raising :class:`Cancelled`.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, float], None]
ShouldStop = Callable[[], bool]


class Cancelled(Exception):
    """Raised when ``should_stop`` asked a long fit to stop; nothing partial is returned."""


def report(progress: Progress | None, stage: str, fraction: float) -> None:
    """Call ``progress`` (when given) with the fraction clamped to 0..1."""
    if progress is not None:
        progress(stage, min(max(fraction, 0.0), 1.0))


def check_stop(should_stop: ShouldStop | None) -> None:
    """Raise :class:`Cancelled` when ``should_stop`` says so."""
    if should_stop is not None and should_stop():
        raise Cancelled("stopped on request")


def scaled(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    """``progress`` for one stage of a longer step: the stage's 0..1 mapped into ``lo..hi``."""
    if progress is None:
        return None

    def sub(stage: str, fraction: float) -> None:
        progress(stage, lo + (hi - lo) * fraction)

    return sub
