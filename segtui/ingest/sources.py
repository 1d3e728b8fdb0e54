"""Find the event files, tell what format they are in, and scan them lazily.

Nothing here reads a whole file: the format, the delimiter, gzip and the column names are sniffed
from the first bytes, and the data is returned as a polars ``LazyFrame`` (``scan_csv``,
``scan_parquet``, ``scan_ndjson``) so projection and predicates reach the reader and a 10M-row
file is never held whole. Each row carries its file index and its 1-based data row number in that
file, so a bad row can be named precisely.
"""

from __future__ import annotations

import codecs
import csv
import glob
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from segtui.errors import InputError
from segtui.fileio import special_kind
from segtui.ingest.ragged import FIELDS_COL, find_ragged_rows
from segtui.ingest.wholefile import normalised_copy, scan_line_ends

FILE_COL = "__file"
ROW_COL = "__row"

SNIFF_BYTES = 64 * 1024
NDJSON_SCHEMA_ROWS = 10_000
DELIMITERS = (",", "\t", ";", "|")
_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}

_CSV_EXT = {".csv", ".tsv", ".psv", ".txt", ".dat"}
_NDJSON_EXT = {".ndjson", ".jsonl", ".json"}
_PARQUET_EXT = {".parquet", ".pq"}
_DATA_EXT = _CSV_EXT | _NDJSON_EXT | _PARQUET_EXT
_EXCEL_EXT = {".xlsx", ".xls", ".xlsm", ".ods"}


@dataclass(frozen=True)
class FileFormat:
    """What one file is: ``kind`` is csv, parquet or ndjson; ``columns`` are flattened names."""

    path: Path
    kind: str
    delimiter: str | None
    compression: str | None
    columns: tuple[str, ...]
    note: str | None = None
    """Said to the person when the file is read as something its name does not say."""
    read_path: Path | None = None
    """The copy actually scanned, when the file needed one (lone CR line ends); else ``path``."""
    json_paths: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """NDJSON: each nested column's flattened name -> its key path (:func:`flat_paths`)."""

    def describe(self) -> str:
        """Short human description, e.g. ``csv (semicolon-delimited, gzip)``."""
        bits = []
        if self.delimiter is not None:
            bits.append(f"{_DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))}-delimited")
        if self.compression:
            bits.append(self.compression)
        return f"{self.kind} ({', '.join(bits)})" if bits else self.kind


@dataclass(frozen=True)
class SourceInfo:
    """The files of one layout, with their shared format and raw (flattened) column names."""

    files: tuple[Path, ...]
    format: str
    delimiter: str | None
    compression: str | None
    columns: tuple[str, ...]
    notes: tuple[str, ...] = ()
    """Files read as what they are rather than what their name says."""
    read_paths: tuple[Path | None, ...] = ()
    """Per file, the normalised copy scanned instead of it (None: the file itself)."""
    json_paths: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """NDJSON: each nested column's flattened name (``properties.price``) -> its key path
    (``("properties", "price")``), what an engine's JSON reader addresses as struct fields."""

    def key_path(self, name: str) -> tuple[str, ...]:
        """A column's JSON key path (its own name for a column at the top level)."""
        return self.json_paths.get(name, (name,))

    def describe(self) -> str:
        first = FileFormat(self.files[0], self.format, self.delimiter, self.compression, ())
        n = len(self.files)
        return f"{first.describe()}, {n} file{'s' if n != 1 else ''}"

    def file_name(self, index: int) -> str:
        """The file behind a row's ``__file`` index."""
        return str(self.files[index])


# --------------------------------------------------------------------------------------------
# paths


def _data_suffix(path: Path) -> str:
    """The suffix that says the format, looking through ``.gz``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def resolve_paths(paths: Sequence[str | Path]) -> list[Path]:
    """Expand files, globs and folders into a sorted, de-duplicated list of data files.

    A folder contributes its data files (csv/tsv/ndjson/jsonl/json/parquet, gzipped or not; hidden
    files skipped, not recursive). Raises InputError for a path that matches nothing.
    """
    if not paths:
        raise InputError("no input files given", hint="Pass a file, a glob or a folder.")
    found: list[Path] = []
    for raw in paths:
        text = str(raw)
        path = Path(text).expanduser()
        if path.is_dir():
            inside = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and not p.name.startswith(".") and _data_suffix(p) in _DATA_EXT
            )
            if not inside:
                raise InputError(
                    "the folder holds no event files (csv, tsv, ndjson, jsonl, json or parquet)",
                    file=path,
                )
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        elif any(ch in text for ch in "*?["):
            matches = sorted(Path(m) for m in glob.glob(str(path), recursive=True))
            files = [m for m in matches if m.is_file()]
            if not files:
                raise InputError("the pattern matches no files", file=text)
            found.extend(files)
        elif path.exists():
            kind = special_kind(path.stat()) or "not a regular file"
            raise InputError(
                f"this is {kind}, not a file of events (a pipe or device is never read)",
                file=path,
            )
        else:
            raise InputError("no such file or folder", file=path)
    unique: dict[Path, None] = {}
    for p in found:
        unique.setdefault(p, None)
    return list(unique)


# --------------------------------------------------------------------------------------------
# sniffing


def _read_head(path: Path) -> tuple[bytes, str | None, bool]:
    """First bytes of the file (decompressed when gzip) and whether the head is the whole file."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(SNIFF_BYTES)
            whole = len(raw) < SNIFF_BYTES
    except OSError as error:
        raise InputError(f"cannot read the file ({error.strerror})", file=path) from error
    if raw[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as gz:
                head = gz.read(SNIFF_BYTES)
                whole = len(head) < SNIFF_BYTES
        except (OSError, EOFError, zlib.error) as error:
            raise InputError(f"the gzip data is damaged ({error})", file=path) from error
        return head, "gzip", whole
    if path.suffix.lower() == ".gz":
        raise InputError("the name ends in .gz but the file is not gzip-compressed", file=path)
    return raw, None, whole


def _check_utf8(path: Path, head: bytes, whole: bool) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            "the file is UTF-16, not UTF-8",
            file=path,
            hint="Convert it, e.g. `iconv -f UTF-16 -t UTF-8 IN > OUT`.",
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        text = decoder.decode(head, final=whole)
    except UnicodeDecodeError as error:
        line = head[: error.start].count(b"\n") + 1
        raise InputError(
            f"the file is not UTF-8 (byte 0x{head[error.start]:02x} on line {line} of the file)",
            file=path,
            row=max(line - 1, 1),
            hint="Convert it, e.g. `iconv -f latin1 -t UTF-8 IN > OUT`.",
        ) from error
    return text.removeprefix("\ufeff")


def _complete_lines(text: str, whole: bool) -> list[str]:
    lines = text.splitlines()
    if not whole and lines:
        lines = lines[:-1]  # the last line of a truncated head may be cut
    return [line for line in lines if line.strip()]


def _count_outside_quotes(line: str, ch: str) -> int:
    count, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == ch and not quoted:
            count += 1
    return count


def sniff_delimiter(lines: Sequence[str], suffix: str = "") -> str:
    """The delimiter that splits the header and the first rows into the same number of fields."""
    if suffix == ".tsv":
        return "\t"
    if suffix == ".psv":
        return "|"
    sample = list(lines[:50])
    if not sample:
        return ","
    best, best_score = ",", (-1, -1)
    for ch in DELIMITERS:
        counts = [_count_outside_quotes(line, ch) for line in sample]
        if counts[0] == 0:
            continue
        consistent = sum(1 for c in counts if c == counts[0])
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = ch, score
    return best


def literal_glob(path: str | Path) -> str:
    """The path as a glob pattern matching only itself: polars' NDJSON reader always expands
    globs (its CSV and parquet readers take ``glob=False``), so ``*``, ``?`` and ``[`` in a
    file name are bracketed (``ev[1].ndjson`` -> ``ev[[]1].ndjson``)."""
    return re.sub(r"([*?\[])", r"[\1]", str(path))


def _ndjson_paths(path: Path) -> dict[str, tuple[str, ...]]:
    lf = pl.scan_ndjson(literal_glob(path), infer_schema_length=NDJSON_SCHEMA_ROWS)
    try:
        return flat_paths(lf.collect_schema())
    except (pl.exceptions.PolarsError, OSError) as error:
        raise broken_json_line(path) or InputError(
            f"cannot read the NDJSON file ({error})", file=path
        ) from error


def broken_json_line(path: Path, limit: int = 10_000_000) -> InputError | None:
    """The first line of an NDJSON file that is not one JSON object, as an InputError.

    Looked for only after polars failed, so the common case pays nothing; reads at most
    ``limit`` lines (then None: the caller's own message stands).
    """
    for number, text in _json_lines(path, limit):
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as error:
            why = getattr(error, "msg", None) or "nested too deep"
            return InputError(
                f"the line is not valid JSON ({why}): {text[:60]!r}",
                file=path,
                row=number,
                hint="Fix or remove that line; each line must be one JSON object.",
            )
        if not isinstance(value, dict):
            return InputError(
                f"the line is not a JSON object: {text[:60]!r}",
                file=path,
                row=number,
                hint="Each line must be one JSON object.",
            )
    return None


def _json_lines(path: Path, limit: int) -> Iterator[tuple[int, str]]:
    """The non-blank lines of an NDJSON file (gzip too), stripped, with their numbers: at most
    ``limit`` lines, and none from a file that cannot be read."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:
            for number, line in enumerate(fh, start=1):
                if number > limit:
                    return
                if text := line.strip():
                    yield number, text
    except (OSError, EOFError, zlib.error):
        return


def sniff_file(path: str | Path) -> FileFormat:
    """Tell the format of one file from its first bytes and check it matches its name.

    Raises InputError for an empty file, a file that is not what its name says, a file that is not
    UTF-8 text, an Excel workbook, or a JSON array where NDJSON was expected.
    """
    path = Path(path)
    suffix = _data_suffix(path)
    if suffix in _EXCEL_EXT:
        raise InputError(
            "Excel workbooks are not read", file=path, hint="Save the sheet as CSV and load that."
        )
    try:
        size = path.stat().st_size
    except OSError as error:
        raise InputError(f"cannot read the file ({error.strerror})", file=path) from error
    if size == 0:
        raise InputError("the file is empty", file=path)
    head, compression, whole = _read_head(path)
    if not head.strip():
        raise InputError("the file is empty", file=path)
    if head[:4] == b"PAR1":
        return _sniff_parquet(path, suffix, compression)
    _refuse_binary(path, suffix, head, whole)
    lines = _complete_lines(_check_utf8(path, head, whole), whole)
    if not lines:
        raise InputError("the file is empty", file=path)
    return _sniff_text(path, suffix, compression, lines, whole)


def _sniff_parquet(path: Path, suffix: str, compression: str | None) -> FileFormat:
    if compression:
        raise InputError("a gzipped parquet file cannot be scanned", file=path, hint="Gunzip it.")
    fmt = _parquet_format(path)
    if suffix and suffix not in _PARQUET_EXT:
        note = (
            f"{path}: the name says {suffix} but the file is parquet; read as parquet "
            "(rename it to .parquet to say so)"
        )
        fmt = replace(fmt, note=note)
    return fmt


def _refuse_binary(path: Path, suffix: str, head: bytes, whole: bool) -> None:
    """A file that is not parquet must be text: not a misnamed parquet, a zip, UTF-16 or binary."""
    if suffix in _PARQUET_EXT:
        raise InputError(
            "the name says parquet but the file is not parquet (no PAR1 magic bytes)",
            file=path,
            hint="Rename it to what it is (for example .csv) or export it again.",
        )
    if head[:4] == b"PK\x03\x04":
        raise InputError(
            "the file is a zip archive, not an event file", file=path, hint="Unzip it."
        )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        _check_utf8(path, head, whole)  # raises: UTF-16
    if b"\x00" in head:
        raise InputError(
            f"the file is binary, not {suffix.lstrip('.') or 'text'}",
            file=path,
            hint="segtui reads CSV/TSV, NDJSON and parquet.",
        )


def _sniff_text(
    path: Path, suffix: str, compression: str | None, lines: list[str], whole: bool
) -> FileFormat:
    """NDJSON when the first line is an object, else a delimited table."""
    first = lines[0].lstrip()
    if first.startswith("["):
        raise InputError(
            "the file is a JSON array; segtui reads NDJSON (one JSON object per line)",
            file=path,
            hint="Convert it, e.g. `jq -c '.[]' IN > OUT.ndjson`.",
        )
    if first.startswith("{"):
        note = None
        if suffix in _CSV_EXT:
            note = (
                f"{path}: the name says {suffix} but the file holds JSON objects; read as NDJSON "
                "(rename it to .ndjson to say so)"
            )
        if compression == "gzip":
            scan_line_ends(path, gzipped=True)  # refuses a cut-off or bomb gzip by name
        paths = _ndjson_paths(path)
        nested = {name: keys for name, keys in paths.items() if len(keys) > 1}
        return FileFormat(path, "ndjson", None, compression, tuple(paths), note, json_paths=nested)
    if suffix in _NDJSON_EXT:
        raise InputError(
            f"the name says {suffix} but the file does not hold JSON objects "
            f"(first line: {lines[0][:60]!r})",
            file=path,
            hint="Rename it to .csv if it is a table.",
        )
    delimiter = sniff_delimiter(lines, suffix)
    _refuse_duplicate_names(path, lines[0], delimiter)
    if whole and len(lines) < 2:
        raise InputError(
            "the file has a header but no data rows", file=path, details=[f"header: {lines[0]}"]
        )
    ends = scan_line_ends(path, compression == "gzip")
    read_path, note = None, None
    if ends.lone_cr:
        read_path = normalised_copy(path, compression == "gzip")
        note = (
            f"{path}: {ends.lone_cr:,} line{'s end' if ends.lone_cr != 1 else ' ends'} in a lone "
            "CR (old Mac line ends) beside LF or CRLF ones; every CR, CRLF and LF is read as a "
            "row end"
        )
    columns = csv_header_names(read_path or path, delimiter, path)
    return FileFormat(path, "csv", delimiter, compression, columns, note, read_path)


def _refuse_duplicate_names(path: Path, header: str, delimiter: str) -> None:
    """Two columns with one name: which one a mapping means is anyone's guess, so refuse."""
    names = next(csv.reader([header], delimiter=delimiter), [])
    first: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        key = name.strip()
        if key in first:
            raise InputError(
                f"the header names two columns {key!r} (columns {first[key]} and {position})",
                file=path,
                hint="Rename one of them in the file; segtui will not guess which is meant.",
            )
        first[key] = position


def csv_header_names(path: Path, delimiter: str, shown: Path | None = None) -> tuple[str, ...]:
    """The CSV header's names as RFC 4180 reads them, as DuckDB, Spark and Python's csv do.

    polars keeps the doubled quote inside a quoted cell (``"a""b"`` gives ``a""b``, not
    ``a"b``), so a column so named would differ between engines; where a polars name is the
    header's cell with its quotes still doubled, the cell wins (:func:`scan_file` renames).
    """
    try:
        schema = pl.scan_csv(
            path, separator=delimiter, infer_schema=False, glob=False
        ).collect_schema()
    except (pl.exceptions.PolarsError, OSError) as error:
        raise InputError(f"cannot read the CSV header ({error})", file=shown or path) from error
    names = tuple(schema.names())
    if not any('""' in name for name in names):
        return names
    head, _, whole = _read_head(path)
    cells = next(csv.reader(io.StringIO(_check_utf8(path, head, whole)), delimiter=delimiter), [])
    if len(cells) != len(names):
        return names
    return tuple(
        cell if name != cell and _undoubled(name) == cell else name
        for name, cell in zip(names, cells, strict=True)
    )


def _undoubled(name: str) -> str:
    return name.replace('""', '"')


def _with_header_names(lf: pl.LazyFrame, columns: Sequence[str]) -> pl.LazyFrame:
    """polars' CSV names renamed to :func:`csv_header_names`' (by name: files that load
    together may order their columns differently)."""
    wanted = set(columns)
    renames = {
        name: _undoubled(name)
        for name in lf.collect_schema().names()
        if name not in wanted and _undoubled(name) in wanted
    }
    return lf.rename(renames) if renames else lf


def _parquet_format(path: Path) -> FileFormat:
    try:
        schema = pl.scan_parquet(path, glob=False).collect_schema()
        rows = pl.scan_parquet(path, glob=False).select(pl.len()).collect().item()
    except (pl.exceptions.PolarsError, OSError) as error:
        raise InputError(f"cannot read the parquet file ({error})", file=path) from error
    if rows == 0:
        raise InputError("the parquet file has no rows", file=path)
    return FileFormat(path, "parquet", None, None, tuple(flat_names(schema)))


def _layout_key(fmt: FileFormat) -> tuple[object, ...]:
    """Files load together when this is equal: the kind, and for tables the delimiter and the
    set of columns (NDJSON objects may leave keys out, so only the kind counts there)."""
    if fmt.kind == "ndjson":
        return (fmt.kind,)
    return (fmt.kind, fmt.delimiter, frozenset(fmt.columns))


def _listed(items: Sequence[str], limit: int) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _different_layouts(groups: list[list[FileFormat]]) -> InputError:
    """The files by layout, and which to name: the group that looks like events."""
    from segtui.ingest.mapping import detect_mapping

    details = []
    for n, group in enumerate(groups, 1):
        fmt = group[0]
        what = fmt.kind
        if fmt.delimiter is not None:
            what += f", {_DELIMITER_NAMES.get(fmt.delimiter, repr(fmt.delimiter))}-delimited"
        cols = f"; columns {_listed(list(fmt.columns), 8)}" if fmt.kind != "ndjson" else ""
        details.append(f"layout {n} ({what}{cols}): {_listed([str(f.path) for f in group], 4)}")

    def looks_like_events(group: list[FileFormat]) -> bool:
        mapping = detect_mapping(list(group[0].columns))
        return {"user_id", "ts"} <= set(mapping.columns)

    events = [g for g in groups if looks_like_events(g)]
    pick = max(events or groups, key=len)
    named = " ".join(_shell_word(str(f.path)) for f in pick[:3])
    kinds = list(dict.fromkeys(g[0].kind for g in groups))
    what = (
        f"different formats ({' and '.join(kinds)})"
        if len(kinds) > 1
        else f"different layouts ({len(groups)} layouts)"
    )
    return InputError(
        f"the files have {what}",
        details=details,
        hint=f"Load the files of one layout at a time by naming them, e.g. `segtui segment {named}`"
        + (" ..." if len(pick) > 3 else "")
        + ".",
    )


def _shell_word(text: str) -> str:
    return text if all(c.isalnum() or c in "._-/+:@" for c in text) else "'" + text + "'"


def inspect_source(paths: Sequence[str | Path]) -> SourceInfo:
    """Resolve and sniff every file; all must share one layout (format and column names)."""
    files = resolve_paths(paths)
    formats = [sniff_file(p) for p in files]
    first = formats[0]
    groups: dict[tuple[object, ...], list[FileFormat]] = {}
    for fmt in formats:
        groups.setdefault(_layout_key(fmt), []).append(fmt)
    if len(groups) > 1:
        raise _different_layouts(list(groups.values()))
    columns: dict[str, None] = {}
    json_paths: dict[str, tuple[str, ...]] = {}
    for fmt in formats:
        for c in fmt.columns:
            columns.setdefault(c, None)
        for name, keys in fmt.json_paths.items():
            json_paths.setdefault(name, keys)
    return SourceInfo(
        files=tuple(files),
        format=first.kind,
        delimiter=first.delimiter,
        compression=first.compression,
        columns=tuple(columns),
        notes=tuple(f.note for f in formats if f.note),
        read_paths=tuple(f.read_path for f in formats),
        json_paths=json_paths,
    )


# --------------------------------------------------------------------------------------------
# scanning


def flat_paths(schema: pl.Schema) -> dict[str, tuple[str, ...]]:
    """Each leaf column's flattened name (``parent.child``, as the loader names it) and its key
    path (``("parent", "child")``: what an engine's JSON reader addresses as struct fields).
    Iterative, since how deep a JSON file nests is the file's choice."""
    out: dict[str, tuple[str, ...]] = {}
    stack: list[tuple[tuple[str, ...], Iterator[tuple[str, pl.DataType]]]] = [
        ((), iter(schema.items()))
    ]
    while stack:
        prefix, fields = stack[-1]
        field = next(fields, None)
        if field is None:
            stack.pop()
            continue
        name, dtype = field
        path = (*prefix, name)
        if isinstance(dtype, pl.Struct):
            stack.append((path, iter((f.name, f.dtype) for f in dtype.fields)))
        else:
            out.setdefault(".".join(path), path)
    return out


def flat_names(schema: pl.Schema) -> list[str]:
    """Column names with struct fields flattened as ``parent.child``."""
    return list(flat_paths(schema))


def _flatten_exprs(expr: pl.Expr, dtype: pl.DataType, name: str) -> list[pl.Expr]:
    if isinstance(dtype, pl.Struct):
        out: list[pl.Expr] = []
        for f in dtype.fields:
            out.extend(_flatten_exprs(expr.struct.field(f.name), f.dtype, f"{name}.{f.name}"))
        return out
    return [expr.alias(name)]


def flatten_structs(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Replace struct columns (NDJSON ``properties``) by one column per leaf (``a.b``)."""
    schema = lf.collect_schema()
    if not any(isinstance(d, pl.Struct) for d in schema.dtypes()):
        return lf
    exprs: list[pl.Expr] = []
    for name, dtype in schema.items():
        exprs.extend(_flatten_exprs(pl.col(name), dtype, name))
    return lf.select(exprs)


def scan_file(fmt: FileFormat, *, row_index: bool = True) -> pl.LazyFrame:
    """Scan one file lazily; CSV columns are read as text and typed later, per canonical column.

    Reading CSV as text means a column that looks numeric for the first rows and then holds
    ``C536379`` cannot make the scan fail halfway through a big file.
    """
    index = ROW_COL if row_index else None
    if fmt.kind == "csv":
        lf = pl.scan_csv(
            fmt.read_path or fmt.path,
            separator=fmt.delimiter or ",",
            infer_schema=False,
            row_index_name=index,
            row_index_offset=1,
            truncate_ragged_lines=True,
            glob=False,
        )
        if any('"' in name for name in fmt.columns):
            lf = _with_header_names(lf, fmt.columns)
    elif fmt.kind == "parquet":
        lf = pl.scan_parquet(fmt.path, row_index_name=index, row_index_offset=1, glob=False)
    elif fmt.kind == "ndjson":
        lf = pl.scan_ndjson(
            literal_glob(fmt.path),
            infer_schema_length=NDJSON_SCHEMA_ROWS,
            row_index_name=index,
            row_index_offset=1,
        )
    else:  # pragma: no cover - sniff_file only returns the three kinds
        raise ValueError(fmt.kind)
    return flatten_structs(lf)


def scan_source(source: SourceInfo, *, row_index: bool = True) -> pl.LazyFrame:
    """One lazy frame over all files, with ``__file`` (index into source.files) and ``__row``.

    With ``row_index``, a CSV file's rows whose field count is not the header's carry that count
    in ``__fields`` (null on every other row) so that loading leaves them out by name.
    """
    frames = []
    copies = source.read_paths or (None,) * len(source.files)
    for i, (path, copy) in enumerate(zip(source.files, copies, strict=True)):
        fmt = FileFormat(
            path, source.format, source.delimiter, source.compression, source.columns, None, copy
        )
        lf = scan_file(fmt, row_index=row_index)
        if row_index:
            lf = _with_ragged(lf, fmt).with_columns(pl.lit(i, dtype=pl.UInt32).alias(FILE_COL))
        frames.append(lf)
    if len(frames) == 1:
        return frames[0]
    return pl.concat(frames, how="diagonal_relaxed")


def _with_ragged(lf: pl.LazyFrame, fmt: FileFormat) -> pl.LazyFrame:
    """``__fields`` on the rows of a CSV file that are ragged (see segtui.ingest.ragged)."""
    none = pl.lit(None, dtype=pl.UInt32).alias(FIELDS_COL)
    if fmt.kind != "csv":
        return lf.with_columns(none)
    width = len(lf.collect_schema()) - 1  # without __row
    try:
        found = find_ragged_rows(fmt.read_path or fmt.path, fmt.delimiter or ",", width, ROW_COL)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise InputError(f"cannot read the rows ({error})", file=fmt.path) from error
    if found.rows.is_empty():
        return lf.with_columns(none)
    return lf.join(found.rows.lazy(), on=ROW_COL, how="left", maintain_order="left")


@dataclass(frozen=True)
class ScannedSource:
    """The files as one lazy frame with its schema: what every loading stage reads from."""

    info: SourceInfo
    frame: pl.LazyFrame
    """All rows of all files, with ``__file`` and ``__row``."""
    schema: pl.Schema

    @property
    def columns(self) -> list[str]:
        """The data's own columns (without ``__file``, ``__row`` and ``__fields``)."""
        return [c for c in self.schema.names() if c not in (FILE_COL, ROW_COL, FIELDS_COL)]

    def collect(self, lf: pl.LazyFrame) -> pl.DataFrame:
        """Collect a query on the data; a polars error becomes an InputError naming the files."""
        return collect_source(lf, self.info)


def open_source(paths: Sequence[str | Path]) -> ScannedSource:
    """Resolve, sniff and scan the files (reads only their heads and schema)."""
    return scan(inspect_source(paths))


def scan(info: SourceInfo) -> ScannedSource:
    """Scan inspected files lazily, with ``__file`` and ``__row``, and read their schema."""
    frame = scan_source(info)
    try:
        schema = frame.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as error:
        raise input_error_from_polars(error, info) from error
    return ScannedSource(info, frame, schema)


def keys_no_record_has(
    info: SourceInfo, paths: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """The keys among ``paths`` (flattened name -> key path) that NDJSON files lack with no
    part of their path there either: those read as empty (:func:`with_absent_keys`). A key
    whose parent is there but not as an object (a record with ``"properties": "x"``) is not
    absent but unreadable, and stays lacking."""
    if info.format != "ndjson":
        return {}
    have = {info.key_path(c) for c in info.columns}
    return {
        name: path
        for name, path in paths.items()
        if not any(path[:i] in have for i in range(1, len(path) + 1))
    }


def parents_not_objects(
    info: SourceInfo, paths: Mapping[str, tuple[str, ...]], limit: int = 10_000_000
) -> list[str]:
    """Why NDJSON files cannot give the keys ``paths`` (flattened name -> key path) whose parent
    is there but not an object: for each such parent, the first record where it holds text or
    a number (``'properties' is "x" in events.ndjson line 4, not an object ...``). Looked for only
    when a key is lacking; reads at most ``limit`` lines of each file."""
    if info.format != "ndjson":
        return []
    have = {info.key_path(c) for c in info.columns}
    parents = sorted(
        {path[:i] for path in paths.values() for i in range(1, len(path)) if path[:i] in have}
    )
    found: dict[tuple[str, ...], str] = {}
    for file in info.files:
        for number, record in _json_records(file, limit):
            for parent in (p for p in parents if p not in found):
                value = _at(record, parent)
                if value is not None and not isinstance(value, dict):
                    shown = json.dumps(value, ensure_ascii=False)
                    shown = shown if len(shown) <= 40 else shown[:40] + "..."
                    found[parent] = (
                        f"'{'.'.join(parent)}' is {shown} in {file.name} line {number}, not an "
                        "object, so the keys under it cannot be read"
                    )
            if len(found) == len(parents):
                return list(found.values())
    return list(found.values())


def _json_records(path: Path, limit: int) -> Iterator[tuple[int, dict[str, object]]]:
    """The JSON objects of an NDJSON file with their line numbers (other lines skipped)."""
    for number, text in _json_lines(path, limit):
        try:
            record = json.loads(text)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict):
            yield number, record


def _at(record: object, path: tuple[str, ...]) -> object:
    """The value at a key path of a JSON record, None where a step is missing."""
    for key in path:
        if not isinstance(record, dict):
            return None
        record = record.get(key)
    return record


def with_absent_keys(
    raw: ScannedSource, keys: Mapping[str, tuple[str, ...]]
) -> tuple[ScannedSource, list[str]]:
    """NDJSON files with the ``keys`` (flattened name -> key path) that no record has added as
    empty text columns, and those names; any other source is returned as it is.

    A JSON record leaves out a key it has no value for, so a file where no record has one (a
    batch with no purchases has no ``properties.order_id``) holds the same as a file where every
    value is empty: several files read together already read that way.
    """
    missing = [name for name in keys if name not in raw.schema]
    if raw.info.format != "ndjson" or not missing:
        return raw, []
    frame = raw.frame.with_columns(pl.lit(None, dtype=pl.Utf8).alias(name) for name in missing)
    paths = {**raw.info.json_paths, **{n: keys[n] for n in missing if len(keys[n]) > 1}}
    info = replace(raw.info, columns=(*raw.info.columns, *missing), json_paths=paths)
    schema = pl.Schema({**raw.schema, **dict.fromkeys(missing, pl.Utf8())})
    return ScannedSource(info, frame, schema), missing


def collect_source(lf: pl.LazyFrame, source: SourceInfo) -> pl.DataFrame:
    """Collect a query on the source; a polars error becomes an InputError naming the files."""
    try:
        return lf.collect()
    except (pl.exceptions.PolarsError, OSError) as error:
        raise input_error_from_polars(error, source) from error


def input_error_from_polars(error: Exception, source: SourceInfo) -> InputError:
    """Turn a polars error met while reading the data into an InputError naming the source."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    where: str | Path = (
        source.files[0] if len(source.files) == 1 else ", ".join(str(f) for f in source.files[:3])
    )
    hint = None
    if source.format == "ndjson":
        for path in source.files:
            broken = broken_json_line(path)
            if broken is not None:
                return broken
    if "utf-8" in text.lower() or "utf8" in text.lower():
        return InputError(
            "the file is not UTF-8 further down",
            file=where,
            details=[text],
            hint="Convert it, e.g. `iconv -f latin1 -t UTF-8 IN > OUT`.",
        )
    return InputError(f"cannot read the data ({text})", file=where, hint=hint)
