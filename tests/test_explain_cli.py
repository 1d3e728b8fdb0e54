"""`segtui explain MODEL FILES --user ID` and the rule lines of `segtui segment`, on a planted
world: three groups where A and B differ only in x1, B and C only in x2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from segtui.artifacts.model import read_model
from segtui.cli.main import app

CENTRES = {"A": (0.0, 0.0), "B": (6.0, 0.0), "C": (6.0, 6.0)}
PER_GROUP = 80


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pl.DataFrame]:
    rng = np.random.default_rng(5)
    rows = []
    for group, (x1, x2) in CENTRES.items():
        for i in range(PER_GROUP):
            rows.append(
                {
                    "user_id": f"{group}{i:03d}",
                    "x1": x1 + rng.normal(0, 0.5),
                    "x2": x2 + rng.normal(0, 0.5),
                    "x3": rng.normal(0, 0.5),
                }
            )
    users = pl.DataFrame(rows)
    folder = tmp_path_factory.mktemp("explain")
    path = folder / "users.csv"
    users.write_csv(path)
    out = folder / "seg.parquet"
    result = run("segment", path, "--users-table", "-k", "3", "-o", out, "--features", "x1,x2,x3")
    assert result.exit_code == 0, result.output
    return out.with_name("seg.model.json"), path, users


def test_explain_names_the_planted_discriminating_feature(fitted) -> None:
    model, path, _ = fitted
    for user, planted in (("A007", "x1"), ("C011", "x2")):
        result = run("explain", model, path, "--user", user, "--json")
        assert result.exit_code == 0, result.output
        out = json.loads(result.output)
        assert out["user_id"] == user
        assert out["next_segment"] is not None
        assert out["features"][0]["feature"] == planted
        assert out["features"][0]["share"] > 0.8
        members = read_model(model).segment_names
        assert out["segment"]["name"] == members[out["segment"]["id"]]
    text = run("explain", model, path, "--user", "A007")
    assert text.exit_code == 0, text.output
    assert "user A007 is in segment" in text.output
    assert "the next nearest segment is" in text.output
    assert "what puts it in" in text.output


def test_unknown_user_is_exit_2_naming_it_with_a_suggestion(fitted) -> None:
    model, path, _ = fitted
    command = ["explain", str(model), str(path), "--user", "C079x"]
    result = subprocess.run(
        [sys.executable, "-m", "segtui.cli.main", *command], capture_output=True, text=True
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("segtui: ") and "Traceback" not in result.stderr
    assert "no user 'C079x'" in result.stderr
    assert "Did you mean 'C079'?" in result.stderr


def test_segment_prints_and_records_each_segment_as_a_rule(fitted) -> None:
    model, path, users = fitted
    described = read_model(model).descriptions
    assert len(described) == 3
    labels = pl.read_parquet(model.with_name("seg.parquet")).sort("user_id")
    for d in described.values():
        assert d.precision == 1.0 and d.coverage == 1.0  # three well-separated groups
        assert d.sql
    folder = path.parent
    result = run("segment", path, "--users-table", "-k", "3", "-o", folder / "again.parquet")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index(
        "segments as rules (precision: matched users in the segment; coverage: segment matched):"
    )
    assert len([ln for ln in lines[start + 1 : start + 4] if "(precision 100" in ln]) == 3
    assert labels.height == users.height
    as_json = run("segment", path, "--users-table", "-k", "3", "-o", folder / "j.parquet", "--json")
    assert as_json.exit_code == 0, as_json.output
    segments = json.loads(as_json.output)["segments"]
    assert all(s["description"]["precision"] == 1.0 for s in segments)
    assert {s["description"]["rule"] for s in segments} == {d.rule for d in described.values()}


def test_old_models_have_no_descriptions() -> None:
    root = Path(__file__).resolve().parents[1]
    old = read_model(root / "tests" / "data" / "compat" / "edited_v0_1.model.json")
    assert old.descriptions == {}
