"""Assigning with a saved model reproduces the exported labels; bad models and data are refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from segtui.artifacts.assign import assign, assign_users, assign_with_messages
from segtui.artifacts.export import export_segments
from segtui.artifacts.fitted import ExportTarget, Provenance
from segtui.artifacts.model import read_model
from segtui.clustering.fit import fit_clusters
from segtui.clustering.specs import FitSpec, PrepSpec
from segtui.errors import InputError
from segtui.pipeline import UsersData, load_users, run_segmentation
from segtui.sample import generate

FEATURES = ["events", "sessions", "add_to_cart", "purchases", "revenue", "winter_share"]


@pytest.fixture(scope="module")
def events_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    events, _ = generate(240, seed=5)
    path = tmp_path_factory.mktemp("events") / "events.csv"
    events.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    return path


@pytest.fixture(scope="module")
def data(events_csv: Path) -> UsersData:
    return load_users([events_csv])


def exported(data: UsersData, folder: Path, algorithm: str, edit=None, k: int = 4) -> Path:
    run = run_segmentation(
        data.users,
        PrepSpec(tuple(FEATURES), default_transforms=data.default_transforms),
        FitSpec(algorithm, {"k": k}, seed=0),
    )
    seg = edit(run) if edit is not None else run.segmentation
    written = export_segments(
        ExportTarget(folder / "segments.parquet"), run.fitted(seg), data.provenance
    )
    return written.parquet


def rename_merge_rule(run):
    return (
        run.segmentation.rename(1, "Renamed")
        .merge([2, 3], name="Merged")
        .add_rule_segment("Many purchases", "purchases >= 6")
    )


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm"])
@pytest.mark.parametrize("edit", [None, rename_merge_rule], ids=["plain", "edited"])
def test_training_events_reproduce_the_labels(
    data: UsersData, events_csv: Path, tmp_path: Path, algorithm: str, edit
) -> None:
    parquet = exported(data, tmp_path, algorithm, edit)
    expected = pl.read_parquet(parquet).select("user_id", "segment", "segment_id")
    labels = assign(tmp_path / "segments.model.json", [events_csv])
    assert labels.schema == pl.Schema(
        {"user_id": pl.Utf8, "segment": pl.Utf8, "segment_id": pl.Int32}
    )
    assert labels.equals(expected)
    if edit is not None:
        assert {"Renamed", "Merged", "Many purchases"} <= set(labels["segment"].to_list())
    # the parquet carries the same model
    assert assign(parquet, [events_csv]).equals(expected)


def test_split_parts_go_to_the_nearest_part_center(
    data: UsersData, events_csv: Path, tmp_path: Path
) -> None:
    def split(run):
        seg = run.segmentation.merge([2, 3], name="Merged")
        members = seg.members(0)
        sub = fit_clusters(run.prepared.X[members], FitSpec("kmeans", {"k": 2}, seed=0))
        return seg.split(0, sub.labels).rename(1, "Renamed")

    parquet = exported(data, tmp_path, "kmeans", split)
    expected = pl.read_parquet(parquet).select("user_id", "segment", "segment_id")
    assert expected["segment_id"].n_unique() == 4
    assert assign(parquet, [events_csv]).equals(expected)


def test_new_users_and_as_of(data: UsersData, events_csv: Path, tmp_path: Path) -> None:
    exported(data, tmp_path, "kmeans")
    model = read_model(tmp_path / "segments.model.json")
    events = pl.read_csv(events_csv)
    part = tmp_path / "part.csv"
    events.filter(pl.col("user_id") <= "u0000050").write_csv(part)
    labels = assign(model, [part])
    assert labels.height == 50
    moment = datetime(2024, 6, 1, tzinfo=UTC)
    early = assign(model, [events_csv], as_of=moment)
    assert 0 < early.height < data.users.height  # users whose first event is later are absent


def test_missing_columns_are_named(data: UsersData, events_csv: Path, tmp_path: Path) -> None:
    exported(data, tmp_path, "kmeans")
    slim = tmp_path / "slim.csv"
    pl.read_csv(events_csv).select("user_id", "ts", "event").write_csv(slim)
    with pytest.raises(InputError) as info:
        assign(tmp_path / "segments.model.json", [slim])
    error = info.value
    assert error.message == "the new data lacks column the model's features need: revenue"
    assert error.details == [
        "'revenue' is needed by the model's feature revenue (it comes from a revenue column, or "
        "price x quantity)",
        "these files lack columns the model's mapping names: session_id, order_id, category, "
        "item_id, price, quantity, duration_s, scroll_depth; read without them",
    ]


def renamed_events(events_csv: Path, folder: Path, drop: tuple[str, ...] = ()) -> Path:
    """The same events with other column names (another export of the same data)."""
    path = folder / "renamed.csv"
    names = {"user_id": "visitor_id", "ts": "timestamp", "event": "event_name"}
    pl.read_csv(events_csv).drop(drop).rename(names).write_csv(path)
    return path


def test_other_column_names_are_detected_again(
    data: UsersData, events_csv: Path, tmp_path: Path
) -> None:
    parquet = exported(data, tmp_path, "kmeans")
    expected = pl.read_parquet(parquet).select("user_id", "segment", "segment_id")
    labels, messages = assign_with_messages(parquet, [renamed_events(events_csv, tmp_path)])
    assert labels.equals(expected)
    assert messages == [
        "the model was built on layout generic (user_id=user_id, ts=ts, event=event, "
        "session_id=session_id, ...); these files name the columns differently (they have no "
        "'user_id', 'ts', 'event'), so the mapping was detected again on them",
        "mapping used: user_id=visitor_id, ts=timestamp, event=event_name, session_id=session_id, "
        "order_id=order_id, category=category, item_id=item_id, price=price, quantity=quantity, "
        "duration_s=duration_s, scroll_depth=scroll_depth",
    ]


def test_other_layout_lacking_a_column_names_the_models_features(
    data: UsersData, events_csv: Path, tmp_path: Path
) -> None:
    """order_id reaches avg_order_value through 'orders', which is not a model feature."""
    run = run_segmentation(
        data.users, PrepSpec(("events", "avg_order_value")), FitSpec("kmeans", {"k": 2}, seed=0)
    )
    written = export_segments(
        ExportTarget(tmp_path / "segments.parquet"), run.fitted(), data.provenance
    )
    slim = renamed_events(events_csv, tmp_path, drop=("order_id",))
    with pytest.raises(InputError) as info:
        assign(written.parquet, [slim])
    assert info.value.message == "the new data lacks column the model's features need: order_id"
    assert info.value.details == [
        "'order_id' is needed by the model's feature avg_order_value",
        "the model was built on layout generic (user_id=user_id, ts=ts, event=event, "
        "session_id=session_id, ...); these files name the columns differently (they have no "
        "'user_id', 'ts', 'event', 'order_id'), so the mapping was detected again on them",
    ]


def users_table_model(tmp_path: Path, algorithm: str, params: dict) -> tuple[Path, pl.DataFrame]:
    rng = np.random.default_rng(1)
    group = np.repeat([0, 1, 2], [80, 60, 40])
    X = group[:, None] * 6.0 + rng.normal(0, 0.4, (180, 2))
    users = pl.DataFrame(
        {"customer_id": [f"c{i:03d}" for i in range(180)], "spend": X[:, 0], "visits": X[:, 1]}
    )
    table = tmp_path / "rfm.parquet"
    users.write_parquet(table)
    data = load_users([table])
    assert data.kind == "users_table"
    run = run_segmentation(
        data.users, PrepSpec(tuple(data.default_features)), FitSpec(algorithm, params, seed=0)
    )
    written = export_segments(
        ExportTarget(tmp_path / "segments.parquet"),
        run.fitted(),
        Provenance(id_column=data.id_column),
    )
    return written.parquet, users


def test_users_table_model(tmp_path: Path) -> None:
    parquet, users = users_table_model(tmp_path, "kmeans", {"k": 3})
    expected = pl.read_parquet(parquet).select("user_id", "segment", "segment_id")
    new = tmp_path / "new.csv"
    users.write_csv(new)
    assert assign(parquet, [new]).equals(expected)
    users.drop("visits").write_csv(new)
    with pytest.raises(InputError, match="lacks column the model needs: visits"):
        assign(parquet, [new])


def test_density_model_labels_far_users_noise(tmp_path: Path) -> None:
    parquet, _ = users_table_model(tmp_path, "dbscan", {"eps": 1.0, "min_samples": 5})
    model = read_model(parquet)
    far = pl.DataFrame({"user_id": ["far", "near"], "spend": [500.0, 0.1], "visits": [500.0, 0.0]})
    labels = assign_users(model, far)
    noise = model.state.noise_id
    assert labels.row(0) == ("far", "Noise (unassigned)", noise)
    assert labels.row(1)[2] == 0  # the largest planted group


NULLABLE = ["events", "purchases", "cart_abandonment", "recency_days", "avg_order_value"]


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm"])
def test_non_median_fills_reproduce_the_labels(
    data: UsersData, events_csv: Path, tmp_path: Path, algorithm: str
) -> None:
    run = run_segmentation(
        data.users,
        PrepSpec(
            tuple(NULLABLE),
            fills={"avg_order_value": "min"},
            default_transforms=data.default_transforms,
            default_fills=data.default_fills,
        ),
        FitSpec(algorithm, {"k": 4}, seed=0),
    )
    params = {f.name: f for f in run.prepared.params.features}
    assert {name: f.fill for name, f in params.items()} == {
        "events": "median",
        "purchases": "median",
        "cart_abandonment": "zero",
        "recency_days": "max",
        "avg_order_value": "min",
    }
    # the fills had work to do, with the values their kinds say
    for name in ("cart_abandonment", "recency_days", "avg_order_value"):
        assert params[name].n_missing > 0, name
    assert params["cart_abandonment"].impute == 0.0
    assert params["recency_days"].impute == data.users["recency_days"].max()
    assert params["avg_order_value"].impute == pytest.approx(
        float(np.log1p(data.users["avg_order_value"].min()))
    )
    written = export_segments(
        ExportTarget(tmp_path / "segments.parquet"), run.fitted(), data.provenance
    )
    expected = pl.read_parquet(written.parquet).select("user_id", "segment", "segment_id")
    model = read_model(tmp_path / "segments.model.json")
    assert model.fills["recency_days"] == "max"
    assert assign(model, [events_csv]).equals(expected)
    # the filled users in particular: those who never bought keep their segment
    never = data.users.filter(pl.col("recency_days").is_null()).select("user_id")
    assert never.height > 0
    assert (
        assign(model, [events_csv])
        .join(never, on="user_id")
        .equals(expected.join(never, on="user_id"))
    )
