"""``scripts/check_log.py``'s own pieces: the cut of a log into a history and new files keeps
every byte and record, and the comparisons report exactly the users that disagree."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import polars as pl
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_log.py"
spec = importlib.util.spec_from_file_location("check_log", SCRIPT)
assert spec is not None and spec.loader is not None
check_log = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_log)

HEADER = "user_id,ts,event,category\r\n"
ROWS = [
    'u1,2024-01-01T00:00:00Z,view,"shoes\r\nand boots"\r\n',  # a quoted line break
    "u2,2024-01-02T00:00:00Z,view,hats\u2028caps\r\n",  # a break str.splitlines would cut at
    'u3,2024-01-03T00:00:00Z,cart,"say ""hi""\nthere"\r\n',  # doubled quotes, then a break
    "u4,2024-01-04T00:00:00Z,view,socks\x1c\r\n",
    "u5,2024-01-05T00:00:00Z,purchase,bags\r\n",
]


def test_a_csv_is_cut_at_record_ends_only_with_its_bytes_as_they_were(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_bytes((HEADER + "".join(ROWS)).encode())
    history, parts = check_log.cut_rows(log, tmp_path / "cut", parts=2, history_share=0.4)
    texts = [p.read_bytes().decode() for p in (history, *parts)]
    assert [t[: len(HEADER)] for t in texts] == [HEADER] * 3
    assert [t[len(HEADER) :] for t in texts] == ["".join(ROWS[:2]), "".join(ROWS[2:4]), ROWS[4]]
    read = pl.concat([pl.read_csv(p) for p in (history, *parts)])
    assert read["category"].to_list() == [
        "shoes\r\nand boots",
        "hats\u2028caps",
        'say "hi"\nthere',
        "socks\x1c",
        "bags",
    ]


def test_ndjson_is_cut_at_newlines_with_no_header(tmp_path: Path) -> None:
    records = [f'{{"user_id": "u{i}", "note": "a\\nb\u2028c"}}\n' for i in range(5)]
    log = tmp_path / "log.ndjson"
    log.write_text("".join(records), encoding="utf-8")
    history, parts = check_log.cut_rows(log, tmp_path / "cut", parts=3, history_share=0.6)
    assert [p.read_text(encoding="utf-8") for p in (history, *parts)] == [
        "".join(records[:3]),
        records[3],
        records[4],
    ]


def labels(pairs: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame({"user_id": list(pairs), "segment_id": list(pairs.values())})


def test_labels_that_agree_give_nothing_and_one_that_differs_is_named() -> None:
    expected = labels({"a": 0, "b": 1, "c": 1})
    assert check_log.compare_labels(expected, labels({"c": 1, "a": 0, "b": 1}), "x") == []
    problems = check_log.compare_labels(expected, labels({"a": 0, "b": 0, "c": 1}), "sql")
    assert problems == ["sql: 1 users labelled differently, e.g. [('b', 1, 0)]"]
    missing = check_log.compare_labels(expected, labels({"a": 0, "b": 1, "d": 1}), "watch")
    assert missing == ["watch: 1 users missing (e.g. ['c']), 1 not expected (e.g. ['d'])"]


@pytest.mark.parametrize(("relative", "differs"), [(1e-10, False), (1e-8, True)])
def test_features_differ_past_a_relative_1e_9(relative: float, differs: bool) -> None:
    expected = pl.DataFrame({"user_id": ["a", "b"], "f": [1000.0, None], "g": [1.0, 2.0]})
    got = pl.DataFrame(
        {"user_id": ["b", "a"], "f": [None, 1000.0 * (1 + relative)], "g": [2.0, 1.0]}
    )
    problems = check_log.compare_features(expected, got, "duckdb")
    assert problems == (
        [f"duckdb: f differs for 1 users, e.g. [('a', 1000.0, {1000.0 * (1 + relative)!r})]"]
        if differs
        else []
    )


def test_a_null_against_a_value_is_a_difference() -> None:
    expected = pl.DataFrame(
        {"user_id": ["a"], "f": [None]}, schema={"user_id": pl.Utf8, "f": pl.Float64}
    )
    got = pl.DataFrame({"user_id": ["a"], "f": [0.0]})
    assert check_log.compare_features(expected, got, "spark") == [
        "spark: f differs for 1 users, e.g. [('a', None, 0.0)]"
    ]
