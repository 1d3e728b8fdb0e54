"""Rules: tokenizer, parser, precedence, canonical text, errors with positions, evaluation."""

from __future__ import annotations

import polars as pl
import pytest

from segtui.errors import InputError
from segtui.segments.rules import (
    And,
    Compare,
    Feature,
    IsNull,
    Not,
    Number,
    Or,
    RuleError,
    parse_named_rule,
    parse_rule,
    tokenize,
)

FEATURES = ["add_to_cart", "purchases", "recency_days", "orders", "weekend_share", "refunds"]


@pytest.fixture
def users() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": ["a", "b", "c", "d", "e", "f"],
            "add_to_cart": [0, 3, 5, 1, 4, None],
            "purchases": [0, 0, 2, 0, 0, 1],
            "recency_days": [10.0, 40.0, 5.0, 90.0, 31.0, 30.0],
            "orders": [0, 0, 6, 0, 7, 1],
            "weekend_share": [0.5, 0.1, 0.3, None, 0.1, float("nan")],
            "refunds": [0, 0, 3, 0, 0, 1],
        }
    )


def matching(rule_text: str, users: pl.DataFrame) -> list[str]:
    rule = parse_rule(rule_text, FEATURES)
    return rule.filter(users)["user_id"].to_list()


# ---- parsing -------------------------------------------------------------------------------


def test_simple_comparison_tree() -> None:
    rule = parse_rule("add_to_cart >= 3 and purchases == 0", FEATURES)
    assert rule.ast == And(
        (
            Compare(Feature("add_to_cart"), ">=", Number(3)),
            Compare(Feature("purchases"), "==", Number(0)),
        )
    )
    assert rule.features_used == ("add_to_cart", "purchases")
    assert rule.text == "add_to_cart >= 3 and purchases == 0"


def test_precedence_not_over_and_over_or() -> None:
    rule = parse_rule("recency_days <= 30 or orders > 5 and not weekend_share < 0.2", FEATURES)
    assert rule.ast == Or(
        (
            Compare(Feature("recency_days"), "<=", Number(30)),
            And(
                (
                    Compare(Feature("orders"), ">", Number(5)),
                    Not(Compare(Feature("weekend_share"), "<", Number(0.2))),
                )
            ),
        )
    )


def test_parentheses_override_precedence() -> None:
    rule = parse_rule("(recency_days <= 30 or orders > 5) and purchases == 0", FEATURES)
    assert isinstance(rule.ast, And)
    assert isinstance(rule.ast.terms[0], Or)
    assert str(rule) == "(recency_days <= 30 or orders > 5) and purchases == 0"


def test_not_applies_to_parenthesised_group() -> None:
    rule = parse_rule("NOT (orders > 1 OR refunds > 0)", FEATURES)
    assert rule.ast == Not(
        Or(
            (
                Compare(Feature("orders"), ">", Number(1)),
                Compare(Feature("refunds"), ">", Number(0)),
            )
        )
    )
    assert str(rule) == "not (orders > 1 or refunds > 0)"


def test_keywords_case_insensitive_and_chains_flatten() -> None:
    rule = parse_rule("orders>1 AND purchases>1 And refunds>1", FEATURES)
    assert isinstance(rule.ast, And) and len(rule.ast.terms) == 3
    assert str(rule) == "orders > 1 and purchases > 1 and refunds > 1"


def test_double_not() -> None:
    rule = parse_rule("not not orders > 1", FEATURES)
    assert rule.ast == Not(Not(Compare(Feature("orders"), ">", Number(1))))


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_every_operator_parses(op: str) -> None:
    rule = parse_rule(f"orders {op} 2", FEATURES)
    assert rule.ast == Compare(Feature("orders"), op, Number(2))
    assert str(rule) == f"orders {op} 2"


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("3", 3),
        ("-3", -3),
        ("+3", 3),
        ("0.25", 0.25),
        ("-0.5", -0.5),
        (".5", 0.5),
        ("1.", 1.0),
        ("1e3", 1000.0),
        ("2.5E-2", 0.025),
        ("-1e+2", -100.0),
    ],
)
def test_numbers(literal: str, value: float) -> None:
    rule = parse_rule(f"orders > {literal}", FEATURES)
    assert isinstance(rule.ast, Compare)
    assert rule.ast.right == Number(value)
    assert type(rule.ast.right.value) is type(value)


def test_negative_number_without_spaces() -> None:
    assert [t.kind for t in tokenize("orders>-3")] == ["name", "op", "number", "end"]


def test_number_on_left_and_feature_vs_feature() -> None:
    assert parse_rule("3 <= orders", FEATURES).ast == Compare(Number(3), "<=", Feature("orders"))
    rule = parse_rule("purchases < refunds", FEATURES)
    assert rule.features_used == ("purchases", "refunds")


def test_is_null_and_is_not_null() -> None:
    assert parse_rule("weekend_share IS NULL", FEATURES).ast == IsNull(Feature("weekend_share"))
    rule = parse_rule("weekend_share is not null", FEATURES)
    assert rule.ast == IsNull(Feature("weekend_share"), negated=True)
    assert str(rule) == "weekend_share is not null"


def test_backtick_names() -> None:
    rule = parse_rule("`odd col` > 1 and `and` < 2", ["odd col", "and"])
    assert rule.features_used == ("odd col", "and")
    assert str(rule) == "`odd col` > 1 and `and` < 2"


@pytest.mark.parametrize(
    "text",
    [
        "recency_days <= 30 or (orders > 5 and not weekend_share < 0.2)",
        "not (orders > 1 or refunds > 0) and purchases == 0",
        "(orders > 1 or refunds > 0) and (purchases == 0 or add_to_cart >= 3e2)",
        "weekend_share is null or not (orders != -2 and refunds < .5)",
    ],
)
def test_canonical_text_parses_to_same_tree(text: str) -> None:
    rule = parse_rule(text, FEATURES)
    again = parse_rule(str(rule), FEATURES)
    assert again.ast == rule.ast
    assert str(again) == str(rule)


def test_without_feature_list_any_name_is_accepted() -> None:
    assert parse_rule("anything > 1").features_used == ("anything",)


# ---- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("", 0, "a feature name, a number, 'not' or '('"),
        ("add_to_cart >= ", 15, "a feature name or a number"),
        ("add_to_cart = 3", 12, "'=='"),
        ("orders ! 3", 7, "'!='"),
        ("(orders > 1", 11, "'and', 'or' or ')'"),
        ("orders > 1)", 10, "'and', 'or' or the end of the rule"),
        ("orders 3", 7, "a comparison operator (<, <=, >, >=, ==, !=) or 'is'"),
        ("orders > 1 and", 14, "a feature name, a number, 'not' or '('"),
        ("orders > 1 or or refunds > 0", 14, "a feature name, a number, 'not' or '('"),
        ("3 > 4", 0, "a feature name on at least one side of the comparison"),
        ("orders is 3", 10, "'null' or 'not null'"),
        ("orders is not 3", 14, "'null'"),
        ("orders >= 3abc", 10, "a number"),
        (
            "orders @ 1",
            7,
            "a feature name, a number, a comparison operator, 'and', 'or', 'not' or parentheses",
        ),
        ("`orders > 1", 11, "a closing '`'"),
        ("orders > > 1", 9, "a feature name or a number"),
        ("() or orders > 1", 1, "a feature name, a number, 'not' or '('"),
        ("orders > null", 9, "a feature name or a number"),
    ],
)
def test_error_positions_and_expected(text: str, position: int, expected: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_rule(text, FEATURES)
    error = info.value
    assert isinstance(error, InputError)
    assert error.position == position
    assert error.expected == expected
    assert f"at position {position}; expected {expected}." in error.message


def test_error_caret_display() -> None:
    with pytest.raises(RuleError) as info:
        parse_rule("orders > 1 and purchases = 0", FEATURES)
    described = info.value.describe().splitlines()
    assert described[1] == "  orders > 1 and purchases = 0"
    assert described[2] == "  " + " " * 25 + "^"
    assert described[0] == (
        "rule: '=' is not an operator at position 25; expected '=='. Use '==' to compare."
    )


def test_unknown_feature_suggests_closest() -> None:
    with pytest.raises(RuleError) as info:
        parse_rule("orders > 1 and add_to_crt >= 3", FEATURES)
    error = info.value
    assert error.position == 15
    assert error.expected == "a feature name"
    assert error.hint == "Did you mean 'add_to_cart'?"
    assert "unknown feature 'add_to_crt'" in error.message


def test_unknown_feature_case_mismatch_suggests_real_case() -> None:
    with pytest.raises(RuleError) as info:
        parse_rule("Purchases > 1", FEATURES)
    assert info.value.hint == "Did you mean 'purchases'?"


def test_unknown_feature_without_close_match_lists_features() -> None:
    with pytest.raises(RuleError) as info:
        parse_rule("zzzz > 1", ["orders", "refunds"])
    assert info.value.hint == "Known features: orders, refunds."


# ---- evaluation ----------------------------------------------------------------------------


def test_evaluate_example_rules(users: pl.DataFrame) -> None:
    assert matching("add_to_cart >= 3 and purchases == 0", users) == ["b", "e"]
    assert matching("recency_days <= 30 or (orders > 5 and not weekend_share < 0.2)", users) == [
        "a",
        "c",
        "f",
    ]


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("<", ["a", "d"]),
        ("<=", ["a", "b", "d"]),
        (">", ["c", "e"]),
        (">=", ["b", "c", "e"]),
        ("==", ["b"]),
        ("!=", ["a", "c", "d", "e"]),
    ],
)
def test_every_operator_evaluates(users: pl.DataFrame, op: str, expected: list[str]) -> None:
    # add_to_cart is null for f: every comparison on it is false.
    assert matching(f"add_to_cart {op} 3", users) == expected


def test_null_and_nan_compare_false_and_not_flips(users: pl.DataFrame) -> None:
    # weekend_share: d is null, f is NaN -> treated as null.
    assert matching("weekend_share < 0.2", users) == ["b", "e"]
    assert matching("weekend_share >= 0.2", users) == ["a", "c"]
    assert matching("not weekend_share < 0.2", users) == ["a", "c", "d", "f"]
    assert matching("weekend_share is null", users) == ["d", "f"]
    assert matching("weekend_share is not null", users) == ["a", "b", "c", "e"]


def test_or_with_null_side(users: pl.DataFrame) -> None:
    assert matching("add_to_cart > 100 or purchases == 1", users) == ["f"]


def test_feature_vs_feature_and_number_left(users: pl.DataFrame) -> None:
    assert matching("purchases < refunds", users) == ["c"]
    assert matching("5 <= orders", users) == ["c", "e"]


def test_float_threshold_on_int_column(users: pl.DataFrame) -> None:
    assert matching("orders > 6.5", users) == ["e"]
    assert matching("recency_days == 3e1", users) == ["f"]


def test_mask_aligned_with_rows(users: pl.DataFrame) -> None:
    rule = parse_rule("orders >= 1", FEATURES)
    assert rule.mask(users).tolist() == [False, False, True, False, True, True]


def test_missing_column_at_evaluation() -> None:
    rule = parse_rule("orders > 1")
    with pytest.raises(InputError) as info:
        rule.mask(pl.DataFrame({"user_id": ["a"], "refunds": [1]}))
    assert "orders" in info.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Big spenders: revenue > 1000", ("Big spenders", "revenue > 1000")),
        ("revenue > 1000", (None, "revenue > 1000")),
        ("`a:b` > 1", (None, "`a:b` > 1")),
        ("  Big   spenders :  ", ("Big spenders", "")),
        ("Uses `a:b`: `a:b` > 1", ("Uses `a:b`", "`a:b` > 1")),
        (": revenue > 1", (None, ": revenue > 1")),
        ("Ratio: a > 1: b", ("Ratio", "a > 1: b")),
    ],
)
def test_parse_named_rule(text: str, expected: tuple[str | None, str]) -> None:
    assert parse_named_rule(text) == expected
