"""Which features the data allows, and the features a person picks.

A feature needs canonical columns; on data without them it uses its fallback or is left out,
with the reason (:func:`available_features`). The default set is the catalog's ``default``
features; :func:`select_features` turns names a person typed into declarations, or an
InputError that says which name is wrong and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from segtui.errors import InputError, closest
from segtui.features.catalog import CATALOG, CATALOG_BY_NAME
from segtui.features.spec import ALWAYS_PRESENT, TIME_PARTS, Agg, FeatureSpec


def _columns_needed(spec: FeatureSpec, agg: Agg) -> set[str]:
    return (set(spec.requires) | agg.columns()) - {"ts.date", *TIME_PARTS}


def resolve_spec(
    spec: FeatureSpec, columns: Iterable[str], lookup: Mapping[str, FeatureSpec] | None = None
) -> tuple[FeatureSpec | None, str]:
    """The spec as it will be computed on data with ``columns``, or None and the reason why not.

    A spec whose columns are missing uses its ``fallback`` when it has one; a spec whose operands
    are features that cannot be computed cannot be computed either.
    """
    have = set(columns) | set(ALWAYS_PRESENT)
    lookup = lookup if lookup is not None else CATALOG_BY_NAME
    missing = sorted(_columns_needed(spec, spec.agg) - have)
    if (
        missing
        and spec.fallback is not None
        and not (_columns_needed(replace(spec, requires=()), spec.fallback) - have)
    ):
        spec = replace(spec, agg=spec.fallback, requires=(), fallback=None)
        missing = []
    if missing:
        cols = ", ".join(f"'{c}'" for c in missing)
        return None, f"needs column{'s' if len(missing) > 1 else ''} {cols}, not in the data"
    for ref in sorted(spec.agg.references()):
        target = lookup.get(ref)
        if target is None:
            return None, f"uses feature '{ref}', which is not declared"
        resolved, why = resolve_spec(target, have, lookup)
        if resolved is None:
            return None, f"uses {ref}, which {why}"
    return spec, ""


def available_features(
    specs: Sequence[FeatureSpec], columns: Iterable[str]
) -> tuple[list[FeatureSpec], dict[str, str]]:
    """Split ``specs`` into those computable from ``columns`` and the left-out ones with why.

    Features with a fallback (``orders``) come back with the fallback in place when their column
    is missing, so what is returned is exactly what will be computed.
    """
    columns = list(columns)
    lookup = {**CATALOG_BY_NAME, **{s.name: s for s in specs}}
    offered: list[FeatureSpec] = []
    left_out: dict[str, str] = {}
    for spec in specs:
        resolved, why = resolve_spec(spec, columns, lookup)
        if resolved is None:
            left_out[spec.name] = why
        else:
            offered.append(resolved)
    return offered, left_out


def default_features(specs: Sequence[FeatureSpec] = CATALOG) -> list[FeatureSpec]:
    """The features flagged ``default`` (the clustering default), in catalog order."""
    return [spec for spec in specs if spec.default]


def select_features(
    names: Sequence[str],
    specs: Sequence[FeatureSpec],
    left_out: Mapping[str, str] | None = None,
) -> list[FeatureSpec]:
    """The specs named in ``names`` (in that order); unknown or left-out names are an InputError."""
    by_name = {spec.name: spec for spec in specs}
    left_out = left_out or {}
    chosen: list[FeatureSpec] = []
    for name in names:
        if name in by_name:
            if by_name[name] not in chosen:
                chosen.append(by_name[name])
            continue
        if name in left_out:
            raise InputError(
                f"feature '{name}' cannot be computed on this data: it {left_out[name]}",
                hint="Map the column (--map) or leave the feature out.",
            )
        guess = closest(name, [*by_name, *left_out], cutoff=0.5)
        raise InputError(
            f"unknown feature '{name}'" + (f"; did you mean '{guess}'?" if guess else ""),
            hint="`segtui features --list` shows every feature.",
        )
    return chosen
