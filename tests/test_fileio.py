"""Atomic writes leave either the old file or the whole new one, never half."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from segtui.errors import InputError
from segtui.fileio import (
    atomic_write,
    check_writable,
    refuse_overwriting_inputs,
    write_text_atomic,
)


def test_atomic_write_replaces_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_write_into_missing_folder_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "out.txt"
    with pytest.raises(InputError) as info, atomic_write(missing):
        pass
    assert "nope" in str(info.value)
    assert "does not exist" in str(info.value)


def test_atomic_write_gives_the_usual_file_mode(tmp_path: Path) -> None:
    import os

    target = tmp_path / "out.txt"
    write_text_atomic(target, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_killed_writers_temp_file_is_cleaned_by_the_next_write(tmp_path: Path) -> None:
    """A temp file whose process is gone is removed; one of a live process is left alone."""
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".out.txt.segtui-{dead_pid}-abc.tmp"
    stale.write_text("half a file")
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        concurrent = tmp_path / f".out.txt.segtui-{live.pid}-def.tmp"
        concurrent.write_text("being written")
        other = tmp_path / f".other.txt.segtui-{dead_pid}-ghi.tmp"
        other.write_text("another file's")
        write_text_atomic(tmp_path / "out.txt", "new")
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names == sorted(["out.txt", concurrent.name, other.name])
    finally:
        live.kill()
        live.wait()


def test_temp_file_names_carry_the_pid(tmp_path: Path) -> None:
    import os

    with atomic_write(tmp_path / "x.parquet") as tmp:
        assert tmp.name.startswith(f".x.parquet.segtui-{os.getpid()}-")
        assert tmp.name.endswith(".tmp")


def test_writing_over_a_folder_or_an_unwritable_place_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "sub"
    folder.mkdir()
    with pytest.raises(InputError, match="is a folder"):
        check_writable(folder)
    with pytest.raises(InputError, match=r"could not write|cannot write|permission"):
        write_text_atomic("/proc/segtui-test.txt", "x")


def test_disk_errors_while_writing_are_input_errors_and_leave_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(InputError) as info, atomic_write(target):
        raise OSError(28, "No space left on device")
    assert "No space left on device" in str(info.value) and "out.txt" in str(info.value)
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    assert target.read_text() == "old"


def test_an_output_that_is_an_input_is_refused_by_inode(tmp_path: Path) -> None:
    source = tmp_path / "events.csv"
    source.write_text("user_id\n1\n")
    link = tmp_path / "link.csv"
    link.symlink_to(source)
    hard = tmp_path / "hard.csv"
    hard.hardlink_to(source)
    for output in (source, link, hard, tmp_path / "." / "events.csv"):
        with pytest.raises(InputError, match="overwrite an input"):
            refuse_overwriting_inputs([output], [source])
    refuse_overwriting_inputs([tmp_path / "new.parquet", None], [source])
    assert source.read_text() == "user_id\n1\n"


@pytest.mark.parametrize(
    ("reader", "what"),
    [
        ("segtui.artifacts.model:read_model", "model file"),
        ("segtui.ingest.mapping:load_mapping", "mapping file"),
        ("segtui.features.files:load_feature_file", "feature file"),
        ("segtui.artifacts.project:load_project", "project file"),
    ],
)
def test_small_files_that_would_hang_or_flood_are_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str, what: str
) -> None:
    import importlib

    module, name = reader.split(":")
    read = getattr(importlib.import_module(module), name)
    suffix = ".toml" if what in ("mapping file", "feature file") else ".json"
    fifo = tmp_path / f"pipe{suffix}"
    os.mkfifo(fifo)
    with pytest.raises(InputError) as info:
        read(fifo)  # would block forever if it were opened
    assert f"the {what} is a named pipe (FIFO), not a file" in str(info.value)
    folder = tmp_path / f"folder{suffix}"
    folder.mkdir()
    with pytest.raises(InputError, match="is a folder, not a file"):
        read(folder)
    big = tmp_path / f"big{suffix}"
    big.write_text("x" * 100)
    monkeypatch.setattr("segtui.fileio.TEXT_FILE_LIMIT", 10)
    with pytest.raises(InputError, match="100 bytes, more than any"):
        read(big)
    with pytest.raises(InputError, match="not found"):
        read(tmp_path / f"absent{suffix}")
