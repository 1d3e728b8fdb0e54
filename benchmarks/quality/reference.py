"""A reference an analyst could write in an afternoon: general features read straight from the
world's file, log1p, standard scaling, K-Means (true k, n_init=10).

It is not segtui and it knows nothing of the planted groups: it reads each layout's columns
(:func:`read_back`, one small reader per layout) into the same long frame and builds the same
general features for every world: the share of each event type, events per active day and per
session, sessions per week since the user's first event, the share of that time they stayed
active, the share of events in December-February, mean value where a value exists, mean time and
scroll where they exist, the share of events in each of the ten most common categories and the
top category's share (rates, not counts, because users join all through the log). It says how
much of the groups a plain general feature set finds in the log itself (the ceiling only says
the generator's parameters carry them); it is not a bound on what a feature set can reach.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

TOP_CATEGORIES = 10


def read_back(layout: str, files: list[Path]) -> pl.DataFrame:
    """The world's file as ``user_id, ts (datetime), event, session, category, value,
    duration, scroll`` (null where the layout has no such thing)."""
    path = files[0]
    if layout == "clickstream":
        raw = pl.read_csv(path, schema_overrides={"user_id": pl.Utf8})
        frame = raw.select(
            user_id="user_id",
            ts=pl.col("event_time").str.strptime(pl.Datetime, "%Y-%m-%d %H:%M:%S UTC"),
            event="event_type",
            session="user_session",
            category="category_code",
            value=pl.when(pl.col("event_type") == "purchase").then("price"),
        )
    elif layout == "segment":
        raw = pl.read_ndjson(path).unnest("properties")
        frame = raw.select(
            user_id="userId",
            ts=pl.col("timestamp").str.strptime(pl.Datetime, "%Y-%m-%dT%H:%M:%S%.3fZ"),
            event="event",
            session=pl.lit(None, pl.Utf8),
            category="category",
            value=pl.lit(None, pl.Float64),
            duration=pl.when(pl.col("event") == "Page Viewed").then("duration"),
            scroll=pl.col("scroll_depth").cast(pl.Float64),
        )
    elif layout == "generic":
        raw = pl.read_csv(path, separator="\t")
        frame = raw.select(
            user_id="user",
            ts=pl.col("timestamp").str.strptime(pl.Datetime, "%Y-%m-%dT%H:%M:%SZ"),
            event="action",
            session=pl.lit(None, pl.Utf8),
            category=pl.lit(None, pl.Utf8),
            value=pl.lit(None, pl.Float64),
            duration="duration",
        )
    elif layout == "transactions":
        raw = pl.read_csv(path)
        frame = raw.select(
            user_id="customer_id",
            ts=pl.col("transaction_date").str.strptime(pl.Datetime, "%Y-%m-%d %H:%M:%S"),
            event=pl.when(pl.col("amount") < 0).then(pl.lit("return")).otherwise(pl.lit("buy")),
            session=pl.lit(None, pl.Utf8),
            category="product_category",
            value="amount",
        )
    elif layout == "ga4":
        raw = pl.read_csv(path, schema_overrides={"user_pseudo_id": pl.Utf8})
        frame = raw.select(
            user_id="user_pseudo_id",
            ts=pl.from_epoch("event_timestamp", time_unit="us"),
            event="event_name",
            session=pl.col("ga_session_id").cast(pl.Utf8),
            category=pl.lit(None, pl.Utf8),
            value=pl.col("value").cast(pl.Float64),
        )
    else:
        raise ValueError(f"no reader for layout {layout!r}")
    for name, dtype in (("duration", pl.Float64), ("scroll", pl.Float64)):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype).alias(name))
    return frame


def features(events: pl.DataFrame) -> pl.DataFrame:
    """General per-user features (one row per user, sorted by user_id)."""
    events = events.with_columns(
        day=pl.col("ts").dt.date(),
        session=pl.coalesce(
            "session",
            # No session column: a new session after 30 minutes without events.
            pl.concat_str(
                "user_id",
                (pl.col("ts").diff().over("user_id", order_by="ts") > pl.duration(minutes=30))
                .fill_null(True)
                .cum_sum()
                .over("user_id", order_by="ts")
                .cast(pl.Utf8),
            ),
        ),
    )
    kinds = events["event"].unique().sort().to_list()
    end = events["ts"].max()
    aggs = [
        pl.len().alias("n"),
        pl.col("session").n_unique().alias("sessions"),
        pl.col("day").n_unique().alias("days"),
        pl.col("ts").min().alias("first"),
        pl.col("ts").max().alias("last"),
        pl.col("ts").dt.month().is_in([12, 1, 2]).mean().alias("winter_share"),
        *[(pl.col("event") == k).mean().alias(f"share_{i}") for i, k in enumerate(kinds)],
    ]
    if events["value"].null_count() < events.height:
        aggs.append(pl.col("value").abs().log1p().mean().fill_null(0).alias("value"))
    if events["duration"].null_count() < events.height:
        aggs.append(pl.col("duration").log1p().mean().fill_null(0).alias("duration"))
    if events["scroll"].null_count() < events.height:
        aggs.append(pl.col("scroll").mean().fill_null(0).alias("scroll"))
    cats = events.filter(pl.col("category").is_not_null())
    if cats.height:
        top = cats.group_by("category").agg(pl.col("user_id").n_unique().alias("u"))
        top = top.sort("u", "category", descending=[True, False])["category"][:TOP_CATEGORIES]
        aggs += [(pl.col("category") == c).mean().alias(f"cat_{i}") for i, c in enumerate(top)]
    users = events.group_by("user_id").agg(aggs).sort("user_id")
    if cats.height:
        share = (
            cats.group_by("user_id", "category")
            .len()
            .with_columns(pl.col("len") / pl.col("len").sum().over("user_id"))
            .group_by("user_id")
            .agg(top_share=pl.col("len").max())
        )
        users = users.join(share, on="user_id", how="left").with_columns(
            pl.col("top_share").fill_null(0)
        )
    # Rates, not counts: users join all through the log, so counts mostly say when.
    possible = (pl.lit(end) - pl.col("first")).dt.total_seconds() / 86_400 + 1
    return users.with_columns(
        per_day=(pl.col("n") / pl.col("days")).log1p(),
        per_session=(pl.col("n") / pl.col("sessions")).log1p(),
        sessions_per_week=(pl.col("sessions") / (possible / 7).clip(1, None)).log1p(),
        stayed=((pl.col("last") - pl.col("first")).dt.total_seconds() / 86_400 + 1) / possible,
    ).drop("n", "sessions", "days", "first", "last")


def reference_labels(layout: str, files: list[Path], k: int, seed: int = 0) -> pl.DataFrame:
    """``user_id, label`` from K-Means on the standardized reference features."""
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    users = features(read_back(layout, files))
    X = users.drop("user_id").to_numpy().astype(float)
    X = StandardScaler().fit_transform(np.nan_to_num(X))
    labels = KMeans(k, n_init=10, random_state=seed).fit_predict(X)
    return pl.DataFrame({"user_id": users["user_id"].cast(pl.Utf8), "label": labels})
