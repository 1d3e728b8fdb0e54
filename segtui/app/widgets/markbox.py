"""A checkbox whose mark is a character, not only a colour: readable with NO_COLOR."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class MarkBox(Checkbox):
    """Checkbox showing ``X`` when on and a blank when off (textual's shows a dim ``X``)."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "X" if self.value else " "
        return super()._button
