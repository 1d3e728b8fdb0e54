"""A person's own features: TOML files of ``[[feature]]`` tables, read and checked, and written.

Every problem is an InputError naming the file and the feature: a name taken by the catalog, a
feature declared twice, a malformed table, or operands that go round in a circle.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path

from segtui.errors import InputError
from segtui.features.catalog import CATALOG_BY_NAME
from segtui.features.spec import FeatureSpec
from segtui.features.tables import spec_from_dict, spec_to_dict
from segtui.fields import loads_toml
from segtui.fileio import read_text_file, toml_text


def load_feature_file(path: str | Path) -> list[FeatureSpec]:
    """Read user-declared features from a TOML file (``[[feature]]`` tables), checked.

    Every problem is an InputError naming the file and the feature.
    """
    path = Path(path)
    text = read_text_file(path, "feature file")
    try:
        data = loads_toml(text, path)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"not valid TOML: {error}", file=path) from None
    extra = set(data) - {"feature"}
    if extra:
        raise InputError(
            f"unknown top-level key '{sorted(extra)[0]}'",
            file=path,
            hint="Declare each feature in a [[feature]] table.",
        )
    tables = data.get("feature", [])
    if not isinstance(tables, list) or not tables:
        raise InputError(
            "no features declared", file=path, hint="Declare each feature in a [[feature]] table."
        )
    names = [t.get("name") if isinstance(t, dict) else None for t in tables]
    known = {n for n in names if isinstance(n, str)}
    specs: list[FeatureSpec] = []
    seen: set[str] = set()
    for number, table in enumerate(tables, start=1):
        label = f"feature '{names[number - 1]}'" if names[number - 1] else f"feature #{number}"
        if not isinstance(table, dict):
            raise InputError(f"{label}: not a table", file=path)
        name = table.get("name")
        if name in CATALOG_BY_NAME:
            raise InputError(
                f"{label}: the name is already a built-in feature",
                file=path,
                hint="Pick another name.",
            )
        if name in seen:
            raise InputError(f"{label}: declared twice", file=path)
        try:
            spec = spec_from_dict(table, known)
        except ValueError as error:
            raise InputError(f"{label}: {error}", file=path) from None
        seen.add(spec.name)
        specs.append(spec)
    _check_cycles(specs, path)
    return specs


def _check_cycles(specs: Sequence[FeatureSpec], path: Path) -> None:
    by_name = {s.name: s for s in specs}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            loop = " -> ".join((*trail[trail.index(name) :], name))
            raise InputError(f"feature '{name}': operands go round in a circle ({loop})", file=path)
        spec = by_name.get(name)
        if spec is not None:
            for ref in spec.agg.references():
                visit(ref, (*trail, name))

    for spec in specs:
        visit(spec.name, ())


def dump_feature_file(specs: Sequence[FeatureSpec]) -> str:
    """TOML text declaring ``specs`` as ``[[feature]]`` tables (readable by load_feature_file)."""
    return toml_text({"feature": [spec_to_dict(spec) for spec in specs]})
