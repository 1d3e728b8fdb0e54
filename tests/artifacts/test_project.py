"""segtui.artifacts.project: a session file is saved and reopened exactly; bad files are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from segtui.artifacts.project import Project, is_project_path, load_project, save_project
from segtui.clustering.specs import FitSpec
from segtui.errors import InputError


def _project(folder: Path) -> Project:
    return Project(
        data_paths=[str(folder / "data" / "events.csv")],
        load_options={"overrides": {"ts": "event_time"}, "session_gap_minutes": 45},
        mapping={"layout": "generic", "columns": {"user_id": "uid"}},
        features=["events", "purchases", "revenue"],
        fit=FitSpec("gmm", {"k": 5, "covariance_type": "full"}, seed=42, sample_size=None),
        as_of="2025-01-31T00:00:00+00:00",
        segmentation={
            "format": "segtui.segmentation",
            "edits": [{"op": "rename", "id": 1}],
        },
    )


def test_round_trip_is_exact_and_paths_are_relative_in_the_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    project = _project(tmp_path)
    written = save_project(project, tmp_path / "work.segtui.json")
    assert written == tmp_path / "work.segtui.json"
    raw = json.loads(written.read_text())
    assert raw["data_paths"] == ["data/events.csv"]
    assert raw["version"] == 2
    again = load_project(written)
    assert again.data_paths == [str(tmp_path / "data" / "events.csv")]
    assert again == project


def test_suffix_is_added_and_recognised(tmp_path: Path) -> None:
    written = save_project(Project(features=["a", "b"]), tmp_path / "mine")
    assert written.name == "mine.segtui.json"
    assert is_project_path(written)
    assert not is_project_path("events.csv")


def test_paths_outside_the_folder_stay_absolute(tmp_path: Path) -> None:
    inside = tmp_path / "p"
    inside.mkdir()
    project = Project(data_paths=[str(tmp_path / "elsewhere.csv")])
    written = save_project(project, inside / "x.segtui.json")
    assert json.loads(written.read_text())["data_paths"] == [str(tmp_path / "elsewhere.csv")]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"version": 99}', "newer segtui"),
        ('{"seed": "zero"}', "'seed' has the wrong type"),
        ('{"colour": 1}', "unknown keys in project file: colour"),
        ('{"features": [1, 2]}', "'features' must be a list of strings"),
        ('{"weighting": "heavy"}', "unknown weighting 'heavy'"),
        ('{"weighting": 1}', "'weighting' has the wrong type"),
    ],
)
def test_bad_files_are_input_errors(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "bad.segtui.json"
    path.write_text(content)
    with pytest.raises(InputError) as caught:
        load_project(path)
    assert words in caught.value.describe()
    assert str(path) in caught.value.describe()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_project(tmp_path / "nope.segtui.json")


def test_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_project(Project(features=["a"]), tmp_path / "keep.segtui.json")
    before = path.read_text()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(json, "dumps", boom)
    with pytest.raises(OSError):
        save_project(Project(features=["b"]), path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.segtui.json"]


def test_a_project_stores_its_fit_choices_in_the_version_1_keys(tmp_path: Path) -> None:
    """The FitSpec is written flat, as every project file has been, and read back whole."""
    path = save_project(_project(tmp_path), tmp_path / "p")
    data = json.loads(path.read_text())
    assert (data["algorithm"], data["params"], data["seed"], data["sample_size"]) == (
        "gmm",
        {"k": 5, "covariance_type": "full"},
        42,
        None,
    )
    assert "fit" not in data and data["version"] == 2
    assert load_project(path).fit == FitSpec("gmm", {"k": 5, "covariance_type": "full"}, seed=42)


def test_the_weighting_is_saved_and_a_file_from_before_it_reads_as_none(tmp_path: Path) -> None:
    path = save_project(Project(features=["a"], weighting="none"), tmp_path / "p")
    assert json.loads(path.read_text())["weighting"] == "none"
    assert load_project(path).weighting == "none"
    assert Project().weighting == "within-segment"  # what a new session fits with
    # a file written before weights existed was fitted without them: it reopens as it was
    old = tmp_path / "old.segtui.json"
    old.write_text(json.dumps({"version": 1, "features": ["a"], "algorithm": "kmeans"}))
    assert load_project(old).weighting == "none"
