"""Each timestamp form parses to an exact UTC value; the format is decided on the values."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from segtui.errors import InputError
from segtui.ingest.timestamps import (
    decide_day_first,
    epoch_unit_for,
    parse_timestamps,
    plan_timestamps,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2024-03-05T14:30:00Z"], utc(2024, 3, 5, 14, 30)),
        (["2024-03-05T14:30:00.123Z"], utc(2024, 3, 5, 14, 30, 0, 123000)),
        (["2024-03-05T14:30:00+02:00"], utc(2024, 3, 5, 12, 30)),
        (["2024-03-05T14:30:00-0500"], utc(2024, 3, 5, 19, 30)),
        (["2024-03-05 14:30:00+01:00"], utc(2024, 3, 5, 13, 30)),
        (["2024-03-05T14:30:00"], utc(2024, 3, 5, 14, 30)),
        (["2024-03-05 14:30:00.5"], utc(2024, 3, 5, 14, 30, 0, 500000)),
        (["2024-03-05T14:30"], utc(2024, 3, 5, 14, 30)),
        (["2024-03-05"], utc(2024, 3, 5)),
        (["2019-10-01 00:00:07 UTC"], utc(2019, 10, 1, 0, 0, 7)),
        (["12/1/2010 8:26", "12/13/2010 17:06"], utc(2010, 12, 1, 8, 26)),
        (["1/12/2010 8:26", "13/12/2010 17:06"], utc(2010, 12, 1, 8, 26)),
        (["3/4/2024 08:05:09", "3/14/2024 10:00:00"], utc(2024, 3, 4, 8, 5, 9)),
        (["20240305", "20231231"], utc(2024, 3, 5)),
        ([20240305, 20231231], utc(2024, 3, 5)),
        ([1709649000], utc(2024, 3, 5, 14, 30)),
        (["1709649000"], utc(2024, 3, 5, 14, 30)),
        ([1709649000.25], utc(2024, 3, 5, 14, 30, 0, 250000)),
        ([1709649000123], utc(2024, 3, 5, 14, 30, 0, 123000)),
        ([1709649000123456], utc(2024, 3, 5, 14, 30, 0, 123456)),
        (["1709649000123456"], utc(2024, 3, 5, 14, 30, 0, 123456)),
        ([1709649000123456789], utc(2024, 3, 5, 14, 30, 0, 123456)),
    ],
)
def test_each_form_parses_to_exact_utc(values: list, expected: datetime) -> None:
    parsed = parse_timestamps(pl.Series("t", values))
    assert parsed.dtype == pl.Datetime("us", "UTC")
    assert parsed[0] == expected


def test_mixed_offsets_and_naive_in_one_column() -> None:
    parsed = parse_timestamps(pl.Series("t", ["2024-03-05T14:30:00Z", "2024-03-05 14:30:00"]))
    assert parsed.to_list() == [utc(2024, 3, 5, 14, 30), utc(2024, 3, 5, 14, 30)]


def test_datetime_columns_are_converted_to_utc() -> None:
    naive = pl.Series("t", [datetime(2024, 3, 5, 14, 30)])
    assert parse_timestamps(naive)[0] == utc(2024, 3, 5, 14, 30)
    aware = naive.dt.replace_time_zone("Europe/Berlin")
    assert parse_timestamps(aware)[0] == utc(2024, 3, 5, 13, 30)
    dates = pl.Series("t", [datetime(2024, 3, 5).date()])
    assert parse_timestamps(dates)[0] == utc(2024, 3, 5)


def test_day_first_decided_from_data_and_reported() -> None:
    plan = plan_timestamps(pl.Series(["1/2/2024 10:00", "25/2/2024 10:00"]), column="when")
    assert plan.day_first is True
    assert any("day first" in d and "above 12" in d for d in plan.decisions)
    plan = plan_timestamps(pl.Series(["1/2/2024 10:00", "2/25/2024 10:00"]), column="when")
    assert plan.day_first is False


def test_ambiguous_slash_dates_assume_month_first_and_say_so() -> None:
    plan = plan_timestamps(pl.Series(["1/2/2024 10:00"]), column="when")
    assert plan.day_first is False
    assert any("assumed month first" in d and "--day-first" in d for d in plan.decisions)
    forced = parse_timestamps(pl.Series("t", ["1/2/2024 10:00"]), day_first=True)
    assert forced[0] == utc(2024, 2, 1, 10, 0)


def test_decide_day_first_mixed() -> None:
    day_first, reason = decide_day_first(["13/1/2024", "1/13/2024"])
    assert day_first is None
    assert "mixes both orders" in reason


def test_epoch_unit_by_magnitude() -> None:
    assert epoch_unit_for([1.7e9]) == "s"
    assert epoch_unit_for([1.7e12]) == "ms"
    assert epoch_unit_for([1.7e15]) == "us"
    assert epoch_unit_for([1.7e18]) == "ns"
    plan = plan_timestamps(pl.Series([1709649000123]), column="t")
    assert plan.epoch_unit == "auto"
    assert "epoch milliseconds (every sampled value)" in plan.decisions[0]


def test_epoch_units_mixed_in_one_column_are_read_per_value() -> None:
    seconds, millis, micros = 1709649000, 1709649000123, 1709649000123456
    values = pl.Series("t", [seconds, millis, micros, seconds * 1_000_000_000])
    plan = plan_timestamps(values, column="t")
    units = "1 in seconds, 1 in milliseconds, 1 in microseconds, 1 in nanoseconds"
    assert f"MIXED units ({units}" in plan.decisions[0]
    parsed = pl.DataFrame({"t": values}).select(plan.expr("t")).to_series()
    assert parsed.to_list() == [
        utc(2024, 3, 5, 14, 30),
        utc(2024, 3, 5, 14, 30, 0, 123000),
        utc(2024, 3, 5, 14, 30, 0, 123456),
        utc(2024, 3, 5, 14, 30),
    ]
    as_text = parse_timestamps(pl.Series("t", [str(seconds), str(millis)]))
    assert as_text.to_list() == [utc(2024, 3, 5, 14, 30), utc(2024, 3, 5, 14, 30, 0, 123000)]
    as_float = parse_timestamps(pl.Series("t", [float(seconds), float(millis) + 0.5]))
    assert as_float.to_list()[0] == utc(2024, 3, 5, 14, 30)


def test_forced_epoch_unit() -> None:
    parsed = parse_timestamps(pl.Series("t", [1709649000]), epoch_unit="ms")
    assert parsed[0] == utc(1970, 1, 20, 18, 54, 9)


def test_failures_become_null() -> None:
    parsed = parse_timestamps(pl.Series("t", ["2024-03-05T14:30:00Z", "yesterday", None]))
    assert parsed.to_list() == [utc(2024, 3, 5, 14, 30), None, None]


def test_nothing_parses_raises_naming_column() -> None:
    with pytest.raises(InputError) as info:
        plan_timestamps(pl.Series(["soon", "later"]), column="when", file="a.csv")
    assert info.value.column == "when"
    assert "'soon'" in info.value.message
