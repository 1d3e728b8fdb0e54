"""How many native threads segtui's numeric libraries may start, from the cores it can really use.

``os.cpu_count()`` is the machine's count, not this process's: a container with a CPU quota, or
a job pinned to a few cores by ``taskset`` or a scheduler, sees every core of the host. OpenMP
(scikit-learn's K-Means) and BLAS then start a thread per host core and spin-wait on each other
at every barrier; measured on the 2-core machine with one other busy process, a k sweep ran
about 3x slower with two threads than with one (``benchmarks/bench_threads.py``). So the
budget is the cores the process may run on (its CPU affinity and its cgroup's CPU quota), less
the cores other processes keep busy (the 1-minute load average), and at least one.

The console script applies it once, before numpy or polars is imported, as environment
defaults: a variable the person set (``OMP_NUM_THREADS=8 segtui ...``) always wins, and
``SEGTUI_THREADS`` sets every one of them at once.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

NATIVE_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Read by OpenMP and the BLAS libraries when they load: the threads of the fits."""
POLARS_THREADS = "POLARS_MAX_THREADS"
"""Read by polars when it is imported: its work-stealing pool shares cores well with others, so
it gets the usable cores without the load discount."""
OVERRIDE = "SEGTUI_THREADS"
"""The person's own thread count for all of the above."""


def cgroup_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPU quota at the root of the cgroup tree in cores (2.5 for "250000 100000"), or None.

    In a container that root is the container's own cgroup, where a CPU limit (docker
    ``--cpus``, a Kubernetes limit) is written. cgroup v2 writes ``cpu.max`` ("max 100000" when
    unlimited); v1 writes ``cpu/cpu.cfs_quota_us`` (-1 when unlimited) beside
    ``cpu.cfs_period_us``.
    """
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us


def usable_cores(affinity: int | None = None, quota: float | None = None) -> int:
    """Cores this process may run on: its affinity mask, capped by a cgroup quota (rounded up:
    a quota of 2.5 cores keeps three threads busy part of the time)."""
    if affinity is None:
        affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
        affinity = affinity or os.cpu_count() or 1
    cores = affinity if quota is None else min(affinity, math.ceil(quota))
    return max(1, cores)


def thread_budget(cores: int, load: float | None) -> int:
    """Threads for the fits: the usable cores less those others keep busy, at least one.

    ``load`` is the 1-minute load average (None where the system has none). A load of 0.4 on
    two cores leaves both; 1.6 leaves one. The average lags (a run that just ended still counts
    for a minute), which costs little: one thread too few was about 6% slower on a quiet
    machine, one too many about 3x on a busy one.
    """
    if load is None:
        return cores
    return max(1, min(cores, cores - math.floor(load + 0.5)))


def thread_defaults(environ: Mapping[str, str]) -> dict[str, str]:
    """The thread variables to add to ``environ`` (those it does not set already)."""
    if OVERRIDE in environ:
        count = environ[OVERRIDE].strip()
        if not count.isdigit() or int(count) < 1:
            return {}  # not a count: the libraries' own defaults, rather than a guess
        fits = polars = count
    else:
        cores = usable_cores(quota=cgroup_quota())
        try:
            load: float | None = os.getloadavg()[0]
        except OSError:
            load = None
        fits, polars = str(thread_budget(cores, load)), str(cores)
    chosen = dict.fromkeys(NATIVE_THREAD_VARIABLES, fits) | {POLARS_THREADS: polars}
    return {name: value for name, value in chosen.items() if name not in environ}


def fit_threads(environ: Mapping[str, str]) -> int:
    """The fits' thread count in effect: ``OMP_NUM_THREADS`` as set (by the person or by
    :func:`thread_defaults`), else the usable cores."""
    value = environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) >= 1 else usable_cores(quota=cgroup_quota())
