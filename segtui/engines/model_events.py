"""New event files read for a saved model, as ``assign`` reads them, for an engine to compute on.

Only the loading half of :func:`segtui.artifacts.assign.model_users_with_messages` (the model's
mapping unless the files need another, the columns its features need checked); the features are
then the engine's to compute.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from segtui.artifacts.assign import _lacking_error, _load_options, _needed_columns, _pairs
from segtui.artifacts.model import Model
from segtui.ingest.events import LoadedEvents, LoadOptions, load_events
from segtui.ingest.sources import inspect_source


def model_loaded_events(
    model: Model, paths: Sequence[str | Path], options: LoadOptions | None
) -> tuple[LoadedEvents, list[str]]:
    """The files loaded (lazily: only sniffed) with the model's mapping, and the messages."""
    source = inspect_source(list(paths))
    load, messages = _load_options(model, options, source.columns)
    loaded = load_events(list(paths), load)
    if load.mapping is None and model.mapping is not None and messages:
        messages.append(f"mapping used: {_pairs(loaded.mapping, 12)}")
    have = set(loaded.columns)
    lacking = {col: feats for col, feats in _needed_columns(model).items() if col not in have}
    if lacking:
        raise _lacking_error(lacking, loaded.source.files[0], messages)
    return loaded, messages
