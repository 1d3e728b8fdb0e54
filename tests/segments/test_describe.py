"""Each segment as a rule: planted thresholds come back exactly, the numbers are the rule's own,
never more than three conditions, and the SQL selects exactly the rows the rule does."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest

from segtui.errors import InputError
from segtui.segments.describe import (
    MAX_CONDITIONS,
    RuleDescription,
    describe_segment,
    describe_segments,
    round_between,
)
from segtui.segments.rules import And, parse_rule, render, to_sql

PLANTED = {
    0: {"a >= 50", "b >= 5"},
    1: {"a >= 50", "b < 5"},
    2: {"a < 50", "c >= 2"},
    3: {"a < 50", "c < 2"},
    4: {"a < 50", "c is null"},
}


def planted_world(n: int = 3000, seed: int = 3) -> tuple[pl.DataFrame, np.ndarray]:
    """Five segments defined by thresholds (one by a missing value) and a feature of noise."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 100, n)
    b = rng.integers(0, 20, n)
    c = rng.uniform(0, 4, n)
    c[rng.random(n) < 0.25] = np.nan
    noise = rng.normal(0, 1, n)
    labels = np.select(
        [(a >= 50) & (b >= 5), a >= 50, np.isnan(c), c >= 2],
        [0, 1, 4, 2],
        default=3,
    )
    users = pl.DataFrame(
        {"user_id": [f"u{i:05d}" for i in range(n)], "a": a, "b": b, "c": c, "noise": noise}
    ).with_columns(pl.col("c").fill_nan(None))
    return users, labels


def _terms(rule: str) -> set[str]:
    ast = parse_rule(rule).ast
    return {render(t) for t in ast.terms} if isinstance(ast, And) else {render(ast)}


def test_planted_thresholds_come_back_exactly() -> None:
    users, labels = planted_world()
    found = describe_segments(users, labels, ["a", "b", "c", "noise"])
    assert sorted(found) == sorted(PLANTED)
    for sid, conditions in PLANTED.items():
        assert _terms(found[sid].rule) == conditions, (sid, found[sid].rule)
        assert found[sid].precision == 1.0
        assert found[sid].coverage == 1.0
        assert found[sid].size == found[sid].matched == int((labels == sid).sum())
    one = describe_segment(users, labels, 4, ["a", "b", "c", "noise"])
    assert one == found[4]


def test_sampling_is_deterministic_and_still_finds_the_planted_rule() -> None:
    users, labels = planted_world(6000)
    first = describe_segments(users, labels, ["a", "b", "c"], sample=500, seed=1)
    again = describe_segments(users, labels, ["a", "b", "c"], sample=500, seed=1)
    assert first == again
    assert _terms(first[0].rule) == PLANTED[0]


def test_at_most_three_conditions_and_numbers_are_the_rules_own() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    X = rng.normal(size=(n, 6))
    X[rng.random((n, 6)) < 0.1] = np.nan
    users = pl.DataFrame({"user_id": [str(i) for i in range(n)]}).with_columns(
        [pl.Series(f"f{j}", X[:, j]).fill_nan(None) for j in range(6)]
    )
    labels = rng.integers(0, 7, n)  # no structure at all: the tree must still stay shallow
    labels[np.nan_to_num(X[:, 0]) > 1] = 7
    found = describe_segments(users, labels, [f"f{j}" for j in range(6)], noise_id=6)
    assert 6 not in found and 7 in found
    for sid, d in found.items():
        rule = parse_rule(d.rule, [f"f{j}" for j in range(6)])
        assert len(_terms(d.rule)) <= MAX_CONDITIONS
        mask, members = rule.mask(users), labels == sid
        assert d.matched == mask.sum() and d.size == members.sum()
        assert d.precision == (mask & members).sum() / mask.sum()
        assert d.coverage == (mask & members).sum() / members.sum()
        assert RuleDescription.from_dict(sid, d.to_dict()) == d


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(4, 5, 5), (49.97, 50.03, 50), (0.123, 0.1261, 0.125), (-5, 3, 0), (99.7, 100.2, 100),
     (0.1, 0.30000000000000004, 0.2), (1234, 1260, 1250), (-0.52, -0.47, -0.5)],
)  # fmt: skip
def test_round_between(low: float, high: float, expected: float) -> None:
    got = round_between(low, high)
    assert got == expected and low < got <= high
    assert repr(got) == repr(expected)


def _users_with_nulls() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(8)],
            "x": [1.0, None, float("nan"), 5.0, 0.1, -2.0, 3.0, 0.30000000000000004],
            "n": [0, 1, None, 3, 4, 5, 6, 7],
            "flag": [True, False, None, True, False, True, False, True],
            'odd "name"': [1.0, 2.0, 3.0, None, 5.0, 6.0, 7.0, 8.0],
        }
    )


RULES = [
    "x >= 1",
    "not x >= 1",
    "x < 1 or n > 3",
    "not (x < 1 or n > 3)",
    "not (x > 0 and not n == 1)",
    "x is null",
    "n is not null and not x is null",
    "x < n",
    "not x != n",
    "flag == 1 and x > 0.1",
    "flag != 1",
    "x == 0.30000000000000004",
    "x <= 0.3",
    '`odd "name"` >= 5 and x >= -2',
]


@pytest.mark.parametrize("text", RULES)
@pytest.mark.parametrize("nan_free", [(), ("n", "flag")])
def test_sql_where_selects_exactly_the_rules_rows(text: str, nan_free: tuple[str, ...]) -> None:
    users = _users_with_nulls()
    rule = parse_rule(text, users.columns)
    expected = users.filter(rule.expr)["user_id"].to_list()
    con = duckdb.connect()
    con.register("users", users.to_arrow())
    sql = f"SELECT user_id FROM users WHERE {to_sql(rule.ast, nan_free=nan_free)} ORDER BY user_id"
    assert [row[0] for row in con.execute(sql).fetchall()] == expected, sql


def test_described_sql_selects_the_described_users() -> None:
    users, labels = planted_world(1500)
    found = describe_segments(users, labels, ["a", "b", "c"])
    con = duckdb.connect()
    con.register("users", users.to_arrow())
    for sid, d in found.items():
        rows = con.execute(f"SELECT user_id FROM users WHERE {d.sql} ORDER BY user_id").fetchall()
        assert [r[0] for r in rows] == users.filter(labels == sid)["user_id"].to_list()


def test_to_sql_quotes_names_and_refuses_unknown_dialects() -> None:
    ast = parse_rule('`a"b` >= 3 and c != 1.5').ast
    assert to_sql(ast, nan_free=['a"b']) == ('"a""b" >= 3 AND nullif("c", \'NaN\'::DOUBLE) <> 1.5')
    with pytest.raises(InputError, match="no SQL dialect 'oracle'"):
        to_sql(ast, dialect="oracle")
