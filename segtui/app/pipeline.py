"""The app's glue to the core: which core function runs, in which order, with what.

Nothing here computes features, fits or profiles by itself; each step calls the core and keeps
its result. No textual import: every function runs in a worker thread, reports through a
``progress(stage, fraction)`` callback and checks ``should_stop()`` between steps, so a newer
request can cancel an older one. The results are plain dataclasses the UI renders.
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

from segtui.errors import InputError

ProgressFn = Callable[[str, float | None], None]
StopFn = Callable[[], bool]


class Cancelled(Exception):
    """A newer request replaced this one; its partial results are dropped."""


def _noop(stage: str, fraction: float | None = None) -> None:
    return None


def _never() -> bool:
    return False


def _check(should_stop: StopFn) -> None:
    if should_stop():
        raise Cancelled


# --------------------------------------------------------------------------------------------
# Loading


@dataclass
class Dataset:
    """Loaded events and every offered feature, computed once per load."""

    paths: list[str]
    options: Any
    loaded: Any
    specs: list[Any]
    left_out: list[tuple[str, str]]
    users: pl.DataFrame
    seconds: float = 0.0

    @property
    def feature_names(self) -> list[str]:
        return [spec.name for spec in self.specs]

    @property
    def default_features(self) -> list[str]:
        names = [spec.name for spec in self.specs if getattr(spec, "default", False)]
        return names or self.feature_names[:8]

    @property
    def n_users(self) -> int:
        return self.users.height

    def spec(self, name: str) -> Any | None:
        return next((spec for spec in self.specs if spec.name == name), None)

    @property
    def default_transforms(self) -> dict[str, str]:
        return {spec.name: getattr(spec, "transform", "none") for spec in self.specs}


def make_load_options(**kwargs: Any) -> Any:
    """The core's LoadOptions built from the app's keyword arguments (unknown ones dropped)."""
    from segtui.events import LoadOptions
    from segtui.mapping import Mapping

    fields = getattr(LoadOptions, "__dataclass_fields__", {})
    values = {k: v for k, v in kwargs.items() if k in fields and v is not None}
    if "mapping_file" in values:
        values["mapping_file"] = Path(values["mapping_file"])
    if isinstance(values.get("mapping"), dict):
        values["mapping"] = Mapping.from_dict(values["mapping"])
    return LoadOptions(**values)


def load_dataset(
    paths: Sequence[str | Path],
    options: Any = None,
    progress: ProgressFn = _noop,
    should_stop: StopFn = _never,
) -> Dataset:
    """Load and map the events, then compute every available feature (one lazy group_by)."""
    from segtui.catalog import CATALOG, available_features
    from segtui.events import load_events
    from segtui.features import compute_features

    started = time.perf_counter()
    progress("Reading and mapping events", None)
    loaded = load_events([str(p) for p in paths], options)
    _check(should_stop)
    available = available_features(CATALOG, loaded.columns)
    specs, left_out = _split_available(available)
    if not specs:
        raise InputError("no features can be computed from these columns", file=str(paths[0]))
    progress(f"Computing {len(specs)} features per user", None)
    users = compute_features(loaded.events, specs)
    _check(should_stop)
    users = users.sort("user_id")
    if users.height < 2:
        raise InputError(
            f"only {users.height} user(s) in the data; segments need at least two",
            file=str(paths[0]),
        )
    return Dataset(
        [str(p) for p in paths],
        options,
        loaded,
        specs,
        left_out,
        users,
        seconds=time.perf_counter() - started,
    )


def _split_available(available: Any) -> tuple[list[Any], list[tuple[str, str]]]:
    """available_features may return specs, or (specs, left_out): accept both."""
    if isinstance(available, tuple) and len(available) == 2:
        specs, left = available
        left_pairs = [
            (getattr(item, "name", str(item)), getattr(item, "reason", ""))
            if not isinstance(item, tuple)
            else (str(item[0]), str(item[1]))
            for item in (left.items() if isinstance(left, dict) else left)
        ]
        return list(specs), left_pairs
    return list(available), []


# --------------------------------------------------------------------------------------------
# Fitting


@dataclass(frozen=True)
class FitRequest:
    """Everything a fit depends on; two equal requests give the same result."""

    features: tuple[str, ...]
    algorithm: str
    params: tuple[tuple[str, Any], ...]
    seed: int = 0
    sample_size: int | None = None

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass
class FitOutcome:
    """One fit's results: the base Segmentation plus what the UI shows about the fit."""

    request: FitRequest
    prepared: Any
    result: Any
    diagnostics: Any
    segmentation: Any
    projection: Any
    seconds: float
    messages: list[str] = field(default_factory=list)


def ui_threads() -> int:
    """Native threads a worker may use: all cores but one, which stays free for the UI.

    OpenMP/BLAS threads spin on every core during a fit; on a 2-core machine that starves the
    event loop for over a second. Leaving one core free keeps the UI ticking.
    """
    return max(1, (os.cpu_count() or 2) - 1)


def fit(
    dataset: Dataset,
    request: FitRequest,
    progress: ProgressFn = _noop,
    should_stop: StopFn = _never,
) -> FitOutcome:
    """prepare -> fit_clusters -> diagnose -> Segmentation -> projection, each a core call."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=ui_threads()):
        return _fit(dataset, request, progress, should_stop)


def _fit(
    dataset: Dataset, request: FitRequest, progress: ProgressFn, should_stop: StopFn
) -> FitOutcome:
    from segtui.cluster import fit_clusters
    from segtui.prepare import prepare

    started = time.perf_counter()
    progress("Preparing the feature matrix", 0.05)
    prepared = prepare(
        dataset.users, list(request.features), default_transforms=dataset.default_transforms
    )
    _check(should_stop)
    progress(f"Fitting {request.algorithm}", 0.2)
    from segtui.cluster import Cancelled as ClusterCancelled

    try:
        result = fit_clusters(
            prepared.X,
            request.algorithm,
            request.params_dict,
            seed=request.seed,
            sample_size=request.sample_size,
            progress=lambda stage, fraction: progress(stage, 0.2 + 0.5 * fraction),
            should_stop=should_stop,
        )
    except ClusterCancelled:
        raise Cancelled from None
    _check(should_stop)
    progress("Diagnostics", 0.75)
    diagnostics = _diagnose(prepared, result, request.seed)
    _check(should_stop)
    progress("Projecting users to 2-D", 0.85)
    projection = _project(prepared.X, result.labels, request.seed)
    _check(should_stop)
    segmentation = _new_segmentation(dataset, prepared, result)
    messages = list(getattr(prepared, "messages", []))
    note = getattr(result, "note", "")
    if note:
        messages.append(note)
    progress("Done", 1.0)
    return FitOutcome(
        request,
        prepared,
        result,
        diagnostics,
        segmentation,
        projection,
        time.perf_counter() - started,
        messages,
    )


def _diagnose(prepared: Any, result: Any, seed: int) -> Any:
    from segtui.diagnostics import diagnose_result

    return diagnose_result(prepared.X, result, seed=seed)


def _project(X: np.ndarray, labels: np.ndarray, seed: int) -> Any:
    from segtui.projection import project_pca

    return project_pca(X, seed=seed, max_points=4000, labels=labels)


def _new_segmentation(dataset: Dataset, prepared: Any, result: Any) -> Any:
    from segtui.profiles import generate_names, profile_segments
    from segtui.segmentation import Segmentation

    users = dataset.users
    profiles = profile_segments(
        users, result.labels, list(prepared.features), None, result.noise_id
    )
    names = generate_names(profiles)
    return Segmentation.from_labels(
        prepared.user_ids,
        result.labels,
        names=names,
        noise_id=result.noise_id,
        features=dataset.feature_names,
    )


# --------------------------------------------------------------------------------------------
# Views of the current Segmentation


@dataclass
class SegmentsView:
    """The current Segmentation rendered to data: labels per user and a profile per segment."""

    segmentation: Any
    labels: np.ndarray
    profiles: list[Any]
    features: list[str]
    kinds: dict[int, str] = field(default_factory=dict)
    rules: dict[int, str] = field(default_factory=dict)


def view(dataset: Dataset, outcome: FitOutcome, segmentation: Any) -> SegmentsView:
    """Labels and profiles of ``segmentation`` over the dataset's users."""
    from segtui.profiles import profile_segments

    users = dataset.users
    labels = np.asarray(segmentation.labels(users))
    features = list(outcome.prepared.features)
    infos = {info.id: info for info in segmentation.segments(users)}
    profiles = profile_segments(users, labels, features, segmentation.names, segmentation.noise_id)
    kinds = {sid: info.kind for sid, info in infos.items()}
    rules = {sid: info.rule for sid, info in infos.items() if info.rule}
    return SegmentsView(segmentation, labels, profiles, features, kinds, rules)


def sweep(
    dataset: Dataset,
    request: FitRequest,
    ks: Sequence[int],
    progress: ProgressFn = _noop,
    should_stop: StopFn = _never,
) -> Any:
    """The core's k sweep on the same prepared matrix the current fit uses."""
    from threadpoolctl import threadpool_limits

    from segtui.diagnostics import sweep as core_sweep
    from segtui.prepare import prepare

    progress("Preparing the feature matrix", 0.0)
    prepared = prepare(
        dataset.users, list(request.features), default_transforms=dataset.default_transforms
    )
    with threadpool_limits(limits=ui_threads()):
        return core_sweep(
            prepared.X,
            request.algorithm,
            list(ks),
            seed=request.seed,
            params={k: v for k, v in request.params_dict.items() if k != "k"},
            progress=lambda stage, fraction: progress(stage, fraction),
            should_stop=should_stop,
            sample_size=request.sample_size,
        )


def split(
    outcome: FitOutcome, segmentation: Any, segment_id: int, parts: int = 2
) -> tuple[Any, str]:
    """Re-cluster one segment's members with the same algorithm family (K-Means) and record it."""
    from segtui.cluster import fit_clusters

    mask = segmentation.members(segment_id)
    X = outcome.prepared.X[mask]
    if X.shape[0] < parts * 2:
        raise InputError(
            f"segment has {X.shape[0]} users: too few to split into {parts}",
            hint="Split a bigger segment.",
        )
    sub = fit_clusters(X, "kmeans", {"k": parts}, seed=outcome.request.seed)
    new = segmentation.split(segment_id, sub.labels)
    name = segmentation.names.get(segment_id, str(segment_id))
    return new, f"Split '{name}' into {parts} by re-clustering its {X.shape[0]:,} users"


SEGMENTATION_KEYS_KEPT = ("format", "version", "names", "noise_id", "features", "edits", "undone")


def edits_only(segmentation: Any) -> dict[str, Any]:
    """The Segmentation as the project stores it: names and edits, not the per-user labels.

    The labels come back from refitting with the same data, features, algorithm and seed (the
    core's fits are deterministic), so a project stays small however many users there are. The
    user count is kept to check the refit matches.
    """
    data = segmentation.to_dict()
    kept = {key: data[key] for key in SEGMENTATION_KEYS_KEPT if key in data}
    kept["n_users"] = len(data.get("user_ids", ()))
    return kept


def replay_edits(base: Any, saved: dict[str, Any]) -> Any:
    """Put saved names and edits back onto a fresh fit's Segmentation (see :func:`edits_only`)."""
    from segtui.segmentation import Segmentation

    data = base.to_dict()
    n_users = saved.get("n_users")
    if n_users is not None and n_users != len(data["user_ids"]):
        raise InputError(
            f"the data now has {len(data['user_ids']):,} users, the project was saved with "
            f"{n_users:,}",
            hint="The data changed since the project was saved; the edits were not replayed.",
        )
    for key in ("names", "edits", "undone", "noise_id"):
        if key in saved:
            data[key] = saved[key]
    return Segmentation.from_dict(data)


def mapping_dict(dataset: Dataset | None) -> dict[str, Any] | None:
    """The mapping in use as plain data for the project file."""
    if dataset is None:
        return None
    mapping = getattr(dataset.loaded, "mapping", None)
    if mapping is None:
        return None
    to_dict = getattr(mapping, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    from dataclasses import asdict, is_dataclass

    return asdict(mapping) if is_dataclass(mapping) else None


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

    @property
    def text(self) -> str:
        lines = [f"Wrote {self.rows:,} users in {self.segments} segments:"]
        lines += [f"  {path}" for path in self.files]
        lines += ["", "Label new users with the model:", f"  {self.command}"]
        return "\n".join(lines)


def export(
    dataset: Dataset, outcome: FitOutcome, segmentation: Any, request: ExportRequest
) -> ExportSummary:
    """Write segments.parquet (+ CSV) and the model JSON through the core's export (atomic)."""
    from segtui.export import export_segments

    written = export_segments(
        request.path,
        dataset.users,
        segmentation,
        outcome.prepared,
        outcome.result,
        outcome.projection,
        specs=dataset.specs,
        loaded=dataset.loaded,
        features=request.features,
        csv=request.csv,
        model_path=request.model_path,
    )
    files = [str(p) for p in written.files]
    command = f"segtui assign {written.model} NEW_EVENTS.csv -o labels.parquet"
    return ExportSummary(files, int(written.rows), int(written.segments), command)
