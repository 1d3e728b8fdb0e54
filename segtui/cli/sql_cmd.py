"""``segtui sql MODEL --dialect D``: the model as one SQL ``SELECT`` a warehouse can run.

The query reads a relation named ``raw_events`` holding the source columns of the layout the
model was trained on and returns ``user_id, segment_id, segment``
(:mod:`segtui.artifacts.score_sql`). SQL is printed as it is: it is text for an engine, built
from the model's own names and values with every identifier quoted and every string escaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segtui.artifacts.model import read_model
from segtui.artifacts.score_sql import scoring_sql
from segtui.errors import InputError

DIALECTS = ("duckdb", "spark", "postgres", "bigquery", "snowflake")
"""The dialects the contract names; those not rendered yet are refused with the reason."""


def sql(
    model: Annotated[
        Path, typer.Argument(help="A NAME.model.json, or a segments.parquet written by segment.")
    ],
    dialect: Annotated[
        str, typer.Option("--dialect", help=f"SQL dialect: {', '.join(DIALECTS)}.")
    ] = "duckdb",
    relation: Annotated[
        str, typer.Option("--relation", help="The relation the query reads.")
    ] = "raw_events",
    canonical: Annotated[
        bool,
        typer.Option(
            "--canonical",
            help="Read canonical events (segtui's columns) instead of the layout's raw rows.",
        ),
    ] = False,
) -> None:
    """Print the scoring SQL of a saved model: user_id, segment_id, segment for every user."""
    if dialect not in DIALECTS:
        raise InputError(
            f"unknown SQL dialect '{dialect}'", hint=f"Use one of: {', '.join(DIALECTS)}."
        )
    if dialect not in ("duckdb", "spark"):
        raise InputError(
            f"scoring SQL for {dialect} is not rendered yet; duckdb and spark are",
            hint="Use --dialect duckdb, or run the DuckDB query where your data can be read.",
        )
    m = read_model(model)
    typer.echo(scoring_sql(m, dialect, relation, raw=not canonical))
