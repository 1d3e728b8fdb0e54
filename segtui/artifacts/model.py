"""The model JSON: everything needed to label new users the way a segmentation did. Never pickle.

A model holds, as plain data (``SCHEMA_VERSION`` 2):

* ``source``: events or a users table (its id column), the session gap, the ``as_of`` used;
* ``features``: the clustering features in matrix order, the table columns assigning needs
  (clustering features plus those rule segments read), and for events the feature declarations
  (:class:`segtui.features.spec.FeatureSpec` as data, resolved: a fallback chosen at fit time
  is kept, so new data computes the very same thing);
* ``mapping``: the column mapping (``ColumnMapping.to_dict()``) new event files are read with;
* ``prepare``: transforms, fills and scaling (``PrepareParams.to_dict()``): per feature the
  transform, how a missing value is filled (``fill``: median, zero, max or min, and the value it
  gave, ``impute``, which is what assigning applies), center and scale. Files written before
  fills existed have no ``fill`` key; they were filled with the median and read as such, so
  schema version 1 still covers them;
* ``cluster``: algorithm, parameters, seed, and the state ``clustering.fit.assign_new`` reads;
* ``segmentation``: the Segmentation's names and edits (renames, merges, splits, rules), without
  the per-user base labels, plus ``splits``: for each split the centers of its parts in the
  prepared space (new users in a split segment go to the nearest part's center);
* ``segments``: the final segments, every one of the segmentation, a segment no user is in (a
  rule that matches nobody yet, which new users may match) with ``size`` 0 (id, name, kind,
  rule, size; optional ``description``: the segment
  as a rule of at most three conditions with its SQL, precision and coverage, see
  :mod:`segtui.segments.describe`; and ``claims``: what a generated name says, each
  ``{feature, direction, value, overall}``; both absent in older files, which still read),
  ``projection``: PCA axes for pc1/pc2,
  ``fingerprint``: rows, users, time span, a hash of the sorted user ids and feature means;
* ``segtui_version``, ``created`` (UTC), ``schema_version``;
* optional ``stability`` (absent in older files and with ``--no-stability``): how stability was
  measured (``method`` clusterboot, ``fits`` B, ``sample_users`` S, seed, class thresholds) and
  ``k_choice`` (the auto-k pick, why, near-ties, every k's scores; null when k was forced); each
  segment then carries ``stability`` (mean Jaccard, null if not a segment as clustered),
  ``stability_class`` and ``flags`` (over-segmentation reasons);
* optional ``reading`` (models from events; absent in older files): how the training files'
  raw rows were read (:func:`segtui.ingest.reading.read_plan_to_dict`: sources and their types,
  timestamp formats or epoch unit, decimal mark, aliases, refunds, revenue, session gap), which
  the scoring SQL applies to a relation of raw rows.

:func:`read_model` / :func:`parse_model` check every key: a damaged or hand-edited file is an
:class:`InputError` naming the key, and a file from a newer schema is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from segtui import __version__
from segtui.artifacts.fitted import FittedSegmentation, Provenance
from segtui.artifacts.parquet_meta import read_segments_metadata
from segtui.clustering.fit import ClusterResult
from segtui.clustering.prepare import PrepareParams
from segtui.clustering.projection import Projection
from segtui.clustering.registry import ALGORITHMS
from segtui.clustering.state import ClusterState, cluster_state_from_dict
from segtui.errors import InputError
from segtui.features.spec import FeatureSpec
from segtui.features.tables import spec_from_dict
from segtui.features.tables import spec_to_dict as catalog_spec_to_dict
from segtui.fields import MODEL_HINT, Fields, loads_json
from segtui.fileio import read_text_file
from segtui.ingest.mapping import ColumnMapping
from segtui.ingest.reading import ReadPlan, read_plan_from_dict, read_plan_to_dict
from segtui.ingest.report import LoadReport
from segtui.segments.describe import RuleDescription, describe_segments
from segtui.segments.edits import AddRule, Edit, EditDataError, Split, edit_from_dict
from segtui.segments.names import Claim
from segtui.segments.profiles import profile_segments
from segtui.segments.rules import parse_rule
from segtui.segments.segmentation import Segmentation

SCHEMA_VERSION = 2
"""Bumped when the meaning of the file changes; a newer file is refused, never misread.
2: ``prepare.weighting`` may be ``within-segment`` (weights learned from the segments, per
feature ``weight``); version 1 files read as before."""

FORMAT = "segtui.model"
MODEL_SUFFIX = ".model.json"
FOLDER_MODEL_NAME = "_segtui" + MODEL_SUFFIX
"""The model inside a folder of parquet parts (a Spark engine's segments): readers of the folder
as parquet (Spark, DuckDB, polars, Hive) skip names that start with ``_``."""


# --------------------------------------------------------------------------------------------
# Feature declarations as data


def spec_to_dict(spec: FeatureSpec) -> dict[str, Any]:
    """A resolved declaration in the table form ``segtui.features.tables.spec_from_dict`` reads.

    The fallback is not written: the model keeps the aggregation that was actually computed.
    """
    return catalog_spec_to_dict(replace(spec, fallback=None))


def needed_specs(specs: Sequence[FeatureSpec], names: Sequence[str]) -> list[FeatureSpec]:
    """The specs for ``names`` plus every feature they use as operands (transitively)."""
    by_name = {spec.name: spec for spec in specs}
    out: dict[str, FeatureSpec] = {}

    def add(name: str) -> None:
        if name in out:
            return
        spec = by_name.get(name)
        if spec is None:
            from segtui.features.catalog import CATALOG_BY_NAME

            spec = CATALOG_BY_NAME.get(name)
        if spec is None:
            raise InputError(f"no declaration for feature '{name}'")
        out[name] = spec
        for ref in sorted(spec.agg.references()):
            add(ref)

    for name in names:
        add(name)
    return list(out.values())


# --------------------------------------------------------------------------------------------
# Building


def fingerprint(
    users: pl.DataFrame, features: Sequence[str], report: LoadReport | None = None
) -> dict[str, Any]:
    """What the model was fitted on, cheaply: sizes, time span, id hash, feature means."""
    ids = users.get_column("user_id").cast(pl.Utf8).sort()
    digest = hashlib.sha256()
    # one joined string built by polars, not a Python list of every id
    digest.update(ids.fill_null("").str.join("\n").item().encode("utf-8"))
    means = users.select([pl.col(f).cast(pl.Float64).mean().alias(f) for f in features]).row(
        0, named=True
    )
    return {
        "rows": report.rows_kept if report is not None else users.height,
        "users": users.height,
        "first_ts": report.first_ts.isoformat() if report and report.first_ts else None,
        "last_ts": report.last_ts.isoformat() if report and report.last_ts else None,
        "user_ids_sha256": digest.hexdigest(),
        "feature_means": {
            k: (None if v is None or not np.isfinite(v) else float(v)) for k, v in means.items()
        },
    }


def rule_features(segmentation: Segmentation) -> list[str]:
    """Features the segmentation's rule segments read (in the order first used)."""
    names: dict[str, None] = {}
    for edit in segmentation.edits:
        if isinstance(edit, AddRule):
            for name in parse_rule(edit.rule).features_used:
                names.setdefault(name, None)
    return list(names)


def _split_centers(segmentation: Segmentation, X: np.ndarray) -> list[dict[str, Any]]:
    """For every split edit, the mean (prepared space) of each part's members."""
    out: list[dict[str, Any]] = []
    for split in segmentation.split_labels():
        ids = split.edit.part_ids
        centers = [X[split.cluster_labels == sid].mean(axis=0).tolist() for sid in ids]
        out.append(
            {
                "edit": split.index,
                "segment_id": split.edit.segment_id,
                "ids": ids,
                "centers": centers,
            }
        )
    return out


def _segments_section(
    fitted: FittedSegmentation, labels: np.ndarray | None
) -> list[dict[str, Any]]:
    """Every final segment: id, name, kind, what it came from, its rule, its size, the claims
    its name is built from, and (optional on read) ``description``: the segment as a rule."""
    segmentation, users = fitted.segmentation, fitted.users
    final = labels if labels is not None else segmentation.labels(users)
    sizes = dict(zip(*np.unique(final, return_counts=True), strict=True))
    claims = _claims(fitted, final)
    described = describe_segments(
        users,
        final,
        fitted.prepared.features,
        noise_id=segmentation.noise_id,
        seed=int(fitted.result.seed),
    )
    out = []
    for info in segmentation.segments(users if segmentation.has_rules else None):
        entry: dict[str, Any] = {
            "id": info.id,
            "name": info.name,
            "kind": info.kind,
            "source_ids": list(info.source_ids),
            "rule": info.rule,
            "size": int(sizes.get(info.id, 0)),
            "claims": [c.to_dict() for c in claims.get(info.id, ())],
        }
        if info.id in described:
            entry["description"] = described[info.id].to_dict()
        out.append(entry)
    if fitted.evidence is not None:
        for item in out:
            item.update(_segment_evidence(fitted.evidence, item))
    return out


def _claims(fitted: FittedSegmentation, final: np.ndarray) -> dict[int, tuple[Claim, ...]]:
    """The claims of each segment's name, from its profile over the fitted users (see
    :func:`segtui.segments.names.name_segments`: a person's name claims nothing)."""
    segmentation = fitted.segmentation
    if fitted.users.height != len(final):
        return {}
    profiles = profile_segments(
        fitted.users,
        final,
        list(fitted.prepared.features),
        segmentation.names,
        segmentation.noise_id,
    )
    return {p.segment_id: p.claims for p in profiles}


def _segment_evidence(evidence: Mapping[str, Any], segment: Mapping[str, Any]) -> dict[str, Any]:
    """A segment's optional ``stability`` (mean Jaccard or null), ``stability_class`` and
    ``flags`` (over-segmentation reasons): only a segment as clustered has them."""
    key = str(segment["id"])
    stability = evidence.get("stability") or {}
    found = (stability.get("segments") or {}).get(key) if segment["kind"] == "cluster" else None
    flags = (evidence.get("flags") or {}).get(key, []) if segment["kind"] == "cluster" else []
    return {
        "stability": None if found is None else found["jaccard"],
        "stability_class": "" if found is None else found["class"],
        "flags": list(flags),
    }


def _stability_section(evidence: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The top-level ``stability`` key: how it was measured (method, fits B, sample S) and the
    auto-k evidence; None when stability was not measured (``--no-stability``)."""
    if evidence is None or ("stability" not in evidence and "k_choice" not in evidence):
        return None
    section = dict(evidence.get("stability") or {"method": None})
    section.pop("segments", None)
    section["k_choice"] = evidence.get("k_choice")
    return section


def _cluster_section(result: ClusterResult) -> dict[str, Any]:
    return {
        "algorithm": result.algorithm,
        "params": dict(result.params),
        "seed": int(result.seed),
        "n_segments": int(result.n_segments),
        "noise_id": result.noise_id,
        "sampled": bool(result.sampled),
        "sample_size": result.sample_size,
        "extension": result.extension,
        "note": result.note,
        "state": result.state.to_dict(),
    }


def _source_section(provenance: Provenance) -> dict[str, Any]:
    as_of = provenance.as_of
    return {
        "kind": "events" if provenance.specs is not None else "users_table",
        "id_column": provenance.id_column,
        "session_gap_minutes": provenance.session_gap_minutes,
        "as_of": as_of.isoformat() if as_of is not None else None,
    }


def build_model(
    fitted: FittedSegmentation,
    provenance: Provenance,
    *,
    labels: np.ndarray | None = None,
    created: datetime | None = None,
) -> dict[str, Any]:
    """The model as a JSON-ready dict (see the module docstring for its keys).

    ``labels`` are the final labels when the caller has them (sizes in ``segments``).
    """
    prepared, segmentation = fitted.prepared, fitted.segmentation
    if len(segmentation.user_ids) != prepared.X.shape[0]:
        raise InputError("the segmentation and the prepared matrix hold different users")
    kept = list(prepared.features)
    columns = list(dict.fromkeys([*kept, *rule_features(segmentation)]))
    specs, mapping = provenance.specs, provenance.mapping
    spec_dicts = None if specs is None else [spec_to_dict(s) for s in needed_specs(specs, columns)]
    moment = created or datetime.now(UTC)
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "segtui_version": __version__,
        "created": moment.astimezone(UTC).isoformat(timespec="seconds"),
        "source": _source_section(provenance),
        "features": {"names": kept, "columns": columns, "specs": spec_dicts},
        "mapping": mapping.to_dict() if mapping is not None else None,
        "prepare": prepared.params.to_dict(),
        "cluster": _cluster_section(fitted.result),
        "segmentation": segmentation.to_saved(for_model=True),
        "splits": _split_centers(segmentation, prepared.X),
        "segments": _segments_section(fitted, labels),
        "projection": fitted.projection.to_dict(),
        "fingerprint": fingerprint(fitted.users, columns, provenance.report),
        **_optional("stability", _stability_section(fitted.evidence)),
        **_optional(
            "reading",
            None if provenance.read_plan is None else read_plan_to_dict(provenance.read_plan),
        ),
    }


def _optional(key: str, value: Any) -> dict[str, Any]:
    """``{key: value}``, or nothing when value is None (old readers never see the key)."""
    return {} if value is None else {key: value}


def model_to_json(model: Mapping[str, Any]) -> str:
    """Compact, stable JSON (keys in the order built; NaN is refused, never written)."""
    try:
        return json.dumps(model, allow_nan=False, separators=(",", ":"))
    except ValueError as error:
        raise InputError(f"the model holds a value JSON cannot store ({error})") from None


def default_model_path(parquet_path: str | Path) -> Path:
    """``segments.parquet`` -> ``segments.model.json`` beside it."""
    path = Path(parquet_path)
    return path.with_name(path.stem + MODEL_SUFFIX)


# --------------------------------------------------------------------------------------------
# Reading and checking


@dataclass(frozen=True)
class SplitCenters:
    """A split segment's parts: new users in ``segment_id`` go to the nearest part center."""

    edit: int
    segment_id: int
    ids: tuple[int, ...]
    centers: np.ndarray


@dataclass(frozen=True, eq=False)
class Model:
    """A checked model: the raw dict plus its parts parsed into the core's types."""

    data: dict[str, Any]
    kind: str
    id_column: str | None
    session_gap_minutes: float | None
    features: list[str]
    columns: list[str]
    specs: list[FeatureSpec] | None
    mapping: ColumnMapping | None
    prepare: PrepareParams
    algorithm: str
    state: ClusterState
    base_names: dict[int, str]
    segmentation: Segmentation
    """The saved Segmentation: names and edits, replayed and checked, without users."""
    splits: dict[int, SplitCenters] = field(default_factory=dict)
    file: str | None = None
    read_plan: ReadPlan | None = None
    """How the training files' raw rows were read; None for a users table and older models."""

    @property
    def fills(self) -> dict[str, str]:
        """How each clustering feature's missing values are filled (``median`` in old files)."""
        return {f.name: f.fill for f in self.prepare.features}

    @property
    def segment_names(self) -> dict[int, str]:
        """Final segment names by id."""
        return {int(s["id"]): str(s["name"]) for s in self.data["segments"]}

    @property
    def descriptions(self) -> dict[int, RuleDescription]:
        """Each segment as a rule, by id (empty for models written before descriptions)."""
        return segment_descriptions(self.data)

    @property
    def segment_claims(self) -> dict[int, tuple[Claim, ...]]:
        """What each segment's name claims (empty for names without claims and old files)."""
        return {
            int(s["id"]): tuple(Claim.from_dict(c) for c in s.get("claims", ()))
            for s in self.data["segments"]
        }


def segment_descriptions(data: Mapping[str, Any]) -> dict[int, RuleDescription]:
    """The ``description`` of each segment of a model dict, by id (absent in older models)."""
    return {
        int(s["id"]): RuleDescription.from_dict(int(s["id"]), s["description"])
        for s in data.get("segments", [])
        if isinstance(s, dict) and isinstance(s.get("description"), dict)
    }


def _read_header(data: Any, file: str | Path | None) -> Fields:
    """The format marker and schema version: not a model, or a newer one, is refused first."""
    if not isinstance(data, dict):
        raise InputError("a model file must hold a JSON object", file=file, hint=MODEL_HINT)
    if data.get("format") != FORMAT:
        raise InputError(
            'not a segtui model (no "format": "segtui.model")',
            file=file,
            hint="Pass a .model.json or a segments.parquet written by `segtui segment`.",
        )
    top = Fields(data, file, "")
    version = top.get("schema_version", int)
    if version > SCHEMA_VERSION:
        raise InputError(
            f"the model was written by a newer segtui (schema version {version}; this segtui "
            f"{__version__} reads up to {SCHEMA_VERSION})",
            file=file,
            hint="Upgrade segtui (pip install -U segtui) to use this model.",
        )
    if version < 1:
        raise top.error("schema_version", f"is {version}, not a known version")
    return top


@dataclass(frozen=True)
class _Source:
    kind: str
    id_column: str | None
    session_gap_minutes: float | None


def _read_source(top: Fields) -> _Source:
    source = top.section("source")
    kind = source.get("kind", str)
    if kind not in ("events", "users_table"):
        raise source.error("kind", f"is {kind!r}, not 'events' or 'users_table'")
    id_column = source.get("id_column", (str, type(None)))
    gap = source.get("session_gap_minutes", (int, float, type(None)))
    return _Source(kind, id_column, None if gap is None else float(gap))


@dataclass(frozen=True)
class _Features:
    names: list[str]
    columns: list[str]
    specs: list[FeatureSpec] | None


def _read_features(top: Fields, kind: str) -> _Features:
    """Feature names, the columns read, and for events the declarations (by their own parser)."""
    feats = top.section("features")
    names = feats.names("names")
    columns = feats.names("columns")
    spec_data = feats.get("specs", (list, type(None)))
    if kind != "events":
        return _Features(names, columns, None)
    if spec_data is None:
        raise feats.error("specs", "is missing (a model built from events needs them)")
    known = [s["name"] for s in spec_data if isinstance(s, dict) and isinstance(s.get("name"), str)]
    specs = []
    for item in feats.items("specs"):
        try:
            specs.append(spec_from_dict(item.data, known))
        except (ValueError, TypeError) as error:
            raise InputError(
                f"model key '{item.where}' is not a valid feature ({error})",
                file=top.file,
                hint=MODEL_HINT,
            ) from None
    declared = {s.name for s in specs}
    undeclared = [c for c in columns if c not in declared]
    if undeclared:
        raise feats.error("specs", f"has no declaration for {', '.join(undeclared)}")
    return _Features(names, columns, specs)


def _read_mapping(top: Fields, kind: str) -> ColumnMapping | None:
    data = top.get("mapping", (dict, type(None)))
    if data is None:
        if kind == "events":
            raise top.error("mapping", "is missing (a model built from events needs it)")
        return None
    try:
        return ColumnMapping.from_dict(data, file=top.file)
    except InputError as error:
        raise top.error("mapping", f"is not valid ({error.message})") from None


def _read_prepare(top: Fields, names: list[str]) -> PrepareParams:
    try:
        params = PrepareParams.from_dict(top.get("prepare", dict))
    except InputError as error:
        raise top.error("prepare", f"is not valid ({error.message})") from None
    if params.names != names:
        raise top.error("prepare.features", "do not match features.names")
    if len(names) < 2:
        raise top.error("features.names", "must name at least two features")
    return params


def _read_cluster(top: Fields, width: int) -> tuple[str, ClusterState]:
    cluster = top.section("cluster")
    algorithm = cluster.get("algorithm", str)
    if algorithm not in ALGORITHMS:
        raise cluster.error("algorithm", f"is {algorithm!r}, not a known algorithm")
    cluster.get("params", dict)
    cluster.get("seed", int)
    state = cluster_state_from_dict(cluster.get("state", dict), file=top.file, n_features=width)
    return algorithm, state


def _read_segmentation(top: Fields) -> Segmentation:
    """The saved names and edits as a Segmentation without users, its log replayed: each edit
    read by the Segmentation's own parser, a log that does not replay refused."""
    seg = top.section("segmentation")
    base_names: list[tuple[int, str]] = []
    for i, pair in enumerate(seg.get("names", list)):
        if not (
            isinstance(pair, list)
            and len(pair) == 2
            and isinstance(pair[0], int)
            and isinstance(pair[1], str)
        ):
            raise seg.error(f"names[{i}]", "must be an [id, name] pair")
        base_names.append((pair[0], pair[1]))
    noise_id = seg.get("noise_id", (int, type(None)))
    features = seg.data.get("features", [])
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise seg.error("features", "must be a list of feature names")
    edits = []
    for i, edit in enumerate(seg.get("edits", list)):
        try:
            edits.append(edit_from_dict(edit))
        except EditDataError as error:
            raise seg.error(f"edits[{i}].{error.key}", error.what) from None
    saved = Segmentation((), (), tuple(base_names), noise_id, tuple(features), tuple(edits))
    try:
        saved.names  # noqa: B018 - replays the log
    except InputError as error:
        raise seg.error("edits", f"do not replay: {error.message}") from None
    return saved


def _read_splits(top: Fields, edits: Sequence[Edit], width: int) -> dict[int, SplitCenters]:
    """The part centers of every split edit (new users of a split segment go to the nearest)."""
    splits: dict[int, SplitCenters] = {}
    for item in top.items("splits"):
        index = item.get("edit", int)
        ids = item.ints("ids")
        centers = item.matrix("centers", width)
        if len(centers) != len(ids) or len(ids) < 2:
            raise item.error("centers", f"has {len(centers)} centers for {len(ids)} parts")
        if not (0 <= index < len(edits)) or not isinstance(edits[index], Split):
            raise item.error("edit", "does not point at a split edit")
        splits[index] = SplitCenters(index, item.get("segment_id", int), tuple(ids), centers)
    missing = [i for i, e in enumerate(edits) if isinstance(e, Split) and i not in splits]
    if missing:
        raise top.error("splits", f"has no centers for the split edit #{missing[0]}")
    return splits


def _read_claims(item: Fields) -> None:
    """A segment's optional ``claims``: a list of {feature, direction, value, overall}."""
    if "claims" not in item.data:
        return  # written before claims existed
    for i, claim in enumerate(item.get("claims", list)):
        try:
            Claim.from_dict(claim if isinstance(claim, dict) else {})
        except ValueError as error:
            raise item.error(f"claims[{i}]", f"is not a claim ({error})") from None


def _read_segment_evidence(item: Fields) -> None:
    """The optional per-segment ``stability`` (0..1 or null) and ``flags`` (texts)."""
    value = item.data.get("stability")
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1
    ):
        raise item.error("stability", "must be a number from 0 to 1, or null")
    flags = item.data.get("flags", [])
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise item.error("flags", "must be a list of texts")


def parse_model(data: Any, file: str | Path | None = None) -> Model:
    """Check a model dict section by section; any problem is an InputError naming the key.

    Each section is read by its owner: the mapping by ColumnMapping, the declarations by the
    feature tables, the preparation by PrepareParams, the cluster state by its fitter family,
    the edits by the Segmentation, the projection by Projection.
    """
    top = _read_header(data, file)
    source = _read_source(top)
    features = _read_features(top, source.kind)
    mapping = _read_mapping(top, source.kind)
    params = _read_prepare(top, features.names)
    width = len(features.names)
    algorithm, state = _read_cluster(top, width)
    segmentation = _read_segmentation(top)
    splits = _read_splits(top, segmentation.edits, width)
    for item in top.items("segments"):
        item.get("id", int)
        item.get("name", str)
        if item.data.get("description") is not None:
            try:
                RuleDescription.from_dict(0, item.get("description", dict))
            except InputError as error:
                raise item.error("description", f"is not valid ({error.message})") from None
        _read_claims(item)
        _read_segment_evidence(item)
    if "stability" in top.data and top.data["stability"] is not None:
        top.get("stability", dict)
    Projection.params_from_dict(top.get("projection", dict), width, file)
    reading = top.data.get("reading")
    read_plan = None if reading is None else read_plan_from_dict(reading, file)
    return Model(
        data=data,
        kind=source.kind,
        id_column=source.id_column,
        session_gap_minutes=source.session_gap_minutes,
        features=list(features.names),
        columns=list(features.columns),
        specs=features.specs,
        mapping=mapping,
        prepare=params,
        algorithm=algorithm,
        state=state,
        base_names=dict(segmentation.base_names),
        segmentation=segmentation,
        splits=splits,
        file=None if file is None else str(file),
        read_plan=read_plan,
    )


def read_model(path: str | Path) -> Model:
    """Read and check a model: a ``.model.json``, a segments.parquet carrying one, or a folder
    of segments parts holding one (:data:`FOLDER_MODEL_NAME`)."""
    path = Path(path)
    if path.is_dir():
        if not (path / FOLDER_MODEL_NAME).is_file():
            raise InputError(
                f"the model file is a folder, not a file, and holds no {FOLDER_MODEL_NAME} "
                "(the model segment --engine spark writes into its folder of parts)",
                file=path,
                hint="Give the .model.json segtui segment wrote, or its segments parquet.",
            )
        path = path / FOLDER_MODEL_NAME
    if path.suffix.lower() in (".parquet", ".pq"):
        return parse_model(read_segments_metadata(path), file=path)
    text = read_text_file(path, "model file", hint=MODEL_HINT)
    try:
        data = loads_json(text, path)
    except json.JSONDecodeError as error:
        raise InputError(
            f"the model file is not valid JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg})",
            file=path,
            hint=MODEL_HINT,
        ) from None
    return parse_model(data, file=path)
