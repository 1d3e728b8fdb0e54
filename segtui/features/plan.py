"""Feature declarations planned once, rendered by every engine: leaves, then arithmetic on them.

A feature query has two stages whatever runs it. First, one pass over the events grouped by user
computes a few *leaf* aggregations (filtered counts, sums, means, extremes, distinct counts, the
count of a user's most frequent value), deduplicated across features: ``events`` is shared by
every share, the last-event time by every "days since". Second, per user, the features are
arithmetic over those leaves (ratios, differences, days since), then filled and typed.

:func:`plan_features` turns declarations into that two-stage :class:`FeaturePlan`, as plain data.
``segtui.features.compile`` renders a plan as one polars ``group_by``; ``segtui.features.sql``
renders the same plan as one SQL ``SELECT``. Because both engines read the same plan, a feature's
meaning (what a division by zero gives, what "never" fills with, which columns are whole numbers)
is decided here, once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from segtui.errors import InputError
from segtui.features.catalog import CATALOG_BY_NAME
from segtui.features.selection import resolve_spec
from segtui.features.spec import Agg, FeatureSpec, Filter

DAY_US = 86_400 * 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

LEAF_KINDS: tuple[str, ...] = ("count", "sum", "mean", "max", "min", "distinct", "top_count")
"""``top_count`` is the number of events holding the user's most frequent non-null value of the
column (null when there is none); the others are what :mod:`segtui.features.spec` says."""


@dataclass(frozen=True)
class Leaf:
    """One aggregation over a user's events matching ``where`` (all of them when empty)."""

    kind: str
    column: str | None
    where: tuple[Filter, ...]


@dataclass(frozen=True)
class LeafValue:
    """The user's value of leaf number ``index``."""

    index: int


@dataclass(frozen=True)
class LastEventTime:
    """The reference time when none is given: the largest value of leaf ``index`` (the latest
    event time, in epoch microseconds) over all users."""

    index: int


@dataclass(frozen=True)
class Constant:
    """A fixed number (the reference time given as ``as_of``, in epoch microseconds)."""

    value: int


@dataclass(frozen=True)
class Divide:
    """numerator / denominator as a float; null (never NaN or inf) when the denominator is 0 or
    null."""

    numerator: Node
    denominator: Node


@dataclass(frozen=True)
class Subtract:
    left: Node
    right: Node


@dataclass(frozen=True)
class Add:
    terms: tuple[Node, ...]


@dataclass(frozen=True)
class MicrosToDays:
    """A duration in microseconds as fractional days (a float)."""

    value: Node


@dataclass(frozen=True)
class Coalesce:
    """``value``, or ``fill`` where it is null (what a user without the events gets)."""

    value: Node
    fill: float


Node = LeafValue | LastEventTime | Constant | Divide | Subtract | Add | MicrosToDays | Coalesce


@dataclass(frozen=True)
class Output:
    """One feature column: its value and whether it is a whole number (BIGINT / Int64) or a
    float (DOUBLE / Float64)."""

    name: str
    value: Node
    integer: bool


@dataclass(frozen=True)
class FeaturePlan:
    """What every engine computes: ``leaves`` per user over the events (only those at or before
    ``as_of_us`` when it is set), then ``outputs`` per user from the leaves, rows sorted by
    ``user_id``."""

    leaves: tuple[Leaf, ...]
    outputs: tuple[Output, ...]
    as_of_us: int | None = None
    specs: tuple[FeatureSpec, ...] = field(default=(), compare=False)


def is_integer(agg: Agg, lookup: Mapping[str, FeatureSpec]) -> bool:
    """Counts and distinct counts (and sums/differences of them) are whole numbers."""
    if agg.kind in ("count", "distinct"):
        return True
    if agg.kind in ("add", "difference"):
        return all(
            is_integer(op if isinstance(op, Agg) else lookup[op].agg, lookup) for op in agg.operands
        )
    return False


def resolve_specs(
    specs: Sequence[FeatureSpec], columns: Sequence[str]
) -> tuple[list[FeatureSpec], dict[str, FeatureSpec]]:
    """The chosen specs with fallbacks resolved for these columns, and every spec they refer to
    by name, or an InputError naming the first feature that cannot be computed."""
    declared = {**CATALOG_BY_NAME, **{spec.name: spec for spec in specs}}
    resolved: dict[str, FeatureSpec] = {}

    def resolve(spec: FeatureSpec) -> FeatureSpec:
        if spec.name in resolved:
            return resolved[spec.name]
        done, why = resolve_spec(spec, columns, declared)
        if done is None:
            raise InputError(
                f"feature '{spec.name}' cannot be computed on this data: it {why}",
                hint="Map the column (--map) or leave the feature out.",
            )
        resolved[spec.name] = done
        for ref in done.agg.references():
            resolve(declared[ref])
        return done

    chosen = [resolve(spec) for spec in specs]
    return chosen, resolved


def check_names(specs: Sequence[FeatureSpec]) -> None:
    """Output column names must be unique and never ``user_id``."""
    names = [spec.name for spec in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"feature '{duplicates[0]}' is asked for twice")
    if "user_id" in names:
        raise InputError("a feature cannot be named 'user_id'")


def epoch_us(moment: datetime) -> int:
    """Microseconds since 1970-01-01 UTC; a naive datetime is read as UTC."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return (aware - _EPOCH) // timedelta(microseconds=1)


class _Planner:
    """Collects deduplicated leaves while turning each aggregation into a plan node."""

    def __init__(self, lookup: Mapping[str, FeatureSpec], as_of_us: int | None) -> None:
        self.lookup = lookup
        self.as_of_us = as_of_us
        self.leaves: dict[Leaf, int] = {}

    def leaf(self, kind: str, column: str | None, where: tuple[Filter, ...]) -> LeafValue:
        key = Leaf(kind, column, where)
        if key not in self.leaves:
            self.leaves[key] = len(self.leaves)
        return LeafValue(self.leaves[key])

    def reference(self) -> Node:
        if self.as_of_us is not None:
            return Constant(self.as_of_us)
        return LastEventTime(self.leaf("max", "ts", ()).index)

    def node(self, agg: Agg) -> Node:
        kind = agg.kind
        if kind in ("count", "sum", "mean", "max", "min", "distinct"):
            return self.leaf(kind, agg.column, agg.where)
        if kind == "share":
            matched = self.leaf("count", None, (*agg.where, *agg.match))
            return Divide(matched, self.leaf("count", None, agg.where))
        if kind == "ratio":
            return Divide(self.operand(agg.operands[0]), self.operand(agg.operands[1]))
        if kind == "difference":
            return Subtract(self.operand(agg.operands[0]), self.operand(agg.operands[1]))
        if kind == "add":
            return Add(tuple(self.operand(op) for op in agg.operands))
        if kind == "days_since":
            stat = "max" if agg.stat == "last" else "min"
            return MicrosToDays(Subtract(self.reference(), self.leaf(stat, "ts", agg.where)))
        if kind == "top_share":
            assert agg.column is not None
            present = (*agg.where, Filter(agg.column, "not_null"))
            top = self.leaf("top_count", agg.column, agg.where)
            return Divide(top, self.leaf("count", None, present))
        if kind == "span_days":
            return MicrosToDays(
                Subtract(self.leaf("max", "ts", agg.where), self.leaf("min", "ts", agg.where))
            )
        raise ValueError(f"unknown aggregation kind {kind!r}")  # check_agg rules this out

    def operand(self, op: Agg | str) -> Node:
        """A nested aggregation, or a feature referred to by name with its nulls filled as the
        feature itself has them."""
        return self.node(op) if isinstance(op, Agg) else self.value(self.lookup[op])

    def value(self, spec: FeatureSpec) -> Node:
        node = self.node(spec.agg)
        return node if spec.when_missing is None else Coalesce(node, float(spec.when_missing))

    def output(self, spec: FeatureSpec) -> Output:
        return Output(spec.name, self.value(spec), is_integer(spec.agg, self.lookup))


def plan_features(
    specs: Sequence[FeatureSpec], columns: Sequence[str], as_of: datetime | None = None
) -> FeaturePlan:
    """The two-stage plan for ``specs`` over events with these columns (see the module
    docstring); ``as_of`` (naive means UTC) is the reference time and leaves later events out."""
    check_names(specs)
    chosen, lookup = resolve_specs(specs, columns)
    as_of_us = None if as_of is None else epoch_us(as_of)
    planner = _Planner(lookup, as_of_us)
    outputs = tuple(planner.output(spec) for spec in chosen)
    if not planner.leaves:
        planner.leaf("count", None, ())  # keeps the group-by valid when no feature is asked for
    leaves = tuple(sorted(planner.leaves, key=planner.leaves.__getitem__))
    return FeaturePlan(leaves, outputs, as_of_us, tuple(chosen))


def _fixed(node: Node, reference_us: int) -> Node:
    if isinstance(node, LastEventTime):
        return Constant(reference_us)
    if isinstance(node, Divide):
        return Divide(_fixed(node.numerator, reference_us), _fixed(node.denominator, reference_us))
    if isinstance(node, Subtract):
        return Subtract(_fixed(node.left, reference_us), _fixed(node.right, reference_us))
    if isinstance(node, Add):
        return Add(tuple(_fixed(t, reference_us) for t in node.terms))
    if isinstance(node, MicrosToDays):
        return MicrosToDays(_fixed(node.value, reference_us))
    if isinstance(node, Coalesce):
        return Coalesce(_fixed(node.value, reference_us), node.fill)
    return node


def uses_reference(node: Node) -> bool:
    """Whether a value depends on the reference time (a "days since" of the latest event)."""
    if isinstance(node, LastEventTime | Constant):
        return isinstance(node, LastEventTime)
    if isinstance(node, Divide):
        return uses_reference(node.numerator) or uses_reference(node.denominator)
    if isinstance(node, Subtract):
        return uses_reference(node.left) or uses_reference(node.right)
    if isinstance(node, Add):
        return any(uses_reference(t) for t in node.terms)
    if isinstance(node, MicrosToDays | Coalesce):
        return uses_reference(node.value)
    return False


def with_reference(plan: FeaturePlan, reference_us: int) -> FeaturePlan:
    """The plan with the reference time fixed: the outputs of any subset of users are then what
    they are among all users (whose latest event gave ``reference_us``)."""
    outputs = tuple(
        Output(out.name, _fixed(out.value, reference_us), out.integer) for out in plan.outputs
    )
    return FeaturePlan(plan.leaves, outputs, plan.as_of_us, plan.specs)
