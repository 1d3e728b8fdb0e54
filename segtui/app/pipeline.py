"""The app's adapter to the core's orchestration (``segtui.pipeline``): the CLI's very steps.

Loading is :func:`segtui.pipeline.load_users`, fitting is :func:`segtui.pipeline.run_segmentation`,
the k sweep is :func:`segtui.pipeline.run_sweep` and the export is
:func:`segtui.artifacts.export.export_segments`, called with the same arguments
``segtui segment`` passes, so the app and the CLI give the same segments and write the same
files. What lives here is what only the app needs: the request that produced a fit (to compare
with the setup panel), the segments view of an edited Segmentation, carrying rule segments over a
refit, and the project's edits. No textual import: every function runs in a worker thread.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from segtui import pipeline as core
from segtui.artifacts.export import export_segments
from segtui.artifacts.fitted import ExportTarget
from segtui.clustering.control import Cancelled
from segtui.clustering.diagnostics import SweepResult
from segtui.clustering.fit import EpsSuggestion, fit_clusters, suggest_eps
from segtui.clustering.projection import TsneProjection, project_tsne
from segtui.clustering.specs import FitSpec, PrepSpec
from segtui.clustering.stability import BootCache
from segtui.cores import cgroup_quota, fit_threads, usable_cores
from segtui.errors import InputError
from segtui.features.spec import FeatureSpec
from segtui.ingest.events import LoadedEvents, LoadOptions
from segtui.ingest.mapping import ColumnMapping
from segtui.ingest.report import LoadReport
from segtui.segments.profiles import (
    SegmentProfile,
    merge_renamed,
    profile_segments,
    split_named,
)
from segtui.segments.segmentation import CarriedRules, Segmentation

__all__ = ["Cancelled"]

ProgressFn = Callable[[str, float | None], None]
StopFn = Callable[[], bool]

SCATTER_POINTS = 4000
"""Users the app's terminal scatter draws at most (plotext slows down past a few thousand
markers); the core's projection sample is ``segtui.clustering.projection.DISPLAY_SAMPLE``."""


def _noop(stage: str, fraction: float | None = None) -> None:
    return None


def _never() -> bool:
    return False


def ui_threads() -> int:
    """Native threads a worker may use: the fits' budget, less one core kept free for the UI.

    OpenMP/BLAS threads spin on every core during a fit; on a 2-core machine that starves the
    event loop for over a second. Leaving one core free keeps the UI ticking.
    """
    budget = fit_threads(os.environ)
    return max(1, min(budget, usable_cores(quota=cgroup_quota()) - 1))


# --------------------------------------------------------------------------------------------
# Loading


@dataclass
class Dataset:
    """The core's :class:`segtui.pipeline.UsersData` plus what the app needs to reload it."""

    paths: list[str]
    options: LoadOptions
    data: core.UsersData
    seconds: float = 0.0
    engine: str = "polars"
    """Which engine computed the features (``polars`` here, or a SQL engine)."""
    engine_users: int | None = None
    """With a SQL engine: the users it holds (``users`` is the sample pulled from it)."""

    @property
    def users(self) -> pl.DataFrame:
        return self.data.users

    @property
    def loaded(self) -> LoadedEvents | None:
        """The loaded events (None for a users table: there is no event mapping)."""
        return self.data.loaded

    @property
    def report(self) -> LoadReport | None:
        return self.data.report

    @property
    def specs(self) -> list[FeatureSpec]:
        return list(self.data.specs or [])

    @property
    def feature_names(self) -> list[str]:
        return list(self.data.features)

    @property
    def default_features(self) -> list[str]:
        return list(self.data.default_features)

    @property
    def default_transforms(self) -> dict[str, str]:
        return dict(self.data.default_transforms)

    @property
    def n_users(self) -> int:
        return self.data.users.height

    def families(self) -> dict[str, list[tuple[str, str]]]:
        """Feature (name, description) by family, in catalog order; a users table is one family."""
        if not self.data.specs:
            return {
                "columns": [
                    (name, "a numeric column of the users table") for name in self.feature_names
                ]
            }
        out: dict[str, list[tuple[str, str]]] = {}
        for spec in self.data.specs:
            out.setdefault(spec.family, []).append((spec.name, spec.description))
        return out

    def summary(self) -> str:
        """One line on what was loaded: rows read and kept (with a SQL engine: which engine
        computed the features from how many events), users, features."""
        parts = []
        report = self.report
        if self.engine != "polars":
            events = f"{report.rows_kept:,} events, " if report is not None else ""
            users = f"{self.n_users:,} users x {len(self.feature_names)} features"
            total = self.engine_users
            if total is not None and total > self.n_users:
                users = f"a sample of {self.n_users:,} of {total:,} users x " + (
                    f"{len(self.feature_names)} features"
                )
            return f"the {self.engine} engine computed the features: {events}{users}"
        if report is not None:
            left = report.rows_read - report.rows_kept
            parts.append(f"read {report.rows_read:,} rows, kept {report.rows_kept:,}")
            if left:
                parts[-1] += f" ({left:,} left out)"
        parts.append(f"{self.n_users:,} users x {len(self.feature_names)} features")
        return "; ".join(parts)


def make_load_options(**kwargs: Any) -> LoadOptions:
    """The core's LoadOptions from the app's plain options (unknown keys and Nones dropped)."""
    fields = LoadOptions.__dataclass_fields__
    values = {k: v for k, v in kwargs.items() if k in fields and v is not None}
    if "mapping_file" in values:
        values["mapping_file"] = Path(values["mapping_file"])
    if isinstance(values.get("mapping"), dict):
        values["mapping"] = ColumnMapping.from_dict(values["mapping"])
    return LoadOptions(**values)


def describe_paths(paths: Sequence[str | Path]) -> str:
    """'3 files, 1.2 GB' (what the one pass over the data will read), best effort."""
    sizes = []
    for path in paths:
        try:
            sizes.append(Path(path).stat().st_size)
        except OSError:
            continue
    if not sizes:
        return ""
    total = float(sum(sizes))
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if total < 1024 or unit == "TB":
            break
        total /= 1024
    count = f"{len(paths)} files, " if len(paths) > 1 else ""
    return f"{count}{total:,.1f} {unit}" if unit != "B" else f"{count}{int(total)} B"


@dataclass(frozen=True)
class EngineOption:
    """One engine the open screen offers, and why it cannot run here (None: it can)."""

    name: str
    unavailable: str | None = None


def engine_options() -> list[EngineOption]:
    """polars, duckdb and spark; spark says what this machine lacks for it (pyspark, Java)."""
    from segtui.engines.features import ENGINES
    from segtui.engines.spark_engine import spark_missing

    missing = spark_missing()
    reasons = {"spark": None if missing is None else missing.message}
    return [EngineOption(name, reasons.get(name)) for name in ENGINES]


def load_dataset(
    paths: Sequence[str | Path],
    options: LoadOptions | None = None,
    progress: ProgressFn = _noop,
    should_stop: StopFn = _never,
    engine: str = "polars",
    memory_limit: str | None = None,
    spark_master: str | None = None,
) -> Dataset:
    """:func:`segtui.pipeline.load_users` (events -> every offered feature, or a users table),
    or with ``engine`` duckdb|spark :func:`segtui.pipeline.load_users_in`: the engine computes
    the features from SQL and the users to fit on are pulled from it, as ``segment --engine``
    does."""
    if engine != "polars":
        return _load_in_engine(
            paths,
            options or LoadOptions(),
            progress,
            should_stop,
            engine,
            memory_limit,
            spark_master,
        )
    started = time.perf_counter()
    size = describe_paths(paths)
    progress(
        "Reading the data and computing features per user in one pass"
        + (f" ({size})" if size else ""),
        None,
    )
    options = options or LoadOptions()
    data = core.load_users([str(p) for p in paths], options)
    if should_stop():
        raise Cancelled("stopped on request")
    if data.users.height < 2:
        raise InputError(
            f"only {data.users.height} user(s) in the data; segments need at least two",
            file=str(paths[0]),
        )
    return Dataset([str(p) for p in paths], options, data, time.perf_counter() - started)


def _load_in_engine(
    paths: Sequence[str | Path],
    options: LoadOptions,
    progress: ProgressFn,
    should_stop: StopFn,
    engine: str,
    memory_limit: str | None,
    spark_master: str | None,
) -> Dataset:
    """The SQL engine's load: opened for the load only (the fit runs here on what it pulled)."""
    from segtui.engines.raw_relation import hive_files
    from segtui.engines.segment import DEFAULT_ENGINE_SAMPLE
    from segtui.engines.session import open_engine
    from segtui.ingest.sources import resolve_paths

    started = time.perf_counter()
    names = [str(p) for p in paths]
    if hive_files(names) is None:
        resolve_paths(names)  # a missing file is said now, not after Spark took 20 s to start
    size = describe_paths(paths)
    progress(f"Starting the {engine} engine" + (f" ({size})" if size else ""), None)
    with open_engine(engine, memory_limit, spark_master, quiet=True) as running:
        pulled = core.load_users_in(
            running,
            names,
            options,
            sample_size=DEFAULT_ENGINE_SAMPLE,
            seed=FitSpec().seed,
            progress=lambda text, at: progress(text, None),  # a query does not say how far
            should_stop=should_stop,
        )
    if should_stop():
        raise Cancelled("stopped on request")
    seconds = time.perf_counter() - started
    return Dataset(names, options, pulled.data, seconds, engine, pulled.total)


def features_after_load(
    previous: Dataset | None, chosen: Sequence[str], dataset: Dataset
) -> tuple[str, ...]:
    """The features to fit on once ``dataset`` is loaded (first load, or a reload after the
    mapping was fixed in the app).

    The data's defaults, which are what ``segtui segment`` with the same mapping (``--map``)
    fits on, unless the person picked features of their own on the previous data: those are
    kept where the new data still has them. Keeping the old defaults instead would leave out
    what the fixed mapping makes possible (revenue once a price column is mapped).
    """
    defaults = tuple(dataset.default_features)
    if previous is None or set(chosen) == set(previous.default_features):
        return defaults
    names = set(dataset.feature_names)
    return tuple(name for name in chosen if name in names) or defaults


# --------------------------------------------------------------------------------------------
# Fitting


@dataclass(frozen=True)
class FitRequest:
    """Everything a fit depends on; two equal requests give the same result."""

    features: tuple[str, ...]
    fit: FitSpec
    weighting: str = "within-segment"

    def prep_spec(self, dataset: Dataset) -> PrepSpec:
        """The data's transforms and fills for the chosen features, and the chosen weighting."""
        return PrepSpec.for_data(dataset.data, self.features, weighting=self.weighting)


@dataclass
class FitOutcome:
    """One fit: the core's SegmentRun and the request (setup-panel state) that asked for it."""

    request: FitRequest
    run: core.SegmentRun
    seconds: float

    @property
    def prepared(self) -> Any:
        return self.run.prepared

    @property
    def result(self) -> Any:
        return self.run.result

    @property
    def diagnostics(self) -> Any:
        return self.run.diagnostics

    @property
    def projection(self) -> Any:
        return self.run.projection

    @property
    def segmentation(self) -> Segmentation:
        return self.run.segmentation

    @property
    def messages(self) -> list[str]:
        return list(self.run.messages)


def fit(
    dataset: Dataset,
    request: FitRequest,
    progress: ProgressFn = _noop,
    should_stop: StopFn = _never,
) -> FitOutcome:
    """:func:`segtui.pipeline.run_segmentation` with one core left free for the UI."""
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    with threadpool_limits(limits=ui_threads()):
        run = core.run_segmentation(
            dataset.users,
            request.prep_spec(dataset),
            request.fit,
            progress=progress,
            should_stop=should_stop,
            rule_features=dataset.feature_names,
            display_points=SCATTER_POINTS,
        )
    return FitOutcome(request, run, time.perf_counter() - started)


def sweep(
    dataset: Dataset,
    request: FitRequest,
    ks: Sequence[int],
    progress: ProgressFn = _noop,
    should_stop: StopFn = _never,
) -> SweepResult:
    """:func:`segtui.pipeline.run_sweep` over ``ks`` with the current features and algorithm."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=ui_threads()):
        result, _ = core.run_sweep(
            dataset.users,
            request.prep_spec(dataset),
            request.fit,
            list(ks),
            progress=progress,
            should_stop=should_stop,
            stability=True,
        )
    return result


def cache_key(outcome: FitOutcome) -> tuple[Any, ...]:
    """What stability refits depend on besides k: the same key, the same resamples and refits.

    Within-segment weights differ from fit to fit, and so does the matrix refitted."""
    weights = outcome.prepared.segment_weights
    return (*k_scan_key(outcome), None if weights is None else tuple(weights.tolist()))


def k_scan_key(outcome: FitOutcome) -> tuple[Any, ...]:
    """What the k scan depends on: it scores the matrix before any within-segment weights, so
    a fit at the suggested k (other weights) still finds the scan that chose it."""
    request = outcome.request
    return (request.features, request.fit.without("k"), request.weighting)


def evidence(
    outcome: FitOutcome,
    *,
    auto_k: bool,
    cache: BootCache | None = None,
    progress: ProgressFn = _noop,
    should_stop: StopFn = _never,
) -> core.Evidence:
    """Stability of the shown fit's segments and, when ``auto_k``, the k scan: what the CLI's
    ``segment`` measures before it prints, measured here after the segments are on screen."""
    from threadpoolctl import threadpool_limits

    X, result = outcome.prepared.X, outcome.result
    asked = outcome.request.fit
    params = dict(asked.params)
    if "k" in result.params:
        params["k"] = result.params["k"]
    fit = FitSpec(asked.algorithm, params, asked.seed, asked.sample_size)
    with threadpool_limits(limits=ui_threads()):
        choice = None
        if auto_k:  # on the matrix before any within-segment weights, as the CLI chooses k
            weighted = outcome.prepared.segment_weights is not None
            choice, scanned = core.pick_k(
                outcome.prepared.unweighted(), fit, progress=progress, should_stop=should_stop
            )
            cache = cache if weighted else scanned
        return core.measure_evidence(
            X,
            result,
            fit,
            outcome.run.names,
            cache=cache,
            k_choice=choice,
            progress=progress,
            should_stop=should_stop,
        )


def tsne(outcome: FitOutcome) -> TsneProjection:
    """The t-SNE picture of the fit's prepared matrix, one core left free for the UI.

    A seeded sample stratified by the fit's segments, at most
    :data:`segtui.clustering.projection.TSNE_SAMPLE` users.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=ui_threads()):
        return project_tsne(
            outcome.prepared.X, seed=outcome.request.fit.seed, labels=outcome.result.labels
        )


def eps_suggestion(outcome: FitOutcome, min_samples: int, seed: int) -> EpsSuggestion:
    """DBSCAN's suggested eps on the current fit's prepared matrix (the core's knee rule)."""
    return suggest_eps(outcome.prepared.X, int(min_samples), seed)


# --------------------------------------------------------------------------------------------
# Views of the current Segmentation


@dataclass
class SegmentsView:
    """The current Segmentation rendered to data: labels per user and a profile per segment."""

    segmentation: Segmentation
    labels: np.ndarray
    profiles: list[SegmentProfile]
    features: list[str]
    kinds: dict[int, str] = field(default_factory=dict)
    rules: dict[int, str] = field(default_factory=dict)


def view(dataset: Dataset, outcome: FitOutcome, segmentation: Segmentation) -> SegmentsView:
    """Labels and profiles of ``segmentation`` over the dataset's users."""
    users = dataset.users
    labels = np.asarray(segmentation.labels(users))
    features = list(outcome.prepared.features)
    infos = {info.id: info for info in segmentation.segments(users, labels)}
    profiles = profile_segments(
        users, labels, features, segmentation.names, segmentation.noise_id, segment_ids=list(infos)
    )
    kinds = {sid: info.kind for sid, info in infos.items()}
    rules = {sid: info.rule for sid, info in infos.items() if info.rule}
    return SegmentsView(segmentation, labels, profiles, features, kinds, rules)


def split(
    outcome: FitOutcome, segmentation: Segmentation, segment_id: int, parts: int = 2
) -> tuple[Segmentation, str]:
    """Re-cluster one segment's members with K-Means and record it as a split edit."""
    mask = segmentation.members(segment_id)
    X = outcome.prepared.X[mask]
    if X.shape[0] < parts * 2:
        raise InputError(
            f"segment has {X.shape[0]} users: too few to split into {parts}",
            hint="Split a bigger segment.",
        )
    sub = fit_clusters(X, FitSpec("kmeans", {"k": parts}, seed=outcome.request.fit.seed))
    features = list(outcome.prepared.features)
    new = split_named(segmentation, outcome.run.users, features, segment_id, sub.labels)
    name = segmentation.names.get(segment_id, str(segment_id))
    return new, f"Split '{name}' into {parts} by re-clustering its {X.shape[0]:,} users"


def merge(
    outcome: FitOutcome, segmentation: Segmentation, ids: Sequence[int], into: int
) -> Segmentation:
    """Merge segments; the merged one is named from its new profile unless a person named it."""
    features = list(outcome.prepared.features)
    return merge_renamed(segmentation, outcome.run.users, features, ids, into=into)


# --------------------------------------------------------------------------------------------
# Refit: rule segments carry over, other edits belong to the fit they were made on


def fit_bound_edits(segmentation: Segmentation | None) -> list[str]:
    """The edits a refit cannot keep, as history (:meth:`Segmentation.fit_bound_history`)."""
    return [] if segmentation is None else segmentation.fit_bound_history()


def carry_rules(old: Segmentation | None, new: Segmentation) -> CarriedRules:
    """Add ``old``'s rule segments (current names, same order) to the freshly fitted ``new``."""
    return CarriedRules(new) if old is None else new.with_rules_from(old)


# --------------------------------------------------------------------------------------------
# Project file


def mapping_dict(dataset: Dataset | None) -> dict[str, Any] | None:
    """The mapping in use as plain data for the project file (None for a users table)."""
    if dataset is None or dataset.loaded is None:
        return None
    return dataset.loaded.mapping.to_dict()


# --------------------------------------------------------------------------------------------
# Export


@dataclass
class ExportRequest:
    """What the export screen validated: where, which features, which files."""

    path: str
    features: list[str]
    csv: bool = False
    model_path: str | None = None


@dataclass
class ExportSummary:
    """What was written, for the person to read, and the command to label new users."""

    files: list[str]
    rows: int
    segments: int
    command: str
    empty: tuple[str, ...] = ()
    """Segments no user is in: in the model (new users may match them), not in the parquet."""

    @property
    def text(self) -> str:
        lines = [f"Wrote {self.rows:,} users in {self.segments} segments:"]
        if self.empty:
            lines[0] = (
                f"Wrote {self.rows:,} users in {self.segments} segments "
                f"({len(self.empty)} with no users yet: {', '.join(self.empty)}):"
            )
        lines += [f"  {path}" for path in self.files]
        lines += ["", "Label new users with the model:", f"  {self.command}"]
        return "\n".join(lines)


def export(
    dataset: Dataset, outcome: FitOutcome, segmentation: Segmentation, request: ExportRequest
) -> ExportSummary:
    """:func:`segtui.artifacts.export.export_segments` with the arguments of ``segtui segment``."""
    model_path = request.model_path
    target = ExportTarget(
        Path(request.path).expanduser().resolve(),
        request.features,
        request.csv,
        None if model_path is None else Path(model_path).expanduser().resolve(),
    )
    written = export_segments(target, outcome.run.fitted(segmentation), dataset.data.provenance)
    files = [str(p) for p in written.files]
    command = f"segtui assign {written.model} NEW_EVENTS.csv -o labels.parquet"
    empty = tuple(name for name, size in written.sizes.items() if size == 0)
    return ExportSummary(files, int(written.rows), int(written.segments), command, empty)
