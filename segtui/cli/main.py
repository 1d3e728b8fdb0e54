"""The ``segtui`` command: wires each command module into one typer app.

Bad input reaches the person as one paragraph on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from segtui import __version__
from segtui.cli import (
    app_cmd,
    explain_cmd,
    features_cmd,
    inspect_cmd,
    sample_cmd,
    segment_cmd,
    sql_cmd,
)
from segtui.errors import InputError

app = typer.Typer(
    name="segtui",
    help="Find behavioral audience segments in raw event logs.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"segtui {__version__}")
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
        app_cmd.open_sample(theme=theme)


app.command("open")(app_cmd.open_)
app.command("inspect")(inspect_cmd.inspect)
app.command("features")(features_cmd.features)
app.command("segment")(segment_cmd.segment)
app.command("sweep")(segment_cmd.sweep)
app.command("assign")(segment_cmd.assign)
app.command("sample")(sample_cmd.sample)
app.command("explain")(explain_cmd.explain)
app.command("sql")(sql_cmd.sql)


EXIT_DONE, EXIT_BUG, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
"""Exit codes (the README lists them): done, a bug in segtui, bad input, interrupted."""


def run() -> None:
    """Console-script entry point: bad input is a paragraph and exit 2, Ctrl-C exit 130."""
    try:
        app()
    except InputError as error:
        typer.echo(f"segtui: {error.describe()}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        typer.echo("segtui: interrupted; nothing was written half-way.", err=True)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    run()
