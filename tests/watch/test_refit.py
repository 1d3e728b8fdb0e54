"""Refit on drift: a behaviour nobody had appears; the refit gives it a new segment with a fresh id
and name while the segments that are still there keep their ids and names."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from watch_worlds import (
    TS_FORMAT,
    World,
    batch_features,
    batch_labels,
    build_world,
    fit_model,
    split_files,
    state_labels,
)

from segtui.artifacts.assign import as_model
from segtui.artifacts.model import parse_model
from segtui.errors import InputError
from segtui.sample import generate
from segtui.watch.create import create_state
from segtui.watch.refit import match_clusters, refit_model, refit_now, request_path
from segtui.watch.relabel import REFIT
from segtui.watch.report import moves, status
from segtui.watch.run import RunOptions, run
from segtui.watch.state import run_lock

pytestmark = pytest.mark.xdist_group("watch-refit")  # one worker builds the module's fixtures


NEW_GROUP = "browsers"


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """History without one planted group (model k=5 on the other five), then that group
    arrives as new users; the run refits when the PSI passes 0.05."""
    folder = tmp_path_factory.mktemp("refit")
    events, truth = generate(600, seed=4)
    newcomers = truth.filter(pl.col("group") == NEW_GROUP)["user_id"]
    old = events.filter(~pl.col("user_id").is_in(newcomers.to_list()))
    history = folder / "history.csv"
    old.write_csv(history, datetime_format=TS_FORMAT)
    inbox = folder / "inbox"
    inbox.mkdir()
    arrivals = inbox / "new.csv"
    events.filter(pl.col("user_id").is_in(newcomers.to_list())).write_csv(
        arrivals, datetime_format=TS_FORMAT
    )
    model = fit_model(history, folder / "seg.parquet", k=5)
    state = folder / "st.duckdb"
    create_state(state, model, [history])
    before = state_labels(state)
    lines: list[str] = []
    run(state, inbox, RunOptions(once=True, refit_drift=0.05), lines.append)
    return {
        "state": state,
        "model": model,
        "files": [history, arrivals],
        "newcomers": set(newcomers),
        "before": before,
        "lines": lines,
    }


def test_refit_keeps_ids_and_names_and_gives_the_new_group_a_fresh_segment(
    drifted: dict[str, object],
) -> None:
    state, model = drifted["state"], as_model(drifted["model"])
    old_names = model.segmentation.names
    refit_line = [line for line in drifted["lines"] if line.startswith("refit (psi ")]
    assert len(refit_line) == 1 and "model version 2" in refit_line[0]
    info = status(state)
    assert info["model_version"] == 2 and info["last_refit"] is not None
    names = {s["id"]: s["name"] for s in info["segments"] if s["size"]}
    fresh = [sid for sid in names if sid not in old_names]
    assert fresh == [max(old_names) + 1]  # one new segment, id above every id used before
    kept = {sid: name for sid, name in names.items() if sid in old_names}
    assert len(kept) == 4 and all(old_names[sid] == name for sid, name in kept.items())
    now = state_labels(state)
    newcomers = now.filter(pl.col("user_id").is_in(list(drifted["newcomers"])))
    assert (newcomers["segment_id"] == fresh[0]).mean() >= 0.9


def test_refit_writes_the_version_beside_the_model_and_labels_as_it_does(
    drifted: dict[str, object],
) -> None:
    v2 = Path(str(drifted["model"]).replace(".model.json", ".v2.json"))
    assert v2.is_file()
    con = duckdb.connect(str(drifted["state"]), read_only=True)
    try:
        stored = con.sql("SELECT model_json FROM models WHERE version = 2").fetchall()[0][0]
    finally:
        con.close()
    assert json.loads(stored) == json.loads(v2.read_text())
    assert state_labels(drifted["state"]).equals(batch_labels(v2, drifted["files"]))


def test_every_user_the_refit_moved_is_logged_with_reason_refit(
    drifted: dict[str, object],
) -> None:
    logged = moves(drifted["state"])
    refit = logged.filter(pl.col("reason") == REFIT)
    assert refit.height > 0 and refit["batch"].unique().to_list() == [1]
    after_batch = logged.filter(pl.col("reason") != REFIT)
    # Users labelled in batch 1 (new users) and then moved by the refit have both rows.
    first = drifted["before"].join(
        after_batch.select("user_id", pl.col("to_id").alias("segment_id")),
        on="user_id",
        how="full",
        coalesce=True,
        suffix="_b",
    )
    start = dict(first.select("user_id", pl.coalesce("segment_id_b", "segment_id")).iter_rows())
    final = dict(state_labels(drifted["state"]).select("user_id", "segment_id").iter_rows())
    changed = sorted(u for u in final if start[u] != final[u])
    assert sorted(refit["user_id"]) == changed
    assert (refit["from_id"] != refit["to_id"]).all()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("small"), users=160, seed=2)


def test_refit_now_asks_a_running_watch_and_the_run_takes_it(small: World, tmp_path: Path) -> None:
    world = small
    state, inbox = tmp_path / "st.duckdb", tmp_path / "inbox"
    split_files(world.new, inbox, 1)
    create_state(state, world.model, [world.history])
    with run_lock(state):  # as if `watch run` held it
        said = refit_now(state)
    assert said.startswith("asked the running") and request_path(state).exists()
    lines: list[str] = []
    run(state, inbox, RunOptions(once=True), lines.append)
    assert any(line.startswith("refit (asked): model version 2") for line in lines)
    assert not request_path(state).exists()
    assert status(state)["model_version"] == 2


def test_refit_is_refused_for_models_it_cannot_keep_ids_for(small: World) -> None:
    world = small
    model = as_model(world.model)
    data = json.loads(json.dumps(model.data))
    data["cluster"]["algorithm"] = "agglomerative"
    other = parse_model(data)
    with pytest.raises(InputError, match="refit is built for kmeans"):
        refit_model(other, batch_features(world.model, [world.history]), set())


def test_matching_keeps_near_pairs_and_gives_far_clusters_fresh_ids() -> None:
    import numpy as np

    old_ids = np.array([0, 1, 2])
    old = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    new = np.array([[0.5, 0.0], [10.0, 1.0], [30.0, 30.0]])
    ids, kept, fresh = match_clusters(old_ids, old, new, next_id=7)
    assert ids == {0: 0, 1: 1, 2: 7} and kept == {0: 0, 1: 1} and fresh == [7]
