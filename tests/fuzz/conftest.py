"""Fuzzing settings: bounded inputs, no per-example deadline, one alarm per test for hangs."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "segtui-fuzz",
    deadline=None,  # a slow example under load is not a failure; a hang is (the alarm below)
    max_examples=150,
    derandomize=True,  # the same examples every run: the suite is never flaky
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("segtui-fuzz")

HANG_SECONDS = 120


@pytest.fixture(autouse=True)
def _no_hangs() -> Iterator[None]:
    """Fail a test that runs past HANG_SECONDS: what a hang on hostile input looks like."""

    def hang(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"still running after {HANG_SECONDS} s: a hang on hostile input")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
