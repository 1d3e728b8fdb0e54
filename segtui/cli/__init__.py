"""The command line: the headless twin of the app. Each command calls the core and prints.

:func:`run` is the console script. ``segtui --version`` is answered here, before the command
modules (and with them polars, numpy and pyarrow) are imported, so scripts that check the
version do not pay for the data stack. The native thread counts are set here too, before those
libraries load and read them (:mod:`segtui.cores`).
"""

from __future__ import annotations

import os
import sys


def run() -> None:
    """Console-script entry point (``segtui``)."""
    if sys.argv[1:] == ["--version"]:
        from segtui import __version__

        print(f"segtui {__version__}")
        return
    from segtui.cores import thread_defaults

    os.environ.update(thread_defaults(os.environ))  # before numpy and polars load
    from segtui.cli.main import run as run_commands

    run_commands()
