"""A model's recorded reading: round trips exactly, and any one hostile value is refused cleanly.

Every layout fixture's reading decisions go to plain data and back (the SQL rendered from them is
the same), and each place in that data, replaced by a hostile value or deleted, gives a plan or an
InputError, and a plan that is read renders SQL without any other exception.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from segtui.errors import InputError
from segtui.ingest.events import load_events
from segtui.ingest.read_sql import read_sql
from segtui.ingest.reading import read_plan_from_dict, read_plan_to_dict

from .test_fuzz_files import _broken, _paths

LAYOUTS = Path(__file__).resolve().parents[1] / "data" / "layouts"
EVENT_LAYOUTS = sorted(p for p in LAYOUTS.iterdir() if p.name != "users_rfm.csv")


@pytest.mark.parametrize("path", EVENT_LAYOUTS, ids=lambda p: p.name)
def test_reading_round_trips_and_refuses_hostile_values(path: Path) -> None:
    plan = load_events([path]).read_plan
    assert plan is not None
    data = read_plan_to_dict(plan)
    assert read_plan_from_dict(data).json_paths == plan.json_paths
    assert read_sql(read_plan_from_dict(data), structs=True) == read_sql(plan, structs=True)

    def read(document: object) -> None:
        read_sql(read_plan_from_dict(document, file="fuzz.model.json"))

    failures = _broken(data, _paths(data)[1:], read)
    assert not failures, "\n".join(failures[:30])


def test_a_reading_naming_no_user_source_is_refused() -> None:
    data = read_plan_to_dict(load_events([EVENT_LAYOUTS[0]]).read_plan)  # type: ignore[arg-type]
    del data["texts"]["user_id"]
    with pytest.raises(InputError, match="must give sources for user_id and ts"):
        read_plan_from_dict(data)


def test_ndjson_key_paths_are_kept_and_checked() -> None:
    """The nested sources' key paths go into the model; one written before them reads its
    sources by their flattened names; a path of one key is refused."""
    plan = load_events([LAYOUTS / "segment_track.ndjson"]).read_plan
    assert plan is not None
    data = read_plan_to_dict(plan)
    assert data["json_paths"]["properties.price"] == ["properties", "price"]
    assert '"properties"."price"' in read_sql(plan, structs=True)
    older = {k: v for k, v in data.items() if k != "json_paths"}
    assert read_plan_from_dict(older).json_paths == {}
    data["json_paths"]["properties.price"] = ["properties.price"]
    with pytest.raises(InputError, match="must list at least two JSON keys"):
        read_plan_from_dict(data)
