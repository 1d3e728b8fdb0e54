"""`segtui segment --tree`: the merge tree under the table, hierarchical clustering only."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from segtui.cli import segment_cmd
from segtui.errors import InputError
from segtui.sample import generate


def run(*args: str):
    app = typer.Typer()
    app.command("segment")(segment_cmd.segment)
    app.command("other")(lambda: None)  # two commands: typer keeps the command name
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def events_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    events, _ = generate(200, seed=7)
    path = tmp_path_factory.mktemp("tree") / "events.csv"
    events.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    return path


def test_tree_is_printed_under_the_table(events_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.parquet"
    result = run("segment", events_csv, "--algo", "agglomerative", "-k", "3", "-o", out, "--tree")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index("merge tree (ward linkage) of all 200 users, cut at k=3:")
    assert lines[start + 1] == "  All fitted users (200) · splits at k=2"
    segments = [line for line in lines[start:] if line.lstrip(" │├└").startswith("[")]
    assert len(segments) == 3
    assert lines.index(
        "  (to cut elsewhere, run again with -k N: the same seed gives the same tree)"
    )
    assert start < next(i for i, line in enumerate(lines) if "silhouette" in line)


def test_tree_is_refused_for_algorithms_without_one(events_csv: Path, tmp_path: Path) -> None:
    result = run("segment", events_csv, "-k", "3", "-o", tmp_path / "s.parquet", "--tree")
    assert isinstance(result.exception, InputError)  # the entry point turns it into exit 2
    assert str(result.exception.message) == (
        "--tree needs hierarchical clustering: kmeans builds no tree of merges"
    )
    assert not (tmp_path / "s.parquet").exists()
