"""What the files record, as two values: the fitted segmentation and where its users came from.

The model JSON and segments.parquet are built from the same pieces by the CLI, the app and the
tests; passing them as two small values (instead of seventeen keyword arguments) keeps the three
callers from drifting apart. :class:`segtui.pipeline.SegmentRun` and
:class:`segtui.pipeline.UsersData` hand them out (``run.fitted()``, ``data.provenance``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    import polars as pl

    from segtui.clustering.fit import ClusterResult
    from segtui.clustering.prepare import PreparedMatrix
    from segtui.clustering.projection import Projection
    from segtui.features.spec import FeatureSpec
    from segtui.ingest.mapping import ColumnMapping
    from segtui.ingest.reading import ReadPlan
    from segtui.ingest.report import LoadReport
    from segtui.segments.segmentation import Segmentation


@dataclass(frozen=True)
class FittedSegmentation:
    """A fit and the person's edits on it, over the users it was fitted on."""

    users: pl.DataFrame
    """``user_id`` plus feature columns, sorted by user_id (rule segments are evaluated on it)."""
    segmentation: Segmentation
    prepared: PreparedMatrix
    result: ClusterResult
    projection: Projection
    evidence: dict[str, Any] | None = None
    """Stability, the auto-k choice and over-segmentation flags as model data (optional)."""


@dataclass(frozen=True)
class Provenance:
    """Where the users came from, so new data can be read and featurised the same way.

    ``specs`` None means a users table: assigning reads the same columns as they are.
    """

    specs: Sequence[FeatureSpec] | None = None
    mapping: ColumnMapping | None = None
    session_gap_minutes: float | None = None
    report: LoadReport | None = None
    as_of: datetime | None = None
    id_column: str | None = None
    read_plan: ReadPlan | None = None
    """How the raw rows were read (what the scoring SQL applies); None for a users table."""

    @property
    def users_table(self) -> bool:
        return self.specs is None


@dataclass(frozen=True)
class ExportTarget:
    """Where the files go and which feature columns the parquet carries."""

    path: Path
    features: Sequence[str] | None = None
    """Columns written beside the labels (default: the clustering features)."""
    csv: bool = False
    model_path: Path | None = None
    """Default: ``NAME.model.json`` beside the parquet."""
