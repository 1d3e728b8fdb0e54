"""Issue 12, item 16: terminal control characters in file or user text are shown escaped by
the CLI, never obeyed: every command prints through ``segtui.cli.output``."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from segtui.errors import terminal_safe

from .corpus import HEADER, good_rows

CLI = Path(__file__).resolve().parents[2] / "segtui" / "cli"
RAW_PRINTS = {"print", "typer.echo", "click.echo", "sys.stdout.write", "sys.stderr.write"}
RAW = ("\x1b", "\r", "\b", "\x00", "\u202e", "\x07", "\x9b", "\u2066")


def test_terminal_safe_shows_every_control_and_bidi_character() -> None:
    text = "a\x1b[2Jb\rc\bd\x00e\u202ef\u2066g\x9bh\x7fi\u200fj\u2028k"
    shown = terminal_safe(text)
    assert shown == ("a\\x1b[2Jb\\x0dc\\x08d\\x00e\\u202ef\\u2066g\\x9bh\\x7fi\\u200fj\\u2028k")
    assert terminal_safe(shown) == shown  # nothing left to escape
    assert terminal_safe("line\n\tnext") == "line\n\tnext"  # a paragraph keeps its breaks
    assert terminal_safe("line\n\tnext", breaks=False) == "line\\x0a\\x09next"
    assert terminal_safe("plain ünïcode [b]markup[/b]") == "plain ünïcode [b]markup[/b]"


def _run(*args: object):
    from segtui.cli.main import app

    return CliRunner().invoke(app, [str(a) for a in args])


def _hostile_events(tmp_path: Path) -> Path:
    """Control characters in a column name, in event names and in a category value."""
    path = tmp_path / "ctl.csv"
    rows = []
    for i, row in enumerate(good_rows()):
        user, ts, event, price = row.split(",")
        event = "evil\x1b[31m\u202eevent" if i % 5 == 0 else event
        rows.append(",".join([user, ts, event, price, f"shoes\x1b]0;title\x07{i % 2}"]))
    path.write_text("\n".join([HEADER + ",cat\bgory\x9b", *rows]) + "\n")
    return path


def _no_raw(text: str) -> None:
    for control in RAW:
        assert control not in text, f"raw {control!r} in:\n{text}"


def test_inspect_shows_hostile_names_and_values_escaped(tmp_path: Path) -> None:
    path = _hostile_events(tmp_path)
    result = _run("inspect", path)
    assert result.exit_code == 0, result.output
    _no_raw(result.output)
    assert "evil\\x1b[31m\\u202eevent" in result.stdout  # events by type
    assert "cat\\x08gory\\x9b" in result.stdout  # the mapping table's source column
    data = json.loads(_run("inspect", path, "--json").stdout)  # JSON escapes; parses back
    assert "cat\bgory\x9b" in data["source"]["columns"]


def test_features_list_and_segment_tables_show_hostile_text_escaped(tmp_path: Path) -> None:
    path = _hostile_events(tmp_path)
    listed = _run("features", "--list", path)
    assert listed.exit_code == 0, listed.output
    _no_raw(listed.output)
    out = tmp_path / "s.parquet"
    rule = "Red\x1b[31m\r\u202eteam: events > 1"
    seg = _run("segment", path, "-o", out, "-k", "2", "--no-stability", "--rule", rule)
    assert seg.exit_code == 0, seg.output
    _no_raw(seg.output)
    shown = "Red\\x1b[31m \\u202eteam"  # a name's whitespace (the CR) is collapsed to a space
    assert shown in seg.stdout  # the profile table's name column
    model = out.with_name("s.model.json")
    labels = _run("assign", model, path, "-o", tmp_path / "l.parquet")
    assert labels.exit_code == 0, labels.output
    _no_raw(labels.output)
    assert shown in labels.stdout
    why = _run("explain", model, path, "--user", "u1")
    assert why.exit_code == 0, why.output
    _no_raw(why.output)


def test_an_error_naming_hostile_text_shows_it_escaped(tmp_path: Path) -> None:
    result = _run(
        "segment",
        _hostile_events(tmp_path),
        "-o",
        tmp_path / "s.parquet",
        "--features",
        "events,no\x1b[2Jsuch",
    )
    assert result.exit_code == 2
    _no_raw(result.output)
    assert "no\\x1b[2Jsuch" in result.stderr


def test_the_cli_prints_only_through_its_output_helper() -> None:
    """No raw typer.echo / print / sys.stdout.write in the commands: text from files could reach
    the terminal unescaped (``segtui --version`` in cli/__init__ prints a constant)."""
    allowed = {"output.py", "__init__.py"}
    found = []
    for path in sorted(CLI.glob("*.py")):
        if path.name in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = ast.unparse(node.func)
                if func in (
                    "print",
                    "typer.echo",
                    "click.echo",
                    "sys.stdout.write",
                    "sys.stderr.write",
                ):
                    found.append(f"{path.name}:{node.lineno} {func}")
    assert not found, found


def test_sql_stays_exact_in_a_pipe_and_is_escaped_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from segtui.cli.output import echo_exact

    query = "SELECT 'Red\x1b[31m' AS segment"
    echo_exact(query)
    assert capsys.readouterr().out == query + "\n"
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    echo_exact(query)
    shown = capsys.readouterr()
    assert shown.out == "SELECT 'Red\\x1b[31m' AS segment\n"
    assert "redirect it to a file" in shown.err
