"""Raw rows to canonical events in SQL, applying a :class:`~segtui.ingest.reading.ReadPlan`.

The ``SELECT`` reads a relation of the layout's source columns (``raw_events`` unless told
otherwise) and returns what :func:`segtui.ingest.events.load_events` keeps: the canonical
columns of the plan, text trimmed (empty is null), numbers in the decided format (NaN and
infinities null), ``ts`` in UTC through the decided timestamp formats or epoch unit, events
through the alias table, revenue derived or signed as decided, sessions from the inactivity gap
with window functions, and only the rows loading keeps (a user, a readable time and an event).
Source columns are read as text where the plan read text, so a relation an engine typed itself
(``read_csv`` guessing integers) reads the same as one read all as text, except that leading
zeros an engine dropped cannot come back: read the raw files as text for exactness.

DuckDB only so far; every expression goes through :class:`_Sql` so Spark can follow.
"""

from __future__ import annotations

from collections.abc import Sequence

from segtui import sqltext
from segtui.ingest.reading import ReadPlan, Source
from segtui.ingest.timestamps import AUTO_UNIT, EPOCH_LIMITS, TimestampPlan

_INDENT = "    "


def _quote(name: str) -> str:
    return sqltext.quote(name, "duckdb")


def _string(text: str) -> str:
    return sqltext.string(text, "duckdb")


def _re2(pattern: str) -> str:
    """A polars (Rust) regex as RE2 writes it: ``\\uXXXX`` escapes become ``\\x{XXXX}``."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("\\u", i) and i + 6 <= len(pattern):
            out.append("\\x{" + pattern[i + 2 : i + 6] + "}")
            i += 6
        else:
            out.append(pattern[i])
            i += 1
    return "".join(out)


def _trimmed(value: str) -> str:
    r"""Trimmed text, empty as null (polars ``strip_chars``: leading and trailing whitespace)."""
    return f"nullif(regexp_replace({value}, '^\\s+|\\s+$', '', 'g'), '')"


def _text(source: Source, dot_zero: bool = False) -> str:
    """One source as the text polars gives it (``segtui.ingest.text.text_expr``)."""
    col = _quote(source.name)
    if source.kind == "float":
        return (
            f"CASE WHEN {col} = floor({col}) THEN CAST(TRY_CAST({col} AS BIGINT) AS VARCHAR) "
            f"ELSE CAST({col} AS VARCHAR) END"
        )
    if source.kind == "text":
        text = _trimmed(f"CAST({col} AS VARCHAR)")
        return f"regexp_replace({text}, '\\.0+$', '')" if dot_zero else text
    return f"CAST({col} AS VARCHAR)"


def _first(values: Sequence[str]) -> str:
    return values[0] if len(values) == 1 else f"coalesce({', '.join(values)})"


def _finite(value: str) -> str:
    return f"CASE WHEN isfinite({value}) THEN {value} END"


def _number(source: Source, plan: ReadPlan) -> str:
    """One source as a finite DOUBLE (``segtui.ingest.numbers.number_expr``)."""
    col = _quote(source.name)
    if source.kind != "text":
        return _finite(f"TRY_CAST({col} AS DOUBLE)")
    text = _trimmed(f"CAST({col} AS VARCHAR)")
    fmt = plan.number_format
    pattern = fmt.grouped_pattern
    plain = f"TRY_CAST({text} AS DOUBLE)"
    if pattern is None:
        return _finite(plain)
    ok = f"regexp_full_match({text}, {_string(_re2(pattern))})"
    digits = f"regexp_replace({text}, {_string(_re2(fmt.group_marks))}, '', 'g')"
    if fmt.decimal == ",":
        value = f"CASE WHEN {ok} THEN TRY_CAST(replace({digits}, ',', '.') AS DOUBLE) END"
    else:
        value = f"coalesce({plain}, CASE WHEN {ok} THEN TRY_CAST({digits} AS DOUBLE) END)"
    return _finite(value)


def _strptime_formats(fmt: str) -> list[str]:
    """A chrono (polars) strptime format as the DuckDB formats reading the same values: chrono's
    ``%.f`` is an optional fraction of any length, its ``%#z`` an offset or ``Z``. DuckDB 2.0
    given a list of formats read ``15:00Z`` as 13:00 after a ``+02:00`` row (an offset kept
    from an earlier value), so each format is its own call."""
    forms = [fmt]
    for chrono, duckdb_forms in (("%.f", (".%f", ".%n", "")), ("%#z", ("Z", "%z"))):
        forms = (
            [f.replace(chrono, d, 1) for f in forms for d in duckdb_forms]
            if any(chrono in f for f in forms)
            else forms
        )
    return forms


def _micros_to_ts(micros: str) -> str:
    return f"CAST(make_timestamp({micros}) AS TIMESTAMPTZ)"


def _epoch(value: str, plan: TimestampPlan) -> str:
    unit = plan.epoch_unit
    text = _trimmed(f"CAST({value} AS VARCHAR)") if plan.numeric_text else value
    (s_limit, _), (ms_limit, _), (us_limit, _) = EPOCH_LIMITS
    if plan.integer:
        v = f"TRY_CAST({text} AS BIGINT)"
        if unit == AUTO_UNIT:
            micros = (
                f"CASE WHEN abs({v}) < {int(s_limit)} THEN {v} * 1000000 "
                f"WHEN abs({v}) < {int(ms_limit)} THEN {v} * 1000 "
                f"WHEN abs({v}) < {int(us_limit)} THEN {v} ELSE floor({v} / 1000) END"
            )
        elif unit == "ns":
            micros = f"floor({v} / 1000)"
        else:
            factor = {"s": 1_000_000, "ms": 1_000, "us": 1}[unit or "s"]
            micros = (
                f"CASE WHEN abs({v}) < {9_000_000_000_000_000 // factor} THEN {v} * {factor} END"
            )
        return _micros_to_ts(f"CAST({micros} AS BIGINT)")
    v = f"TRY_CAST({text} AS DOUBLE)"
    if unit == AUTO_UNIT:
        scaled = (
            f"CASE WHEN abs({v}) < {s_limit!r} THEN {v} * 1e6 "
            f"WHEN abs({v}) < {ms_limit!r} THEN {v} * 1e3 "
            f"WHEN abs({v}) < {us_limit!r} THEN {v} ELSE {v} * 1e-3 END"
        )
    else:
        scaled = f"{v} * {({'s': 1e6, 'ms': 1e3, 'us': 1.0, 'ns': 1e-3})[unit or 's']!r}"
    micros = f"CASE WHEN abs({scaled}) < 9e15 THEN CAST(round({scaled}) AS BIGINT) END"
    return _micros_to_ts(micros)


def _timestamp(raw: str, plan: TimestampPlan) -> str:
    """The raw time as TIMESTAMPTZ (UTC), null where the decided reading fails."""
    if plan.kind == "datetime":
        return f"CAST({raw} AS TIMESTAMPTZ)"
    if plan.kind == "epoch":
        return _epoch(raw, plan)
    text = _trimmed(f"CAST({raw} AS VARCHAR)")
    if plan.kind == "yyyymmdd":
        return f"CAST(try_strptime({text}, '%Y%m%d') AS TIMESTAMPTZ)"
    forms = [form for fmt in plan.formats for form in _strptime_formats(fmt)]
    # One call per format: a format list sharing one parser keeps a stale offset (see above).
    return _first([f"CAST(try_strptime({text}, {_string(form)}) AS TIMESTAMPTZ)" for form in forms])


def _event(plan: ReadPlan, order_id: str | None) -> str:
    """The canonical event name (``segtui.ingest.columns.plan_event``)."""
    if plan.event_mode == "invoice":
        assert order_id is not None
        refund = f"coalesce(starts_with({order_id}, 'C'), FALSE)"
        return f"CASE WHEN {refund} THEN 'refund' ELSE 'purchase' END"
    if plan.event_mode == "constant":
        return _string(plan.event_constant or "purchase")
    raw = _first([_text(s) for s in plan.event])
    if not plan.aliases:
        return raw
    whens = " ".join(f"WHEN {_string(k)} THEN {_string(v)}" for k, v in plan.aliases.items())
    return f"CASE {raw} {whens} ELSE {raw} END"


def _revenue(plan: ReadPlan) -> str | None:
    """Revenue as ``RevenuePlan.apply`` makes it: derived on sales, refunds negative."""
    if plan.revenue_mode is None:
        return None
    revenue = _quote("revenue")
    if plan.revenue_mode == "derived":
        quantity = 'coalesce("quantity", 1.0)' if plan.revenue_with_quantity else "1.0"
        revenue = f"""CASE WHEN "event" IN ('purchase', 'refund') THEN "price" * {quantity} END"""
    return f"""CASE WHEN "event" = 'refund' THEN -abs({revenue}) ELSE {revenue} END"""


def _cte(name: str, items: Sequence[str], source: str) -> str:
    listed = ",\n".join(f"{_INDENT}{item}" for item in items)
    return f"{name} AS (\nSELECT\n{listed}\nFROM {source}\n)"


def _sessions(gap_minutes: float) -> list[str]:
    """Two CTEs: a session starts at a user's first event and after each gap longer than the
    session gap; its id is the user and the start in epoch seconds (``ingest.sessions``)."""
    gap_us = round(gap_minutes * 60_000_000)
    window = 'PARTITION BY "user_id" ORDER BY "ts"'
    previous = f'lag(epoch_us("ts")) OVER ({window})'
    new = f'coalesce(epoch_us("ts") - {previous} > {gap_us}, TRUE) AS __new'
    start_s = 'CAST(floor(epoch_us("ts") / 1000000) AS BIGINT)'
    start = (
        f"max(CASE WHEN __new THEN {start_s} END) "
        f"OVER ({window} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    )
    session = f"{_quote('user_id')} || '#' || CAST({start} AS VARCHAR) AS {_quote('session_id')}"
    return [_cte("__gaps", ["*", new], "__kept"), _cte("__sessions", ["*", session], "__gaps")]


def read_sql(plan: ReadPlan, relation: str = "raw_events") -> str:
    """The canonical events of ``relation`` as one DuckDB ``SELECT`` (module docstring)."""
    values: dict[str, str] = {}
    for canonical, sources in plan.texts.items():
        dot_zero = plan.dot_zero_ids and canonical == "user_id"
        values[canonical] = _first([_text(s, dot_zero) for s in sources])
    for canonical, sources in plan.numbers.items():
        value = _first([_number(s, plan) for s in sources])
        if canonical == "scroll_depth" and plan.scroll_percent:
            value = f"({value}) / 100.0"
        values[canonical] = value
    raw_ts = _first(
        [
            _trimmed(f"CAST({_quote(s.name)} AS VARCHAR)") if s.kind == "text" else _quote(s.name)
            for s in plan.ts
        ]
    )
    event = _event(plan, values.get("order_id"))
    # First every canonical column from the raw ones (raw and canonical names may collide).
    read = [f"{value} AS {_quote(name)}" for name, value in values.items()]
    read += [f"{raw_ts} AS __ts_raw", f"{event} AS {_quote('event')}"]
    canonical = {c: _quote(c) for c in plan.columns if c in values or c == "event"}
    canonical["ts"] = _timestamp("__ts_raw", plan.timestamps)
    canonical["__ts_raw"] = "__ts_raw"
    revenue = _revenue(plan)
    if revenue is not None:
        canonical["revenue"] = revenue
    kept_if = '"user_id" IS NOT NULL AND __ts_raw IS NOT NULL AND "event" IS NOT NULL'
    ctes = [
        _cte("__read", read, relation),
        _cte("__canonical", [f"{v} AS {_quote(k)}" for k, v in canonical.items()], "__read"),
        f'__kept AS (\nSELECT * FROM __canonical WHERE {kept_if} AND "ts" IS NOT NULL\n)',
    ]
    source = "__kept"
    if plan.session_gap_minutes is not None:
        ctes += _sessions(plan.session_gap_minutes)
        source = "__sessions"
    listed = ", ".join(_quote(c) for c in plan.columns)
    return "WITH " + ",\n".join(ctes) + f"\nSELECT {listed} FROM {source}"
