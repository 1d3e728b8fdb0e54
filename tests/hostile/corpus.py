"""The hostile corpus of issue 12: one builder per class of hostile input, each writing its tiny
files into a folder and saying which commands read them and what each must answer.

Every file is generated here (nothing big is committed). A :class:`Case` lists :class:`Run`s:
one per command that reads that kind of file (events, model, mapping, feature file, project,
output path, flag), each refused (exit 2, a message naming the file or flag) or read (exit 0,
the output saying what was counted). The tests run them in-process through the CLI's entry
point, once per class as a subprocess, and the data files through the app's open screen.
"""

from __future__ import annotations

import atexit
import functools
import gzip
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from segtui.ingest.events import load_events
from segtui.ingest.mapping import save_mapping

HEADER = "user_id,ts,event,price"
FAST = ("-k", "2", "--no-stability")
"""Flags that keep a fit on a tiny file to a fraction of a second."""


@dataclass(frozen=True)
class Run:
    """One command on the hostile input and what it must answer."""

    argv: tuple[str, ...]
    named: str
    """Text the message must hold: the hostile file's path, or the flag."""
    says: str
    """A fragment of what must be said (the reason, or what was counted)."""
    refused: bool = True
    outputs: tuple[str, ...] = ()
    """Files a read run may write (names in the case folder)."""

    @property
    def command(self) -> str:
        return next(a for a in self.argv if not a.startswith("-"))


@dataclass
class Case:
    """A class of hostile input: its runs and, for data files, what the app's open screen opens."""

    name: str
    runs: list[Run]
    app_path: Path | None = None
    """A data file the app's open screen is given (None: the class is not a data file)."""


# ---- the good pieces every case reuses: a tiny event log and a model fitted on it


def good_rows(users: int = 24, rows: int = 240) -> list[str]:
    """Rows of three kinds of users over a month; user ``u1`` is always there."""
    out = []
    for i in range(rows):
        u = i % users
        event = ("page_view", "add_to_cart", "purchase")[(i * 7 + u) % 3]
        price = "" if event != "purchase" else str(5 + u * 3 + i % 7)
        out.append(
            f"u{u},2025-03-{1 + (i * 5 + u) % 28:02d} {10 + u % 8}:{i % 60:02d}:00,{event},{price}"
        )
    return out


@dataclass(frozen=True)
class Kit:
    folder: Path
    events: Path
    model: Path


@functools.cache
def kit() -> Kit:
    """A good events file and a K-Means model of it, built once per test process."""
    from segtui.cli.main import app

    folder = Path(tempfile.mkdtemp(prefix="segtui-hostile-kit-"))
    atexit.register(shutil.rmtree, folder, True)
    events = folder / "good.csv"
    events.write_text("\n".join([HEADER, *good_rows()]) + "\n")
    result = CliRunner().invoke(
        app,
        ["segment", str(events), "-o", str(folder / "good.parquet"), "-k", "3", "--no-stability"],
    )
    assert result.exit_code == 0, result.output
    return Kit(folder, events, folder / "good.model.json")


def model_copy(
    folder: Path, name: str = "m.model.json", edit: Callable[[dict], None] | None = None
) -> Path:
    """The kit's model in ``folder`` (edited by ``edit``), so the snapshot covers it too."""
    data = json.loads(kit().model.read_text())
    if edit is not None:
        edit(data)
    path = folder / name
    path.write_text(json.dumps(data))
    return path


def events_copy(folder: Path) -> Path:
    path = folder / "events.csv"
    shutil.copyfile(kit().events, path)
    return path


# ---- commands by the kind of file they read


def data_runs(
    path: Path, folder: Path, named: str, says: str, *, refused: bool = True
) -> list[Run]:
    """Every command that reads event files, on ``path``."""
    model = model_copy(folder)
    f, m = str(path), str(model)
    return [
        Run(("inspect", f), named, says, refused),
        Run(("features", f, "-o", str(folder / "f.parquet")), named, says, refused, ("f.parquet",)),
        Run(("features", "--list", f), named, says if refused else "", refused),
        Run(
            ("segment", f, "-o", str(folder / "s.parquet"), *FAST),
            named,
            says,
            refused,
            ("s.parquet", "s.model.json"),
        ),
        Run(("sweep", f, "-k", "2..3", "--no-stability"), named, says, refused),
        Run(
            ("assign", m, f, "-o", str(folder / "l.parquet")), named, says, refused, ("l.parquet",)
        ),
        Run(("explain", m, f, "--user", "u1"), named, says, refused),
    ]


def model_runs(model: Path, folder: Path, says: str) -> list[Run]:
    """Every command that reads a model, with ``model``."""
    events, m = str(events_copy(folder)), str(model)
    return [
        Run(("assign", m, events, "-o", str(folder / "l.parquet")), m, says),
        Run(("explain", m, events, "--user", "u1"), m, says),
        Run(("features", "--model", m, events, "-o", str(folder / "f.parquet")), m, says),
        Run(("sql", m), m, says),
    ]


def mapping_runs(mapping: Path, folder: Path, says: str) -> list[Run]:
    """Every command that reads a mapping file (``--mapping``)."""
    events, m = str(events_copy(folder)), str(mapping)
    model = str(model_copy(folder))
    flag = ("--mapping", m)
    return [
        Run(("inspect", events, *flag), m, says),
        Run(("features", events, "-o", str(folder / "f.parquet"), *flag), m, says),
        Run(("segment", events, "-o", str(folder / "s.parquet"), *FAST, *flag), m, says),
        Run(("sweep", events, "-k", "2..3", "--no-stability", *flag), m, says),
        Run(("assign", model, events, "-o", str(folder / "l.parquet"), *flag), m, says),
        Run(("explain", model, events, "--user", "u1", *flag), m, says),
    ]


def feature_file_runs(declared: Path, folder: Path, says: str) -> list[Run]:
    """Every command that reads a feature file (``--feature-file``)."""
    events, t = str(events_copy(folder)), str(declared)
    flag = ("--feature-file", t)
    return [
        Run(("features", events, "-o", str(folder / "f.parquet"), *flag), t, says),
        Run(("features", "--list", *flag), t, says),
        Run(("segment", events, "-o", str(folder / "s.parquet"), *FAST, *flag), t, says),
        Run(("sweep", events, "-k", "2..3", "--no-stability", *flag), t, says),
    ]


def project_runs(project: Path, says: str) -> list[Run]:
    """``open`` reads a project file before the app starts."""
    return [Run(("open", str(project)), str(project), says)]


def output_runs(target: Path, folder: Path, says: str, named: str | None = None) -> list[Run]:
    """Every command that writes a file the person names, writing to ``target``."""
    events = str(events_copy(folder))
    model = str(model_copy(folder))
    parquet, toml = str(target), str(target.with_suffix(".toml"))
    name = named or parquet
    return [
        Run(("segment", events, "-o", parquet, *FAST), name, says),
        Run(("features", events, "-o", parquet), name, says),
        Run(("assign", model, events, "-o", parquet), name, says),
        Run(("inspect", events, "--save-mapping", toml), named or toml, says),
    ]


# ---- the classes


def markup_text(folder: Path) -> Case:
    path = folder / "markup.csv"
    rows = good_rows()
    rows[3] = "u1,[/]bad,purchase,3"
    body = [
        r + ("," + ("[/]fashion[bold" if i % 2 else "[b]x") if i else "")
        for i, r in enumerate(rows)
    ]
    path.write_text("\n".join([HEADER + ",[b]cat[/b", *body]) + "\n")
    runs = data_runs(path, folder, str(path), "[/]bad", refused=False)
    runs = [r if r.command == "inspect" else _quiet(r) for r in runs]
    return Case("markup_text", runs, path)


def _quiet(run: Run) -> Run:
    """A read run whose output need not repeat the hostile text."""
    return Run(run.argv, run.named, "", run.refused, run.outputs)


def output_is_input(folder: Path) -> Case:
    source = folder / "events.parquet"
    pl.read_csv(kit().events).write_parquet(source)
    hard = folder / "hard.parquet"
    hard.hardlink_to(source)
    link = folder / "link.parquet"
    link.symlink_to(source)
    model = model_copy(folder)
    events = events_copy(folder)
    csv_link = folder / "twin.csv"
    csv_link.symlink_to(events)
    mapping = folder / "map.json"
    save_mapping(load_events([events]).mapping, mapping)
    mapped = (
        "segment",
        str(events),
        "-o",
        str(folder / "s.parquet"),
        "--mapping",
        str(mapping),
        *FAST,
    )
    says = "overwrite an input"
    s, m = str(source), str(model)
    runs = [
        Run(("segment", s, "-o", s, *FAST), s, says),
        Run(("segment", s, "-o", str(hard), *FAST), str(hard), says),
        Run(("segment", s, "-o", str(link), *FAST), str(link), says),
        Run(("features", s, "-o", str(link)), str(link), says),
        Run(("features", s, "-o", str(hard)), str(hard), says),
        Run(("assign", m, s, "-o", str(link)), str(link), says),
        Run(("assign", m, s, "-o", str(hard)), str(hard), says),
        Run((*mapped, "--model", str(mapping)), str(mapping), says),
        Run(
            ("inspect", str(events), "--mapping", str(mapping), "--save-mapping", str(mapping)),
            str(mapping),
            says,
        ),
        Run(
            ("segment", str(events), "-o", str(folder / "twin.parquet"), "--csv", *FAST),
            str(csv_link),
            says,
        ),
    ]
    return Case("output_is_input", runs)


def _deep_rule(folder: Path) -> list[Run]:
    events = str(events_copy(folder))
    out = str(folder / "s.parquet")
    rules = [
        "Deep: " + "(" * 330 + "events > 1" + ")" * 330,
        "Nots: " + "not " * 5000 + "events > 1",
    ]
    return [
        Run(("segment", events, "-o", out, *FAST, "--rule", r), "rule: ", "nests more than 100")
        for r in rules
    ]


def deep_rule(folder: Path) -> Case:
    return Case("deep_rule", _deep_rule(folder))


def deep_json(folder: Path) -> Case:
    model = folder / "deep.model.json"
    model.write_text("[" * 100_000 + "]" * 100_000)
    nested = folder / "nested.model.json"
    nested.write_text('{"format": "segtui.model", "x": ' + "[" * 70 + "]" * 70 + "}")
    runs = model_runs(model, folder, "nested more than 64")
    runs += model_runs(nested, folder, "nested more than 64")
    return Case("deep_json", runs)


def deep_toml(folder: Path) -> Case:
    mapping = folder / "deep_mapping.toml"
    mapping.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    declared = folder / "deep_features.toml"
    declared.write_text("[[feature]]\nname = 'x'\nq = " + "[" * 40 + "]" * 40 + "\n")
    project = folder / "deep.segtui.json"
    project.write_text('{"format": "segtui.project", "x": ' + "[" * 70 + "]" * 70 + "}")
    runs = mapping_runs(mapping, folder, "nested more than 32")
    runs += feature_file_runs(declared, folder, "nested more than 32")
    runs += project_runs(project, "nested more than 64")
    return Case("deep_toml", runs)


def huge_numbers(folder: Path) -> Case:
    events = str(events_copy(folder))
    out = str(folder / "s.parquet")
    runs = [
        Run(
            ("segment", events, "-o", out, *FAST, "--rule", "Big: events > " + "9" * 5000),
            "rule: ",
            "300 digits",
        )
    ]
    for name, value in (("v.model.json", "9" * 5000), ("w.model.json", "1" + "0" * 30)):
        plain = json.dumps(json.loads(kit().model.read_text()))
        text = re.sub(r'"schema_version": \d+,', f'"schema_version": {value},', plain)
        assert text != plain
        model = folder / name
        model.write_text(text)
        runs += model_runs(model, folder, "")
    return Case("huge_numbers", runs)


def fifo(folder: Path) -> Case:
    pipes = {
        name: folder / name
        for name in ("p.model.json", "p_mapping.toml", "p_features.toml", "p.segtui.json", "p.csv")
    }
    for pipe in pipes.values():
        os.mkfifo(pipe)
    says = "named pipe"
    runs = model_runs(pipes["p.model.json"], folder, says)
    runs += mapping_runs(pipes["p_mapping.toml"], folder, says)
    runs += feature_file_runs(pipes["p_features.toml"], folder, says)
    runs += project_runs(pipes["p.segtui.json"], says)
    data = str(pipes["p.csv"])
    runs += [
        Run(("inspect", data), data, "named pipe"),
        Run(("segment", data, "-o", str(folder / "s.parquet"), *FAST), data, "named pipe"),
    ]
    return Case("fifo", runs, pipes["p.csv"])


def hostile_model_fields(folder: Path) -> Case:
    def null_features(d: dict) -> None:
        d["prepare"]["features"] = None

    def null_feature(d: dict) -> None:
        d["prepare"]["features"][0] = None

    def labels_out_of_range(d: dict) -> None:
        d["cluster"]["state"]["center_labels"][0] = 99

    def negative_label(d: dict) -> None:
        d["cluster"]["state"]["center_labels"][0] = -5

    def huge_label(d: dict) -> None:
        d["cluster"]["state"]["center_labels"][0] = 10**30

    def huge_center(d: dict) -> None:
        d["cluster"]["state"]["centers"][0][0] = 1e308

    def missing_center(d: dict) -> None:
        d["cluster"]["state"]["centers"].pop()

    runs = []
    for edit in (
        null_features,
        null_feature,
        labels_out_of_range,
        negative_label,
        huge_label,
        huge_center,
        missing_center,
    ):
        model = model_copy(folder, f"{edit.__name__}.model.json", edit)
        runs += model_runs(model, folder, "")
    return Case("hostile_model_fields", runs)


def mixed_epoch(folder: Path) -> Case:
    path = folder / "epoch.csv"
    base = 1735689600
    rows = [
        f"u{i % 6},{(base + i * 3600) * (1000 if i % 2 else 1)},purchase,{3 + i % 5}"
        for i in range(60)
    ]
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    runs = data_runs(path, folder, str(path), "MIXED units", refused=False)
    runs = [r if r.command == "inspect" else _quiet(r) for r in runs]
    return Case("mixed_epoch", runs, path)


def mixed_line_endings(folder: Path) -> Case:
    path = folder / "ends.csv"
    rows = [HEADER, *good_rows()]
    ends = ["\n", "\r\n", "\r"]
    path.write_bytes("".join(r + ends[j % 3] for j, r in enumerate(rows)).encode())
    runs = data_runs(path, folder, str(path), "rows read: 240; kept: 240", refused=False)
    runs = [r if r.command == "inspect" else _quiet(r) for r in runs]
    return Case("mixed_line_endings", runs, path)


def non_finite(folder: Path) -> Case:
    path = folder / "prices.csv"
    rows = good_rows()
    for i, bad in zip((2, 5, 8, 11), ("nan", "inf", "1e309", "-inf"), strict=True):
        user, ts, _, _ = rows[i].split(",")
        rows[i] = f"{user},{ts},purchase,{bad}"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    runs = data_runs(path, folder, str(path), "1e309", refused=False)
    runs = [r if r.command == "inspect" else _quiet(r) for r in runs]
    return Case("non_finite", runs, path)


def duplicate_columns(folder: Path) -> Case:
    path = folder / "dup.csv"
    path.write_text("\n".join([HEADER + ",price", *(r + ",1" for r in good_rows())]) + "\n")
    return Case(
        "duplicate_columns", data_runs(path, folder, str(path), "two columns 'price'"), path
    )


def ragged_rows(folder: Path) -> Case:
    path = folder / "ragged.csv"
    rows = good_rows()
    rows[3] = "u1,2025-03-02 10:00:00,purchase"
    rows[6] = "u2,2025-03-02 10:00:00,purchase,3,99"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    runs = data_runs(path, folder, str(path), "ragged", refused=False)
    runs = [r if r.command == "inspect" else _quiet(r) for r in runs]
    runs.append(Run(("inspect", str(path), "--strict"), str(path), "ragged"))
    return Case("ragged_rows", runs, path)


def truncated_gzip(folder: Path) -> Case:
    path = folder / "cut.csv.gz"
    body = ("\n".join([HEADER, *good_rows(rows=20_000)]) + "\n").encode()
    packed = gzip.compress(body)
    path.write_bytes(packed[: len(packed) // 2])
    return Case("truncated_gzip", data_runs(path, folder, str(path), "cut off"), path)


def broken_ndjson(folder: Path) -> Case:
    path = folder / "events.ndjson"
    lines = []
    for row in good_rows():
        user, ts, event, price = row.split(",")
        lines.append(
            json.dumps({"user_id": user, "timestamp": ts, "event": event, "price": price or None})
        )
    lines[20] = lines[20][:25]
    path.write_text("\n".join(lines) + "\n")
    return Case("broken_ndjson", data_runs(path, folder, str(path), "not valid JSON"), path)


BOMB_MEMBER = 64 * 1024 * 1024
"""Each gzip member of the subprocess's bomb inflates to 64 MiB of line breaks."""


def gzip_bomb(folder: Path, members: int = 1, member_size: int = 8 * 1024 * 1024) -> Case:
    """A gzip file inflating ~1000x; the in-process runs lower the bound (see the test), the
    subprocess reads a real one past segtui's 256 MiB floor."""
    path = folder / "bomb.csv.gz"
    head = gzip.compress((HEADER + "\n" + good_rows()[1] + "\n").encode(), 9)
    member = gzip.compress(b"\n" * member_size, 9)
    with path.open("wb") as fh:
        fh.write(head)
        for _ in range(members):
            fh.write(member)
    return Case("gzip_bomb", data_runs(path, folder, str(path), "inflates to more than"), path)


def output_path(folder: Path) -> Case:
    (folder / "taken.parquet").mkdir()
    (folder / "taken.toml").mkdir()
    runs = output_runs(folder / "taken.parquet", folder, "folder")
    runs += output_runs(Path("/proc/segtui-hostile.parquet"), folder, "/proc")
    locked = folder / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if os.geteuid() != 0:  # root writes into a read-only folder; /proc stands in for it then
        runs += output_runs(locked / "x.parquet", folder, "permission denied", str(locked))
    runs.append(
        Run(("sample", "-n", "10", "-o", "/proc/segtui-hostile"), "/proc/segtui-hostile", "")
    )
    return Case("output_path", runs)


def session_gap_nan(folder: Path) -> Case:
    events = str(events_copy(folder))
    model = str(model_copy(folder))
    gap = ("--session-gap", "nan")
    says = "--session-gap"
    runs = [
        Run(("inspect", events, *gap), says, "nan"),
        Run(("features", events, "-o", str(folder / "f.parquet"), *gap), says, "nan"),
        Run(("segment", events, "-o", str(folder / "s.parquet"), *FAST, *gap), says, "nan"),
        Run(("sweep", events, "-k", "2..3", *gap), says, "nan"),
        Run(("assign", model, events, "-o", str(folder / "l.parquet"), *gap), says, "nan"),
        Run(("explain", model, events, "--user", "u1", *gap), says, "nan"),
        Run(("open", events, *gap), says, "nan"),
    ]
    return Case("session_gap_nan", runs)


def k_past_distinct(folder: Path) -> Case:
    path = folder / "same.csv"
    rows = []  # two kinds of users, each kind identical: 2 distinct points
    for i in range(40):
        events = ("purchase",) if i % 2 else ("page_view", "page_view", "add_to_cart")
        for j, event in enumerate(events):
            price = "5" if event == "purchase" else ""
            rows.append(f"u{i},2025-03-0{1 + j} 10:00:00,{event},{price}")
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    f = str(path)
    runs = [
        Run(
            (
                "segment",
                f,
                "-o",
                str(folder / "s.parquet"),
                "-k",
                "5",
                "--algo",
                "agglomerative",
                "--no-stability",
            ),
            f,
            "distinct",
        ),
        Run(
            ("segment", f, "-o", str(folder / "s.parquet"), "-k", "5", "--no-stability"),
            f,
            "distinct",
        ),
        Run(("sweep", f, "-k", "2..5", "--algo", "agglomerative", "--no-stability"), f, "distinct"),
    ]
    return Case("k_past_distinct", runs)  # the app reads it; the refusal comes at the fit


CONTROL = "\x1b[2J\b\u202e\x07\x9b"
"""Controls a CSV can hold in a field (a CR ends a row and a NUL makes the file binary; both
are in the missing file name below)."""


def control_chars(folder: Path) -> Case:
    path = folder / "control.csv"
    rows = good_rows()
    body = []
    for i, row in enumerate(rows):
        user, ts, event, price = row.split(",")
        if i % 4 == 0:
            event = f"view{CONTROL}x"
        body.append(",".join([user, ts, event, price, f"c{CONTROL}{i % 3}"]))
    path.write_text("\n".join([HEADER + f",cat{CONTROL}egory", *body]) + "\n")
    runs = data_runs(path, folder, str(path), "\\x1b[2J", refused=False)
    runs = [r if r.command == "inspect" else _quiet(r) for r in runs]
    missing = str(folder / "no\x1b[2J\r\b\u202e\x00such.csv")
    shown = str(folder / "no\\x1b[2J\\x0d\\x08\\u202e\\x00such.csv")
    runs.append(Run(("inspect", missing), shown, "matches no files"))
    runs.append(
        Run(("segment", missing, "-o", str(folder / "s.parquet")), shown, "matches no files")
    )
    return Case("control_chars", runs, path)


CLASSES: dict[str, Callable[[Path], Case]] = {
    builder.__name__: builder
    for builder in (
        markup_text,
        output_is_input,
        deep_rule,
        deep_json,
        deep_toml,
        huge_numbers,
        fifo,
        hostile_model_fields,
        mixed_epoch,
        mixed_line_endings,
        non_finite,
        duplicate_columns,
        ragged_rows,
        truncated_gzip,
        broken_ndjson,
        gzip_bomb,
        output_path,
        session_gap_nan,
        k_past_distinct,
        control_chars,
    )
}


# ---- what a run must leave: the folder as it was (read runs: plus their declared outputs)


def snapshot(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Every entry under ``folder``: kind, size and mtime (symlinks as links, not followed)."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(root) / name
            info = path.lstat()
            kind = (
                "link"
                if stat.S_ISLNK(info.st_mode)
                else "dir"
                if stat.S_ISDIR(info.st_mode)
                else "file"
            )
            size = 0 if kind == "dir" else info.st_size
            mtime = 0 if kind == "dir" else info.st_mtime_ns
            out[str(path.relative_to(folder))] = (kind, size, mtime)
    return out


def check_left(
    before: dict[str, tuple[str, int, int]], after: dict[str, tuple[str, int, int]], run: Run
) -> None:
    """Nothing changed; a read run added only its declared outputs and no temp file survived."""
    changed = {k for k in before if after.get(k) != before[k]}
    assert not changed, f"{run.argv}: changed or removed {sorted(changed)}"
    added = set(after) - set(before)
    allowed = set() if run.refused else set(run.outputs)
    assert added <= allowed, f"{run.argv}: left behind {sorted(added - allowed)}"


def cleanup(folder: Path) -> Iterator[None]:
    """Undo what would stop a case folder from being removed (a read-only sub-folder)."""
    yield
    locked = folder / "locked"
    if locked.exists():
        locked.chmod(0o700)
