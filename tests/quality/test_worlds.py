"""The planted worlds: generators are deterministic, plant what they state, and segtui's defaults
find the planted groups (ARI >= 0.85, or within 0.05 of the world's ceiling).

Each world is written from scratch in its own layout (see benchmarks/quality/*.py and the
"Quality" section of benchmarks/README.md). The quality test runs the defaults exactly as
``benchmarks/quality/run.py`` does, at the planted k, fit seed 0, world seed 0, 5,000 users.
Worlds where today's defaults fall short of the target are held to the ARI measured for them
(less ``GUARD``), so a change that makes segments worse on any world fails; the recorded numbers
are raised, or a world moved to the target, as the defaults improve.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from benchmarks.quality import common
from benchmarks.quality.worlds import WORLDS, World, ceiling, evaluate, make

pytestmark = pytest.mark.xdist_group("worlds")  # one worker generates each world once

USERS = 5000
TARGET, MARGIN = 0.85, 0.05
GUARD = 0.02
"""How far below its measured ARI a world may fall (thread counts move K-Means a little)."""

# Measured (kmeans, k = true k, seed 0, 5,000 users; `python benchmarks/quality/run.py --seeds
# 0-4 --algos kmeans`) after within-segment weights (README, "How segtui prepares features",
# step 8): content 0.777 -> 0.875, transactions 0.828 -> 0.882 (now held to the target), game
# 0.281 -> 0.296, travel 0.714 -> 0.742, saas 0.814 -> 0.816, shop 0.624 -> 0.610 (the one world
# that lost: its groups differ in features with two point masses). Beside each, the observable
# ARI (a classifier trained on the truth over segtui's features, `worlds.observable`): shop
# 0.859, content 0.928, saas 0.888, transactions 0.946, game 0.738, travel 0.834. Where it is
# below 0.85 (game, travel) even the truth's own classifier misses the target: an unsupervised
# default is not expected to reach it from these features. content stays held to its number: its
# seed 0 clears 0.85 by 0.025, its seed 4 scores 0.716.
BELOW_TARGET = {
    "shop": 0.610,
    "content": 0.875,
    "saas": 0.816,
    "game": 0.296,
    "travel": 0.742,
}


def _digest(files: list[Path]) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in files]


@pytest.mark.parametrize("name", list(WORLDS))
def test_a_generator_writes_the_same_bytes_for_the_same_seed(name: str, tmp_path: Path) -> None:
    a = make(name, 400, 3, tmp_path / "a")
    b = make(name, 400, 3, tmp_path / "b")
    other = make(name, 400, 4, tmp_path / "c")
    assert _digest(a.files) == _digest(b.files)
    assert a.truth.equals(b.truth)
    np.testing.assert_array_equal(a.params, b.params)
    assert _digest(a.files) != _digest(other.files)


@pytest.mark.parametrize("name", list(WORLDS))
def test_the_planted_groups_have_the_stated_sizes_and_blends(name: str) -> None:
    module = WORLDS[name]
    shares = np.array([s for _, s in module.GROUPS])
    truth = common.plant_groups(np.random.default_rng(0), USERS, shares)
    counts = np.bincount(truth, minlength=len(shares))
    np.testing.assert_allclose(counts / USERS, shares / shares.sum(), atol=1 / USERS)
    assert common.size_skew(truth) >= 10.0
    assert module.BLEND_SHARE == 0.10


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, World]:
    return {}


def _world(cache: dict[str, World], name: str, tmp_path_factory: pytest.TempPathFactory) -> World:
    if name not in cache:  # each world is generated once for the tests that use it
        cache[name] = make(name, USERS, 0, tmp_path_factory.mktemp(name))
    return cache[name]


@pytest.mark.parametrize("name", list(WORLDS))
def test_a_world_is_skewed_blended_and_separable_from_its_parameters(
    name: str, worlds: dict[str, World], tmp_path_factory: pytest.TempPathFactory
) -> None:
    world = _world(worlds, name, tmp_path_factory)
    counts = world.truth["group"].value_counts()["count"].to_numpy()
    assert counts.max() / counts.min() >= 10.0
    assert 0.08 <= world.blended.mean() <= 0.12
    top = ceiling(world)
    assert top >= 0.9, f"the world itself is not separable enough (ceiling {top:.3f})"


@pytest.mark.parametrize("name", list(WORLDS))
def test_the_defaults_find_the_planted_groups(
    name: str, worlds: dict[str, World], tmp_path_factory: pytest.TempPathFactory
) -> None:
    world = _world(worlds, name, tmp_path_factory)
    result = evaluate(world, "kmeans", seed=0)
    segments = "; ".join(f"{s.name} = {s.majority} {s.purity:.2f}" for s in result.segments)
    if name in BELOW_TARGET:  # held to what was measured until the defaults reach the target
        floor = BELOW_TARGET[name] - GUARD
        assert result.ari >= floor, (
            f"ARI {result.ari:.3f}, below the {BELOW_TARGET[name]:.3f} measured; {segments}"
        )
    else:
        top = ceiling(world)
        assert result.ari >= TARGET or result.ari >= top - MARGIN, (
            f"ARI {result.ari:.3f} (ceiling {top:.3f}); segments: {segments}"
        )


# Where the raw-silhouette rule picked k = 2 (six planted groups each; ARI 0.20, 0.15 and 0.29
# at 5,000 users): against the structureless reference it picks 6, 5 and 6, at or above the
# planted k's ARI (`python benchmarks/quality/run.py --k auto --seeds 0 --algos kmeans`; with
# within-segment weights shop 0.624 -> 0.610, travel 0.714 -> 0.742, saas 0.835 at k = 5 as before).
AUTO_K = {"shop": (6, 0.610), "saas": (5, 0.835), "travel": (6, 0.742)}


@pytest.mark.parametrize("name", list(AUTO_K))
def test_auto_k_finds_about_the_planted_number_of_groups(
    name: str, worlds: dict[str, World], tmp_path_factory: pytest.TempPathFactory
) -> None:
    world = _world(worlds, name, tmp_path_factory)
    result = evaluate(world, "kmeans", seed=0, k=0)
    k, measured = AUTO_K[name]  # k as measured here; another machine's floats may move it by one
    assert result.k is not None and abs(result.k - k) <= 1 and abs(result.k - world.k) <= 1
    assert result.ari >= measured - GUARD, f"k = {result.k}, ARI {result.ari:.3f}"
