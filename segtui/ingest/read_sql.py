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

DuckDB, Spark SQL and PostgreSQL; run each with the session time zone UTC. PostgreSQL has no
``TRY_CAST``: its readings of text are guarded casts that read what polars reads
(:mod:`segtui.ingest.pg_parse`), so no row can stop the query.
"""

from __future__ import annotations

from collections.abc import Sequence

from segtui import sqltext
from segtui.ingest import pg_parse
from segtui.ingest.reading import ReadPlan, Source
from segtui.ingest.report import (
    BAD_FLAG,
    CONFLICT_FLAG,
    EVENT_RAW,
    NUM_RAW,
    REASON_COL,
    REASONS,
    TS_RAW,
)
from segtui.ingest.timestamps import AUTO_UNIT, EPOCH_LIMITS, TimestampPlan

_INDENT = "    "
_PRINTABLE = (33, 132)
"""Code points no white space polars strips lies between (``!`` to U+0084)."""
DIALECTS: tuple[str, ...] = ("duckdb", "spark", "postgres")


def _re2(pattern: str) -> str:
    """A polars (Rust) regex as RE2 and Java write it: ``\\uXXXX`` becomes ``\\x{XXXX}``."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("\\u", i) and i + 6 <= len(pattern):
            out.append("\\x{" + pattern[i + 2 : i + 6] + "}")
            i += 6
        else:
            out.append(pattern[i])
            i += 1
    return "".join(out)


def _first(values: Sequence[str]) -> str:
    return values[0] if len(values) == 1 else f"coalesce({', '.join(values)})"


def _duckdb_formats(fmt: str) -> list[str]:
    """A chrono (polars) strptime format as the DuckDB formats reading the same values: chrono's
    ``%.f`` is an optional fraction of any length, its ``%#z`` an offset or ``Z``. DuckDB 2.0
    given a list of formats read ``15:00Z`` as 13:00 after a ``+02:00`` row (an offset kept
    from an earlier value), so each format is its own call."""
    forms = [fmt]
    for chrono, duckdb_forms in (("%.f", (".%f", ".%n", "")), ("%#z", ("Z", "%z"))):
        if any(chrono in f for f in forms):
            forms = [f.replace(chrono, d, 1) for f in forms for d in duckdb_forms]
    return forms


_LONG_FRACTION = r"(\.[0-9]{6})[0-9]+"
"""A fraction with more digits than microseconds (the first six kept as group 1)."""

_JAVA_PARTS = {
    "%Y": "yyyy",
    "%m": "M",
    "%d": "d",
    "%H": "H",
    "%M": "m",
    "%S": "s",
    "%.f": "[.SSSSSSSSS]",
}


def _spark_formats(fmt: str) -> list[str]:
    """A chrono format as Spark datetime patterns (one-letter fields parse one or two digits;
    letters between fields are quoted; ``%#z`` as ``X``, ``XX`` or ``XXX``, each taking ``Z``)."""
    out, literal, i = [], [], 0

    def flush() -> None:
        if literal:
            text = "".join(literal).replace("'", "''")
            out.append(f"'{text}'" if any(c.isalpha() for c in text) else text)
            literal.clear()

    while i < len(fmt):
        part = next((k for k in (*_JAVA_PARTS, "%#z") if fmt.startswith(k, i)), None)
        if part is None:
            literal.append(fmt[i])
            i += 1
            continue
        flush()
        out.append("\0" if part == "%#z" else _JAVA_PARTS[part])
        i += len(part)
    flush()
    pattern = "".join(out)
    if "\0" not in pattern:
        return [pattern]
    return [pattern.replace("\0", zone) for zone in ("XXX", "XX", "X")]


class _Reader:
    """Renders a ReadPlan's expressions in one dialect."""

    def __init__(self, plan: ReadPlan, dialect: str, structs: bool = False) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r}")
        self.plan = plan
        self.dialect = dialect
        self.spark = dialect == "spark"
        self.pg = dialect == "postgres"
        self.structs = structs and not self.pg
        self.text_type = {"spark": "STRING", "postgres": "TEXT"}.get(dialect, "VARCHAR")
        self.ts_type = "TIMESTAMP" if self.spark else "TIMESTAMPTZ"

    def quote(self, name: str) -> str:
        return sqltext.quote(name, self.dialect)

    def column(self, source: Source) -> str:
        """A raw source column: by its flattened name, or (``structs``) a nested NDJSON source
        as the struct fields of the engine's JSON reader (``"properties"."price"``)."""
        keys = self.plan.json_paths.get(source.name) if self.structs else None
        if keys:
            return ".".join(self.quote(key) for key in keys)
        return self.quote(source.name)

    def typed_time(self, col: str) -> str:
        """The instant of a time column the engine's reader typed itself (DuckDB's
        ``read_csv`` and ``read_json``, Spark's ``inferSchema``), null for a text column: a
        typed time has no text left to read by the model's formats. A time with no zone is
        UTC, as the text it came from reads."""
        if self.spark:
            typed = "('timestamp', 'timestamp_ntz', 'date')"
            return f"CASE WHEN typeof({col}) IN {typed} THEN CAST({col} AS TIMESTAMP) END"
        naive = "('TIMESTAMP', 'DATE', 'TIMESTAMP_NS', 'TIMESTAMP_MS', 'TIMESTAMP_S')"
        return (
            f"CASE WHEN typeof({col}) = 'TIMESTAMP WITH TIME ZONE' THEN TRY_CAST({col} AS "
            f"TIMESTAMPTZ) WHEN typeof({col}) IN {naive} THEN "
            f"make_timestamptz(epoch_us(TRY_CAST({col} AS TIMESTAMP))) END"
        )

    def string(self, text: str) -> str:
        return sqltext.string(text, self.dialect)

    def as_text(self, value: str) -> str:
        return f"CAST({value} AS {self.text_type})"

    def replace_all(self, value: str, pattern: str, by: str = "") -> str:
        flags = "" if self.spark else ", 'g'"
        return f"regexp_replace({value}, {self.string(pattern)}, {self.string(by)}{flags})"

    def trimmed(self, value: str) -> str:
        """Trimmed text, empty as null: polars ``strip_chars``, which strips Unicode white space
        (a no-break space, U+3000), not only the ASCII ``\\s`` of DuckDB's and Java's regexes."""
        if self.pg:
            return f"nullif({self.replace_all(value, pg_parse.EDGE_SPACE)}, '')"
        # A trim by a set of characters costs ~2 us a value in DuckDB (10x a plain trim), a
        # regex replace about as much in Spark; a value starting and ending with printable
        # ASCII (nearly all) has nothing to strip and is not empty, so only the others are
        # trimmed. The first and last code points: unicode(x), x[-1] (DuckDB); ascii(x) and
        # substring(x, -1) (Spark, whose ascii() gives the code point).
        printable = f"BETWEEN {_PRINTABLE[0]} AND {_PRINTABLE[1]}"
        if self.spark:
            first, last = f"ascii({value})", f"ascii(substring({value}, -1, 1))"
            stripped = self.replace_all(value, pg_parse.EDGE_SPACE)
        else:
            first, last = f"unicode({value})", f"unicode({value}[-1])"
            stripped = f"trim({value}, {self.string(pg_parse.WHITE_SPACE_CHARS)})"
        return (
            f"CASE WHEN {first} {printable} AND {last} {printable} "
            f"THEN {value} ELSE nullif({stripped}, '') END"
        )

    def text(self, source: Source, dot_zero: bool = False) -> str:
        """One source as the text polars gives it (``segtui.ingest.text.text_expr``)."""
        col = self.column(source)
        if source.kind == "float" and self.pg:
            # A whole float within BIGINT as its integer, NaN as polars spells it, a whole
            # number beyond BIGINT (and an infinity) null, as polars' failed cast.
            whole = f"{col} >= -9223372036854775808 AND {col} < 9223372036854775808"
            return (
                f"CASE WHEN {col} = 'NaN' THEN 'NaN' WHEN {col} = floor({col}) AND {whole} "
                f"THEN {self.as_text(f'CAST({col} AS BIGINT)')} WHEN {col} = floor({col}) "
                f"THEN NULL ELSE {self.as_text(col)} END"
            )
        if source.kind == "float":
            whole = self.as_text(f"TRY_CAST({col} AS BIGINT)")
            return f"CASE WHEN {col} = floor({col}) THEN {whole} ELSE {self.as_text(col)} END"
        if source.kind == "text":
            text = self.trimmed(self.as_text(col))
            return self.replace_all(text, r"\.0+$") if dot_zero else text
        return self.as_text(col)

    def to_double(self, text: str) -> str:
        """Text as a DOUBLE, null where it does not read."""
        return pg_parse.to_double(text) if self.pg else f"TRY_CAST({text} AS DOUBLE)"

    def to_bigint(self, text: str) -> str:
        """Text as a BIGINT, null where it does not read."""
        return pg_parse.to_bigint(text) if self.pg else f"TRY_CAST({text} AS BIGINT)"

    def finite(self, value: str) -> str:
        if self.pg:
            return pg_parse.finite(value)
        if self.spark:
            infinity = "CAST('Infinity' AS DOUBLE)"
            return f"CASE WHEN NOT isnan({value}) AND abs({value}) <> {infinity} THEN {value} END"
        return f"CASE WHEN isfinite({value}) THEN {value} END"

    def number(self, source: Source) -> str:
        """One source as a finite DOUBLE (``segtui.ingest.numbers.number_expr``)."""
        col = self.column(source)
        if source.kind != "text":
            if self.pg and source.kind in ("float", "integer"):
                return self.finite(f"CAST({col} AS DOUBLE PRECISION)")
            if self.pg:  # booleans and the rest: their text, read as a number
                return self.finite(self.to_double(self.trimmed(self.as_text(col))))
            return self.finite(f"TRY_CAST({col} AS DOUBLE)")
        text = self.trimmed(self.as_text(col))
        fmt = self.plan.number_format
        pattern = fmt.grouped_pattern
        plain = self.to_double(text)
        if pattern is None:
            return self.finite(plain)
        if self.pg:  # PostgreSQL's regexes read polars' \d and \uXXXX as written
            ok = f"({text} ~ {self.string(pattern)})"
            digits = self.replace_all(text, fmt.group_marks)
        else:
            regex = self.string(_re2(pattern))
            ok = f"({text} RLIKE {regex})" if self.spark else f"regexp_full_match({text}, {regex})"
            digits = self.replace_all(text, _re2(fmt.group_marks))
        if fmt.decimal == ",":
            comma = self.to_double(f"replace({digits}, ',', '.')")
            value = f"CASE WHEN {ok} THEN {comma} END"
        else:
            value = f"coalesce({plain}, CASE WHEN {ok} THEN {self.to_double(digits)} END)"
        return self.finite(value)

    def micros_to_ts(self, micros: str) -> str:
        if self.pg:
            return pg_parse.micros_to_ts(micros)
        if self.spark:
            return f"timestamp_micros({micros})"
        return f"make_timestamptz({micros})"  # the UTC instant, with no calendar (ICU) work

    def epoch(self, value: str, plan: TimestampPlan) -> str:
        if self.pg:
            return self.pg_epoch(value, plan)
        unit = plan.epoch_unit
        text = self.ts_text(value) if plan.numeric_text else value
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
                limit = 9_000_000_000_000_000 // factor
                micros = f"CASE WHEN abs({v}) < {limit} THEN {v} * {factor} END"
            return self.micros_to_ts(f"CAST({micros} AS BIGINT)")
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
        return self.micros_to_ts(micros)

    def pg_epoch(self, value: str, plan: TimestampPlan) -> str:
        """:meth:`epoch` in PostgreSQL, whose arithmetic stops the query on an overflow where
        polars wraps or gives infinity: every product is guarded by the bound it is kept under,
        integer division floors, and rounding is half away from zero, as polars'."""
        unit = plan.epoch_unit
        if plan.numeric_text:
            text = self.ts_text(value)
            v = self.to_bigint(text) if plan.integer else self.to_double(text)
        else:
            v = f"CAST({value} AS {'BIGINT' if plan.integer else 'DOUBLE PRECISION'})"
        (s_limit, _), (ms_limit, _), (us_limit, _) = EPOCH_LIMITS

        def within(limit: object) -> str:
            return f"x > -{limit} AND x < {limit}"

        if plan.integer:
            if unit == AUTO_UNIT:
                micros = (
                    f"CASE WHEN {within(int(s_limit))} THEN x * 1000000 "
                    f"WHEN {within(int(ms_limit))} THEN x * 1000 "
                    f"WHEN {within(int(us_limit))} THEN x ELSE {pg_parse.floor_div('x', 1000)} END"
                )
            elif unit == "ns":
                micros = pg_parse.floor_div("x", 1000)
            else:
                factor = {"s": 1_000_000, "ms": 1_000, "us": 1}[unit or "s"]
                limit = 9_000_000_000_000_000 // factor
                micros = f"CASE WHEN {within(limit)} THEN x * {factor} END"
            return self.micros_to_ts(pg_parse.let([("x", v)], micros, "__x"))
        if unit == AUTO_UNIT:
            scaled = (
                f"CASE WHEN {within(repr(s_limit))} THEN x * 1e6 "
                f"WHEN {within(repr(ms_limit))} THEN x * 1e3 "
                f"WHEN {within(repr(us_limit))} THEN x ELSE x * 1e-3 END"
            )
        else:
            factor = {"s": 1e6, "ms": 1e3, "us": 1.0, "ns": 1e-3}[unit or "s"]
            scaled = f"CASE WHEN {within('1e300')} THEN x * {factor!r} END"
        rounded = f"CAST({pg_parse.round_half_away('y')} AS BIGINT)"
        micros = pg_parse.let(
            [("y", pg_parse.let([("x", v)], scaled, "__x"))],
            f"CASE WHEN abs(y) < 9e15 THEN {rounded} END",
            "__y",
        )
        return self.micros_to_ts(micros)

    def parse(self, text: str, formats: Sequence[str]) -> str:
        """Text through chrono formats, the first that reads winning. chrono's ``%.f`` reads a
        fraction of any length where DuckDB's ``%n`` and Spark's ``S`` take at most nine
        digits: a text no form read is read again, its fraction cut to the microseconds polars
        keeps (:meth:`cut_fraction`), last, so the common case never pays for the cut."""
        if self.pg:  # pg_parse reads a fraction of any length itself
            return _first([pg_parse.parse_timestamp(text, fmt) for fmt in formats])
        calls = [self.strptime(text, form) for fmt in formats for form in self.forms(fmt)]
        cut = self.cut_fraction(text)
        calls += [
            self.strptime(cut, form)
            for fmt in formats
            if "%.f" in fmt
            for form in self.forms(fmt, micros=True)
        ]
        return _first(calls)

    def forms(self, fmt: str, micros: bool = False) -> list[str]:
        """The dialect's formats reading what the chrono format reads (``micros``: those
        reading a fraction of six digits, after :meth:`cut_fraction`)."""
        if self.spark:
            return _spark_formats(fmt)  # [.SSSSSSSSS] reads one to nine digits
        forms = _duckdb_formats(fmt)
        return [form for form in forms if ".%f" in form] if micros else forms

    def strptime(self, text: str, form: str) -> str:
        """Text through one of the dialect's formats, null where it does not read."""
        if self.spark:
            return f"try_to_timestamp({text}, {self.string(form)})"
        return self.duckdb_strptime(text, form)

    def cut_fraction(self, text: str) -> str:
        """Text with a fraction past six digits cut to six: the microseconds polars keeps (it
        floors a longer fraction). A text a format reads has at most one dot, its fraction's."""
        group = "$1" if self.spark else "\\1"
        return f"regexp_replace({text}, {self.string(_LONG_FRACTION)}, {self.string(group)})"

    def ts_text(self, raw: str) -> str:
        """The raw time (``__ts_raw``) as trimmed text, empty as null: as it is when every time
        source is text (``__ts_raw`` holds them trimmed), else trimmed here."""
        if all(source.kind == "text" for source in self.plan.ts):
            return raw
        return self.trimmed(self.as_text(raw))

    def duckdb_strptime(self, text: str, form: str) -> str:
        """DuckDB's reading of ``text`` by one format, as a TIMESTAMPTZ: made from the epoch
        microseconds, since a cast would go through the session's calendar (ICU), the dearest
        step of reading a time (an offset in the text gives the instant already). Nanoseconds
        (``%n``, a TIMESTAMP_NS) are floored to the microsecond, as polars reads them: a cast
        would round ``23:59:59.9999995`` into the next day (and read a time without an offset
        in the session's zone)."""
        parsed = f"try_strptime({text}, {self.string(form)})"
        if "%n" in form:
            ns = f"epoch_ns({parsed})"
            return f"make_timestamptz(({ns} - ((({ns} % 1000) + 1000) % 1000)) // 1000)"
        return f"make_timestamptz(epoch_us({parsed}))"

    def timestamp(self, raw: str) -> str:
        """The raw time in UTC, null where the decided reading fails."""
        plan = self.plan.timestamps
        if plan.kind == "datetime":
            return f"CAST({raw} AS {self.ts_type})"
        if plan.kind == "epoch":
            return self.epoch(raw, plan)
        text = self.ts_text(raw)
        if plan.kind == "yyyymmdd":
            return self.parse(text, ["%Y%m%d"])
        return self.parse(text, plan.formats)

    def event(self, order_id: str | None) -> str:
        """The canonical event name (``segtui.ingest.columns.plan_event``)."""
        plan = self.plan
        if plan.event_mode == "invoice":
            assert order_id is not None
            refund = f"coalesce(substr({order_id}, 1, 1) = 'C', FALSE)"
            return f"CASE WHEN {refund} THEN 'refund' ELSE 'purchase' END"
        if plan.event_mode == "constant":
            return self.string(plan.event_constant or "purchase")
        raw = _first([self.text(s) for s in plan.event])
        if not plan.aliases:
            return raw
        whens = " ".join(
            f"WHEN {self.string(k)} THEN {self.string(v)}" for k, v in plan.aliases.items()
        )
        return f"CASE {raw} {whens} ELSE {raw} END"

    def revenue(self) -> str | None:
        """Revenue as ``RevenuePlan.apply`` makes it: derived on sales, refunds negative."""
        plan = self.plan
        if plan.revenue_mode is None:
            return None
        q = self.quote
        revenue = q("revenue")
        if plan.revenue_mode == "derived":
            quantity = f"coalesce({q('quantity')}, 1.0)" if plan.revenue_with_quantity else "1.0"
            sale = f"{q('event')} IN ('purchase', 'refund')"
            revenue = f"CASE WHEN {sale} THEN {q('price')} * {quantity} END"
        return f"CASE WHEN {q('event')} = 'refund' THEN -abs({revenue}) ELSE {revenue} END"

    def epoch_us(self, value: str) -> str:
        if self.pg:
            return pg_parse.epoch_us(value)
        return f"unix_micros({value})" if self.spark else f"epoch_us({value})"

    def sessions(self, gap_minutes: float) -> list[str]:
        """Two CTEs: a session starts at a user's first event and after each gap longer than
        the session gap; its id is the user and the start in epoch seconds."""
        q = self.quote
        gap_us = round(gap_minutes * 60_000_000)
        window = f"PARTITION BY {q('user_id')} ORDER BY {q('ts')}"
        now = self.epoch_us(q("ts"))
        new = f"coalesce({now} - lag({now}) OVER ({window}) > {gap_us}, TRUE) AS __new"
        start_s = f"CAST(floor({now} / 1000000) AS BIGINT)"
        if self.pg:  # BIGINT division truncates there
            start_s = pg_parse.floor_div(now, 1_000_000)
        start = (
            f"max(CASE WHEN __new THEN {start_s} END) "
            f"OVER ({window} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
        )
        session = f"{q('user_id')} || '#' || {self.as_text(start)} AS {q('session_id')}"
        fence = pg_parse.FENCE if self.pg else ""
        return [
            _cte("__gaps", ["*", new], "__kept", fence),
            _cte("__sessions", ["*", session], "__gaps", fence),
        ]

    def number_text(self, sources: Sequence[Source]) -> str | None:
        """The text of a number column whose unreadable values are counted (polars'
        ``number_text``): a text source's trimmed text, a float source's NaN or infinity."""
        texts = []
        for source in sources:
            col = self.column(source)
            if source.kind == "text":
                texts.append(self.trimmed(self.as_text(col)))
            elif source.kind == "float":
                bad = f"{self.finite(col)} IS NULL AND {col} IS NOT NULL"
                texts.append(f"CASE WHEN {bad} THEN {self.as_text(col)} END")
        return _first(texts) if texts else None

    def reason(self) -> str:
        """``__reason`` as :func:`segtui.ingest.report.reason_expr` decides it, from the one
        list of reasons (:data:`segtui.ingest.report.REASONS`). Ragged rows never reach SQL:
        the engine's reader leaves them out and counts them itself."""
        q = self.quote
        checks = {
            "no_user": f"{q('user_id')} IS NULL",
            "no_timestamp": f"{TS_RAW} IS NULL",
            "bad_timestamp": f"{q('ts')} IS NULL",
            "no_event": f"{q('event')} IS NULL",
        }
        whens = " ".join(
            f"WHEN {checks[key]} THEN {code}" for code, key in REASONS if key in checks
        )
        return f"CASE {whens} ELSE 0 END"

    def checked(self, relation: str, counted: Sequence[str], event_raw: bool) -> str:
        """Every row of ``relation`` with its canonical columns, ``__reason``, the raw time,
        the raw event name (``event_raw``) and the text of each ``counted`` number column:
        what the loading report counts (polars' checked frame, in SQL)."""
        plan, q = self.plan, self.quote
        read, canonical = self._read_items()
        for column in counted:
            text = self.number_text(plan.numbers[column])
            if text is not None:
                read.append(f"{text} AS {q(NUM_RAW + column)}")
                canonical[NUM_RAW + column] = q(NUM_RAW + column)
        if event_raw and plan.event_mode == "column":
            read.append(f"{_first([self.text(s) for s in plan.event])} AS {q(EVENT_RAW)}")
            canonical[EVENT_RAW] = q(EVENT_RAW)
        fence = pg_parse.FENCE if self.pg else ""
        ctes = [
            _cte("__read", read, relation, fence),
            _cte("__canonical", [f"{v} AS {q(k)}" for k, v in canonical.items()], "__read", fence),
        ]
        return (
            "WITH "
            + ",\n".join(ctes)
            + f"\nSELECT *, {self.reason()} AS {REASON_COL} FROM __canonical"
        )

    def _read_items(self) -> tuple[list[str], dict[str, str]]:
        """The ``__read`` items and the ``__canonical`` column -> expression map."""
        plan, q = self.plan, self.quote
        values: dict[str, str] = {}
        for canonical, sources in plan.texts.items():
            dot_zero = plan.dot_zero_ids and canonical == "user_id"
            values[canonical] = _first([self.text(s, dot_zero) for s in sources])
        for canonical, sources in plan.numbers.items():
            value = _first([self.number(s) for s in sources])
            if canonical == "scroll_depth" and plan.scroll_percent:
                value = f"({value}) / 100.0"
            values[canonical] = value
        raw_ts = _first(
            [
                self.trimmed(self.as_text(self.column(s))) if s.kind == "text" else self.column(s)
                for s in plan.ts
            ]
        )
        event = self.event(values.get("order_id"))
        # First every canonical column from the raw ones (raw and canonical names may collide).
        read = [f"{value} AS {q(name)}" for name, value in values.items()]
        read += [f"{raw_ts} AS __ts_raw", f"{event} AS {q('event')}"]
        canonical = {c: q(c) for c in plan.columns if c in values or c == "event"}
        canonical["ts"] = self.timestamp("__ts_raw")
        if plan.timestamps.kind in ("text", "yyyymmdd") and len(plan.ts) == 1 and not self.pg:
            read.append(f"{self.typed_time(self.column(plan.ts[0]))} AS __ts_typed")
            canonical["ts"] = f"coalesce(__ts_typed, {canonical['ts']})"
        canonical["__ts_raw"] = "__ts_raw"
        revenue = self.revenue()
        if revenue is not None:
            canonical["revenue"] = revenue
        return read, canonical

    def query(self, relation: str) -> str:
        q = self.quote
        read, canonical = self._read_items()
        kept_if = (
            f"{q('user_id')} IS NOT NULL AND __ts_raw IS NOT NULL AND {q('event')} IS NOT NULL "
            f"AND {q('ts')} IS NOT NULL"
        )
        fence = pg_parse.FENCE if self.pg else ""
        ctes = [
            _cte("__read", read, relation, fence),
            _cte("__canonical", [f"{v} AS {q(k)}" for k, v in canonical.items()], "__read", fence),
            f"__kept AS (\nSELECT * FROM __canonical WHERE {kept_if}\n)",
        ]
        return self.events_from_kept(ctes)

    def events_from_kept(self, ctes: list[str]) -> str:
        """The events of CTEs ending in ``__kept`` (the kept rows): sessions, then the columns."""
        plan, q = self.plan, self.quote
        source = "__kept"
        if plan.session_gap_minutes is not None:
            ctes = [*ctes, *self.sessions(plan.session_gap_minutes)]
            source = "__sessions"
        listed = ", ".join(q(c) for c in plan.columns)
        return "WITH " + ",\n".join(ctes) + f"\nSELECT {listed} FROM {source}"

    def checked_columns(self) -> list[str]:
        """The canonical columns of the checked rows: every column of the plan but sessions
        from the gap (made after rows are kept)."""
        canonical = self._read_items()[1]
        return [c for c in self.plan.columns if c in canonical]


def _select(items: Sequence[str], source: str) -> str:
    """``SELECT`` of ``items``, one per indented line, ``FROM source``."""
    listed = ",\n".join(f"{_INDENT}{item}" for item in items)
    return f"SELECT\n{listed}\nFROM {source}"


def _cte(name: str, items: Sequence[str], source: str, fence: str = "") -> str:
    return f"{name} AS (\n{_select(items, source + fence)}\n)"


def read_sql(
    plan: ReadPlan, relation: str = "raw_events", dialect: str = "duckdb", structs: bool = False
) -> str:
    """The canonical events of ``relation`` as one ``SELECT`` in ``dialect`` (module
    docstring); DuckDB gives ``ts`` as TIMESTAMPTZ, Spark as TIMESTAMP in the session zone.
    ``structs``: ``relation`` is an engine's JSON reader output, nested sources struct fields
    (else every source is a column by its flattened name, as segtui's readers give them)."""
    return _Reader(plan, dialect, structs).query(relation)


def checked_sql(
    plan: ReadPlan,
    relation: str = "raw_events",
    dialect: str = "duckdb",
    *,
    number_sources: Sequence[str] = (),
    alias_targets: Sequence[str] = (),
) -> str:
    """Every row of ``relation`` checked, as one ``SELECT``: the canonical columns (sessions from
    the gap aside), ``__reason`` (0 for a kept row), and the flags the loading report counts:
    ``__bad_<column>`` (its text is not a number) for the ``number_sources`` and
    ``__conflict_<event>`` (the raw name is that event) for the ``alias_targets``. Reading the
    files once into this serves both the report (:func:`report_counts_sql`) and the events
    (:func:`kept_events_sql`)."""
    reader = _Reader(plan, dialect)
    q = reader.quote
    checked = reader.checked(relation, number_sources, event_raw=bool(alias_targets))
    items = [q(c) for c in reader.checked_columns()] + [REASON_COL]
    items += [
        f"({q(NUM_RAW + c)} IS NOT NULL AND {q(c)} IS NULL) AS {q(BAD_FLAG + c)}"
        for c in number_sources
    ]
    items += [
        f"({q(EVENT_RAW)} = {reader.string(t)}) AS {q(CONFLICT_FLAG + t)}" for t in alias_targets
    ]
    return _select(items, f"(\n{checked}\n) AS __checked_rows")


def report_counts_sql(
    relation: str,
    dialect: str = "duckdb",
    *,
    number_sources: Sequence[str] = (),
    alias_targets: Sequence[str] = (),
) -> str:
    """One row of the loading report's counts over a relation of :func:`checked_sql` rows,
    named as :meth:`segtui.ingest.report.ReportPlan.query` names them: ``rows_read``,
    ``rows_kept``, ``left_out_<reason>`` (ragged rows are the reader's to count),
    ``bad_number_<column>`` and ``conflict_<event>``."""
    q = lambda name: sqltext.quote(name, dialect)  # noqa: E731
    kept = f"{REASON_COL} = 0"
    items = ["count(*) AS rows_read", f"count(CASE WHEN {kept} THEN 1 END) AS rows_kept"]
    items += [
        f"count(CASE WHEN {REASON_COL} = {code} THEN 1 END) AS {q('left_out_' + key)}"
        for code, key in REASONS
    ]
    items += [
        f"count(CASE WHEN {kept} AND {q(BAD_FLAG + c)} THEN 1 END) AS {q('bad_number_' + c)}"
        for c in number_sources
    ]
    items += [
        f"count(CASE WHEN {q(CONFLICT_FLAG + t)} THEN 1 END) AS {q('conflict_' + t)}"
        for t in alias_targets
    ]
    return _select(items, relation)


def report_sql(
    plan: ReadPlan,
    relation: str = "raw_events",
    dialect: str = "duckdb",
    *,
    number_sources: Sequence[str] = (),
    alias_targets: Sequence[str] = (),
) -> str:
    """The loading report's counts over the raw rows of ``relation`` in one query:
    :func:`report_counts_sql` over :func:`checked_sql`."""
    checked = checked_sql(
        plan, relation, dialect, number_sources=number_sources, alias_targets=alias_targets
    )
    return report_counts_sql(
        f"(\n{checked}\n) AS __checked",
        dialect,
        number_sources=number_sources,
        alias_targets=alias_targets,
    )


def kept_events_sql(plan: ReadPlan, relation: str, dialect: str = "duckdb") -> str:
    """The canonical events of a relation of :func:`checked_sql` rows: what :func:`read_sql`
    gives of the raw rows, from their kept rows (sessions from the gap made here)."""
    reader = _Reader(plan, dialect)
    listed = ", ".join(reader.quote(c) for c in reader.checked_columns())
    kept = f"__kept AS (\nSELECT {listed} FROM {relation} WHERE {REASON_COL} = 0\n)"
    return reader.events_from_kept([kept])
