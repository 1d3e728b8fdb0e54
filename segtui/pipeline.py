"""UI-free orchestration shared by the CLI and the app: files -> users -> a segmentation.

Two calls cover the flow of data in DESIGN.md up to the export:

* :func:`load_users` turns event files into one row of features per user (the loader's report is
  collected in the same scan), or reads a users table as it is.
* :func:`run_segmentation` prepares the matrix, fits the clusters, scores them, profiles and
  names the segments, projects users to 2-D and starts the :class:`Segmentation`.

Each step is one call into the core; nothing here computes anything itself. Long steps report
``progress(stage, fraction)`` and stop with :class:`segtui.clustering.control.Cancelled` when
``should_stop()`` turns true.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import polars as pl

from segtui.artifacts.fitted import FittedSegmentation, Provenance
from segtui.clustering.autok import KChoice, choose_k
from segtui.clustering.choose import Candidate, FeatureChoice, choose_features
from segtui.clustering.control import Cancelled, Progress, ShouldStop, scaled
from segtui.clustering.diagnostics import Diagnostics, SweepResult, diagnose_result, sweep
from segtui.clustering.fit import ClusterResult, fit_clusters
from segtui.clustering.prepare import PreparedMatrix, prepare, with_segment_weights
from segtui.clustering.projection import DISPLAY_SAMPLE, Projection, project_pca
from segtui.clustering.registry import algorithm_info
from segtui.clustering.segment_weights import REWEIGHTED_ALGORITHMS, describe, fit_reweighted
from segtui.clustering.specs import FitSpec, PrepSpec
from segtui.clustering.stability import (
    STABILITY_FITS,
    STABILITY_USERS,
    BootCache,
    StabilityReport,
    segment_flags,
    segment_stability,
)
from segtui.errors import InputError
from segtui.features.catalog import CATALOG
from segtui.features.compile import build_feature_query
from segtui.features.files import load_feature_file
from segtui.features.generated import offered_specs
from segtui.features.selection import available_features
from segtui.features.selection import select_features as select_specs
from segtui.features.spec import FeatureSpec
from segtui.ingest.events import LoadedEvents, LoadOptions, load_events
from segtui.ingest.mapping import ColumnMapping
from segtui.ingest.report import LoadReport
from segtui.ingest.sources import inspect_source
from segtui.ingest.strict import check_as_of
from segtui.ingest.users_table import (
    given_users_table,
    is_users_table,
    read_users_table,
    users_table_line,
)
from segtui.segments.profiles import SegmentProfile, profile_segments
from segtui.segments.segmentation import Segmentation

if TYPE_CHECKING:
    from segtui.engines.features import Engine

SourceKind = Literal["events", "users_table"]


@dataclass
class UsersData:
    """One row per user and how it was obtained (events + features, or a users table)."""

    users: pl.DataFrame
    """``user_id`` (Utf8) first, sorted by user_id, then one column per feature."""
    kind: SourceKind
    features: list[str]
    """Feature columns offered, in catalog (or file) order."""
    default_features: list[str]
    """The features a segmentation uses unless a person picks others."""
    default_transforms: dict[str, str]
    """Feature -> the catalog's transform ("none" for users-table columns)."""
    default_fills: dict[str, str] = field(default_factory=dict)
    """Feature -> how its declaration fills a missing value (the catalog's ``fill``); empty for
    a users table, whose columns are filled with the median unless a person says otherwise."""
    missing_reasons: dict[str, str] = field(default_factory=dict)
    """Feature -> why a value can be missing ("no purchases"), for the preparation's messages."""
    families: dict[str, str] = field(default_factory=dict)
    """Feature -> its family, for the family-balanced weights (empty for a users table)."""
    choice: FeatureChoice | None = None
    """How ``default_features`` were chosen from the data, with the reason for each one left out."""
    specs: list[FeatureSpec] | None = None
    """The resolved declarations behind ``features`` (events only)."""
    left_out: dict[str, str] = field(default_factory=dict)
    """Features (or users-table columns) not offered, and why."""
    loaded: LoadedEvents | None = None
    report: LoadReport | None = None
    id_column: str | None = None
    """Users table: the source column of the ids."""
    as_of: datetime | None = None
    messages: list[str] = field(default_factory=list)

    @property
    def mapping(self) -> ColumnMapping | None:
        return None if self.loaded is None else self.loaded.mapping

    @property
    def session_gap_minutes(self) -> float | None:
        return None if self.loaded is None else self.loaded.session_gap_minutes

    @property
    def provenance(self) -> Provenance:
        """How these users were read, for the model (a users table keeps no declarations)."""
        return Provenance(
            specs=self.specs if self.kind == "events" else None,
            mapping=self.mapping,
            session_gap_minutes=self.session_gap_minutes,
            report=self.report,
            as_of=self.as_of,
            id_column=self.id_column,
            read_plan=None if self.loaded is None else self.loaded.read_plan,
        )


def _wants_events(options: LoadOptions) -> bool:
    """A mapping, --map pairs other than user_id, or a layout say the files are events."""
    other_overrides = {k for k in options.overrides if k != "user_id"}
    return bool(
        options.mapping is not None
        or options.mapping_file is not None
        or options.layout is not None
        or other_overrides
    )


def load_users(
    paths: Sequence[str | Path],
    load_options: LoadOptions | None = None,
    users_table: bool | None = None,
    feature_file: str | Path | None = None,
    as_of: datetime | None = None,
    features: Sequence[str] | None = None,
) -> UsersData:
    """Event files -> per-user features, or a users table read as it is.

    ``users_table`` None decides from the data (see
    :func:`segtui.ingest.users_table.is_users_table`).
    With events, ``features`` limits the computation to those names (default: every feature the
    columns allow, plus any declared in ``feature_file``); ``as_of`` is the reference time.
    """
    options = load_options or LoadOptions()
    if not paths:
        raise InputError("no input files given")
    if users_table is None:
        users_table = not _wants_events(options) and is_users_table(
            inspect_source(list(paths)), options.overrides, options.layout
        )
    if users_table:
        return _users_table(paths, options, features)
    return _events(paths, options, feature_file, as_of, features)


def _users_table(
    paths: Sequence[str | Path], options: LoadOptions, features: Sequence[str] | None
) -> UsersData:
    source = inspect_source(list(paths))
    table = read_users_table(source, options.overrides, needed=features)
    if not table.features:
        raise InputError(
            "the users table has no numeric columns to use as features",
            file=source.files[0],
            details=[f"'{c}' {why}" for c, why in table.ignored.items()],
        )
    if features:
        choice = FeatureChoice.named(features, {})
    else:
        choice = choose_features(table.users, [Candidate(n, n) for n in table.features])
    return UsersData(
        users=table.users,
        kind="users_table",
        features=list(table.features),
        default_features=list(choice.features) or list(table.features),
        default_transforms={name: "none" for name in table.features},
        left_out=dict(table.ignored),
        id_column=table.id_column,
        messages=[*table.messages, *choice.messages()],
        choice=choice,
    )


def build_features(
    loaded: LoadedEvents, specs: Sequence[FeatureSpec], as_of: datetime | None = None
) -> tuple[pl.DataFrame, LoadReport]:
    """Events -> one row per user, sorted by user_id, one column per declaration in ``specs``.

    The loader's report (rows read, left out and why) is collected in the same scan. ``as_of`` is
    the reference time of the time-relative features (default: the last event).
    """
    query = build_feature_query(loaded.events, list(specs), as_of)
    users, report = loaded.collect_with_report(query)
    check_as_of(report, as_of, loaded.source.files[0])
    return users.sort("user_id"), report


def _events(
    paths: Sequence[str | Path],
    options: LoadOptions,
    feature_file: str | Path | None,
    as_of: datetime | None,
    features: Sequence[str] | None,
) -> UsersData:
    own = load_feature_file(feature_file) if feature_file is not None else []
    loaded = load_events(list(paths), options)
    specs = offered_specs(loaded.events, own, loaded.source, features)
    offered, left_out = available_features(specs, loaded.columns)
    chosen = offered if features is None else select_specs(list(features), offered, left_out)
    if not chosen:
        raise InputError(
            "no feature can be computed from these columns",
            file=loaded.source.files[0],
            details=[f"{name}: {why}" for name, why in list(left_out.items())[:5]],
            hint="Map more columns (--map canonical=source); `segtui inspect` shows the mapping.",
        )
    users, report = build_features(loaded, chosen, as_of)
    return events_users_data(users, loaded, chosen, left_out, report, as_of, features)


def events_users_data(
    users: pl.DataFrame,
    loaded: LoadedEvents,
    chosen: Sequence[FeatureSpec],
    left_out: dict[str, str],
    report: LoadReport,
    as_of: datetime | None,
    given: Sequence[str] | None = None,
) -> UsersData:
    """The users' features (sorted by user_id; computed here, or pulled from an engine) with
    the defaults their data gives: the chosen features, transforms, fills and families.
    The features a person named (``given``, ``--features``) are used as named: nothing is
    chosen or left out of them."""
    names = [spec.name for spec in chosen]
    if given:
        choice = FeatureChoice.named(given, {spec.name: spec.family for spec in chosen})
    else:
        choice = choose_features(users, _candidates(chosen))
    defaults = list(choice.features) or names
    return UsersData(
        users=users,
        kind="events",
        features=names,
        default_features=defaults,
        default_transforms={spec.name: spec.transform for spec in chosen},
        default_fills={spec.name: spec.fill for spec in chosen},
        missing_reasons={
            spec.name: spec.why_missing
            for spec in chosen
            if spec.when_missing is None and spec.why_missing
        },
        families={spec.name: spec.family for spec in chosen},
        choice=choice,
        specs=list(chosen),
        left_out=dict(left_out),
        loaded=loaded,
        report=report,
        as_of=as_of,
        messages=[*report.summary_lines(), *choice.messages()],
    )


@dataclass(frozen=True)
class EngineUsers:
    """The users a fit runs on, pulled from a SQL engine that computed every user's features
    (with the defaults their data gives), and how many users the engine holds."""

    data: UsersData
    total: int
    """Users the engine holds (``segment`` labels every one of them there)."""
    engine: str = ""

    @property
    def pulled(self) -> int:
        return self.data.users.height


def load_users_in(
    engine: Engine,
    paths: Sequence[str],
    options: LoadOptions,
    *,
    sample_size: int,
    seed: int,
    feature_file: str | Path | None = None,
    as_of: datetime | None = None,
    features: Sequence[str] | None = None,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> EngineUsers:
    """:func:`load_users` with the features computed and kept by ``engine`` (DuckDB, Spark)
    from SQL rendered from the declarations; only a sample of at most ``sample_size`` users,
    picked in the engine by the one sampling rule (hash of seed and user id), comes back.

    ``segment``/``sweep --engine`` and the app's open screen both load this way.
    """
    from segtui.engines.features import (
        check_as_of_in,
        chosen_specs_in,
        define_events,
        engine_report,
    )
    from segtui.engines.raw_relation import hive_files, raw_source
    from segtui.engines.segment import define_users, pull_sample

    hive = hive_files(paths)
    root = None
    if hive is not None:
        root, files = hive
        paths = [str(p) for p in files]
    table = given_users_table(
        paths,
        options.overrides,
        mapping_given=options.mapping_file is not None,
        layout=options.layout,
    )
    if table is not None:
        raise InputError(
            users_table_line(table),
            file=paths[0],
            hint="Segment a users table with --engine polars (the default).",
        )
    own = load_feature_file(feature_file) if feature_file is not None else []
    if sample_size < 2:
        raise InputError(f"--sample-size must be at least 2 (got {sample_size})")
    name = engine.name
    _step(progress, should_stop, f"The {name} engine reads the files", 0.0)
    loaded = load_events(list(paths), options)
    assert loaded.read_plan is not None  # load_events always records it
    raw = raw_source(loaded.source, loaded.read_plan, root)
    define_events(engine, raw, loaded.read_plan, loaded.report)
    kept, left_out = chosen_specs_in(engine, loaded.columns, own, features)
    if not kept.specs:
        raise InputError(
            "no feature can be computed from these columns",
            file=loaded.source.files[0],
            hint="Map more columns (--map canonical=source); `segtui inspect` shows the mapping.",
        )
    check_as_of_in(engine, as_of, loaded.source.files[0])
    _step(progress, should_stop, f"The {name} engine computes the features per user", 0.3)
    define_users(engine, kept.specs, loaded.columns, as_of)
    report = engine_report(engine, raw, loaded.report)
    if report.users < 2:
        raise InputError(
            f"only {report.users} user(s) in the data; segments need at least two",
            file=loaded.source.files[0],
        )
    _step(progress, should_stop, f"Pulling the users to fit on from the {name} engine", 0.8)
    sample = pull_sample(engine, sample_size, seed)
    data = events_users_data(
        sample, loaded, kept.specs, {**left_out, **kept.left_out}, report, as_of, features
    )
    lines = [
        f"engine: {name} read {loaded.source.describe()} and computed the features: "
        f"{report.rows_kept:,} events, {report.users:,} users",
        *report.summary_lines(),
        *(
            f"left out '{feature}': the {name} engine has no SQL form for it ({why})"
            for feature, why in kept.left_out.items()
        ),
    ]
    if sample.height < report.users:
        lines.append(
            f"fitted on a sample of {sample.height:,} of {report.users:,} users drawn in the "
            f"engine (--sample-size; the same users for the same --seed everywhere); the "
            "profiles and diagnostics are the sample's, the sizes written are everyone's"
        )
    assert data.choice is not None
    data = replace(data, messages=[*lines, *data.choice.messages()])
    return EngineUsers(data, report.users, name)


_CATALOG_NAMES = frozenset(spec.name for spec in CATALOG)


def _candidates(specs: Sequence[FeatureSpec]) -> list[Candidate]:
    """The offered features in the chooser's preference order: catalog defaults, the rest of the
    catalog, then features generated from the data or declared in a file."""
    return [
        Candidate(
            spec.name,
            spec.family,
            tier=0 if spec.default else 1 if spec.name in _CATALOG_NAMES else 2,
            fill=spec.fill,
        )
        for spec in specs
    ]


@dataclass
class SegmentRun:
    """Everything one segmentation produced, ready to show, edit and export."""

    users: pl.DataFrame
    prepared: PreparedMatrix
    result: ClusterResult
    diagnostics: Diagnostics
    profiles: list[SegmentProfile]
    names: dict[int, str]
    projection: Projection
    segmentation: Segmentation
    seed: int
    messages: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time per step (prepare, fit, diagnostics, profiles, projection)."""
    evidence: Evidence | None = None
    """Stability per segment and the auto-k choice, when they were measured."""

    @property
    def stability(self) -> StabilityReport | None:
        return None if self.evidence is None else self.evidence.stability

    @property
    def k_choice(self) -> KChoice | None:
        return None if self.evidence is None else self.evidence.k_choice

    @property
    def flags(self) -> dict[int, list[str]]:
        """Over-segmentation reasons per fitted segment (tiny even without stability)."""
        if self.evidence is not None:
            return self.evidence.flags
        return segment_flags(self.result.labels, self.result.noise_id, None, self.names)

    @property
    def features(self) -> list[str]:
        """The features the matrix kept (constant or all-missing ones were dropped)."""
        return list(self.prepared.features)

    def fitted(self, segmentation: Segmentation | None = None) -> FittedSegmentation:
        """The run (with ``segmentation``, a person's edit of it, if given) for the export."""
        return FittedSegmentation(
            users=self.users,
            segmentation=segmentation if segmentation is not None else self.segmentation,
            prepared=self.prepared,
            result=self.result,
            projection=self.projection,
            evidence=None if self.evidence is None else self.evidence.to_model(),
        )


@dataclass
class Evidence:
    """What resampling says about a fit: stability per segment, the k choice, the flags."""

    stability: StabilityReport | None = None
    k_choice: KChoice | None = None
    flags: dict[int, list[str]] = field(default_factory=dict)
    cache: BootCache | None = field(default=None, repr=False)
    """The refits behind them, reusable by another fit of the same matrix and algorithm."""

    def to_model(self) -> dict[str, object]:
        """The model's ``stability`` section plus per-segment values (see artifacts.model)."""
        out: dict[str, object] = {}
        if self.stability is not None:
            out["stability"] = self.stability.to_dict()
        if self.k_choice is not None:
            out["k_choice"] = self.k_choice.to_dict()
        out["flags"] = {str(k): list(v) for k, v in sorted(self.flags.items())}
        return out


def measure_evidence(
    X: object,
    result: ClusterResult,
    fit: FitSpec,
    names: dict[int, str] | None = None,
    *,
    stability: bool = True,
    cache: BootCache | None = None,
    k_choice: KChoice | None = None,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> Evidence:
    """Stability of ``result``'s segments (B refits on a sample of S users) and the flags."""
    import numpy as np

    matrix = np.asarray(X, dtype=np.float64)
    report = None
    if stability:
        cache = (
            cache if cache is not None else BootCache(matrix, fit, STABILITY_FITS, STABILITY_USERS)
        )
        report = segment_stability(
            matrix,
            result.labels,
            fit,
            noise_id=result.noise_id,
            cache=cache,
            progress=progress,
            should_stop=should_stop,
        )
    flags = segment_flags(result.labels, result.noise_id, report, names)
    return Evidence(report, k_choice, flags, cache)


def pick_k(
    X: object,
    fit: FitSpec,
    *,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> tuple[KChoice, BootCache]:
    """``-k auto`` on the prepared matrix: the k and why (:mod:`segtui.clustering.autok`)."""
    import numpy as np

    return choose_k(np.asarray(X), fit, progress=progress, should_stop=should_stop)


def _step(progress: Progress | None, should_stop: ShouldStop | None, stage: str, at: float) -> None:
    if should_stop is not None and should_stop():
        raise Cancelled("stopped on request")
    if progress is not None:
        progress(stage, at)


def run_segmentation(
    users: pl.DataFrame,
    prep: PrepSpec,
    fit: FitSpec,
    *,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    rule_features: Sequence[str] | None = None,
    display_points: int | None = DISPLAY_SAMPLE,
    auto_k: bool = False,
    stability: bool = False,
) -> SegmentRun:
    """prepare -> fit_clusters -> diagnose -> profiles and names -> PCA -> Segmentation.

    ``prep`` says which features and how they are transformed, filled and scaled (see
    :func:`segtui.clustering.prepare.prepare`); ``fit`` the algorithm, parameters, seed and
    sample size. ``rule_features`` are the names rule segments may use (default: every column
    but user_id). ``auto_k`` picks k first (``fit``'s k is then ignored; see
    :mod:`segtui.clustering.autok`); ``stability`` measures each segment's stability and the
    over-segmentation flags afterwards (the app does both later, in a worker). Raises
    :class:`segtui.clustering.control.Cancelled` when ``should_stop()`` turns true.
    """
    steps = _Steps(progress, should_stop)
    steps.begin("prepare", "preparing the matrix", 0.0)
    prepared = prepare(users, prep)
    if not users.get_column("user_id").is_sorted():
        users = users.sort("user_id")
    choice, cache = None, None
    if auto_k:
        steps.begin("auto_k", "choosing k", 0.05)
        choice, cache = pick_k(prepared.X, fit, should_stop=should_stop)
        fit = replace(fit, params={**fit.params, "k": choice.k})
    steps.begin("fit", f"fitting {fit.algorithm}", 0.1)
    ids = prepared.user_ids.to_list()
    result = fit_clusters(prepared.X, fit, scaled(progress, 0.1, 0.5), should_stop, ids)
    if prep.weighting == "within-segment":
        steps.begin("weights", "weighting features by the segments", 0.5)
        weighting = scaled(progress, 0.5, 0.6)
        result, prepared = segment_weighted(prepared, fit, result, ids, weighting, should_stop)
        if prepared.params.weighting == "within-segment":
            cache = None  # the k scan's refits are of the unweighted matrix
    steps.begin("diagnostics", "diagnostics", 0.6)
    diagnostics = diagnose_result(prepared.X, result, seed=fit.seed)
    steps.begin("profiles", "profiles and names", 0.75)
    profiles = profile_segments(users, result.labels, prepared.features, None, result.noise_id)
    names = {p.segment_id: p.name for p in profiles}
    steps.begin("projection", "2-D projection", 0.85)
    projection = project_pca(
        prepared.X, seed=fit.seed, max_points=display_points, labels=result.labels
    )
    steps.begin("segmentation", "segments", 0.95)
    allowed = rule_features if rule_features is not None else users.columns[1:]
    segmentation = Segmentation.from_labels(
        prepared.user_ids,
        result.labels,
        names=names,
        noise_id=result.noise_id,
        features=[c for c in allowed if c != "user_id"],
    )
    evidence = None
    if stability or choice is not None:
        steps.begin("stability", "stability under resampling", 0.97)
        evidence = measure_evidence(
            prepared.X,
            result,
            fit,
            names,
            stability=stability,
            cache=cache,
            k_choice=choice,
            should_stop=should_stop,
        )
    steps.finish()
    return SegmentRun(
        users=users,
        prepared=prepared,
        result=result,
        diagnostics=diagnostics,
        profiles=profiles,
        names=names,
        projection=projection,
        segmentation=segmentation,
        seed=fit.seed,
        messages=_run_messages(prepared, result, diagnostics),
        seconds=steps.seconds,
        evidence=evidence,
    )


def segment_weighted(
    prepared: PreparedMatrix,
    fit: FitSpec,
    result: ClusterResult,
    user_ids: Sequence[str],
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> tuple[ClusterResult, PreparedMatrix]:
    """``result`` refitted with within-segment weights, and the matrix they weight.

    Only the K-Means family is refitted (:mod:`segtui.clustering.segment_weights`); any other
    algorithm keeps its fit on the unweighted matrix, and the notes say so.
    """
    if fit.algorithm not in REWEIGHTED_ALGORITHMS:
        note = (
            "within-segment feature weights are made for K-Means and MiniBatch K-Means; "
            f"{algorithm_info(fit.algorithm).label} ran on the unweighted features"
        )
        return result, replace(prepared, messages=[*prepared.messages, note])
    result, how = fit_reweighted(
        prepared.X, fit, result, user_ids=user_ids, progress=progress, should_stop=should_stop
    )
    note = describe(prepared.features, how)
    return result, with_segment_weights(prepared, how.weights, note, how.matrix)


class _Steps:
    """One run's steps: each starts by checking for a stop and reporting progress; each is timed."""

    def __init__(self, progress: Progress | None, should_stop: ShouldStop | None) -> None:
        self.progress, self.should_stop = progress, should_stop
        self.seconds: dict[str, float] = {}
        self._current: str | None = None
        self._clock = time.perf_counter()

    def begin(self, name: str, stage: str, at: float) -> None:
        self._lap()
        _step(self.progress, self.should_stop, stage, at)
        self._current = name

    def finish(self) -> None:
        self._lap()
        if self.progress is not None:
            self.progress("done", 1.0)

    def _lap(self) -> None:
        now = time.perf_counter()
        if self._current is not None:
            self.seconds[self._current] = now - self._clock
        self._current, self._clock = None, now


def _run_messages(
    prepared: PreparedMatrix, result: ClusterResult, diagnostics: Diagnostics
) -> list[str]:
    """What a person should read about the run: preparation, fit and scoring notes."""
    messages = [*prepared.messages, *result.messages, *diagnostics.notes]
    if result.note:
        messages.append(result.note)
    return messages


SWEEP_UNWEIGHTED = (
    "the sweep scores each k on the features before within-segment weights (k is chosen before "
    "them, as -k auto does); a fit at one of these ks is then weighted, so its silhouette and "
    "inertia differ from this table's"
)
"""The note a sweep adds when the fits it stands for are weighted."""


def run_sweep(
    users: pl.DataFrame,
    prep: PrepSpec,
    fit: FitSpec,
    ks: Sequence[int],
    *,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    stability: bool = False,
) -> tuple[SweepResult, list[str]]:
    """prepare -> diagnostics.sweep over ``ks``; returns the sweep and the preparation notes.

    ``stability`` adds each k's stability under resampling and the auto-k pick
    (``result.k_choice``), scored on the stability sample."""
    _step(progress, should_stop, "preparing the matrix", 0.0)
    prepared = prepare(users, prep)
    end = 0.6 if stability else 1.0
    result = sweep(prepared.X, fit, list(ks), scaled(progress, 0.05, end), should_stop)
    if stability and not result.stopped and result.rows:
        choice, _ = choose_k(
            prepared.X,
            fit,
            [r.k for r in result.rows],
            progress=scaled(progress, end, 1.0),
            should_stop=should_stop,
        )
        result.k_choice = choice
    messages = list(prepared.messages)
    if prep.weighting == "within-segment" and fit.algorithm in REWEIGHTED_ALGORITHMS:
        messages.append(SWEEP_UNWEIGHTED)
    return result, messages
