"""Put one log through every path segtui has and say where two paths disagree.

    python scripts/check_log.py events.csv                 # every check, k = 6
    python scripts/check_log.py tracks.ndjson --engines polars,duckdb --parts 5
    python scripts/check_log.py a.csv b.csv --out /tmp/check --k 4

What a held-out log is checked for, as the CLI runs it (each step a ``segtui`` subprocess):

1. **Engines**: ``segtui features FILES --engine E`` for each engine: the same users, every
   feature within a relative 1e-9, nulls in the same places as polars.
2. **Scoring SQL**: ``segtui segment FILES -k K``, then ``segtui sql MODEL --dialect duckdb``
   run by a bare DuckDB connection on the raw files (CSV/TSV read as text and again with
   DuckDB's own types, NDJSON by DuckDB's JSON reader, parquet as it is): the same label for
   every user as ``segtui assign``. A typed reading can lose what text keeps (an id typed as
   a number loses its leading zeros or digits): a disagreement there says so, not a bug.
3. **Watch**: the file's rows cut into a history (the first 60 %, in file order: an export is
   usually in time order, and later rows older than the reference are late events, which watch
   folds in too) and ``--parts`` new files; ``watch init`` on the history, ``watch run --once
   --min-margin 0 --min-events 0`` on the rest, then ``watch export``: the same labels as
   ``segtui assign MODEL FILES`` on all the events, and the state's features equal to
   ``segtui features --model MODEL FILES``.

Exit code 0 when every check agrees, 1 when one does not (each disagreement printed with a few
users), 2 when a command fails (its message printed).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import duckdb
import polars as pl

SEGTUI = str(Path(sys.executable).with_name("segtui"))
TOLERANCE = 1e-9


class CommandFailed(Exception):
    pass


def segtui(*args: str) -> str:
    """Run one segtui command; its standard output, or CommandFailed with its message."""
    done = subprocess.run([SEGTUI, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise CommandFailed(f"segtui {' '.join(args)}\n{done.stderr.strip() or done.stdout}")
    return done.stdout


def read_table(path: Path) -> pl.DataFrame:
    """A parquet file or a folder of parquet parts (Spark's output)."""
    if path.is_dir():
        return pl.read_parquet(sorted(path.glob("*.parquet")))
    return pl.read_parquet(path)


def compare_features(
    expected: pl.DataFrame, got: pl.DataFrame, what: str, columns: Sequence[str] | None = None
) -> list[str]:
    """Disagreements between two feature tables keyed by user_id (empty when they agree)."""
    problems = []
    columns = [c for c in (columns or expected.columns) if c != "user_id"]
    missing = [c for c in columns if c not in got.columns]
    if missing:
        problems.append(f"{what}: columns missing: {', '.join(missing)}")
    left = expected.select("user_id", *columns)
    right = got.select("user_id", *[c for c in columns if c in got.columns])
    users = (left.height, right.height)
    joined = left.join(right, on="user_id", how="full", suffix="__got", coalesce=True)
    if joined.height != users[0] or users[0] != users[1]:
        problems.append(f"{what}: users differ: {users[0]:,} against {users[1]:,}")
        return problems
    for name in columns:
        if name in missing:
            continue
        a, b = pl.col(name).cast(pl.Float64), pl.col(f"{name}__got").cast(pl.Float64)
        bad = joined.filter(
            (a.is_null() != b.is_null())
            | ((a - b).abs() > TOLERANCE * pl.max_horizontal(a.abs(), b.abs(), pl.lit(1.0)))
        )
        if bad.height:
            sample = bad.select("user_id", name, f"{name}__got").head(3).rows()
            problems.append(f"{what}: {name} differs for {bad.height:,} users, e.g. {sample}")
    return problems


def compare_labels(expected: pl.DataFrame, got: pl.DataFrame, what: str) -> list[str]:
    """Disagreements between two label tables (user_id, segment_id)."""
    left = expected.select("user_id", pl.col("segment_id").cast(pl.Int64))
    right = got.select("user_id", pl.col("segment_id").cast(pl.Int64).alias("got"))
    joined = left.join(right, on="user_id", how="full", coalesce=True)
    problems = []
    missing = left.join(right, on="user_id", how="anti")
    extra = right.join(left, on="user_id", how="anti")
    if missing.height or extra.height:
        lost, new = missing["user_id"].head(2).to_list(), extra["user_id"].head(2).to_list()
        problems.append(
            f"{what}: {missing.height:,} users missing (e.g. {lost}), "
            f"{extra.height:,} not expected (e.g. {new})"
        )
        return problems
    bad = joined.filter(pl.col("segment_id").ne_missing(pl.col("got")))
    if bad.height:
        problems.append(
            f"{what}: {bad.height:,} users labelled differently, e.g. {bad.head(3).rows()}"
        )
    return problems


def raw_relation(files: Sequence[Path], as_text: bool) -> str:
    """DuckDB SQL for the raw rows: CSV as text (the README's exact reading) or with DuckDB's
    own types; NDJSON by DuckDB's JSON reader (structs), parquet as it is."""
    names = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
    suffix = files[0].suffix.lower()
    if suffix in (".ndjson", ".jsonl", ".json"):
        return f"SELECT * FROM read_json({names}, format = 'newline_delimited')"
    if suffix == ".parquet":
        return f"SELECT * FROM read_parquet({names})"
    typed = ", all_varchar = true" if as_text else ""
    return f"SELECT * FROM read_csv({names}, delim = '{delimiter(files[0])}'{typed})"


def delimiter(path: Path) -> str:
    head = path.read_text(encoding="utf-8", errors="replace")[:65536]
    try:
        return csv.Sniffer().sniff(head.splitlines()[0], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def cut_rows(log: Path, folder: Path, parts: int, history_share: float) -> tuple[Path, list[Path]]:
    """The first rows as the history and the rest in ``parts`` files, header kept, bytes as
    they were (a text file cut by lines; parquet by rows)."""
    folder.mkdir(parents=True, exist_ok=True)
    inbox = folder / "inbox"
    inbox.mkdir()
    if log.suffix.lower() == ".parquet":
        table = pl.read_parquet(log)
        chunks = _split(table.height, history_share, parts)
        history = folder / "history.parquet"
        table.slice(*chunks[0]).write_parquet(history)
        files = []
        for i, (start, length) in enumerate(chunks[1:]):
            path = inbox / f"part{i:03d}.parquet"
            table.slice(start, length).write_parquet(path)
            files.append(path)
        return history, files
    json_lines = log.suffix.lower() in (".ndjson", ".jsonl", ".json")
    lines = _records(log.read_bytes().decode("utf-8"), quoted=not json_lines)
    header = [] if json_lines else lines[:1]
    rows = lines[len(header) :]
    chunks = _split(len(rows), history_share, parts)
    history = folder / f"history{log.suffix}"
    start, length = chunks[0]
    history.write_bytes("".join(header + rows[start : start + length]).encode())
    files = []
    for i, (start, length) in enumerate(chunks[1:]):
        path = inbox / f"part{i:03d}{log.suffix}"
        path.write_bytes("".join(header + rows[start : start + length]).encode())
        files.append(path)
    return history, files


def _records(text: str, *, quoted: bool) -> list[str]:
    """The text's records, each with its line break: cut at newlines only (not at the other
    breaks ``str.splitlines`` knows, which a field may hold), and for delimited text not inside
    a quoted field (a doubled quote keeps the count even, so a record ends where it is even)."""
    pieces = text.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    if not quoted:
        return lines
    records, open_record, quotes = [], "", 0
    for line in lines:
        open_record, quotes = open_record + line, quotes + line.count('"')
        if quotes % 2 == 0:
            records.append(open_record)
            open_record, quotes = "", 0
    return records + ([open_record] if open_record else [])


def _split(n: int, history_share: float, parts: int) -> list[tuple[int, int]]:
    first = int(n * history_share)
    size = -(-(n - first) // parts)
    rest = [(first + i * size, min(size, n - first - i * size)) for i in range(parts)]
    return [(0, first), *[(start, length) for start, length in rest if length > 0]]


def check_engines(files: list[str], engines: list[str], out: Path) -> list[str]:
    tables = {}
    for engine in engines:
        target = out / (f"features_{engine}" + ("" if engine == "spark" else ".parquet"))
        segtui("features", *files, "-o", str(target), "--engine", engine)
        tables[engine] = read_table(target)
    problems = []
    for engine in engines[1:]:
        problems += compare_features(tables[engines[0]], tables[engine], f"{engine} features")
    print(
        f"engines: {', '.join(engines)}: {tables[engines[0]].height:,} users, "
        f"{tables[engines[0]].width - 1} features"
    )
    return problems


def check_scoring_sql(files: list[str], model: Path, out: Path) -> list[str]:
    assigned = out / "assigned.parquet"
    segtui("assign", str(model), *files, "-o", str(assigned))
    query = segtui("sql", str(model), "--dialect", "duckdb")
    expected = pl.read_parquet(assigned)
    problems = []
    readings = {"as text": True, "typed by DuckDB": False}
    if Path(files[0]).suffix.lower() in (".ndjson", ".jsonl", ".json", ".parquet"):
        readings = {"by DuckDB's reader": True}
    for reading, as_text in readings.items():
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE VIEW raw_events AS {raw_relation([Path(f) for f in files], as_text)}")
        labels = con.sql(query).pl()
        print(f"scoring SQL, raw rows {reading}: {labels.height:,} users labelled in DuckDB")
        problems += compare_labels(expected, labels, f"duckdb scoring SQL, raw rows {reading}")
    return problems


def check_watch(files: list[str], model: Path, out: Path, parts: int) -> list[str]:
    if len(files) != 1 or Path(files[0]).suffix.lower() == ".gz":
        print("watch: skipped (it cuts one plain-text or parquet file into history and batches)")
        return []
    folder = out / "watch"
    history, new = cut_rows(Path(files[0]), folder, parts, 0.6)
    state = folder / "st.duckdb"
    segtui("watch", "init", str(state), str(model), str(history))
    segtui(
        "watch", "run", str(state), str(folder / "inbox"), "--once",
        "--min-margin", "0", "--min-events", "0",
    )  # fmt: skip
    exported = folder / "export.parquet"
    segtui("watch", "export", str(state), "-o", str(exported))
    everything = [str(history), *map(str, new)]
    assigned = folder / "assigned.parquet"
    segtui("assign", str(model), *everything, "-o", str(assigned))
    problems = compare_labels(pl.read_parquet(assigned), pl.read_parquet(exported), "watch labels")
    batch = folder / "features.parquet"
    segtui("features", "--model", str(model), *everything, "-o", str(batch))
    con = duckdb.connect(str(state), read_only=True)
    try:
        held = con.sql("SELECT * FROM features").pl()
    finally:
        con.close()
    columns = [c for c in held.columns if c != "user_id"]
    problems += compare_features(read_table(batch), held, "watch features", columns)
    status = json.loads(segtui("watch", "status", str(state), "--json"))
    print(f"watch: {len(new)} batches, {status['users']:,} users, {len(columns)} features")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--engines", default="polars,duckdb,spark")
    parser.add_argument("--k", default="6")
    parser.add_argument("--parts", type=int, default=3, help="New files for the watch check.")
    parser.add_argument("--checks", default="engines,sql,watch")
    parser.add_argument("--out", type=Path, help="Keep the outputs here (default: a temp dir).")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="segtui_check_"))
    if args.out and out.exists() and any(out.iterdir()):
        print(f"{out} is not empty: give a new or empty folder to --out", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    files = [str(f) for f in args.files]
    checks = args.checks.split(",")
    problems: list[str] = []
    try:
        if "engines" in checks:
            problems += check_engines(files, args.engines.split(","), out)
        model = out / "seg.model.json"
        if {"sql", "watch"} & set(checks):
            segtui(
                "segment", *files, "-k", args.k, "--no-stability", "-o", str(out / "seg.parquet")
            )
        if "sql" in checks:
            problems += check_scoring_sql(files, model, out)
        if "watch" in checks:
            problems += check_watch(files, model, out, args.parts)
    except CommandFailed as failed:
        print(f"a command failed:\n{failed}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"DISAGREE {problem}")
    print("every check agrees" if not problems else f"{len(problems)} disagreements")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
