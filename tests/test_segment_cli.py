"""`segtui segment`, `sweep` and `assign` through typer's CliRunner: output, files, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from segtui.cli import segment_cmd
from segtui.errors import InputError
from segtui.sample import generate


def make_app() -> typer.Typer:
    app = typer.Typer()
    app.command("segment")(segment_cmd.segment)
    app.command("sweep")(segment_cmd.sweep)
    app.command("assign")(segment_cmd.assign)
    return app


def run(*args: str):
    return CliRunner().invoke(make_app(), [str(a) for a in args])


@pytest.fixture(scope="module")
def events_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    events, _ = generate(200, seed=7)
    path = tmp_path_factory.mktemp("cli") / "events.csv"
    events.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    return path


def test_segment_writes_files_and_prints_profiles(events_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "segments.parquet"
    result = run("segment", events_csv, "-k", "4", "-o", out, "--csv", "--seed", "1")
    assert result.exit_code == 0, result.output
    text = result.output
    assert "K-Means, 4 segments" in text
    assert "id  name" in text and "top traits" in text
    assert "silhouette" in text and "Davies-Bouldin" in text
    assert "wrote 200 users in 4 segments" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "segments.csv",
        "segments.model.json",
        "segments.parquet",
    ]
    frame = pl.read_parquet(out)
    assert frame.columns[:3] == ["user_id", "segment", "segment_id"]
    assert frame.columns[-2:] == ["pc1", "pc2"]
    assert frame["segment_id"].n_unique() == 4


def test_segment_json_rules_and_features(events_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.parquet"
    result = run(
        "segment",
        events_csv,
        "--features",
        "events,purchases,revenue",
        "-k",
        "3",
        "--rule",
        "Buyers: purchases >= 3",
        "--model",
        tmp_path / "my.model.json",
        "-o",
        out,
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["features"] == ["events", "purchases", "revenue"]
    assert data["params"]["k"] == 3
    assert data["files"]["model"] == str(tmp_path / "my.model.json")
    rule = [s for s in data["segments"] if s["name"] == "Buyers"]
    assert rule and rule[0]["kind"] == "rule" and rule[0]["id"] == 3
    frame = pl.read_parquet(out)
    assert frame.columns == [
        "user_id",
        "segment",
        "segment_id",
        "events",
        "purchases",
        "revenue",
        "pc1",
        "pc2",
    ]
    assert (frame.filter(pl.col("purchases") >= 3)["segment"] == "Buyers").all()


def test_a_rule_keeps_its_name_when_a_clustered_segment_has_it(
    events_csv: Path, tmp_path: Path
) -> None:
    args = ["segment", events_csv, "--features", "events,purchases,revenue", "-k", "3", "--json"]
    first = json.loads(run(*args, "-o", tmp_path / "a.parquet").output)
    taken = first["segments"][0]["name"]
    result = run(*args, "-o", tmp_path / "b.parquet", "--rule", f"{taken}: purchases >= 3")
    assert result.exit_code == 0, result.output
    names = {s["name"]: s["kind"] for s in json.loads(result.output)["segments"]}
    assert names[taken] == "rule"
    assert names[f"{taken} (clustered)"] != "rule"
    rules = ["--rule", "A: events > 1", "--rule", "A: events > 2"]
    twice = run(*args, "-o", tmp_path / "c.parquet", *rules)
    assert isinstance(twice.exception, InputError) and "already used" in str(twice.exception)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--features", "events"], "fewer than two usable features"),
        (["--features", "events,purchses"], "did you mean 'purchases'"),
        (["--param", "n_init"], "not name=value"),
        (["--param", "bogus=1"], "has no parameter 'bogus'"),
        (["--algo", "dbscan", "-k", "3"], "has no k"),
        (["--rule", "Big: purchases >>= 3"], "expected"),
        (["--rule", "Big: purchses > 3"], "purchases"),
        (["--rule", "no colon"], "not 'NAME: EXPR'"),
        (["--fill", "recency_days"], "not name=value"),
        (["--fill", "recency_days=maxx"], "'maxx' is not a fill; did you mean 'max'?"),
        (["--fill", "recency_dayz=max"], "Did you mean 'recency_days'?"),
        (["--weighting", "fam"], "Use one of: within-segment, time-position, family, none."),
    ],
)
def test_bad_input_writes_nothing(events_csv: Path, tmp_path: Path, args, message: str) -> None:
    result = run("segment", events_csv, "-o", tmp_path / "s.parquet", *args)
    assert isinstance(result.exception, InputError), result.output
    assert message in result.exception.describe()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("weighting", ["none", "within-segment"])
def test_weighting_is_what_the_model_records(
    events_csv: Path, tmp_path: Path, weighting: str
) -> None:
    out = tmp_path / "s.parquet"
    result = run("segment", events_csv, "-k", "3", "-o", out, "--weighting", weighting)
    assert result.exit_code == 0, result.output
    prepare = json.loads(out.with_suffix(".model.json").read_text())["prepare"]
    assert prepare["weighting"] == weighting
    weights = {f.get("weight", 1.0) for f in prepare["features"]}
    assert (weights == {1.0}) == (weighting == "none")
    assert ("features weighted by how tightly" in result.output) == (weighting != "none")


def test_k_larger_than_users_table(tmp_path: Path) -> None:
    table = tmp_path / "rfm.csv"
    table.write_text("customer_id,r,f\nc1,1,2\nc2,3,1\nc3,5,5\n", encoding="utf-8")
    out = tmp_path / "s.parquet"
    result = run("segment", table, "-k", "4", "-o", out)
    assert isinstance(result.exception, InputError), result.output
    assert "k = 4 is larger than the number of users (3)" in result.exception.message
    assert not out.exists()
    result = run("segment", table, "-k", "2", "-o", out)
    assert result.exit_code == 0, result.output
    assert "users table: 3 users, id column 'customer_id'" in result.output
    assert pl.read_parquet(out)["user_id"].to_list() == ["c1", "c2", "c3"]


def test_output_must_be_parquet(events_csv: Path, tmp_path: Path) -> None:
    result = run("segment", events_csv, "-o", tmp_path / "s.csv")
    assert isinstance(result.exception, InputError)
    assert "must end in .parquet" in result.exception.message


def test_sweep_table_and_json(events_csv: Path) -> None:
    result = run("sweep", events_csv, "--k", "2..4")
    assert result.exit_code == 0, result.output
    assert "K-Means sweep" in result.output
    assert "suggested k:" in result.output
    lines = [line.split()[0] for line in result.output.splitlines() if line[:1].isdigit()]
    assert lines == ["2", "3", "4"]
    data = json.loads(run("sweep", events_csv, "--k", "2,4", "--json").output)
    assert [row["k"] for row in data["rows"]] == [2, 4]
    assert data["suggested_k"] in (2, 4)
    assert data["reason"]


@pytest.mark.parametrize(
    ("args", "shown", "hidden"),
    [
        (["--algo", "kmeans", "-k", "3"], ["inertia"], ["BIC", "noise"]),
        (["--algo", "gmm", "-k", "3"], ["BIC"], ["inertia"]),
        (["--algo", "dbscan"], [], ["inertia", "BIC"]),
        (["--algo", "hdbscan", "--param", "min_cluster_size=10"], [], ["inertia", "BIC"]),
    ],
)
def test_segment_shows_only_the_scores_of_its_algorithm(
    events_csv: Path, tmp_path: Path, args: list[str], shown: list[str], hidden: list[str]
) -> None:
    result = run("segment", events_csv, "-o", tmp_path / "s.parquet", *args)
    assert result.exit_code == 0, result.output
    block = result.output.split("diagnostics:\n", 1)[1].split("\nnote:", 1)[0].split("\n\n")[0]
    labels = [line.split()[0] for line in block.splitlines()]
    assert labels[:3] == ["silhouette", "Davies-Bouldin", "Calinski-Harabasz"]
    assert all(label in labels for label in shown)
    assert not any(label in labels for label in hidden)
    data = json.loads(
        run("segment", events_csv, "-o", tmp_path / "j.parquet", *args, "--json").output
    )
    assert (data["diagnostics"]["inertia"] is None) == ("inertia" in hidden)
    assert (data["diagnostics"]["bic"] is None) == ("BIC" in hidden)


def test_sweep_times_each_k_without_the_warm_up(events_csv: Path) -> None:
    data = json.loads(run("sweep", events_csv, "--k", "2..3", "--json").output)
    assert data["warmup_seconds"] > 0
    assert all(row["seconds"] > 0 for row in data["rows"])


@pytest.mark.parametrize("bad", ["12..2", "x", ","])
def test_sweep_bad_range(events_csv: Path, bad: str) -> None:
    result = run("sweep", events_csv, "--k", bad)
    assert isinstance(result.exception, InputError)
    assert "is not a range of k" in result.exception.message


@pytest.mark.parametrize("ks", ["0..3", "1..4", "1,3"])
def test_sweep_starts_at_two(events_csv: Path, ks: str) -> None:
    result = run("sweep", events_csv, "--k", ks)
    assert isinstance(result.exception, InputError)
    assert result.exception.message == "k must be at least 2: one segment is everyone"


def test_segment_refuses_one_segment(events_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "one.parquet"
    result = run("segment", events_csv, "-o", out, "-k", "1")
    assert isinstance(result.exception, InputError)
    assert result.exception.message == "k must be at least 2: one segment is everyone"
    assert not out.exists() and not (tmp_path / "one.model.json").exists()


def test_sweep_rejects_density(events_csv: Path) -> None:
    result = run("sweep", events_csv, "--algo", "hdbscan")
    assert isinstance(result.exception, InputError)
    assert "has no k to sweep" in result.exception.message


def test_assign_round_trip(events_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "segments.parquet"
    assert run("segment", events_csv, "-k", "3", "-o", out).exit_code == 0
    labels = tmp_path / "labels.parquet"
    result = run("assign", tmp_path / "segments.model.json", events_csv, "-o", labels)
    assert result.exit_code == 0, result.output
    assert "labelled 200 users" in result.output
    expected = pl.read_parquet(out).select("user_id", "segment", "segment_id")
    assert pl.read_parquet(labels).equals(expected)
    # the segments parquet works as the model too, and CSV output by suffix
    csv = tmp_path / "labels.csv"
    assert run("assign", out, events_csv, "-o", csv, "--json").exit_code == 0
    assert pl.read_csv(csv)["segment_id"].to_list() == expected["segment_id"].to_list()


def test_assign_says_when_it_detects_the_mapping_again(events_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "segments.parquet"
    assert run("segment", events_csv, "-k", "3", "-o", out).exit_code == 0
    renamed = tmp_path / "renamed.csv"
    pl.read_csv(events_csv).rename({"user_id": "customer_id", "ts": "timestamp"}).write_csv(renamed)
    labels = tmp_path / "labels.parquet"
    result = run("assign", tmp_path / "segments.model.json", renamed, "-o", labels)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("note: ")
    assert "so the mapping was detected again on them" in result.output
    expected = pl.read_parquet(out).select("user_id", "segment", "segment_id")
    assert pl.read_parquet(labels).equals(expected)


def test_assign_bad_models(events_csv: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "bad.model.json"
    corrupt.write_text('{"format": "segtui.model", "schema_version": 1}', encoding="utf-8")
    plain = tmp_path / "plain.parquet"
    pl.DataFrame({"user_id": ["a"]}).write_parquet(plain)
    out = tmp_path / "labels.parquet"
    for model, message in (
        (corrupt, "model key 'source' is missing"),
        (plain, "no segtui model in its metadata"),
        (tmp_path / "none.model.json", "not found"),
    ):
        result = run("assign", model, events_csv, "-o", out)
        assert isinstance(result.exception, InputError), result.output
        assert message in result.exception.describe()
    assert not out.exists()


def test_fill_option_overrides_the_declared_fill(events_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.parquet"
    base = ["segment", events_csv, "--features", "events,purchases,recency_days", "-k", "3"]
    result = run(*base, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    notes = [m for m in json.loads(result.output)["messages"] if m.startswith("'recency_days'")]
    assert len(notes) == 1
    assert " with no purchases (" in notes[0]
    assert ") set to the longest recency seen, " in notes[0] and notes[0].endswith(" days")
    model = json.loads((tmp_path / "s.model.json").read_text(encoding="utf-8"))
    fills = {f["name"]: f["fill"] for f in model["prepare"]["features"]}
    assert fills == {"events": "median", "purchases": "median", "recency_days": "max"}
    recency = model["prepare"]["features"][2]
    assert recency["impute"] == pl.read_parquet(out)["recency_days"].max()

    result = run(*base, "-o", out, "--fill", "recency_days=median", "--fill", "events=zero")
    assert result.exit_code == 0, result.output
    assert "'recency_days': " in result.output and "set to the median, " in result.output
    model = json.loads((tmp_path / "s.model.json").read_text(encoding="utf-8"))
    fills = {f["name"]: f["fill"] for f in model["prepare"]["features"]}
    assert fills == {"events": "zero", "purchases": "median", "recency_days": "median"}

    result = run(
        "sweep",
        events_csv,
        "--features",
        "events,recency_days",
        "--k",
        "2,3",
        "--fill",
        "recency_days=zero",
        "--json",
    )
    assert result.exit_code == 0, result.output
    messages = json.loads(result.output)["messages"]
    assert any(m.startswith("'recency_days'") and "set to 0: " in m for m in messages)


def test_segment_shows_stability_records_it_and_no_stability_removes_it(
    events_csv: Path, tmp_path: Path
) -> None:
    from segtui.artifacts.model import read_model

    out = tmp_path / "s.parquet"
    result = run("segment", events_csv, "-k", "3", "-o", out)
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.startswith("id  name"))
    assert "stability" in header
    assert "bootstrap refits on 200 users (clusterboot)" in result.output
    assert "chosen automatically" not in result.output  # -k 3 forces k
    for source in (tmp_path / "s.model.json", out):  # the parquet metadata holds the model
        model = read_model(source)
        section = model.data["stability"]
        assert section["method"] == "clusterboot" and section["fits"] == 20
        assert section["sample_users"] == 200 and section["k_choice"] is None
        values = [s["stability"] for s in model.data["segments"]]
        assert all(v is not None and 0 <= v <= 1 for v in values)
        assert {s["stability_class"] for s in model.data["segments"]} <= {
            "dissolved",
            "weak",
            "fair",
            "stable",
        }
    plain = tmp_path / "p.parquet"
    result = run("segment", events_csv, "-k", "3", "-o", plain, "--no-stability")
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.startswith("id  name"))
    assert "stability" not in header and "clusterboot" not in result.output
    model = read_model(tmp_path / "p.model.json")
    assert "stability" not in model.data
    assert all("stability" not in s for s in model.data["segments"])


def test_segment_chooses_k_by_default_and_says_why(events_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.parquet"
    result = run("segment", events_csv, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    choice = data["k_choice"]
    assert choice["k"] == data["params"]["k"] == len(data["segments"])
    assert [s["k"] for s in choice["scores"]] == list(range(2, 11))
    assert f"k={choice['k']}" in choice["reason"]
    text = run("segment", events_csv, "-o", tmp_path / "b.parquet").output
    assert f"k = {choice['k']} chosen automatically: " in text
    assert "k scan on 200 users" in text
    picked = next(s for s in choice["scores"] if s["k"] == choice["k"])
    assert 0 < picked["null_silhouette"] < picked["silhouette"]  # the reference has no groups
    assert picked["separation"] == max(s["separation"] for s in choice["scores"] if s["holds"])
    row = next(line for line in text.splitlines() if line.startswith(f"  {choice['k']:>3}*"))
    assert row.split()[1:4] == [
        f"{picked['silhouette']:.2f}",
        f"{picked['null_silhouette']:.2f}",
        f"{picked['separation']:.2f}",
    ]


def test_k_auto_refused_without_k_and_bad_k(events_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.parquet"
    result = run("segment", events_csv, "--algo", "dbscan", "-k", "auto", "-o", out)
    assert isinstance(result.exception, InputError) and "has no k" in str(result.exception)
    result = run("segment", events_csv, "-k", "six", "-o", out)
    assert isinstance(result.exception, InputError)
    assert "not a number of segments" in str(result.exception)


def test_a_model_with_bad_stability_is_refused(events_csv: Path, tmp_path: Path) -> None:
    from segtui.artifacts.model import parse_model

    out = tmp_path / "s.parquet"
    assert run("segment", events_csv, "-k", "3", "-o", out).exit_code == 0
    data = json.loads((tmp_path / "s.model.json").read_text())
    data["segments"][0]["stability"] = 1.5
    with pytest.raises(InputError, match="stability"):
        parse_model(data)
    old = json.loads((tmp_path / "s.model.json").read_text())
    old.pop("stability")
    for seg in old["segments"]:
        for key in ("stability", "stability_class", "flags"):
            seg.pop(key)
    assert parse_model(old).segment_names  # a model from before stability still loads
