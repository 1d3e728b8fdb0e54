"""``segtui segment``, ``segtui sweep`` and ``segtui assign``: the headless twin of the app.

``segment`` loads events (or a users table), clusters, prints a profile table and diagnostics,
and writes segments.parquet + NAME.model.json (+ CSV). ``sweep`` prints diagnostics for a range of
k and the k it suggests, with why. ``assign`` labels new files with a saved model. Bad input is
an InputError (exit code 2 through ``segtui.cli.main.run``) and no file is left half written.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from segtui.artifacts.assign import assign_with_messages
from segtui.artifacts.export import ExportResult, export_segments, write_labels
from segtui.artifacts.export_set import mixed_export
from segtui.artifacts.fitted import ExportTarget
from segtui.artifacts.model import (
    FOLDER_MODEL_NAME,
    default_model_path,
    model_to_json,
    read_model,
    segment_descriptions,
)
from segtui.artifacts.parquet_meta import METADATA_KEY
from segtui.cli.options import (
    AsOfOpt,
    DayFirstOpt,
    EngineOpt,
    EventsOrUsersPathsArg,
    FeatureFileOpt,
    FeaturesOpt,
    JsonOpt,
    LayoutOpt,
    MapOpt,
    MappingOpt,
    MemoryLimitOpt,
    ModelSessionGapOpt,
    ShortSessionGapOpt,
    SparkMasterOpt,
    StrictOpt,
    check_engine,
    check_outputs,
    feature_names,
    load_options,
    model_load_options,
    parse_as_of,
)
from segtui.cli.output import echo_json, echo_lines
from segtui.cli.segment_engine import (
    check_scorable,
    engine_export,
    engine_users,
    labelling_note,
    refuse_users_table,
)
from segtui.clustering.autok import KChoice
from segtui.clustering.diagnostics import Diagnostics, SweepResult
from segtui.clustering.merge_tree import tree_report
from segtui.clustering.registry import MIN_K, algorithm_info, resolve_params
from segtui.clustering.specs import FitSpec, PrepSpec, check_weighting
from segtui.engines.assign import write_labels_in
from segtui.engines.features import output_format
from segtui.engines.session import open_engine
from segtui.engines.spark_engine import check_folder_output, is_folder_output
from segtui.errors import InputError, closest
from segtui.features.spec import FILLS
from segtui.fileio import atomic_write, check_writable
from segtui.formatting import fixed, percent
from segtui.ingest.events import LoadOptions
from segtui.ingest.sources import inspect_source, resolve_paths
from segtui.pipeline import SegmentRun, UsersData, load_users, run_segmentation, run_sweep
from segtui.segments.describe import description_lines
from segtui.segments.names import unique_name
from segtui.segments.profiles import SegmentProfile, outcome_lines, profile_segments
from segtui.segments.rules import parse_named_rule, parse_rule
from segtui.segments.segmentation import Segmentation

# ---- option types shared by segment and sweep (the loading ones are in segtui.cli.options)

UsersTableOpt = Annotated[
    bool | None,
    typer.Option(
        "--users-table/--events",
        help="The files hold one row per user (numeric columns = features), or events. "
        "Default: a users table when the id column is unique and there is no timestamp+event "
        "layout.",
    ),
]
AlgoOpt = Annotated[
    str,
    typer.Option(
        "--algo",
        help="kmeans, minibatch_kmeans, agglomerative, dbscan, hdbscan, gmm or birch.",
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed: same data + seed = same segments.")]
SampleOpt = Annotated[
    int | None,
    typer.Option(
        "--sample-size",
        help="Users a quadratic algorithm is fitted on (default 10,000 for agglomerative/BIRCH, "
        "5,000 for DBSCAN/HDBSCAN); everyone else is labelled from the fit. With --engine "
        "duckdb|spark, the users pulled from the engine to fit on (default 1,000,000), picked "
        "there by the hash of seed and user id; the engine labels everyone.",
    ),
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", help="Algorithm parameter name=value (e.g. n_init=10); repeatable."),
]
ScalingOpt = Annotated[
    str, typer.Option("--scaling", help="standard (mean/std) or robust (median/IQR).")
]
WeightingOpt = Annotated[
    str,
    typer.Option(
        "--weighting",
        help="Feature weights: within-segment (each feature by one over its spread within the "
        "segments, K-Means refitted until they settle; K-Means and MiniBatch K-Means), none "
        "(every feature counts once), family or time-position.",
    ),
]
TransformOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--transform",
        help="Per-feature transform name=none|log1p|rank (default: the catalog's); repeatable.",
    ),
]

FillOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--fill",
        help="How a feature's missing values are filled, name=median|zero|max|min (default: "
        "what the feature declares, e.g. recency_days=max: never bought = as long ago as the "
        "longest seen; median for users-table columns); repeatable.",
    ),
]


_EXAMPLES = {"--param": "n_init=10", "--transform": "revenue=rank", "--fill": "recency_days=max"}


def _pairs(items: list[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InputError(
                f"{option} {item!r} is not name=value",
                hint=f"e.g. {option} {_EXAMPLES.get(option, 'name=value')}",
            )
        out[name.strip()] = value.strip()
    return out


def _fills(items: list[str] | None) -> dict[str, str]:
    """``--fill name=kind`` pairs, the kinds checked before any data is read."""
    fills = _pairs(items, "--fill")
    for name, kind in fills.items():
        if kind not in FILLS:
            guess = closest(kind, FILLS, cutoff=0.5)
            raise InputError(
                f"--fill {name}={kind}: '{kind}' is not a fill"
                + (f"; did you mean '{guess}'?" if guess else ""),
                hint=f"Use one of: {', '.join(FILLS)} (e.g. --fill recency_days=max).",
            )
    return fills


StabilityOpt = Annotated[
    bool,
    typer.Option(
        "--stability/--no-stability",
        help="Measure each segment's stability under resampling (clusterboot: 20 refits on a "
        "sample of at most 5,000 users) and flag unstable segments. --no-stability skips it.",
    ),
]


def parse_k(text: str | None, algo: str) -> int | None:
    """``-k``: a whole number forces k; ``auto`` (the default when the algorithm has a k) or
    None -> None, meaning choose k with evidence."""
    if text is None or text.strip().lower() == "auto":
        if text is not None and not algorithm_info(algo).uses_k:
            _params(algo, MIN_K, None)  # says the algorithm has no k
        return None
    try:
        return int(text)
    except ValueError:
        raise InputError(
            f"-k {text!r} is not a number of segments", hint="Use -k auto, or a whole number: -k 6."
        ) from None


def _params(algo: str, k: int | None, param: list[str] | None) -> dict[str, Any]:
    info = algorithm_info(algo)
    params: dict[str, Any] = dict(_pairs(param, "--param"))
    if k is not None:
        if not info.uses_k:
            raise InputError(
                f"{info.label} has no k (it finds the number of segments itself)",
                hint=f"Drop -k; its parameters are: {', '.join(p.name for p in info.parameters)}.",
            )
        params["k"] = k
    return params


def _fit_spec(
    algo: str, k: int | None, param: list[str] | None, seed: int, sample_size: int | None
) -> FitSpec:
    """The fit choices from the flags, checked before any data is read (k < 2, ...)."""
    params = _params(algo, k, param)
    if algorithm_info(algo).uses_k:
        params.setdefault("k", 6)
    resolve_params(algo, params)
    return FitSpec(algo, params, seed, sample_size)


def _check_output(path: Path, suffixes: tuple[str, ...]) -> None:
    if path.suffix.lower() not in suffixes:
        raise InputError(
            f"the output file must end in {' or '.join(suffixes)}",
            file=path,
            hint=f"e.g. -o segments{suffixes[0]}",
        )
    check_writable(path)


@contextlib.contextmanager
def about_files(paths: list[str]) -> Iterator[None]:
    """A problem found in the data once it is read (k past its distinct points, no usable
    feature) names the files it is about when it names no file itself."""
    try:
        yield
    except InputError as error:
        if error.file is None:
            error.file = ", ".join(paths)
        raise


def _load(
    paths: list[str],
    options: LoadOptions,
    users_table: bool | None,
    feature_file: Path | None,
    as_of: str | None,
    names: list[str] | None,
) -> UsersData:
    moment = parse_as_of(as_of) if as_of is not None else None
    data = load_users(paths, options, users_table, feature_file, moment, features=names)
    if data.users.height < 2:
        raise InputError(
            f"only {data.users.height} user(s) in the data; segments need at least two",
            file=paths[0],
        )
    return data


# ---- segment


def segment(
    paths: EventsOrUsersPathsArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the segments (.parquet).")
    ],
    algo: AlgoOpt = "kmeans",
    k: Annotated[
        str | None,
        typer.Option(
            "-k",
            "--k",
            help="Number of segments, or auto (the default): each k in 2..10 is scored by "
            "stability under resampling and by silhouette, and the choice is explained.",
        ),
    ] = None,
    features_: FeaturesOpt = None,
    seed: SeedOpt = 0,
    sample_size: SampleOpt = None,
    param: ParamOpt = None,
    users_table: UsersTableOpt = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="Where to write the model (default NAME.model.json)."),
    ] = None,
    csv: Annotated[bool, typer.Option("--csv", help="Also write NAME.csv.")] = False,
    rule: Annotated[
        list[str] | None,
        typer.Option(
            "--rule",
            help="Add a rule segment 'NAME: EXPR' (e.g. 'Big spenders: revenue > 1000'); "
            "matching users move there, the first rule wins; repeatable.",
        ),
    ] = None,
    transform: TransformOpt = None,
    fill: FillOpt = None,
    scaling: ScalingOpt = "standard",
    weighting: WeightingOpt = "within-segment",
    as_of: AsOfOpt = None,
    feature_file: FeatureFileOpt = None,
    map_: MapOpt = None,
    mapping: MappingOpt = None,
    strict: StrictOpt = False,
    session_gap: ShortSessionGapOpt = 30.0,
    day_first: DayFirstOpt = None,
    layout: LayoutOpt = None,
    stability: StabilityOpt = True,
    json_: JsonOpt = False,
    tree: Annotated[
        bool,
        typer.Option(
            "--tree",
            help="Print the merge tree (segments within segments) under the table; "
            "hierarchical clustering only (--algo agglomerative).",
        ),
    ] = False,
    engine: EngineOpt = "polars",
    memory_limit: MemoryLimitOpt = None,
    spark_master: SparkMasterOpt = None,
) -> None:
    """Cluster users into segments, print their profiles, and export parquet + model JSON."""
    check_engine(engine, memory_limit, spark_master)
    check_weighting(weighting)
    folder = engine == "spark" and is_folder_output(output)
    if not folder:
        _check_output(output, (".parquet",))
    if tree and algorithm_info(algo).kind != "hierarchical":
        raise InputError(
            f"--tree needs hierarchical clustering: {algo} builds no tree of merges",
            hint="Use --algo agglomerative, or drop --tree.",
        )
    if model is not None and not str(model).endswith(".json"):
        raise InputError(
            "the model file must end in .json", file=model, hint="e.g. NAME.model.json"
        )
    model_file = model or (output / FOLDER_MODEL_NAME if folder else default_model_path(output))
    written_files = [output.with_suffix(".csv") if csv else None]
    if folder:  # the folder is Spark's to write, and the model goes into it unless given
        read = [p for p in (feature_file, mapping) if p is not None]
        check_folder_output(output, [*resolve_paths(paths), *read])
        written_files.append(model)
    else:
        written_files += [output, model_file]
    check_outputs(written_files, paths, feature_file, mapping)
    rules = named_rules(rule or [])
    forced_k = parse_k(k, algo)
    k_param = "k" in _pairs(param, "--param")
    auto_k = forced_k is None and algorithm_info(algo).uses_k and not k_param
    fit = _fit_spec(algo, forced_k, param, seed, sample_size)
    transforms = _pairs(transform, "--transform")
    fills = _fills(fill)
    names = feature_names(features_)
    options = load_options(map_, mapping, strict, session_gap, day_first, layout)

    def fitted_run(data: UsersData) -> tuple[SegmentRun, Segmentation]:
        check_rule_features(rules, data.features)
        prep = PrepSpec.for_data(
            data, names, transforms=transforms, fills=fills, scaling=scaling, weighting=weighting
        )
        with about_files(paths):
            run = run_segmentation(
                data.users,
                prep,
                fit,
                rule_features=data.features,
                auto_k=auto_k,
                stability=stability,
            )
        return run, add_rules(run, rules)

    if engine != "polars":
        check_scorable(engine, algo, transforms, users_table)
        with open_engine(engine, memory_limit, spark_master) as running:
            pulled = engine_users(running, paths, options, feature_file, as_of, names, fit)
            data = pulled.data
            run, segmentation = fitted_run(data)
            target = ExportTarget(output, run.features, csv, model_file)
            written = engine_export(running, target, run, segmentation, pulled)
        note = labelling_note(engine, algo)
        run = run if note is None else replace(run, messages=[*run.messages, note])
    else:
        data = _load(paths, options, users_table, feature_file, as_of, names)
        run, segmentation = fitted_run(data)
        target = ExportTarget(output, run.features, csv, model)
        written = export_segments(target, run.fitted(segmentation), data.provenance)
    if segmentation is not run.segmentation:
        run = replace(run, segmentation=segmentation, profiles=profile_edited(run, segmentation))
    if json_:
        out = with_descriptions(segment_dict(data, run, written.to_dict()), written)
        if engine != "polars":  # "users" are the fitted sample's; the engine labelled these
            out["engine"] = {"name": engine, "users": written.rows}
        echo_json(out)
        return
    echo_lines(segment_lines(data, run, written, tree=tree))


def segment_lines(
    data: UsersData, run: SegmentRun, written: ExportResult, tree: bool = False
) -> list[str]:
    """What ``segment`` prints: loading notes, profiles (and the merge tree when asked),
    diagnostics, notes, files written."""
    lines = [*data.messages, ""]
    lines += k_choice_lines(run)
    lines += profile_lines(run)
    lines += rule_description_lines(run, written)
    lines += flag_lines(run)
    if tree and run.result.tree is not None:
        sizes = {i: int(v) for i, v in enumerate(run.result.sizes)}
        report = tree_report(
            run.result.tree, run.result.n_segments, run.names, sizes, len(run.users)
        )
        lines += ["", *report]
    lines += ["", *diagnostics_lines(run.diagnostics)]
    lines += [f"note: {m}" for m in run.messages]
    lines += ["", f"wrote {written.rows:,} users in {written.segments} segments:"]
    lines += [f"  {p}" for p in written.files]
    lines.append(f"label new data: segtui assign {written.model} NEW_FILES -o labels.parquet")
    return lines


def rule_description_lines(run: SegmentRun, written: ExportResult) -> list[str]:
    """Each segment as a rule (recorded in the model): one line per segment, after a blank."""
    names = {p.segment_id: p.name for p in run.profiles}
    found = description_lines(segment_descriptions(written.model_data), names)
    return ["", *found] if found else []


def with_descriptions(out: dict[str, Any], written: ExportResult) -> dict[str, Any]:
    """``segment --json`` with each segment's ``description`` (rule, sql, precision, coverage)."""
    found = segment_descriptions(written.model_data)
    for item in out["segments"]:
        if item["id"] in found:
            item["description"] = found[item["id"]].to_dict()
    return out


def named_rules(items: list[str]) -> list[tuple[str, str]]:
    """``--rule 'NAME: EXPR'`` flags as (name, rule text), each checked now (form, syntax,
    nesting, size), before any data is read: a bad rule never waits for a whole computation."""
    rules = []
    for item in items:
        name, expr = parse_named_rule(item)
        if name is None or not expr:
            raise InputError(
                f"--rule {item!r} is not 'NAME: EXPR'",
                hint="e.g. --rule 'Cart abandoners: add_to_cart >= 3 and purchases == 0'",
            )
        parse_rule(expr)
        rules.append((name, expr))
    return rules


def check_rule_features(rules: list[tuple[str, str]], features: list[str]) -> None:
    """The rules' feature names against the data's, once it is read and before the fit."""
    for _, expr in rules:
        parse_rule(expr, features)


def add_rules(run: SegmentRun, rules: list[tuple[str, str]]) -> Segmentation:
    """The run's segmentation with the (name, rule text) segments added in order.

    A rule's name is the person's: a clustered segment that segtui happened to give the same
    name ("Big spenders") is renamed "Big spenders (clustered)". Two rules of one name are
    still refused."""
    seg = run.segmentation
    for name, expr in rules:
        clean = " ".join(name.split())
        for sid, taken in seg.names.items():
            if taken == clean and seg.rule(sid) is None:
                seg = seg.rename(sid, unique_name(f"{clean} (clustered)", seg.names.values()))
        seg = seg.add_rule_segment(name, expr)
    return seg


def profile_edited(run: SegmentRun, segmentation: Segmentation) -> list[SegmentProfile]:
    """Profiles of an edited segmentation (its labels and names) over the run's users."""
    labels = segmentation.labels(run.users)
    return profile_segments(
        run.users, labels, run.features, segmentation.names, segmentation.noise_id
    )


def _width() -> int:
    return max(80, shutil.get_terminal_size((100, 24)).columns)


def stability_text(jaccard: float | None, flagged: bool) -> str:
    """``0.91`` for a stable segment, ``0.52!`` for one flagged, ``-`` when not measured."""
    if jaccard is None:
        return "-"
    return f"{jaccard:.2f}" + ("!" if flagged else "")


def profile_lines(run: SegmentRun) -> list[str]:
    """The profile table: id, name, size, share, stability (when measured), top traits (cut to
    the terminal width). A ``!`` marks a segment flagged as over-segmentation."""
    report, flags = run.stability, run.flags
    rows = [
        (
            str(p.segment_id),
            p.name,
            f"{p.size:,}",
            percent(p.share),
            *(
                [stability_text(report.jaccard(p.segment_id), bool(flags.get(p.segment_id)))]
                if report is not None
                else []
            ),
            "; ".join(t.text for t in p.traits) or "-",
        )
        for p in run.profiles
    ]
    header = ("id", "name", "size", "share", *(["stability"] if report else []), "top traits")
    fixed_cols = len(header) - 1
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(fixed_cols)]
    budget = max(20, _width() - sum(widths) - 2 * fixed_cols - 2)
    out = [
        f"{algorithm_info(run.result.algorithm).label}, {run.result.n_segments} segments, "
        f"{len(run.features)} features, seed {run.seed}"
    ]
    aligns = ">", "<", ">", ">", ">"
    for i, r in enumerate([header, *rows]):
        traits = r[-1] if len(r[-1]) <= budget else r[-1][: budget - 1] + "…"
        cells = [f"{v:{aligns[j]}{widths[j]}}" for j, v in enumerate(r[:fixed_cols])]
        out.append("  ".join([*cells, traits]).rstrip())
        if i == 0:
            out.append("-" * min(_width(), len(out[-1]) + 10))
    if report is not None:
        out.append(
            f"stability: mean Jaccard of the best match over {report.fits} bootstrap refits on "
            f"{report.users:,} users (clusterboot); under 0.6 dissolved, 0.6-0.75 weak, "
            "0.75-0.85 fair, over 0.85 stable; ! = flagged below"
        )
    outcomes = outcome_lines(run.profiles)
    return [*out, "", *outcomes] if outcomes else out


def flag_lines(run: SegmentRun) -> list[str]:
    """Over-segmentation said out loud: each flagged segment and why."""
    names = {p.segment_id: p.name for p in run.profiles}
    flagged = [(sid, why) for sid, why in sorted(run.flags.items()) if why]
    if not flagged:
        return []
    out = ["", "over-segmentation:"]
    for sid, reasons in flagged:
        out.append(f"  {sid} {names.get(sid, '')}: {'; '.join(reasons)}")
    return out


def k_choice_lines(run: SegmentRun) -> list[str]:
    """How -k auto chose k: the pick and why, the near-ties, one line of evidence per k."""
    choice = run.k_choice
    if choice is None:
        return []
    out = [f"k = {choice.k} chosen automatically: {choice.reason}."]
    if choice.near_ties:
        ties = ", ".join(f"k={k}" for k in choice.near_ties)
        out.append(f"near-ties: {ties} (take one with -k N)")
    out.append(
        f"k scan on {choice.users:,} users, {choice.fits} refits per k; ref: the silhouette on "
        "data with no groups (* chosen, x a segment dissolves or mean stability under 0.75):"
    )
    out.append("    k  silhouette   ref  times  stability  least stable")
    for s in choice.scores:
        mark = "*" if s.k == choice.k else (" " if s.holds else "x")
        sil, ref = fixed(s.silhouette, ".2f"), fixed(s.null_silhouette, ".2f")
        times, stab, low = (fixed(v, ".2f") for v in (s.separation, s.stability, s.lowest))
        out.append(f"  {s.k:>3}{mark}  {sil:>9} {ref:>5}  {times:>5}  {stab:>9}  {low:>12}")
    out.append("")
    return out


def diagnostics_lines(d: Diagnostics) -> list[str]:
    """Diagnostics, one score a line, with which direction is better."""
    out = ["diagnostics:"]
    sampled = d.silhouette is not None and d.silhouette_sample < d.n_users
    sample = f" (on {d.silhouette_sample:,} users)" if sampled else ""
    out.append(f"  silhouette         {fixed(d.silhouette, '.3f')}{sample}  (-1..1, higher better)")
    out.append(f"  Davies-Bouldin     {fixed(d.davies_bouldin, '.3f')}  (lower better)")
    out.append(f"  Calinski-Harabasz  {fixed(d.calinski_harabasz, ',.1f')}  (higher better)")
    if d.inertia is not None:
        out.append(f"  inertia            {d.inertia:,.1f}  (within-segment sum of squares)")
    if d.bic is not None:
        out.append(f"  BIC                {d.bic:,.1f}  (lower better)")
    if d.noise_share:
        out.append(f"  noise              {percent(d.noise_share)} of users")
    return out


def segment_dict(data: UsersData, run: SegmentRun, files: dict[str, Any]) -> dict[str, Any]:
    """Machine-readable ``segment``."""
    infos = {s.id: s for s in run.segmentation.segments(run.users)}
    return {
        "source": data.kind,
        "users": data.users.height,
        "algorithm": run.result.algorithm,
        "params": run.result.params,
        "seed": run.seed,
        "features": run.features,
        "segments": [
            {
                "id": p.segment_id,
                "name": p.name,
                "kind": infos[p.segment_id].kind if p.segment_id in infos else "cluster",
                "size": p.size,
                "share": p.share,
                "stability": None if run.stability is None else run.stability.jaccard(p.segment_id),
                "flags": list(run.flags.get(p.segment_id, [])),
                "traits": [t.text for t in p.traits],
                "claims": [c.to_dict() for c in p.claims],
                "outcomes": {o.what: o.value for o in p.outcomes},
            }
            for p in run.profiles
        ],
        "stability": None if run.stability is None else run.stability.to_dict(),
        "k_choice": None if run.k_choice is None else run.k_choice.to_dict(),
        "diagnostics": run.diagnostics.to_dict(),
        "note": run.result.note,
        "messages": [*data.messages, *run.messages],
        "files": files,
    }


# ---- sweep


def parse_k_range(text: str) -> list[int]:
    """``2..12``, ``2-12``, ``3,5,8`` or ``6`` -> the ks."""
    value = text.strip()
    match = re.fullmatch(r"(\d+)\s*(?:\.\.|-|:)\s*(\d+)", value)
    try:
        if match:
            lo, hi = int(match.group(1)), int(match.group(2))
            if lo > hi:
                raise ValueError
            ks = list(range(lo, hi + 1))
        else:
            ks = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise InputError(
            f"--k {text!r} is not a range of k", hint="Use 2..12, or a list like 3,5,8."
        ) from None
    if not ks:
        raise InputError(
            f"--k {text!r} is not a range of k", hint="Use 2..12, or a list like 3,5,8."
        )
    if min(ks) < MIN_K:
        raise InputError(
            f"k must be at least {MIN_K}: one segment is everyone",
            hint=f"Start the range at {MIN_K}, e.g. --k 2..12.",
        )
    return ks


def sweep(
    paths: EventsOrUsersPathsArg,
    algo: AlgoOpt = "kmeans",
    k_range: Annotated[
        str, typer.Option("--k", "-k", help="The ks to try: 2..12, or 3,5,8.")
    ] = "2..12",
    features_: FeaturesOpt = None,
    seed: SeedOpt = 0,
    sample_size: SampleOpt = None,
    param: ParamOpt = None,
    users_table: UsersTableOpt = None,
    transform: TransformOpt = None,
    fill: FillOpt = None,
    scaling: ScalingOpt = "standard",
    as_of: AsOfOpt = None,
    feature_file: FeatureFileOpt = None,
    map_: MapOpt = None,
    mapping: MappingOpt = None,
    strict: StrictOpt = False,
    session_gap: ShortSessionGapOpt = 30.0,
    day_first: DayFirstOpt = None,
    layout: LayoutOpt = None,
    stability: StabilityOpt = True,
    json_: JsonOpt = False,
    engine: EngineOpt = "polars",
    memory_limit: MemoryLimitOpt = None,
    spark_master: SparkMasterOpt = None,
) -> None:
    """Fit a range of k, print the diagnostics per k and the suggested k with the reason."""
    check_engine(engine, memory_limit, spark_master)
    ks = parse_k_range(k_range)
    params = _params(algo, None, param)
    if "k" in params:
        raise InputError("give k with --k in a sweep, not --param k=...")
    names = feature_names(features_)
    fills = _fills(fill)
    options = load_options(map_, mapping, strict, session_gap, day_first, layout)
    fit = FitSpec(algo, params, seed, sample_size)
    if engine != "polars":
        refuse_users_table(engine, users_table)
        with open_engine(engine, memory_limit, spark_master) as running:
            data = engine_users(running, paths, options, feature_file, as_of, names, fit).data
    else:
        data = _load(paths, options, users_table, feature_file, as_of, names)
    prep = PrepSpec.for_data(
        data, names, transforms=_pairs(transform, "--transform"), fills=fills, scaling=scaling
    )
    with about_files(paths):
        result, messages = run_sweep(data.users, prep, fit, ks, stability=stability)
    if json_:
        out = {"users": data.users.height, **result.to_dict(), "messages": messages}
        echo_json(out)
        return
    lines = [*data.messages, "", *sweep_lines(result)]
    lines += [f"note: {m}" for m in messages]
    echo_lines(lines)


def _choice_cells(choice: KChoice, k: int) -> list[str]:
    """A sweep row's auto-k evidence: the silhouette as a multiple of the reference's, and the
    stability."""
    score = choice.score(k)
    if score is None:
        return [fixed(None, ".2f")] * 2
    return [fixed(score.separation, ".2f"), fixed(score.stability, ".2f")]


def sweep_lines(result: SweepResult) -> list[str]:
    """The sweep table and the suggestion (inertia and BIC columns only where they apply)."""
    with_inertia = any(r.diagnostics.inertia is not None for r in result.rows)
    with_bic = any(r.diagnostics.bic is not None for r in result.rows)
    header = (
        "k",
        "silhouette",
        "Davies-Bouldin",
        "Calinski-Harabasz",
        *(["inertia"] if with_inertia else []),
        *(["BIC"] if with_bic else []),
        *(["sil. x ref", "stability"] if result.k_choice is not None else []),
        "sec",
    )
    rows = [
        (
            str(r.k),
            fixed(r.diagnostics.silhouette, ".3f"),
            fixed(r.diagnostics.davies_bouldin, ".3f"),
            fixed(r.diagnostics.calinski_harabasz, ",.1f"),
            *([fixed(r.diagnostics.inertia, ",.1f")] if with_inertia else []),
            *([fixed(r.diagnostics.bic, ",.1f")] if with_bic else []),
            *(_choice_cells(result.k_choice, r.k) if result.k_choice is not None else []),
            f"{r.seconds:.2f}",
        )
        for r in result.rows
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    out = [f"{algorithm_info(result.algorithm).label} sweep, seed {result.seed}"]
    for i, row in enumerate([header, *rows]):
        out.append("  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))
        if i == 0:
            out.append("-" * len(out[-1]))
    if result.warmup_seconds >= 0.005:
        out.append(
            f"(plus {result.warmup_seconds:.2f} s once before the first k: loading scikit-learn "
            "and starting its threads; not in any k's time)"
        )
    out.append("")
    choice = result.k_choice
    if choice is not None:
        out.append(
            f"stability: mean clusterboot Jaccard over {choice.fits} refits per k on "
            f"{choice.users:,} users; sil. x ref: the silhouette as a multiple of the one a "
            "Gaussian of the same spread and no groups gives at that k"
        )
        out.append(f"suggested k: {choice.k} ({choice.reason})")
        if choice.near_ties:
            out.append(f"near-ties: {', '.join(f'k={k}' for k in choice.near_ties)}")
        out.append(f"by silhouette and elbow alone: k={result.suggested_k} ({result.reason})")
    elif result.suggested_k is None:
        out.append(f"no suggested k: {result.reason}")
    else:
        out.append(f"suggested k: {result.suggested_k} ({result.reason})")
    return out


# ---- assign


def assign(
    model: Annotated[
        Path, typer.Argument(help="A NAME.model.json, or a segments.parquet written by segment.")
    ],
    paths: EventsOrUsersPathsArg,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the labels (.parquet or .csv; with --engine spark, a path with "
            "no suffix is a folder of parquet parts).",
        ),
    ],
    as_of: AsOfOpt = None,
    map_: MapOpt = None,
    mapping: MappingOpt = None,
    strict: StrictOpt = False,
    session_gap: ModelSessionGapOpt = None,
    day_first: DayFirstOpt = None,
    layout: LayoutOpt = None,
    json_: JsonOpt = False,
    engine: EngineOpt = "polars",
    memory_limit: MemoryLimitOpt = None,
    spark_master: SparkMasterOpt = None,
) -> None:
    """Label the users in new files with a saved model: user_id, segment, segment_id."""
    check_engine(engine, memory_limit, spark_master)
    if engine != "polars":
        _refuse_reading_flags(engine, map_, mapping, strict, session_gap, day_first, layout)
    folder = engine == "spark" and is_folder_output(output)
    if folder:
        check_folder_output(output, [*resolve_paths(paths), model])
    else:
        _check_output(output, (".parquet", ".csv"))
        check_outputs([output], paths, model, mapping)
    m = read_model(model)
    moment = parse_as_of(as_of) if as_of is not None else None
    metadata = {METADATA_KEY: model_to_json(m.data)}
    if engine != "polars":
        messages: list[str] = []
        with open_engine(engine, memory_limit, spark_master) as running:
            source = inspect_source(paths)
            with _engine_target(output, folder) as target:
                write_labels_in(running, m, source, target, output_format(output), moment, metadata)
        counts = _written_counts(output, folder)
    else:
        options = model_load_options(
            m.session_gap_minutes, map_, mapping, strict, session_gap, day_first, layout
        )
        labels, messages = assign_with_messages(m, paths, as_of=moment, load_options=options)
        write_labels(labels, output, metadata)
        counts = labels.group_by("segment_id", "segment").len().sort("segment_id")
    mixed = mixed_export(model)
    if mixed:
        messages = [mixed, *messages]
    users = int(counts["len"].sum())
    if json_:
        out = {
            "model": str(model),
            "output": str(output),
            "users": users,
            "messages": messages,
            "segments": [
                {"id": sid, "name": name, "size": n} for sid, name, n in counts.iter_rows()
            ],
        }
        echo_json(out)
        return
    lines = [f"note: {message}" for message in messages]
    lines.append(f"labelled {users:,} users with {model}:")
    width = max([len(name) for _, name, _ in counts.iter_rows()] + [4])
    total = max(users, 1)
    lines += [
        f"  {sid:>3}  {name:<{width}}  {n:>10,}  {percent(n / total):>6}"
        for sid, name, n in counts.iter_rows()
    ]
    lines.append(f"wrote {output}")
    echo_lines(lines)


def _refuse_reading_flags(engine: str, *flags: object) -> None:
    """With a SQL engine the files are read as the model recorded: reading flags do not apply."""
    names = ("--map", "--mapping", "--strict", "--session-gap", "--day-first/--month-first")
    given = [
        name for name, flag in zip(names, flags[:5], strict=True) if flag not in (None, False, [])
    ]
    given += ["--layout"] if flags[5] is not None else []
    if given:
        raise InputError(
            f"{given[0]} does not apply with --engine {engine}: the engine reads the files as "
            "the model recorded its own files were read",
            hint="Leave it out, or use --engine polars, which reads the files again.",
        )


@contextlib.contextmanager
def _engine_target(output: Path, folder: bool) -> Iterator[Path]:
    """A temporary file renamed over ``output`` on success; a Spark folder as it is."""
    if folder:
        yield output
        return
    with atomic_write(output) as tmp:
        yield tmp


def _written_counts(output: Path, folder: bool) -> Any:
    """Users per segment in the labels the engine wrote (read back in one streaming pass), a
    polars frame of segment_id, segment, len."""
    import polars as pl

    if folder:
        frame = pl.scan_parquet(sorted(output.glob("*.parquet")))
    elif output.suffix.lower() == ".csv":
        frame = pl.scan_csv(output, schema_overrides={"user_id": pl.Utf8})
    else:
        frame = pl.scan_parquet(output)
    counts = frame.group_by("segment_id", "segment").len().sort("segment_id")
    return counts.collect(engine="streaming")
