"""Files that used to read silently wrong or crash: each class is read right or refused by name."""

from __future__ import annotations

import gzip
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from segtui.errors import InputError
from segtui.ingest.events import load_events
from segtui.ingest.sources import inspect_source
from segtui.ingest.wholefile import normalised_copy, scan_line_ends

HEADER = "user_id,ts,event,price"


def _row(i: int) -> str:
    return f"u{i % 5},2025-03-{1 + i % 28:02d} 10:00:{i % 60:02d},purchase,{10 + i}"


def _load(path: Path) -> tuple[pl.DataFrame, object]:
    loaded = load_events([path])
    events, report = loaded.collect_with_report(loaded.events)
    return events, report


def test_every_line_end_is_a_row_end(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    ends = ["\n", "\r\n", "\r"]
    rows = [HEADER, *[_row(i) for i in range(60)]]
    path.write_bytes("".join(r + ends[j % 3] for j, r in enumerate(rows)).encode())
    events, report = _load(path)
    assert report.rows_read == 60 and report.rows_kept == 60
    assert sorted(events["price"].to_list()) == [float(10 + i) for i in range(60)]
    info = inspect_source([path])
    assert any("20 lines end in a lone CR" in note for note in info.notes)
    assert path.read_bytes().count(b"\r") == 40  # the original is never touched


@pytest.mark.parametrize("chunk", [2, 3, 8 * 1024 * 1024])
def test_line_ends_split_across_blocks_are_counted_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr("segtui.ingest.wholefile.CHUNK", chunk)
    path = tmp_path / "x.csv"
    path.write_bytes(b"a\r\nb\rc\n\r")
    assert scan_line_ends(path, gzipped=False).lone_cr == 2
    (tmp_path / "out").mkdir()
    copy = normalised_copy(path, gzipped=False, folder=tmp_path / "out")
    assert copy.read_bytes() == b"a\nb\nc\n\n"


def test_a_bad_row_after_lone_cr_rows_is_named_by_its_own_row_number(tmp_path: Path) -> None:
    path = tmp_path / "cr.csv"
    rows = [HEADER, _row(1), _row(2), "u9,not a time,purchase,3", _row(4)]
    path.write_bytes("\r".join(rows).encode() + b"\r")
    _, report = _load(path)
    (left,) = report.left_out
    assert left.count == 1 and [r for _, r, _ in left.examples] == [3]


def test_epoch_seconds_and_milliseconds_mixed_read_right(tmp_path: Path) -> None:
    path = tmp_path / "epoch.csv"
    base = 1735689600  # 2025-01-01 00:00 UTC
    lines = ["user_id,ts,event"]
    lines += [f"u{i % 3},{(base + i) * (1000 if i % 2 else 1)},page_view" for i in range(40)]
    path.write_text("\n".join(lines) + "\n")
    loaded = load_events([path])
    assert any("MIXED units (20 in seconds, 20 in milliseconds" in d for d in loaded.decisions)
    events = loaded.events.collect()
    assert events["ts"].min() == datetime(2025, 1, 1, tzinfo=UTC)
    assert events["ts"].max() == datetime(2025, 1, 1, 0, 0, 39, tzinfo=UTC)


def test_non_finite_numbers_are_missing_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    prices = ["10", "nan", "inf", "1e309", "-inf", "5"]
    lines = [HEADER] + [f"u{i},2025-01-01 10:00:00,purchase,{p}" for i, p in enumerate(prices)]
    path.write_text("\n".join(lines) + "\n")
    events, report = _load(path)
    assert events.sort("user_id")["price"].to_list() == [10.0, None, None, None, None, 5.0]
    revenue = events["revenue"].drop_nulls().to_list()
    assert all(math.isfinite(v) for v in revenue) and sorted(revenue) == [5.0, 10.0]
    (bad,) = report.bad_values
    assert bad.count == 4
    assert [v for _, _, v in bad.examples] == ["nan", "inf", "1e309", "-inf"]


def test_non_finite_floats_in_parquet_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pl.DataFrame(
        {
            "user_id": ["a", "b", "c", "d"],
            "ts": ["2025-01-01 10:00:00"] * 4,
            "event": ["purchase"] * 4,
            "price": [1.0, float("nan"), float("inf"), 2.0],
        }
    ).write_parquet(path)
    events, report = _load(path)
    assert events.sort("user_id")["price"].to_list() == [1.0, None, None, 2.0]
    (bad,) = report.bad_values
    assert bad.count == 2 and [v for _, _, v in bad.examples] == ["NaN", "inf"]


def test_duplicate_column_names_are_refused_naming_both_positions(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("user_id,ts,event,price,price\nu1,2025-01-01 10:00:00,purchase,3,4\n")
    with pytest.raises(InputError) as info:
        load_events([path])
    assert "two columns 'price' (columns 4 and 5)" in str(info.value)
    assert str(path) in str(info.value)


def test_ragged_rows_are_left_out_counted_and_named(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    lines = [HEADER]
    for i in range(1, 21):
        if i == 4:
            lines.append("u1,2025-01-01 10:00:00,purchase")  # short: 3 fields
        elif i == 7:
            lines.append("u1,2025-01-01 10:00:00,purchase,3,99")  # long: 5 fields
        elif i == 9:
            lines.append("u2,2025-01-01 10:00:00,purchase,4,,")  # trailing empties: fine
        elif i == 11:
            lines.append('u3,2025-01-01 10:00:00,"purchase",5')  # quoted: fine
        else:
            lines.append(f"u{i % 4},2025-01-0{1 + i % 9} 10:00:00,purchase,{i}")
    path.write_text("\n".join(lines) + "\n")
    events, report = _load(path)
    assert report.rows_read == 20 and report.rows_kept == 18
    (left,) = report.left_out
    assert left.reason == "ragged" and left.count == 2
    assert [(r, v) for _, r, v in left.examples] == [(4, "3"), (7, "5")]
    assert 99.0 not in events["price"].to_list()


def test_quoted_delimiters_and_quoted_line_breaks_are_not_ragged(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text(
        "user_id,ts,event,category\n"
        'u1,2025-01-01 10:00:00,page_view,"shoes, red"\n'
        'u2,2025-01-01 10:00:00,page_view,"two\nlines"\n'
        "u3,2025-01-01 10:00:00,page_view,hats\n"
    )
    events, report = _load(path)
    assert report.rows_read == 3 and report.rows_kept == 3
    assert sorted(events["category"].to_list()) == ["hats", "shoes, red", "two\nlines"]


def test_truncated_gzip_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv.gz"
    body = ("\n".join([HEADER, *[_row(i) for i in range(20_000)]]) + "\n").encode()
    packed = gzip.compress(body)
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(InputError) as info:
        inspect_source([path])
    assert "cut off" in str(info.value) and str(path) in str(info.value)


def test_gzip_members_and_zero_padding_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "two.csv.gz"
    first = "\n".join([HEADER, _row(1)]) + "\n"
    path.write_bytes(gzip.compress(first.encode()) + gzip.compress(_row(2).encode() + b"\n"))
    path.write_bytes(path.read_bytes() + b"\x00" * 16)
    assert scan_line_ends(path, gzipped=True).size == len(first) + len(_row(2)) + 1


def test_gzip_bomb_is_refused_past_the_bound(tmp_path: Path) -> None:
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n" + b"1,2\n" * 500_000))
    with pytest.raises(InputError) as info:
        scan_line_ends(path, gzipped=True, limit=1_000_000)
    assert "inflates to more than" in str(info.value) and "Gunzip it" in str(info.value)


def test_ndjson_with_a_broken_line_names_it(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    lines = [
        json.dumps({"user_id": f"u{i}", "timestamp": "2025-01-01T10:00:00Z", "event": "x"})
        for i in range(30)
    ]
    lines[20] = lines[20][:25]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as info:
        load_events([path])
    assert info.value.row == 21 and "not valid JSON" in str(info.value)
    assert str(path) in str(info.value)
