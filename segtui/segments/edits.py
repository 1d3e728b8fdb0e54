"""The edits a person makes to a segmentation, as data, and their one JSON round trip.

Each edit is a small frozen dataclass; :class:`segtui.segments.segmentation.Segmentation` keeps
them in its log and is the only code that applies them. The project file, the model JSON and the
Segmentation's own JSON all store edits through :func:`edit_to_dict` / :func:`edit_from_dict`, so
a saved edit is checked by one parser wherever it is read.

A split saved in a model has no ``member_ids`` (the model keeps no per-user data): it reads as a
:class:`Split` with empty ``member_ids``, which only a Segmentation without users replays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rename:
    """Give ``segment_id`` a new name."""

    segment_id: int
    name: str


@dataclass(frozen=True)
class Merge:
    """Merge ``segment_ids`` into ``target_id`` (one of them), named ``name``."""

    segment_ids: tuple[int, ...]
    target_id: int
    name: str


@dataclass(frozen=True)
class Split:
    """Split ``segment_id``: ``member_ids`` is the new segment id of each member, in user order.

    ``names`` pairs each part's id with its name; the part ids are its keys.
    """

    segment_id: int
    member_ids: tuple[int, ...]
    names: tuple[tuple[int, str], ...]

    @property
    def part_ids(self) -> list[int]:
        """The parts' segment ids, ascending (the first one may be ``segment_id`` itself)."""
        return sorted(sid for sid, _ in self.names)


@dataclass(frozen=True)
class AddRule:
    """Add a rule segment with id ``segment_id``."""

    segment_id: int
    name: str
    rule: str


@dataclass(frozen=True)
class RemoveRule:
    """Remove the rule segment ``segment_id``."""

    segment_id: int


Edit = Rename | Merge | Split | AddRule | RemoveRule

OPS: dict[str, type[Edit]] = {
    "rename": Rename,
    "merge": Merge,
    "split": Split,
    "add_rule": AddRule,
    "remove_rule": RemoveRule,
}
"""The ``op`` each edit is saved under."""


class EditDataError(ValueError):
    """A saved edit that does not read as one: ``key`` names its field, ``what`` the problem.

    A ValueError, so readers that report "damaged data" catch it with the rest; the model turns
    it into an error naming the full key (``segmentation.edits[1].target_id``).
    """

    def __init__(self, key: str, what: str) -> None:
        super().__init__(f"'{key}' {what}")
        self.key = key
        self.what = what


def edit_to_dict(edit: Edit) -> dict[str, Any]:
    """The JSON-ready dict of one edit: ``op`` first, then the fields in declaration order."""
    op = next(name for name, kind in OPS.items() if isinstance(edit, kind))
    if isinstance(edit, Split):
        return {
            "op": op,
            "segment_id": edit.segment_id,
            "member_ids": list(edit.member_ids),
            "names": [[sid, name] for sid, name in edit.names],
        }
    if isinstance(edit, Merge):
        return {
            "op": op,
            "segment_ids": list(edit.segment_ids),
            "target_id": edit.target_id,
            "name": edit.name,
        }
    return {"op": op, **vars(edit)}


def edit_from_dict(data: Any) -> Edit:
    """Read one saved edit; anything that is not an edit raises :class:`EditDataError`."""
    if not isinstance(data, Mapping):
        raise EditDataError("op", f"is missing: an edit is an object, not {type(data).__name__}")
    op = data.get("op")
    kind = OPS.get(op) if isinstance(op, str) else None
    if kind is None:
        raise EditDataError("op", f"is an unknown edit {op!r} (not one of {', '.join(OPS)})")
    sid = _int(data, "segment_id") if kind is not Merge else 0
    if kind is Rename:
        return Rename(sid, _str(data, "name"))
    if kind is Merge:
        return Merge(_ints(data, "segment_ids"), _int(data, "target_id"), _str(data, "name"))
    if kind is Split:
        members = _ints(data, "member_ids") if "member_ids" in data else ()
        return Split(sid, members, _pairs(data, "names"))
    if kind is AddRule:
        return AddRule(sid, _str(data, "name"), _str(data, "rule"))
    return RemoveRule(sid)


def _value(data: Mapping[str, Any], key: str) -> Any:
    if key not in data:
        raise EditDataError(key, "is missing")
    return data[key]


ID_LIMIT = 2**31
"""Segment ids are written as int32 (segments.parquet's segment_id): larger ones are refused."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < ID_LIMIT


def _int(data: Mapping[str, Any], key: str) -> int:
    value = _value(data, key)
    if not _is_int(value):
        big = isinstance(value, int) and not isinstance(value, bool)
        what = "a smaller integer" if big else f"an integer, not {type(value).__name__}"
        raise EditDataError(key, f"must be {what}")
    return int(value)


def _str(data: Mapping[str, Any], key: str) -> str:
    value = _value(data, key)
    if not isinstance(value, str):
        raise EditDataError(key, f"must be text, not {type(value).__name__}")
    return value


def _ints(data: Mapping[str, Any], key: str) -> tuple[int, ...]:
    value = _value(data, key)
    if not isinstance(value, list) or not all(_is_int(v) for v in value):
        raise EditDataError(key, "must be a list of integers")
    return tuple(int(v) for v in value)


def _pairs(data: Mapping[str, Any], key: str) -> tuple[tuple[int, str], ...]:
    value = _value(data, key)
    if not isinstance(value, list):
        raise EditDataError(key, f"must be a list, not {type(value).__name__}")
    for i, pair in enumerate(value):
        if not (isinstance(pair, list) and len(pair) == 2 and _is_int(pair[0])):
            raise EditDataError(f"{key}[{i}]", "must be an [id, name] pair")
        if not isinstance(pair[1], str):
            raise EditDataError(f"{key}[{i}]", "must be an [id, name] pair")
    return tuple((int(p[0]), str(p[1])) for p in value)
