"""``segtui sample``: write a seeded event log with planted behavioral groups.

The same generator made the bundled ``sample_data/``; any size works (``--users 1000000``), in the
canonical, clickstream or invoice-line layout, as CSV, gzipped CSV or parquet.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from segtui import sample as sample_mod
from segtui.cli.output import echo_json, echo_lines
from segtui.formatting import percent


def sample(
    users: Annotated[
        int, typer.Option("--users", "-n", min=1, help="How many users to generate.")
    ] = 3000,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder to write into (created if missing), or an events file path whose "
            "suffix (.csv, .csv.gz, .parquet) sets the format. truth.csv goes beside it.",
        ),
    ] = Path("segtui_sample"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same files.")] = 0,
    layout: Annotated[
        str,
        typer.Option(
            "--layout",
            help="canonical (segtui's own columns), clickstream (event_time,event_type,...) "
            "or invoice (InvoiceNo,StockCode,...).",
        ),
    ] = "canonical",
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="csv, csv.gz or parquet (default: from -o, else csv)."),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print what was written as JSON.")] = False,
) -> None:
    """Generate a sample event log with planted behavioral groups and its ground truth."""
    began = time.perf_counter()
    written = sample_mod.write_sample(out, users, seed=seed, layout=layout, fmt=fmt)
    seconds = time.perf_counter() - began
    if json_:
        payload = {
            "events_path": str(written.events_path),
            "truth_path": str(written.truth_path),
            "layout": written.layout,
            "format": written.fmt,
            "users": written.users,
            "events": written.events,
            "groups": written.groups,
            "seed": seed,
            "seconds": round(seconds, 3),
        }
        echo_json(payload)
        return
    size = written.events_path.stat().st_size
    lines = [
        f"Wrote {written.events:,} events of {written.users:,} users to {written.events_path} "
        f"({written.layout} layout, {written.fmt}, {_size(size)}) in {seconds:.1f} s.",
        f"Ground truth (user_id,group): {written.truth_path}",
    ]
    width = max(len(name) for name in written.groups)
    for name, count in written.groups.items():
        share = count / written.users if written.users else 0.0
        lines.append(f"  {name:<{width}}  {count:>9,}  {percent(share):>6}")
    echo_lines(lines)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
