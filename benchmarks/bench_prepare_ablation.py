"""Ablation of the preparation steps: K-Means at the true k, ARI per world, each step on or off.

    nice python benchmarks/bench_prepare_ablation.py --users 3000 --seeds 0-4
    nice python benchmarks/bench_prepare_ablation.py --worlds shop,content --extra DIR
    nice python benchmarks/bench_prepare_ablation.py --world-seed 1 \
        --configs "+ events beside its rate"

Worlds are the planted worlds of ``benchmarks/quality`` (generated into a temporary folder) plus
any ``--extra`` folder holding ``NAME.csv`` and ``NAME_truth.csv`` pairs, and the bundled sample.
Each row changes one thing against segtui's defaults (``PrepSpec.for_data``): the defaults
before generated counts were left out beside their shares and shares read on a log scale
(both undone), each of those two alone, ``events`` clustered on beside a rate of it, the old
fixed catalog list, the chooser before this benchmark's choice (time-position features offered,
redundancy pruned in catalog order: counts before shares), each of those two steps alone, no
redundancy pruning, no within-segment weights, time-position or family weights (each instead of
the within-segment ones), the Yeo-Johnson power transform, PCA
whitening (applied to the prepared matrix, all components kept). Below them: each world's ceiling
(K-Means on the generator's parameters) and observable ARI (a classifier trained on the truth
over segtui's users table, ``benchmarks.quality.worlds.observable``). Set ``OMP_NUM_THREADS=1`` on a
shared machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.metrics import adjusted_rand_score  # noqa: E402

from benchmarks.quality.worlds import WORLDS, ceiling, make, observable  # noqa: E402
from segtui.clustering.choose import choose_features  # noqa: E402
from segtui.clustering.fit import fit_clusters  # noqa: E402
from segtui.clustering.prepare import prepare  # noqa: E402
from segtui.clustering.segment_weights import fit_reweighted  # noqa: E402
from segtui.clustering.specs import FitSpec, PrepSpec  # noqa: E402
from segtui.pipeline import _candidates, load_users  # noqa: E402

CONFIGS = (
    "defaults",
    "before (counts offered, shares raw)",
    "+ generated counts offered",
    "+ events beside its rate",
    "shares raw (no log)",
    "old fixed list",
    "previous chooser",
    "+ time position offered",
    "counts before shares",
    "no redundancy pruning",
    "no within-segment weights",
    "+ time-position weights",
    "+ family weights",
    "+ Yeo-Johnson",
    "+ family weights + Yeo-Johnson",
    "+ PCA whitening",
)


def whiten(X: np.ndarray) -> np.ndarray:
    Xc = X - X.mean(axis=0)
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)
    keep = s > s[0] * 1e-6
    return np.ascontiguousarray((Xc @ vt[keep].T) / (s[keep] / np.sqrt(len(X))))


def specs(data) -> dict[str, PrepSpec]:
    base = PrepSpec.for_data(data)
    old = [s.name for s in data.specs if s.default] if data.specs else list(base.features)
    cands = _candidates(data.specs) if data.specs else None

    def chosen(**kw: bool) -> PrepSpec:
        features = choose_features(data.users, cands, **kw).features if cands else None
        return replace(base, features=tuple(features or base.features))

    previous = chosen(totals_out=False, activity_total_out=False)
    return {
        "defaults": base,
        "before (counts offered, shares raw)": replace(previous, shares="none"),
        "+ generated counts offered": chosen(totals_out=False),
        "+ events beside its rate": chosen(activity_total_out=False),
        "shares raw (no log)": replace(base, shares="none"),
        "old fixed list": replace(base, features=tuple(old)),
        "previous chooser": chosen(
            time_position_out=False, by_kind=False, activity_total_out=False
        ),
        "+ time position offered": chosen(time_position_out=False),
        "counts before shares": chosen(by_kind=False),
        "no redundancy pruning": chosen(redundancy=False),
        "no within-segment weights": replace(base, weighting="none"),
        "+ time-position weights": replace(base, weighting="time-position"),
        "+ family weights": replace(base, weighting="family"),
        "+ Yeo-Johnson": replace(base, power="yeo-johnson"),
        "+ family weights + Yeo-Johnson": replace(base, weighting="family", power="yeo-johnson"),
        "+ PCA whitening": base,
    }


def ablate(
    files: list[Path], truth: pl.DataFrame, k: int, seeds: list[int], configs: Sequence[str]
) -> dict[str, float]:
    data = load_users(files)
    ids = data.users.select(pl.col("user_id").cast(pl.Utf8))
    y = ids.join(truth.with_columns(pl.col("user_id").cast(pl.Utf8)), on="user_id", how="left")
    out = {}
    for name, spec in specs(data).items():
        if name not in configs:
            continue
        X = prepare(data.users, spec).X
        if "whitening" in name:
            X = whiten(X)
        aris = [adjusted_rand_score(y["group"].to_list(), _labels(X, spec, k, s)) for s in seeds]
        out[name] = float(np.mean(aris))
        if name == "defaults":
            out["defaults, worst seed"] = float(np.min(aris))
    out["features"] = float(len(data.default_features))
    return out


def _labels(X: np.ndarray, spec: PrepSpec, k: int, seed: int) -> np.ndarray:
    """K-Means at k, refitted with within-segment weights when the spec asks (the pipeline's)."""
    fit = FitSpec("kmeans", {"k": k}, seed=seed)
    result = fit_clusters(X, fit)
    if spec.weighting == "within-segment":
        result, _ = fit_reweighted(X, fit, result)
    return result.labels


def _cell(row: dict[str, float], cfg: str) -> str:
    if cfg not in row:
        return ""
    return f"{row[cfg]:.0f}" if cfg == "features" else f"{row[cfg]:.3f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--worlds", default=",".join(WORLDS))
    p.add_argument("--users", type=int, default=3000)
    p.add_argument("--seeds", default="0-4")
    p.add_argument("--extra", type=Path, default=None)
    p.add_argument("--world-seed", type=int, default=0)
    p.add_argument(
        "--configs",
        default=None,
        help="comma-separated rows to run (defaults always); without it every row, the ceiling "
        "and the observable ARI",
    )
    args = p.parse_args()
    configs = args.configs.split(",") if args.configs else list(CONFIGS)
    unknown = sorted(set(configs) - set(CONFIGS))
    if unknown:
        p.error(f"unknown rows {unknown}; the rows are {list(CONFIGS)}")
    configs = ["defaults", *[c for c in configs if c != "defaults"]]
    lo, _, hi = args.seeds.partition("-")
    seeds = list(range(int(lo), int(hi or lo) + 1))
    table: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in [w for w in args.worlds.split(",") if w]:
            world = make(name, args.users, args.world_seed, Path(tmp) / name)
            row = ablate(world.files, world.truth, world.k, seeds, configs)
            if not args.configs:
                row["ceiling"] = ceiling(world)
                row["observable"] = observable(world)
            table[name] = row
            print(name, {k: round(v, 3) for k, v in row.items()}, flush=True)
    if args.extra:
        for truth_path in sorted(args.extra.glob("*_truth.csv")):
            name = truth_path.name[: -len("_truth.csv")]
            truth = pl.read_csv(truth_path, infer_schema_length=0)
            k = truth["group"].n_unique()
            table[name] = ablate([args.extra / f"{name}.csv"], truth, k, seeds, configs)
            print(name, {k: round(v, 3) for k, v in table[name].items()}, flush=True)
    truth = pl.read_csv(ROOT / "sample_data" / "truth.csv", infer_schema_length=0)
    table["bundled sample"] = ablate(
        [ROOT / "sample_data" / "events.csv"], truth, 6, seeds, configs
    )
    names = list(table)
    print("\n| step | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for cfg in ("defaults, worst seed", *configs, "ceiling", "observable", "features"):
        cells = [_cell(table[n], cfg) for n in names]
        print(f"| {cfg} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
