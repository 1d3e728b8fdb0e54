"""The Segmentation a person edits: cluster labels plus names, merges, splits and rule segments.

It is plain, immutable data. The base (user ids, the clustering's labels, the generated names)
never changes; every edit is a small frozen dataclass appended to an edit log, and the current
state is the base with the log replayed. Every operation returns a new Segmentation, so undo is
"drop the last edit" and redo is "put it back", and the whole thing serialises to JSON and replays
the same way anywhere (the project file and the model JSON store it).

Decisions, so the UI and exported ids stay predictable:

* **Ids are stable.** A segment keeps its id through renames and merges, so a selection in the UI
  never jumps. New segments (split parts, rule segments) get fresh ids: one more than the largest
  id ever used in the current history. Ids are never renumbered.
* **Merge** keeps the *smallest* id among the merged segments (cluster ids are ordered largest
  segment first, so that is normally the biggest one) unless ``into=`` names one of them, and the
  merged segment keeps that segment's name unless ``name=`` is given. Noise can be merged into a
  segment but is never the default target. Rule segments cannot be merged (edit or remove the
  rule instead).
* **Split** works on a segment's *cluster members* (``members(segment_id)``: its users before rule
  segments are applied, in user order). The caller re-clusters those users and passes one sub-label
  per member; the largest part keeps the segment's id, the other parts get new ids in order of
  decreasing size (ties by sub-label). Default names are "<name> 1", "<name> 2", ... by size.
* **Rule segments** take precedence over cluster segments for the users who match. Among rule
  segments the one added *first* wins (an if/elif chain), so adding a rule never takes users away
  from an existing rule segment. Rules are evaluated against the users table passed to
  ``labels(users)``/``segments(users)``.
* **Names are unique** within a segmentation; renaming to a name in use is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import polars as pl

from segtui.errors import InputError
from segtui.segments.rules import Rule, parse_rule

FORMAT = "segtui.segments.segmentation"
FORMAT_VERSION = 1
NOISE_NAME = "Noise (unassigned)"

SegmentKind = Literal["cluster", "noise", "merged", "split", "rule"]


# --------------------------------------------------------------------------------------------
# Edits: the log is data


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
    """Split ``segment_id``: ``member_ids`` is the new segment id of each member, in user order."""

    segment_id: int
    member_ids: tuple[int, ...]
    names: tuple[tuple[int, str], ...]


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


# --------------------------------------------------------------------------------------------
# Derived state


@dataclass(frozen=True)
class SegmentInfo:
    """One segment as the UI and export see it.

    ``kind``: "cluster" (as clustered), "noise", "merged", "split" (a part of a split segment) or
    "rule". ``source_ids``: the ids it came from (itself for a cluster, the merged ids, the split
    segment's id; empty for a rule). ``rule``: the canonical rule text for rule segments.
    """

    id: int
    name: str
    kind: SegmentKind
    source_ids: tuple[int, ...]
    rule: str | None
    size: int


@dataclass
class _Segment:
    """Mutable working record used only while replaying edits."""

    id: int
    name: str
    kind: SegmentKind
    source_ids: tuple[int, ...]
    rule: Rule | None = None


@dataclass
class _State:
    """The result of replaying the log: cluster-level labels, segments, rule order, history."""

    cluster_labels: np.ndarray
    segments: dict[int, _Segment]
    rule_order: list[int]
    next_id: int
    history: list[str]

    def copy(self) -> _State:
        return _State(
            cluster_labels=self.cluster_labels.copy(),
            segments={k: _Segment(**vars(v)) for k, v in self.segments.items()},
            rule_order=list(self.rule_order),
            next_id=self.next_id,
            history=list(self.history),
        )


def _quote_list(names: Sequence[str]) -> str:
    quoted = [f"'{name}'" for name in names]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name 2``, ``name 3``... whichever is free."""
    if name not in taken:
        return name
    i = 2
    while f"{name} {i}" in taken:
        i += 1
    return f"{name} {i}"


# --------------------------------------------------------------------------------------------
# Segmentation


@dataclass(frozen=True)
class Segmentation:
    """Labels + names + an edit log with undo/redo. Build with :meth:`from_labels`.

    Fields are the saved data: ``user_ids`` and ``base_labels`` are aligned (user order, sorted by
    user_id upstream), ``base_names`` maps base segment ids to names, ``edits`` is the applied log
    and ``undone`` the redo stack (most recently undone last).
    """

    user_ids: tuple[str, ...]
    base_labels: tuple[int, ...]
    base_names: tuple[tuple[int, str], ...]
    noise_id: int | None = None
    features: tuple[str, ...] = ()
    edits: tuple[Edit, ...] = ()
    undone: tuple[Edit, ...] = field(default=(), compare=False)

    # ---- construction ----------------------------------------------------------------------

    @classmethod
    def from_labels(
        cls,
        user_ids: Sequence[str] | pl.Series | np.ndarray,
        labels: Sequence[int] | np.ndarray,
        names: Mapping[int, str] | None = None,
        noise_id: int | None = None,
        features: Sequence[str] = (),
    ) -> Segmentation:
        """Start a segmentation from a clustering: one label per user, names per id.

        Missing names default to "Segment <id>" (noise: "Noise (unassigned)"); duplicate names get
        a " 2" suffix. ``features`` are the names rule segments may use (empty: any name).
        """
        ids = [
            str(u) for u in (user_ids.to_list() if isinstance(user_ids, pl.Series) else user_ids)
        ]
        label_array = np.asarray(labels)
        if label_array.ndim != 1 or len(ids) != len(label_array):
            raise InputError(
                f"labels ({label_array.size}) and user ids ({len(ids)}) differ in length"
            )
        if label_array.size and not np.issubdtype(label_array.dtype, np.integer):
            raise InputError("segment labels must be integers")
        if len(set(ids)) != len(ids):
            raise InputError("user ids must be unique to build a segmentation")
        present = sorted(int(v) for v in np.unique(label_array))
        given = dict(names or {})
        taken: set[str] = set()
        base_names = []
        for sid in present:
            default = NOISE_NAME if sid == noise_id else f"Segment {sid}"
            name = _unique_name(str(given.get(sid, default)).strip() or default, taken)
            taken.add(name)
            base_names.append((sid, name))
        return cls(
            user_ids=tuple(ids),
            base_labels=tuple(int(v) for v in label_array.tolist()),
            base_names=tuple(base_names),
            noise_id=noise_id if noise_id in present else None,
            features=tuple(features),
        )

    # ---- replay -----------------------------------------------------------------------------

    def _initial_state(self) -> _State:
        labels = np.asarray(self.base_labels, dtype=np.int64)
        if labels.size != len(self.user_ids):
            raise InputError("segmentation: base labels and user ids differ in length")
        present = set(np.unique(labels).tolist())
        segments: dict[int, _Segment] = {}
        for sid, name in self.base_names:
            kind: SegmentKind = "noise" if sid == self.noise_id else "cluster"
            segments[sid] = _Segment(sid, name, kind, (sid,))
        missing = present - set(segments)
        if missing:
            raise InputError(
                f"segmentation: labels {sorted(missing)} have no segment name",
                hint="The segmentation data was edited by hand or is damaged.",
            )
        used = list(segments) + list(present)
        return _State(labels, segments, [], max(used, default=-1) + 1, [])

    def _apply(self, state: _State, edit: Edit) -> _State:
        """Replay one edit on a copy of ``state``; invalid edits raise InputError."""
        new = state.copy()
        segs = new.segments
        if isinstance(edit, Rename):
            seg = self._get(new, edit.segment_id)
            name = self._check_name(new, edit.name, exclude=edit.segment_id)
            new.history.append(f"renamed '{seg.name}' to '{name}'")
            seg.name = name
        elif isinstance(edit, Merge):
            ids = list(edit.segment_ids)
            if len(set(ids)) < 2 or len(set(ids)) != len(ids):
                raise InputError("merge needs two or more different segments")
            merged = [self._get(new, sid) for sid in ids]
            rules = [seg.name for seg in merged if seg.kind == "rule"]
            if rules:
                raise InputError(
                    f"rule segment '{rules[0]}' cannot be merged",
                    hint="Edit or remove the rule instead.",
                )
            if edit.target_id not in ids:
                raise InputError("merge target must be one of the merged segments")
            name = self._check_name(new, edit.name, exclude=set(ids))
            others = [sid for sid in ids if sid != edit.target_id]
            new.cluster_labels[np.isin(new.cluster_labels, others)] = edit.target_id
            new.history.append(f"merged {_quote_list([s.name for s in merged])} into '{name}'")
            for sid in others:
                del segs[sid]
            segs[edit.target_id] = _Segment(
                edit.target_id, name, "merged", tuple(sorted(ids)), None
            )
        elif isinstance(edit, Split):
            parent = self._get(new, edit.segment_id)
            if parent.kind == "rule":
                raise InputError(
                    f"rule segment '{parent.name}' cannot be split", hint="Add a narrower rule."
                )
            mask = new.cluster_labels == edit.segment_id
            if int(mask.sum()) != len(edit.member_ids):
                raise InputError(
                    f"split of '{parent.name}' has {len(edit.member_ids)} labels for "
                    f"{int(mask.sum())} members",
                    hint="Pass one sub-label per member, in user order (see members()).",
                )
            part_names = dict(edit.names)
            new_ids = sorted(set(edit.member_ids))
            if (
                edit.segment_id not in new_ids
                or len(new_ids) < 2
                or set(new_ids) != set(part_names)
            ):
                raise InputError("segmentation: a split edit is inconsistent")
            fresh = [sid for sid in new_ids if sid != edit.segment_id]
            if any(sid in segs or sid < new.next_id for sid in fresh):
                raise InputError("segmentation: a split edit reuses segment ids")
            new.cluster_labels[mask] = np.asarray(edit.member_ids, dtype=np.int64)
            old_name = parent.name
            del segs[edit.segment_id]
            for sid in new_ids:
                name = self._check_name(new, part_names[sid], exclude=None)
                segs[sid] = _Segment(sid, name, "split", (edit.segment_id,), None)
            new.next_id = max(new.next_id, max(new_ids) + 1)
            ordered = [part_names[sid] for sid in new_ids]
            new.history.append(f"split '{old_name}' into {_quote_list(ordered)}")
        elif isinstance(edit, AddRule):
            if edit.segment_id in segs or edit.segment_id < new.next_id:
                raise InputError("segmentation: a rule edit reuses a segment id")
            rule = parse_rule(edit.rule, self.features or None)
            name = self._check_name(new, edit.name, exclude=None)
            segs[edit.segment_id] = _Segment(edit.segment_id, name, "rule", (), rule)
            new.rule_order.append(edit.segment_id)
            new.next_id = edit.segment_id + 1
            new.history.append(f"added rule segment '{name}': {rule}")
        elif isinstance(edit, RemoveRule):
            seg = self._get(new, edit.segment_id)
            if seg.kind != "rule":
                raise InputError(f"'{seg.name}' is not a rule segment")
            del segs[edit.segment_id]
            new.rule_order.remove(edit.segment_id)
            new.history.append(f"removed rule segment '{seg.name}'")
        else:  # pragma: no cover - the Edit union is closed
            raise TypeError(f"unknown edit {edit!r}")
        return new

    @staticmethod
    def _get(state: _State, segment_id: int) -> _Segment:
        seg = state.segments.get(segment_id)
        if seg is None:
            known = ", ".join(str(k) for k in sorted(state.segments))
            raise InputError(f"no segment with id {segment_id}", hint=f"Segment ids: {known}.")
        return seg

    @staticmethod
    def _check_name(state: _State, name: str, exclude: int | set[int] | None) -> str:
        clean = " ".join(str(name).split())
        if not clean:
            raise InputError("a segment name cannot be empty")
        skip = exclude if isinstance(exclude, set) else {exclude}
        for sid, seg in state.segments.items():
            if sid not in skip and seg.name == clean:
                raise InputError(
                    f"the name '{clean}' is already used by segment {sid}",
                    hint="Pick another name.",
                )
        return clean

    @cached_property
    def _state(self) -> _State:
        state = self._initial_state()
        for edit in self.edits:
            state = self._apply(state, edit)
        return state

    def _with(self, edit: Edit, undone: tuple[Edit, ...] = ()) -> Segmentation:
        """A new Segmentation with ``edit`` applied (validated now) and the given redo stack."""
        state = self._apply(self._state, edit)
        new = Segmentation(
            user_ids=self.user_ids,
            base_labels=self.base_labels,
            base_names=self.base_names,
            noise_id=self.noise_id,
            features=self.features,
            edits=(*self.edits, edit),
            undone=undone,
        )
        new.__dict__["_state"] = state  # seed the cache: replay already done
        return new

    # ---- operations -------------------------------------------------------------------------

    def rename(self, segment_id: int, name: str) -> Segmentation:
        """Rename one segment."""
        return self._with(Rename(int(segment_id), " ".join(str(name).split())))

    def merge(
        self, ids: Sequence[int], name: str | None = None, into: int | None = None
    ) -> Segmentation:
        """Merge two or more segments; keeps the smallest id (or ``into``) and its name."""
        ids = [int(sid) for sid in ids]
        if len(set(ids)) < 2:
            raise InputError("merge needs two or more different segments")
        state = self._state
        if into is not None:
            target = int(into)
        else:  # the smallest id, but never the noise segment when a real one is merged
            real = [sid for sid in ids if self._get(state, sid).kind != "noise"]
            target = min(real or ids)
        if target not in ids:
            raise InputError(f"merge target {target} is not one of the merged segments")
        final = name if name is not None else self._get(state, target).name
        ordered = [target, *sorted(sid for sid in set(ids) if sid != target)]
        return self._with(Merge(tuple(ordered), target, " ".join(str(final).split())))

    def members(self, segment_id: int) -> np.ndarray:
        """Boolean mask (user order) of a segment's cluster members, before rule segments apply.

        These are the users :meth:`split` expects sub-labels for.
        """
        seg = self._get(self._state, int(segment_id))
        if seg.kind == "rule":
            raise InputError(f"'{seg.name}' is a rule segment: it has no cluster members")
        return self._state.cluster_labels == seg.id

    def split(
        self,
        segment_id: int,
        sub_labels: Sequence[int] | np.ndarray,
        names: Mapping[int, str] | None = None,
    ) -> Segmentation:
        """Record a re-clustering of one segment: one sub-label per member (see :meth:`members`).

        ``names`` maps sub-labels to names. The largest part keeps ``segment_id``.
        """
        state = self._state
        parent = self._get(state, int(segment_id))
        mask = self.members(parent.id)
        sub = np.asarray(sub_labels)
        if sub.ndim != 1 or sub.size != int(mask.sum()):
            raise InputError(
                f"split of '{parent.name}' needs one sub-label per member: got {sub.size} for "
                f"{int(mask.sum())} members",
                hint="Re-cluster exactly the users in members(segment_id), in user order.",
            )
        values, inverse, counts = np.unique(sub, return_inverse=True, return_counts=True)
        if values.size < 2:
            raise InputError(f"split of '{parent.name}' needs at least two groups")
        order = sorted(range(values.size), key=lambda i: (-int(counts[i]), i))
        new_ids = np.empty(values.size, dtype=np.int64)
        next_id = state.next_id
        for rank, i in enumerate(order):
            if rank == 0:
                new_ids[i] = parent.id
            else:
                new_ids[i] = next_id
                next_id += 1
        given = dict(names or {})
        taken = {seg.name for sid, seg in state.segments.items() if sid != parent.id}
        part_names: list[tuple[int, str]] = []
        for rank, i in enumerate(order):
            key = values[i].item()
            raw = given.get(key)
            default = f"{parent.name} {rank + 1}"
            name = " ".join(str(raw).split()) if raw is not None else default
            if raw is not None and name in taken:
                raise InputError(f"the name '{name}' is already used", hint="Pick another name.")
            name = _unique_name(name or default, taken)
            taken.add(name)
            part_names.append((int(new_ids[i]), name))
        member_ids = tuple(new_ids[inverse].tolist())
        return self._with(Split(parent.id, member_ids, tuple(sorted(part_names))))

    def add_rule_segment(self, name: str, rule_text: str) -> Segmentation:
        """Add a segment of the users matching ``rule_text`` (checked now; see rules.py)."""
        parse_rule(rule_text, self.features or None)
        return self._with(AddRule(self._state.next_id, " ".join(str(name).split()), rule_text))

    def remove_rule_segment(self, segment_id: int) -> Segmentation:
        """Remove a rule segment; its users fall back to their cluster segments."""
        return self._with(RemoveRule(int(segment_id)))

    # ---- undo / redo ------------------------------------------------------------------------

    @property
    def can_undo(self) -> bool:
        return bool(self.edits)

    @property
    def can_redo(self) -> bool:
        return bool(self.undone)

    def undo(self) -> Segmentation:
        """Step back one edit (it moves to the redo stack)."""
        if not self.edits:
            raise InputError("nothing to undo")
        return Segmentation(
            self.user_ids,
            self.base_labels,
            self.base_names,
            self.noise_id,
            self.features,
            self.edits[:-1],
            (*self.undone, self.edits[-1]),
        )

    def redo(self) -> Segmentation:
        """Re-apply the most recently undone edit."""
        if not self.undone:
            raise InputError("nothing to redo")
        return self._with(self.undone[-1], undone=self.undone[:-1])

    @property
    def history(self) -> list[str]:
        """One readable line per applied edit, oldest first."""
        return list(self._state.history)

    @property
    def undo_text(self) -> str | None:
        """What undo would take back (the last history line), or None."""
        return self._state.history[-1] if self.edits else None

    @property
    def redo_text(self) -> str | None:
        """What redo would re-apply, or None."""
        if not self.undone:
            return None
        return self._apply(self._state, self.undone[-1]).history[-1]

    # ---- reading ----------------------------------------------------------------------------

    @property
    def names(self) -> dict[int, str]:
        """Current segment names by id."""
        return {sid: seg.name for sid, seg in self._state.segments.items()}

    @property
    def segment_ids(self) -> list[int]:
        """Current segment ids in display order (ascending, noise last)."""
        segs = self._state.segments
        return sorted(segs, key=lambda sid: (segs[sid].kind == "noise", sid))

    @property
    def has_rules(self) -> bool:
        return bool(self._state.rule_order)

    def rule(self, segment_id: int) -> Rule | None:
        """The parsed rule of a rule segment (None for other segments)."""
        return self._get(self._state, int(segment_id)).rule

    @cached_property
    def _user_series(self) -> pl.Series:
        return pl.Series("user_id", self.user_ids, dtype=pl.Utf8)

    def _aligned(self, users: pl.DataFrame) -> pl.DataFrame:
        """``users`` in this segmentation's user order, or an InputError when it has other users."""
        if "user_id" not in users.columns:
            raise InputError("the users table has no 'user_id' column", column="user_id")
        if users.height == len(self.user_ids):
            expected = self._user_series
            if users["user_id"].cast(pl.Utf8).alias("user_id").equals(expected):
                return users
            ordered = users.sort("user_id")
            if ordered["user_id"].cast(pl.Utf8).alias("user_id").equals(expected):
                return ordered
        raise InputError(
            "the users table does not hold the same users as the segmentation",
            hint="Compute features on the same events the segmentation was built from.",
        )

    def labels(self, users: pl.DataFrame | None = None) -> np.ndarray:
        """Final segment id per user (user order) after merges, splits and rule segments.

        ``users`` (the users table) is needed only when there are rule segments.
        """
        state = self._state
        labels = state.cluster_labels.copy()
        if not state.rule_order:
            return labels
        if users is None:
            raise InputError(
                "this segmentation has rule segments: pass the users table to compute labels"
            )
        table = self._aligned(users)
        rules = [(sid, state.segments[sid].rule) for sid in state.rule_order]
        for _, rule in rules:
            assert rule is not None
            rule.check_columns(table)
        matches = table.select(
            [rule.expr.alias(f"r{i}") for i, (_, rule) in enumerate(rules) if rule is not None]
        )
        taken = np.zeros(labels.size, dtype=bool)
        for i, (sid, _) in enumerate(rules):
            hit = matches[f"r{i}"].to_numpy().astype(bool, copy=False) & ~taken
            labels[hit] = sid
            taken |= hit
        return labels

    def segments(
        self, users: pl.DataFrame | None = None, labels: np.ndarray | None = None
    ) -> list[SegmentInfo]:
        """Every current segment with its size, in display order (ascending id, noise last).

        ``labels`` is ``self.labels(users)`` when the caller already has it (rules are not
        evaluated twice).
        """
        if labels is None:
            labels = self.labels(users)
        ids, counts = np.unique(labels, return_counts=True)
        sizes = dict(zip(ids.tolist(), counts.tolist(), strict=True))
        out = []
        for sid in self.segment_ids:
            seg = self._state.segments[sid]
            out.append(
                SegmentInfo(
                    id=sid,
                    name=seg.name,
                    kind=seg.kind,
                    source_ids=seg.source_ids,
                    rule=str(seg.rule) if seg.rule is not None else None,
                    size=int(sizes.get(sid, 0)),
                )
            )
        return out

    # ---- JSON -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: base labels as a list aligned with ``user_ids``, edits as dicts."""
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "user_ids": list(self.user_ids),
            "labels": list(self.base_labels),
            "names": [[sid, name] for sid, name in self.base_names],
            "noise_id": self.noise_id,
            "features": list(self.features),
            "edits": [_edit_to_dict(edit) for edit in self.edits],
            "undone": [_edit_to_dict(edit) for edit in self.undone],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Segmentation:
        """Rebuild from :meth:`to_dict` output; the edits are replayed and checked."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError(
                "not a segtui segmentation (missing format marker)",
                hint="Save the segmentation again from segtui.",
            )
        version = data.get("version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise InputError(
                f"segmentation written by a newer segtui (version {version}, "
                f"this one reads up to {FORMAT_VERSION})",
                hint="Upgrade segtui.",
            )
        try:
            user_ids = tuple(_expect_list(data, "user_ids", str))
            labels = tuple(_expect_list(data, "labels", int))
            names_raw = _expect_list(data, "names", list)
            base_names = tuple((_int(pair[0]), _str(pair[1])) for pair in names_raw)
            if any(len(pair) != 2 for pair in names_raw):
                raise ValueError("names must be [id, name] pairs")
            noise = data.get("noise_id")
            noise_id = None if noise is None else _int(noise)
            features = tuple(_expect_list(data, "features", str))
            edits = tuple(_edit_from_dict(e) for e in _expect_list(data, "edits", dict))
            undone = tuple(_edit_from_dict(e) for e in _expect_list(data, "undone", dict))
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise InputError(
                f"segmentation data is damaged ({error})",
                hint="It was probably edited by hand; save it again from segtui.",
            ) from None
        seg = cls(user_ids, labels, base_names, noise_id, features, edits, undone)
        if len(user_ids) != len(labels):
            raise InputError("segmentation data is damaged (user ids and labels differ in length)")
        state = seg._state  # replays the edits: a bad log raises InputError here
        for edit in reversed(undone):  # the redo stack must replay on top, too
            state = seg._apply(state, edit)
        return seg


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _expect_list(data: Mapping[str, Any], key: str, kind: type) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise TypeError(f"'{key}' must be a list")
    for item in value:
        if kind is int:
            _int(item)
        elif not isinstance(item, kind):
            raise TypeError(f"'{key}' holds {type(item).__name__}, expected {kind.__name__}")
    return value


def _edit_to_dict(edit: Edit) -> dict[str, Any]:
    if isinstance(edit, Rename):
        return {"op": "rename", "segment_id": edit.segment_id, "name": edit.name}
    if isinstance(edit, Merge):
        return {
            "op": "merge",
            "segment_ids": list(edit.segment_ids),
            "target_id": edit.target_id,
            "name": edit.name,
        }
    if isinstance(edit, Split):
        return {
            "op": "split",
            "segment_id": edit.segment_id,
            "member_ids": list(edit.member_ids),
            "names": [[sid, name] for sid, name in edit.names],
        }
    if isinstance(edit, AddRule):
        return {
            "op": "add_rule",
            "segment_id": edit.segment_id,
            "name": edit.name,
            "rule": edit.rule,
        }
    return {"op": "remove_rule", "segment_id": edit.segment_id}


def _edit_from_dict(data: Mapping[str, Any]) -> Edit:
    op = data.get("op")
    if op == "rename":
        return Rename(_int(data["segment_id"]), _str(data["name"]))
    if op == "merge":
        return Merge(
            tuple(_int(v) for v in data["segment_ids"]), _int(data["target_id"]), _str(data["name"])
        )
    if op == "split":
        names = tuple((_int(p[0]), _str(p[1])) for p in data["names"])
        return Split(_int(data["segment_id"]), _int_list(data["member_ids"]), names)
    if op == "add_rule":
        return AddRule(_int(data["segment_id"]), _str(data["name"]), _str(data["rule"]))
    if op == "remove_rule":
        return RemoveRule(_int(data["segment_id"]))
    raise ValueError(f"unknown edit {op!r}")


def _int_list(values: Any) -> tuple[int, ...]:
    if not isinstance(values, list):
        raise TypeError("expected a list of integers")
    return tuple(_int(v) for v in values)
