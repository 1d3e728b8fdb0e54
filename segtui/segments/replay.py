"""How each kind of edit changes a segmentation: one small function per edit, one dispatch.

:class:`segtui.segments.segmentation.Segmentation` replays its log through :func:`apply_edit`
and nothing else applies edits: labelling the segmentation's own users, checking a saved log, and
relabelling new users with a saved model (:meth:`Segmentation.relabel`) all go through here, so
the rules below hold everywhere. Rule precedence (the first rule added wins) is
:func:`rule_labels`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from segtui.errors import InputError
from segtui.segments.edits import AddRule, Edit, Merge, RemoveRule, Rename, Split
from segtui.segments.rules import Rule, parse_rule

SegmentKind = Literal["cluster", "noise", "merged", "split", "rule"]


@dataclass
class SegmentRecord:
    """Mutable working record of one segment, used only while replaying edits."""

    id: int
    name: str
    kind: SegmentKind
    source_ids: tuple[int, ...]
    rule: Rule | None = None


@dataclass
class ReplayState:
    """The result of replaying a log: cluster-level labels, segments, rule order, history."""

    cluster_labels: np.ndarray
    segments: dict[int, SegmentRecord]
    rule_order: list[int]
    next_id: int
    history: list[str]

    def copy(self) -> ReplayState:
        return ReplayState(
            cluster_labels=self.cluster_labels.copy(),
            segments={k: SegmentRecord(**vars(v)) for k, v in self.segments.items()},
            rule_order=list(self.rule_order),
            next_id=self.next_id,
            history=list(self.history),
        )

    def get(self, segment_id: int) -> SegmentRecord:
        """The segment, or an InputError listing the ids there are."""
        seg = self.segments.get(segment_id)
        if seg is None:
            known = ", ".join(str(k) for k in sorted(self.segments))
            raise InputError(f"no segment with id {segment_id}", hint=f"Segment ids: {known}.")
        return seg

    def check_name(self, name: str, exclude: int | set[int] | None) -> str:
        """``name`` with its whitespace collapsed, refused when empty or used by another."""
        clean = " ".join(str(name).split())
        if not clean:
            raise InputError("a segment name cannot be empty")
        skip = exclude if isinstance(exclude, set) else {exclude}
        for sid, seg in self.segments.items():
            if sid not in skip and seg.name == clean:
                raise InputError(
                    f"the name '{clean}' is already used by segment {sid}",
                    hint="Pick another name.",
                )
        return clean


@dataclass(frozen=True)
class Replay:
    """What a replay knows besides the state: the features rules may read (empty: any), and
    whether the labels are other users than the segmentation's own (a model labelling new
    users: a split part may then get none of them)."""

    features: tuple[str, ...] = ()
    new_users: bool = False


def quote_list(names: Sequence[str]) -> str:
    """'a', 'a' and 'b', 'a', 'b' and 'c'."""
    quoted = [f"'{name}'" for name in names]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def apply_edit(state: ReplayState, edit: Edit, replay: Replay) -> ReplayState:
    """Replay one edit on a copy of ``state``; an invalid edit raises InputError."""
    apply = _APPLY.get(type(edit))
    if apply is None:  # pragma: no cover - the Edit union is closed
        raise TypeError(f"unknown edit {edit!r}")
    new = state.copy()
    apply(new, edit, replay)
    return new


def _rename(state: ReplayState, edit: Rename, replay: Replay) -> None:
    seg = state.get(edit.segment_id)
    name = state.check_name(edit.name, exclude=edit.segment_id)
    state.history.append(f"renamed '{seg.name}' to '{name}'")
    seg.name = name


def _merge(state: ReplayState, edit: Merge, replay: Replay) -> None:
    ids = list(edit.segment_ids)
    if len(set(ids)) < 2 or len(set(ids)) != len(ids):
        raise InputError("merge needs two or more different segments")
    merged = [state.get(sid) for sid in ids]
    rules = [seg.name for seg in merged if seg.kind == "rule"]
    if rules:
        raise InputError(
            f"rule segment '{rules[0]}' cannot be merged", hint="Edit or remove the rule instead."
        )
    if edit.target_id not in ids:
        raise InputError("merge target must be one of the merged segments")
    name = state.check_name(edit.name, exclude=set(ids))
    others = [sid for sid in ids if sid != edit.target_id]
    state.cluster_labels[np.isin(state.cluster_labels, others)] = edit.target_id
    state.history.append(f"merged {quote_list([s.name for s in merged])} into '{name}'")
    for sid in others:
        del state.segments[sid]
    state.segments[edit.target_id] = SegmentRecord(
        edit.target_id, name, "merged", tuple(sorted(ids))
    )


def _check_split(state: ReplayState, edit: Split, members: int, replay: Replay) -> None:
    """A split names its parts, gives one part id per member, and creates only fresh ids."""
    parent = state.get(edit.segment_id)
    if parent.kind == "rule":
        raise InputError(
            f"rule segment '{parent.name}' cannot be split", hint="Add a narrower rule."
        )
    if members != len(edit.member_ids):
        raise InputError(
            f"split of '{parent.name}' has {len(edit.member_ids)} labels for {members} members",
            hint="Pass one sub-label per member, in user order (see members()).",
        )
    parts, used = set(edit.part_ids), set(edit.member_ids)
    # the segmentation's own members fill every part; new users (or none) may miss some
    every_part = members > 0 and not replay.new_users
    if (
        edit.segment_id not in parts
        or len(parts) < 2
        or not used <= parts
        or (every_part and used != parts)
    ):
        raise InputError("segmentation: a split edit is inconsistent")
    fresh = parts - {edit.segment_id}
    if any(sid in state.segments or sid < state.next_id for sid in fresh):
        raise InputError("segmentation: a split edit reuses segment ids")


def _split(state: ReplayState, edit: Split, replay: Replay) -> None:
    mask = state.cluster_labels == edit.segment_id
    _check_split(state, edit, int(mask.sum()), replay)
    state.cluster_labels[mask] = np.asarray(edit.member_ids, dtype=np.int64)
    old_name = state.segments.pop(edit.segment_id).name
    part_names = dict(edit.names)
    part_ids = sorted(set(edit.part_ids))
    for sid in part_ids:
        name = state.check_name(part_names[sid], exclude=None)
        state.segments[sid] = SegmentRecord(sid, name, "split", (edit.segment_id,))
    state.next_id = max(state.next_id, part_ids[-1] + 1)
    ordered = [part_names[sid] for sid in part_ids]
    state.history.append(f"split '{old_name}' into {quote_list(ordered)}")


def _add_rule(state: ReplayState, edit: AddRule, replay: Replay) -> None:
    if edit.segment_id in state.segments or edit.segment_id < state.next_id:
        raise InputError("segmentation: a rule edit reuses a segment id")
    rule = parse_rule(edit.rule, replay.features or None)
    name = state.check_name(edit.name, exclude=None)
    state.segments[edit.segment_id] = SegmentRecord(edit.segment_id, name, "rule", (), rule)
    state.rule_order.append(edit.segment_id)
    state.next_id = edit.segment_id + 1
    state.history.append(f"added rule segment '{name}': {rule}")


def _remove_rule(state: ReplayState, edit: RemoveRule, replay: Replay) -> None:
    seg = state.get(edit.segment_id)
    if seg.kind != "rule":
        raise InputError(f"'{seg.name}' is not a rule segment")
    del state.segments[edit.segment_id]
    state.rule_order.remove(edit.segment_id)
    state.history.append(f"removed rule segment '{seg.name}'")


_APPLY: dict[type, Callable[[ReplayState, Any, Replay], None]] = {
    Rename: _rename,
    Merge: _merge,
    Split: _split,
    AddRule: _add_rule,
    RemoveRule: _remove_rule,
}


def rule_labels(state: ReplayState, labels: np.ndarray, table: pl.DataFrame) -> np.ndarray:
    """``labels`` with each rule segment's matching users moved there; the first rule added
    wins (an if/elif chain), and a null comparison matches no one. ``table`` is aligned."""
    out = labels.copy()
    rules = [(sid, state.segments[sid].rule) for sid in state.rule_order]
    checked = [(sid, rule) for sid, rule in rules if rule is not None]
    for _, rule in checked:
        rule.check_columns(table)
    matches = table.select([rule.expr.alias(f"r{i}") for i, (_, rule) in enumerate(checked)])
    taken = np.zeros(out.size, dtype=bool)
    for i, (sid, _) in enumerate(checked):
        hit = matches[f"r{i}"].fill_null(False).to_numpy().astype(bool, copy=False) & ~taken
        out[hit] = sid
        taken |= hit
    return out
