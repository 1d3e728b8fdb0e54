"""Hostile sizes are refused with a message, never recursed into or overflowed (issue 12, item 3).

Bounds: rules past 100,000 characters or nested past 100 levels, numbers past 300 digits, JSON
nested past 64 levels, TOML past 32, whole numbers past 64 bits (segment ids past 2^31).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from segtui.artifacts.model import read_model
from segtui.artifacts.project import load_project
from segtui.errors import InputError
from segtui.features.files import load_feature_file
from segtui.ingest.mapping import load_mapping
from segtui.segments.edits import EditDataError, edit_from_dict
from segtui.segments.rules import MAX_NESTING, RuleError, parse_rule

COMPAT_MODEL = Path(__file__).resolve().parent / "data" / "compat" / "edited_v0_1.model.json"


def test_rule_nesting_up_to_the_bound_parses_and_past_it_is_refused() -> None:
    deep = "(" * MAX_NESTING + "a > 1" + ")" * MAX_NESTING
    assert parse_rule(deep).features_used == ("a",)
    with pytest.raises(RuleError, match="nests more than 100"):
        parse_rule("(" + deep + ")")
    with pytest.raises(RuleError, match="nests more than 100"):
        parse_rule("not " * 5000 + "a > 1")
    with pytest.raises(RuleError, match="nests more than 100"):
        parse_rule("(" * 330 + "a > 1" + ")" * 330)


def test_huge_rules_and_numbers_are_refused() -> None:
    with pytest.raises(RuleError, match="more than 300 digits"):
        parse_rule("a > " + "9" * 5000)
    assert parse_rule("a > " + "9" * 300).features_used == ("a",)
    with pytest.raises(RuleError, match="100,000"):
        parse_rule("a > 1 or " * 20_000 + "a > 2")


def test_a_deeply_nested_model_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.model.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="nested more than 64"):
        read_model(path)
    path.write_text('{"format": "segtui.model", "x": ' + "[" * 70 + "]" * 70 + "}")
    with pytest.raises(InputError, match="nested more than 64"):
        read_model(path)


@pytest.mark.parametrize("version", ["9" * 5000, "1" + "0" * 30])
def test_absurd_numbers_in_a_model_are_refused(tmp_path: Path, version: str) -> None:
    data = COMPAT_MODEL.read_text().replace('"schema_version":1', f'"schema_version":{version}')
    path = tmp_path / "m.model.json"
    path.write_text(data)
    with pytest.raises(InputError) as info:
        read_model(path)
    assert str(path) in str(info.value)


def test_segment_ids_past_int32_are_refused_in_edits() -> None:
    with pytest.raises(EditDataError):
        edit_from_dict({"op": "rename", "segment_id": 10**30, "name": "x"})
    with pytest.raises(EditDataError):
        edit_from_dict({"op": "rename", "segment_id": 2**31, "name": "x"})


def test_deep_toml_and_json_inputs_are_refused(tmp_path: Path) -> None:
    toml = tmp_path / "deep.toml"
    toml.write_text("x = " + "[" * 40 + "]" * 40 + "\n")
    with pytest.raises(InputError, match="nested more than 32"):
        load_mapping(toml)
    with pytest.raises(InputError, match="nested more than 32"):
        load_feature_file(toml)
    toml.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(InputError, match="nested more than 32"):
        load_feature_file(toml)
    project = tmp_path / "deep.segtui.json"
    project.write_text('{"features": ' + "[" * 100 + "]" * 100 + "}")
    with pytest.raises(InputError, match="nested more than 64"):
        load_project(project)


def test_a_center_of_1e308_is_refused_not_used(tmp_path: Path) -> None:
    data = json.loads(COMPAT_MODEL.read_text())
    data["cluster"]["state"]["centers"][0][0] = 1e308
    path = tmp_path / "m.model.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="too large for a fitted model"):
        read_model(path)


def test_terminal_control_characters_in_messages_are_shown_not_obeyed(tmp_path: Path) -> None:
    """Issue 12, item 16: an escape sequence in a file name or value never reaches the terminal."""
    bad = tmp_path / "evil\x1b[2J.csv"
    with pytest.raises(InputError) as info:
        read_model(bad)
    text = info.value.describe()
    assert "\x1b" not in text and "\\x1b[2J" in text
    with pytest.raises(RuleError) as rule_info:
        parse_rule("a > \x1b[31m")
    shown = rule_info.value.describe()
    assert "\x1b" not in shown
    rule_line, caret_line = shown.splitlines()[-2:]
    assert caret_line.index("^") == rule_line.index("?")
