"""The sample generator: seeded, chunk-independent, planted groups recoverable, layouts exact."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import typer
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

from segtui import sample
from segtui.cli import sample_cmd
from segtui.errors import InputError
from segtui.sample import GROUP_NAMES, LAYOUT_COLUMNS, generate, write_sample

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"
# How sample_data/ was made (also in sample_data/README.md): seed 0 and these user counts.
BUNDLED = {
    "events.csv": ("canonical", 2500, "truth.csv"),
    "clickstream_sample.csv": ("clickstream", 120, "clickstream_sample_truth.csv"),
    "invoices_sample.csv": ("invoice", 1000, "invoices_sample_truth.csv"),
}
CANONICAL_TYPES = {
    "user_id": pl.Utf8,
    "ts": pl.Utf8,
    "event": pl.Utf8,
    "session_id": pl.Utf8,
    "order_id": pl.Utf8,
    "category": pl.Utf8,
    "item_id": pl.Utf8,
    "price": pl.Float64,
    "quantity": pl.Float64,
    "duration_s": pl.Float64,
    "scroll_depth": pl.Float64,
}
CLICKSTREAM_TYPES = {
    "event_time": pl.Utf8,
    "event_type": pl.Utf8,
    "product_id": pl.Int64,
    "category_id": pl.Int64,
    "category_code": pl.Utf8,
    "brand": pl.Utf8,
    "price": pl.Float64,
    "user_id": pl.Int64,
    "user_session": pl.Utf8,
}
INVOICE_TYPES = {
    "InvoiceNo": pl.Utf8,
    "StockCode": pl.Utf8,
    "Description": pl.Utf8,
    "Quantity": pl.Int64,
    "InvoiceDate": pl.Utf8,
    "UnitPrice": pl.Float64,
    "CustomerID": pl.Int64,
    "Country": pl.Utf8,
}
TYPES = {"canonical": CANONICAL_TYPES, "clickstream": CLICKSTREAM_TYPES, "invoice": INVOICE_TYPES}


@pytest.fixture(scope="module")
def big() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The bundled sample's frames (2500 users, seed 0), generated once for the module."""
    return generate(2500, seed=0)


def _per_user(events: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Rough per-user aggregates, independent of segtui.features.compile."""
    e = pl.col("event")
    ref = events["ts"].max()
    sessions = events.group_by("user_id", "session_id").agg(
        cart=(e == "add_to_cart").any(), bought=(e == "purchase").any()
    )
    abandon = sessions.group_by("user_id").agg(
        abandoned=(pl.col("cart") & ~pl.col("bought")).sum(), carts=pl.col("cart").sum()
    )
    per_user = events.group_by("user_id").agg(
        events=pl.len(),
        sessions=pl.col("session_id").n_unique(),
        page_views=(e == "page_view").sum(),
        product_views=(e == "product_view").sum(),
        searches=(e == "search").sum(),
        add_to_cart=(e == "add_to_cart").sum(),
        checkouts=(e == "checkout").sum(),
        purchases=(e == "purchase").sum(),
        units=pl.col("quantity").filter(e == "purchase").sum(),
        refunds=(e == "refund").sum(),
        orders=pl.col("order_id").filter(e == "purchase").n_unique(),
        revenue=(pl.col("price") * pl.col("quantity")).filter(e == "purchase").sum(),
        avg_price=pl.col("price").filter(e == "purchase").mean(),
        view_price=pl.col("price").filter(e == "product_view").mean(),
        winter_share=pl.col("ts").dt.month().is_in([12, 1, 2]).mean(),
        days_since_last=(ref - pl.col("ts").max()).dt.total_seconds() / 86400,
    )
    return (
        per_user.join(abandon, on="user_id")
        .with_columns(
            cart_abandonment=pl.when(pl.col("carts") > 0).then(
                pl.col("abandoned") / pl.col("carts")
            )
        )
        .join(truth, on="user_id", how="right")
        .sort("user_id")
    )


# --- determinism -----------------------------------------------------------------------------


def test_same_seed_gives_identical_output() -> None:
    events_a, truth_a = generate(300, seed=7)
    events_b, truth_b = generate(300, seed=7)
    assert events_a.equals(events_b)
    assert truth_a.equals(truth_b)


def test_different_seeds_differ() -> None:
    events_a, truth_a = generate(300, seed=1)
    events_b, truth_b = generate(300, seed=2)
    assert not events_a.equals(events_b)
    assert not truth_a["group"].equals(truth_b["group"])


def test_chunked_writing_matches_one_chunk(tmp_path: Path) -> None:
    for layout in sample.LAYOUTS:
        one = write_sample(
            tmp_path / f"one-{layout}", 2300, seed=3, layout=layout, chunk_users=5000
        )
        many = write_sample(
            tmp_path / f"many-{layout}", 2300, seed=3, layout=layout, chunk_users=1000
        )
        assert one.events == many.events
        assert one.events_path.read_bytes() == many.events_path.read_bytes()
        assert one.truth_path.read_bytes() == many.truth_path.read_bytes()


def test_written_canonical_matches_generate(tmp_path: Path) -> None:
    events, truth = generate(1200, seed=5)
    written = write_sample(tmp_path, 1200, seed=5, chunk_users=1000)
    assert written.events == events.height
    assert written.events_path == tmp_path / "events.csv"
    assert written.truth_path == tmp_path / "truth.csv"
    back = pl.read_csv(written.events_path, schema=CANONICAL_TYPES)
    expected = events.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert back.equals(expected)
    assert pl.read_csv(written.truth_path).equals(truth)


# --- the planted groups ----------------------------------------------------------------------


def test_all_groups_present_with_sensible_sizes(big: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    _, truth = big
    assert truth.height == 2500
    assert truth["user_id"].n_unique() == 2500
    sizes = dict(truth.group_by("group").len().iter_rows())
    assert set(sizes) == set(GROUP_NAMES)
    for spec in sample.GROUPS:
        share = sizes[spec.name] / truth.height
        assert abs(share - spec.share) < 0.03, (spec.name, share)


def test_every_user_has_events(big: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    events, truth = big
    assert set(events["user_id"].unique()) == set(truth["user_id"])


def test_group_behaviors_hold(big: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    users = _per_user(*big)
    by = {name: users.filter(pl.col("group") == name) for name in GROUP_NAMES}

    # browsers: many views, never a purchase, an order or a checkout
    browsers = by["browsers"]
    assert browsers["purchases"].sum() == 0
    assert browsers["checkouts"].sum() == 0
    assert browsers["refunds"].sum() == 0
    assert (browsers["add_to_cart"] == 0).mean() > 0.9
    assert browsers["page_views"].median() > 2 * by["cart_abandoners"]["page_views"].median()

    # one-time buyers: exactly one order each, no refunds, gone for months by the end
    once = by["one_time_buyers"]
    assert once["orders"].to_list() == [1] * once.height
    assert once["refunds"].sum() == 0
    assert once["days_since_last"].min() > 60

    # winter shoppers: most events in Dec-Feb; nobody else is
    assert by["winter_shoppers"]["winter_share"].mean() > 0.8
    for name in ("browsers", "cart_abandoners", "bargain_hunters", "one_time_buyers"):
        assert by[name]["winter_share"].mean() < 0.35, name

    # cart abandoners: many cart adds, nearly every cart abandoned
    abandoners = by["cart_abandoners"]
    assert abandoners["add_to_cart"].median() >= 5
    assert abandoners["cart_abandonment"].median() == 1.0
    assert abandoners["orders"].mean() < 0.5

    # loyal premium buyers: frequent, expensive, recent
    loyal = by["loyal_premium"]
    bargain = by["bargain_hunters"]
    assert loyal["orders"].median() >= 4
    assert loyal["avg_price"].median() > 5 * bargain["avg_price"].median()
    assert loyal["revenue"].median() > 3 * by["winter_shoppers"]["revenue"].median()
    assert loyal["days_since_last"].median() < 30

    # bargain hunters: many cheap purchases, many searches, cheap browsing
    assert bargain["orders"].median() >= 3
    assert bargain["units"].median() > 1.5 * loyal["units"].median()
    assert bargain["searches"].median() > 2 * loyal["searches"].median()
    assert bargain["view_price"].median() < 0.5 * users["view_price"].median()


def test_kmeans_recovers_planted_groups(big: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    users = _per_user(*big)
    logged = [
        "events", "sessions", "page_views", "product_views", "searches", "add_to_cart",
        "checkouts", "purchases", "orders", "revenue", "avg_price", "view_price",
    ]  # fmt: skip
    plain = ["winter_share", "days_since_last", "cart_abandonment"]
    matrix = users.select(
        *[pl.col(c).fill_null(0).log1p() for c in logged],
        *[pl.col(c).fill_null(pl.col(c).median()) for c in plain],
    ).to_numpy()
    labels = KMeans(6, n_init=10, random_state=0).fit_predict(
        StandardScaler().fit_transform(matrix)
    )
    ari = adjusted_rand_score(users["group"].to_numpy(), labels)
    assert ari >= 0.8
    assert ari < 0.99  # overlapping, not trivially separable


# --- event structure -------------------------------------------------------------------------


def test_events_are_canonical_and_consistent(big: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    events, _ = big
    assert events.columns == list(LAYOUT_COLUMNS["canonical"])
    assert events.schema["ts"] == pl.Datetime("us", "UTC")
    assert set(events["event"].unique()) == set(sample.EVENTS)
    assert events.select(pl.col("ts").min()).item() >= datetime(2024, 3, 1, tzinfo=UTC)
    assert events.select(pl.col("ts").max()).item() < datetime(2025, 3, 1, tzinfo=UTC)
    # sorted by user then time
    assert events.equals(events.sort("user_id", "ts", maintain_order=True))
    e = pl.col("event")
    checks = events.select(
        orders_on_orders=(
            pl.col("order_id").is_not_null() == e.is_in(["purchase", "refund"])
        ).all(),
        items=(pl.col("item_id").is_not_null() == pl.col("price").is_not_null()).all(),
        views=(pl.col("duration_s").is_not_null() == e.is_in(["page_view", "product_view"])).all(),
        scroll=pl.col("scroll_depth").is_between(0, 1).all(),
        qty=(pl.col("quantity").is_not_null() == pl.col("quantity").gt(0)).all(),
        prices=(pl.col("price") > 0).all(),
    ).row(0, named=True)
    assert all(checks.values()), checks
    # a refund refers to an order the same user placed earlier
    orders = events.filter(e == "purchase").group_by("user_id", "order_id").agg(pl.col("ts").max())
    refunds = events.filter(e == "refund").join(orders, on=["user_id", "order_id"], how="left")
    assert refunds.height > 0
    assert (refunds["ts"] > refunds["ts_right"]).all()


def test_sessions_follow_the_30_minute_rule(big: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    events, _ = big
    gaps = events.with_columns(
        gap=(pl.col("ts") - pl.col("ts").shift(1).over("user_id")).dt.total_seconds(),
        new=pl.col("session_id") != pl.col("session_id").shift(1).over("user_id"),
    ).drop_nulls("gap")
    assert gaps.filter(~pl.col("new"))["gap"].max() < 30 * 60
    assert gaps.filter(pl.col("new"))["gap"].min() > 30 * 60
    # sessions are contiguous per user and numbered in time order
    per_user = events.group_by("user_id").agg(
        pl.col("session_id").n_unique().alias("n"),
        (pl.col("session_id") != pl.col("session_id").shift(1)).sum().alias("changes"),
    )
    assert (per_user["changes"] == per_user["n"] - 1).all()


def test_custom_time_range() -> None:
    events, _ = generate(200, seed=0, start=date(2023, 11, 1), end=date(2024, 1, 31))
    assert events["ts"].min() >= datetime(2023, 11, 1, tzinfo=UTC)
    assert events["ts"].max() < datetime(2024, 2, 1, tzinfo=UTC)


# --- layouts and formats ---------------------------------------------------------------------


@pytest.mark.parametrize("layout", sample.LAYOUTS)
def test_layout_writes_exactly_its_header_and_parseable_values(tmp_path: Path, layout: str) -> None:
    written = write_sample(tmp_path, 400, seed=0, layout=layout)
    assert written.events_path.name == f"{sample.LAYOUT_STEMS[layout]}.csv"
    header = written.events_path.read_text(encoding="utf-8").splitlines()[0]
    assert header == ",".join(LAYOUT_COLUMNS[layout])
    frame = pl.read_csv(written.events_path, schema=TYPES[layout])
    assert frame.height == written.events > 0
    truth = pl.read_csv(written.truth_path)
    assert truth.columns == ["user_id", "group"]
    assert truth.height == 400

    if layout == "canonical":
        ts = frame["ts"].str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%SZ")
        assert ts.null_count() == 0
        assert frame["ts"].str.contains(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").all()
        assert frame.filter(pl.col("event") == "purchase")["order_id"].null_count() == 0
        assert frame.filter(pl.col("event") == "page_view")["order_id"].null_count() > 0
        assert set(truth["user_id"]) == set(frame["user_id"])
    elif layout == "clickstream":
        assert frame["event_time"].str.contains(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$").all()
        ts = frame["event_time"].str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S UTC")
        assert ts.null_count() == 0
        assert set(frame["event_type"].unique()) == {"view", "cart", "remove_from_cart", "purchase"}
        assert frame["category_code"].str.contains(r"^[a-z]+\.[a-z]+$").all()
        assert (
            frame["user_session"].str.contains(r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$").all()
        )
        assert frame["brand"].null_count() > 0  # some products have no brand, as in the real data
        assert set(frame["user_id"]) <= set(truth["user_id"])
    else:
        assert frame["InvoiceDate"].str.contains(r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d$").all()
        ts = frame["InvoiceDate"].str.strptime(pl.Datetime("us"), "%m/%d/%Y %H:%M")
        assert ts.null_count() == 0
        refunds = frame.filter(pl.col("InvoiceNo").str.starts_with("C"))
        assert refunds.height > 0
        assert (refunds["Quantity"] < 0).all()
        sales = frame.filter(~pl.col("InvoiceNo").str.starts_with("C"))
        assert (sales["Quantity"] > 0).all()
        assert sales["InvoiceNo"].str.contains(r"^\d+$").all()
        missing = frame.filter(pl.col("CustomerID").is_null())
        assert 0 < missing.height < 0.05 * frame.height
        # an invoice is one order of one customer at one moment
        per_invoice = frame.group_by("InvoiceNo").agg(
            pl.col("CustomerID").n_unique(), pl.col("InvoiceDate").n_unique()
        )
        assert (per_invoice["CustomerID"] == 1).all()
        assert (per_invoice["InvoiceDate"] == 1).all()
        assert set(frame["CustomerID"].drop_nulls()) <= set(truth["user_id"])


def test_formats_hold_the_same_rows(tmp_path: Path) -> None:
    plain = write_sample(tmp_path / "plain", 300, seed=2)
    gz = write_sample(tmp_path / "gz", 300, seed=2, fmt="csv.gz")
    parquet = write_sample(tmp_path / "pq" / "events.parquet", 300, seed=2)
    assert gz.events_path.name == "events.csv.gz"
    assert parquet.fmt == "parquet"
    assert parquet.truth_path == tmp_path / "pq" / "events_truth.csv"
    assert gzip.decompress(gz.events_path.read_bytes()) == plain.events_path.read_bytes()
    from_parquet = pl.read_parquet(parquet.events_path)
    assert from_parquet.schema["ts"] == pl.Datetime("us", "UTC")
    assert from_parquet.equals(generate(300, seed=2)[0])


def test_file_path_output_names_the_truth_beside_it(tmp_path: Path) -> None:
    written = write_sample(tmp_path / "click.csv", 50, layout="clickstream")
    assert written.events_path == tmp_path / "click.csv"
    assert written.truth_path == tmp_path / "click_truth.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["click.csv", "click_truth.csv"]


# --- bad input and atomic writes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"users": 0}, "at least 1"),
        ({"users": 10, "layout": "ga4"}, "unknown sample layout"),
        ({"users": 10, "fmt": "xlsx"}, "unknown sample format"),
    ],
)
def test_bad_options_raise_input_error(tmp_path: Path, kwargs: dict, words: str) -> None:
    with pytest.raises(InputError, match=words):
        write_sample(tmp_path, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_suffix_and_format_must_agree(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="says parquet"):
        write_sample(tmp_path / "events.parquet", 10, fmt="csv")


def test_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("keep me", encoding="utf-8")
    with pytest.raises(InputError, match="not a folder"):
        write_sample(blocker, 10)
    assert blocker.read_text(encoding="utf-8") == "keep me"


def test_a_failure_midway_leaves_no_partial_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = sample._layout_frame
    calls = {"n": 0}

    def failing(*args: object, **kwargs: object) -> pl.DataFrame:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sample, "_layout_frame", failing)
    with pytest.raises(InputError, match="disk full"):  # a disk error is the person's to fix
        write_sample(tmp_path, 2500, chunk_users=1000)
    assert list(tmp_path.iterdir()) == []


def test_time_range_too_short() -> None:
    with pytest.raises(InputError, match="at least 7 days"):
        generate(10, start=date(2024, 1, 1), end=date(2024, 1, 3))


# --- the bundled sample ----------------------------------------------------------------------


def test_bundled_sample_is_small() -> None:
    total = sum(p.stat().st_size for p in SAMPLE_DATA.iterdir() if p.is_file())
    assert total < 10 * 1024 * 1024


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_sample_matches_the_generator(tmp_path: Path, name: str) -> None:
    layout, users, truth_name = BUNDLED[name]
    written = write_sample(tmp_path / name, users, seed=0, layout=layout)
    schema = TYPES[layout]
    assert pl.read_csv(SAMPLE_DATA / name, schema=schema).equals(
        pl.read_csv(written.events_path, schema=schema)
    )
    assert pl.read_csv(SAMPLE_DATA / truth_name).equals(pl.read_csv(written.truth_path))


def test_bundled_truth_matches_bundled_events() -> None:
    truth = pl.read_csv(SAMPLE_DATA / "truth.csv")
    events = pl.read_csv(SAMPLE_DATA / "events.csv", columns=["user_id"])
    assert truth.columns == ["user_id", "group"]
    assert set(truth["user_id"]) == set(events["user_id"].unique())
    assert set(truth["group"]) == set(GROUP_NAMES)


# --- CLI -------------------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("sample")(sample_cmd.sample)
    app.callback()(lambda: None)
    return app


def test_cli_writes_and_reports(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(), ["sample", "--users", "120", "-o", str(tmp_path / "s"), "--seed", "4"]
    )
    assert result.exit_code == 0, result.output
    assert "120 users" in result.output
    assert str(tmp_path / "s" / "events.csv") in result.output
    assert str(tmp_path / "s" / "truth.csv") in result.output
    for name in GROUP_NAMES:
        assert name in result.output
    events, _ = generate(120, seed=4)
    assert f"{events.height:,} events" in result.output


def test_cli_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(),
        ["sample", "-n", "60", "-o", str(tmp_path / "x.parquet"), "--layout", "invoice", "--json"],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["format"] == "parquet"
    assert payload["layout"] == "invoice"
    assert payload["users"] == 60
    assert sum(payload["groups"].values()) == 60
    frame = pl.read_parquet(payload["events_path"])
    assert frame.columns == list(LAYOUT_COLUMNS["invoice"])
    assert frame.height == payload["events"]


def test_cli_bad_layout_is_an_input_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["sample", "-o", str(tmp_path), "--layout", "nope"])
    assert isinstance(result.exception, InputError)


def test_unit_hash_is_uniform() -> None:
    u = sample._unit(np.arange(100_000), 3)
    assert u.min() >= 0.0
    assert u.max() < 1.0
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert counts.min() > 9_500 and counts.max() < 10_500


def test_a_sample_that_would_not_fit_on_disk_is_refused_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil as shutil_mod
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil_mod, "disk_usage", lambda _: usage(10**9, 10**9 - 10**6, 10**6))
    with pytest.raises(InputError, match=r"only 0\.0 GB is free"):
        write_sample(tmp_path / "out", 100_000, seed=0)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match="more than segtui's sample generator makes"):
        write_sample(tmp_path / "out", 10**12, seed=0)
