"""The command line: the headless twin of the app. Each command calls the core and prints.

:func:`run` is the console script. ``segtui --version`` is answered here, before the command
modules (and with them polars, numpy and pyarrow) are imported, so scripts that check the
version do not pay for the data stack.
"""

from __future__ import annotations

import sys


def run() -> None:
    """Console-script entry point (``segtui``)."""
    if sys.argv[1:] == ["--version"]:
        from segtui import __version__

        print(f"segtui {__version__}")
        return
    from segtui.cli.main import run as run_commands

    run_commands()
