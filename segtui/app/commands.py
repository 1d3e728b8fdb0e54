"""The command palette: the app's actions that make sense right now, by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider
from textual.content import Content

from segtui.app.keys import key_text, live_bindings


def highlighted(matcher: Matcher, title: str) -> Content:
    """``title`` with the query's letters highlighted, shown as it is: Textual's own
    ``Matcher.highlight`` parses the title as markup, and a theme file names its theme."""
    content = Content(title)
    score, offsets = matcher.fuzzy_search.match(matcher.query, title)
    if not score:
        return content
    for offset in offsets:
        if not title[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class SegtuiCommands(Provider):
    """Offers the bindings of the current screen (with their keys) plus app-wide commands."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = self.app
        screen = self.screen
        commands: list[tuple[str, str, Callable[[], object]]] = []
        seen: set[str] = set()
        for node in (screen, app):
            for b in live_bindings(node):
                if not b.id or not b.id.startswith("segtui.") or b.action in seen:
                    continue
                if node.check_action(b.action.split("(")[0], ()) not in (True, None):
                    continue
                seen.add(b.action)
                title = f"{b.description} ({b.key_display or key_text(b.key)})"
                commands.append((title, b.tooltip, partial(node.run_action, b.action)))
        for name in sorted(app.available_themes):
            commands.append(
                (f"Theme: {name}", "Switch the colour theme", partial(setattr, app, "theme", name))
            )
        return commands

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            if title.startswith("Theme:"):
                continue
            yield DiscoveryHit(Content(title), callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, highlighted(matcher, title), callback, help=help_text)
