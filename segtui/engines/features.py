"""Features computed and written by a SQL engine, from the raw files to the output file.

The steps are the polars path's, each rendered as SQL the engine runs: the raw files as the
``raw_events`` relation (:mod:`segtui.engines.raw_relation`), the load's reading decisions as the
``events`` relation (:func:`segtui.ingest.read_sql.read_sql`, or, when the loading report is
counted too, the kept rows of one table of every row checked, so the files are read and parsed
once: :func:`segtui.ingest.read_sql.checked_sql`), the statistics the generated features
are chosen from (one small ``GROUP BY`` per statistic, the only rows that come back to Python),
and the feature plan as one ``SELECT`` (:func:`segtui.features.sql.plan_sql`) written by the
engine. Nothing here computes a feature value.

Any object with :class:`Engine`'s methods runs it (:class:`~segtui.engines.duckdb_engine.
DuckDBEngine`, :class:`~segtui.engines.spark_engine.SparkEngine`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import polars as pl

from segtui import sqltext
from segtui.engines.raw_relation import RawSource
from segtui.errors import InputError
from segtui.features.catalog import CATALOG
from segtui.features.generated import generated_specs, stats_from_frames
from segtui.features.plan import plan_features
from segtui.features.selection import available_features, select_features
from segtui.features.spec import FeatureSpec
from segtui.features.sql import plan_sql
from segtui.ingest.read_sql import checked_sql, kept_events_sql, read_sql, report_counts_sql
from segtui.ingest.reading import ReadPlan
from segtui.ingest.report import LoadReport, ReportPlan, report_from_counts
from segtui.ingest.strict import check_as_of

ENGINES: tuple[str, ...] = ("polars", "duckdb", "spark")
SQL_ENGINES: tuple[str, ...] = ("duckdb", "spark")


class Engine(Protocol):
    """What the SQL path needs from an engine."""

    name: str
    dialect: str

    def register_raw(self, raw: RawSource, name: str = "raw_events") -> None: ...

    def ragged_rows(self, raw: RawSource) -> int: ...

    def define(self, name: str, sql: str, keep: bool = False) -> None: ...

    def rows(self, sql: str) -> pl.DataFrame: ...

    def write(
        self, sql: str, output: Path, fmt: str, metadata: dict[str, str] | None = None
    ) -> int: ...


CHECKED = "__segtui_checked"
"""The table of every raw row checked (:func:`segtui.ingest.read_sql.checked_sql`)."""


def define_events(
    engine: Engine, raw: RawSource, plan: ReadPlan, report: ReportPlan | None = None
) -> None:
    """``raw_events`` over the files and ``events`` (canonical) over it, kept as a table. With
    the loading report's plan (for :func:`engine_report`), the files are read and parsed once:
    every row checked into the :data:`CHECKED` table, which the report counts, and ``events``
    its kept rows (a view; a table when sessions come from the gap, windowed once)."""
    engine.register_raw(raw, "raw_events")
    if report is None:
        engine.define("events", read_sql(plan, "raw_events", engine.dialect), keep=True)
        return
    numbers, targets = _counted(report)
    checked = checked_sql(
        plan, "raw_events", engine.dialect, number_sources=numbers, alias_targets=targets
    )
    engine.define(CHECKED, checked, keep=True)
    sessions = plan.session_gap_minutes is not None
    engine.define("events", kept_events_sql(plan, CHECKED, engine.dialect), keep=sessions)


def _counted(report: ReportPlan) -> tuple[list[str], list[str]]:
    """What the report counts beyond the reasons: numbers read from text, alias targets."""
    return list(report.number_sources), list(report.alias_targets)


def stats_sql(columns: Sequence[str], dialect: str) -> list[str]:
    """The engine's twin of :func:`segtui.features.generated.stats_queries` over ``events``:
    users per event name (and events with a duration), users per category."""
    q = lambda name: sqltext.quote(name, dialect)  # noqa: E731
    users = f"count(DISTINCT {q('user_id')}) AS users"
    per_event = [q("event"), users]
    if "duration_s" in columns:
        per_event.append(f"count({q('duration_s')}) AS durations")
    queries = [f"SELECT {', '.join(per_event)} FROM events GROUP BY {q('event')}"]
    if "category" in columns:
        queries.append(
            f"SELECT {q('category')}, {users} FROM events WHERE {q('category')} IS NOT NULL "
            f"GROUP BY {q('category')}"
        )
    return queries


def offered_specs_in(
    engine: Engine,
    columns: Sequence[str],
    extra: Sequence[FeatureSpec] = (),
    wanted: Sequence[str] | None = None,
) -> list[FeatureSpec]:
    """:func:`segtui.features.generated.offered_specs` with the statistics from the engine."""
    declared = {spec.name for spec in (*CATALOG, *extra)}
    if wanted is not None and all(name in declared for name in wanted):
        return [*CATALOG, *extra]
    frames = [engine.rows(sql) for sql in stats_sql(columns, engine.dialect)]
    stats = stats_from_frames(frames)
    return [*CATALOG, *generated_specs(stats, {s.name for s in extra}), *extra]


def sql_refusal(spec: FeatureSpec, columns: Sequence[str], dialect: str) -> str | None:
    """Why the feature has no SQL form in ``dialect``, or None when it renders."""
    try:
        plan_sql(plan_features([spec], columns), dialect)
    except (ValueError, TypeError) as error:
        return str(error)
    return None


@dataclass(frozen=True)
class Expressible:
    """The features the engine computes, and those left out for having no SQL form."""

    specs: list[FeatureSpec]
    left_out: dict[str, str] = field(default_factory=dict)


def expressible(
    specs: Sequence[FeatureSpec], columns: Sequence[str], engine: str, dialect: str, asked: bool
) -> Expressible:
    """Keep the features the engine can compute. One a person asked for by name that cannot be
    expressed is an InputError naming it and why; from the default set it is left out."""
    kept: list[FeatureSpec] = []
    left_out: dict[str, str] = {}
    for spec in specs:
        why = sql_refusal(spec, columns, dialect)
        if why is None:
            kept.append(spec)
        elif asked:
            raise InputError(
                f"feature '{spec.name}' cannot be computed by the {engine} engine: it has no "
                f"SQL form ({why})",
                hint="Leave it out of --features, or use --engine polars.",
            )
        else:
            left_out[spec.name] = why
    return Expressible(kept, left_out)


def chosen_specs_in(
    engine: Engine,
    columns: Sequence[str],
    own: Sequence[FeatureSpec] = (),
    names: Sequence[str] | None = None,
) -> tuple[Expressible, dict[str, str]]:
    """The features a command computes in the engine (every one the columns allow, or those
    ``names`` asks for), less those with no SQL form; and those the data leaves out, and why."""
    specs = offered_specs_in(engine, columns, own, names)
    offered, left_out = available_features(specs, columns)
    chosen = offered if names is None else select_features(list(names), offered, left_out)
    kept = expressible(chosen, columns, engine.name, engine.dialect, names is not None)
    return kept, left_out


@dataclass(frozen=True)
class _Span:
    """The two fields of a LoadReport that :func:`segtui.ingest.strict.check_as_of` reads."""

    first_ts: datetime | None
    last_ts: datetime | None


def check_as_of_in(engine: Engine, as_of: datetime | None, file: str | Path | None) -> None:
    """An ``--as-of`` before the first event counts nothing: said as the polars path says it."""
    if as_of is None:
        return
    ts = sqltext.quote("ts", engine.dialect)
    first, last = engine.rows(f"SELECT min({ts}) AS first, max({ts}) AS last FROM events").row(0)
    check_as_of(_Span(as_utc(first), as_utc(last)), as_of, file)  # type: ignore[arg-type]


def as_utc(moment: datetime | None) -> datetime | None:
    """Spark gives session-zone (UTC) times without a zone; DuckDB gives them with one."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def output_format(output: Path) -> str:
    """``csv`` for a path ending in .csv, else ``parquet`` (a file, or Spark's folder)."""
    return "csv" if output.suffix.lower() == ".csv" else "parquet"


def write_features(
    engine: Engine,
    specs: Sequence[FeatureSpec],
    columns: Sequence[str],
    output: Path,
    as_of: datetime | None = None,
    keep: Sequence[str] | None = None,
    fmt: str = "parquet",
) -> int:
    """The features of every user in ``events`` written by the engine to ``output``; the
    number of users. ``keep`` names the columns to write, in that order (a model's columns:
    its declarations also hold the features its own refer to); None writes every spec."""
    plan = plan_features(specs, columns, as_of)
    if keep is not None:
        by_name = {out.name: out for out in plan.outputs}
        plan = replace(plan, outputs=tuple(by_name[name] for name in keep))
    return engine.write(plan_sql(plan, engine.dialect, "events"), output, fmt)


def engine_report(engine: Engine, raw: RawSource, report: ReportPlan) -> LoadReport:
    """The loading report polars gives, counted by the engine (:func:`counted_report` over the
    :data:`CHECKED` table that :func:`define_events` made with this ``report`` and its
    ``events``), with the rows the engine's CSV reader left out for their field count."""
    ragged = engine.ragged_rows(raw)
    return counted_report(engine.rows, engine.dialect, report, CHECKED, "events", ragged=ragged)


def counted_report(
    rows: Callable[[str], pl.DataFrame],
    dialect: str,
    report: ReportPlan,
    checked: str,
    kept: str,
    *,
    ragged: int | None = None,
) -> LoadReport:
    """The loading report polars gives, counted in SQL: rows read and kept, rows left out per
    reason (:func:`segtui.ingest.read_sql.report_counts_sql` over the relation ``checked``
    of checked rows), values that are not numbers, users, time span and events by type (over
    the relation ``kept``). ``ragged``: rows the reader left out before checking (None: they
    are among the checked rows). The first few failing rows of each reason, with their file
    and row (which the engines' CSV readers do not number), are read as polars reads them: a
    head-limited scan of the files, only when some rows failed."""
    q = lambda name: sqltext.quote(name, dialect)  # noqa: E731
    numbers, targets = _counted(report)
    counted = report_counts_sql(checked, dialect, number_sources=numbers, alias_targets=targets)
    row = dict(rows(counted).row(0, named=True))
    if ragged is not None:
        row["rows_read"] = int(row["rows_read"]) + ragged
        row["left_out_ragged"] = ragged
    users, first, last = rows(
        f"SELECT count(DISTINCT {q('user_id')}) AS users, min({q('ts')}) AS first, "
        f"max({q('ts')}) AS last FROM {kept}"
    ).row(0)
    row.update(users=int(users), first_ts=as_utc(first), last_ts=as_utc(last))
    by_type = rows(f"SELECT {q('event')}, count(*) AS n FROM {kept} GROUP BY {q('event')}")
    row["events_by_type"] = [{"event": e, "count": int(n)} for e, n in by_type.iter_rows()]
    return report_from_counts(report, row)
