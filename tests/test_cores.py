"""The native thread budget: cores from affinity and cgroup quota, less the load of others; the
person's own variables always win."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from segtui.cores import cgroup_quota, fit_threads, thread_budget, thread_defaults, usable_cores


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "cores"),
    [
        ({"cpu.max": "250000 100000\n"}, 2.5),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "150000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1.5),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({"cpu.max": "garbage"}, None),
        ({}, None),
    ],
)
def test_the_cgroup_quota_is_read_from_v2_or_v1_files(
    tmp_path: Path, files: dict[str, str], cores: float | None
) -> None:
    assert cgroup_quota(_write(tmp_path, files)) == cores


def test_usable_cores_are_the_affinity_capped_by_the_quota_rounded_up() -> None:
    assert usable_cores(affinity=64, quota=2.5) == 3
    assert usable_cores(affinity=2, quota=16.0) == 2
    assert usable_cores(affinity=4, quota=None) == 4
    assert usable_cores(affinity=4, quota=0.2) == 1


def test_the_budget_leaves_out_cores_others_keep_busy() -> None:
    assert thread_budget(2, 0.4) == 2
    assert thread_budget(2, 1.6) == 1
    assert thread_budget(2, 9.0) == 1
    assert thread_budget(8, 2.4) == 6
    assert thread_budget(8, None) == 8


def test_the_persons_variables_win_and_segtui_threads_sets_them_all() -> None:
    assert thread_defaults({"SEGTUI_THREADS": "3"}) == {
        "OMP_NUM_THREADS": "3",
        "OPENBLAS_NUM_THREADS": "3",
        "MKL_NUM_THREADS": "3",
        "POLARS_MAX_THREADS": "3",
    }
    chosen = thread_defaults({"OMP_NUM_THREADS": "7", "SEGTUI_THREADS": "2"})
    assert "OMP_NUM_THREADS" not in chosen and chosen["MKL_NUM_THREADS"] == "2"
    assert thread_defaults({"SEGTUI_THREADS": "many"}) == {}
    defaults = thread_defaults({})
    assert set(defaults) == {
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "POLARS_MAX_THREADS",
    }
    assert 1 <= int(defaults["OMP_NUM_THREADS"]) <= int(defaults["POLARS_MAX_THREADS"])
    assert fit_threads({"OMP_NUM_THREADS": "5"}) == 5
    assert fit_threads({"OMP_NUM_THREADS": "0"}) == usable_cores(quota=cgroup_quota())


def test_the_console_script_sets_the_defaults_before_running_a_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from segtui.cli import run

    monkeypatch.setenv("SEGTUI_THREADS", "1")
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "POLARS_MAX_THREADS",
    ):
        monkeypatch.setenv(name, "")  # recorded, so that the end of the test restores them
        monkeypatch.delenv(name)
    monkeypatch.setattr("sys.argv", ["segtui", "--help"])
    with pytest.raises(SystemExit) as done:
        run()
    assert done.value.code == 0
    assert os.environ["OMP_NUM_THREADS"] == "1" and os.environ["MKL_NUM_THREADS"] == "1"
