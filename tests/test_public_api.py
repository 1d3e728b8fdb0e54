"""The small public Python API: every name resolves, none shadows a subpackage, loading is lazy."""

from __future__ import annotations

import subprocess
import sys

import segtui

SUBPACKAGES = (
    "ingest",
    "features",
    "clustering",
    "segments",
    "artifacts",
    "pipeline",
    "cli",
    "app",
)


def test_every_public_name_resolves() -> None:
    for name in segtui.__all__:
        assert getattr(segtui, name) is not None, name


def test_no_public_name_shadows_a_subpackage() -> None:
    assert not set(segtui.__all__) & set(SUBPACKAGES)


def test_importing_segtui_loads_neither_polars_nor_sklearn() -> None:
    code = (
        "import sys, segtui\n"
        "heavy = [m for m in ('polars', 'sklearn', 'numpy', 'textual') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        segtui.no_such_thing  # noqa: B018
    except AttributeError as error:
        assert "no_such_thing" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_readme_example_runs(tmp_path) -> None:
    """The Python example in the README, on a small planted log: the same verbs, real output."""
    import polars as pl

    users = pl.DataFrame(
        {
            "user_id": [f"u{i:03d}" for i in range(60)],
            "orders": [1.0] * 30 + [9.0] * 30,
            "visits": [2.0 + i % 3 for i in range(30)] + [20.0 + i % 3 for i in range(30)],
        }
    )
    path = tmp_path / "users.csv"
    users.write_csv(path)
    data = segtui.load_users([path])
    prep = segtui.PrepSpec.for_data(data)
    run = segtui.segment(data.users, prep, segtui.FitSpec(params={"k": 2}))
    labels = run.segmentation.labels(run.users)
    assert sorted(labels.tolist()) == [0] * 30 + [1] * 30
    assert labels[:30].tolist() != labels[30:].tolist()
    written = segtui.export(
        segtui.ExportTarget(tmp_path / "segments.parquet"), run.fitted(), data.provenance
    )
    again = segtui.assign(written.model, [path])
    assert again["segment_id"].to_list() == labels.tolist()


def test_version_flag_prints_the_version() -> None:
    from typer.testing import CliRunner

    from segtui.cli.main import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"segtui {segtui.__version__}"


def test_exit_codes(monkeypatch, capsys) -> None:
    """2 for bad input with the paragraph on stderr, 130 for Ctrl-C; the README lists both."""
    import pytest

    from segtui.cli import main

    def bad() -> None:
        raise segtui.InputError("no such file or folder", file="nope.csv")

    def interrupted() -> None:
        raise KeyboardInterrupt

    for raiser, code, text in ((bad, 2, "nope.csv: no such file"), (interrupted, 130, "interr")):
        monkeypatch.setattr(main, "app", raiser)
        with pytest.raises(SystemExit) as info:
            main.run()
        assert info.value.code == code
        assert text in capsys.readouterr().err


def test_version_is_answered_before_the_data_stack_is_imported() -> None:
    code = (
        "import sys\n"
        "sys.argv = ['segtui', '--version']\n"
        "from segtui.cli import run\n"
        "run()\n"
        "print(','.join(m for m in ('polars', 'numpy', 'pyarrow', 'typer') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [f"segtui {segtui.__version__}", ""]
