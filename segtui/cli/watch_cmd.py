"""``segtui watch``: keep segments current as events arrive (see ``segtui.watch``).

``init`` builds a state from a model and its history, ``run`` folds in new files or stdin lines,
``status``, ``moves`` and ``export`` read the state (also while a run is going).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from segtui.cli.options import JsonOpt, parse_as_of
from segtui.cli.output import echo, echo_json, echo_lines
from segtui.errors import InputError
from segtui.fileio import atomic_write, check_writable
from segtui.ingest.report import LoadReport
from segtui.watch import report
from segtui.watch.create import create_state
from segtui.watch.fold import FAULT_POINTS
from segtui.watch.run import (
    DEFAULT_BATCH_EVENTS,
    DEFAULT_BATCH_SECONDS,
    DEFAULT_POLL_SECONDS,
    RunOptions,
    run,
)
from segtui.watch.scoring import Thresholds

FAULT_ENV = "SEGTUI_WATCH_FAULT"
"""For tests: ``POINT`` or ``POINT@BATCH`` kills the process (exit 137, no clean-up) when a batch
reaches that point (:data:`segtui.watch.fold.FAULT_POINTS`)."""

watch_app = typer.Typer(
    name="watch",
    help="Keep segments current as new events arrive: init, run, status, moves, export.",
    no_args_is_help=True,
)

StateArg = Annotated[Path, typer.Argument(help="The watch state: one DuckDB database file.")]


def _fault_from_env() -> object:
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return None
    point, _, batch = spec.partition("@")
    if point not in FAULT_POINTS:
        raise InputError(f"{FAULT_ENV}={spec!r} names no fault point ({', '.join(FAULT_POINTS)})")
    seen = {"n": 0}

    def fault(name: str) -> None:
        if name != point:
            return
        seen["n"] += 1
        if not batch or int(batch) == seen["n"]:
            os._exit(137)

    return fault


@watch_app.command("init")
def init(
    state: StateArg,
    model: Annotated[Path, typer.Argument(help="The saved model (NAME.model.json).")],
    history: Annotated[list[Path], typer.Argument(help="The event files the model was fitted on.")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing state.")] = False,
) -> None:
    """Create a state from a saved model and its history (the labels `assign` gives them)."""
    created = create_state(state, model, history, force=force)
    info = report.status(created.state)
    dropped = created.folded.duplicates
    again = f"{dropped:,} {_events(dropped)} sent again (same event_id) left out"
    echo_lines(
        [
            *[f"note: {d}" for d in created.decisions],
            *_left_out_lines(created.read),
            *([f"note: history: {again}"] if dropped else []),
            f"created {state}: {info['users']:,} users, {info['events']:,} events, model version 1",
            *report.status_lines(info)[-len(info["segments"]) :],
        ]
    )


def _left_out_lines(read: LoadReport) -> list[str]:
    """What reading the history left out and why, as ``segment`` says it; nothing when every
    row was kept whole."""
    lines = [
        line for line in read.lines() if line.startswith(("rows read:", "  left out:", "note:"))
    ]
    if read.rows_read == read.rows_kept and len(lines) == 1:
        return []
    return [f"history: {lines[0]}", *lines[1:]]


def _events(n: int) -> str:
    return "event" if n == 1 else "events"


@watch_app.command("run")
def run_cmd(
    state: StateArg,
    inbox: Annotated[str, typer.Argument(help="A folder of new event files, or - for stdin.")],
    once: Annotated[
        bool,
        typer.Option(
            "--once", help="Process what is there now (or stdin until it closes), then exit."
        ),
    ] = False,
    poll: Annotated[
        float, typer.Option("--poll", min=0.05, help="Seconds between looks at the inbox.")
    ] = DEFAULT_POLL_SECONDS,
    min_margin: Annotated[
        float,
        typer.Option(
            "--min-margin",
            min=0.0,
            max=1.0,
            help="Hysteresis: how much better the new segment must fit (0 = none).",
        ),
    ] = 0.0,
    min_events: Annotated[
        int,
        typer.Option("--min-events", min=0, help="New events a user needs since their last move."),
    ] = 0,
    refit_drift: Annotated[
        float | None,
        typer.Option(
            "--refit-drift",
            min=0.0,
            help="Refit when the PSI of segment shares passes this (off by default).",
        ),
    ] = None,
    batch_events: Annotated[
        int,
        typer.Option("--batch-events", min=1, help="Events per batch (larger files are split)."),
    ] = DEFAULT_BATCH_EVENTS,
    batch_seconds: Annotated[
        float,
        typer.Option(
            "--batch-seconds", min=0.01, help="Stdin: close a micro-batch after this many seconds."
        ),
    ] = DEFAULT_BATCH_SECONDS,
    online: Annotated[
        bool,
        typer.Option(
            "--online",
            help="Move K-Means centers with every batch (mini-batch updates; off by default).",
        ),
    ] = False,
) -> None:
    """Fold new events into the state: one line per batch."""
    options = RunOptions(
        once=once,
        poll_seconds=poll,
        thresholds=Thresholds(min_margin, min_events),
        refit_drift=refit_drift,
        batch_events=batch_events,
        batch_seconds=batch_seconds,
        online=online,
    )
    fault = _fault_from_env()
    kwargs = {} if fault is None else {"fault": fault}
    folded = run(
        state,
        None if inbox == "-" else Path(inbox),
        options,
        lambda line: echo_lines([line]),  # one line per batch: a file name cannot forge one
        **kwargs,  # type: ignore[arg-type]
    )
    echo(f"{len(folded)} batch{'es' if len(folded) != 1 else ''} processed")


@watch_app.command("status")
def status_cmd(state: StateArg, json_: JsonOpt = False) -> None:
    """Users, segment sizes, batches, drift and the model version."""
    info = report.status(state)
    if json_:
        echo_json(info)
    else:
        echo_lines(report.status_lines(info))


@watch_app.command("moves")
def moves_cmd(
    state: StateArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE (.parquet, .csv or .json).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only moves at or after this ISO time (`at`).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """The moves log: user_id, from_segment, from_id, to_segment, to_id, at, batch, reason,
    logged_at."""
    moment = parse_as_of(since, "--since") if since is not None else None
    frame = report.moves(state, moment)
    if output is not None:
        _write_frame(frame, output)
        echo(f"wrote {frame.height:,} moves to {output}")
        return
    if json_:
        echo_json(
            [
                {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
                for row in frame.iter_rows(named=True)
            ]
        )
        return
    lines = [
        f"{row['at']:%Y-%m-%d %H:%M:%S}  batch {row['batch']}  {row['user_id']}: "
        f"{row['from_segment'] or '(new)'} -> {row['to_segment']}  ({row['reason']})"
        for row in frame.iter_rows(named=True)
    ]
    echo_lines(lines or ["no moves"])


def _write_frame(frame: pl.DataFrame, output: Path) -> None:
    suffix = output.suffix.lower()
    if suffix not in (".parquet", ".csv", ".json"):
        raise InputError(
            "the moves file must end in .parquet, .csv or .json",
            file=output,
            hint="e.g. -o moves.parquet",
        )
    check_writable(output)
    with atomic_write(output) as tmp:
        if suffix == ".parquet":
            frame.write_parquet(tmp)
        elif suffix == ".csv":
            frame.write_csv(tmp)
        else:
            frame.write_json(tmp)


@watch_app.command("export")
def export_cmd(
    state: StateArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the labels (.parquet or .csv).")
    ],
) -> None:
    """The current labels, in the schema `segtui segment` writes."""
    users = report.export_labels(state, output)
    echo(f"wrote {users:,} users' labels to {output}")
