"""A feature plan as one SQL ``SELECT``, in the dialects segtui executes: DuckDB, Spark SQL and
PostgreSQL.

The SQL reads a relation of canonical events (``events`` unless told otherwise: the columns of
:data:`segtui.canonical.CANONICAL_COLUMNS` that the data has, ``ts`` a timestamp in UTC) and
returns what :func:`segtui.features.compile.build_feature_query` returns: ``user_id`` then one
column per feature, BIGINT for whole numbers and DOUBLE (PostgreSQL's DOUBLE PRECISION)
otherwise, ordered by ``user_id``. Both
come from the same :class:`~segtui.features.plan.FeaturePlan`, so they agree by construction on
what a division by zero, a user without the events, or a null value gives.

Shape of the query:

- ``leaves``: one ``GROUP BY user_id`` over the events with every leaf aggregation, each filter
  as ``CASE WHEN``, which every engine accepts (``FILTER (WHERE ...)`` is not in all of them);
- one small ``GROUP BY`` per ``top_count`` leaf (the count of a user's most frequent value),
  joined back by ``user_id``: a per-user histogram is not portable SQL;
- the final ``SELECT``: arithmetic over the leaves, ``coalesce`` for what "never" gives, casts.

Time parts (hour, ISO weekday, month, date) use the engine's own functions. Spark and
PostgreSQL read them in the session time zone: run the SQL with the session in UTC (Spark
``spark.sql.session.timeZone=UTC``, PostgreSQL ``SET TimeZone = 'UTC'``), as segtui's engines
do. DuckDB reads them from the UTC wall time whatever the session zone (a plain ``TIMESTAMP``
made from the epoch microseconds, which also skips the calendar a ``TIMESTAMPTZ`` goes
through). Event times as epoch microseconds are time-zone free.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from segtui import sqltext
from segtui.features.plan import (
    DAY_US,
    Add,
    Coalesce,
    Constant,
    Divide,
    FeaturePlan,
    LastEventTime,
    Leaf,
    LeafValue,
    MicrosToDays,
    Node,
    Subtract,
    plan_features,
)
from segtui.features.spec import FeatureSpec, Filter, Scalar

_PREFIX = "__f"
_INDENT = "    "


@dataclass(frozen=True)
class Dialect:
    """What differs between the SQL engines segtui renders for."""

    name: str
    quote: Callable[[str], str]
    string: Callable[[str], str]
    epoch_us: str
    hour: str
    iso_weekday: str
    month: str
    epoch_days: str
    double: str = "DOUBLE"
    """The 64-bit float type's name."""
    exact_sum: str = "sum({})"
    """The sum of a BIGINT with no rounding and no overflow (DuckDB's is a HUGEINT,
    PostgreSQL's a numeric)."""
    text: str = "VARCHAR"
    real: str = "FLOAT"
    """The 32-bit float type's name."""


_DUCKDB_UTC = "make_timestamp(epoch_us({}))"
"""DuckDB: the time as a plain TIMESTAMP holding its UTC wall time."""

DIALECTS: dict[str, Dialect] = {
    "duckdb": Dialect(
        name="duckdb",
        quote=lambda name: sqltext.quote(name, "duckdb"),
        string=lambda text: sqltext.string(text, "duckdb"),
        epoch_us="epoch_us({})",
        # parts of the UTC wall time: a TIMESTAMPTZ's own parts go through the session's
        # calendar (ICU), ten times the cost of a plain TIMESTAMP's
        hour=f"hour({_DUCKDB_UTC})",
        iso_weekday=f"isodow({_DUCKDB_UTC})",
        month=f"month({_DUCKDB_UTC})",
        epoch_days=f"datediff('day', DATE '1970-01-01', CAST({_DUCKDB_UTC} AS DATE))",
    ),
    "spark": Dialect(
        name="spark",
        quote=lambda name: sqltext.quote(name, "spark"),
        string=lambda text: sqltext.string(text, "spark"),
        epoch_us="unix_micros({})",
        hour="hour({})",
        iso_weekday="(weekday({}) + 1)",
        month="month({})",
        epoch_days="unix_date(CAST({} AS DATE))",
        text="STRING",
        exact_sum="sum(CAST({} AS DECIMAL(38, 0)))",
    ),
    "postgres": Dialect(
        name="postgres",
        quote=lambda name: sqltext.quote(name, "postgres"),
        string=lambda text: sqltext.string(text, "postgres"),
        epoch_us="CAST(EXTRACT(EPOCH FROM {}) * 1000000 AS BIGINT)",
        hour="CAST(EXTRACT(HOUR FROM {}) AS INTEGER)",
        iso_weekday="CAST(EXTRACT(ISODOW FROM {}) AS INTEGER)",
        month="CAST(EXTRACT(MONTH FROM {}) AS INTEGER)",
        epoch_days="(CAST({} AS DATE) - DATE '1970-01-01')",
        double="DOUBLE PRECISION",
        text="TEXT",
        real="REAL",
    ),
}


def dialect(name: str) -> Dialect:
    """The dialect called ``name``, or a ValueError listing the known ones."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"unknown SQL dialect {name!r}; known: {', '.join(DIALECTS)}") from None


class _Renderer:
    def __init__(self, plan: FeaturePlan, sql: Dialect) -> None:
        self.plan = plan
        self.sql = sql
        self.ts = sql.quote("ts")

    def column(self, name: str) -> str:
        """The SQL a declaration's column name stands for (``ts`` as epoch microseconds)."""
        parts = {
            "ts": self.sql.epoch_us,
            "ts.hour": self.sql.hour,
            "ts.weekday": self.sql.iso_weekday,
            "ts.month": self.sql.month,
            "ts.date": self.sql.epoch_days,
        }
        template = parts.get(name)
        return template.format(self.ts) if template else self.sql.quote(name)

    def literal(self, value: Scalar) -> str:
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"a filter value must be a finite number, not {value!r}")
            text = repr(value)
            return text if "e" in text else f"{text}E0"  # a DOUBLE literal in every dialect
        return self.sql.string(str(value))

    def condition(self, flt: Filter) -> str:
        col = self.column(flt.column)
        if flt.op == "is_null":
            return f"{col} IS NULL"
        if flt.op == "not_null":
            return f"{col} IS NOT NULL"
        if flt.op in ("in", "not_in"):
            values = flt.value if isinstance(flt.value, tuple) else (flt.value,)
            listed = ", ".join(self.literal(v) for v in values if v is not None)
            test = f"{col} IN ({listed})"
            return test if flt.op == "in" else f"NOT ({test})"
        assert flt.value is not None and not isinstance(flt.value, tuple)
        op = "<>" if flt.op == "!=" else "=" if flt.op == "==" else flt.op
        return f"{col} {op} {self.literal(flt.value)}"

    def where(self, filters: Sequence[Filter]) -> str | None:
        if not filters:
            return None
        return " AND ".join(f"({self.condition(flt)})" for flt in filters)

    def leaf(self, leaf: Leaf) -> str:
        cond = self.where(leaf.where)
        if leaf.kind == "count":
            return "count(*)" if cond is None else f"count(CASE WHEN {cond} THEN 1 END)"
        assert leaf.column is not None
        value = self.column(leaf.column)
        if cond is not None:
            value = f"CASE WHEN {cond} THEN {value} END"
        if leaf.kind == "distinct":
            return f"count(DISTINCT {value})"
        if leaf.kind == "sum":
            # polars sums no values to 0, SQL to NULL: say 0, as the polars engine does.
            return f"coalesce(sum({value}), 0)"
        if leaf.kind == "mean" and leaf.column == "ts":
            # The exact sum, then one rounding to a double and one division, as polars does
            # it: avg() sums doubles in the engine's own order, and epoch microseconds (1.7e15)
            # lose a quarter of a microsecond a step, a 1e-9 of a few minutes' span.
            total = f"CAST({self.sql.exact_sum.format(value)} AS {self.sql.double})"
            return f"CASE WHEN count({value}) > 0 THEN {total} / count({value}) END"
        if leaf.kind == "mean":
            return f"avg({value})"
        return f"{leaf.kind}({value})"

    def top_count(self, index: int, leaf: Leaf) -> str:
        """A CTE: per user, the number of events holding their most frequent value."""
        assert leaf.column is not None
        value = self.column(leaf.column)
        cond = self.where((*leaf.where, Filter(leaf.column, "not_null")))
        user = self.sql.quote("user_id")
        return (
            f"{_PREFIX}top{index} AS (\n"
            f"{_INDENT}SELECT {user}, max(n) AS {_PREFIX}{index}\n"
            f"{_INDENT}FROM (\n"
            f"{_INDENT * 2}SELECT {user}, {value} AS v, count(*) AS n\n"
            f"{_INDENT * 2}FROM {_PREFIX}events\n"
            f"{_INDENT * 2}WHERE {cond}\n"
            f"{_INDENT * 2}GROUP BY {user}, {value}\n"
            f"{_INDENT}) AS counted\n"
            f"{_INDENT}GROUP BY {user}\n"
            ")"
        )

    def node(self, node: Node) -> str:
        if isinstance(node, LeafValue):
            return f"{_PREFIX}{node.index}"
        if isinstance(node, LastEventTime):
            return f"{_PREFIX}ref{node.index}"
        if isinstance(node, Constant):
            return f"CAST({node.value} AS BIGINT)"
        if isinstance(node, Divide):
            denominator = self.node(node.denominator)
            numerator = self.node(node.numerator)
            return (
                f"CASE WHEN {denominator} <> 0 THEN CAST({numerator} AS {self.sql.double})"
                f" / {denominator} END"
            )
        if isinstance(node, Subtract):
            return f"({self.node(node.left)} - {self.node(node.right)})"
        if isinstance(node, Add):
            return "(" + " + ".join(self.node(term) for term in node.terms) + ")"
        if isinstance(node, MicrosToDays):
            return f"(CAST({self.node(node.value)} AS {self.sql.double}) / {DAY_US})"
        if isinstance(node, Coalesce):
            return f"coalesce({self.node(node.value)}, {self.literal(node.fill)})"
        raise TypeError(f"unknown plan node {node!r}")

    def query(self, relation: str) -> str:
        user = self.sql.quote("user_id")
        source = f"SELECT * FROM {relation}"
        if self.plan.as_of_us is not None:
            source += f" WHERE {self.column('ts')} <= {self.plan.as_of_us}"
        tops = {i: leaf for i, leaf in enumerate(self.plan.leaves) if leaf.kind == "top_count"}
        grouped = [
            f"{self.leaf(leaf)} AS {_PREFIX}{i}"
            for i, leaf in enumerate(self.plan.leaves)
            if i not in tops
        ]
        ctes = [
            f"{_PREFIX}events AS (\n{_INDENT}{source}\n)",
            f"{_PREFIX}grouped AS (\n{_INDENT}SELECT {user},\n"
            + ",\n".join(f"{_INDENT * 2}{item}" for item in grouped)
            + f"\n{_INDENT}FROM {_PREFIX}events\n{_INDENT}GROUP BY {user}\n)",
        ]
        ctes += [self.top_count(i, leaf) for i, leaf in tops.items()]
        joined = f"{_PREFIX}grouped" + "".join(
            f"\n{_INDENT}LEFT JOIN {_PREFIX}top{i} USING ({user})" for i in tops
        )
        ctes.append(f"{_PREFIX}leaves AS (\n{_INDENT}SELECT * FROM {joined}\n)")
        return self.outputs(ctes, f"{_PREFIX}leaves")

    def outputs(self, ctes: list[str], leaves: str) -> str:
        """The second stage over a relation holding ``user_id`` and the leaves ``__f0``, ...:
        the features, the reference time (when one is needed) taken over all its rows."""
        user = self.sql.quote("user_id")
        references = sorted(
            {
                n.index
                for out in self.plan.outputs
                for n in _walk(out.value)
                if isinstance(n, LastEventTime)
            }
        )
        source_of_rows = leaves
        if references:
            # The reference time once, in a one-row CTE joined to every user: engines that
            # inline CTEs (Spark) would otherwise aggregate all users again for each feature.
            maxima = ", ".join(f"max({_PREFIX}{i}) AS {_PREFIX}ref{i}" for i in references)
            ctes.append(f"{_PREFIX}ref AS (\n{_INDENT}SELECT {maxima} FROM {leaves}\n)")
            source_of_rows += f" CROSS JOIN {_PREFIX}ref"
        finals = [user] + [
            f"CAST({self.node(out.value)} AS {'BIGINT' if out.integer else self.sql.double})"
            f" AS {self.sql.quote(out.name)}"
            for out in self.plan.outputs
        ]
        select = ",\n".join(f"{_INDENT}{item}" for item in finals)
        head = "WITH " + ",\n".join(ctes) + "\n" if ctes else ""
        return f"{head}SELECT\n{select}\nFROM {source_of_rows}\nORDER BY {user}"


def _walk(node: Node) -> list[Node]:
    """The node and every node under it."""
    children: tuple[Node, ...] = ()
    if isinstance(node, Divide):
        children = (node.numerator, node.denominator)
    elif isinstance(node, Subtract):
        children = (node.left, node.right)
    elif isinstance(node, Add):
        children = node.terms
    elif isinstance(node, MicrosToDays | Coalesce):
        children = (node.value,)
    return [node, *(n for child in children for n in _walk(child))]


def plan_sql(plan: FeaturePlan, dialect_name: str = "duckdb", relation: str = "events") -> str:
    """The plan as one ``SELECT`` over ``relation`` (see the module docstring)."""
    return _Renderer(plan, dialect(dialect_name)).query(relation)


def output_sql(plan: FeaturePlan, dialect_name: str = "duckdb", leaves: str = "leaves") -> str:
    """The plan's second stage as one ``SELECT`` over a relation of per-user leaves (columns
    ``user_id``, ``__f0``, ``__f1``, ... as :func:`segtui.features.compile.leaf_query` names
    them): what ``watch`` keeps as its ``features`` view."""
    return _Renderer(plan, dialect(dialect_name)).outputs([], leaves)


def feature_sql(
    specs: Sequence[FeatureSpec],
    columns: Sequence[str],
    dialect_name: str = "duckdb",
    relation: str = "events",
    as_of: datetime | None = None,
) -> str:
    """The SQL computing ``specs`` over a relation of canonical events with these columns."""
    return plan_sql(plan_features(specs, columns, as_of), dialect_name, relation)
