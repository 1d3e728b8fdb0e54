"""`watch run --online`: one planted group drifts a little in each batch; its center follows by
the mini-batch K-Means rule (worked out here from the rule itself, batch by batch, on the batch
`features --model` answers), its id and name stay, and without --online nothing moves."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from inbox_world import cli
from watch_worlds import batch_features, batch_labels, fit_model, state_labels, write_events

from segtui.artifacts.assign import as_model
from segtui.artifacts.model import parse_model
from segtui.clustering.prepare import transform_users
from segtui.errors import InputError
from segtui.sample import generate
from segtui.watch.create import create_state
from segtui.watch.current import latest_model
from segtui.watch.online import ONLINE, initial_counts, mini_batch_step, online_refusal
from segtui.watch.report import moves, status
from segtui.watch.run import RunOptions, run
from segtui.watch.state import reading

pytestmark = pytest.mark.xdist_group("watch-online")  # one worker builds the module's fixtures

DRIFTING = "browsers"
BATCHES = 3


def _drift_batch(history: pl.DataFrame, users: list[str], b: int) -> pl.DataFrame:
    """Batch ``b``: each drifting user adds ``b`` carts to their last event (after the history
    ends), so the group's behaviour moves a little further every batch."""
    end = history["ts"].max()
    last = history.filter(pl.col("user_id").is_in(users)).group_by("user_id").last()
    rows = [
        last.with_columns(
            pl.lit("add_to_cart").alias("event"),
            pl.lit(end + timedelta(hours=b, minutes=i)).alias("ts"),
            (pl.col("user_id") + f"-drift{b}").alias("session_id"),
            pl.lit(None, pl.Utf8).alias("order_id"),
        )
        for i in range(b)
    ]
    return pl.concat(rows).select(history.columns).sort("user_id", "ts")


@pytest.fixture(scope="module")
def drifting(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("online")
    events, truth = generate(150, seed=5)
    history = write_events(events, folder / "history.csv")
    model = fit_model(history, folder / "seg.parquet", k=6)
    group = sorted(truth.filter(pl.col("group") == DRIFTING)["user_id"].to_list())
    inbox = folder / "inbox"
    inbox.mkdir()
    files = [
        write_events(_drift_batch(events, group, b), inbox / f"b{b}.csv")
        for b in range(1, BATCHES + 1)
    ]
    states = {}
    for online in (True, False):
        state = folder / f"{'online' if online else 'still'}.duckdb"
        create_state(state, model, [history])
        lines: list[str] = []
        run(state, inbox, RunOptions(once=True, online=online), lines.append)
        states[online] = (state, lines)
    return {"model": model, "history": history, "files": files, "group": group, "states": states}


def _by_hand(model_path: Path, history: Path, files: list[Path]) -> list[tuple[np.ndarray, set]]:
    """The centers after each batch, from the rule: each touched user's features after the
    batch go to the nearest center c (count N, n of them summing to s): c <- (N c + s)/(N + n)."""
    model = as_model(model_path)
    centers = np.array(model.state.centers, dtype=np.float64)
    sizes = {s["id"]: s["size"] for s in model.data["segments"]}
    counts = np.array([float(sizes[int(c)]) for c in model.state.center_labels])
    seen, steps = [history], []
    for batch in files:
        seen.append(batch)
        touched = pl.read_csv(batch)["user_id"].unique().to_list()
        users = batch_features(model_path, seen).filter(pl.col("user_id").is_in(touched))
        X = transform_users(model.prepare, users)
        nearest = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        for j in sorted(set(nearest.tolist())):
            mine = X[nearest == j]
            centers[j] = (counts[j] * centers[j] + mine.sum(axis=0)) / (counts[j] + len(mine))
            counts[j] += len(mine)
        steps.append((centers.copy(), set(nearest.tolist())))
    return steps


def _model_at(state: Path, version: int | None = None) -> dict:
    with reading(state) as con:
        if version is None:
            return latest_model(con)[0].data
        query = "SELECT model_json FROM models WHERE version = ?"
        return json.loads(con.sql(query, params=[version]).fetchall()[0][0])


def test_online_centers_follow_the_drifting_group_by_the_mini_batch_rule(
    drifting: dict[str, object],
) -> None:
    state, lines = drifting["states"][True]
    model = as_model(drifting["model"])
    steps = _by_hand(drifting["model"], drifting["history"], drifting["files"])
    assert status(state)["model_version"] == 1 + BATCHES
    before = np.asarray(model.state.centers)
    for version, (centers, hit) in enumerate(steps, start=2):
        got = np.array(_model_at(state, version)["cluster"]["state"]["centers"])
        np.testing.assert_allclose(got, centers, rtol=0, atol=1e-9)
        untouched = [j for j in range(len(centers)) if j not in hit]
        # a center no user of this batch reached stays exactly where the last version had it
        assert untouched and np.array_equal(got[untouched], before[untouched])
        before = got
    # The group's center moved toward where the group is now, further with every batch.
    everyone = batch_features(drifting["model"], [drifting["history"], *drifting["files"]])
    X = transform_users(model.prepare, everyone.filter(pl.col("user_id").is_in(drifting["group"])))
    target = X.mean(axis=0)
    # the group's center: the one most of the drifting users are nearest to
    first = np.asarray(model.state.centers)
    j = int(np.bincount(((X[:, None, :] - first[None]) ** 2).sum(axis=2).argmin(axis=1)).argmax())
    gaps = [np.linalg.norm(c[j] - target) for c in [model.state.centers, *(s[0] for s in steps)]]
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < gaps[0]
    assert [line.split(";")[0] for line in lines if line.startswith("online:")] == [
        f"online: model version {v}" for v in range(2, 2 + BATCHES)
    ]


def test_online_keeps_ids_and_names_and_labels_as_the_last_version_does(
    drifting: dict[str, object],
) -> None:
    state, _ = drifting["states"][True]
    first, last = as_model(drifting["model"]), parse_model(_model_at(state))
    assert last.segmentation.names == first.segmentation.names
    assert np.array_equal(last.state.center_labels, first.state.center_labels)
    assert {s["id"]: s["size"] for s in last.data["segments"]} == {
        s["id"]: s["size"] for s in first.data["segments"]
    }  # sizes stay the fitted ones: PSI keeps measuring against them
    v4 = Path(str(drifting["model"]).replace(".model.json", f".v{1 + BATCHES}.json"))
    assert json.loads(v4.read_text()) == _model_at(state)
    files = [drifting["history"], *drifting["files"]]
    assert state_labels(state).equals(batch_labels(v4, files))
    # Users who drift with their group stay with it when its center follows.
    group = pl.col("user_id").is_in(drifting["group"])
    still, _ = drifting["states"][False]
    assert moves(state).filter(group).height < moves(still).filter(group).height
    with reading(state) as con:
        reasons = con.sql("SELECT reason FROM models ORDER BY version").fetchall()
        counts = json.loads(
            con.sql("SELECT value FROM meta WHERE key = 'online_counts'").fetchall()[0][0]
        )
    assert [r for (r,) in reasons] == ["init", *[ONLINE] * BATCHES]
    assert counts["model_version"] == 1 + BATCHES
    grown = np.array(counts["counts"]) - initial_counts(first)
    assert grown.sum() == BATCHES * len(drifting["group"])  # each batch touches the group


def test_without_online_nothing_moves(drifting: dict[str, object]) -> None:
    state, lines = drifting["states"][False]
    assert status(state)["model_version"] == 1
    assert not any(line.startswith("online:") for line in lines)
    assert _model_at(state) == as_model(drifting["model"]).data
    assert ONLINE not in moves(state)["reason"].to_list()


def test_the_step_is_scikit_learns_rule_on_numbers_worked_by_hand() -> None:
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 5.0]])
    counts = np.array([3.0, 1.0, 7.0])
    allowed = np.array([True, True, False])  # a center that won no user never takes one
    X = np.array([[1.0, 0.0], [2.0, 1.0], [9.0, 0.0], [6.0, 4.0]])
    got, n, hits = mini_batch_step(centers, counts, allowed, X)
    # center 0: (3 * (0, 0) + (1, 0) + (2, 1)) / 5 = (0.6, 0.2); center 1 takes (9, 0) and
    # (6, 4), nearer it than the masked center 2: (1 * (10, 0) + (15, 4)) / 3 = (25/3, 4/3).
    want = [[0.6, 0.2], [25 / 3, 4 / 3], [5.0, 5.0]]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert n.tolist() == [5.0, 3.0, 7.0] and hits.tolist() == [2, 2, 0]
    again = mini_batch_step(centers, counts, allowed, X)
    assert all(np.array_equal(a, b) for a, b in zip(again, (got, n, hits), strict=True))


@pytest.mark.parametrize("algorithm", ["gmm", "dbscan", "hdbscan", "agglomerative", "birch"])
def test_online_has_no_meaning_for_models_without_movable_centers(
    drifting: dict[str, object], algorithm: str
) -> None:
    data = json.loads(json.dumps(as_model(drifting["model"]).data))
    data["cluster"]["algorithm"] = algorithm
    why = online_refusal(parse_model(data))
    assert why is not None and f"this model uses {algorithm}" in why


def test_run_online_on_such_a_model_is_refused_before_anything_is_read(
    drifting: dict[str, object], tmp_path: Path
) -> None:
    data = json.loads(Path(drifting["model"]).read_text())
    data["cluster"]["algorithm"] = "agglomerative"
    model = tmp_path / "agg.model.json"
    model.write_text(json.dumps(data))
    state = tmp_path / "st.duckdb"
    create_state(state, model, [drifting["history"]])
    inbox = Path(drifting["files"][0]).parent
    with pytest.raises(InputError, match="cannot run --online: --online moves K-Means centers"):
        run(state, inbox, RunOptions(once=True, online=True), lambda line: None)
    result = cli("watch", "run", state, inbox, "--once", "--online")
    assert result.exit_code == 2 and "agglomerative" in result.output
    assert status(state)["batches"] == 0
