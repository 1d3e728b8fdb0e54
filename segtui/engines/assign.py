"""Labels computed and written by a SQL engine: a saved model's scoring SQL over the raw files.

The model records how its files were read (:class:`~segtui.ingest.reading.ReadPlan`), its
feature declarations and its clustering; :func:`segtui.artifacts.score_sql.scoring_sql` renders
all of it as one ``SELECT`` over ``raw_events``. Here the engine reads the new files as that
relation and writes the labels, ``user_id, segment, segment_id`` (``assign``'s columns and
order), sorted by user. The reading is the model's, not decided again on the new files, so the
files must hold the source columns the model read.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from segtui import sqltext
from segtui.artifacts.model import Model
from segtui.artifacts.score_sql import scoring_sql
from segtui.engines.features import Engine, check_as_of_in, define_events
from segtui.engines.raw_relation import raw_source
from segtui.errors import InputError
from segtui.ingest.sources import SourceInfo, keys_no_record_has, parents_not_objects


def labels_sql(model: Model, dialect: str, as_of: datetime | None = None) -> str:
    """The scoring SQL with ``assign``'s column order."""
    q = lambda name: sqltext.quote(name, dialect)  # noqa: E731
    scored = scoring_sql(model, dialect, "raw_events", raw=True, as_of=as_of)
    columns = ", ".join(q(c) for c in ("user_id", "segment", "segment_id"))
    return f"SELECT {columns} FROM (\n{scored}\n) AS __labels ORDER BY {q('user_id')}"


def write_labels_in(
    engine: Engine,
    model: Model,
    source: SourceInfo,
    output: Path,
    fmt: str = "parquet",
    as_of: datetime | None = None,
    metadata: dict[str, str] | None = None,
) -> int:
    """The labels of every user in the files, written by the engine (``metadata`` in a
    parquet footer); the number of users."""
    if model.kind != "events":
        raise InputError(
            f"the {engine.name} engine labels event files; this model was built from a users table",
            file=model.file,
            hint="Label a users table with --engine polars (the default).",
        )
    if model.read_plan is None:
        scoring_sql(model, engine.dialect)  # raises: the model does not record its reading
    assert model.read_plan is not None
    raw = raw_source(source, model.read_plan)
    have = set(source.columns)
    lacking = [s.name for s in raw.sources if s.name not in have]
    if source.format == "ndjson":
        # a key no record has reads as empty (a batch with no purchases); not so the keys
        # every row needs
        plan = model.read_plan
        core = {s.name for s in (*plan.texts.get("user_id", ()), *plan.ts, *plan.event)}
        absent = keys_no_record_has(source, {name: raw.json_paths[name] for name in lacking})
        lacking = [name for name in lacking if name in core or name not in absent]
    if lacking:
        raise InputError(
            f"these files lack column{'s' if len(lacking) > 1 else ''} the model read: "
            f"{', '.join(lacking)}",
            file=source.files[0],
            details=parents_not_objects(
                source, {name: raw.json_paths.get(name, (name,)) for name in lacking}
            ),
            hint=f"The {engine.name} engine reads files as the model's were read; label files "
            "of another layout with --engine polars, which maps them again.",
        )
    define_events(engine, raw, model.read_plan)
    check_as_of_in(engine, as_of, source.files[0])
    return engine.write(labels_sql(model, engine.dialect, as_of), output, fmt, metadata)
