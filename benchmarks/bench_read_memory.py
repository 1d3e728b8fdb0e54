"""Peak memory of reading event files with polars' streaming engine, plan by plan.

```
python benchmarks/bench_read_memory.py --parts 1 2 4
python benchmarks/bench_read_memory.py --parts 1 2 4 --csv
python benchmarks/bench_read_memory.py --parts 1 --text
```

Writes one 5M-event part with ``bench_watch.py``'s generator (``--out``; kept for reuse), and
reads 1, 2, 4 ... copies of it (symlinks: the same bytes, more rows) as one source, each plan in a
fresh process whose peak RSS is reported: the canonical events sunk to parquet alone, the loading
report's counts alone, both in one ``collect_all`` (what ``watch init`` did before it spooled
checked rows), and every checked row sunk alone (:attr:`LoadedEvents.checked_rows`, what it does
now). A plan that holds what it reads grows with the copies; one that streams stays flat.
``--csv`` reads the part written as CSV instead (text, ragged-row scan and all); ``--text``
sinks six of its text columns trimmed with empty as null, spelled ``replace("", None)`` and
``when(text != "").then(text)`` (``segtui.ingest.text.text_expr``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

PLANS = ("events", "report", "events+report", "checked_rows")
TEXT_PLANS = ("text: replace", "text: when")
"""``--text``: six text columns of the CSV trimmed, empty as null, in the two spellings."""
TEXT_COLUMNS = ("user_id", "event", "ts", "session_id", "category", "item_id")


def high_water_mib() -> float:
    """This process's peak RSS since exec (``VmHWM``; ``ru_maxrss`` keeps the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise OSError("no VmHWM in /proc/self/status")


def run_plan(plan: str, files: list[str], model: str, target: str) -> None:
    """One plan in this process; prints seconds and peak RSS (MiB)."""
    import polars as pl

    from segtui.artifacts.assign import as_model, model_loaded_events

    started = time.perf_counter()
    if plan in TEXT_PLANS:
        trimmed = [pl.col(c).str.strip_chars() for c in TEXT_COLUMNS]
        if plan == "text: replace":
            exprs = [t.replace("", None) for t in trimmed]
        else:
            exprs = [pl.when(t != "").then(t) for t in trimmed]
        lf = pl.scan_csv(files, infer_schema=False)
        lf.select(e.alias(c) for e, c in zip(exprs, TEXT_COLUMNS, strict=True)).sink_parquet(target)
        print(f"{time.perf_counter() - started:.1f} {high_water_mib():.0f}")
        return
    loaded, _ = model_loaded_events(as_model(Path(model)), [Path(f) for f in files])
    started = time.perf_counter()
    if plan == "events":
        loaded.events.sink_parquet(target)
    elif plan == "report":
        loaded.collect_report()
    elif plan == "events+report":
        pl.collect_all(
            [loaded.report_query, loaded.events.sink_parquet(target, lazy=True)],
            engine="streaming",
        )
    else:
        loaded.checked_rows.sink_parquet(target)
    peak = high_water_mib()
    print(f"{time.perf_counter() - started:.1f} {peak:.0f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--csv", action="store_true")
    parser.add_argument("--text", action="store_true", help="the two text spellings (CSV)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_read_memory"))
    parser.add_argument("--run", nargs="+", help=argparse.SUPPRESS)  # plan model target files
    args = parser.parse_args(argv)
    if args.run:
        plan, model, target, *files = args.run
        run_plan(plan, files, model, target)
        return

    from bench_watch import fit_model, write_history

    out: Path = args.out
    part = out / "history" / "part0000.parquet"
    if not part.exists():
        write_history(out / "history", 5_000_000, 100_000, seed=1)
    model = fit_model(out, [part])
    source = part
    if args.csv or args.text:
        import polars as pl

        source = out / "part0000.csv"
        if not source.exists():
            pl.scan_parquet(part).sink_csv(source)
    print(f"{'events':>11} {'plan':<14} {'s':>6} {'peak MiB':>9}")
    for copies in args.parts:
        folder = out / f"copies{copies}{source.suffix}"
        folder.mkdir(exist_ok=True)
        files = []
        for i in range(copies):
            link = folder / f"c{i:03d}{source.suffix}"
            if not link.exists():
                link.symlink_to(source)
            files.append(str(link))
        for plan in TEXT_PLANS if args.text else PLANS:
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--run",
                    plan,
                    str(model),
                    str(out / "o.parquet"),
                    *files,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            seconds, peak = done.stdout.split()[-2:]
            print(f"{copies * 5_000_000:>11,} {plan:<14} {seconds:>6} {peak:>9}")


if __name__ == "__main__":
    main()
