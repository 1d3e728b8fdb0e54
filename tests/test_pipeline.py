"""The orchestration: files -> users -> a segmentation, with progress and cancellation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from segtui.clustering.control import Cancelled
from segtui.clustering.specs import FitSpec, PrepSpec
from segtui.errors import InputError
from segtui.pipeline import SWEEP_UNWEIGHTED, load_users, run_segmentation, run_sweep


def blobs(sizes: tuple[int, ...] = (60, 40, 20), seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    """Well separated groups in 3 features; group g is centred at 10*g on every axis."""
    rng = np.random.default_rng(seed)
    group = np.repeat(np.arange(len(sizes)), sizes)
    X = group[:, None] * 10.0 + rng.normal(0, 0.5, (len(group), 3))
    users = pl.DataFrame(
        {
            "user_id": [f"u{i:04d}" for i in range(len(group))],
            "a": X[:, 0],
            "b": X[:, 1],
            "c": X[:, 2],
        }
    )
    return users, group


def test_run_recovers_blobs_with_ordered_ids() -> None:
    users, group = blobs()
    stages: list[tuple[str, float]] = []
    run = run_segmentation(
        users,
        PrepSpec(("a", "b", "c")),
        FitSpec("kmeans", {"k": 3}, seed=0),
        progress=lambda s, f: stages.append((s, f)),
    )
    # largest group first: ids equal the planted groups (sizes 60, 40, 20)
    assert run.result.labels.tolist() == group.tolist()
    assert run.features == ["a", "b", "c"]
    assert [p.size for p in run.profiles] == [60, 40, 20]
    assert len(set(run.names.values())) == 3
    assert run.segmentation.names == run.names
    assert run.segmentation.labels().tolist() == group.tolist()
    assert run.projection.coords.shape == (120, 2)
    assert run.diagnostics.n_segments == 3
    assert run.diagnostics.silhouette is not None and run.diagnostics.silhouette > 0.9
    assert set(run.seconds) == {
        "prepare",
        "fit",
        "weights",
        "diagnostics",
        "profiles",
        "projection",
        "segmentation",
    }
    fractions = [f for _, f in stages]
    assert fractions == sorted(fractions)
    assert stages[0] == ("preparing the matrix", 0.0)
    assert stages[-1] == ("done", 1.0)


def test_same_seed_same_result_and_unsorted_input() -> None:
    users, group = blobs(seed=4)
    shuffled = users.sample(fraction=1.0, shuffle=True, seed=1)
    a = run_segmentation(users, PrepSpec(("a", "b", "c")), FitSpec("gmm", {"k": 3}, seed=2))
    b = run_segmentation(shuffled, PrepSpec(("a", "b", "c")), FitSpec("gmm", {"k": 3}, seed=2))
    assert a.result.labels.tolist() == b.result.labels.tolist() == group.tolist()
    assert b.users["user_id"].to_list() == users["user_id"].to_list()


def test_cancel_stops_before_fitting() -> None:
    users, _ = blobs()
    calls = iter([False, True])
    with pytest.raises(Cancelled):
        run_segmentation(
            users,
            PrepSpec(("a", "b")),
            FitSpec("kmeans", {"k": 2}),
            should_stop=lambda: next(calls, True),
        )


def test_bad_input_is_input_error() -> None:
    users, _ = blobs()
    with pytest.raises(InputError, match="larger than the number of users"):
        run_segmentation(users, PrepSpec(("a", "b")), FitSpec("kmeans", {"k": 150}))
    with pytest.raises(InputError, match="fewer than two usable features"):
        run_segmentation(
            users.with_columns(pl.lit(1.0).alias("d")),
            PrepSpec(("a", "d")),
            FitSpec("kmeans", {"k": 2}),
        )


def test_rule_features_default_to_every_column() -> None:
    users, _ = blobs()
    run = run_segmentation(users, PrepSpec(("a", "b")), FitSpec("kmeans", {"k": 3}))
    assert run.segmentation.features == ("a", "b", "c")
    seg = run.segmentation.add_rule_segment("High c", "c > 15")
    assert int((seg.labels(run.users) == 3).sum()) == 20


def test_sweep_suggests_the_planted_k() -> None:
    users, _ = blobs((50, 40, 30, 20))
    result, messages = run_sweep(
        users, PrepSpec(("a", "b", "c")), FitSpec("kmeans"), [2, 3, 4, 5, 6]
    )
    assert result.suggested_k == 4
    assert [r.k for r in result.rows] == [2, 3, 4, 5, 6]
    assert messages == [SWEEP_UNWEIGHTED]  # the fits it stands for are weighted; it is not
    _, unweighted = run_sweep(
        users, PrepSpec(("a", "b", "c"), weighting="none"), FitSpec("kmeans"), [2, 3]
    )
    assert unweighted == []


def test_load_users_from_events(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "user_id,ts,event,price\n"
        "b,2024-01-01T10:00:00Z,page_view,\n"
        "a,2024-01-01T10:00:00Z,page_view,\n"
        "a,2024-01-01T10:05:00Z,purchase,20\n"
        "b,2024-01-03T10:00:00Z,page_view,\n"
        ",2024-01-03T10:00:00Z,page_view,\n",
        encoding="utf-8",
    )
    data = load_users([path], features=["events", "purchases", "sessions"])
    assert data.kind == "events"
    assert data.users.to_dicts() == [
        {"user_id": "a", "events": 2, "purchases": 1, "sessions": 1},
        {"user_id": "b", "events": 2, "purchases": 0, "sessions": 2},
    ]
    assert data.report is not None and data.report.rows_read == 5 and data.report.rows_kept == 4
    assert data.mapping is not None and data.session_gap_minutes == 30
    assert data.specs is not None and [s.name for s in data.specs] == [
        "events",
        "purchases",
        "sessions",
    ]
    assert any("left out: 1" in m for m in data.messages)
    everything = load_users([path])
    assert "revenue" in everything.features and "scroll_depth" not in everything.features
    assert "avg_scroll_depth" in everything.left_out


def test_fills_come_from_the_declarations_and_reach_prepare(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "user_id,ts,event,price\n"
        "a,2024-01-01T10:00:00Z,purchase,20\n"
        "b,2024-01-05T10:00:00Z,purchase,10\n"
        "c,2024-01-09T10:00:00Z,page_view,\n"
        "d,2024-01-10T10:00:00Z,purchase,5\n",
        encoding="utf-8",
    )
    data = load_users([path], features=["events", "purchases", "recency_days", "revenue"])
    assert data.default_fills == {
        "events": "median",
        "purchases": "median",
        "recency_days": "max",
        "revenue": "median",
    }
    assert data.missing_reasons == {"recency_days": "no purchases"}
    features = ["purchases", "recency_days"]
    run = run_segmentation(
        data.users,
        PrepSpec(
            tuple(features), default_fills=data.default_fills, missing_reasons=data.missing_reasons
        ),
        FitSpec("kmeans", {"k": 2}),
    )
    recency = run.prepared.params.features[1]
    # last purchases 9, 5 and 0 days before the last event; c never bought -> 9 days
    assert (recency.fill, recency.impute, recency.n_missing) == ("max", 9.0, 1)
    assert run.messages[0] == (
        "'recency_days': 1 user with no purchases (25.0%) set to the longest recency seen, 9 days"
    )
    override = run_segmentation(
        data.users,
        PrepSpec(tuple(features), fills={"recency_days": "min"}, default_fills=data.default_fills),
        FitSpec("kmeans", {"k": 2}),
    )
    assert override.prepared.params.features[1].impute == 0.0
    _, messages = run_sweep(
        data.users,
        PrepSpec(tuple(features), fills={"recency_days": "zero"}, default_fills=data.default_fills),
        FitSpec("kmeans"),
        [2],
    )
    filled = "'recency_days': 1 user with a missing value (25.0%) set to 0: nothing it measures"
    assert messages == [f"{filled} happened", SWEEP_UNWEIGHTED]


def test_users_tables_declare_no_fill(tmp_path: Path) -> None:
    users, _ = blobs()
    path = tmp_path / "rfm.csv"
    users.with_columns(
        pl.when(pl.col("a") > 15).then(None).otherwise(pl.col("a")).alias("a")
    ).write_csv(path)
    data = load_users([path])
    assert data.kind == "users_table"
    assert data.default_fills == {} and data.missing_reasons == {}
    run = run_segmentation(
        data.users,
        PrepSpec(("a", "b"), default_fills=data.default_fills),
        FitSpec("kmeans", {"k": 2}),
    )
    assert run.prepared.params.features[0].fill == "median"
    assert run.messages[0].startswith(
        "'a': 20 users with a missing value (16.7%) set to the median"
    )


def test_as_of_before_the_first_event_names_the_first_event(tmp_path: Path) -> None:
    from datetime import datetime

    path = tmp_path / "e.csv"
    path.write_text(
        "user_id,ts,event\na,2024-05-02T08:00:00Z,purchase\nb,2024-05-03T09:30:00Z,page_view\n"
    )
    with pytest.raises(InputError) as info:
        load_users([path], as_of=datetime(2024, 5, 1))
    assert str(info.value) == (
        f"{path}: --as-of 2024-05-01 is before the first event (2024-05-02 08:00:00 UTC), so no "
        "event would be counted. Give a date on or after 2024-05-02, or drop --as-of to count up "
        "to the last event (2024-05-03)."
    )


def test_users_table_messages_say_the_id_rename() -> None:
    data = load_users([Path(__file__).parent / "data" / "layouts" / "users_rfm.csv"])
    assert data.kind == "users_table"
    assert data.messages[:2] == [
        "users table: 5 users, id column 'customer_id' (written as user_id in the exports)",
        "whole-number columns recency, frequency are read as decimal numbers (float): 164 "
        "becomes 164.0 in the exports",
    ]
