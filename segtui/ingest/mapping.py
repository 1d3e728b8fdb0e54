"""Map a file's columns to segtui's canonical event columns, and say how each was decided.

A mapping is plain data (:class:`ColumnMapping`): canonical column -> source column, how each
pair was decided, the layout (preset) it came from, that layout's event-name alias table, and
parsing options (day first, epoch unit). It is detected from known presets and column-name aliases,
shown to the person, corrected with ``--map canonical=source`` and saved/reused as TOML or JSON.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from segtui.canonical import CANONICAL_COLUMNS, CANONICAL_EVENT_NAMES
from segtui.errors import InputError, closest
from segtui.fields import loads_json, loads_toml
from segtui.fileio import toml_text, write_text_atomic
from segtui.ingest.presets import (
    COLUMN_ALIASES,
    GENERIC_EVENT_ALIASES,
    PRESET_NAMES,
    Preset,
    find_preset,
    get_preset,
    normalise_name,
    value_role,
)

MAPPING_VERSION = 1
MAPPING_HEADER = "segtui mapping: canonical column = source column. Edit and reuse with --mapping."

# How a pair was decided (the third column of the mapping table).
HOW_PRESET = "preset"
HOW_ALIAS = "alias"
HOW_OVERRIDE = "--map"
HOW_FILE = "mapping file"
HOW_GIVEN = "given"
HOW_NAME_RULE = "name rule"


@dataclass
class ColumnMapping:
    """Canonical column -> source column(s), how each was decided, and the layout's options.

    ``fallbacks[c]`` are further source columns whose values fill nulls of ``columns[c]``.
    ``event_aliases`` is the layout's alias table (raw event name -> canonical name); the loader
    applies it except where the data already uses the target name. ``event_constant`` makes every
    row that event (transaction tables); ``invoice_refunds`` turns orders starting with ``C`` into
    refunds with negative revenue. ``day_first``/``epoch_unit`` None mean "decide from the data".
    """

    layout: str = "generic"
    columns: dict[str, str] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    fallbacks: dict[str, list[str]] = field(default_factory=dict)
    event_aliases: dict[str, str] = field(default_factory=dict)
    event_constant: str | None = None
    invoice_refunds: bool = False
    day_first: bool | None = None
    epoch_unit: str | None = None
    decimal: str | None = None
    """The decimal mark of numbers held as text ("." or ","); None means decide from the data."""

    def sources(self, canonical: str) -> list[str]:
        """Every source column feeding ``canonical``, in the order they are tried."""
        if canonical not in self.columns:
            return []
        return [self.columns[canonical], *self.fallbacks.get(canonical, [])]

    def used_columns(self) -> list[str]:
        out: dict[str, None] = {}
        for c in self.columns:
            for s in self.sources(c):
                out.setdefault(s, None)
        return list(out)

    def table(self) -> list[tuple[str, str, str]]:
        """Rows (canonical, source, how) in canonical order, for showing the mapping."""
        rows = []
        for c in CANONICAL_COLUMNS:
            if c in self.columns:
                src = self.columns[c]
                if self.fallbacks.get(c):
                    src += ", else " + ", else ".join(self.fallbacks[c])
                rows.append((c, src, self.how.get(c, "")))
            elif c == "event" and self.invoice_refunds:
                rows.append((c, "(every line)", "purchase; refund where the order starts with C"))
            elif c == "event" and self.event_constant:
                rows.append((c, "(every row)", f"{self.event_constant}: no event column"))
        return rows

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON/TOML: the pairs, the layout and its options (not ``how``: a
        reloaded mapping says it came from the mapping file)."""
        out: dict[str, Any] = {"segtui_mapping": MAPPING_VERSION, "layout": self.layout}
        if self.event_constant:
            out["event_constant"] = self.event_constant
        if self.invoice_refunds:
            out["invoice_refunds"] = True
        if self.day_first is not None:
            out["day_first"] = self.day_first
        if self.epoch_unit is not None:
            out["epoch_unit"] = self.epoch_unit
        if self.decimal is not None:
            out["decimal"] = self.decimal
        out["columns"] = dict(self.columns)
        if self.fallbacks:
            out["fallbacks"] = {k: list(v) for k, v in self.fallbacks.items() if v}
        out["event_aliases"] = dict(self.event_aliases)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, file: str | Path | None = None) -> ColumnMapping:
        """Build from :meth:`to_dict` output, checking every key and value is something we know."""
        for key in data:
            if key not in _MAPPING_KEYS:
                raise InputError(
                    f"unknown key {key!r} in the mapping",
                    file=file,
                    hint=_closest_hint(key, _MAPPING_KEYS),
                )
        columns = _columns_from(data.get("columns"), file)
        fallbacks = _fallbacks_from(data.get("fallbacks"), columns, file)
        _check_options(data, file)
        how_given = HOW_FILE if file is not None else HOW_GIVEN
        return cls(
            layout=str(data.get("layout", "generic")),
            columns=columns,
            how={c: how_given for c in columns},
            fallbacks=fallbacks,
            event_aliases=dict(data.get("event_aliases") or {}),
            event_constant=data.get("event_constant"),
            invoice_refunds=bool(data.get("invoice_refunds", False)),
            day_first=data.get("day_first"),
            epoch_unit=data.get("epoch_unit"),
            decimal=data.get("decimal"),
        )


_MAPPING_KEYS = (
    "segtui_mapping",
    "layout",
    "event_constant",
    "invoice_refunds",
    "day_first",
    "epoch_unit",
    "decimal",
    "columns",
    "fallbacks",
    "event_aliases",
    "how",
)


def _columns_from(columns: Any, file: str | Path | None) -> dict[str, str]:
    """The ``[columns]`` table: canonical names to non-empty source names."""
    if not isinstance(columns, Mapping):
        raise InputError(
            "the mapping has no [columns] table of canonical = source names", file=file
        )
    out: dict[str, str] = {}
    for canonical, source in columns.items():
        if canonical not in CANONICAL_COLUMNS:
            raise InputError(
                f"{canonical!r} is not a canonical column",
                file=file,
                column=canonical,
                hint=_closest_hint(canonical, CANONICAL_COLUMNS),
            )
        if not isinstance(source, str) or not source:
            raise InputError(
                "the source column must be a non-empty string", file=file, column=canonical
            )
        out[canonical] = source
    return out


def _fallbacks_from(
    data: Any, columns: Mapping[str, str], file: str | Path | None
) -> dict[str, list[str]]:
    """The ``[fallbacks]`` table: lists of further sources for mapped canonical columns."""
    out: dict[str, list[str]] = {}
    for canonical, sources in dict(data or {}).items():
        if canonical not in columns:
            raise InputError(
                "fallback columns for a canonical column that is not mapped",
                file=file,
                column=canonical,
            )
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            raise InputError("fallbacks must be lists of column names", file=file, column=canonical)
        out[canonical] = list(sources)
    return out


def _check_options(data: Mapping[str, Any], file: str | Path | None) -> None:
    """The event aliases and parsing options hold values the loader understands."""
    aliases = data.get("event_aliases") or {}
    if not isinstance(aliases, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in aliases.items()
    ):
        raise InputError("event_aliases must map event names to event names", file=file)
    day_first = data.get("day_first")
    if day_first is not None and not isinstance(day_first, bool):
        raise InputError("day_first must be true or false", file=file)
    epoch_unit = data.get("epoch_unit")
    if epoch_unit is not None and epoch_unit not in ("s", "ms", "us", "ns"):
        raise InputError(f"epoch_unit must be one of s, ms, us, ns, not {epoch_unit!r}", file=file)
    decimal = data.get("decimal")
    if decimal is not None and decimal not in (".", ","):
        raise InputError(f'decimal must be "." or ",", not {decimal!r}', file=file)
    event_constant = data.get("event_constant")
    if event_constant is not None and not isinstance(event_constant, str):
        raise InputError("event_constant must be an event name", file=file)


def _closest_name(name: str, options: Iterable[str]) -> str | None:
    """The option most like ``name``: compared without case and punctuation, then as written."""
    opts = list(options)
    return closest(name, opts, cutoff=0.5, key=normalise_name) or closest(name, opts, cutoff=0.5)


def _closest_hint(name: str, options: Iterable[str]) -> str | None:
    match = _closest_name(name, options)
    return f"Did you mean {match!r}?" if match else None


def closest_column(canonical: str, columns: Sequence[str]) -> str | None:
    """The raw column most like a canonical column or any of its known names."""
    best, best_ratio = None, 0.0
    targets = [normalise_name(a) for a in (canonical, *COLUMN_ALIASES.get(canonical, ()))]
    for col in columns:
        n = normalise_name(col)
        for t in targets:
            ratio = difflib.SequenceMatcher(None, n, t).ratio()
            if ratio > best_ratio:
                best, best_ratio = col, ratio
    return best if best_ratio >= 0.5 else None


# --------------------------------------------------------------------------------------------
# detection


def detect_mapping(
    columns: Sequence[str],
    *,
    event_names: Sequence[str] = (),
    layout: str | None = None,
) -> ColumnMapping:
    """Detect a mapping from raw column names (and event names seen in a sample).

    ``layout`` forces a preset by name (``clickstream``, ``invoice_lines``, ``invoice_lines_ii``,
    ``segment``, ``ga4``, ``transactions``, ``generic``). Columns no preset covers are filled from
    the alias lists. A log with no event column is a transaction table: every row is a purchase.
    Does not check that required columns were found; :func:`require_columns` does.
    """
    cols = list(columns)
    if layout is not None and layout not in PRESET_NAMES:
        raise InputError(
            f"unknown layout {layout!r}",
            hint=f"Known layouts: {', '.join(PRESET_NAMES)}.",
        )
    by_norm: dict[str, str] = {}
    for c in cols:
        by_norm.setdefault(normalise_name(c), c)
    preset = get_preset(layout) if layout else find_preset(cols)
    mapping = ColumnMapping()
    used: set[str] = set()
    if preset is not None:
        _map_preset(mapping, preset, by_norm, used)
    skip_event = preset is not None and (preset.event_constant is not None)
    _map_aliases(mapping, by_norm, used, skip_event=skip_event)
    _map_value_names(mapping, cols, used)
    if preset is None:
        if "event" not in mapping.columns or layout == "transactions":
            mapping.layout = "transactions"
            mapping.event_constant = "purchase"
            mapping.columns.pop("event", None)
            mapping.how.pop("event", None)
        else:
            mapping.layout = "generic"
            mapping.event_aliases = generic_event_aliases(event_names)
    return mapping


def _map_preset(
    mapping: ColumnMapping, preset: Preset, by_norm: Mapping[str, str], used: set[str]
) -> None:
    """Fill ``mapping`` from a preset's candidates (the first present wins, the rest fall back)."""
    mapping.layout = preset.name
    for canonical, candidates in preset.columns:
        present = [by_norm[normalise_name(c)] for c in candidates if normalise_name(c) in by_norm]
        present = [p for p in dict.fromkeys(present) if p not in used]
        if not present:
            continue
        mapping.columns[canonical] = present[0]
        mapping.how[canonical] = f"{HOW_PRESET} {preset.name}"
        if present[1:]:
            mapping.fallbacks[canonical] = present[1:]
        used.update(present)
    mapping.event_aliases = dict(preset.event_aliases)
    mapping.event_constant = preset.event_constant
    mapping.invoice_refunds = preset.invoice_refunds


def _map_aliases(
    mapping: ColumnMapping, by_norm: Mapping[str, str], used: set[str], *, skip_event: bool
) -> None:
    """Map every canonical column still free to the first free column with a known name."""
    for canonical in CANONICAL_COLUMNS:
        if canonical in mapping.columns or (canonical == "event" and skip_event):
            continue
        for alias in COLUMN_ALIASES[canonical]:
            src = by_norm.get(normalise_name(alias))
            if src is not None and src not in used:
                mapping.columns[canonical] = src
                mapping.how[canonical] = (
                    f"{HOW_ALIAS} ({src!r} is a known name)"
                    if normalise_name(src) != normalise_name(canonical)
                    else f"{HOW_ALIAS} (same name)"
                )
                used.add(src)
                break


def _map_value_names(mapping: ColumnMapping, columns: Sequence[str], used: set[str]) -> None:
    """Map revenue, price and quantity, when no preset or alias did, by the words of the column
    names (:func:`segtui.ingest.presets.value_role`): the first free column (in file order) each
    rule gives a canonical column takes it, and the mapping table says which words decided."""
    for src in columns:
        if src in used:
            continue
        role = value_role(src)
        if role is None or role[0] in mapping.columns:
            continue
        canonical, why = role
        mapping.columns[canonical] = src
        mapping.how[canonical] = f"{HOW_NAME_RULE} ({src!r}: {why})"
        used.add(src)


def generic_event_aliases(event_names: Sequence[str]) -> dict[str, str]:
    """The generic alias table plus exact spellings seen in the data that match it loosely."""
    table = dict(GENERIC_EVENT_ALIASES)
    loose: dict[str, str] = {normalise_name(k): v for k, v in GENERIC_EVENT_ALIASES.items()}
    loose.update({normalise_name(c): c for c in CANONICAL_EVENT_NAMES})
    for name in event_names:
        target = loose.get(normalise_name(name))
        if target is not None and name != target:
            table.setdefault(name, target)
    return table


def resolve_event_aliases(
    aliases: Mapping[str, str], names_in_data: Iterable[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Split the alias table into the aliases to apply and those skipped, with the reason.

    An alias never folds a name into a canonical name the data already uses: if a log has both
    ``cart`` and ``add_to_cart``, ``cart`` is kept as it is (it may be the cart page there).
    Identity entries (``purchase`` -> ``purchase``) are dropped from both.
    """
    present = set(names_in_data)
    apply: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for raw, target in aliases.items():
        if raw == target:
            continue
        if target in present:
            skipped[raw] = f"the data already uses {target!r}"
        else:
            apply[raw] = target
    return apply, skipped


def map_flag(canonical: str, source: str) -> str:
    """``--map canonical=source`` as a person would type it (quoted when the name has spaces)."""
    pair = f"{canonical}={source}"
    return f"--map {pair}" if re.fullmatch(r"[A-Za-z0-9_.:@/+=-]+", pair) else f"--map '{pair}'"


def require_columns(
    mapping: ColumnMapping, raw_columns: Sequence[str], *, file: str | Path | None = None
) -> None:
    """Raise InputError when user_id or ts has no source: all missing ones in one message, each
    with the closest raw column (a raw column is suggested for one canonical column only)."""
    missing = [c for c in ("user_id", "ts") if c not in mapping.columns]
    if not missing:
        return
    free = [c for c in raw_columns if c not in mapping.used_columns()]
    guesses: dict[str, str | None] = {}
    for canonical in missing:
        guess = closest_column(canonical, free)
        guesses[canonical] = guess
        if guess is not None:
            free = [c for c in free if c != guess]
    names = " and ".join(repr(c) for c in missing)
    message = (
        f"no column for the required {names} was found"
        if len(missing) == 1
        else f"no columns for the required {names} were found"
    )
    found = [(c, g) for c, g in guesses.items() if g is not None]
    if found:
        matches = ", ".join(f"{g!r} for {c}" for c, g in found)
        flags = " ".join(map_flag(c, g) for c, g in found)
        hint = f"Closest match{'es' if len(found) > 1 else ''}: {matches}; use {flags}"
        unguessed = [c for c, g in guesses.items() if g is None]
        if unguessed:
            hint += " and name " + " and ".join(f"{c} with --map {c}=COLUMN" for c in unguessed)
        hint += "."
    else:
        hint = (
            "Name "
            + ("it with " if len(missing) == 1 else "them with ")
            + " ".join(f"--map {c}=COLUMN" for c in missing)
            + "."
        )
    raise InputError(
        message,
        file=file,
        column=missing[0] if len(missing) == 1 else None,
        details=[f"the file has columns: {', '.join(raw_columns)}"],
        hint=hint,
    )


def check_columns_exist(
    mapping: ColumnMapping,
    raw_columns: Sequence[str],
    *,
    origin: str,
    file: str | Path | None = None,
    data_file: str | Path | None = None,
) -> None:
    """Every source a mapping names must be a column of the data."""
    have = set(raw_columns)
    for canonical in mapping.columns:
        for src in mapping.sources(canonical):
            if src in have:
                continue
            guess = _closest_name(src, raw_columns)
            raise InputError(
                f"{origin} maps {canonical} to column {src!r}, which "
                f"{'the data file ' + str(data_file) if data_file else 'the data'} does not have",
                file=file,
                column=src,
                details=[f"the data has columns: {', '.join(raw_columns)}"],
                hint=f"Closest match: {guess!r}." if guess else None,
            )


def parse_overrides(items: Sequence[str]) -> dict[str, str]:
    """``["ts=event_time", "revenue="]`` -> dict; an empty source unmaps the column."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise InputError(
                f"--map expects canonical=source, got {item!r}",
                hint="For example --map ts=event_time.",
            )
        key, _, value = item.partition("=")
        out[key.strip()] = value.strip()
    return out


def apply_overrides(
    mapping: ColumnMapping, overrides: Mapping[str, str], raw_columns: Sequence[str]
) -> ColumnMapping:
    """Return a copy with ``canonical -> source`` pairs forced; an empty source unmaps.

    A source taken by an override is removed from whatever canonical column it fed before.
    """
    if not overrides:
        return mapping
    out = replace(
        mapping,
        columns=dict(mapping.columns),
        how=dict(mapping.how),
        fallbacks={k: list(v) for k, v in mapping.fallbacks.items()},
    )
    for canonical, source in overrides.items():
        if canonical not in CANONICAL_COLUMNS:
            raise InputError(
                f"--map: {canonical!r} is not a canonical column",
                column=canonical,
                hint=_closest_hint(canonical, CANONICAL_COLUMNS)
                or f"Canonical columns: {', '.join(CANONICAL_COLUMNS)}.",
            )
        if not source:
            out.columns.pop(canonical, None)
            out.how.pop(canonical, None)
            out.fallbacks.pop(canonical, None)
            continue
        if source not in raw_columns:
            guess = _closest_name(source, raw_columns)
            raise InputError(
                f"--map {canonical}={source}: the data has no column {source!r}",
                column=source,
                details=[f"the data has columns: {', '.join(raw_columns)}"],
                hint=f"Closest match: {guess!r}." if guess else None,
            )
        for other in list(out.columns):
            if other != canonical and out.columns[other] == source:
                out.columns.pop(other)
                out.how.pop(other, None)
                out.fallbacks.pop(other, None)
        for other, fb in list(out.fallbacks.items()):
            if source in fb:
                out.fallbacks[other] = [s for s in fb if s != source]
        out.columns[canonical] = source
        out.how[canonical] = HOW_OVERRIDE
        out.fallbacks.pop(canonical, None)
        if canonical == "event":
            out.event_constant = None
            out.invoice_refunds = False
    return out


# --------------------------------------------------------------------------------------------
# save / load


def save_mapping(mapping: ColumnMapping, path: str | Path) -> Path:
    """Write the mapping as TOML (``.toml``) or JSON (``.json``), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    data = mapping.to_dict()
    if suffix == ".toml":
        text = toml_text(data, header=MAPPING_HEADER)
    elif suffix == ".json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        raise InputError(
            "a mapping file must end in .toml or .json", file=path, hint="For example mapping.toml."
        )
    write_text_atomic(path, text)
    return path


def load_mapping(path: str | Path) -> ColumnMapping:
    """Read a mapping saved by :func:`save_mapping` (or written by hand), TOML or JSON."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such mapping file", file=path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InputError("the mapping file is not UTF-8", file=path) from error
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data = loads_toml(text, path)
        elif suffix == ".json":
            data = loads_json(text, path)
        else:
            raise InputError("a mapping file must end in .toml or .json", file=path)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"the mapping file is not valid TOML ({error})", file=path) from error
    except json.JSONDecodeError as error:
        raise InputError(
            f"the mapping file is not valid JSON ({error.msg})", file=path, row=error.lineno
        ) from error
    if not isinstance(data, dict):
        raise InputError("the mapping file must hold a table/object", file=path)
    return ColumnMapping.from_dict(data, file=path)
