"""``segtui features``: per-user behavior features from event files, written to parquet.

``segtui features PATH... -o features.parquet [--features a,b] [--as-of DATE]`` loads and maps the
events (same options as ``inspect``), computes the features in one scan together with the
loading report, and writes one row per user atomically. ``--list`` shows the catalog by family,
with what each needs, its transform and what a user without the relevant events gets; given a
data path it also says which features the data leaves out and why.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from segtui.catalog import (
    CATALOG,
    FAMILIES,
    FeatureSpec,
    available_features,
    load_feature_file,
    select_features,
)
from segtui.errors import InputError
from segtui.events import LoadedEvents, LoadOptions, load_events
from segtui.features import build_feature_query
from segtui.fileio import atomic_write
from segtui.loading import input_error_from_polars
from segtui.mapping import parse_overrides


def features(
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Event files, globs or folders (CSV/TSV, NDJSON, parquet)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write the features (.parquet or .csv)."),
    ] = None,
    features_: Annotated[
        str | None,
        typer.Option(
            "--features", help="Comma-separated feature names (default: every one the data allows)."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Reference time, UTC: YYYY-MM-DD (00:00 that day) or an ISO date-time. Events "
            "after it are left out. Default: the last event in the data.",
        ),
    ] = None,
    list_: Annotated[
        bool, typer.Option("--list", help="List the features (and, with a path, what is left out).")
    ] = False,
    feature_file: Annotated[
        Path | None,
        typer.Option("--feature-file", help="TOML file declaring more features ([[feature]])."),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="Force a pair, canonical=source (e.g. ts=event_time); repeatable."
        ),
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="Reuse a saved mapping (TOML or JSON).")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail on any row that would be left out.")
    ] = False,
    session_gap: Annotated[
        float,
        typer.Option(
            "--session-gap", help="Minutes of inactivity that end a session (no session column)."
        ),
    ] = 30.0,
    day_first: Annotated[
        bool | None,
        typer.Option(
            "--day-first/--month-first",
            help="Read slash dates as D/M/YYYY or M/D/YYYY (default: decided from the data).",
        ),
    ] = None,
    layout: Annotated[
        str | None,
        typer.Option("--layout", help="Force a layout (see `segtui inspect --help`)."),
    ] = None,
    json_: Annotated[
        bool, typer.Option("--json", help="With --list: print the catalog as JSON.")
    ] = False,
) -> None:
    """Compute per-user behavior features from event files and write them to parquet."""
    specs: list[FeatureSpec] = list(CATALOG)
    if feature_file is not None:
        specs += load_feature_file(feature_file)
    moment = parse_as_of(as_of) if as_of is not None else None
    options = LoadOptions(
        overrides=parse_overrides(map_ or []),
        mapping_file=mapping,
        strict=strict,
        session_gap_minutes=session_gap,
        day_first=day_first,
        layout=layout,
    )
    if list_:
        columns = load_events(paths, options).columns if paths else None
        if json_:
            typer.echo(json.dumps(catalog_dict(specs, columns), indent=2))
        else:
            typer.echo("\n".join(catalog_lines(specs, columns)))
        return
    if not paths:
        raise InputError(
            "no event files given", hint="Usage: segtui features PATH... -o features.parquet"
        )
    if output is None:
        raise InputError(
            "say where to write the features", hint="Add -o features.parquet (or .csv)."
        )
    if output.suffix.lower() not in (".parquet", ".csv"):
        raise InputError(
            "the output file must end in .parquet or .csv",
            file=output,
            hint="e.g. -o features.parquet",
        )
    loaded = load_events(paths, options)
    offered, left_out = available_features(specs, loaded.columns)
    if features_ is not None:
        names = [n.strip() for n in features_.split(",") if n.strip()]
        if not names:
            raise InputError("--features names no feature", hint="e.g. --features events,revenue")
        chosen = select_features(names, offered, left_out)
    else:
        chosen = offered
    table, report_lines = _compute(loaded, chosen, moment)
    with atomic_write(output) as tmp:
        if output.suffix.lower() == ".csv":
            table.write_csv(tmp)
        else:
            table.write_parquet(tmp)
    for line in report_lines:
        typer.echo(line)
    if left_out and features_ is None:
        typer.echo(
            f"left out {len(left_out)} feature(s) the data cannot give: "
            + ", ".join(sorted(left_out))
            + " (see --list)"
        )
    typer.echo(f"wrote {table.height:,} users x {len(chosen)} features to {output}")


def _compute(
    loaded: LoadedEvents, specs: Sequence[FeatureSpec], as_of: datetime | None
) -> tuple[pl.DataFrame, list[str]]:
    """Features and the loading report, collected together so the files are scanned once."""
    query = build_feature_query(loaded.events, specs, as_of)
    try:
        # One pass: the report and the features share the scan (on a 10M-event CSV this costs
        # 14.7 CPU-s against 19.6 CPU-s for two separate collects).
        counts, table = pl.collect_all([loaded.report_query, query], engine="streaming")
    except pl.exceptions.PolarsError as error:
        raise input_error_from_polars(error, loaded.source) from error
    report = loaded.finish_report(counts)
    lines = [
        line for line in report.lines() if not line.startswith("  ") and "events by" not in line
    ]
    return table, lines


def parse_as_of(text: str) -> datetime:
    """``--as-of``: a date (00:00 UTC that day) or an ISO date-time (no offset means UTC)."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"--as-of {text!r} is not a date or date-time",
            hint="Use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC unless an offset is given).",
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _status(
    specs: Sequence[FeatureSpec], columns: Sequence[str] | None
) -> tuple[dict[str, FeatureSpec], dict[str, str]]:
    if columns is None:
        return {s.name: s for s in specs}, {}
    offered, left_out = available_features(specs, columns)
    return {s.name: s for s in offered}, left_out


def catalog_lines(specs: Sequence[FeatureSpec], columns: Sequence[str] | None) -> list[str]:
    """The catalog grouped by family; with ``columns``, what the data leaves out and why."""
    offered, left_out = _status(specs, columns)
    width = max(len(s.name) for s in specs)
    lines: list[str] = []
    if columns is None:
        lines.append(f"{len(specs)} features (give a data path to see which the data allows)")
    else:
        lines.append(
            f"{len(offered)} of {len(specs)} features available on this data "
            f"(columns: {', '.join(columns)})"
        )
    lines.append("* = in the default set for clustering")
    for family in FAMILIES:
        members = [s for s in specs if s.family == family]
        if not members:
            continue
        lines.append("")
        lines.append(f"{family}:")
        for spec in members:
            shown = offered.get(spec.name, spec)
            mark = "*" if spec.default else " "
            lines.append(f" {mark}{spec.name:<{width}}  {shown.description}")
            extra = [f"transform {spec.transform}", f"if none: {spec.missing_text}"]
            if shown.requires:
                extra.append(f"needs {', '.join(shown.requires)}")
            if spec.name in left_out:
                extra.append(f"LEFT OUT: {left_out[spec.name]}")
            lines.append(f"  {'':<{width}}  ({'; '.join(extra)})")
    if left_out:
        lines.append("")
        lines.append("left out on this data:")
        lines += [f"  {name}: {why}" for name, why in left_out.items()]
    return lines


def catalog_dict(specs: Sequence[FeatureSpec], columns: Sequence[str] | None) -> dict[str, object]:
    """Machine-readable ``--list``."""
    offered, left_out = _status(specs, columns)
    return {
        "columns": list(columns) if columns is not None else None,
        "features": [
            {
                "name": spec.name,
                "family": spec.family,
                "description": offered.get(spec.name, spec).description,
                "requires": list(offered.get(spec.name, spec).requires),
                "transform": spec.transform,
                "when_missing": spec.when_missing,
                "why_missing": spec.why_missing or None,
                "default": spec.default,
                "available": spec.name in offered,
                "left_out": left_out.get(spec.name),
            }
            for spec in specs
        ],
    }
