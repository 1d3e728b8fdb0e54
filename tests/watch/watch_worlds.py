"""Small watch worlds for the tests: a sample log cut by time into history and new files, a
model fitted on the history, and the batch answers (``assign`` and ``features --model`` on all
the events) that the incremental state must equal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl
import typer
from typer.testing import CliRunner

from segtui.artifacts.assign import as_model, assign, model_users_with_messages
from segtui.cli import segment_cmd
from segtui.sample import generate
from segtui.watch.create import create_state
from segtui.watch.report import current_labels
from segtui.watch.run import RunOptions, run
from segtui.watch.scoring import Thresholds

TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.6fZ"


@dataclass(frozen=True)
class World:
    folder: Path
    history: Path
    model: Path
    new: pl.DataFrame
    """The events after the cut, not yet written anywhere (tests split them as they need)."""
    cut: datetime


def write_events(events: pl.DataFrame, path: Path) -> Path:
    events.write_csv(path, datetime_format=TS_FORMAT)
    return path


def fit_model(history: Path, out: Path, k: int = 4) -> Path:
    app = typer.Typer()
    app.command("segment")(segment_cmd.segment)
    app.command("other")(lambda: None)
    args = [str(history), "-k", str(k), "-o", str(out), "--no-stability", "--seed", "0"]
    result = CliRunner().invoke(app, ["segment", *args])
    assert result.exit_code == 0, result.output
    return out.with_name(out.name.replace(".parquet", ".model.json"))


def build_world(
    folder: Path, users: int = 240, seed: int = 11, *, sessions: bool = True, share: float = 0.7
) -> World:
    """History = the first ``share`` of the time span; the rest is returned as ``new``."""
    events, _ = generate(users, seed=seed)
    if not sessions:
        events = events.drop("session_id")
    first, last = events["ts"].min(), events["ts"].max()
    cut = first + (last - first) * share
    history = write_events(events.filter(pl.col("ts") <= cut), folder / "history.csv")
    model = fit_model(history, folder / "seg.parquet")
    return World(folder, history, model, events.filter(pl.col("ts") > cut), cut)


def split_files(events: pl.DataFrame, inbox: Path, parts: int) -> list[Path]:
    """``events`` in ``parts`` files of consecutive rows (in time order), named in order."""
    inbox.mkdir(parents=True, exist_ok=True)
    events = events.sort("ts", maintain_order=True)
    size = -(-events.height // parts)
    return [
        write_events(events.slice(i * size, size), inbox / f"part{i:03d}.csv")
        for i in range(parts)
        if i * size < events.height
    ]


def watch(
    world: World,
    state: Path,
    inbox: Path,
    *,
    thresholds: Thresholds | None = None,
    batch_events: int = 100_000,
) -> list[str]:
    """init over the history, then ``run --once`` over the inbox; the lines it printed."""
    create_state(state, world.model, [world.history])
    lines: list[str] = []
    options = RunOptions(
        once=True, thresholds=thresholds or Thresholds(), batch_events=batch_events
    )
    run(state, inbox, options, lines.append)
    return lines


def batch_labels(model: Path, files: Sequence[Path]) -> pl.DataFrame:
    return assign(model, list(files)).select("user_id", "segment_id", "segment").sort("user_id")


def batch_features(model: Path, files: Sequence[Path]) -> pl.DataFrame:
    users, _ = model_users_with_messages(as_model(model), list(files))
    return users.sort("user_id")


def state_labels(state: Path) -> pl.DataFrame:
    frame, _ = current_labels(state)
    return frame.select("user_id", "segment_id", "segment").sort("user_id")
