"""A saved model as one SQL ``SELECT`` that labels users where the data lives.

The query does what :func:`segtui.artifacts.assign.assign_users` does, step by step, each step a
CTE so the text grows linearly with the model:

1. the model's recorded feature declarations over a relation of canonical events
   (:mod:`segtui.features.sql`), or, for a model fitted on a users table, that table's columns;
2. the model's preparation per feature: transform (``log1p`` as sign(x) * ln(1 + |x|),
   ``log_share`` as ln(1 + max(x, 0) / 0.1)), the
   Yeo-Johnson power with its fitted lambda, the fitted fill for nulls, centre, scale, weight;
3. the nearest stored center (squared Euclidean distance; on a tie the first center, as
   ``numpy.argmin``), then the center's segment (a mixture: see below);
4. the segmentation's edits replayed in order: a merge moves its segments' users to the target,
   a split sends its segment's users to the nearest part center; renames change only names;
5. rule segments last, the first rule added winning, on the raw feature values;
6. ``user_id, segment_id, segment``.

Step 3 for a Gaussian mixture is its most likely component (log weight plus log density, the
constants computed here from the stored precisions). Only what SQL can say exactly is rendered:
a model whose clustering or preparation has no SQL form here (density clustering, which labels a
new user by its distance to stored users; the rank transform) is refused with the reason, so no
pipeline runs SQL that labels differently from segtui.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from segtui import sqltext
from segtui.artifacts.model import Model
from segtui.canonical import CANONICAL_COLUMNS
from segtui.clustering.prepare import SHARE_PSEUDO, FeatureParams
from segtui.clustering.state import CentroidState, MixtureState
from segtui.errors import InputError
from segtui.features.plan import plan_features
from segtui.features.sql import Dialect, dialect, plan_sql
from segtui.ingest import pg_parse
from segtui.ingest.read_sql import read_sql
from segtui.segments.edits import AddRule, Merge, Split
from segtui.segments.rules import parse_rule, to_sql

_P = "__s"
_INDENT = "    "
SCORING_DIALECTS: tuple[str, ...] = ("duckdb", "spark", "postgres")


def _float(value: float) -> str:
    """A finite float as a DOUBLE literal every dialect reads exactly (shortest round trip)."""
    text = repr(float(value))
    return text if "e" in text else f"{text}E0"


def _ln1p(sql: Dialect, x: str) -> str:
    return f"log1p({x})" if sql.name == "spark" else f"ln(1 + {x})"


def _transformed(fp: FeatureParams, sql: Dialect) -> str:
    """One feature's prepared value: the fitted steps of transform_users, in its order."""
    x = f"CAST({sql.quote(fp.name)} AS {sql.double})"
    if fp.transform == "log1p":
        x = f"(sign({x}) * {_ln1p(sql, f'abs({x})')})"
    elif fp.transform == "log_share":  # log1p(max(x, 0) / pseudo); a null stays null
        clipped = f"(CASE WHEN {x} < 0 THEN 0.0E0 ELSE {x} END / {_float(SHARE_PSEUDO)})"
        x = _ln1p(sql, clipped)
    elif fp.transform == "rank":
        raise InputError(
            f"feature '{fp.name}' uses the rank transform, which the scoring SQL cannot express "
            "exactly yet",
            hint="Refit with another transform for this feature (log1p or none).",
        )
    if fp.power is not None:
        lam = float(fp.power)
        if abs(lam) < 1e-12:
            pos = _ln1p(sql, x)
        else:
            pos = f"((exp({_float(lam)} * {_ln1p(sql, x)}) - 1) / {_float(lam)})"
        if abs(lam - 2.0) < 1e-12:
            neg = f"(-{_ln1p(sql, f'-{x}')})"
        else:
            other = 2.0 - lam
            neg = f"(-(exp({_float(other)} * {_ln1p(sql, f'-{x}')}) - 1) / {_float(other)})"
        x = f"CASE WHEN {x} >= 0 THEN {pos} WHEN {x} < 0 THEN {neg} END"
    filled = f"coalesce({x}, {_float(fp.impute)})"
    return f"(({filled} - {_float(fp.center)}) / {_float(fp.scale)} * {_float(fp.weight)})"


def _projected(
    sql: Dialect,
    xs: Sequence[str],
    components: Sequence[Sequence[float]],
    mean: Sequence[float],
) -> list[str]:
    """``pc1``, ``pc2``: the prepared values on the PCA axes (components @ x - components @ mean,
    as :func:`segtui.clustering.projection.project_rows`), as float32 widened to a double."""
    comp = np.asarray(components, dtype=np.float64)
    offset = comp @ np.asarray(mean, dtype=np.float64)
    items = []
    for i, row in enumerate(comp):
        terms = " + ".join(f"{_float(c)} * {x}" for c, x in zip(row, xs, strict=True))
        value = f"({terms}) - {_float(offset[i])}"
        items.append(f"CAST(CAST({value} AS {sql.real}) AS {sql.double}) AS pc{i + 1}")
    return items


class _Query:
    def __init__(self, fence: str = "") -> None:
        self.ctes: list[str] = []
        self.last = ""
        self.fence = fence

    def add(self, name: str, body: str) -> None:
        self.ctes.append(f"{name} AS (\n{body}{self.fence}\n)")
        self.last = name

    def select(self, items: Sequence[str], source: str) -> str:
        listed = ",\n".join(f"{_INDENT}{item}" for item in items)
        return f"SELECT\n{listed}\nFROM {source}"


def _pick(query: _Query, scores: Sequence[str], ids: Sequence[int], prefix: str, best: str) -> str:
    """Two CTEs on the query: a score per candidate, then the best (``least`` or ``greatest``);
    returns the CASE giving the best candidate's id (the first on a tie, as numpy's argmin and
    argmax)."""
    names = [f"{prefix}{c}" for c in range(len(scores))]
    items = [f"{score} AS {name}" for score, name in zip(scores, names, strict=True)]
    query.add(f"{prefix}score", query.select(["*", *items], query.last))
    top = names[0] if len(names) == 1 else f"{best}({', '.join(names)})"
    query.add(f"{prefix}best", query.select(["*", f"{top} AS {prefix}top"], query.last))
    whens = " ".join(
        f"WHEN {name} = {prefix}top THEN {sid}" for name, sid in zip(names, ids, strict=True)
    )
    return f"CASE {whens} END"


def _squared(columns: Sequence[str], point: Sequence[float]) -> str:
    return " + ".join(
        f"({col} - {_float(v)}) * ({col} - {_float(v)})"
        for col, v in zip(columns, point, strict=True)
    )


def _nearest(
    query: _Query,
    columns: Sequence[str],
    centers: Sequence[Sequence[float]],
    ids: Sequence[int],
    prefix: str,
) -> str:
    """The nearest center's id by squared Euclidean distance."""
    return _pick(query, [_squared(columns, c) for c in centers], ids, prefix, "least")


def _whitened(columns: Sequence[str], mean: np.ndarray, chol: np.ndarray) -> str:
    """||(x - mean) @ chol||^2: the squared Mahalanobis distance under a precision Cholesky
    factor (full and tied covariances)."""
    shifted = [f"({col} - {_float(m)})" for col, m in zip(columns, mean, strict=True)]
    terms = []
    for k in range(chol.shape[1]):
        y = " + ".join(f"{x} * {_float(chol[j, k])}" for j, x in enumerate(shifted))
        terms.append(f"({y}) * ({y})")
    return " + ".join(terms)


def _most_likely(query: _Query, columns: Sequence[str], state: MixtureState, prefix: str) -> str:
    """The most likely component's segment: log weight + log density, scikit-learn's formulas
    (the constants computed here, the distances in SQL)."""
    d = len(columns)
    chol = np.asarray(state.precisions_cholesky, dtype=np.float64)
    means = np.asarray(state.means, dtype=np.float64)
    scores, ids = [], []
    for c in range(means.shape[0]):
        if state.component_labels[c] < 0:
            continue
        kind = state.covariance_type
        if kind == "full":
            log_det, squared = (
                np.sum(np.log(np.diag(chol[c]))),
                _whitened(columns, means[c], chol[c]),
            )
        elif kind == "tied":
            log_det, squared = np.sum(np.log(np.diag(chol))), _whitened(columns, means[c], chol)
        elif kind == "diag":
            log_det = np.sum(np.log(chol[c]))
            squared = " + ".join(
                f"{_float(chol[c, j] ** 2)} * ({col} - {_float(means[c, j])})"
                f" * ({col} - {_float(means[c, j])})"
                for j, col in enumerate(columns)
            )
        else:  # spherical
            log_det = d * np.log(chol[c])
            squared = f"{_float(chol[c] ** 2)} * ({_squared(columns, means[c])})"
        constant = -0.5 * d * np.log(2 * np.pi) + log_det + np.log(state.weights[c])
        scores.append(f"{_float(constant)} - 0.5 * ({squared})")
        ids.append(int(state.component_labels[c]))
    return _pick(query, scores, ids, prefix, "greatest")


def _check_state(model: Model) -> CentroidState | MixtureState:
    state = model.state
    if not isinstance(state, CentroidState | MixtureState):
        raise InputError(
            f"a {model.algorithm} model cannot be written as scoring SQL: density clustering "
            "labels a new user by its distance to stored users, which SQL here does not hold",
            hint="Refit with --algo kmeans or gmm to score in SQL, or label with `segtui assign`.",
        )
    return state


def _users_table_columns(id_column: str, features: Sequence[str]) -> list[str]:
    """A users table in PostgreSQL, typed or all text (``COPY`` into TEXT columns): the id
    trimmed and every feature read as polars reads a number written with a decimal point,
    through the guarded casts of :mod:`segtui.ingest.pg_parse` (a value that is not a number
    is null, as in ``assign``, and cannot stop the query)."""
    q = dialect("postgres").quote

    edges = sqltext.string(pg_parse.EDGE_SPACE, "postgres")

    def trimmed(value: str) -> str:
        return f"regexp_replace(CAST({value} AS TEXT), {edges}, '', 'g')"

    items = [f"{trimmed(id_column)} AS {q('user_id')}"]
    for name in features:
        text = f"nullif({trimmed(q(name))}, '')"
        items.append(f"{pg_parse.finite(pg_parse.to_double(text))} AS {q(name)}")
    return items


def _raw_reading(model: Model, dialect_name: str, relation: str, structs: bool) -> str:
    """The model's reading of raw rows as SQL, or why there is none."""
    if model.read_plan is None:
        raise InputError(
            "this model does not record how its files were read (it was written before the "
            "reading decisions were kept)",
            file=model.file,
            hint="Refit it with this segtui (`segtui segment`) to score raw rows in SQL.",
        )
    return read_sql(model.read_plan, relation, dialect_name, structs)


def scoring_sql(
    model: Model,
    dialect_name: str = "duckdb",
    relation: str = "raw_events",
    *,
    raw: bool = True,
    as_of: datetime | None = None,
    from_features: bool = False,
    keep: Sequence[str] = (),
    projection: tuple[Sequence[Sequence[float]], Sequence[float]] | None = None,
    features_only: bool = False,
    structs: bool = False,
) -> str:
    """One ``SELECT`` returning ``user_id, segment_id, segment`` for the users in ``relation``.

    For a model built from events, ``relation`` holds the raw rows of the layout the model was
    trained on (its source columns), read with the model's recorded reading decisions
    (:mod:`segtui.ingest.read_sql`); with ``raw=False`` it holds canonical events instead. For a
    model built from a users table it holds that table (the model's id column and feature
    columns). ``as_of`` is the reference time (events after it left out), as ``assign``'s;
    None: the latest event in ``relation``. Raises InputError when the model has no exact SQL
    form (module docstring).

    ``from_features``: ``relation`` holds one row per user already, ``user_id`` and the model's
    columns (the feature table an engine computed from these same declarations, so the features
    are not computed twice). ``keep`` names feature columns returned after ``segment``, and
    ``projection`` (the model's PCA ``components`` and ``mean``) adds ``pc1`` and ``pc2`` of the
    prepared values, rounded to float32 as the export writes them. ``features_only``: the
    feature query alone (``user_id`` and the model's features, before any preparation).
    ``structs``: the raw rows of an NDJSON layout are an engine's JSON reader output, nested
    keys struct fields (else columns named by their flattened path, as segtui's readers give).
    """
    if dialect_name not in SCORING_DIALECTS:
        raise InputError(
            f"no SQL dialect {dialect_name!r}", hint=f"Known: {', '.join(SCORING_DIALECTS)}."
        )
    sql = dialect(dialect_name)
    query = _Query(pg_parse.FENCE if sql.name == "postgres" else "")
    user = sql.quote("user_id")
    features = list(model.columns)
    integers: set[str] = set()
    if model.kind == "events":
        plan = plan_features(model.specs or [], CANONICAL_COLUMNS, as_of)
        integers = {out.name for out in plan.outputs if out.integer}
    if model.kind == "users_table" or from_features:
        id_column = sql.quote("user_id" if from_features else model.id_column or "user_id")
        if sql.name == "postgres" and not from_features:
            items = _users_table_columns(id_column, features)
        else:
            items = [f"CAST({id_column} AS {sql.text}) AS {user}"]
            items += [sql.quote(name) for name in features]
        features_body = query.select(items, relation)
    else:
        events = relation
        if raw:
            reading = _raw_reading(model, dialect_name, relation, structs)
            events = f"(\n{reading}\n) AS {_P}canonical"
        features_body = plan_sql(plan, dialect_name, events)
    if features_only:
        return features_body
    state = _check_state(model)
    query.add(f"{_P}features", features_body)
    params = model.prepare.features
    xs = [f"{_P}x{j}" for j in range(len(params))]
    prepared = [user, *(sql.quote(name) for name in features)]
    prepared += [f"{_transformed(fp, sql)} AS {x}" for fp, x in zip(params, xs, strict=True)]
    query.add(f"{_P}prepared", query.select(prepared, f"{_P}features"))

    if isinstance(state, MixtureState):
        nearest = _most_likely(query, xs, state, f"{_P}g")
    else:
        allowed = [i for i, label in enumerate(state.center_labels) if label >= 0]
        centers = [state.centers[i] for i in allowed]
        ids = [int(state.center_labels[i]) for i in allowed]
        nearest = _nearest(query, xs, centers, ids, f"{_P}d")
    query.add(f"{_P}step0", query.select(["*", f"{nearest} AS {_P}label0"], query.last))
    label = f"{_P}label0"
    for index, edit in enumerate(model.segmentation.edits):
        step = f"{_P}step{index + 1}"
        new = f"{_P}label{index + 1}"
        if isinstance(edit, Merge):
            others = [sid for sid in edit.segment_ids if sid != edit.target_id]
            moved = ", ".join(str(sid) for sid in others)
            case = f"CASE WHEN {label} IN ({moved}) THEN {edit.target_id} ELSE {label} END"
            query.add(step, query.select(["*", f"{case} AS {new}"], query.last))
        elif isinstance(edit, Split):
            split = model.splits[index]
            part = _nearest(query, xs, split.centers, split.ids, f"{_P}p{index}_")
            case = f"CASE WHEN {label} = {edit.segment_id} THEN {part} ELSE {label} END"
            query.add(step, query.select(["*", f"{case} AS {new}"], query.last))
        else:
            continue
        label = new
    rules = model.segmentation.rule_ids
    if rules:
        # Rule ids are never reused (the replay checks it), so each id's AddRule is its rule.
        texts = {e.segment_id: e.rule for e in model.segmentation.edits if isinstance(e, AddRule)}
        whens = []
        for sid in rules:
            rule = parse_rule(texts[sid], features)
            condition = to_sql(rule.ast, dialect_name, nan_free=sorted(integers))
            whens.append(f"WHEN {condition} THEN {sid}")
        case = f"CASE {' '.join(whens)} ELSE {label} END"
        query.add(f"{_P}ruled", query.select(["*", f"{case} AS {_P}label_ruled"], query.last))
        label = f"{_P}label_ruled"
    names = model.segment_names
    named = " ".join(f"WHEN {sid} THEN {sql.string(name)}" for sid, name in sorted(names.items()))
    final = [
        user,
        f"CAST({label} AS INTEGER) AS {sql.quote('segment_id')}",
        f"CASE {label} {named} END AS {sql.quote('segment')}",
        *(sql.quote(name) for name in keep),
        *([] if projection is None else _projected(sql, xs, *projection)),
    ]
    body = query.select(final, query.last) + f"\nORDER BY {user}"
    return "WITH " + ",\n".join(query.ctes) + "\n" + body


TRANSPILED_DIALECTS: tuple[str, ...] = ("bigquery", "snowflake")
"""Dialects written by sqlglot from the DuckDB text (its most complete reader), not executed
here: checked to parse, and refused where the translation would not be faithful."""

_EPOCH_US = {"bigquery": "UNIX_MICROS({})", "snowflake": "DATE_PART(EPOCH_MICROSECOND, {})"}


def transpiled_sql(
    model: Model,
    dialect_name: str,
    relation: str = "raw_events",
    *,
    raw: bool = True,
    as_of: datetime | None = None,
    features_only: bool = False,
) -> str:
    """The scoring SQL (or with ``features_only`` the feature query) in BigQuery or Snowflake,
    through sqlglot; InputError where it cannot be said faithfully: raw rows (their reading trims
    and parses text with regular expressions and timestamp formats, whose flags and formats
    sqlglot carries over wrongly or not at all), and any function sqlglot does not know (it
    would pass it through untranslated)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel, SqlglotError

    if dialect_name not in TRANSPILED_DIALECTS:
        raise InputError(
            f"no SQL dialect {dialect_name!r}", hint=f"Known: {', '.join(TRANSPILED_DIALECTS)}."
        )
    if model.kind == "events" and raw:
        raise InputError(
            f"scoring SQL for {dialect_name} reads canonical events, not raw rows: reading raw "
            "rows parses text (trimming and number patterns as regular expressions, the recorded "
            "timestamp formats), which sqlglot does not translate faithfully",
            hint="Load the events with segtui's columns (user_id, ts as a TIMESTAMP in UTC, "
            "event, ...) and pass --canonical, or run --dialect duckdb|postgres on the raw files.",
        )
    text = scoring_sql(
        model, "duckdb", relation, raw=False, as_of=as_of, features_only=features_only
    )
    tree = sqlglot.parse_one(text, read="duckdb")
    for node in list(tree.find_all(exp.Anonymous)):
        if node.name.lower() == "epoch_us" and len(node.expressions) == 1:
            arg = node.expressions[0].sql(dialect=dialect_name)
            replacement = _EPOCH_US[dialect_name].format(arg)
            node.replace(sqlglot.parse_one(replacement, read=dialect_name))
    unknown = sorted({n.name for n in tree.find_all(exp.Anonymous)})
    if unknown:
        raise InputError(
            f"scoring SQL for {dialect_name} would pass {', '.join(unknown)} through "
            "untranslated (sqlglot does not know it), so it is not written",
            hint="Use --dialect duckdb or postgres, or report the function.",
        )
    try:
        return tree.sql(dialect=dialect_name, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as error:
        reason = str(error).splitlines()[0]
        raise InputError(
            f"sqlglot cannot write this model's scoring SQL in {dialect_name} faithfully: {reason}",
            hint="Use --dialect duckdb or postgres.",
        ) from error
