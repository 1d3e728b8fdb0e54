"""``segtui inspect``: what segtui makes of event files before anything is computed.

Shows the layout detected, the mapping (canonical column, source column, how it was decided),
everything decided from the data, rows read and left out with reasons, users, time span and
events by type. ``--json`` prints the same as one JSON object for scripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from segtui.cli.options import (
    DayFirstOpt,
    EventPathsArg,
    InspectLayoutOpt,
    JsonOpt,
    MapOpt,
    MappingOpt,
    SessionGapOpt,
    StrictOpt,
    check_outputs,
    load_options,
)
from segtui.cli.output import echo_json, echo_lines
from segtui.errors import InputError
from segtui.ingest.events import LoadedEvents, load_events
from segtui.ingest.mapping import save_mapping
from segtui.ingest.report import LoadReport
from segtui.ingest.sources import input_error_from_polars
from segtui.ingest.users_table import UsersTable, given_users_table, users_table_line


def inspect(
    paths: EventPathsArg,
    map_: MapOpt = None,
    mapping: MappingOpt = None,
    save_mapping_: Annotated[
        Path | None,
        typer.Option("--save-mapping", help="Save the mapping used (.toml or .json)."),
    ] = None,
    strict: StrictOpt = False,
    session_gap: SessionGapOpt = 30.0,
    day_first: DayFirstOpt = None,
    layout: InspectLayoutOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Show the detected layout and mapping, what was decided, and what the rows hold."""
    options = load_options(map_, mapping, strict, session_gap, day_first, layout)
    check_outputs([save_mapping_], paths, mapping)
    table = given_users_table(
        paths, options.overrides, mapping_given=mapping is not None, layout=layout
    )
    if table is not None:
        if save_mapping_ is not None:
            raise InputError(
                "a users table has no event mapping to save",
                file=paths[0],
                hint=users_table_line(table) + "; drop --save-mapping.",
            )
        if json_:
            echo_json(users_table_dict(paths, table))
        else:
            echo_lines(users_table_lines(paths, table))
        return
    loaded = load_events(paths, options)
    try:
        report = loaded.collect_report()
    except pl.exceptions.PolarsError as error:  # pragma: no cover - collect_report translates
        raise input_error_from_polars(error, loaded.source) from error
    saved = None
    if save_mapping_ is not None:
        saved = save_mapping(loaded.mapping, save_mapping_)
    if json_:
        echo_json(inspect_dict(loaded, report, saved))
    else:
        echo_lines(inspect_lines(loaded, report, saved))


def users_table_dict(paths: list[str], table: UsersTable) -> dict[str, Any]:
    """The machine-readable form of ``inspect`` on a users table."""
    return {
        "kind": "users_table",
        "files": list(paths),
        "summary": users_table_line(table),
        "id_column": table.id_column,
        "users": table.users.height,
        "features": list(table.features),
        "ignored": dict(table.ignored),
        "messages": list(table.messages),
    }


def users_table_lines(paths: list[str], table: UsersTable) -> list[str]:
    """``inspect`` on a users table: what segtui would use from it."""
    renamed = "" if table.id_column == "user_id" else " (written as user_id in the exports)"
    lines = [
        f"source: {', '.join(paths)}",
        users_table_line(table),
        "",
        f"id column: {table.id_column}{renamed}",
        f"users: {table.users.height:,}",
        f"features (numeric columns): {', '.join(table.features) or '(none)'}",
    ]
    if table.ignored:
        lines.append(
            "columns ignored: " + ", ".join(f"{c} ({why})" for c, why in table.ignored.items())
        )
    lines += [f"note: {m}" for m in table.messages[1:] if not m.startswith("columns not used")]
    return lines


def inspect_dict(loaded: LoadedEvents, report: LoadReport, saved: Path | None) -> dict[str, Any]:
    """The machine-readable form of ``inspect``."""
    src = loaded.source
    return {
        "source": {
            "files": [str(f) for f in src.files],
            "format": src.format,
            "delimiter": src.delimiter,
            "compression": src.compression,
            "columns": list(src.columns),
        },
        "layout": loaded.mapping.layout,
        "mapping": [{"canonical": c, "source": s, "how": h} for c, s, h in loaded.mapping.table()]
        + [
            {"canonical": c, "source": None, "how": f"derived: {h}"}
            for c, h in loaded.derived.items()
        ],
        "columns": list(loaded.columns),
        "decisions": list(loaded.decisions),
        "event_aliases": dict(loaded.mapping.event_aliases),
        "report": report.to_dict(),
        "mapping_saved": str(saved) if saved else None,
    }


def _table(rows: list[tuple[str, str, str]], header: tuple[str, str, str]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(2)]
    out = []
    for r in [header, *rows]:
        out.append(f"  {r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}".rstrip())
    return out


def inspect_lines(loaded: LoadedEvents, report: LoadReport, saved: Path | None) -> list[str]:
    """The human-readable form of ``inspect``."""
    src = loaded.source
    files = ", ".join(str(f) for f in src.files[:3]) + (
        f" and {len(src.files) - 3} more" if len(src.files) > 3 else ""
    )
    rows = list(loaded.mapping.table())
    rows += [(c, "(derived)", how) for c, how in loaded.derived.items()]
    lines = [
        f"source: {files}",
        f"format: {src.describe()}",
        f"layout: {loaded.mapping.layout}",
        "",
        "mapping:",
        *_table(rows, ("canonical", "source", "how decided")),
        "",
        "decided:",
        *[f"  - {d}" for d in loaded.decisions],
        "",
        *report.lines(),
    ]
    unmapped = [c for c in src.columns if c not in set(loaded.mapping.used_columns())]
    if unmapped:
        lines.append(f"source columns not used: {', '.join(unmapped)}")
    if saved is not None:
        lines.append(f"mapping saved to {saved}")
    return lines
