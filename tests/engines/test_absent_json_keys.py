"""A saved model reads NDJSON files where no record has a key it maps: the key reads as empty.

JSON records leave out keys they have no value for, so a batch with no purchases has no
``properties.order_id`` or ``properties.revenue`` at all. Such a file holds what a file with
those keys empty holds: ``features --model``, ``assign`` (every engine) and ``watch`` label it
as they label the same users read beside one purchase of another user, which brings the keys.
A key every row needs (the user, the time, the event) is still refused by name.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from segtui.cli.main import app

START = datetime(2024, 1, 1, tzinfo=UTC)


def run(*args: str | Path, code: int = 0) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result.output


def track(user: str, event: str, at: datetime, n: int, properties: dict) -> str:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    record = {"type": "track", "event": event, "userId": user, "messageId": f"m-{user}-{n}"}
    return json.dumps({**record, "timestamp": stamp, "properties": properties})


def view(user: str, at: datetime, n: int, rng: random.Random) -> str:
    properties = {
        "product_id": f"sku-{rng.randint(1, 40)}",
        "category": rng.choice(["Shoes", "Hats", "Bags"]),
        "price": round(rng.uniform(5, 100), 2),
    }
    return track(user, rng.choice(["Product Viewed"] * 3 + ["Product Added"]), at, n, properties)


def purchase(user: str, at: datetime, n: int, amount: float) -> str:
    properties = {"order_id": f"o-{user}-{n}", "revenue": amount, "currency": "USD"}
    return track(user, "Order Completed", at, n, properties)


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Path]:
    """A model fitted on a Segment log with purchases (its features read order_id and
    revenue); a batch of views only (no record has those keys); the same batch with one
    purchase of a user not in it."""
    folder = tmp_path_factory.mktemp("absent")
    rng = random.Random(5)
    lines = []
    for u in range(120):
        at = START + timedelta(hours=u)
        buyer = u % 3 == 0
        for n in range(rng.randint(4, 14)):
            at += timedelta(minutes=rng.randint(1, 3000))
            if buyer and n % 4 == 3:
                lines.append(purchase(f"u{u:03d}", at, n, round(rng.uniform(20, 400), 2)))
            else:
                lines.append(view(f"u{u:03d}", at, n, rng))
    history = write(folder / "history.ndjson", lines)
    later = START + timedelta(days=40)
    views = [view(f"u{u:03d}", later + timedelta(minutes=u), 100, rng) for u in range(0, 120, 7)]
    views.append(view("u900", later, 100, rng))  # a new user
    batch = write(folder / "views.ndjson", views)
    one_purchase = [*views, purchase("u901", later, 100, 55.0)]
    both = write(folder / "with_purchase.ndjson", one_purchase)
    run("segment", history, "-k", "3", "-o", folder / "seg.parquet", "--no-stability")
    model = folder / "seg.model.json"
    assert {"properties.order_id", "properties.revenue"} <= set(
        json.loads(model.read_text())["mapping"]["columns"].values()
    )
    return model, history, batch, both


def read(out: Path) -> pl.DataFrame:
    return pl.read_parquet(sorted(out.glob("*.parquet")) if out.is_dir() else out)


def without_u901(out: Path) -> pl.DataFrame:
    return read(out).filter(pl.col("user_id") != "u901").sort("user_id")


def test_features_of_a_batch_without_the_keys(fitted, tmp_path: Path) -> None:
    model, _, batch, both = fitted
    run("features", "--model", model, batch, "-o", tmp_path / "views.parquet")
    run("features", "--model", model, both, "-o", tmp_path / "both.parquet")
    ours = read(tmp_path / "views.parquet").sort("user_id")
    assert ours.height == 19
    assert_frame_equal(ours, without_u901(tmp_path / "both.parquet"))
    spent = ours.select("event_purchase_share", "avg_order_value", "max_purchase_revenue")
    assert spent.unique().rows() == [(0.0, None, None)]


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_assign_a_batch_without_the_keys(fitted, engine: str, tmp_path: Path) -> None:
    model, _, batch, both = fitted
    run("assign", model, batch, "-o", tmp_path / "views.parquet", "--engine", engine)
    run("assign", model, both, "-o", tmp_path / "both.parquet", "--engine", "polars")
    ours = read(tmp_path / "views.parquet").sort("user_id")
    assert ours.height == 19
    assert ours.equals(without_u901(tmp_path / "both.parquet"))


@pytest.mark.xdist_group("spark")
def test_spark_assigns_a_batch_without_the_keys(spark, fitted, tmp_path: Path) -> None:
    model, _, batch, both = fitted
    run("assign", model, batch, "-o", tmp_path / "views", "--engine", "spark")
    run("assign", model, both, "-o", tmp_path / "both.parquet", "--engine", "polars")
    assert read(tmp_path / "views").sort("user_id").equals(without_u901(tmp_path / "both.parquet"))


def test_watch_folds_in_a_batch_without_the_keys(fitted, tmp_path: Path) -> None:
    model, history, batch, _ = fitted
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "b1.ndjson").write_bytes(batch.read_bytes())
    state = tmp_path / "st.duckdb"
    run("watch", "init", state, model, history)
    out = run("watch", "run", state, inbox, "--once", "--min-margin", "0", "--min-events", "0")
    assert "b1.ndjson: 19 events kept, 0 left out" in out
    run("watch", "export", state, "-o", tmp_path / "watch.parquet")
    run("assign", model, history, batch, "-o", tmp_path / "all.parquet")
    watched = read(tmp_path / "watch.parquet").select("user_id", "segment", "segment_id")
    assert watched.sort("user_id").equals(read(tmp_path / "all.parquet").sort("user_id"))


def test_a_key_every_row_needs_is_still_refused(fitted, tmp_path: Path) -> None:
    model, _, batch, _ = fitted
    lines = batch.read_text().splitlines()
    no_time = [
        json.dumps({k: v for k, v in json.loads(x).items() if k != "timestamp"}) for x in lines
    ]
    path = write(tmp_path / "no_time.ndjson", no_time)
    for engine in ("polars", "duckdb"):
        out = run("assign", model, path, "-o", tmp_path / "x.parquet", "--engine", engine, code=2)
        assert "no 'timestamp'" in out or "lack column the model read: timestamp" in out
    assert not (tmp_path / "x.parquet").exists()


def test_a_key_whose_parent_is_not_an_object_is_not_read_as_empty(fitted, tmp_path: Path) -> None:
    """One record with ``"properties": "x"`` makes the keys unreadable, not absent: reading
    them as empty would label every user as if they bought and viewed nothing."""
    model, _, batch, _ = fitted
    records = [json.loads(x) for x in batch.read_text().splitlines()]
    records[3]["properties"] = "x"
    path = write(tmp_path / "text_properties.ndjson", [json.dumps(r) for r in records])
    for engine in ("polars", "duckdb"):
        out = run("assign", model, path, "-o", tmp_path / "x.parquet", "--engine", engine, code=2)
        assert "category" in out
        assert (
            "'properties' is \"x\" in text_properties.ndjson line 4, not an object, so the keys "
            "under it cannot be read"
        ) in " ".join(out.split())
    assert not (tmp_path / "x.parquet").exists()
