"""The rule editor: type ``[Name:] rule`` and see as you type whether it parses, which feature
was meant, how many users it matches and the name the new segment gets.

Counting the matching users reads every user, so it runs in a worker; the line says the rest at
once and adds the count when it is ready. Enter posts :class:`RuleEditor.Submitted`; the screen
applies the edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import polars as pl
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static
from textual.worker import Worker

from segtui.errors import InputError
from segtui.formatting import number
from segtui.segments.names import unique_name
from segtui.segments.rules import parse_named_rule

if TYPE_CHECKING:
    from segtui.app.app import SegtuiApp
    from segtui.segments.segmentation import Segmentation

NAME_WIDTH = 32
"""A rule segment named from its text keeps this many characters (an ellipsis ends the rest)."""


def rule_name(text: str, segmentation: Segmentation | None) -> str:
    """The new segment's name: the given name (or the rule's text, shortened), made unique."""
    name = text if len(text) <= NAME_WIDTH else text[: NAME_WIDTH - 1] + "…"
    taken = set(segmentation.names.values()) if segmentation is not None else set()
    return unique_name(name, taken)


class RuleEditor(Vertical):
    """The rule input and the line under it that checks the rule as it is typed."""

    DEFAULT_CSS = "RuleEditor { height: auto; }"

    @dataclass
    class Submitted(Message):
        """A rule that parses was entered: add the segment ``name`` of the users matching it."""

        name: str
        rule_text: str

    @dataclass
    class Counted(Message):
        """How many users the rule in ``rule_text`` matches (None: this fit's users lack a
        feature it names)."""

        rule_text: str
        count: int | None

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown = ("", "", "")  # the rule text, the parsed rule, the segment's name

    def compose(self) -> ComposeResult:
        yield Input(id="rule-input", placeholder="[Name:] rule, e.g. Big spenders: revenue > 1000")
        yield Static("", id="rule-error", classes="input-error")

    @property
    def segtui(self) -> SegtuiApp:
        return cast("SegtuiApp", self.app)

    def open(self) -> None:
        box = self.query_one("#rule-input", Input)
        box.border_title = "Add a rule segment (enter: add, esc: cancel)"
        self.display = True
        self.check(box.value)
        box.focus()

    def _say(self, text: Text, state: str | None) -> None:
        out = self.query_one("#rule-error", Static)
        out.set_class(state == "error", "-error")
        out.set_class(state == "ok", "-ok")
        out.update(text)

    def check(self, text: str) -> bool:
        """Say whether ``text`` is a rule that can be added (and count its users in a worker)."""
        from segtui.segments.rules import RuleError, parse_rule

        app = self.segtui
        name, rule_text = parse_named_rule(text)
        if not rule_text:
            hint = "A rule over feature names, optionally named: VIP: revenue > 1000"
            self._say(Text(hint), None)
            return False
        try:
            rule = parse_rule(rule_text, app.dataset.feature_names if app.dataset else None)
        except (RuleError, InputError) as error:
            self._say(Text(error.describe()), "error")
            return False
        self._shown = (rule_text, str(rule), rule_name(name or rule_text, app.segmentation))
        self._show_ok(None)
        if app.dataset is not None:
            self._count(app.dataset.users, rule.expr, rule_text)
        return True

    def _show_ok(self, count: int | None) -> None:
        _, rule, label = self._shown
        matched = f" · matches {number(count)} users" if count is not None else ""
        self._say(Text(f"✓ {rule}{matched} · enter adds segment “{label}”", style="bold"), "ok")

    @work(
        thread=True,
        exclusive=True,
        group="rule-count",
        exit_on_error=False,
        description="Counting the rule's users",
    )
    def _count(self, users: pl.DataFrame, expr: pl.Expr, rule_text: str) -> None:
        try:
            count: int | None = int(users.select(expr.sum()).item())
        except pl.exceptions.PolarsError:  # a feature this fit's users table lacks
            count = None
        self.post_message(self.Counted(rule_text, count))

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        cast("SegtuiApp", self.app).worker_failed(event)  # its own failures reach the person

    @on(Counted)
    def _counted(self, message: Counted) -> None:
        if self.display and message.rule_text == self._shown[0]:
            self._show_ok(message.count)

    @on(Input.Changed, "#rule-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.check(event.value)

    @on(Input.Submitted, "#rule-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not self.check(text):
            return
        event.input.value = ""
        given, rule_text = parse_named_rule(text)
        self.post_message(
            self.Submitted(rule_name(given or rule_text, self.segtui.segmentation), rule_text)
        )
