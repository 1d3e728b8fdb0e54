"""segtui.cli.options: the options several commands share, and their parsers."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from segtui.cli import features_cmd, inspect_cmd, segment_cmd
from segtui.cli.options import feature_names, load_options, parse_as_of
from segtui.errors import InputError

LOADING_FLAGS = {"--map", "--mapping", "--strict", "--session-gap", "--day-first", "--layout"}


def test_parse_as_of_forms() -> None:
    assert parse_as_of("2024-03-02").isoformat() == "2024-03-02T00:00:00+00:00"
    assert parse_as_of("2024-03-02T10:30:00").isoformat() == "2024-03-02T10:30:00+00:00"
    assert parse_as_of("2024-03-02T10:30:00+02:00").isoformat() == "2024-03-02T08:30:00+00:00"
    assert parse_as_of("2024-03-02T10:30:00Z").isoformat() == "2024-03-02T10:30:00+00:00"
    with pytest.raises(InputError, match="not a date or date-time"):
        parse_as_of("yesterday")


def test_feature_names() -> None:
    assert feature_names(None) is None
    assert feature_names(" events, revenue ,,") == ["events", "revenue"]
    with pytest.raises(InputError, match="names no feature"):
        feature_names(" , ")


def test_load_options() -> None:
    options = load_options(["ts=when", "user_id=who"], Path("m.toml"), True, 45.0, False, "ga4")
    assert options.overrides == {"ts": "when", "user_id": "who"}
    assert options.mapping_file == Path("m.toml")
    assert options.strict is True
    assert options.session_gap_minutes == 45.0
    assert options.day_first is False
    assert options.layout == "ga4"
    bare = load_options(None, None, False, 30.0, None, None)
    assert (bare.overrides, bare.mapping_file, bare.layout, bare.day_first) == (
        {},
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    "command",
    [
        inspect_cmd.inspect,
        features_cmd.features,
        segment_cmd.segment,
        segment_cmd.sweep,
        segment_cmd.assign,
    ],
)
def test_every_loading_command_takes_the_loading_flags(command) -> None:
    app = typer.Typer()
    app.command()(command)
    params = typer.main.get_command(app).params
    flags = {opt for p in params for opt in p.opts if opt.startswith("--")}
    assert flags >= LOADING_FLAGS
