"""A segment no user is in (a rule that matches nobody yet) is still a segment (issue 12, item 11).

Decision: it is listed everywhere a segment is (``Segmentation.segments`` with size 0, an empty
profile, the model's ``segments`` with ``"size": 0``, the export's count and sizes), because it
is part of the segmentation a person made and new users may match it (``assign``); the parquet
has no row for it, as it has no user. It can be removed like any rule segment.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from segtui.artifacts.export import export_segments
from segtui.artifacts.fitted import ExportTarget, Provenance
from segtui.clustering.specs import FitSpec, PrepSpec
from segtui.pipeline import run_segmentation
from segtui.segments.profiles import profile_segments
from segtui.segments.segmentation import Segmentation, SegmentInfo

USER_IDS = [f"u{i}" for i in range(6)]


def _users() -> pl.DataFrame:
    return pl.DataFrame({"user_id": USER_IDS, "orders": [0, 0, 1, 2, 5, 9]})


def _with_empty_rule() -> Segmentation:
    seg = Segmentation.from_labels(USER_IDS, [0, 0, 0, 1, 1, 1], {0: "Low", 1: "High"})
    return seg.add_rule_segment("Nobody", "orders > 100")


def test_segments_list_the_empty_rule_with_size_zero() -> None:
    seg, users = _with_empty_rule(), _users()
    assert seg.labels(users).tolist() == [0, 0, 0, 1, 1, 1]
    assert seg.segments(users)[-1] == SegmentInfo(2, "Nobody", "rule", (), "orders > 100", 0)
    assert [info.size for info in seg.segments(users)] == [3, 3, 0]
    removed = seg.remove_rule_segment(2)
    assert [info.id for info in removed.segments(users)] == [0, 1]
    assert removed.undo().segment_ids == [0, 1, 2]


def test_profiles_include_segments_asked_for_even_without_users() -> None:
    seg, users = _with_empty_rule(), _users()
    labels = seg.labels(users)
    plain = profile_segments(users, labels, ["orders"], seg.names)
    assert [p.segment_id for p in plain] == [0, 1]  # only the labels' segments, as before
    profiles = profile_segments(users, labels, ["orders"], seg.names, segment_ids=seg.segment_ids)
    assert [(p.segment_id, p.name, p.size, p.share) for p in profiles] == [
        (0, "Low", 3, 0.5),
        (1, "High", 3, 0.5),
        (2, "Nobody", 0, 0.0),
    ]
    empty = profiles[-1]
    assert empty.mean == {"orders": None} and empty.traits == ()
    assert empty.overall_mean == {"orders": 17 / 6}  # everyone's, to compare with


def test_export_and_model_agree_on_an_empty_segment(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    group = np.repeat([0, 1], [30, 20])
    users = pl.DataFrame(
        {
            "user_id": [f"u{i:02d}" for i in range(50)],
            "a": group * 10.0 + rng.normal(0, 0.5, 50),
            "b": group * 10.0 + rng.normal(0, 0.5, 50),
        }
    )
    run = run_segmentation(users, PrepSpec(("a", "b")), FitSpec("kmeans", {"k": 2}, seed=0))
    seg = run.segmentation.add_rule_segment("Nobody", "a > 1000")
    target = ExportTarget(tmp_path / "segments.parquet")
    written = export_segments(target, run.fitted(seg), Provenance(id_column="user_id"))
    model = json.loads(written.model.read_text())
    assert written.segments == len(model["segments"]) == 3
    assert {s["name"]: s["size"] for s in model["segments"]} == written.sizes
    assert list(written.sizes.values()) == [30, 20, 0]  # largest first, the empty one last
    frame = pl.read_parquet(written.parquet)
    assert frame.height == 50 and "Nobody" not in frame["segment"].to_list()
