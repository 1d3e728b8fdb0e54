"""Files written by segtui before the package was laid out along the flow still read the same.

The fixtures in tests/data/compat were written by segtui 0.1.0 at commit 8766a6e (the flat
package) on the bundled sample: a K-Means k=5 model with a rename, a merge, a split, two rule
segments and an undone rename, the labels that version's ``assign`` gave, and the project file
of the same session. A change that stops reading them, or labels a user differently, fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from segtui.artifacts.assign import assign
from segtui.artifacts.model import read_model
from segtui.artifacts.project import load_project
from segtui.clustering.specs import FitSpec
from segtui.segments.edits import edit_from_dict

ROOT = Path(__file__).resolve().parents[2]
COMPAT = ROOT / "tests" / "data" / "compat"
SAMPLE = ROOT / "sample_data" / "events.csv"


def test_an_old_model_labels_every_user_as_the_old_assign_did() -> None:
    model = read_model(COMPAT / "edited_v0_1.model.json")
    expected = pl.read_csv(COMPAT / "edited_v0_1.labels.csv", schema_overrides={"user_id": pl.Utf8})
    labels = assign(model, [SAMPLE])
    assert labels["user_id"].to_list() == expected["user_id"].to_list()
    assert labels["segment_id"].to_list() == expected["segment_id"].to_list()
    assert labels["segment"].to_list() == expected["segment"].to_list()
    assert model.segment_names[6] == "Big spenders"


def test_an_old_project_file_reopens_with_its_choices_and_edits() -> None:
    path = COMPAT / "edited_v0_1.segtui.json"
    project = load_project(path)
    assert project.fit == FitSpec("kmeans", {"k": 5}, seed=3)
    assert Path(project.data_paths[0]).resolve() == SAMPLE.resolve()
    edits = [edit_from_dict(e) for e in project.segmentation["edits"]]
    undone = [edit_from_dict(e) for e in project.segmentation["undone"]]
    kinds = [type(e).__name__ for e in edits]
    assert kinds == ["Rename", "Merge", "Split", "AddRule", "AddRule"]
    assert [type(e).__name__ for e in undone] == ["Rename"]
    assert json.loads(path.read_text())["version"] == 1
