"""Finding files, sniffing their format, and every kind of bad input file."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest

from segtui.errors import InputError
from segtui.ingest.sources import (
    FILE_COL,
    ROW_COL,
    inspect_source,
    resolve_paths,
    scan_source,
    sniff_delimiter,
    sniff_file,
)

LAYOUTS = Path(__file__).parents[1] / "data" / "layouts"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_resolve_file_glob_folder(tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", "u,t\n1,2\n")
    b = write(tmp_path / "b.csv", "u,t\n1,2\n")
    write(tmp_path / ".hidden.csv", "u,t\n1,2\n")
    write(tmp_path / "notes.md", "# not data\n")
    assert resolve_paths([a]) == [a]
    assert resolve_paths([str(tmp_path / "*.csv")]) == [a, b]
    assert resolve_paths([tmp_path]) == [a, b]
    assert resolve_paths([a, tmp_path]) == [a, b]  # de-duplicated, order kept


def test_resolve_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file") as info:
        resolve_paths([tmp_path / "missing.csv"])
    assert info.value.file == tmp_path / "missing.csv"
    with pytest.raises(InputError, match="matches no files"):
        resolve_paths([str(tmp_path / "*.parquet")])
    with pytest.raises(InputError, match="no event files"):
        resolve_paths([tmp_path])
    with pytest.raises(InputError, match="no input files"):
        resolve_paths([])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2,5;3\n", ";"),
        ("a\tb\n1\t2\n", "\t"),
        ("a|b\n1|2\n", "|"),
        ('a,b\n"x;y;z",2\n', ","),
    ],
)
def test_sniff_delimiter(text: str, expected: str) -> None:
    assert sniff_delimiter(text.splitlines()) == expected


def test_sniff_formats(tmp_path: Path) -> None:
    csv = sniff_file(LAYOUTS / "transactions_semicolon.csv")
    assert (csv.kind, csv.delimiter, csv.columns) == ("csv", ";", ("client_id", "date", "total"))
    nd = sniff_file(LAYOUTS / "segment_track.ndjson")
    assert nd.kind == "ndjson"
    assert "properties.price" in nd.columns and "properties" not in nd.columns
    gz = tmp_path / "events.csv.gz"
    gz.write_bytes(gzip.compress(b"user,ts\nu1,2024-01-01\n"))
    fmt = sniff_file(gz)
    assert (fmt.kind, fmt.compression, fmt.columns) == ("csv", "gzip", ("user", "ts"))
    pq = tmp_path / "e.parquet"
    pl.DataFrame({"user": ["u1"], "ts": [1]}).write_parquet(pq)
    assert sniff_file(pq).kind == "parquet"
    assert "parquet" in sniff_file(pq).describe()


def test_scan_source_row_numbers_per_file(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "u,t\nx,1\ny,2\n")
    write(tmp_path / "b.csv", "u,t\nz,3\n")
    source = inspect_source([tmp_path])
    frame = scan_source(source).collect().sort(FILE_COL, ROW_COL)
    assert frame.select(FILE_COL, ROW_COL, "u").rows() == [(0, 1, "x"), (0, 2, "y"), (1, 1, "z")]
    assert frame["t"].dtype == pl.Utf8  # CSV is read as text and typed per canonical column


# ---- bad input ------------------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    empty = write(tmp_path / "e.csv", "")
    with pytest.raises(InputError, match="empty") as info:
        sniff_file(empty)
    assert info.value.file == empty
    with pytest.raises(InputError, match="empty"):
        sniff_file(write(tmp_path / "blank.csv", "\n\n  \n"))


def test_header_only(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="header but no data rows"):
        sniff_file(write(tmp_path / "h.csv", "user,ts,event\n"))


def test_not_the_format_its_name_says(tmp_path: Path) -> None:
    fake_pq = write(tmp_path / "x.parquet", "user,ts\nu,1\n")
    with pytest.raises(InputError, match="not parquet") as info:
        sniff_file(fake_pq)
    assert info.value.file == fake_pq
    with pytest.raises(InputError, match="does not hold JSON"):
        sniff_file(write(tmp_path / "x.ndjson", "user,ts\nu,1\n"))
    json_csv = sniff_file(write(tmp_path / "x.csv", '{"user": "u"}\n'))
    assert (json_csv.kind, json_csv.columns) == ("ndjson", ("user",))
    assert json_csv.note == (
        f"{tmp_path / 'x.csv'}: the name says .csv but the file holds JSON objects; read as "
        "NDJSON (rename it to .ndjson to say so)"
    )
    with pytest.raises(InputError, match="JSON array"):
        sniff_file(write(tmp_path / "arr.json", '[{"user": "u"}]\n'))
    with pytest.raises(InputError, match="not gzip"):
        sniff_file(write(tmp_path / "x.csv.gz", "user,ts\nu,1\n"))
    pq = tmp_path / "real.csv"
    pl.DataFrame({"a": [1]}).write_parquet(pq)
    read = sniff_file(pq)
    assert (read.kind, read.columns) == ("parquet", ("a",))
    assert read.note == (
        f"{pq}: the name says .csv but the file is parquet; read as parquet "
        "(rename it to .parquet to say so)"
    )
    with pytest.raises(InputError, match="Excel"):
        sniff_file(write(tmp_path / "book.xlsx", "x"))
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\x00\x01\x02garbage")
    with pytest.raises(InputError, match="binary"):
        sniff_file(binary)


def test_not_utf8(tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("user,city\nu1,Zürich\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8") as info:
        sniff_file(latin)
    assert info.value.file == latin
    assert info.value.row == 1
    assert "iconv" in info.value.hint
    utf16 = tmp_path / "u16.csv"
    utf16.write_bytes("user,ts\nu,1\n".encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16"):
        sniff_file(utf16)


def test_folder_with_mixed_layouts(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "user,ts,event\nu,1,view\n")
    write(tmp_path / "b.csv", "customer,date,amount\nc,2024-01-01,3\n")
    with pytest.raises(InputError) as info:
        inspect_source([tmp_path])
    assert info.value.message == "the files have different layouts (2 layouts)"
    assert info.value.details == [
        f"layout 1 (csv, comma-delimited; columns user, ts, event): {tmp_path / 'a.csv'}",
        f"layout 2 (csv, comma-delimited; columns customer, date, amount): {tmp_path / 'b.csv'}",
    ]


def test_sample_folder_with_truth_file_names_the_event_files(tmp_path: Path) -> None:
    """`segtui sample -o DIR` writes events.csv and truth.csv: say which to name."""
    folder = tmp_path / "s"
    folder.mkdir()
    write(folder / "events.csv", "user_id,ts,event\nu1,2024-01-01T00:00:00Z,page_view\n")
    write(folder / "truth.csv", "user_id,group\nu1,browsers\n")
    with pytest.raises(InputError) as info:
        inspect_source([folder])
    assert str(info.value) == (
        "the files have different layouts (2 layouts). "
        f"Layout 1 (csv, comma-delimited; columns user_id, ts, event): {folder / 'events.csv'}; "
        f"layout 2 (csv, comma-delimited; columns user_id, group): {folder / 'truth.csv'}. "
        "Load the files of one layout at a time by naming them, e.g. "
        f"`segtui segment {folder / 'events.csv'}`."
    )


def test_folder_with_mixed_formats(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "user,ts\nu,1\n")
    pl.DataFrame({"user": ["u"], "ts": [1]}).write_parquet(tmp_path / "b.parquet")
    with pytest.raises(InputError) as info:
        inspect_source([tmp_path])
    assert info.value.message == "the files have different formats (csv and parquet)"
    assert (
        info.value.details[1] == f"layout 2 (parquet; columns user, ts): {tmp_path / 'b.parquet'}"
    )
