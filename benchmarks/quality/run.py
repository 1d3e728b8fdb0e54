"""Run segtui's defaults on the planted worlds and print how well they find the planted groups.

    python benchmarks/quality/run.py                                  # all worlds, 5k users
    python benchmarks/quality/run.py --worlds shop,content --seeds 0-4 --algos kmeans,gmm
    python benchmarks/quality/run.py --k auto --json > quality.json

Each world is generated (world seed 0 unless ``--world-seed``) into a temporary folder, read
with ``segtui.pipeline.load_users`` and segmented with ``run_segmentation`` at every default
(``PrepSpec.for_data``) for each algorithm and fit seed. Per world it prints the ceiling (K-Means
on the generator's own latent parameters), the observable ARI (a classifier trained on the truth
over segtui's users table, cross-validated: what the sampled events allow), the ARI per seed
(mean, min), the features used and, for the first seed of each algorithm, the segments:
segtui's name, size, majority planted group and purity.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.quality.worlds import (
    WORLDS,
    Result,
    ceiling,
    evaluate,
    make,
    observable,
    reference,
)


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return out


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--worlds", default=",".join(WORLDS), help="comma-separated world names")
    p.add_argument("--users", type=int, default=5000)
    p.add_argument("--seeds", default="0-4", help="fit seeds, e.g. 0-4 or 0,3")
    p.add_argument("--world-seed", type=int, default=0, help="the generator's seed")
    p.add_argument("--algos", default="kmeans,gmm,hierarchical,birch")
    p.add_argument("--k", default="true", help="'true' (the planted k) or 'auto' (segtui's own)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead")
    p.add_argument("--reference", action="store_true", help="also score the analyst reference")
    p.add_argument("--save", type=Path, default=None, help="write the JSON here after each world")
    p.add_argument("--keep", type=Path, default=None, help="write the worlds here and keep them")
    return p.parse_args(argv)


def run(args: argparse.Namespace, out_root: Path) -> list[dict]:
    reports = []
    for name in args.worlds.split(","):
        world = make(name, args.users, args.world_seed, out_root / name)
        report: dict = {
            "world": name,
            "layout": world.layout,
            "users": args.users,
            "k": world.k,
            "ceiling": ceiling(world),
            "observable": observable(world),
            "algos": {},
        }
        for algo in args.algos.split(","):
            results: list[Result] = [
                evaluate(world, algo, seed, None if args.k == "true" else 0)
                for seed in _seeds(args.seeds)
            ]
            aris = [r.ari for r in results]
            report["algos"][algo] = {
                "ari": aris,
                "mean": statistics.fmean(aris),
                "min": min(aris),
                "features": results[0].features,
                "segments": [s.__dict__ for s in results[0].segments],
                "seconds": statistics.fmean(r.seconds for r in results),
            }
            report["algos"][algo]["k"] = [r.k for r in results]
            print(
                f"  {name} {algo}: ARI mean {statistics.fmean(aris):.3f}, k {results[0].k}",
                file=sys.stderr,
            )
        if args.reference:
            report["reference"] = reference(world)
        reports.append(report)
        if args.save is not None:  # after each world, so a long run leaves what it measured
            args.save.write_text(json.dumps(reports, indent=2))
    return reports


def markdown(reports: list[dict], seeds: str) -> str:
    lines = []
    for rep in reports:
        lines += [
            f"### {rep['world']} ({rep['layout']} layout, {rep['users']} users, k = {rep['k']})",
            "",
            f"Ceiling (K-Means on the generator's parameters): {rep['ceiling']:.3f}",
            "",
            "Observable (a classifier trained on the truth, segtui's features, 3-fold): "
            f"{rep['observable']:.3f}",
            "",
            *(
                [f"Reference (analyst features from the log, K-Means): {rep['reference']:.3f}", ""]
                if "reference" in rep
                else []
            ),
            f"| algorithm | ARI mean (seeds {seeds}) | min | per seed | s/fit |",
            "|---|---|---|---|---|",
        ]
        for algo, r in rep["algos"].items():
            per = " ".join(f"{a:.3f}" for a in r["ari"])
            lines.append(
                f"| {algo} | {r['mean']:.3f} | {r['min']:.3f} | {per} | {r['seconds']:.1f} |"
            )
        first = next(iter(rep["algos"].values()))
        lines += ["", f"Features used: {', '.join(first['features'])}", ""]
        for algo, r in rep["algos"].items():
            lines += [
                f"Segments ({algo}, first seed):",
                "",
                "| segment | size | majority planted group | purity |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| {s['name']} | {s['size']} | {s['majority']} | {s['purity']:.2f} |"
                for s in r["segments"]
            ]
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    if args.keep is not None:
        reports = run(args, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="segtui-quality-") as tmp:
            reports = run(args, Path(tmp))
    if args.json:
        print(json.dumps(reports, indent=2))
    else:
        print(markdown(reports, args.seeds))


if __name__ == "__main__":
    main()
