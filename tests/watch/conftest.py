"""The inbox world of the tests below, built once per test process (see inbox_world.py)."""

from __future__ import annotations

import pytest
from inbox_world import World, build_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("watch-world"))
