"""Checks that need the whole file, not its head: damaged gzip, gzip bombs and stray line ends.

Sniffing reads the first 64 KiB, which cannot tell that a ``.csv.gz`` was cut off halfway, that
it inflates to more than this machine can hold (polars inflates a gzipped CSV in memory), or that
a CSV ends some rows with a lone ``\\r`` (old Mac line ends; polars then glues those rows to
their neighbours and reports nothing). One streaming pass at C speed answers all three; files
holding lone ``\\r`` are copied once, with every ``\\r\\n`` and lone ``\\r`` written as ``\\n``,
into a private temporary folder removed when the process exits, so every line end is a row end
and row numbers still match the original file.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from segtui.errors import InputError

CHUNK = 8 * 1024 * 1024
BOMB_RATIO = 1000
"""A gzip member inflating more than this many times over its size is refused as a bomb
(real event exports inflate 5 to 30 times), once it has inflated past ``BOMB_FLOOR``."""
BOMB_FLOOR = 256 * 1024 * 1024


def gzip_limit() -> int:
    """Largest inflated size read from one gzip file: half of this machine's memory."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 * 1024**3


@dataclass(frozen=True)
class LineEnds:
    """What the whole file holds: its size inflated, and how many rows end in a lone CR."""

    size: int
    lone_cr: int


def _gib(size: int) -> str:
    return f"{size / 1024**3:.1f} GiB"


def _inflate(path: Path, limit: int) -> Iterator[bytes]:
    """The inflated bytes of a gzip file (all members), refusing damage and bombs by name."""
    packed = path.stat().st_size
    out = 0
    inflater: zlib._Decompress | None = None
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            while block:
                if inflater is None:
                    if not block.strip(b"\x00"):
                        break  # zero padding after the last member
                    inflater = zlib.decompressobj(wbits=31)
                try:
                    data = inflater.decompress(block, CHUNK)
                except zlib.error as error:
                    raise InputError(
                        f"the gzip data is damaged after {out:,} bytes inflated ({error})",
                        file=path,
                    ) from error
                out += len(data)
                if out > limit or (out > BOMB_FLOOR and out > BOMB_RATIO * max(packed, 1)):
                    raise InputError(
                        f"the gzip file inflates to more than {_gib(out)} "
                        f"({packed:,} bytes on disk), past what is read into memory "
                        f"({_gib(limit)}, half of this machine's memory)",
                        file=path,
                        hint="Gunzip it to disk first; plain files are read lazily.",
                    )
                yield data
                if inflater.eof:
                    block, inflater = inflater.unused_data, None
                else:
                    block = inflater.unconsumed_tail
    if inflater is not None:
        raise InputError(
            f"the gzip file is cut off: it ends after {out:,} bytes inflated, "
            "before its end marker",
            file=path,
            hint="Copy or download it again.",
        )


def _plain(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            yield block


def _blocks(path: Path, gzipped: bool, limit: int | None) -> Iterator[bytes]:
    try:
        yield from (_inflate(path, limit or gzip_limit()) if gzipped else _plain(path))
    except OSError as error:
        raise InputError(f"cannot read the file ({error.strerror or error})", file=path) from error


def scan_line_ends(path: Path, gzipped: bool, limit: int | None = None) -> LineEnds:
    """Read the whole file once: its inflated size and the count of lone ``\\r`` line ends."""
    size = lone = 0
    pending_cr = False
    for block in _blocks(path, gzipped, limit):
        size += len(block)
        if pending_cr and not block.startswith(b"\n"):
            lone += 1
        cr = block.count(b"\r")
        if cr:
            lone += cr - block.count(b"\r\n") - (1 if block.endswith(b"\r") else 0)
        pending_cr = block.endswith(b"\r")
    return LineEnds(size, lone + (1 if pending_cr else 0))


def _private_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="segtui-lines-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def normalised_copy(path: Path, gzipped: bool, folder: Path | None = None) -> Path:
    """A plain copy of the file with every ``\\r\\n`` and lone ``\\r`` written as ``\\n``.

    The copy lives in a private temporary folder removed when the process exits (or in
    ``folder``); the original is never touched.
    """
    target = (folder or _private_folder()) / (path.name.removesuffix(".gz") or "data.csv")
    pending_cr = False
    try:
        with target.open("wb") as out:
            for block in _blocks(path, gzipped, None):
                if pending_cr and block.startswith(b"\n"):
                    block = block[1:]
                pending_cr = block.endswith(b"\r")
                out.write(block.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
    except OSError as error:
        raise InputError(
            f"cannot make a copy with plain line ends ({error.strerror or error})",
            file=path,
            hint="Convert the line ends first, e.g. `tr '\\r' '\\n' < IN > OUT`.",
        ) from error
    return target
