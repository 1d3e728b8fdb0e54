"""Sessions from an inactivity gap, for logs with no session column.

A session is a run of one user's events with no gap longer than the session gap; its id is the
user and the session's start in epoch seconds (``user#1700000000``), so it is stable across runs
and readable in an export.
"""

from __future__ import annotations

import math

import polars as pl

from segtui.errors import InputError

MAX_GAP_MINUTES = 366 * 24 * 60
"""A longer gap would make a session of a year: surely a typo for something else."""
MIN_GAP_MINUTES = 1 / 60
"""One second: a session's id is its start in whole seconds, so two sessions of a shorter gap
could start in the same second and be taken for one."""


def check_session_gap(gap_minutes: float) -> float:
    """The gap, or an InputError before any work when it is not a positive finite number."""
    if not math.isfinite(gap_minutes) or gap_minutes <= 0:
        raise InputError(
            f"the session gap must be a positive number of minutes, not {gap_minutes:g}",
            hint="For example --session-gap 30.",
        )
    if gap_minutes < MIN_GAP_MINUTES:
        raise InputError(
            f"the session gap of {gap_minutes:g} minutes is shorter than a second",
            hint="Session ids are the start in whole seconds; for example --session-gap 30.",
        )
    if gap_minutes > MAX_GAP_MINUTES:
        raise InputError(
            f"the session gap of {gap_minutes:g} minutes is longer than a year",
            hint="Give it in minutes, for example --session-gap 30.",
        )
    return gap_minutes


def session_expr(gap_minutes: float) -> pl.Expr:
    """Session id for data sorted by (user_id, ts): user plus the session's start (epoch s)."""
    gap = pl.duration(microseconds=round(gap_minutes * 60_000_000))
    new = (pl.col("user_id") != pl.col("user_id").shift(1)).fill_null(True) | (
        (pl.col("ts") - pl.col("ts").shift(1)) > gap
    ).fill_null(True)
    start = pl.when(new).then(pl.col("ts").dt.epoch("s")).forward_fill()
    return (pl.col("user_id") + pl.lit("#") + start.cast(pl.Utf8)).alias("session_id")


def derive_sessions(lf: pl.LazyFrame, gap_minutes: float) -> pl.LazyFrame:
    """Sort by (user_id, ts) and add ``session_id`` from an inactivity gap."""
    return lf.sort(["user_id", "ts"]).with_columns(session_expr(gap_minutes))


def session_decision(gap_minutes: float) -> str:
    """What the person is told when sessions are derived."""
    return (
        f"session_id: derived from a {gap_minutes:g}-minute inactivity gap "
        "per user (no session column); id is user#start-epoch-seconds"
    )
