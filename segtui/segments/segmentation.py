"""The Segmentation a person edits: cluster labels plus names, merges, splits and rule segments.

It is plain, immutable data. The base (user ids, the clustering's labels, the generated names)
never changes; every edit is a small frozen dataclass appended to an edit log, and the current
state is the base with the log replayed. Every operation returns a new Segmentation, so undo is
"drop the last edit" and redo is "put it back", and the whole thing serialises to JSON and replays
the same way anywhere (the project file and the model JSON store it).

It is the one place edits are applied: the edits themselves and their JSON are
:mod:`segtui.segments.edits`, what each kind does is :mod:`segtui.segments.replay`, and the
model (checking a saved log), ``assign`` (:meth:`Segmentation.relabel` for new users) and the app
(:meth:`Segmentation.with_rules_from` and :meth:`Segmentation.fit_bound_history` over a refit)
all go through a Segmentation.

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

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from segtui.errors import InputError
from segtui.segments.edits import (
    AddRule,
    Edit,
    Merge,
    RemoveRule,
    Rename,
    Split,
    edit_from_dict,
    edit_to_dict,
)
from segtui.segments.names import NOISE_NAME, unique_name
from segtui.segments.replay import (
    Replay,
    ReplayState,
    SegmentKind,
    SegmentRecord,
    apply_edit,
    rule_labels,
)
from segtui.segments.rules import Rule, parse_rule

FORMAT = "segtui.segmentation"
"""The marker every saved segmentation carries (unchanged since the first release: files written
before the package was laid out in subpackages must still read)."""
FORMAT_VERSION = 1

PlaceSplit = Callable[[int, np.ndarray], np.ndarray]
"""``(index of the split edit, mask of the users in the split segment) -> a part id per user``:
how :meth:`Segmentation.relabel` puts new users into a split segment's parts."""


_SAVED_KEYS = ("names", "edits", "undone", "noise_id")
"""What a saved form puts back onto a fresh fit (the rest comes from the fit)."""


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


@dataclass(frozen=True)
class CarriedRules:
    """A new fit's Segmentation with an old one's rule segments added back, and what happened.

    ``carried``: the names they got; ``dropped``: rules that no longer apply, with the reason.
    """

    segmentation: Segmentation
    carried: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()


@dataclass(frozen=True)
class SplitLabels:
    """A split edit and the cluster labels right after it (its parts' members, in user order)."""

    index: int
    edit: Split
    cluster_labels: np.ndarray


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
            name = unique_name(str(given.get(sid, default)).strip() or default, taken)
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

    @property
    def _replay(self) -> Replay:
        return Replay(self.features)

    def _initial_state(self) -> ReplayState:
        labels = np.asarray(self.base_labels, dtype=np.int64)
        if labels.size != len(self.user_ids):
            raise InputError("segmentation: base labels and user ids differ in length")
        present = set(np.unique(labels).tolist())
        segments: dict[int, SegmentRecord] = {}
        for sid, name in self.base_names:
            kind: SegmentKind = "noise" if sid == self.noise_id else "cluster"
            segments[sid] = SegmentRecord(sid, name, kind, (sid,))
        missing = present - set(segments)
        if missing:
            raise InputError(
                f"segmentation: labels {sorted(missing)} have no segment name",
                hint="The segmentation data was edited by hand or is damaged.",
            )
        used = list(segments) + list(present)
        return ReplayState(labels, segments, [], max(used, default=-1) + 1, [])

    @cached_property
    def _state(self) -> ReplayState:
        state = self._initial_state()
        for edit in self.edits:
            state = apply_edit(state, edit, self._replay)
        return state

    def _with(self, edit: Edit, undone: tuple[Edit, ...] = ()) -> Segmentation:
        """A new Segmentation with ``edit`` applied (validated now) and the given redo stack."""
        state = apply_edit(self._state, edit, self._replay)
        new = replace(self, edits=(*self.edits, edit), undone=undone)
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
            real = [sid for sid in ids if state.get(sid).kind != "noise"]
            target = min(real or ids)
        if target not in ids:
            raise InputError(f"merge target {target} is not one of the merged segments")
        final = name if name is not None else state.get(target).name
        ordered = [target, *sorted(sid for sid in set(ids) if sid != target)]
        return self._with(Merge(tuple(ordered), target, " ".join(str(final).split())))

    def members(self, segment_id: int) -> np.ndarray:
        """Boolean mask (user order) of a segment's cluster members, before rule segments apply.

        These are the users :meth:`split` expects sub-labels for.
        """
        seg = self._state.get(int(segment_id))
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
        parent = state.get(int(segment_id))
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
        new_ids[order] = [parent.id, *range(state.next_id, state.next_id + values.size - 1)]
        taken = {seg.name for sid, seg in state.segments.items() if sid != parent.id}
        given = dict(names or {})
        wanted = [(int(new_ids[i]), given.get(values[i].item())) for i in order]
        part_names = _part_names(parent.name, wanted, taken)
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
        return replace(self, edits=self.edits[:-1], undone=(*self.undone, self.edits[-1]))

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
        return apply_edit(self._state, self.undone[-1], self._replay).history[-1]

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
        return self._state.get(int(segment_id)).rule

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
        if not state.rule_order:
            return state.cluster_labels.copy()
        if users is None:
            raise InputError(
                "this segmentation has rule segments: pass the users table to compute labels"
            )
        return rule_labels(state, state.cluster_labels, self._aligned(users))

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

    # ---- new users and refits ---------------------------------------------------------------

    def relabel(
        self,
        base_labels: np.ndarray,
        users: pl.DataFrame | None = None,
        place_split: PlaceSplit | None = None,
    ) -> np.ndarray:
        """Final labels of *other* users given their base cluster labels: this log replayed.

        What a saved model does for new users: merges send a base segment's users where they
        went, ``place_split`` puts the users of a split segment into its parts (the model takes
        the nearest part center), and rule segments are evaluated on ``users`` (aligned with
        ``base_labels``), the first rule added winning. Labels no segment has (new noise) stay.
        """
        state = replace(self._initial_state(), cluster_labels=np.array(base_labels, np.int64))
        replay = Replay(self.features, new_users=True)
        for index, edit in enumerate(self.edits):
            if isinstance(edit, Split):
                edit = _placed(edit, index, state.cluster_labels, place_split)
            state = apply_edit(state, edit, replay)
        if not state.rule_order:
            return state.cluster_labels
        if users is None:
            raise InputError("this segmentation has rule segments: pass the users table")
        return rule_labels(state, state.cluster_labels, users)

    def without_users(self) -> Segmentation:
        """The names and edits alone (no user ids, base labels, split members or redo stack):
        what a model keeps, and what :meth:`relabel` needs to label other users."""
        edits = tuple(replace(e, member_ids=()) if isinstance(e, Split) else e for e in self.edits)
        return replace(self, user_ids=(), base_labels=(), edits=edits, undone=())

    def split_labels(self) -> Iterator[SplitLabels]:
        """Each split edit with the cluster labels right after it (a model stores part centers)."""
        state = self._initial_state()
        for index, edit in enumerate(self.edits):
            state = apply_edit(state, edit, self._replay)
            if isinstance(edit, Split):
                yield SplitLabels(index, edit, state.cluster_labels)

    @property
    def created_ids(self) -> frozenset[int]:
        """Ids the edits gave segments (rule segments, every split part), current or not."""
        created: set[int] = set()
        for edit in self.edits:
            if isinstance(edit, AddRule):
                created.add(edit.segment_id)
            elif isinstance(edit, Split):
                created.update(edit.part_ids)
        return frozenset(created)

    @property
    def next_id(self) -> int:
        """The id the next new segment gets: one more than any id used so far."""
        return self._state.next_id

    @property
    def rule_ids(self) -> list[int]:
        """The current rule segments' ids, in precedence order (the first one added wins)."""
        return list(self._state.rule_order)

    def fit_bound_history(self) -> list[str]:
        """History lines of the edits a refit cannot keep: renames, merges and splits of fitted
        segments. Rule segments (and renames of them) do not depend on the fit."""
        rule_ids = {e.segment_id for e in self.edits if isinstance(e, AddRule | RemoveRule)}
        return [
            line
            for edit, line in zip(self.edits, self.history, strict=True)
            if not isinstance(edit, AddRule | RemoveRule)
            and not (isinstance(edit, Rename) and edit.segment_id in rule_ids)
        ]

    def with_rules_from(self, old: Segmentation) -> CarriedRules:
        """This (freshly fitted) segmentation with ``old``'s current rule segments added back,
        in their order, under their current names (made unique); a rule that no longer applies
        (a feature is gone) is dropped with the reason."""
        seg, carried, dropped = self, [], []
        for sid in old.rule_ids:
            rule, name = old.rule(sid), old.names[sid]
            if rule is None:  # pragma: no cover - a rule id always has a rule
                continue
            unique = unique_name(name, set(seg.names.values()))
            try:
                seg = seg.add_rule_segment(unique, str(rule))
            except InputError as error:
                dropped.append(f"'{name}': {error.message}")
                continue
            carried.append(unique)
        return CarriedRules(seg, tuple(carried), tuple(dropped))

    # ---- JSON -------------------------------------------------------------------------------

    def to_saved(self, *, for_model: bool = False) -> dict[str, Any]:
        """Names and edits without the per-user lists: what a project file or a model keeps.

        The base labels come back from refitting the same data, features, algorithm and seed
        (fits are deterministic), so the saved form stays small however many users there are;
        ``n_users`` checks the refit matches. A project keeps the redo stack and each split's
        sub-labels (it replays the split on the refit); a model keeps neither (new users of a
        split segment go to the nearest part center, see :meth:`split_labels`).
        """
        slim = self.without_users() if for_model else replace(self, user_ids=(), base_labels=())
        data = slim.to_dict()
        del data["user_ids"], data["labels"]
        if for_model:
            del data["undone"]
            data["edits"] = [
                {k: v for k, v in e.items() if k != "member_ids"} for e in data["edits"]
            ]
        data["n_users"] = len(self.user_ids)
        return data

    def with_saved(self, saved: Mapping[str, Any]) -> Segmentation:
        """This fit's users and base labels with a project's saved names and edits put back.

        The edits are read by the one edit parser and replayed (a log that does not replay is an
        InputError); a save from data with another number of users is refused.
        """
        n_users = saved.get("n_users")
        if n_users is not None and n_users != len(self.user_ids):
            raise InputError(
                f"the data now has {len(self.user_ids):,} users, the project was saved with "
                f"{n_users:,}",
                hint="The data changed since the project was saved; the edits were not replayed.",
            )
        data = {**self.to_dict(), **{k: saved[k] for k in _SAVED_KEYS if k in saved}}
        return Segmentation.from_dict(data)

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
            "edits": [edit_to_dict(edit) for edit in self.edits],
            "undone": [edit_to_dict(edit) for edit in self.undone],
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
            edits = tuple(edit_from_dict(e) for e in _expect_list(data, "edits", dict))
            undone = tuple(edit_from_dict(e) for e in _expect_list(data, "undone", dict))
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
            state = apply_edit(state, edit, seg._replay)
        return seg


def _placed(edit: Split, index: int, labels: np.ndarray, place_split: PlaceSplit | None) -> Split:
    """``edit`` with a part id for each of the new users now in its segment."""
    mask = labels == edit.segment_id
    if not mask.any():
        return replace(edit, member_ids=())
    if place_split is None:
        raise InputError("relabelling users of a split segment needs place_split")
    parts = np.asarray(place_split(index, mask), dtype=np.int64)
    return replace(edit, member_ids=tuple(parts.tolist()))


def _part_names(
    parent: str, wanted: Sequence[tuple[int, Any]], taken: set[str]
) -> list[tuple[int, str]]:
    """(part id, name) per split part, largest first: the name asked for (refused when in use),
    else "<parent> 1", "<parent> 2"... made unique."""
    out: list[tuple[int, str]] = []
    for rank, (part_id, raw) in enumerate(wanted):
        default = f"{parent} {rank + 1}"
        name = " ".join(str(raw).split()) if raw is not None else default
        if raw is not None and name in taken:
            raise InputError(f"the name '{name}' is already used", hint="Pick another name.")
        name = unique_name(name or default, taken)
        taken.add(name)
        out.append((part_id, name))
    return out


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
