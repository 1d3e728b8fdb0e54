"""`segtui inspect` through typer's CliRunner: text, JSON, mapping save/reuse, bad input."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from segtui.cli import inspect_cmd
from segtui.errors import InputError

LAYOUTS = Path(__file__).parent / "data" / "layouts"


def make_app() -> typer.Typer:
    app = typer.Typer()
    app.command("inspect")(inspect_cmd.inspect)

    @app.callback()
    def _root() -> None:
        """Keep `inspect` a subcommand."""

    return app


def run(*args: str):
    return CliRunner().invoke(make_app(), ["inspect", *args])


def test_text_output() -> None:
    result = run(str(LAYOUTS / "clickstream.csv"))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "layout: clickstream" in out
    table = [line.split(None, 2) for line in out.splitlines()]
    assert ["ts", "event_time", "preset clickstream"] in table
    assert ["revenue", "(derived)", "price (no quantity column)"] in table
    assert "rows read: 5; kept: 5; left out: 0" in out
    assert "users: 4" in out
    assert "time span: 2019-10-01 00:00:00 to 2019-10-01 00:03:00 UTC" in out
    assert "  product_view                 2" in out
    assert "source columns not used: category_id, brand" in out


def test_json_output_and_left_out_rows() -> None:
    result = run(str(LAYOUTS / "invoice_lines.csv"), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["layout"] == "invoice_lines"
    assert {"canonical": "user_id", "source": "CustomerID", "how": "preset invoice_lines"} in (
        data["mapping"]
    )
    report = data["report"]
    assert (report["rows_read"], report["rows_kept"], report["users"]) == (7, 5, 3)
    (left,) = report["left_out"]
    assert left["count"] == 2 and [e["row"] for e in left["examples"]] == [5, 7]
    assert report["first_ts"] == "2010-12-01T08:26:00+00:00"
    assert report["events_by_type"] == {"purchase": 4, "refund": 1}
    assert any("month first" in d for d in data["decisions"])


def test_map_override_save_and_reuse(tmp_path: Path) -> None:
    saved = tmp_path / "m.toml"
    result = run(
        str(LAYOUTS / "clickstream.csv"),
        "--map",
        "category=category_id",
        "--save-mapping",
        str(saved),
        "--session-gap",
        "45",
    )
    assert result.exit_code == 0, result.output
    assert f"mapping saved to {saved}" in result.output
    assert tomllib.loads(saved.read_text())["columns"]["category"] == "category_id"
    again = run(str(LAYOUTS / "clickstream.csv"), "--mapping", str(saved), "--json")
    data = json.loads(again.output)
    assert {"canonical": "category", "source": "category_id", "how": "mapping file"} in (
        data["mapping"]
    )


def test_day_first_flag_and_strict(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("customer,date,amount\nk,1/2/2024 10:00,4\nk,nope,5\n")
    ok = run(str(path), "--day-first", "--json")
    assert json.loads(ok.output)["report"]["first_ts"] == "2024-02-01T10:00:00+00:00"
    strict = run(str(path), "--strict")
    assert isinstance(strict.exception, InputError)
    assert strict.exception.row == 2 and strict.exception.column == "date"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty"),
        ("uid;when\nx;y\n", "no column for the required 'ts'"),
    ],
)
def test_bad_input_raises_input_error(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = run(str(path))
    assert isinstance(result.exception, InputError)
    assert expected in str(result.exception)
    assert str(path) in str(result.exception)


def test_bad_map_argument() -> None:
    result = run(str(LAYOUTS / "clickstream.csv"), "--map", "ts=nope")
    assert isinstance(result.exception, InputError)
    assert "no column 'nope'" in str(result.exception)


def test_users_table_is_described_not_mapped() -> None:
    """A users table is not an event log with a missing ts: say what it is and what to run."""
    path = LAYOUTS / "users_rfm.csv"
    result = run(str(path))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"source: {path}",
        "this is a users table (one row per customer_id, 3 numeric columns): use segtui "
        "segment/sweep/assign with it",
        "",
        "id column: customer_id (written as user_id in the exports)",
        "users: 5",
        "features (numeric columns): recency, frequency, monetary",
        "columns ignored: country (not numeric), signup_date (not numeric)",
        "note: whole-number columns recency, frequency are read as decimal numbers (float): 164 "
        "becomes 164.0 in the exports",
    ]
    data = json.loads(run(str(path), "--json").output)
    assert (data["kind"], data["id_column"], data["users"]) == ("users_table", "customer_id", 5)
    assert data["features"] == ["recency", "frequency", "monetary"]
    forced = run(str(path), "--map", "ts=signup_date")  # a --map says: read it as events
    assert forced.exit_code == 0, forced.output
    assert "layout: transactions" in forced.output


def test_decimal_comma_and_not_numbers_in_inspect(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("customer_id;order_date;amount\na;2024-01-01;10,50\na;2024-01-02;n/a\n")
    result = run(str(path))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        "  - numbers: decimal comma (values like '10,50' in amount); set decimal = \".\" in a "
        "saved mapping to change it"
    ) in lines
    assert (
        "note: 1 value of 'amount' is not a number, e.g. row 2: 'n/a'; the row is kept with no "
        "revenue"
    ) in lines
