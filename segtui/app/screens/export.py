"""The export form: a typed modal that validates its inputs and dismisses an ExportRequest.

The writing itself happens in the core (``segtui.artifacts.export``), atomically, in a worker;
this screen only makes sure the request can be carried out (the folder exists and is writable,
the names end as they should) and says what is wrong next to the field.
"""

from __future__ import annotations

import os
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, SelectionList, Static

from segtui.app.keys import bind
from segtui.app.pipeline import ExportRequest
from segtui.app.plain import plain
from segtui.app.widgets.markbox import MarkBox


def model_path_for(parquet: str) -> str:
    """segments.parquet -> segments.model.json beside it."""
    path = Path(parquet)
    if not path.name:
        return ""
    stem = path.name[: -len(".parquet")] if path.name.endswith(".parquet") else path.stem
    return str(path.with_name(f"{stem}.model.json"))


def check_output(path: str, suffix: str) -> str | None:
    """Why ``path`` cannot be written (None when it can)."""
    if not path:
        return "Type a path."
    target = Path(path).expanduser()
    if not target.name.endswith(suffix):
        return f"The file name should end in {suffix}."
    if target.is_dir():
        return "That is a folder; add a file name."
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        return f"The folder {folder} does not exist."
    if not os.access(folder, os.W_OK):
        return f"Cannot write into {folder} (permission denied)."
    if target.exists() and not os.access(target, os.W_OK):
        return f"{target} exists and cannot be replaced."
    return None


class ExportScreen(ModalScreen[ExportRequest | None]):
    """Where and what to export; enter (or the Export button) validates and dismisses."""

    BINDINGS = [  # noqa: RUF012
        bind("escape", "cancel", "Cancel", id="export.cancel", tooltip="Close without exporting"),
        bind(
            "ctrl+s", "submit", "Export", id="export.submit", tooltip="Validate and write the files"
        ),
    ]

    def __init__(self, features: list[str], default_path: str) -> None:
        super().__init__()
        self.features = features
        self.default_path = default_path

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box", classes="dialog") as box:
            box.border_title = "Export segments"
            with VerticalScroll():
                yield Label("Segments file (parquet):")
                yield Input(self.default_path, id="export-path")
                yield Static("", id="export-path-error", classes="input-error")
                yield MarkBox("Also write a CSV beside it", False, id="export-csv", compact=True)
                yield Label("Model JSON (to label new users with `segtui assign`):")
                yield Input(model_path_for(self.default_path), id="export-model-path")
                yield Static("", id="export-model-error", classes="input-error")
                yield Label("Features to include (space toggles):")
                yield SelectionList[str](
                    *[(plain(name), name, True) for name in self.features], id="export-features"
                )
                yield Static("", id="export-features-error", classes="input-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export (ctrl+s)", id="export-go", variant="primary")
                yield Button("Cancel (esc)", id="export-cancel")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(Input.Changed, "#export-path")
    def _path_changed(self, event: Input.Changed) -> None:
        model = self.query_one("#export-model-path", Input)
        if not model.has_focus:
            model.value = model_path_for(event.value.strip())
        self.query_one("#export-path-error", Static).update(
            plain(check_output(event.value.strip(), ".parquet"))
        )

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#export-go")
    def _go(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#export-cancel")
    def _cancel(self) -> None:
        self.action_cancel()

    def validated(self) -> ExportRequest | None:
        path = self.query_one("#export-path", Input).value.strip()
        problems = {"#export-path-error": check_output(path, ".parquet")}
        model = self.query_one("#export-model-path", Input).value.strip()
        problems["#export-model-error"] = check_output(model, ".json")
        features = list(self.query_one("#export-features", SelectionList).selected)
        problems["#export-features-error"] = None
        for selector, problem in problems.items():
            self.query_one(selector, Static).update(plain(problem))
        if any(problems.values()):
            return None
        return ExportRequest(
            str(Path(path).expanduser()),
            features,
            csv=self.query_one("#export-csv", Checkbox).value,
            model_path=str(Path(model).expanduser()) if model else None,
        )

    def action_submit(self) -> None:
        request = self.validated()
        if request is not None:
            self.dismiss(request)
        else:
            self.app.bell()

    def action_cancel(self) -> None:
        self.dismiss(None)
