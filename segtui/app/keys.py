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
        label, tooltip = binding.description, binding.tooltip
        if binding.action in TEXTUAL_ACTIONS:
            label, tooltip = TEXTUAL_ACTIONS[binding.action]
        label = label or binding.action
        if (keys, label) in seen:
            continue
        seen.add((keys, label))
        rows.append(KeyRow(key_text(keys), label, tooltip, binding.id))
    return rows


TEXTUAL_ACTIONS = {
    "help_quit": (
        "Quit?",
        "Says which key quits: ctrl+q (asks first when there are unsaved edits)",
    ),
    "quit": ("Quit", "Quit (asks first when there are unsaved edits)"),
    "command_palette": ("Palette", "Open the command palette: every command by name"),
    "focus_next": ("Next panel", "Move the focus to the next panel or input"),
    "focus_previous": ("Previous panel", "Move the focus to the previous panel or input"),
    "app.focus_next": ("Next panel", "Move the focus to the next panel or input"),
    "app.focus_previous": ("Previous panel", "Move the focus to the previous panel or input"),
    "screen.copy_text": ("Copy", "Copy the selected text to the clipboard"),
    "copy_text": ("Copy", "Copy the selected text to the clipboard"),
    "screen.maximize": ("Maximize", "Maximize the focused panel"),
    "screen.minimize": ("Restore", "Restore the maximized panel"),
}
"""Names and help for the keys Textual itself binds, which come with terse or no descriptions."""

_WORDS = {"enter": "enter", "backspace": "backspace", "escape": "esc", "space": "space"}
"""Keys shown by name (Textual would show a symbol, ⏎ or ⌫)."""


def key_text(keys: str) -> str:
    """Keys as a person types them: ``plus,equals_sign`` -> ``+, =``; ``ctrl+c`` stays."""
    return ", ".join(_pretty_key(key) for key in keys.split(",") if key.strip())


def _pretty_key(key: str) -> str:
    from textual.keys import format_key

    key = key.strip()
    *modifiers, name = key.split("+")  # Textual names "+" itself "plus"
    shown = _WORDS.get(name) or format_key(name)
    return "+".join([*modifiers, shown])


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
