"""Messages the workers post back to the UI: small dataclasses with typed fields, nothing else
crosses threads.

Progress messages implement ``can_replace`` (as Toolong's do) so a busy queue keeps only the newest
update instead of replaying every step the worker went through. The payload types are imported for
type checking only: this module stays a leaf every screen and widget can import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    import polars as pl

    from segtui.app.pipeline import (
        CarriedRules,
        Dataset,
        ExportSummary,
        FitOutcome,
        SegmentsView,
    )
    from segtui.clustering.diagnostics import SweepResult
    from segtui.clustering.fit import EpsSuggestion
    from segtui.clustering.projection import TsneProjection
    from segtui.ingest.events import LoadReport
    from segtui.pipeline import Evidence
    from segtui.segments.segmentation import Segmentation


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
    """Events are loaded and every offered feature is computed."""

    dataset: Dataset


@dataclass
class LoadFailed(Message):
    """The data could not be loaded; ``message`` is what the person reads."""

    message: str
    paths: list[str]


@dataclass
class FitReady(Message):
    """A refit finished; it replaces the shown result.

    ``view`` is the Segmentation to show: the fit's own with the rules of ``replaced`` carried
    over (``carried``), or with a reopened project's edits replayed (``replayed``;
    ``replay_problem`` says why they could not be).
    """

    outcome: FitOutcome
    view: SegmentsView
    carried: CarriedRules
    replaced: Segmentation | None
    replayed: bool = False
    replay_problem: str = ""


@dataclass
class SweepReady(Message):
    """A k sweep finished."""

    result: SweepResult


@dataclass
class EvidenceReady(Message):
    """Stability per segment (and the auto-k scan) for the fit ``outcome`` finished."""

    outcome: FitOutcome
    evidence: Evidence
    key: tuple[object, ...]


@dataclass
class EpsReady(Message):
    """DBSCAN's suggested eps for the setup panel, or why there is none (``problem``)."""

    suggestion: EpsSuggestion | None
    problem: str = ""


@dataclass
class TsneReady(Message):
    """The t-SNE picture of ``outcome``'s matrix is ready (shown while that fit is current)."""

    outcome: FitOutcome
    projection: TsneProjection


@dataclass
class SplitReady(Message):
    """Re-clustering one segment finished; ``segmentation`` is the new state to show, made from
    ``base`` (the Segmentation the split started from: stale once another is current)."""

    segmentation: Segmentation
    description: str
    base: Segmentation | None = None


@dataclass
class ViewReady(Message):
    """Profiles and labels of a Segmentation are ready (shown if it is still the current one)."""

    view: SegmentsView


@dataclass
class ExportDone(Message):
    """Export wrote its files; ``summary`` says what, where and how many rows."""

    summary: ExportSummary


@dataclass
class PreviewReady(Message):
    """The mapping screen's first rows after mapping (``segtui.ingest.events.preview``)."""

    frame: pl.DataFrame


@dataclass
class ReportReady(Message):
    """The mapping screen's count of rows read, kept and left out."""

    report: LoadReport
