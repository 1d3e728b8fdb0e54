"""One place that declares keys: each binding has a stable id (users remap by it), a tooltip,
and the screen it belongs to, so the help screen and the command palette are built from the same
data as the bindings themselves and can never go stale.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


def bind(
    keys: str,
    action: str,
    description: str,
    *,
    id: str,
    tooltip: str,
    show: bool = True,
    priority: bool = False,
    key_display: str | None = None,
) -> Binding:
    """A Binding that always carries an id (prefixed ``segtui.``) and a tooltip."""
    return Binding(
        keys,
        action,
        description,
        show=show,
        priority=priority,
        tooltip=tooltip,
        id=f"segtui.{id}",
        key_display=key_display,
    )


@dataclass(frozen=True)
class KeyRow:
    """One line of the help screen: keys as the person presses them, and what they do."""

    keys: str
    description: str
    tooltip: str
    binding_id: str | None


def rows_for(bindings: list[Binding], keymap: dict[str, str] | None = None) -> list[KeyRow]:
    """Help rows for some bindings, with keys swapped in from the app's keymap where remapped."""
    keymap = keymap or {}
    rows: list[KeyRow] = []
    seen: set[tuple[str, str]] = set()
    for binding in bindings:
        keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
        label = binding.description or binding.action
        if (keys, label) in seen:
            continue
        seen.add((keys, label))
        pretty = ", ".join(_pretty_key(key) for key in keys.split(","))
        rows.append(KeyRow(pretty, label, binding.tooltip, binding.id))
    return rows


_NAMES = {
    "question_mark": "?",
    "plus": "+",
    "minus": "-",
    "slash": "/",
    "space": "space",
    "escape": "esc",
    "enter": "enter",
    "greater_than_sign": ">",
    "less_than_sign": "<",
}


def _pretty_key(key: str) -> str:
    key = key.strip()
    return _NAMES.get(key, key)


def live_bindings(node) -> list[Binding]:
    """A node's bindings as they are now (keymap applied), one per action with its keys joined."""
    by_action: dict[str, list[Binding]] = {}
    for bindings in node._bindings.key_to_bindings.values():
        for binding in bindings:
            by_action.setdefault(binding.action, []).append(binding)
    merged: list[Binding] = []
    for group in by_action.values():
        keys = ",".join(dict.fromkeys(b.key for b in group))
        first = group[0]
        merged.append(
            Binding(
                keys,
                first.action,
                first.description,
                show=first.show,
                tooltip=first.tooltip,
                id=first.id,
                key_display=first.key_display,
            )
        )
    return merged
