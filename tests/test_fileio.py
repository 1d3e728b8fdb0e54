"""Atomic writes leave either the old file or the whole new one, never half."""

from __future__ import annotations

from pathlib import Path

import pytest

from segtui.errors import InputError
from segtui.fileio import atomic_write, write_text_atomic


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
