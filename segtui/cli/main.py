"""The ``segtui`` command: wires each command module into one typer app.

Bad input reaches the person as one paragraph on stderr and exit code 2, never a traceback.
That is decided in the command group itself (:class:`Commands`), so the console script and an
in-process caller (typer's CliRunner on :data:`app`) get the same exit code and message.

A command's module is imported when that command runs (:data:`COMMANDS`), not at every start:
each module pulls in its part of the data stack (DuckDB, pyarrow, the watch state, the app), and
a script that runs ``segtui inspect`` should not pay for all of them.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from typer import _click as click  # typer vendors click (>= 0.29): its classes, not click's
from typer.core import TyperGroup

from segtui import __version__
from segtui.cli.output import echo
from segtui.errors import InputError, terminal_safe

EXIT_DONE, EXIT_BUG, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
"""Exit codes (the README lists them): done, a bug in segtui, bad input, interrupted."""
INTERRUPTED = "segtui: interrupted; nothing was written half-way."


COMMANDS: dict[str, tuple[str, str]] = {
    "open": ("app_cmd", "open_"),
    "inspect": ("inspect_cmd", "inspect"),
    "features": ("features_cmd", "features"),
    "segment": ("segment_cmd", "segment"),
    "sweep": ("segment_cmd", "sweep"),
    "assign": ("segment_cmd", "assign"),
    "sample": ("sample_cmd", "sample"),
    "explain": ("explain_cmd", "explain"),
    "sql": ("sql_cmd", "sql"),
    "watch": ("watch_cmd", "watch_app"),
}
"""Command name -> (module in :mod:`segtui.cli`, its function or typer app), in help order."""


def load_command(name: str) -> click.Command:
    """The click command ``name``, built by typer from its module (imported now)."""
    module_name, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(f"segtui.cli.{module_name}"), attribute)
    holder = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    if isinstance(target, typer.Typer):  # a group of its own (watch): held, so that typer adds
        holder.add_typer(target, name=name)  # no completion options to it
    else:
        holder.command(name)(target)
    command = typer.main.get_command(holder)  # the command itself, or a group holding it
    return command.commands[name] if isinstance(command, TyperGroup) else command


class Commands(TyperGroup):
    """The group of commands: an InputError anywhere in a command is a paragraph on stderr and
    exit 2, Ctrl-C a line and exit 130; click's own usage errors show the person's text
    escaped. Anything else propagates: a bug is a traceback and exit 1, never caught here.

    The commands of :data:`COMMANDS` are loaded when asked for (to run one, or to list them in
    the help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *(name for name in super().list_commands(ctx) if name not in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.add_command(load_command(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in COMMANDS and args[0] not in self.commands:
            for name in COMMANDS:  # a typo: typer suggests from the commands it holds
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.ClickException as error:
            raise _escaped(error) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as error:
            echo(f"segtui: {error.describe()}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except KeyboardInterrupt:
            echo(INTERRUPTED, err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except click.ClickException as error:
            raise _escaped(error) from None


def _escaped(error: click.ClickException) -> click.ClickException:
    """A usage error quotes what was typed (an option, a value): show its controls escaped."""
    error.message = terminal_safe(error.message)
    return error


app = typer.Typer(
    cls=Commands,
    name="segtui",
    help="Find behavioral audience segments in raw event logs.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        echo(f"segtui {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _default(
    ctx: typer.Context,
    theme: str | None = typer.Option(None, "--theme", help="Theme name (see themes/)."),
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print the version."
    ),
) -> None:
    """With no command, open the app on the bundled sample data."""
    if ctx.invoked_subcommand is None:
        from segtui.cli.app_cmd import open_sample

        open_sample(theme=theme)


def run() -> None:
    """Console-script entry point: bad input is a paragraph and exit 2, Ctrl-C exit 130."""
    try:
        app()
    except InputError as error:
        echo(f"segtui: {error.describe()}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        echo(INTERRUPTED, err=True)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    run()
