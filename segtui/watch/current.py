"""What a run (or a refit) reads from the state before it starts: the model and the ledger."""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb

from segtui.artifacts.model import Model, parse_model
from segtui.watch.layout import Layout, read_layout
from segtui.watch.state import first_row


def latest_model(con: duckdb.DuckDBPyConnection) -> tuple[Model, int]:
    """The newest model version in the state, parsed, and its number."""
    version, text = first_row(
        con, "SELECT version, model_json FROM models ORDER BY version DESC LIMIT 1"
    )
    return parse_model(json.loads(text)), int(version)


@dataclass
class Current:
    """What a run keeps between batches (read from the state at the start)."""

    model: Model
    version: int
    layout: Layout
    done: set[str]
    next_batch: int


def load_current(con: duckdb.DuckDBPyConnection) -> Current:
    """The newest model, the state's layout, the sources done and the next batch number."""
    model, version = latest_model(con)
    done = {str(r[0]) for r in con.sql("SELECT source FROM batches").fetchall()}
    last = first_row(con, "SELECT coalesce(max(batch), 0) FROM batches")[0]
    return Current(model, version, read_layout(con, model), done, int(last) + 1)
