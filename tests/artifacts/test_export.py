"""segments.parquet + model JSON: columns and types through DuckDB, pandas and pyarrow."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest

from segtui.artifacts.export import export_segments
from segtui.artifacts.fitted import ExportTarget, Provenance
from segtui.artifacts.parquet_meta import read_segments_metadata
from segtui.clustering.specs import FitSpec, PrepSpec
from segtui.errors import InputError
from segtui.pipeline import SegmentRun, run_segmentation


def make_run() -> SegmentRun:
    rng = np.random.default_rng(0)
    group = np.repeat([0, 1, 2], [30, 20, 10])
    X = group[:, None] * 10.0 + rng.normal(0, 0.5, (60, 2))
    users = pl.DataFrame(
        {
            "user_id": [f"u{i:02d}" for i in range(60)],
            "orders": (group * 3).astype(np.int64),
            "a": X[:, 0],
            "b": X[:, 1],
        }
    )
    return run_segmentation(
        users, PrepSpec(("orders", "a", "b")), FitSpec("kmeans", {"k": 3}, seed=0)
    )


def export(run: SegmentRun, folder: Path, segmentation=None, **kw):
    target = ExportTarget(folder / "segments.parquet", **kw)
    return export_segments(target, run.fitted(segmentation), Provenance(id_column="user_id"))


def test_files_columns_and_types(tmp_path: Path) -> None:
    run = make_run()
    seg = run.segmentation.rename(2, "Small").merge([0, 1], name="Big")
    written = export(run, tmp_path, segmentation=seg, csv=True)
    assert written.parquet == tmp_path / "segments.parquet"
    assert written.model == tmp_path / "segments.model.json"
    assert written.csv == tmp_path / "segments.csv"
    assert written.files == [written.parquet, written.csv, written.model]
    assert (written.rows, written.segments) == (60, 2)
    assert written.sizes == {"Big": 50, "Small": 10}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "segments.csv",
        "segments.model.json",
        "segments.parquet",
    ]

    con = duckdb.connect()
    described = con.execute(f"DESCRIBE SELECT * FROM '{written.parquet}'").fetchall()
    assert [(row[0], row[1]) for row in described] == [
        ("user_id", "VARCHAR"),
        ("segment", "VARCHAR"),
        ("segment_id", "INTEGER"),
        ("orders", "BIGINT"),
        ("a", "DOUBLE"),
        ("b", "DOUBLE"),
        ("pc1", "DOUBLE"),
        ("pc2", "DOUBLE"),
    ]
    counts = con.execute(
        f"SELECT segment, segment_id, count(*) FROM '{written.parquet}' GROUP BY ALL ORDER BY 2"
    ).fetchall()
    assert counts == [("Big", 0, 50), ("Small", 2, 10)]

    frame = pd.read_parquet(written.parquet)
    assert list(frame.columns) == [
        "user_id",
        "segment",
        "segment_id",
        "orders",
        "a",
        "b",
        "pc1",
        "pc2",
    ]
    assert str(frame["segment_id"].dtype) == "int32"
    assert str(frame["pc1"].dtype) == "float64"
    assert frame["user_id"].tolist() == [f"u{i:02d}" for i in range(60)]
    assert frame["segment"].tolist() == ["Big"] * 50 + ["Small"] * 10
    np.testing.assert_allclose(frame[["pc1", "pc2"]].to_numpy(), run.projection.coords, rtol=1e-6)
    csv = pd.read_csv(written.csv)
    assert csv["segment_id"].tolist() == frame["segment_id"].tolist()


def test_metadata_equals_the_model_json(tmp_path: Path) -> None:
    written = export(make_run(), tmp_path)
    from_parquet = read_segments_metadata(written.parquet)
    from_file = json.loads(written.model.read_text(encoding="utf-8"))
    assert from_parquet == from_file == written.model_data
    raw = pq.read_schema(written.parquet).metadata[b"segtui"]
    assert json.loads(raw) == from_file
    # one serialisation: the file holds the very text stored in the parquet
    assert written.model.read_bytes() == raw + b"\n"


def test_parquet_without_metadata(tmp_path: Path) -> None:
    plain = tmp_path / "plain.parquet"
    pl.DataFrame({"user_id": ["a"]}).write_parquet(plain)
    with pytest.raises(InputError, match="no segtui model in its metadata"):
        read_segments_metadata(plain)
    text = tmp_path / "text.parquet"
    text.write_text("not parquet", encoding="utf-8")
    with pytest.raises(InputError, match="not a readable parquet file"):
        read_segments_metadata(text)


def test_bad_input_leaves_no_file(tmp_path: Path) -> None:
    run = make_run()
    with pytest.raises(InputError, match=r"must end in \.parquet"):
        export_segments(ExportTarget(tmp_path / "s.csv"), run.fitted(), Provenance())
    with pytest.raises(InputError, match="name of a column segtui writes"):
        export(run, tmp_path, features=["a", "pc1"])
    with pytest.raises(InputError, match="does not exist"):
        export_segments(
            ExportTarget(tmp_path / "missing" / "s.parquet"), run.fitted(), Provenance()
        )
    assert list(tmp_path.iterdir()) == []


def test_failure_mid_write_keeps_the_old_files_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = make_run()
    export(run, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    renamed = run.segmentation.rename(0, "Renamed")

    def disk_full(self: pl.DataFrame, *args: object, **kwargs: object) -> None:
        raise OSError("No space left on device")

    # The CSV is written last: by then the new parquet and model JSON sit in temporary files.
    monkeypatch.setattr(pl.DataFrame, "write_csv", disk_full)
    with pytest.raises(InputError, match="No space left"):
        export(run, tmp_path, segmentation=renamed, csv=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_chosen_features_and_model_path(tmp_path: Path) -> None:
    run = make_run()
    written = export(run, tmp_path, features=["a"], model_path=tmp_path / "m.model.json")
    assert pl.read_parquet(written.parquet).columns == [
        "user_id",
        "segment",
        "segment_id",
        "a",
        "pc1",
        "pc2",
    ]
    assert written.model == tmp_path / "m.model.json" and written.model.exists()
