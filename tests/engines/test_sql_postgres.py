"""PostgreSQL's SQL run on a real PostgreSQL: polars' reading and features, `assign`'s labels.

One server for the session (:mod:`tests.engines.postgres_server`, skipped with the reason where
PostgreSQL or psycopg is missing). Raw CSV files go in as the README says, every column TEXT
through ``COPY``; the reading must give the canonical events polars gives (every layout
fixture, and text and numbers built to sit on chrono's and fast-float's edges), and the scoring
SQL must give `assign`'s label on every user: K-Means with every edit (merge, split, rename,
rule segments) after a Yeo-Johnson power, a Gaussian mixture, the clickstream and invoice
layouts (text timestamps in month-first slashes, refunds), and a users table. The BigQuery and
Snowflake texts (transpiled by sqlglot) are checked to parse in their dialects.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from segtui.artifacts.assign import assign
from segtui.artifacts.model import read_model
from segtui.artifacts.score_sql import scoring_sql
from segtui.cli.main import app
from segtui.cli.options import parse_as_of
from segtui.ingest.events import LoadOptions, load_events
from segtui.ingest.pg_parse import parse_timestamp, to_bigint, to_double
from segtui.ingest.read_sql import read_sql
from segtui.ingest.sources import open_source
from segtui.ingest.timestamps import _NAIVE, _OFFSET, _SLASH_DMY, _SLASH_MDY, _YYYYMMDD
from segtui.pipeline import UsersData, load_users
from segtui.sample import write_sample

from .postgres_server import start_server
from .test_scoring_sql import FEATURES, every_edit, export, preparations

pytestmark = pytest.mark.xdist_group("postgres")

LAYOUTS = Path(__file__).resolve().parents[1] / "data" / "layouts"
EVENT_LAYOUTS = sorted(p for p in LAYOUTS.iterdir() if p.name != "users_rfm.csv")
_TYPES = {pl.String: "TEXT", pl.Float64: "DOUBLE PRECISION", pl.Int64: "BIGINT"}


@pytest.fixture(scope="session")
def pg() -> Iterator[object]:
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (the test extra)")
    for server in start_server():
        con = psycopg.connect(
            host=str(server.folder), port=server.port, user=server.user, dbname="postgres"
        )
        con.autocommit = True
        con.execute("SET TimeZone = 'UTC'")
        yield con
        con.close()


def load_frame(con, name: str, frame: pl.DataFrame) -> None:
    """A table holding the frame, its types as PostgreSQL's (text stays text)."""
    con.execute(f"DROP TABLE IF EXISTS {name}")
    columns = ", ".join(f'"{c}" {_TYPES[t]}' for c, t in frame.schema.items())
    con.execute(f"CREATE TABLE {name} ({columns})")
    with con.cursor().copy(f"COPY {name} FROM STDIN") as copy:
        for row in frame.iter_rows():
            copy.write_row(row)


def load_csv(con, name: str, path: Path) -> None:
    """The README's way: a table of TEXT columns named by the header, then COPY the file."""
    with path.open(newline="") as f:
        header = next(csv.reader(f))
    con.execute(f"DROP TABLE IF EXISTS {name}")
    columns = ", ".join('"' + c.replace('"', '""') + '" TEXT' for c in header)
    con.execute(f"CREATE TABLE {name} ({columns})")
    with con.cursor().copy(f"COPY {name} FROM STDIN (FORMAT csv, HEADER true)") as copy:
        copy.write(path.read_bytes())


def query(con, sql: str) -> pl.DataFrame:
    cursor = con.execute(sql)
    names = [d.name for d in cursor.description]
    rows = [tuple(row) for row in cursor.fetchall()]
    return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)


def raw_relation(path: Path) -> pl.DataFrame:
    raw = open_source([path]).frame.collect()
    return raw.drop([c for c in raw.columns if c.startswith("__")])


TIMES = [
    "2024-01-02 03:04:05", "2024-1-2 3:4:5", "24-01-02 03:04:05", "+2024-01-02 03:04:05",
    "-2024-01-02 03:04:05", "02024-01-02 03:04:05", "2024-01-02  03:04:05", "2024-01-0203:04:05",
    "2024-01- 2 03:04:05", "2024-01-02\u00a003:04:05", "2024-01-02 03:04:60", "2024-01-02 03:04:61",
    "2024-01-02 24:00:00", "2024-02-29 00:00:00", "2023-02-29 00:00:00", "1900-02-29 00:00:00",
    "2000-02-29 00:00:00", "0000-02-29 00:00:00", "2024-04-31 00:00:00", "2024-001-02 03:04:05",
    "2024-01-02T03:04:05Z", "2024-01-02T03:04:05z", "2024-01-02t03:04:05Z", "2024-01-02T03:04:05",
    "2024-01-02 03:04:05 UTC", "2024-01-02 03:04:05 utc", "2024-01-02 03:04:05UTC",
    "2024-01-02T03:04:05.1", "2024-01-02T03:04:05.123456789", "2024-01-02T03:04:05.",
    "2024-01-02T03:04:05,1", "1969-12-31T23:59:59.9999999", "2024-01-02T03:04:60.5",
    "2024-01-02T03:04:05+02:00", "2024-01-02T03:04:05+0200", "2024-01-02T03:04:05+02",
    "2024-01-02T03:04:05+2", "2024-01-02T03:04:05+02:0", "2024-01-02T03:04:05+020",
    "2024-01-02T03:04:05+02:", "2024-01-02T03:04:05+02 : 00", "2024-01-02T03:04:05-00:30",
    "2024-01-02T03:04:05\u221202:00", "2024-01-02T03:04:05+24:00", "2024-01-02T03:04:05+23:59",
    "2024-01-02T03:04:05+02:60", "2024-01-02T03:04:05 Z", "2024-01-02T03:04:05.5+02:00",
    "2024-01-02T03:04+02:00", "2024-01-02T03:04", "20240102", "2024012", "202411", "2024112",
    "1/2/2024 3:04", "01/02/2024 03:04", "13/2/2024 3:04", "2/13/2024", "1/2/2024 3:04:05",
    "13/2/2024 3:04:05", "13/2/2024", "2024-01-02 03:04:05.5+02:00", "2024-01-02 03:04:05.5 UTC",
    "2024-01-02 03:04", "2024-1-2", "2024-01-02", "2024-01-02T03:04:05.1234567891",
    "2024-01-02 03:04:05.123456789012", "1969-12-31T23:59:59.99999999999999999999",
    "2024-01-02T03:04:05.9999999999Z", "2024-01-02T03:04:05.0000009999+02:00",
    "2024-01-02 03:04:05.1234567891-02:00", "2024-01-02 03:04:05.1234567891 UTC",
]  # fmt: skip


def test_text_times_read_as_chrono_reads_them(pg) -> None:
    """Every value through every form segtui decides: the same instant, or null, as polars."""
    frame = pl.DataFrame({"i": range(len(TIMES)), "t": TIMES})
    load_frame(pg, "times", frame)
    for form in (*_OFFSET, *_NAIVE, *_SLASH_MDY, *_SLASH_DMY, _YYYYMMDD):
        zone = {"time_zone": "UTC"} if form.has_offset else {}
        parsed = frame["t"].str.to_datetime(form.fmt, strict=False, time_unit="us", **zone)
        ours = parsed.dt.epoch("us").to_list()
        sql = f"EXTRACT(EPOCH FROM {parse_timestamp('t', form.fmt)}) * 1000000"
        theirs = query(pg, f"SELECT CAST({sql} AS BIGINT) AS us FROM times ORDER BY i")["us"]
        assert theirs.to_list() == ours, form.fmt
        assert 0 < sum(v is not None for v in ours) < len(TIMES)


NUMBERS = [
    "1.", ".5", "+1", "1e5", "1E+05", "-.5e-3", "1.e3", "00012", "0.1", "-0", "inf", "NaN",
    "1_000", "0x10", "1.5e", ".e3", "++1", "1,5", "1e400", "1e-400", "5e-324",
    "1.7976931348623157e308", "1.7976931348623159e308", "123456789012345678901234567890",
    "9223372036854775807", "9223372036854775808", "-9223372036854775808", "3.14159265358979323846",
]  # fmt: skip


def test_numbers_read_as_polars_reads_them(pg) -> None:
    frame = pl.DataFrame({"i": range(len(NUMBERS)), "t": NUMBERS})
    load_frame(pg, "numbers", frame)
    floats = frame["t"].cast(pl.Float64, strict=False)
    floats = pl.select(pl.when(floats.is_finite()).then(floats)).to_series()
    theirs = query(
        pg, f"SELECT {to_double('t')} AS f, {to_bigint('t')} AS n FROM numbers ORDER BY i"
    )
    assert theirs["f"].to_list() == floats.to_list()
    assert theirs["n"].to_list() == frame["t"].cast(pl.Int64, strict=False).to_list()


def assert_reads_the_same(pg, path: Path, options: LoadOptions | None = None) -> pl.DataFrame:
    loaded = load_events([path], options)
    assert loaded.read_plan is not None
    ours = loaded.events.collect()
    load_frame(pg, "raw_events", raw_relation(path))
    theirs = query(pg, read_sql(loaded.read_plan, dialect="postgres"))
    assert theirs.columns == ours.columns, path.name
    theirs = theirs.cast(dict(ours.schema))  # type: ignore[arg-type]
    assert_frame_equal(
        theirs.sort(theirs.columns), ours.sort(ours.columns), check_exact=False, rel_tol=1e-9
    )
    return ours


def test_every_layout_fixture_reads_the_same_in_postgres(pg, tmp_path: Path) -> None:
    for path in EVENT_LAYOUTS:
        assert assert_reads_the_same(pg, path).height > 0, path.name
    events = write_sample(tmp_path, 60, seed=2).events_path
    no_sessions = tmp_path / "no_sessions.csv"
    pl.read_csv(events).drop("session_id").write_csv(no_sessions)
    ours = assert_reads_the_same(pg, no_sessions, LoadOptions(session_gap_minutes=20))
    assert ours["session_id"].n_unique() > 60


def test_raw_rows_to_features_in_postgres_alone(pg) -> None:
    from segtui.features.compile import compute_features
    from segtui.features.generated import offered_specs
    from segtui.features.selection import available_features
    from segtui.features.sql import feature_sql

    from .test_feature_sql import assert_same_features

    for path in EVENT_LAYOUTS:
        loaded = load_events([path])
        assert loaded.read_plan is not None
        specs = offered_specs(loaded.events, (), loaded.source)
        offered, _ = available_features(specs, loaded.columns)
        ours = compute_features(loaded.events, offered)
        relation = f"({read_sql(loaded.read_plan, dialect='postgres')}) AS canonical"
        load_frame(pg, "raw_events", raw_relation(path))
        theirs = query(pg, feature_sql(offered, loaded.columns, "postgres", relation))
        theirs = theirs.cast({c: ours.schema[c] for c in theirs.columns})  # type: ignore[arg-type]
        assert_same_features(ours, theirs)


@pytest.fixture(scope="module")
def events_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("events"), 150, seed=11).events_path


@pytest.fixture(scope="module")
def data(events_csv: Path) -> UsersData:
    return load_users([events_csv])


def assert_assigns_labels(pg, model_path: Path, files: list[Path], relation: str) -> pl.DataFrame:
    model = read_model(model_path)
    load_csv(pg, relation, files[0])
    labels = query(pg, scoring_sql(model, "postgres", relation))
    expected = assign(model, files).select("user_id", "segment_id", "segment")
    assert labels.columns == ["user_id", "segment_id", "segment"]
    assert labels.cast(dict(expected.schema)).equals(expected)  # type: ignore[arg-type]
    return labels


@pytest.fixture(scope="module")
def kmeans_model(data: UsersData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """K-Means after a Yeo-Johnson power, with a merge, a split, a rename and two rules."""
    folder = tmp_path_factory.mktemp("kmeans")
    export(data, folder, preparations(data)["yeo-johnson"], "kmeans", every_edit)
    return folder / "segments.model.json"


def test_kmeans_with_every_edit_after_a_power_transform(
    pg, kmeans_model: Path, events_csv: Path
) -> None:
    labels = assert_assigns_labels(pg, kmeans_model, [events_csv], "raw_events")
    assert {"Merged", "It's \\ [/]renamed", "Many purchases", "Carts"} <= set(labels["segment"])


def test_a_gaussian_mixture_scores_its_most_likely_component(
    pg, data: UsersData, events_csv: Path, tmp_path: Path
) -> None:
    prep = preparations(data)["family-weights"]
    export(data, tmp_path, prep, "gmm", every_edit, covariance_type="full")
    labels = assert_assigns_labels(pg, tmp_path / "segments.model.json", [events_csv], "raw_events")
    assert labels["segment"].n_unique() >= 4


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("layout", ["clickstream", "invoice"])
def test_the_printed_sql_labels_a_sampled_layout_as_assign_does(
    pg, tmp_path: Path, layout: str
) -> None:
    """`segtui sql --dialect postgres` on the layouts' own raw files (text times with a UTC
    suffix; month-first slashes, refunds and derived revenue), with a rule segment."""
    train = tmp_path / "train.csv"
    run("sample", "-n", "150", "--seed", "4", "--layout", layout, "-o", str(train))
    out = tmp_path / "seg.parquet"
    rule = "Big spenders: revenue > 300"
    run("segment", str(train), "-k", "3", "-o", str(out), "--no-stability", "--rule", rule)
    model = tmp_path / "seg.model.json"
    load_csv(pg, "raw_events", train)
    labels = query(pg, run("sql", str(model), "--dialect", "postgres"))
    expected = assign(read_model(model), [train]).select(labels.columns)
    assert labels.cast(dict(expected.schema)).equals(expected)  # type: ignore[arg-type]
    assert "Big spenders" in set(labels["segment"]) and labels["segment"].n_unique() >= 3
    if layout == "invoice":  # --as-of: events after it left out, in SQL as in assign
        ts = load_events([train]).events.select("ts").collect()["ts"]
        day = ts.dt.date().sort()[ts.len() // 2].isoformat()
        before = query(pg, run("sql", str(model), "--dialect", "postgres", "--as-of", day))
        expected = assign(read_model(model), [train], as_of=parse_as_of(day))
        expected = expected.select(before.columns)
        assert before.cast(dict(expected.schema)).equals(expected)  # type: ignore[arg-type]
        assert before.height < labels.height or not before.equals(labels)


def test_a_users_table_model_reads_raw_users(pg, tmp_path: Path) -> None:
    table = LAYOUTS / "users_rfm.csv"
    run("segment", str(table), "-k", "2", "-o", str(tmp_path / "u.parquet"), "--no-stability")
    model = tmp_path / "u.model.json"
    printed = run("sql", str(model), "--dialect", "postgres")
    assert "raw_users" in printed
    load_csv(pg, "raw_users", table)
    labels = query(pg, printed)
    expected = assign(read_model(model), [table]).select(labels.columns)
    assert labels.cast(dict(expected.schema)).equals(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize("dialect", ["bigquery", "snowflake"])
def test_warehouse_dialects_parse_there_and_refuse_raw_rows(
    kmeans_model: Path, dialect: str
) -> None:
    """sqlglot's BigQuery and Snowflake text over canonical events parses in that dialect and
    returns the three columns; raw rows are refused with the reason (no server here)."""
    import sqlglot

    model = kmeans_model
    printed = run("sql", str(model), "--dialect", dialect, "--canonical", "--relation", "events")
    tree = sqlglot.parse_one(printed, read=dialect)
    assert tree.named_selects == ["user_id", "segment_id", "segment"]
    assert not list(tree.find_all(sqlglot.exp.Anonymous))
    features = run("sql", str(model), "--dialect", dialect, "--canonical", "--features-only")
    assert sqlglot.parse_one(features, read=dialect).named_selects == ["user_id", *FEATURES]
    refused = CliRunner().invoke(app, ["sql", str(model), "--dialect", dialect])
    assert refused.exit_code == 2
    assert f"scoring SQL for {dialect} reads canonical events, not raw rows" in refused.stderr


def test_postgres_refuses_names_it_would_cut_and_text_it_cannot_hold() -> None:
    """PostgreSQL cuts names past 63 bytes (two features could become one column) and its text
    cannot hold NUL: both refused by name, where DuckDB takes them."""
    from segtui.errors import InputError
    from segtui.sqltext import quote, string

    assert quote("é" * 31, "postgres") == '"' + "é" * 31 + '"'  # 62 bytes
    with pytest.raises(InputError, match="longer than PostgreSQL's 63 bytes"):
        quote("é" * 32, "postgres")
    with pytest.raises(InputError, match="NUL character"):
        string("a\x00b", "postgres")
    assert string("a\x00b") == "('a' || chr(0) || 'b')"
