"""``segtui sql MODEL --dialect D``: the model as one SQL ``SELECT`` a warehouse can run.

The query reads a relation named ``raw_events`` (``raw_users`` for a model fitted on a users
table) holding the source columns of the layout the model was trained on and returns
``user_id, segment_id, segment`` (:mod:`segtui.artifacts.score_sql`). DuckDB, Spark SQL and
PostgreSQL are rendered by segtui and executed in its tests; BigQuery and Snowflake are written by
sqlglot from the DuckDB text over canonical events, and refused with the reason where that
translation would not be faithful. SQL is printed as it is: it is text for an engine, built
from the model's own names and values with every identifier quoted and every string escaped
(on a terminal, control characters in it are shown escaped: ``segtui.cli.output.echo_exact``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from segtui.artifacts.model import read_model
from segtui.artifacts.score_sql import (
    SCORING_DIALECTS,
    TRANSPILED_DIALECTS,
    scoring_sql,
    transpiled_sql,
)
from segtui.cli.options import AsOfOpt, parse_as_of
from segtui.cli.output import echo_exact
from segtui.errors import InputError

DIALECTS = (*SCORING_DIALECTS, *TRANSPILED_DIALECTS)
"""duckdb, spark, postgres (rendered here), bigquery, snowflake (through sqlglot)."""


def sql(
    model: Annotated[
        Path, typer.Argument(help="A NAME.model.json, or a segments.parquet written by segment.")
    ],
    dialect: Annotated[
        str, typer.Option("--dialect", help=f"SQL dialect: {', '.join(DIALECTS)}.")
    ] = "duckdb",
    relation: Annotated[
        str | None,
        typer.Option(
            "--relation",
            help="The relation the query reads. Default: raw_events (raw_users for a model "
            "fitted on a users table).",
        ),
    ] = None,
    canonical: Annotated[
        bool,
        typer.Option(
            "--canonical",
            help="Read canonical events (segtui's columns) instead of the layout's raw rows "
            "(needed for bigquery and snowflake).",
        ),
    ] = False,
    as_of: AsOfOpt = None,
    features_only: Annotated[
        bool,
        typer.Option("--features-only", help="Print the feature query alone (user_id, features)."),
    ] = False,
    flat_json: Annotated[
        bool,
        typer.Option(
            "--flat-json",
            help="NDJSON models: nested keys are columns named by their path "
            "(properties.price), not the struct fields of DuckDB's read_json or Spark's JSON "
            "reader.",
        ),
    ] = False,
) -> None:
    """Print the scoring SQL of a saved model: user_id, segment_id, segment for every user."""
    if dialect not in DIALECTS:
        raise InputError(
            f"unknown SQL dialect '{dialect}'", hint=f"Use one of: {', '.join(DIALECTS)}."
        )
    reference = None if as_of is None else parse_as_of(as_of)
    m = read_model(model)
    if m.kind == "users_table" and reference is not None:
        raise InputError(
            "--as-of is for models fitted on events; this one was fitted on a users table, "
            "whose features are read as they are, not computed at a time",
            file=model,
        )
    if relation is None:
        relation = "raw_users" if m.kind == "users_table" else "raw_events"
    try:
        if dialect in TRANSPILED_DIALECTS:
            text = transpiled_sql(
                m,
                dialect,
                relation,
                raw=not canonical,
                as_of=reference,
                features_only=features_only,
            )
        else:
            text = scoring_sql(
                m,
                dialect,
                relation,
                raw=not canonical,
                as_of=reference,
                features_only=features_only,
                structs=not flat_json,
            )
    except InputError as error:  # what in the model cannot be written: say which model
        raise error if error.file is not None else replace(error, file=model) from None
    echo_exact(text)
