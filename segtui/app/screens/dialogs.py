"""Small modal dialogs: confirm, show a message, pick one item from a list, ask for a path."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from segtui.app.keys import bind
from segtui.app.plain import plain


class ConfirmScreen(ModalScreen[bool]):
    """Yes/no question; ``y``/``enter`` say yes, ``n``/``escape`` say no."""

    BINDINGS = [  # noqa: RUF012
        bind("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Answer yes"),
        bind("n,escape", "answer(False)", "No", id="confirm.no", tooltip="Answer no"),
    ]

    def __init__(
        self, question: str, yes: str = "Yes", no: str = "No", title: str | None = None
    ) -> None:
        super().__init__()
        self.question, self.yes, self.no, self.title_text = question, yes, no, title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            if self.title_text:
                box.border_title = plain(self.title_text)
            yield Static(self.question, classes="dialog-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="primary")
                yield Button(f"{self.no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class MessageScreen(ModalScreen[None]):
    """A message to read (an error, a summary); any of ``enter``/``escape`` closes it."""

    BINDINGS = [  # noqa: RUF012
        bind("escape,enter,q", "close", "Close", id="message.close", tooltip="Close this message"),
        bind("c", "copy", "Copy", id="message.copy", tooltip="Copy the command to the clipboard"),
    ]

    def __init__(self, title: str, body: str, copy_text: str | None = None) -> None:
        super().__init__()
        self.title_text, self.body, self.copy_text = title, body, copy_text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = plain(self.title_text)
            yield Static(self.body, classes="dialog-text", markup=False)
            hint = "enter: close" + ("   c: copy the command" if self.copy_text else "")
            yield Label(hint, classes="dialog-hint")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.copy_text is not None if action == "copy" else True

    def action_close(self) -> None:
        self.dismiss(None)

    def action_copy(self) -> None:
        if self.copy_text:
            self.app.copy_to_clipboard(self.copy_text)
            self.notify("Copied (OSC 52: works over SSH in most terminals)", timeout=2)


class PickScreen(ModalScreen[str | None]):
    """Pick one item from a list by keyboard or mouse; ``escape`` keeps the current one."""

    BINDINGS = [  # noqa: RUF012
        bind("escape", "cancel", "Cancel", id="pick.cancel", tooltip="Close without changing"),
    ]

    def __init__(self, title: str, items: list[tuple[str, str]], current: str | None) -> None:
        super().__init__()
        self.title_text, self.items, self.current = title, items, current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = plain(self.title_text)
            yield OptionList(*[Option(plain(label), id=value) for value, label in self.items])
            yield Label("enter: choose   esc: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        for index, (value, _) in enumerate(self.items):
            if value == self.current:
                options.highlighted = index
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PathScreen(ModalScreen[str | None]):
    """Ask for a path (to open, or to save to); ``validate`` returns an error message or None."""

    BINDINGS = [  # noqa: RUF012
        bind("escape", "cancel", "Cancel", id="path.cancel", tooltip="Close without choosing"),
    ]

    def __init__(self, title: str, value: str = "", validate=None) -> None:
        super().__init__()
        self.title_text, self.value, self.validate_path = title, value, validate

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = plain(self.title_text)
            yield Input(self.value, id="path-input", placeholder="path/to/file")
            yield Static("", id="path-error", classes="input-error")
            yield Label("enter: ok   esc: cancel", classes="dialog-hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        problem = self.validate_path(value) if self.validate_path else None
        if not value:
            problem = "Type a path."
        if problem:
            self.query_one("#path-error", Static).update(plain(problem))
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
