"""Outputs that would destroy an input, or cannot be written, are refused before any work.

Issue 12, items 2 and 7: ``segment`` and ``assign`` compare outputs with every file they read by
inode (a symlink or hard link to an input is the input), and check the folder is writable up
front, so a long computation never ends in a traceback or a destroyed input.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from segtui.cli import segment_cmd
from segtui.errors import InputError
from segtui.sample import generate


def run(*args: object):
    app = typer.Typer()
    app.command("segment")(segment_cmd.segment)
    app.command("assign")(segment_cmd.assign)
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def events_csv(tmp_path: Path) -> Path:
    events, _ = generate(120, seed=3)
    path = tmp_path / "events.csv"
    events.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    return path


def _refused(result, message: str) -> InputError:
    assert isinstance(result.exception, InputError), result.output
    assert message in result.exception.describe()
    return result.exception


def test_segment_refuses_to_write_over_its_input(tmp_path: Path) -> None:
    events, _ = generate(120, seed=3)
    source = tmp_path / "events.parquet"
    events.write_parquet(source)
    before = source.read_bytes()
    _refused(run("segment", source, "-o", source), "overwrite an input")
    _refused(run("segment", tmp_path, "-o", tmp_path / "events.parquet"), "overwrite an input")
    assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.parquet"]


def test_segment_refuses_a_symlink_to_the_input_as_csv_twin(events_csv: Path) -> None:
    folder = events_csv.parent
    (folder / "s.csv").symlink_to(events_csv)
    before = events_csv.read_bytes()
    error = _refused(run("segment", events_csv, "-o", folder / "s.parquet", "--csv"), "overwrite")
    assert str(error.file).endswith("s.csv")
    assert events_csv.read_bytes() == before


def test_assign_refuses_an_output_that_is_an_input(events_csv: Path) -> None:
    folder = events_csv.parent
    assert run("segment", events_csv, "-o", folder / "s.parquet").exit_code == 0
    model = folder / "s.model.json"
    model_text = model.read_text()
    (folder / "labels.csv").hardlink_to(events_csv)
    before = events_csv.read_bytes()
    _refused(run("assign", model, events_csv, "-o", folder / "labels.csv"), "overwrite an input")
    _refused(run("assign", model, events_csv, "-o", events_csv), "overwrite an input")
    assert events_csv.read_bytes() == before and model.read_text() == model_text


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_refused_before_the_work(events_csv: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        _refused(run("segment", events_csv, "-o", locked / "s.parquet"), "permission denied")
    finally:
        locked.chmod(0o700)


def test_output_that_is_a_folder_is_refused(events_csv: Path) -> None:
    folder = events_csv.parent / "out.parquet"
    folder.mkdir()
    _refused(run("segment", events_csv, "-o", folder), "is a folder")


def test_features_refuses_to_write_over_its_input(events_csv: Path) -> None:
    from segtui.cli import features_cmd

    app = typer.Typer()
    app.command("features")(features_cmd.features)
    app.command("other")(features_cmd.features)  # two commands: typer then takes a name
    before = events_csv.read_bytes()
    result = CliRunner().invoke(app, ["features", str(events_csv), "-o", str(events_csv)])
    _refused(result, "overwrite an input")
    assert events_csv.read_bytes() == before


@pytest.mark.parametrize("gap", ["nan", "inf", "-5", "0", "1e9"])
def test_a_bad_session_gap_is_refused_before_reading_anything(
    tmp_path: Path, events_csv: Path, monkeypatch: pytest.MonkeyPatch, gap: str
) -> None:
    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the data was read before the gap was checked")

    monkeypatch.setattr("segtui.cli.segment_cmd.load_users", never)
    out = tmp_path / "out.parquet"
    result = run("segment", events_csv, "--session-gap", gap, "-o", out)
    _refused(result, "session gap")
    assert not out.exists()
