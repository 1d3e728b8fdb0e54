"""Atomic writes (a crash or an error never leaves half a file where a pipeline will read it),
and the one reader of small text files (models, mappings, feature files, projects)."""

from __future__ import annotations

import contextlib
import functools
import glob
import math
import os
import signal
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import tomli_w

from segtui.errors import InputError

TEMP_SUFFIX = ".tmp"
TEXT_FILE_LIMIT = 256 * 1024 * 1024
"""Largest model, mapping, feature or project file read (a model of 1,000 features with rank
references is a few MB): a bigger one is not one of ours."""
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def special_kind(info: os.stat_result) -> str | None:
    """'a named pipe (FIFO)', 'a folder', ... for what is not a regular file; None for a file."""
    return next((kind for test, kind in _KINDS if test(info.st_mode)), None)


def read_text_file(path: str | Path, what: str, hint: str | None = None) -> str:
    """The UTF-8 text of a small file segtui reads whole (``what``: "model file", ...).

    Refuses, by name and before opening, what would hang or flood a read: a FIFO, a device, a
    socket, a folder, or a file past ``TEXT_FILE_LIMIT``; a missing or unreadable file and
    text that is not UTF-8 are an InputError too (``hint`` goes with the last: damaged text).
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{what} not found", file=path) from None
    except OSError as error:
        raise InputError(f"cannot read the {what} ({error.strerror})", file=path) from None
    kind = special_kind(info)
    if kind is not None:
        raise InputError(f"the {what} is {kind}, not a file", file=path)
    if info.st_size > TEXT_FILE_LIMIT:
        raise InputError(
            f"the {what} is {info.st_size:,} bytes, more than any {what} segtui writes "
            f"({TEXT_FILE_LIMIT:,})",
            file=path,
        )
    try:
        with path.open("rb") as fh:
            data = fh.read(TEXT_FILE_LIMIT + 1)
    except OSError as error:
        raise InputError(f"cannot read the {what} ({error.strerror})", file=path) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"the {what} is not UTF-8 text", file=path, hint=hint) from None


def _temp_prefix(target: Path) -> str:
    """Hidden, named for the target, and carrying the writer's pid (see clean_stale_temps)."""
    return f".{target.name}.segtui-{os.getpid()}-"


def check_writable(path: str | Path) -> Path:
    """Refuse early (before any computation) an output that could not be written.

    The folder must exist and be writable, and the path must not be a folder itself. Called by
    the commands up front, and again by :func:`atomic_write` when the file is written.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(
            "the folder to write into does not exist",
            file=folder,
            hint="Create it or pick another path.",
        )
    if target.is_dir():
        raise InputError("this is a folder, not a file to write", file=target)
    if not os.access(folder, os.W_OK):
        raise InputError("cannot write into this folder (permission denied)", file=folder)
    _probe(folder, target)
    return target


def _probe(folder: Path, target: Path) -> None:
    """Create and remove one of our temp files: the only test that holds for root (to whom
    ``os.access`` says yes everywhere), a read-only mount and places like ``/proc``."""
    try:
        fd, name = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=TEMP_SUFFIX, dir=folder)
    except OSError as error:
        raise InputError(
            f"cannot write a file into {folder} ({error.strerror or error})", file=target
        ) from None
    os.close(fd)
    os.unlink(name)


def same_file(a: str | Path, b: str | Path) -> bool:
    """True when both paths name one file (by device and inode: links and symlinks too)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refuse_overwriting_inputs(outputs: Sequence[str | Path | None], inputs: Sequence[Path]) -> None:
    """An output that is one of the inputs would destroy what is being read: refuse it."""
    for output in outputs:
        if output is None:
            continue
        for source in inputs:
            if same_file(output, source):
                raise InputError(
                    "the output would overwrite an input file",
                    file=output,
                    hint=f"It is the same file as the input {source}; write somewhere else.",
                )


def clean_stale_temps(folder: Path, name: str) -> list[Path]:
    """Remove our hidden temporary files for ``name`` whose writing process is gone.

    A run killed mid-write (SIGKILL, a lost SSH session) leaves its ``.NAME.segtui-PID-*.tmp``
    behind; the next write of the same file removes it. A temp file of a process still running
    (a concurrent run) is left alone.
    """
    removed = []
    for candidate in folder.glob(f".{glob.escape(name)}.segtui-*-*{TEMP_SUFFIX}"):
        pid = _pid_of(candidate.name, name)
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        with contextlib.suppress(OSError):
            candidate.unlink()
            removed.append(candidate)
    return removed


def _pid_of(temp_name: str, name: str) -> int | None:
    rest = temp_name[len(f".{name}.segtui-") :]
    pid, sep, _ = rest.partition("-")
    return int(pid) if sep and pid.isdigit() and len(pid) < 12 else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    The temporary file lives in the same folder so the final ``os.replace`` is atomic on POSIX.
    On any exception the temporary file is removed and ``path`` is left as it was. An operating
    system error while writing (a full disk, a read-only file system) is an InputError naming
    the file, not a traceback.
    """
    target = check_writable(path)
    folder = target.parent if str(target.parent) else Path(".")
    clean_stale_temps(folder, target.name)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=TEMP_SUFFIX, dir=folder)
    except OSError as error:
        raise InputError(f"cannot write here ({error.strerror})", file=target) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        _flush_to_disk(tmp)
        os.chmod(tmp, _default_mode())
        _fault_point(target)
        os.replace(tmp, target)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(error, OSError) and not isinstance(error, FileNotFoundError):
            raise InputError(
                f"could not write the file ({error.strerror or error})", file=target
            ) from None
        raise


KILL_BEFORE_RENAME = "SEGTUI_TEST_KILL_BEFORE_RENAME"
"""Test hook: a file name; the process SIGKILLs itself just before renaming that file into
place. The kill tests use it to stop an export at each point between its renames."""


def _fault_point(target: Path) -> None:
    if os.environ.get(KILL_BEFORE_RENAME) == target.name:
        os.kill(os.getpid(), signal.SIGKILL)


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
