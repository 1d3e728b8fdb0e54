"""Options several ``segtui`` commands share, declared once so their flags cannot drift apart.

The flag names, defaults and help texts are a public contract (scripts and the README use them).
Where a command words a shared flag its own way (``inspect`` lists the layouts, ``assign`` takes
the session gap from the model), the variant is declared here too, next to the common one, so a
change to one is seen beside the others. Defaults stay on the command's parameters.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from segtui.errors import InputError
from segtui.fileio import check_writable, refuse_overwriting_inputs
from segtui.ingest.events import LoadOptions
from segtui.ingest.mapping import parse_overrides
from segtui.ingest.sessions import check_session_gap
from segtui.ingest.sources import resolve_paths

# ---- input files

_EVENT_PATHS_HELP = "Event files, globs or folders (CSV/TSV, NDJSON, parquet)."

EventPathsArg = Annotated[list[str], typer.Argument(help=_EVENT_PATHS_HELP)]
"""``inspect``: one or more event files."""
OptionalEventPathsArg = Annotated[list[str] | None, typer.Argument(help=_EVENT_PATHS_HELP)]
"""``features``: none is allowed with ``--list``."""
EventsOrUsersPathsArg = Annotated[
    list[str],
    typer.Argument(
        help="Event files, globs or folders (CSV/TSV, NDJSON, parquet), or a users table."
    ),
]
"""``segment``, ``sweep``, ``assign``: events, or a table with one row per user."""

# ---- loading (see segtui.ingest.events.LoadOptions); build LoadOptions with load_options()

MapOpt = Annotated[
    list[str] | None,
    typer.Option("--map", help="Force a pair, canonical=source (e.g. ts=event_time); repeatable."),
]
MappingOpt = Annotated[
    Path | None, typer.Option("--mapping", help="Reuse a saved mapping (TOML or JSON).")
]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Fail on any row that would be left out.")
]
SessionGapOpt = Annotated[
    float,
    typer.Option(
        "--session-gap", help="Minutes of inactivity that end a session (no session column)."
    ),
]
"""``inspect``, ``features``."""
ShortSessionGapOpt = Annotated[
    float, typer.Option("--session-gap", help="Minutes of inactivity that end a session.")
]
"""``segment``, ``sweep``."""
ModelSessionGapOpt = Annotated[
    float | None,
    typer.Option(
        "--session-gap",
        help="Minutes of inactivity that end a session (default: the model's).",
    ),
]
"""``assign``: None means the gap the model was built with."""
DayFirstOpt = Annotated[
    bool | None,
    typer.Option(
        "--day-first/--month-first",
        help="Read slash dates as D/M/YYYY or M/D/YYYY (default: decided from the data).",
    ),
]
LayoutOpt = Annotated[
    str | None, typer.Option("--layout", help="Force a layout (see `segtui inspect --help`).")
]
InspectLayoutOpt = Annotated[
    str | None,
    typer.Option(
        "--layout",
        help="Force a layout: clickstream, invoice_lines, invoice_lines_ii, segment, ga4, "
        "transactions, generic.",
    ),
]
"""``inspect`` lists the layouts; the other commands point to it."""


def load_options(
    map_: list[str] | None,
    mapping: Path | None,
    strict: bool,
    session_gap: float,
    day_first: bool | None,
    layout: str | None,
) -> LoadOptions:
    """The LoadOptions the loading flags ask for (``--map`` pairs and the gap checked here)."""
    check_session_gap(session_gap)
    return LoadOptions(
        overrides=parse_overrides(map_ or []),
        mapping_file=mapping,
        strict=strict,
        session_gap_minutes=session_gap,
        day_first=day_first,
        layout=layout,
    )


def model_load_options(
    model_gap: float | None,
    map_: list[str] | None,
    mapping: Path | None,
    strict: bool,
    session_gap: float | None,
    day_first: bool | None,
    layout: str | None,
) -> LoadOptions:
    """The loading flags for files read with a saved model: its session gap unless given."""
    gap = session_gap if session_gap is not None else (model_gap or 30.0)
    return load_options(map_, mapping, strict, gap, day_first, layout)


# ---- features

FeatureFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--feature-file", help="TOML file declaring more features (one \\[\\[feature]] table each)."
    ),
]
FeaturesOpt = Annotated[
    str | None,
    typer.Option(
        "--features",
        help="Comma-separated features to cluster on (default: the catalog's default set, or "
        "every numeric column of a users table).",
    ),
]
"""``segment``, ``sweep``."""
ComputeFeaturesOpt = Annotated[
    str | None,
    typer.Option(
        "--features", help="Comma-separated feature names (default: every one the data allows)."
    ),
]
"""``features``."""


def feature_names(text: str | None) -> list[str] | None:
    """``--features a,b`` -> ``["a", "b"]``; None when the flag is not given."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise InputError("--features names no feature", hint="e.g. --features events,revenue")
    return names


# ---- reference time

AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Reference time, UTC: YYYY-MM-DD or an ISO date-time. Default: the last event.",
    ),
]
"""``segment``, ``sweep``, ``assign``."""
FeaturesAsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Reference time, UTC: YYYY-MM-DD (00:00 that day) or an ISO date-time. Events "
        "after it are left out. Default: the last event in the data.",
    ),
]
"""``features``."""


def parse_as_of(text: str, flag: str = "--as-of") -> datetime:
    """``--as-of`` (or ``flag``): a date (00:00 UTC that day) or an ISO date-time (no offset
    means UTC)."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{flag} {text!r} is not a date or date-time",
            hint="Use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC unless an offset is given).",
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# ---- output

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
CatalogJsonOpt = Annotated[
    bool, typer.Option("--json", help="With --list: print the catalog as JSON.")
]
"""``features``: JSON only for ``--list``."""


def check_outputs(outputs: list[Path | None], paths: list[str], *read: Path | None) -> None:
    """Refuse, before any work, outputs that would overwrite a file this command reads."""
    inputs = [*resolve_paths(paths), *(p for p in read if p is not None)]
    refuse_overwriting_inputs(outputs, inputs)
    for output in outputs:
        if output is not None:
            check_writable(output)


# ---- engines (see segtui.engines)

EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        help="Where the features (for segment and assign, the labels too) are computed: polars "
        "(in this process), duckdb (reads the files "
        "itself, out of core: spills to disk past --memory-limit, reads hive-partitioned parquet "
        "folders) or spark (pyspark needed: pip install 'segtui\\[spark]'; local[*] unless "
        "--spark-master).",
    ),
]
"""``features``, ``segment``, ``sweep``, ``assign``: the default is ``polars``."""
MemoryLimitOpt = Annotated[
    str | None,
    typer.Option(
        "--memory-limit",
        help="With --engine duckdb: memory DuckDB may use before spilling to disk, a size (4GB, "
        "512MiB) or a share of this machine's memory (default 60%).",
    ),
]
SparkMasterOpt = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        help="With --engine spark: the cluster to run on (spark://HOST:PORT, yarn, ...; "
        "default local[*]).",
    ),
]


def check_engine(engine: str, memory_limit: str | None, spark_master: str | None) -> str:
    """The engine named, its own flags only with it (said before any file is read)."""
    from segtui.engines.features import ENGINES

    if engine not in ENGINES:
        raise InputError(
            f"--engine {engine!r} is not an engine", hint=f"Use one of {', '.join(ENGINES)}."
        )
    if memory_limit is not None and engine != "duckdb":
        raise InputError("--memory-limit is for --engine duckdb")
    if spark_master is not None and engine != "spark":
        raise InputError("--spark-master is for --engine spark")
    return engine
