"""Features that come from the data: declarations generated from the event names and categories.

The catalog is written for one kind of shop; a content site's ``video_play`` or a SaaS product's
``report_exported`` would get no feature at all. So one cheap statistics query over the loaded
events (:func:`data_stats`: users per event name, users per category, which events carry a
duration) is turned into ordinary :class:`~segtui.features.spec.FeatureSpec` declarations
(:func:`generated_specs`). Being declarations, they are computed by the same one ``group_by`` as
the catalog, written to the model, and recomputed by ``assign`` from the model's own
declarations: the events and top categories a model was fitted with are fixed in it, never
generated again from new data. None of them is ``default``; the clustering set is chosen from
everything offered elsewhere.

What is generated (``<id>`` is the event name or category made an identifier by
:mod:`segtui.features.naming`; ``origin`` of each spec says why it exists):

- For each event name present (canonical or not), the ``EVENT_CAP`` (20) used by the most users
  (ties: the name in sorted order): ``event_<id>_count`` (its events, family activity),
  ``event_<id>_share`` (its share of the user's events; family funnel for the shop funnel's
  events, engagement otherwise), ``event_<id>_per_session`` (its events / the user's sessions,
  activity) and, when that event carries durations, ``event_<id>_avg_duration_s`` (mean duration
  of those events, engagement). A count whose aggregation is exactly a catalog feature's
  (``purchase`` is ``purchases``, ``search`` is ``searches``) is not generated again: the catalog
  feature is that count, and the event's share and per-session rate are still generated.
- With a category column, the ``CATEGORY_CAP`` (10) categories touched by the most users (ties:
  sorted text): ``category_<id>_share`` (share of the user's events with a category that are in
  it), ``category_other_share`` (the rest, only when there are more categories than the cap),
  ``top_category_share`` (share in the user's own most frequent category, whichever it is) and,
  with a duration column, ``category_<id>_duration_s`` (time spent in it, summed).

Transitions between event types within a session (view -> cart, cart -> purchase) are not
generated: an ordered pair needs the events sorted inside each session and a shift, a window
before the ``group_by`` that the one streaming pass does not have (and DuckDB would need a
``lag()`` subquery); the session-level funnel is already in the catalog (``view_to_cart_rate``,
``cart_to_purchase_rate``, ``cart_abandonment``), and the per-event shares carry the event mix.
``top_category`` as text is not generated either: every feature column is numeric (clustering,
profiles, rules and the exports rely on it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl

from segtui.features.catalog import CATALOG
from segtui.features.naming import assign_identifiers
from segtui.features.spec import Agg, FeatureSpec, Filter, Scalar, event_in
from segtui.ingest.sources import SourceInfo, input_error_from_polars

EVENT_CAP = 20
CATEGORY_CAP = 10
FUNNEL_EVENTS: frozenset[str] = frozenset(
    {"product_view", "add_to_cart", "remove_from_cart", "checkout", "purchase", "refund"}
)
OTHER_SHARE = "category_other_share"
TOP_SHARE = "top_category_share"
_HAS_CATEGORY = (Filter("category", "not_null"),)
_NO_CATEGORY = "no event with a category"


@dataclass(frozen=True)
class Counted:
    """A value found in the data (an event name, a category) and how many users have it."""

    value: Scalar
    users: int


@dataclass(frozen=True)
class DataStats:
    """What the generated features are chosen from: one cheap query over the events."""

    events: tuple[Counted, ...]
    """Every event name, most users first (ties: sorted name)."""
    categories: tuple[Counted, ...] = ()
    """Every non-null category, most users first (ties: sorted text); empty without the column."""
    has_duration: bool = False
    duration_events: frozenset[str] = frozenset()
    """Event names with at least one non-null duration."""


def stats_queries(events: pl.LazyFrame) -> list[pl.LazyFrame]:
    """The lazy queries behind :func:`data_stats` (collect them together with ``collect_all``)."""
    columns = set(events.collect_schema())
    per_event = [pl.col("user_id").n_unique().alias("users")]
    if "duration_s" in columns:
        per_event.append(pl.col("duration_s").count().alias("durations"))
    queries = [events.group_by("event").agg(per_event)]
    if "category" in columns:
        queries.append(
            events.filter(pl.col("category").is_not_null())
            .group_by("category")
            .agg(pl.col("user_id").n_unique().alias("users"))
        )
    return queries


def stats_from_frames(frames: Sequence[pl.DataFrame]) -> DataStats:
    """:class:`DataStats` from the collected :func:`stats_queries` frames."""
    per_event = frames[0]
    events = _ranked(per_event, "event")
    durations: frozenset[str] = frozenset()
    if "durations" in per_event.columns:
        durations = frozenset(per_event.filter(pl.col("durations") > 0)["event"].to_list())
    categories = _ranked(frames[1], "category") if len(frames) > 1 else ()
    return DataStats(
        events=events,
        categories=categories,
        has_duration="durations" in per_event.columns,
        duration_events=durations,
    )


def _ranked(frame: pl.DataFrame, column: str) -> tuple[Counted, ...]:
    rows = [(value, int(users)) for value, users in frame.select(column, "users").iter_rows()]
    rows = [(v, u) for v, u in rows if v is not None]
    rows.sort(key=lambda r: (-r[1], str(r[0])))
    return tuple(Counted(v, u) for v, u in rows)


def data_stats(events: pl.LazyFrame, source: SourceInfo | None = None) -> DataStats:
    """Users per event name and per category, and which events carry a duration.

    A polars error (a value that does not parse) becomes an InputError naming ``source``'s files.
    """
    try:
        return stats_from_frames(pl.collect_all(stats_queries(events), engine="streaming"))
    except pl.exceptions.PolarsError as error:
        if source is None:
            raise
        raise input_error_from_polars(error, source) from error


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _rank_text(rank: int) -> str:
    return "the most common" if rank == 1 else f"{_ordinal(rank)} most common"


def _event_names(ident: str) -> tuple[str, ...]:
    return tuple(f"event_{ident}_{s}" for s in ("count", "share", "per_session", "avg_duration_s"))


def _category_names(ident: str) -> tuple[str, ...]:
    return (f"category_{ident}_share", f"category_{ident}_duration_s")


def generated_specs(stats: DataStats, reserved: Iterable[str] = ()) -> list[FeatureSpec]:
    """The declarations generated from ``stats`` (see the module docstring), in a stable order.

    ``reserved`` are names already taken (a person's own features); the catalog's always are.
    """
    taken = {spec.name for spec in CATALOG} | set(reserved) | {OTHER_SHARE, TOP_SHARE}
    catalog_aggs = {spec.agg: spec.name for spec in CATALOG}
    specs = _event_specs(stats, taken, catalog_aggs)
    specs += _category_specs(stats, taken)
    return specs


def _event_specs(
    stats: DataStats, taken: set[str], catalog_aggs: dict[Agg, str]
) -> list[FeatureSpec]:
    top = stats.events[:EVENT_CAP]
    ids = assign_identifiers((str(c.value) for c in top), taken, _event_names)
    total = len(stats.events)
    specs: list[FeatureSpec] = []
    for rank, counted in enumerate(top, start=1):
        event = str(counted.value)
        ident = ids[event]
        where = (event_in(event),)
        count = Agg("count", where=where)
        origin = (
            f"event '{event}': {counted.users:,} users, {_rank_text(rank)} of {total} event "
            f"name{'s' if total != 1 else ''}"
        )
        same = catalog_aggs.get(count)
        if same is None:
            specs.append(
                FeatureSpec(
                    f"event_{ident}_count",
                    "activity",
                    f"'{event}' events of the user",
                    count,
                    transform="log1p",
                    origin=origin,
                )
            )
        else:
            origin += f" (its count is the built-in '{same}')"
        specs.append(
            FeatureSpec(
                f"event_{ident}_share",
                "funnel" if event in FUNNEL_EVENTS else "engagement",
                f"share of the user's events that are '{event}'",
                Agg("share", match=where),
                origin=origin,
            )
        )
        specs.append(
            FeatureSpec(
                f"event_{ident}_per_session",
                "activity",
                f"'{event}' events / sessions",
                Agg("ratio", operands=(count, Agg("distinct", "session_id"))),
                requires=("session_id",),
                transform="log1p",
                origin=origin,
            )
        )
        if event in stats.duration_events:
            specs.append(
                FeatureSpec(
                    f"event_{ident}_avg_duration_s",
                    "engagement",
                    f"mean duration in seconds of the user's '{event}' events that record one",
                    Agg("mean", "duration_s", where=where),
                    requires=("duration_s",),
                    transform="log1p",
                    when_missing=None,
                    why_missing=f"no '{event}' event with a duration",
                    fill="median",  # unknown without such an event, not short
                    origin=origin,
                )
            )
    return specs


def _category_specs(stats: DataStats, taken: set[str]) -> list[FeatureSpec]:
    if not stats.categories:
        return []
    top = stats.categories[:CATEGORY_CAP]
    ids = assign_identifiers((str(c.value) for c in top), taken, _category_names)
    total = len(stats.categories)
    of_total = f"{total} categor{'ies' if total != 1 else 'y'}"
    specs = [
        FeatureSpec(
            TOP_SHARE,
            "interest",
            "share of the user's events with a category that are in their most frequent one",
            Agg("top_share", "category"),
            requires=("category",),
            origin=f"a category column with {of_total}",
            # no categorised event: how focused the user is is unknown, not 0
            fill="median",
            when_missing=None,
            why_missing=_NO_CATEGORY,
        )
    ]
    for rank, counted in enumerate(top, start=1):
        text = str(counted.value)
        ident = ids[text]
        match = (Filter("category", "in", (counted.value,)),)
        origin = f"category '{text}': {counted.users:,} users, {_rank_text(rank)} of {of_total}"
        specs.append(
            FeatureSpec(
                f"category_{ident}_share",
                "interest",
                f"share of the user's events with a category that are in '{text}'",
                Agg("share", where=_HAS_CATEGORY, match=match),
                requires=("category",),
                origin=origin,
                fill="median",  # no categorised event: interest unknown
                when_missing=None,
                why_missing=_NO_CATEGORY,
            )
        )
        if stats.has_duration:
            specs.append(
                FeatureSpec(
                    f"category_{ident}_duration_s",
                    "interest",
                    f"time spent in '{text}': sum of durations in seconds",
                    Agg("sum", "duration_s", where=match),
                    requires=("category", "duration_s"),
                    transform="log1p",
                    origin=origin,
                )
            )
    if total > len(top):
        rest = total - len(top)
        specs.append(
            FeatureSpec(
                OTHER_SHARE,
                "interest",
                f"share of the user's events with a category outside the top {len(top)}",
                Agg(
                    "share",
                    where=_HAS_CATEGORY,
                    match=(Filter("category", "not_in", tuple(c.value for c in top)),),
                ),
                requires=("category",),
                origin=f"the {rest} categor{'ies' if rest != 1 else 'y'} outside the top "
                f"{len(top)} of {of_total}",
                fill="median",
                when_missing=None,
                why_missing=_NO_CATEGORY,
            )
        )
    return specs


def offered_specs(
    events: pl.LazyFrame,
    extra: Sequence[FeatureSpec] = (),
    source: SourceInfo | None = None,
    wanted: Sequence[str] | None = None,
) -> list[FeatureSpec]:
    """Every declaration offered on these events: the catalog, the generated ones, ``extra``.

    ``extra`` are a person's own features (their names win over generated ones). The generated
    ones cost one scan (:func:`data_stats`); when ``wanted`` names only catalog or ``extra``
    features, that scan is skipped.
    """
    declared = {spec.name for spec in (*CATALOG, *extra)}
    if wanted is not None and all(name in declared for name in wanted):
        return [*CATALOG, *extra]
    stats = data_stats(events, source)
    return [*CATALOG, *generated_specs(stats, {s.name for s in extra}), *extra]
