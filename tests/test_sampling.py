"""One sampling rule: the same users in Python, in DuckDB, whatever the row order."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl

from segtui.clustering.fit import fit_clusters
from segtui.clustering.specs import FitSpec
from segtui.sampling import sample_key, sample_key_sql, sample_rows

IDS = [f"u{i:05d}" for i in range(2000)] + ["o'brien", "ü-1", ""]


def test_known_key() -> None:
    # md5("7:u1"), as `printf '7:u1' | md5sum` gives it
    assert sample_key("u1", 7) == "9e4bd96895b8755b76f9ee017b55ea29"


def test_duckdb_picks_the_same_users() -> None:
    rows = sample_rows(IDS, 150, seed=3)
    con = duckdb.connect()
    con.register("users", pl.DataFrame({"user_id": IDS}).to_arrow())
    key = sample_key_sql('"user_id"', 3)
    picked = con.sql(f'SELECT "user_id" FROM users ORDER BY {key}, "user_id" LIMIT 150').fetchall()
    assert sorted(uid for (uid,) in picked) == sorted(IDS[i] for i in rows)


def test_the_sample_follows_users_not_rows_or_seeds() -> None:
    shuffled = list(reversed(IDS))
    a = {IDS[i] for i in sample_rows(IDS, 100, seed=1)}
    b = {shuffled[i] for i in sample_rows(shuffled, 100, seed=1)}
    assert a == b and len(a) == 100
    assert a != {IDS[i] for i in sample_rows(IDS, 100, seed=2)}
    assert list(sample_rows(IDS[:10], 50, seed=1)) == list(range(10))


def test_a_sampled_fit_is_fitted_on_the_rule_s_users() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(len(IDS), 3))
    result = fit_clusters(
        X, FitSpec("agglomerative", {"k": 3}, seed=4, sample_size=300), user_ids=IDS
    )
    assert result.sample_indices is not None
    assert list(result.sample_indices) == list(sample_rows(IDS, 300, seed=4))
