"""Every claim a generated name makes is true of its segment's profile, on every benchmark world,
the bundled sample and the layout fixtures, for the planted groups and for a K-Means fit; and
the model records exactly those claims.

Claims are checked against the profile: the value recorded is the segment's mean, the overall
the overall mean, and the direction that of one against the other (``claim_holds``); one name
never claims one idea twice.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from segtui.clustering.fit import fit_clusters
from segtui.clustering.prepare import prepare
from segtui.clustering.specs import FitSpec, PrepSpec
from segtui.pipeline import UsersData, load_users
from segtui.segments.names import claim_holds, concept_of
from segtui.segments.profiles import SegmentProfile, profile_segments

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.quality.worlds import WORLDS, make  # noqa: E402

LAYOUTS = sorted((ROOT / "tests" / "data" / "layouts").iterdir())
WORLD_USERS = 800


def check(profiles: list[SegmentProfile]) -> int:
    """Assert every claim holds and no idea is claimed twice; the number of claims checked."""
    checked = 0
    for p in profiles:
        for claim in p.claims:
            assert claim_holds(claim, p), (p.name, claim, p.mean[claim.feature])
            checked += 1
        groups = [p.concepts.get(c.feature) or concept_of(c.feature) for c in p.claims]
        assert len(groups) == len(set(groups)), (p.name, p.claims)
        assert p.claims or not p.traits or p.name.startswith(("Typical", "Noise", "Everyone")), (
            p.name  # a name from contrasts says what they are
        )
    names = [p.name for p in profiles]
    assert len(names) == len(set(names))
    return checked


def kmeans_profiles(data: UsersData, k: int) -> list[SegmentProfile]:
    prepared = prepare(data.users, PrepSpec.for_data(data))
    users = data.users.sort("user_id")
    result = fit_clusters(prepared.X, FitSpec("kmeans", {"k": k, "n_init": 1}, seed=0))
    return profile_segments(users, result.labels, prepared.features)


def truth_profiles(data: UsersData, truth: pl.DataFrame, column: str) -> list[SegmentProfile]:
    users = data.users.sort("user_id")
    joined = users.select("user_id").join(
        truth.select(pl.col("user_id").cast(pl.Utf8), pl.col(column).cast(pl.Utf8)),
        on="user_id",
        how="left",
    )
    groups = joined[column].fill_null("?").to_numpy()
    _, labels = np.unique(groups, return_inverse=True)
    return profile_segments(users, labels, data.default_features)


@pytest.mark.parametrize("name", list(WORLDS))
def test_claims_hold_on_every_world(name: str, tmp_path: Path) -> None:
    world = make(name, WORLD_USERS, seed=0, out_dir=tmp_path)
    data = load_users(list(world.files))
    planted = truth_profiles(data, world.truth, "group")
    fitted = kmeans_profiles(data, world.k)
    assert check(planted) + check(fitted) > 0


def test_claims_hold_on_the_bundled_sample() -> None:
    data = load_users([ROOT / "sample_data" / "events.csv"])
    truth = pl.read_csv(ROOT / "sample_data" / "truth.csv")
    planted = truth_profiles(data, truth, "group")
    assert check(planted) >= len(planted)
    assert check(kmeans_profiles(data, 6)) >= 6


@pytest.mark.parametrize("path", LAYOUTS, ids=[p.name for p in LAYOUTS])
def test_claims_hold_on_the_layout_fixtures(path: Path) -> None:
    # two to five users each: every other user in a segment of its own
    data = load_users([path])
    users = data.users.sort("user_id")
    labels = np.arange(users.height) % 2
    check(profile_segments(users, labels, data.default_features))


def test_the_model_records_the_claims_of_each_name(tmp_path: Path) -> None:
    from segtui.artifacts.model import build_model, parse_model
    from segtui.pipeline import run_segmentation

    data = load_users([ROOT / "tests" / "data" / "layouts" / "clickstream.csv"])
    run = run_segmentation(
        data.users, PrepSpec.for_data(data), FitSpec("kmeans", {"k": 2, "n_init": 1}, seed=0)
    )
    model = build_model(run.fitted(), data.provenance)
    by_id = {p.segment_id: p for p in run.profiles}
    recorded = parse_model(model).segment_claims
    assert set(recorded) == set(by_id)
    for sid, claims in recorded.items():
        assert claims == by_id[sid].claims
        assert all(claim_holds(c, by_id[sid]) for c in claims)
    # a hand-broken claim is refused, naming the key
    from segtui.errors import InputError

    model["segments"][0]["claims"] = [{"feature": "x", "direction": "sideways"}]
    with pytest.raises(InputError, match=r"segments\[0\]\.claims\[0\]"):
        parse_model(model)
    # a model written before claims reads, with none
    for segment in model["segments"]:
        del segment["claims"]
    assert all(c == () for c in parse_model(model).segment_claims.values())
