"""Suite-wide settings: the imported libraries are frozen out of the garbage collector."""

from __future__ import annotations

import gc

import pytest


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what collection imported (sklearn, scipy, polars, textual: ~180k objects) so that
    no full collection walks it again. Each full collection over it costs ~0.3 s, the app tests
    trigger many, and each xdist worker's last clean-up runs five: past 5 s on a loaded machine
    execnet interrupts the worker. What the tests allocate afterwards is collected as before."""
    gc.collect()
    gc.freeze()
