"""Suite-wide settings: one native thread per test process, the longest groups of tests start
first, and the imported libraries are frozen out of the garbage collector."""

from __future__ import annotations

import gc
import os

import pytest

ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Set to 1 for the test processes and the segtui processes they start (unless already set).

The suite runs two xdist workers on two cores, so each worker has one core: a second OpenMP or
BLAS thread only spins waiting for a descheduled peer. Measured under load: a 240-point t-SNE
took 65 s with the default threads and 10.7 s with one. segtui's console script keeps variables
a person set (:func:`segtui.cores.thread_defaults`), so processes the tests start inherit this.
Set here, at the import of this file, before any test module loads numpy or scikit-learn, whose
thread pools read these variables once, when they load.
"""
for _name in ONE_THREAD:
    os.environ.setdefault(_name, "1")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what collection imported (sklearn, scipy, polars, textual: ~180k objects) so that
    no full collection walks it again. Each full collection over it costs ~0.3 s, the app tests
    trigger many, and each xdist worker's last clean-up runs five: past 5 s on a loaded machine
    execnet interrupts the worker. What the tests allocate afterwards is collected as before."""
    gc.collect()
    gc.freeze()


FIRST_GROUPS = ("spark", "hostile-subprocess", "worlds")
"""The longest xdist groups (one JVM and its queries; twenty segtui processes; the planted
worlds, each generated once and fitted at 5,000 users), in order."""


def _group(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("xdist_group")
    if marker is None:
        return None
    return marker.args[0] if marker.args else marker.kwargs.get("name")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Grouped tests first, the longest groups at the head; single tests after them.

    ``--dist loadgroup`` hands out work in collection order, and a group runs whole on one
    worker: a long group collected last (tests/watch, after tests/engines) kept one worker busy
    while the other had nothing left. Longest first, then the many short tests, lets the two
    workers finish together. The sort is stable, so within a rank the order is the files'.
    """

    def rank(item: pytest.Item) -> int:
        group = _group(item)
        if group in FIRST_GROUPS:
            return FIRST_GROUPS.index(group)
        return len(FIRST_GROUPS) if group is not None else len(FIRST_GROUPS) + 1

    items.sort(key=rank)
