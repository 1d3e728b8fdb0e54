"""`segtui features` through typer's CliRunner: output files, selection, as-of, --list, errors."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from segtui.cli import features_cmd
from segtui.errors import InputError
from segtui.features.catalog import CATALOG

LOG = """\
user_id,ts,event,session_id,order_id,category,price,quantity
u2,2024-03-01T12:00:00Z,add_to_cart,b1,,shoes,50.0,1
u1,2024-01-06T23:00:00Z,page_view,a1,,books,10.0,
u1,2024-01-06T23:10:00Z,product_view,a1,,books,20.0,
u2,2024-03-03T09:10:00Z,purchase,b3,o1,shoes,50.0,2
u3,2024-03-04T10:00:00Z,purchase,c1,,toys,5.0,1
"""
# Columns the log has no source for: their features are left out.
LEFT_OUT = {"avg_duration_s", "total_duration_s", "avg_scroll_depth", "deep_scroll_share"}
LEFT_OUT |= {"distinct_items"}
# Generated from the log: per event name by users (purchase: 2 users, then the 1-user names in
# sorted order; every count is a catalog feature already), per category (1 user each, sorted).
GENERATED = [
    *(
        f"event_{e}_{k}"
        for e in ("purchase", "add_to_cart", "page_view", "product_view")
        for k in ("share", "per_session")
    ),
    "top_category_share",
    "category_books_share",
    "category_shoes_share",
    "category_toys_share",
]


def make_app() -> typer.Typer:
    app = typer.Typer()
    app.command("features")(features_cmd.features)

    @app.callback()
    def _root() -> None:
        """Keep `features` a subcommand."""

    return app


def run(*args: str):
    return CliRunner().invoke(make_app(), ["features", *args])


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    path.write_text(LOG, encoding="utf-8")
    return path


def test_writes_every_available_feature_sorted_by_user(log: Path, tmp_path: Path) -> None:
    out = tmp_path / "features.parquet"
    result = run(str(log), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "rows read: 5; kept: 5; left out: 0" in result.output
    width = len(CATALOG) - len(LEFT_OUT) + len(GENERATED)
    assert f"wrote 3 users x {width} features to {out}" in result.output
    assert "left out 5 feature(s) the data cannot give: avg_duration_s" in result.output
    table = pl.read_parquet(out)
    catalog = [s.name for s in CATALOG if s.name not in LEFT_OUT]
    assert table.columns == ["user_id", *catalog, *GENERATED]
    assert table["user_id"].to_list() == ["u1", "u2", "u3"]
    rows = {r["user_id"]: r for r in table.iter_rows(named=True)}
    assert rows["u1"]["events"] == 2
    assert rows["u1"]["weekend_share"] == 1.0  # 2024-01-06 is a Saturday
    assert rows["u2"]["revenue"] == 100.0  # price x quantity, derived by loading
    assert rows["u2"]["orders"] == 1
    assert rows["u2"]["cart_abandonment"] == 1.0  # the cart session b1 has no purchase
    assert rows["u3"]["orders"] == 1  # a purchase with no order id is its own order
    assert rows["u3"]["days_since_last_event"] == 0.0
    assert rows["u2"]["recency_days"] == pytest.approx(
        (24 + 50 / 60) / 24
    )  # 09:10 -> 10:00 a day later


def test_chosen_features_in_order_to_csv(log: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.csv"
    result = run(str(log), "-o", str(out), "--features", "revenue, events")
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines() == [
        "user_id,revenue,events",
        "u1,0.0,2",
        "u2,100.0,2",
        "u3,5.0,1",
    ]


def test_as_of_date_is_midnight_utc_and_drops_later_events(log: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.parquet"
    result = run(
        str(log), "-o", str(out), "--as-of", "2024-03-02", "--features", "events,tenure_days"
    )
    assert result.exit_code == 0, result.output
    table = pl.read_parquet(out)
    assert table.rows() == [("u1", 2, pytest.approx(55 + 1 / 24)), ("u2", 1, 0.5)]


def test_parquet_input(log: Path, tmp_path: Path) -> None:
    source = tmp_path / "events.parquet"
    pl.read_csv(log).write_parquet(source)
    out = tmp_path / "f.parquet"
    result = run(str(source), "-o", str(out), "--features", "purchases,orders")
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out).rows() == [("u1", 0, 0), ("u2", 1, 1), ("u3", 1, 1)]


def test_feature_file_adds_features(log: Path, tmp_path: Path) -> None:
    spec = tmp_path / "mine.toml"
    spec.write_text(
        '[[feature]]\nname = "cheap_buys"\nfamily = "value"\n'
        'description = "purchases under 10"\nkind = "count"\nevents = ["purchase"]\n'
        'where = [{column = "price", op = "<", value = 10}]\n',
        encoding="utf-8",
    )
    out = tmp_path / "f.parquet"
    result = run(str(log), "-o", str(out), "--feature-file", str(spec))
    assert result.exit_code == 0, result.output
    table = pl.read_parquet(out)
    assert table.columns[-1] == "cheap_buys"
    assert table["cheap_buys"].to_list() == [0, 0, 1]


def test_list_without_data_lists_everything_by_family() -> None:
    result = run("--list")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith(f"{len(CATALOG)} features (give a data path")
    for family in ("activity:", "engagement:", "funnel:", "value:", "interest:", "time:"):
        assert f"\n{family}\n" in out
    assert " *recency_days" in out
    assert "if none: null (no purchases); clustering fills nulls with the largest value" in out
    assert "if none: null (no add to cart); clustering fills nulls with 0" in out
    assert "LEFT OUT" not in out


def test_list_with_data_says_what_is_left_out_and_why(log: Path) -> None:
    result = run(str(log), "--list")
    assert result.exit_code == 0, result.output
    out = result.output
    offered, declared = len(CATALOG) - len(LEFT_OUT), len(CATALOG)
    offered, declared = offered + len(GENERATED), declared + len(GENERATED)
    assert out.startswith(f"{offered} of {declared} features available")
    assert f"{len(GENERATED)} of them generated from the data" in out
    assert (
        "generated from the data: event 'purchase': 2 users, the most common of 4 event names "
        "(its count is the built-in 'purchases')" in out
    )
    assert "left out on this data:\n" in out
    assert "  distinct_items: needs column 'item_id', not in the data" in out
    assert "  avg_scroll_depth: needs column 'scroll_depth', not in the data" in out


def test_list_json(log: Path) -> None:
    result = run(str(log), "--list", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    by_name = {f["name"]: f for f in data["features"]}
    assert by_name["distinct_items"]["available"] is False
    assert by_name["distinct_items"]["left_out"] == "needs column 'item_id', not in the data"
    assert by_name["recency_days"]["when_missing"] is None
    assert by_name["recency_days"]["why_missing"] == "no purchases"
    assert by_name["events"]["when_missing"] == 0.0


def error_of(result) -> str:
    assert isinstance(result.exception, InputError), result.output
    return str(result.exception)


def test_unknown_feature_names_the_closest(log: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.parquet"
    message = error_of(run(str(log), "-o", str(out), "--features", "events,revenu"))
    assert "unknown feature 'revenu'; did you mean 'revenue'?" in message
    assert not out.exists()


def test_left_out_feature_asked_for_says_why(log: Path, tmp_path: Path) -> None:
    message = error_of(
        run(str(log), "-o", str(tmp_path / "f.parquet"), "--features", "distinct_items")
    )
    assert "feature 'distinct_items' cannot be computed on this data" in message
    assert "needs column 'item_id'" in message


def test_bad_as_of_output_and_missing_arguments(log: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "f.parquet")
    assert "--as-of 'yesterday' is not a date" in error_of(
        run(str(log), "-o", out, "--as-of", "yesterday")
    )
    assert "say where to write" in error_of(run(str(log)))
    assert "must end in .parquet or .csv" in error_of(run(str(log), "-o", str(tmp_path / "f.txt")))
    assert "no event files given" in error_of(run("-o", out))


def test_a_failed_run_leaves_an_existing_output_alone(log: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.parquet"
    out.write_bytes(b"old")
    error_of(run(str(log), "-o", str(out), "--features", "nope"))
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".f.parquet")] == []


def test_users_table_is_refused_with_what_to_run(tmp_path: Path) -> None:
    path = Path(__file__).parent / "data" / "layouts" / "users_rfm.csv"
    result = run(str(path), "-o", str(tmp_path / "f.parquet"))
    assert isinstance(result.exception, InputError)
    assert str(result.exception) == (
        f"{path}: this is a users table (one row per customer_id, 3 numeric columns): use segtui "
        "segment/sweep/assign with it. `segtui features` computes features from events; the "
        "table's numeric columns are the features already (`segtui inspect` lists them)."
    )
    assert not (tmp_path / "f.parquet").exists()


def test_as_of_before_the_first_event_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(LOG)
    result = run(str(path), "-o", str(tmp_path / "f.parquet"), "--as-of", "2023-12-31")
    assert isinstance(result.exception, InputError)
    assert result.exception.message == (
        "--as-of 2023-12-31 is before the first event (2024-01-06 23:00:00 UTC), so no event "
        "would be counted"
    )
