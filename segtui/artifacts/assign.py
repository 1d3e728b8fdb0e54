"""Label new users with a saved model, the way the segmentation that wrote it would.

``assign(model, paths)`` reads new event files with the model's mapping (and session gap),
computes the same feature declarations (as of the new data's own last event, or ``as_of``),
puts users into the same space (``segtui.clustering.prepare.transform_users``), labels them
with the saved clustering state (``segtui.clustering.fit.assign_new``), then the model's
Segmentation relabels them
(:meth:`segtui.segments.segmentation.Segmentation.relabel`, the same replay as everywhere):

* renames and merges: a base segment's users go where the edits sent them;
* splits: users of a split segment go to the nearest part center (the mean of the part's members
  in the prepared space, stored in the model) — the split's own sub-clustering is not re-run;
* rule segments: evaluated on the new users' features, first-added rule wins.

Per algorithm: K-Means, MiniBatch K-Means, agglomerative and BIRCH take the nearest stored center
(BIRCH: subcluster); a Gaussian mixture takes its most likely component. Assigning the training
events with a K-Means or Gaussian-mixture model reproduces the exported labels exactly. DBSCAN and
HDBSCAN use the documented density rule: a new user takes the segment of the nearest stored
(core / sampled) user when within that user's radius (eps, or its core distance), else it is
noise. A users-table model reads a users table with the same columns instead of events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from segtui.artifacts.export import segments_frame
from segtui.artifacts.model import Model, parse_model, read_model
from segtui.clustering.control import ShouldStop
from segtui.clustering.fit import assign_new
from segtui.clustering.prepare import transform_users
from segtui.clustering.state import CentroidState, DensityState
from segtui.errors import InputError
from segtui.features.compile import build_feature_query
from segtui.features.spec import ALWAYS_PRESENT, TIME_PARTS
from segtui.ingest.events import LoadedEvents, LoadOptions, load_events
from segtui.ingest.mapping import ColumnMapping, detect_mapping
from segtui.ingest.sources import (
    SourceInfo,
    inspect_source,
    keys_no_record_has,
    parents_not_objects,
)
from segtui.ingest.strict import check_as_of
from segtui.ingest.users_table import read_users_table


def as_model(model: Model | Mapping[str, Any] | str | Path) -> Model:
    """A checked :class:`Model` from a Model, a model dict, or a path (.model.json/.parquet)."""
    if isinstance(model, Model):
        return model
    if isinstance(model, Mapping):
        return parse_model(dict(model))
    return read_model(model)


def _present(mapping: ColumnMapping, columns: Sequence[str]) -> ColumnMapping:
    """The mapping without sources the new files lack: their features are then named below."""
    have = set(columns)
    cols = {c: s for c, s in mapping.columns.items() if s in have}
    fallbacks = {
        c: [s for s in srcs if s in have] for c, srcs in mapping.fallbacks.items() if c in cols
    }
    how = {c: h for c, h in mapping.how.items() if c in cols}
    return replace(mapping, columns=cols, fallbacks=fallbacks, how=how)


def _pairs(mapping: ColumnMapping, limit: int = 4) -> str:
    pairs = [f"{c}={s}" for c, s in mapping.columns.items()]
    return ", ".join(pairs[:limit]) + (", ..." if len(pairs) > limit else "")


def model_read_options(
    model: Model, given: LoadOptions | None, source: SourceInfo
) -> tuple[LoadOptions, list[str]]:
    """The caller's options; the model's mapping unless they name one; the model's session gap.

    When the model's mapping names a user_id, ts or event column the new files lack, the files
    have another layout: the mapping is detected again on them, and the messages say so. Other
    columns NDJSON files lack are keys no record has (a batch with no purchases): they read as
    empty. Other columns tables lack are left out of the mapping, and the features that need
    them are named.
    """
    columns = source.columns
    options = given or LoadOptions()
    messages: list[str] = []
    own_mapping = (
        options.mapping is not None
        or options.mapping_file is not None
        or bool(options.overrides)
        or options.layout is not None
    )
    if given is None and model.session_gap_minutes is not None:
        options = replace(options, session_gap_minutes=model.session_gap_minutes)
    if own_mapping or model.mapping is None:
        return options, messages
    saved = model.mapping
    have = set(columns)
    lacking = [s for s in saved.used_columns() if s not in have]
    if not lacking:
        return replace(options, mapping=saved), messages
    core = [c for c in ("user_id", "ts", "event") if c in saved.columns]
    same_layout = all(saved.columns[c] in have for c in core)
    paths = model.read_plan.json_paths if model.read_plan is not None else {}
    absent = keys_no_record_has(source, {name: paths.get(name, (name,)) for name in lacking})
    if same_layout and len(absent) == len(lacking):
        return replace(options, mapping=saved, absent_keys=absent), messages
    if same_layout:
        messages.append(
            f"these files lack column{'s' if len(lacking) > 1 else ''} the model's mapping "
            f"names: {', '.join(lacking)}; read without them"
        )
        unread = {name: paths.get(name, (name,)) for name in lacking if name not in absent}
        messages += parents_not_objects(source, unread)
        return replace(options, mapping=_present(saved, columns)), messages
    detected = detect_mapping(list(columns))
    theirs = (
        f"look like {detected.layout}"
        if detected.layout != saved.layout
        else "name the columns differently"
    )
    messages.append(
        f"the model was built on layout {saved.layout} ({_pairs(saved)}); these files {theirs} "
        f"(they have no {', '.join(repr(s) for s in lacking[:4])}"
        f"{', ...' if len(lacking) > 4 else ''}), so the mapping was detected again on them"
    )
    return options, messages


def _needed_columns(model: Model) -> dict[str, list[str]]:
    """Canonical column -> the model's features that read it (directly or through the features
    they are computed from), in the model's feature order."""
    by_name = {spec.name: spec for spec in model.specs or []}

    def reads(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        spec = by_name.get(name)
        if spec is None or name in seen:
            return set()
        cols = set(spec.requires) | spec.agg.columns()
        for ref in spec.agg.references():
            cols |= reads(ref, seen | {name})
        return cols - set(TIME_PARTS) - set(ALWAYS_PRESENT)

    needed: dict[str, list[str]] = {}
    for name in model.columns:
        for col in sorted(reads(name)):
            needed.setdefault(col, []).append(name)
    return needed


def _lacking_error(
    lacking: dict[str, list[str]], loaded_file: Path, messages: list[str]
) -> InputError:
    details = []
    for col, feats in lacking.items():
        shown = ", ".join(feats[:6]) + (f" and {len(feats) - 6} more" if len(feats) > 6 else "")
        line = f"'{col}' is needed by the model's feature{'s' if len(feats) > 1 else ''} {shown}"
        if col == "revenue":
            line += " (it comes from a revenue column, or price x quantity)"
        details.append(line)
    details += [m for m in messages if not m.startswith("mapping used")]
    return InputError(
        f"the new data lacks column{'s' if len(lacking) > 1 else ''} the model's features "
        f"need: {', '.join(lacking)}",
        file=loaded_file,
        details=details,
        hint="Map the column (--map canonical=source) or use data with the same columns the "
        "model was built from.",
    )


def model_loaded_events(
    model: Model, paths: Sequence[str | Path], load_options: LoadOptions | None = None
) -> tuple[LoadedEvents, list[str]]:
    """Event files loaded (lazily: only sniffed) the way the model reads them, and what was
    decided on the way; an InputError when they lack a column the model's features need."""
    source = inspect_source(list(paths))
    options, messages = model_read_options(model, load_options, source)
    try:
        loaded = load_events(list(paths), options)
    except InputError as error:  # say why the mapping was detected again, not only what failed
        raise replace(error, details=[*messages, *error.details]) from None
    if options.mapping is None and model.mapping is not None and messages:
        messages.append(f"mapping used: {_pairs(loaded.mapping, 12)}")
    have = set(loaded.columns)
    lacking = {col: feats for col, feats in _needed_columns(model).items() if col not in have}
    if lacking:
        raise _lacking_error(lacking, loaded.source.files[0], messages)
    return loaded, messages


def model_users_with_messages(
    model: Model,
    paths: Sequence[str | Path],
    as_of: datetime | None = None,
    load_options: LoadOptions | None = None,
) -> tuple[pl.DataFrame, list[str]]:
    """The users table the model needs for new data (its columns, one row per user, sorted),
    and what was decided on the way (a mapping detected again)."""
    if not paths:
        raise InputError("no input files given")
    if model.kind == "users_table":
        source = inspect_source(list(paths))
        overrides = dict(load_options.overrides) if load_options is not None else {}
        if "user_id" not in overrides and model.id_column in source.columns:
            overrides["user_id"] = model.id_column
        table = read_users_table(source, overrides, needed=model.columns)
        return table.users.select("user_id", *model.columns), []
    loaded, messages = model_loaded_events(model, paths, load_options)
    query = build_feature_query(loaded.events, model.specs or [], as_of)
    users, report = loaded.collect_with_report(query)
    check_as_of(report, as_of, loaded.source.files[0])
    return users.select("user_id", *model.columns).sort("user_id"), messages


def _noise_remap(model: Model, base: np.ndarray) -> tuple[np.ndarray, int | None]:
    """Base labels and the noise id. Density models reserve an id for noise even when no
    training user was noise; if an edit reused that id, new noise moves past every id."""
    if not isinstance(model.state, DensityState):
        return base, model.segmentation.noise_id
    noise = model.state.noise_id
    saved = model.segmentation
    if noise in model.base_names or noise not in saved.created_ids:
        return base, noise
    fresh = max(saved.next_id, noise + 1)
    return np.where(base == noise, fresh, base), fresh


def split_placer(model: Model, X: np.ndarray) -> Callable[[int, np.ndarray], np.ndarray]:
    """Where the users (rows of ``X``) of a split segment go: the nearest part center."""

    def nearest_part(index: int, mask: np.ndarray) -> np.ndarray:
        split = model.splits[index]
        state = CentroidState(split.centers, np.asarray(split.ids, dtype=np.int64))
        return assign_new(state, X[mask])

    return nearest_part


def relabel_new_users(
    model: Model, base: np.ndarray, X: np.ndarray, users: pl.DataFrame
) -> tuple[np.ndarray, dict[int, str]]:
    """The model's Segmentation relabels the new users: final labels and names.

    Users of a split segment go to the nearest of its parts' centers (see the module docstring).
    """
    saved = model.segmentation
    return saved.relabel(base, users, split_placer(model, X)), saved.names


def assign_users(
    model: Model | Mapping[str, Any] | str | Path,
    users: pl.DataFrame,
    should_stop: ShouldStop | None = None,
) -> pl.DataFrame:
    """Label a users table (the model's columns, one row per user): user_id, segment, segment_id.

    Rows come back sorted by user_id.
    """
    m = as_model(model)
    if "user_id" not in users.columns:
        raise InputError("the users table has no 'user_id' column", column="user_id")
    missing = [c for c in m.columns if c not in users.columns]
    if missing:
        raise InputError(
            f"the users table lacks column{'s' if len(missing) > 1 else ''} the model needs: "
            f"{', '.join(missing)}",
            hint="Compute the same features the model was built with.",
        )
    if not users.get_column("user_id").is_sorted():
        users = users.sort("user_id")
    if users.height == 0:
        return pl.DataFrame(schema={"user_id": pl.Utf8, "segment": pl.Utf8, "segment_id": pl.Int32})
    labels, names, noise, _ = label_users(m, users, should_stop)
    return segments_frame(users, labels, names, [], None, noise)


def label_users(
    model: Model, users: pl.DataFrame, should_stop: ShouldStop | None = None
) -> tuple[np.ndarray, dict[int, str], int | None, np.ndarray]:
    """Final labels of a users table (rows in its order), the names, the noise id and the users
    in the model's prepared space: what ``assign`` and ``watch`` both label with."""
    X = transform_users(model.prepare, users)
    base, noise = _noise_remap(model, assign_new(model.state, X, should_stop))
    labels, names = relabel_new_users(model, base, X, users)
    return labels, names, noise, X


def assign(
    model: Model | Mapping[str, Any] | str | Path,
    paths: Sequence[str | Path],
    as_of: datetime | None = None,
    load_options: LoadOptions | None = None,
    should_stop: ShouldStop | None = None,
) -> pl.DataFrame:
    """Label the users in new event files (or a users table) with a saved model.

    Returns user_id (Utf8), segment (name, Utf8), segment_id (Int32), sorted by user_id.
    """
    return assign_with_messages(model, paths, as_of, load_options, should_stop)[0]


def assign_with_messages(
    model: Model | Mapping[str, Any] | str | Path,
    paths: Sequence[str | Path],
    as_of: datetime | None = None,
    load_options: LoadOptions | None = None,
    should_stop: ShouldStop | None = None,
) -> tuple[pl.DataFrame, list[str]]:
    """:func:`assign` and the messages a person should read (the mapping detected again when
    the new files have another layout than the model's)."""
    m = as_model(model)
    users, messages = model_users_with_messages(m, paths, as_of, load_options)
    return assign_users(m, users, should_stop), messages
