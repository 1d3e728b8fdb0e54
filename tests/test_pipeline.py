"""The orchestration: files -> users -> a segmentation, with progress and cancellation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from segtui.cluster import Cancelled
from segtui.errors import InputError
from segtui.pipeline import load_users, run_segmentation, run_sweep


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
        ["a", "b", "c"],
        "kmeans",
        {"k": 3},
        seed=0,
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
    a = run_segmentation(users, ["a", "b", "c"], "gmm", {"k": 3}, seed=2)
    b = run_segmentation(shuffled, ["a", "b", "c"], "gmm", {"k": 3}, seed=2)
    assert a.result.labels.tolist() == b.result.labels.tolist() == group.tolist()
    assert b.users["user_id"].to_list() == users["user_id"].to_list()


def test_cancel_stops_before_fitting() -> None:
    users, _ = blobs()
    calls = iter([False, True])
    with pytest.raises(Cancelled):
        run_segmentation(
            users, ["a", "b"], "kmeans", {"k": 2}, should_stop=lambda: next(calls, True)
        )


def test_bad_input_is_input_error() -> None:
    users, _ = blobs()
    with pytest.raises(InputError, match="larger than the number of users"):
        run_segmentation(users, ["a", "b"], "kmeans", {"k": 150})
    with pytest.raises(InputError, match="fewer than two usable features"):
        run_segmentation(users.with_columns(pl.lit(1.0).alias("d")), ["a", "d"], "kmeans", {"k": 2})


def test_rule_features_default_to_every_column() -> None:
    users, _ = blobs()
    run = run_segmentation(users, ["a", "b"], "kmeans", {"k": 3})
    assert run.segmentation.features == ("a", "b", "c")
    seg = run.segmentation.add_rule_segment("High c", "c > 15")
    assert int((seg.labels(run.users) == 3).sum()) == 20


def test_sweep_suggests_the_planted_k() -> None:
    users, _ = blobs((50, 40, 30, 20))
    result, messages = run_sweep(users, ["a", "b", "c"], "kmeans", [2, 3, 4, 5, 6])
    assert result.suggested_k == 4
    assert [r.k for r in result.rows] == [2, 3, 4, 5, 6]
    assert messages == []


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
