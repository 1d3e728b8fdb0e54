"""``segtui open``: the app on the person's files (or a saved ``*.segtui.json`` project).

The loading options are the CLI's own (``--map``, ``--mapping``, ``--strict``, ``--session-gap``,
``--day-first``, ``--layout``), so what ``segtui inspect`` shows is what the app loads;
``--engine`` (with ``--memory-limit``, ``--spark-master``) preselects the open screen's engine.
``open_sample`` is what ``segtui`` with no arguments runs: the app on the bundled sample.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from segtui.cli.options import (
    DayFirstOpt,
    EngineOpt,
    LayoutOpt,
    MapOpt,
    MappingOpt,
    MemoryLimitOpt,
    SessionGapOpt,
    SparkMasterOpt,
    StrictOpt,
    check_engine,
)
from segtui.errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_EVENTS = REPO_ROOT / "sample_data" / "events.csv"


def _run(paths: list[str], **kwargs: Any) -> None:
    from segtui.app import run_app

    run_app(paths, **kwargs)


def open_(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Event files, globs or folders (CSV/TSV, NDJSON, parquet), one "
            "*.segtui.json project file, or one watch state (a `segtui watch` DuckDB file)."
        ),
    ],
    map_: MapOpt = None,
    mapping: MappingOpt = None,
    strict: StrictOpt = False,
    session_gap: SessionGapOpt = 30.0,
    day_first: DayFirstOpt = None,
    layout: LayoutOpt = None,
    theme: Annotated[
        str | None,
        typer.Option("--theme", help="Colour theme: dark, light, high-contrast (themes/ folder)."),
    ] = None,
    review: Annotated[
        bool,
        typer.Option(
            "--review/--no-review",
            help="Show the detected mapping and a preview before the segments (default: on).",
        ),
    ] = True,
    engine: EngineOpt = "polars",
    memory_limit: MemoryLimitOpt = None,
    spark_master: SparkMasterOpt = None,
) -> None:
    """Open the app: explore, shape and export segments of these events (or watch a state live)."""
    from segtui.artifacts.project import is_project_path, load_project
    from segtui.ingest.mapping import parse_overrides
    from segtui.ingest.sessions import check_session_gap
    from segtui.watch.history import check_state, is_state

    check_session_gap(session_gap)
    check_engine(engine, memory_limit, spark_master)
    if engine == "spark":
        from segtui.engines.spark_engine import spark_missing

        if (missing := spark_missing()) is not None:
            raise missing  # said here, before the app starts
    if memory_limit is not None:
        from segtui.engines.duckdb_engine import memory_limit_bytes

        memory_limit_bytes(memory_limit)  # a bad size is refused here, not in the open screen
    if len(paths) == 1 and is_state(paths[0]):
        if engine != "polars":
            raise InputError(
                f"--engine {engine} computes features from event files; a watch state holds "
                "its users already",
                hint="Run `segtui open STATE` without --engine.",
            )
        state = Path(paths[0]).resolve()
        check_state(state)  # not a watch state (or another schema): refused here, exit 2
        _run([], watch_state=str(state), theme=theme)
        return
    if len(paths) > 1 and any(is_state(p) for p in paths):
        raise InputError("a watch state opens on its own", hint="Run `segtui open STATE` alone.")
    if len(paths) == 1 and is_project_path(paths[0]):
        project = load_project(paths[0])
        _run(
            [],
            project=project,
            project_path=str(Path(paths[0]).resolve()),
            theme=theme,
            engine=engine,
            memory_limit=memory_limit,
            spark_master=spark_master,
        )
        return
    if any(is_project_path(p) for p in paths):
        raise InputError(
            "a project file opens on its own", hint="Run `segtui open NAME.segtui.json` alone."
        )
    options: dict[str, Any] = {
        "overrides": parse_overrides(map_ or []),
        "mapping_file": str(mapping) if mapping else None,
        "strict": strict,
        "session_gap_minutes": session_gap,
        "day_first": day_first,
        "layout": layout,
    }
    options = {k: v for k, v in options.items() if v not in (None, {}, False)} | {
        "session_gap_minutes": session_gap
    }
    _run(
        list(paths),
        load_options=options,
        theme=theme,
        review_mapping=review,
        engine=engine,
        memory_limit=memory_limit,
        spark_master=spark_master,
    )


def open_sample(theme: str | None = None) -> None:
    """`segtui` with no arguments: the app on the bundled sample (<repo>/sample_data/events.csv)."""
    if not SAMPLE_EVENTS.exists():
        raise InputError(
            "the bundled sample is missing",
            file=SAMPLE_EVENTS,
            hint="Make one with `segtui sample -o sample_data`, or run `segtui open YOUR_EVENTS`.",
        )
    _run([str(SAMPLE_EVENTS)], theme=theme)
