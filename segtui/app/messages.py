"""Messages the workers post back to the UI: small dataclasses, nothing else crosses threads.

Progress messages implement ``can_replace`` (as Toolong's do) so a busy queue keeps only the newest
update instead of replaying every step the worker went through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class Progress(Message):
    """A long job moved on: which job, what stage, and how far (0..1, or None when unknown)."""

    job: str
    stage: str
    fraction: float | None = None
    rows: int | None = None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Progress) and message.job == self.job


@dataclass
class DataLoaded(Message):
    """Events are loaded and every offered feature is computed (a ``pipeline.Dataset``)."""

    dataset: Any


@dataclass
class LoadFailed(Message):
    """The data could not be loaded; ``message`` is what the person reads."""

    message: str
    paths: list[str]


@dataclass
class FitReady(Message):
    """A refit finished: ``(FitOutcome, SegmentsView, CarriedRules, the Segmentation it replaces)``;
    it replaces the shown result."""

    outcome: Any


@dataclass
class SweepReady(Message):
    """A k sweep finished (the core's ``SweepResult``)."""

    result: Any


@dataclass
class EpsReady(Message):
    """DBSCAN's suggested eps for the setup panel (the core's EpsSuggestion), or why there is
    none (``problem``)."""

    suggestion: Any
    problem: str = ""


@dataclass
class SplitReady(Message):
    """Re-clustering one segment finished; ``segmentation`` is the new state to show."""

    segmentation: Any
    description: str


@dataclass
class ViewReady(Message):
    """Profiles and labels of the current Segmentation are ready (``(SegmentsView, select)``)."""

    view: Any


@dataclass
class ExportDone(Message):
    """Export wrote its files; ``summary`` says what, where and how many rows."""

    summary: Any
