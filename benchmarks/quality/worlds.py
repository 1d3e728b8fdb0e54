"""The quality benchmark's API: make a planted world, score its ceiling, run segtui's defaults.

    >>> from benchmarks.quality.worlds import WORLDS, make, evaluate, ceiling
    >>> world = make("shop", 5000, seed=0, out_dir=Path("/tmp/shop"))
    >>> ceiling(world), observable(world), evaluate(world, "kmeans", seed=0).ari

``make`` writes the world's log in its own layout and returns its truth (user -> group) and the
generator's latent per-user parameters. ``ceiling`` is the ARI of K-Means (true k, standardized
parameters, n_init=10) on those parameters: how well the groups can be told apart at all, before
events are sampled. ``observable`` is the ARI of a classifier trained on the truth over segtui's
users table: what the sampled events allow. ``evaluate`` runs segtui exactly as a person gets
it: ``load_users`` on the files, ``PrepSpec.for_data`` (the data's default features,
transforms and fills) and ``FitSpec(algo, {"k": k}, seed)`` through ``run_segmentation``.

The repository root must be importable (``benchmarks`` is a namespace package); ``run.py`` and
``tests/quality/conftest.py`` put it on ``sys.path``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import polars as pl

from benchmarks.quality import common, content, game, saas, shop, transactions, travel

WORLDS: dict[str, ModuleType] = {
    m.NAME: m for m in (shop, content, saas, transactions, game, travel)
}
"""The planted worlds, by name (CDNOW-style sanity transactions are in ``cdnow``). ``travel`` was
held out: written before the default preparation was chosen, scored only after."""

ALGO_ALIASES = {"hierarchical": "agglomerative", "hclust": "agglomerative"}


@dataclass(frozen=True)
class World:
    name: str
    files: list[Path]
    truth: pl.DataFrame
    """``user_id`` (text, as segtui reads it) and ``group`` (the planted group's name)."""
    params: np.ndarray
    """The generator's latent parameters, one row per user in ``truth`` order."""
    param_names: tuple[str, ...]
    k: int
    layout: str
    """The layout segtui should detect (its preset name, or "transactions"/"generic")."""
    blended: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, bool))

    @property
    def groups(self) -> list[str]:
        return [name for name, _ in WORLDS[self.name].GROUPS]


def make(world: str, n_users: int, seed: int, out_dir: Path) -> World:
    """Generate ``world`` with ``n_users`` users into ``out_dir`` (deterministic in ``seed``)."""
    if world not in WORLDS:
        raise KeyError(f"unknown world {world!r}; known: {', '.join(WORLDS)}")
    module = WORLDS[world]
    gen: common.Generated = module.generate(n_users, seed, Path(out_dir))
    names = [name for name, _ in module.GROUPS]
    truth = pl.DataFrame(
        {"user_id": gen.user_ids, "group": [names[g] for g in gen.truth]},
        schema={"user_id": pl.Utf8, "group": pl.Utf8},
    )
    return World(
        name=world,
        files=[Path(p) for p in gen.files],
        truth=truth,
        params=gen.latent.values,
        param_names=gen.latent.names,
        k=len(module.GROUPS),
        layout=module.LAYOUT,
        blended=gen.latent.blended,
    )


def ceiling(world: World, seed: int = 0) -> float:
    """ARI of K-Means (true k, n_init=10) on the standardized latent parameters."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    X = StandardScaler().fit_transform(world.params)
    labels = KMeans(world.k, n_init=10, random_state=seed).fit_predict(X)
    return float(adjusted_rand_score(world.truth["group"].to_list(), labels))


@dataclass(frozen=True)
class SegmentTruth:
    segment_id: int
    name: str
    size: int
    majority: str
    purity: float
    """Share of the segment's users whose planted group is ``majority``."""


@dataclass(frozen=True)
class Result:
    world: str
    algo: str
    seed: int
    k: int | None
    ari: float
    features: list[str]
    segments: list[SegmentTruth]
    layout: str
    seconds: float
    """Wall seconds of the segmentation (loading the files is not counted: it is cached)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "world": self.world,
            "algo": self.algo,
            "seed": self.seed,
            "k": self.k,
            "ari": self.ari,
            "features": self.features,
            "layout": self.layout,
            "seconds": self.seconds,
            "segments": [s.__dict__ for s in self.segments],
        }


_LOADED: dict[tuple[str, ...], Any] = {}


def load(world: World) -> Any:
    """segtui's ``UsersData`` for the world's files (cached per file list: loading is the same
    for every algorithm and seed)."""
    from segtui.pipeline import load_users

    key = tuple(str(p) for p in world.files)
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = load_users(list(world.files))
    return _LOADED[key]


def evaluate(world: World, algo: str = "kmeans", seed: int = 0, k: int | None = None) -> Result:
    """segtui's defaults on the world: ARI against the truth and what each segment holds.

    ``k`` None fits the world's true k; pass ``k=0`` to leave k to segtui (``-k auto``: the
    result's ``k`` is the one it picked).
    """
    from sklearn.metrics import adjusted_rand_score

    from segtui.clustering.specs import FitSpec, PrepSpec
    from segtui.pipeline import run_segmentation

    algo = ALGO_ALIASES.get(algo, algo)
    data = load(world)
    clock = time.perf_counter()
    params: dict[str, Any] = {}
    chosen_k = world.k if k is None else k
    if chosen_k:
        params["k"] = chosen_k
    auto = not chosen_k
    run = run_segmentation(
        data.users, PrepSpec.for_data(data), FitSpec(algo, params, seed), auto_k=auto
    )
    if auto and run.k_choice is not None:
        chosen_k = run.k_choice.k
    seconds = time.perf_counter() - clock
    labels = pl.DataFrame(
        {"user_id": list(run.prepared.user_ids), "segment_id": run.result.labels.tolist()},
        schema={"user_id": pl.Utf8, "segment_id": pl.Int64},
    )
    joined = world.truth.join(labels, on="user_id", how="inner")
    if joined.height != world.truth.height:
        raise RuntimeError(
            f"{world.name}: {joined.height} of {world.truth.height} planted users matched "
            "segtui's user ids"
        )
    ari = float(adjusted_rand_score(joined["group"].to_list(), joined["segment_id"].to_list()))
    return Result(
        world=world.name,
        algo=algo,
        seed=seed,
        k=chosen_k or None,
        ari=ari,
        features=list(run.features),
        segments=_segments(joined, run.names),
        layout=_layout(data),
        seconds=seconds,
    )


def _segments(joined: pl.DataFrame, names: dict[int, str]) -> list[SegmentTruth]:
    counts = joined.group_by("segment_id", "group").len().sort("len", descending=True)
    out = []
    for sid in sorted(joined["segment_id"].unique().to_list()):
        rows = counts.filter(pl.col("segment_id") == sid)
        size = int(rows["len"].sum())
        out.append(
            SegmentTruth(
                segment_id=int(sid),
                name=names.get(sid, str(sid)),
                size=size,
                majority=str(rows["group"][0]),
                purity=float(rows["len"][0] / size),
            )
        )
    return out


def _layout(data: Any) -> str:
    mapping = getattr(data, "mapping", None)
    for attr in ("layout", "preset", "layout_name"):
        value = getattr(mapping, attr, None)
        if value is not None:
            return str(getattr(value, "name", value))
    return "?"


def observable(world: World, seed: int = 0) -> float:
    """ARI of a classifier trained on the truth, on every numeric feature segtui computes.

    Gradient-boosted trees, 3-fold cross-validated predictions (each user predicted by a model
    that did not see them). The ``ceiling`` is measured before any event is sampled; this says
    how well the groups can be told apart from the users table once they are: with the labels in
    hand. An unsupervised default is not expected to beat it, so a world whose observable ARI is
    below 0.85 cannot meet the test's target from these features, whatever the preparation.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import adjusted_rand_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    users = load(world).users
    cols = [c for c in users.columns if c != "user_id" and users[c].dtype.is_numeric()]
    X = users.select(pl.col(cols).cast(pl.Float64)).to_numpy()
    X[~np.isfinite(X)] = np.nan
    X = X[:, ~np.all(np.isnan(X), axis=0)]
    ids = users.select(pl.col("user_id").cast(pl.Utf8))
    y = ids.join(world.truth, on="user_id", how="left")["group"].to_list()
    folds = StratifiedKFold(3, shuffle=True, random_state=seed)
    model = HistGradientBoostingClassifier(max_iter=150, random_state=seed)
    predicted = cross_val_predict(model, X, y, cv=folds)
    return float(adjusted_rand_score(y, predicted))


def reference(world: World, seed: int = 0) -> float:
    """ARI of the analyst-style reference (:mod:`benchmarks.quality.reference`) on the log."""
    from sklearn.metrics import adjusted_rand_score

    from benchmarks.quality.reference import reference_labels

    labels = reference_labels(world.layout, world.files, world.k, seed)
    joined = world.truth.join(labels, on="user_id", how="inner")
    if joined.height != world.truth.height:
        raise RuntimeError(f"{world.name}: the reference read {joined.height} planted users")
    return float(adjusted_rand_score(joined["group"].to_list(), joined["label"].to_list()))
