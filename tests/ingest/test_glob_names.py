"""File names holding glob characters are files, not patterns: every format reads them."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from segtui.ingest.events import load_events

LAYOUTS = Path(__file__).resolve().parents[1] / "data" / "layouts"


@pytest.mark.parametrize("name", ["ev[1]", "a*b?", "[/]x["])
@pytest.mark.parametrize("kind", ["csv", "ndjson", "parquet"])
def test_a_name_with_glob_characters_reads(tmp_path: Path, name: str, kind: str) -> None:
    folder = tmp_path / name.replace("/", "_")
    folder.mkdir()
    path = folder / f"{name.replace('/', '_')}.{kind}"
    if kind == "csv":
        path.write_bytes((LAYOUTS / "clickstream.csv").read_bytes())
    elif kind == "ndjson":
        path.write_bytes((LAYOUTS / "segment_track.ndjson").read_bytes())
    else:
        pl.read_csv(LAYOUTS / "clickstream.csv").write_parquet(path)
    loaded = load_events([path])
    assert loaded.events.collect().height > 0
