"""Atomic writes: a crash or an error never leaves half a file where a pipeline will read it."""

from __future__ import annotations

import contextlib
import functools
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import tomli_w

from segtui.errors import InputError


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    The temporary file lives in the same folder so the final ``os.replace`` is atomic on POSIX.
    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.exists():
        raise InputError(
            "the folder to write into does not exist",
            file=folder,
            hint="Create it or pick another path.",
        )
    if not os.access(folder, os.W_OK):
        raise InputError("cannot write into this folder (permission denied)", file=folder)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        _flush_to_disk(tmp)
        os.chmod(tmp, _default_mode())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _flush_to_disk(path: Path) -> None:
    """fsync the finished file before the rename: a power cut must not leave an empty file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.cache
def _default_mode() -> int:
    """The mode ``open()`` would give a new file: 0666 less the umask (mkstemp gives 0600).

    Read once: ``os.umask`` can only be read by setting it, which races with other threads.
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a small text file (JSON, TOML) atomically."""
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def toml_text(data: Mapping[str, Any], *, header: str | None = None) -> str:
    """The one TOML writer (mappings, feature files): tomli-w's escaping, an optional comment.

    Non-finite floats are refused (TOML has ``inf``/``nan`` but a reader of ours would not accept
    them back as a mapping or a declaration).
    """
    _check_finite(data)
    text = tomli_w.dumps(data)
    return text if header is None else f"# {header}\n{text}"


def _check_finite(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"cannot write {item} to TOML")
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
