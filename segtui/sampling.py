"""One rule for which users a sample holds, the same in Python and in every SQL engine.

A user's sample key is the MD5 of ``"<seed>:<user_id>"`` as lower-case hex; a sample of n users
is the n users with the smallest keys (the user id breaks a tie, which MD5 makes all but
impossible). MD5 is spelled the same in DuckDB, Spark, PostgreSQL and Snowflake (``md5``) and
BigQuery (``TO_HEX(MD5(...))``), so ``--sample-size`` picks the same users whatever runs it, and
a sample drawn inside an engine is the one segtui would draw. Not row order, not a random
generator's stream: the same seed and users give the same sample on any machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


def sample_key(user_id: str, seed: int) -> str:
    """The user's sample key: MD5 hex of ``"<seed>:<user_id>"``."""
    return hashlib.md5(f"{seed}:{user_id}".encode(), usedforsecurity=False).hexdigest()


def sample_rows(user_ids: Sequence[str], size: int, seed: int) -> np.ndarray:
    """Row numbers (sorted) of the ``size`` users with the smallest sample keys."""
    if size >= len(user_ids):
        return np.arange(len(user_ids))
    keys = np.array([sample_key(str(uid), seed) for uid in user_ids])
    order = np.lexsort((np.asarray(user_ids, dtype=str), keys))
    return np.sort(order[:size])


def sample_key_sql(user_column: str, seed: int, dialect: str = "duckdb") -> str:
    """The sample key as a SQL expression over a (quoted) text user id column."""
    text = f"'{int(seed)}:' || {user_column}"
    if dialect == "bigquery":
        return f"TO_HEX(MD5({text}))"
    return f"md5({text})"
