"""Rule-based segments: a tiny expression language over feature names, compiled to polars.

A rule such as ``add_to_cart >= 3 and purchases == 0`` is read by a hand-written tokenizer and a
recursive-descent parser into a small tree of frozen dataclasses, and the tree is turned into a
``pl.Expr``. Nothing is ever passed to ``eval``: the only things a rule can do are the ones the
grammar below names, so a rule typed into the app or pasted from a CRM is safe to run.

Grammar (keywords are case-insensitive; ``not`` binds tighter than ``and``, ``and`` tighter than
``or``; comparisons bind tighter than all three)::

    rule       := or_expr END
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" or_expr ")" | comparison
    comparison := operand ("<" | "<=" | ">" | ">=" | "==" | "!=") operand
                | feature "is" ["not"] "null"
    operand    := feature | number
    feature    := name made of letters, digits and "_" (not starting with a digit),
                  or any text in backticks: `weird column`
    number     := [+-] digits [. digits] [e [+-] digits]   (also ".5", "1.", "1e6")

At least one side of a comparison is a feature; two features may be compared
(``purchases < refunds``).

Missing values: a null (or NaN) feature value makes every comparison on it **false**, like
NaN in Python, so ``x < 1`` and ``x >= 1`` both leave out a user whose ``x`` is null, and
``not x < 1`` includes them. Use ``x is null`` / ``x is not null`` to ask about missing values
directly (NaN counts as null there too).

    >>> rule = parse_rule("add_to_cart >= 3 AND purchases == 0", ["add_to_cart", "purchases"])
    >>> str(rule)
    'add_to_cart >= 3 and purchases == 0'
    >>> rule.features_used
    ('add_to_cart', 'purchases')
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from segtui import sqltext
from segtui.errors import InputError, closest

COMPARISON_OPERATORS: tuple[str, ...] = ("<", "<=", ">", ">=", "==", "!=")
KEYWORDS: frozenset[str] = frozenset({"and", "or", "not", "is", "null"})

_EXPECT_START = "a feature name, a number, 'not' or '('"
_EXPECT_OPERAND = "a feature name or a number"
_EXPECT_OPERATOR = "a comparison operator (<, <=, >, >=, ==, !=) or 'is'"
_EXPECT_AFTER_TOP = "'and', 'or' or the end of the rule"
_EXPECT_AFTER_PAREN = "'and', 'or' or ')'"


# --------------------------------------------------------------------------------------------
# Errors


@dataclass
class RuleError(InputError):
    """A rule that cannot be read: where (0-based character offset) and what was expected there."""

    text: str = ""
    position: int = 0
    expected: str = ""

    def caret(self, indent: str = "  ") -> str:
        """Two lines: the rule, and a ``^`` under the offending character."""
        # one character per character, so the caret stays under the right one
        line = "".join(
            " " if ch.isspace() else "?" if not ch.isprintable() else ch for ch in self.text
        )
        return f"{indent}{line}\n{indent}{' ' * self.position}^"

    def describe(self) -> str:
        """The one-paragraph message, then the rule with a caret under the position."""
        return f"{super().describe()}\n{self.caret()}"


MAX_RULE_CHARS = 100_000
"""Longest rule accepted: a rule is typed or pasted, never generated at that size."""
MAX_NESTING = 100
"""Deepest nesting of parentheses and ``not`` accepted; the parser recurses once per level."""
MAX_NUMBER_DIGITS = 300
"""Longest number literal: past about 309 digits a float is infinite."""


def _error(
    text: str, position: int, problem: str, expected: str, hint: str | None = None
) -> RuleError:
    """Build a RuleError whose message says what was found, where, and what was expected."""
    return RuleError(
        f"rule: {problem} at position {position}; expected {expected}.",
        hint=hint,
        text=text,
        position=position,
        expected=expected,
    )


# --------------------------------------------------------------------------------------------
# Syntax tree


@dataclass(frozen=True)
class Feature:
    """A feature (column) name."""

    name: str


@dataclass(frozen=True)
class Number:
    """A numeric literal; ints stay ints so the canonical text keeps ``3`` rather than ``3.0``."""

    value: int | float


Operand = Feature | Number


@dataclass(frozen=True)
class Compare:
    """``left op right`` with op one of COMPARISON_OPERATORS."""

    left: Operand
    op: str
    right: Operand


@dataclass(frozen=True)
class IsNull:
    """``feature is null`` (or ``is not null`` when negated)."""

    feature: Feature
    negated: bool = False


@dataclass(frozen=True)
class Not:
    """``not operand``."""

    operand: Node


@dataclass(frozen=True)
class And:
    """All of ``terms`` (two or more; chains are flattened)."""

    terms: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Any of ``terms`` (two or more; chains are flattened)."""

    terms: tuple[Node, ...]


Node = Compare | IsNull | Not | And | Or


# --------------------------------------------------------------------------------------------
# Tokenizer


@dataclass(frozen=True)
class Token:
    """One lexical token: kind is name/number/op/lparen/rparen/keyword/end."""

    kind: str
    text: str
    position: int
    value: int | float | str | None = None


_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME_CHAR = re.compile(r"[A-Za-z0-9_.]")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``end`` token; bad characters raise RuleError."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        token = _next_token(text, i)
        tokens.append(token)
        i += len(token.text)  # a token's text is exactly what it consumed
    tokens.append(Token("end", "", len(text)))
    return tokens


_PARENS = {"(": "lparen", ")": "rparen"}


def _next_token(text: str, i: int) -> Token:
    """The token starting at ``text[i]`` (not a space)."""
    ch = text[i]
    if ch in _PARENS:
        return Token(_PARENS[ch], ch, i)
    two = text[i : i + 2]
    if two in ("<=", ">=", "==", "!="):
        return Token("op", two, i)
    if ch in "<>":
        return Token("op", ch, i)
    if ch == "=":
        raise _error(text, i, "'=' is not an operator", "'=='", hint="Use '==' to compare.")
    if ch == "!":
        raise _error(text, i, "'!' on its own is not an operator", "'!='")
    if ch == "`":
        return _quoted_name(text, i)
    if ch.isdigit() or (
        ch in "+-." and i + 1 < len(text) and (text[i + 1].isdigit() or text[i + 1] == ".")
    ):
        return _number(text, i)
    match = _NAME.match(text, i)
    if match is None:
        raise _error(
            text,
            i,
            f"unexpected character '{ch}'",
            "a feature name, a number, a comparison operator, 'and', 'or', 'not' or parentheses",
        )
    word = match.group(0)
    if word.lower() in KEYWORDS:
        return Token("keyword", word, i, word.lower())
    return Token("name", word, i, word)


def _quoted_name(text: str, i: int) -> Token:
    end = text.find("`", i + 1)
    if end < 0:
        raise _error(text, len(text), "unterminated quoted name", "a closing '`'")
    name = text[i + 1 : end]
    if not name:
        raise _error(text, i, "empty quoted name", "a feature name between '`' quotes")
    return Token("name", text[i : end + 1], i, name)


def _number(text: str, i: int) -> Token:
    match = _NUMBER.match(text, i)
    if match is None:
        raise _error(text, i, f"malformed number starting with '{text[i]}'", "a number")
    literal = match.group(0)
    end = match.end()
    if sum(ch.isdigit() for ch in literal) > MAX_NUMBER_DIGITS:
        raise _error(
            text, i, f"a number with more than {MAX_NUMBER_DIGITS} digits", "a shorter number"
        )
    if end < len(text) and _NAME_CHAR.match(text[end]):
        tail = re.match(r"[A-Za-z0-9_.]*", text[end:])
        bad = literal + (tail.group(0) if tail else "")
        raise _error(
            text,
            i,
            f"malformed number '{bad}'",
            "a number",
            hint="Quote feature names that start with a digit in backticks: `3d_views`.",
        )
    return Token("number", literal, i, _number_value(literal))


def _number_value(literal: str) -> int | float:
    """Ints for plain integer literals, floats for everything else."""
    if re.fullmatch(r"[+-]?\d+", literal):
        return int(literal)
    return float(literal)


# --------------------------------------------------------------------------------------------
# Parser


class _Parser:
    """Recursive descent over the token list; one method per grammar rule."""

    def __init__(self, text: str, features: Sequence[str] | None) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.features = list(features) if features is not None else None
        self.known = set(self.features) if self.features is not None else None
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def is_keyword(self, word: str) -> bool:
        return self.current.kind == "keyword" and self.current.value == word

    def fail(self, expected: str, token: Token | None = None, hint: str | None = None) -> RuleError:
        token = token or self.current
        if token.kind == "end":
            problem = "the rule ends too early" if self.text.strip() else "empty rule"
        else:
            problem = f"unexpected '{token.text}'"
        return _error(self.text, token.position, problem, expected, hint)

    def parse(self) -> Node:
        node = self.or_expr()
        if self.current.kind != "end":
            if self.current.kind == "rparen":
                raise self.fail(_EXPECT_AFTER_TOP, hint="There is a ')' without a matching '('.")
            raise self.fail(_EXPECT_AFTER_TOP)
        return node

    def or_expr(self) -> Node:
        return self._chain("or", self.and_expr, Or)

    def and_expr(self) -> Node:
        return self._chain("and", self.not_expr, And)

    def _chain(self, keyword: str, operand: Callable[[], Node], kind: type[And] | type[Or]) -> Node:
        """``operand (keyword operand)*``: one operand alone, else ``kind`` of them, flattened."""
        terms = [operand()]
        while self.is_keyword(keyword):
            self.advance()
            terms.append(operand())
        return terms[0] if len(terms) == 1 else kind(_flatten(terms, kind))

    def not_expr(self) -> Node:
        token = self.current
        if token.kind == "keyword" and token.value == "not":
            self.advance()
            with self._deeper(token):
                return Not(self.not_expr())
        if token.kind == "lparen":
            self.advance()
            with self._deeper(token):
                node = self.or_expr()
                if self.current.kind != "rparen":
                    raise self.fail(_EXPECT_AFTER_PAREN)
                self.advance()
            return node
        return self.comparison()

    @contextlib.contextmanager
    def _deeper(self, token: Token) -> Iterator[None]:
        """One more level of '(' or 'not', refused past MAX_NESTING (no unbounded recursion)."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise _error(
                self.text,
                token.position,
                f"the rule nests more than {MAX_NESTING} levels of '(' and 'not'",
                "a flatter rule",
            )
        try:
            yield
        finally:
            self.depth -= 1

    def comparison(self) -> Node:
        start = self.current
        left = self.operand(_EXPECT_START)
        token = self.current
        if token.kind == "keyword" and token.value == "is":
            self.advance()
            if not isinstance(left, Feature):
                raise self.fail("a feature name before 'is'", start)
            negated = False
            if self.is_keyword("not"):
                self.advance()
                negated = True
            if not self.is_keyword("null"):
                raise self.fail("'null'" if negated else "'null' or 'not null'")
            self.advance()
            return IsNull(left, negated)
        if token.kind != "op":
            raise self.fail(_EXPECT_OPERATOR)
        self.advance()
        right = self.operand(_EXPECT_OPERAND)
        if isinstance(left, Number) and isinstance(right, Number):
            raise self.fail(
                "a feature name on at least one side of the comparison",
                start,
                hint="Compare a feature with a number, e.g. 'purchases >= 3'.",
            )
        return Compare(left, str(token.text), right)

    def operand(self, expected: str) -> Operand:
        token = self.current
        if token.kind == "number":
            self.advance()
            assert isinstance(token.value, int | float)
            return Number(token.value)
        if token.kind == "name":
            self.advance()
            name = str(token.value)
            self.check_feature(name, token)
            return Feature(name)
        if token.kind == "keyword" and token.value == "null":
            raise self.fail(expected, hint="Use 'feature is null' to test for missing values.")
        raise self.fail(expected)

    def check_feature(self, name: str, token: Token) -> None:
        if self.known is None or name in self.known:
            return
        assert self.features is not None
        suggestion = closest(name, self.features, key=str.lower)
        if suggestion is not None:
            hint = f"Did you mean '{suggestion}'?"
        elif self.features:
            shown = ", ".join(self.features[:12]) + (" ..." if len(self.features) > 12 else "")
            hint = f"Known features: {shown}."
        else:
            hint = "There are no features to compare."
        raise RuleError(
            f"rule: unknown feature '{name}' at position {token.position}; "
            "expected a feature name.",
            hint=hint,
            text=self.text,
            position=token.position,
            expected="a feature name",
        )


def _flatten(terms: list[Node], kind: type[And] | type[Or]) -> tuple[Node, ...]:
    """Fold ``a and (b and c)`` into one flat tuple so the canonical text has no extra parens."""
    flat: list[Node] = []
    for term in terms:
        if isinstance(term, kind):
            flat.extend(term.terms)
        else:
            flat.append(term)
    return tuple(flat)


# --------------------------------------------------------------------------------------------
# Rendering and compiling


def render(node: Node) -> str:
    """Canonical text: lower-case keywords, single spaces, only the parentheses precedence needs."""
    if isinstance(node, Compare):
        return f"{_render_operand(node.left)} {node.op} {_render_operand(node.right)}"
    if isinstance(node, IsNull):
        return f"{_render_operand(node.feature)} is {'not ' if node.negated else ''}null"
    if isinstance(node, Not):
        inner = render(node.operand)
        if isinstance(node.operand, And | Or):
            inner = f"({inner})"
        return f"not {inner}"
    if isinstance(node, And):
        return " and ".join(
            f"({render(t)})" if isinstance(t, Or) else render(t) for t in node.terms
        )
    if isinstance(node, Or):
        return " or ".join(render(t) for t in node.terms)
    raise TypeError(f"not a rule node: {node!r}")


def _render_operand(operand: Operand) -> str:
    if isinstance(operand, Number):
        return repr(operand.value)
    name = operand.name
    if _NAME.fullmatch(name) and name.lower() not in KEYWORDS:
        return name
    return f"`{name}`"


def _operand_expr(operand: Operand) -> pl.Expr:
    if isinstance(operand, Number):
        return pl.lit(operand.value)
    # Cast so ints, floats and booleans compare alike, and NaN becomes null (see module docs).
    return pl.col(operand.name).cast(pl.Float64).fill_nan(None)


def to_expr(node: Node) -> pl.Expr:
    """The polars boolean expression for ``node``; never null (null comparisons are false)."""
    if isinstance(node, Compare):
        left, right = _operand_expr(node.left), _operand_expr(node.right)
        ops = {
            "<": left.lt,
            "<=": left.le,
            ">": left.gt,
            ">=": left.ge,
            "==": left.eq,
            "!=": left.ne,
        }
        return ops[node.op](right).fill_null(False)
    if isinstance(node, IsNull):
        expr = _operand_expr(node.feature).is_null()
        return ~expr if node.negated else expr
    if isinstance(node, Not):
        return ~to_expr(node.operand)
    if isinstance(node, And):
        return pl.all_horizontal([to_expr(t) for t in node.terms])
    if isinstance(node, Or):
        return pl.any_horizontal([to_expr(t) for t in node.terms])
    raise TypeError(f"not a rule node: {node!r}")


def _walk_features(node: Node) -> Iterator[str]:
    if isinstance(node, Compare):
        for operand in (node.left, node.right):
            if isinstance(operand, Feature):
                yield operand.name
    elif isinstance(node, IsNull):
        yield node.feature.name
    elif isinstance(node, Not):
        yield from _walk_features(node.operand)
    elif isinstance(node, And | Or):
        for term in node.terms:
            yield from _walk_features(term)


# --------------------------------------------------------------------------------------------
# Public API


@dataclass(frozen=True)
class Rule:
    """A parsed rule: the text as typed, its syntax tree, and the features it reads."""

    text: str
    ast: Node
    features_used: tuple[str, ...] = field(default=())

    @property
    def expr(self) -> pl.Expr:
        """Boolean polars expression (true for matching users, never null)."""
        return to_expr(self.ast)

    def __str__(self) -> str:
        return render(self.ast)

    def check_columns(self, users: pl.DataFrame) -> None:
        """Raise InputError when the users table lacks a feature this rule reads."""
        missing = [name for name in self.features_used if name not in users.columns]
        if missing:
            raise InputError(
                f"rule '{self}' needs features the users table does not have: {', '.join(missing)}",
                column=missing[0],
                hint="Compute those features or change the rule.",
            )

    def mask(self, users: pl.DataFrame) -> np.ndarray:
        """A boolean array, one entry per row of ``users``, true where the rule matches."""
        self.check_columns(users)
        return users.select(self.expr.alias("match"))["match"].to_numpy().astype(bool, copy=False)

    def filter(self, users: pl.DataFrame) -> pl.DataFrame:
        """The rows of ``users`` that match, in their original order."""
        self.check_columns(users)
        return users.filter(self.expr)


def parse_rule(text: str, features: Sequence[str] | None = None) -> Rule:
    """Parse ``text`` into a Rule; with ``features`` given, unknown names are errors.

    Raises RuleError (an InputError) with ``position``, ``expected`` and a caret display.
    """
    if len(text) > MAX_RULE_CHARS:
        raise _error(
            text[:60] + "…",
            0,
            f"the rule is {len(text):,} characters long (at most {MAX_RULE_CHARS:,})",
            "a shorter rule",
        )
    parser = _Parser(text, features)
    ast = parser.parse()
    used = tuple(dict.fromkeys(_walk_features(ast)))
    return Rule(text=text, ast=ast, features_used=used)


def parse_named_rule(text: str) -> tuple[str | None, str]:
    """``NAME: EXPR`` -> (name, rule text); a rule without a name gives (None, rule text).

    The name ends at the first ':' outside backticks (the rule language has no ':' elsewhere, so
    a quoted feature such as `a:b` never splits). The name's whitespace is collapsed and the rule
    text stripped; an empty name means no name. Whether a name is required is the caller's
    choice (``segment --rule`` requires one, the app names an unnamed rule after its text).

    >>> parse_named_rule("Big spenders: revenue > 1000")
    ('Big spenders', 'revenue > 1000')
    >>> parse_named_rule("`a:b` > 1")
    (None, '`a:b` > 1')
    """
    quoted = False
    for i, ch in enumerate(text):
        if ch == "`":
            quoted = not quoted
        elif ch == ":" and not quoted:
            name = " ".join(text[:i].split())
            if name:
                return name, text[i + 1 :].strip()
            break
    return None, text.strip()


# --------------------------------------------------------------------------------------------
# SQL


SQL_DIALECTS: tuple[str, ...] = ("duckdb", "spark", "postgres")
"""Dialects :func:`to_sql` writes (the SQL engines segtui executes)."""

_SQL_OPERATORS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "<>"}


@dataclass(frozen=True)
class _SqlDialect:
    """What differs between SQL engines: quoting names, writing numbers, NaN tests."""

    quote: Callable[[str], str]
    number: Callable[[int | float], str]
    not_nan: Callable[[str], str]
    """A column as a value where NaN reads as NULL (the rule language treats NaN as null)."""


def _duckdb_number(value: int | float) -> str:
    """Exact literals: an int as written, a float by its shortest round-trip repr (DuckDB reads
    ``0.1`` as the DECIMAL 0.1, which becomes the same double); infinities spelled out."""
    if isinstance(value, float) and not math.isfinite(value):
        return "'-Infinity'::DOUBLE" if value < 0 else "'Infinity'::DOUBLE"
    return repr(value)


def _spark_number(value: int | float) -> str:
    """Spark reads ``0.1`` as DECIMAL(1,1), compared with a DOUBLE column as the same double;
    an exponent makes a DOUBLE literal; infinities spelled out."""
    if isinstance(value, float) and not math.isfinite(value):
        return "CAST('-Infinity' AS DOUBLE)" if value < 0 else "CAST('Infinity' AS DOUBLE)"
    return repr(value)


def _postgres_number(value: int | float) -> str:
    """PostgreSQL reads ``0.1`` as the NUMERIC 0.1, compared with a DOUBLE column as the same
    double (and with a BIGINT one exactly); infinities spelled out."""
    if isinstance(value, float) and not math.isfinite(value):
        infinity = "'-Infinity'" if value < 0 else "'Infinity'"
        return f"CAST({infinity} AS DOUBLE PRECISION)"
    return repr(value)


_SQL_DIALECTS: dict[str, _SqlDialect] = {
    "duckdb": _SqlDialect(
        quote=lambda name: sqltext.quote(name, "duckdb"),
        number=_duckdb_number,
        not_nan=lambda column: f"nullif({column}, 'NaN'::DOUBLE)",
    ),
    "spark": _SqlDialect(
        quote=lambda name: sqltext.quote(name, "spark"),
        number=_spark_number,
        not_nan=lambda column: f"nullif({column}, CAST('NaN' AS DOUBLE))",
    ),
    "postgres": _SqlDialect(
        quote=lambda name: sqltext.quote(name, "postgres"),
        number=_postgres_number,
        not_nan=lambda column: f"nullif({column}, CAST('NaN' AS DOUBLE PRECISION))",
    ),
}


def to_sql(
    rule_ast: Node,
    dialect: str = "duckdb",
    *,
    nan_free: Sequence[str] | frozenset[str] = (),
) -> str:
    """A SQL ``WHERE`` condition selecting exactly the rows the rule selects.

    The rule's two-valued logic (a comparison on null is false, ``not`` of it true) is kept in
    SQL's three-valued one: every rendered node is TRUE exactly where the rule matches (FALSE or
    NULL elsewhere), and ``not`` first turns NULL into FALSE. Identifiers are quoted; numbers are
    exact. NaN counts as null in the rule, so feature columns are read NaN-safe unless named in
    ``nan_free`` (integer and boolean columns, which cannot hold NaN, keep the plain column).

    >>> to_sql(parse_rule("add_to_cart >= 3 and not purchases > 0").ast, nan_free=["purchases"])
    'nullif("add_to_cart", \\'NaN\\'::DOUBLE) >= 3 AND NOT coalesce("purchases" > 0, FALSE)'
    """
    spec = _SQL_DIALECTS.get(dialect)
    if spec is None:
        raise InputError(
            f"no SQL dialect {dialect!r}", hint=f"Known dialects: {', '.join(SQL_DIALECTS)}."
        )
    text = _sql(rule_ast, spec, frozenset(nan_free))
    return text[1:-1] if isinstance(rule_ast, And | Or) else text  # no parentheses around all


def _sql_operand(operand: Operand, spec: _SqlDialect, nan_free: frozenset[str]) -> str:
    if isinstance(operand, Number):
        return spec.number(operand.value)
    column = spec.quote(operand.name)
    return column if operand.name in nan_free else spec.not_nan(column)


def _sql(node: Node, spec: _SqlDialect, nan_free: frozenset[str]) -> str:
    if isinstance(node, Compare):
        left = _sql_operand(node.left, spec, nan_free)
        right = _sql_operand(node.right, spec, nan_free)
        return f"{left} {_SQL_OPERATORS[node.op]} {right}"
    if isinstance(node, IsNull):
        value = _sql_operand(node.feature, spec, nan_free)
        return f"{value} IS {'NOT ' if node.negated else ''}NULL"
    if isinstance(node, Not):
        return f"NOT coalesce({_sql(node.operand, spec, nan_free)}, FALSE)"
    if isinstance(node, And | Or):
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(_sql(t, spec, nan_free) for t in node.terms) + ")"
    raise TypeError(f"not a rule node: {node!r}")
