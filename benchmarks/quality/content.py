"""World "content": a news and magazine site's Segment track calls (NDJSON), no purchases.

File: ``tracks.ndjson``, one Segment track call a line: ``type`` "track", ``event``, ``userId``,
``anonymousId``, ``messageId``, ``timestamp`` (ISO 8601, ms, Z), ``properties`` and
``context.page.path``. Events: "Page Viewed" (``properties.category`` = topic,
``properties.title``, ``properties.duration`` seconds on the page, ``properties.scroll_depth``
percent), "Video Played" (``category``, ``video_id``, ``position`` seconds watched), "Article
Shared" (``category``, ``share_via``), "Form Submitted" (``form_name``) and "Searched"
(``query``). No session column: sessions come from the inactivity gap. Six months, 2024-01-01 to
2024-06-30; eight topics.

Groups (share of users): skimmers 36%, deep readers 20%, video watchers 15%, topic loyalists
14%, sharers 11.8%, newsletter/form converters 3.2% (size skew 11.3:1).

What tells them apart (latent per user, the ceiling's matrix): sessions per week, pages per
session, mean seconds on a page, mean scroll depth, chance of a video play per page, of a share
per page, of a form per session, of a search per session, and the share of pages in the user's
favourite topic.

Nuisance, in numbers:
- 10% of users are blends (``w`` uniform 0.60-0.85 of their own group, the rest another).
- Start dates uniform over the six months (minus a week); everyone stays to the end.
- Within a group: sessions per week sd 0.5 in log (activity varies ~3x within a group), pages
  per session sd 0.3 in log, seconds on page sd 0.35 in log (and each page log-normal sd 0.6
  around it), each logit sd 0.5; scroll depth per page normal sd 15 points around the user's.
- Favourite topic uniform over the eight for every group (loyalists differ by focus, not by
  which topic); time of day peaks per user at normal(13h, 4h).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.quality import common as c

NAME = "content"
LAYOUT = "segment"
GROUPS = (
    ("skimmers", 0.36),
    ("deep_readers", 0.20),
    ("video_watchers", 0.15),
    ("topic_loyalists", 0.14),
    ("sharers", 0.118),
    ("form_converters", 0.032),
)
BLEND_SHARE = 0.10
ORIGIN = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_DAYS = 182.0
TOPICS = ("news", "politics", "sports", "tech", "business", "culture", "science", "travel")
FORMS = ("newsletter_signup", "newsletter_signup", "contact", "event_registration")
SHARE_VIA = ("facebook", "x", "email", "whatsapp", "linkedin")

PARAMS = (
    "log_sessions_per_week",
    "log_pages_per_session",
    "log_seconds_on_page",
    "logit_scroll",
    "logit_video",
    "logit_share",
    "logit_form",
    "logit_search",
    "logit_focus",
)


def _means() -> np.ndarray:
    lg, lt = np.log, lambda p: np.log(p / (1 - p))
    rows = [
        # spw, pages, seconds, scroll, video, share, form, search, focus
        (0.8, 4.0, 15, 0.20, 0.02, 0.005, 0.005, 0.05, 0.30),  # skimmers
        (0.6, 2.0, 220, 0.90, 0.03, 0.020, 0.010, 0.30, 0.35),  # deep readers
        (0.7, 2.0, 60, 0.40, 0.60, 0.020, 0.010, 0.10, 0.35),  # video watchers
        (0.8, 3.0, 90, 0.65, 0.08, 0.030, 0.020, 0.10, 0.90),  # topic loyalists
        (0.6, 3.0, 70, 0.60, 0.05, 0.350, 0.010, 0.10, 0.35),  # sharers
        (0.5, 3.0, 80, 0.60, 0.05, 0.020, 0.450, 0.15, 0.40),  # form converters
    ]
    return np.array(
        [
            (lg(a), lg(b), lg(s), lt(d), lt(e), lt(f), lt(g), lt(h), lt(i))
            for a, b, s, d, e, f, g, h, i in rows
        ]
    )


SDS = np.array([0.5, 0.3, 0.35, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])


def generate(n_users: int, seed: int, out_dir: Path) -> c.Generated:
    rng = np.random.default_rng([seed, 202])
    truth = c.plant_groups(rng, n_users, [s for _, s in GROUPS])
    lat = c.latent(rng, truth, PARAMS, _means(), SDS, BLEND_SHARE)
    favourite = rng.integers(0, len(TOPICS), n_users)
    start, end = c.windows(rng, n_users, SPAN_DAYS)
    peak = rng.normal(13.0, 4.0, n_users)

    spw = np.exp(lat.col("log_sessions_per_week"))
    n_sessions = c.count_at_least_one(rng, spw / 7.0 * (end - start))
    s_user = np.repeat(np.arange(n_users), n_sessions)
    s_t0 = c.at_hour(rng, c.session_days(rng, s_user, start, end), peak[s_user], 4.0)
    s_t0 = np.minimum(s_t0, SPAN_DAYS * c.DAY - 4 * 3600.0)

    pages = 1 + rng.poisson(np.maximum(np.exp(lat.col("log_pages_per_session"))[s_user] - 1, 0))
    p_sess = np.repeat(np.arange(len(s_user)), pages)
    p_user = s_user[p_sess]
    seconds = np.exp(lat.col("log_seconds_on_page")[p_user] + rng.normal(0, 0.6, len(p_sess)))
    seconds = np.clip(seconds, 2, 1800).round()
    scroll = 100 * c.sigmoid(lat.col("logit_scroll"))[p_user] + rng.normal(0, 15, len(p_sess))
    scroll = np.clip(scroll, 0, 100).round()
    focus = c.sigmoid(lat.col("logit_focus"))[p_user]
    topic = np.where(
        rng.random(len(p_sess)) < focus,
        favourite[p_user],
        rng.integers(0, len(TOPICS), len(p_sess)),
    )
    article = rng.integers(1, 4000, len(p_sess))
    p_t = (
        s_t0[p_sess] + c.cumsum_within(seconds + rng.exponential(8, len(p_sess)), p_sess) - seconds
    )
    video = rng.random(len(p_sess)) < c.sigmoid(lat.col("logit_video"))[p_user]
    share = rng.random(len(p_sess)) < c.sigmoid(lat.col("logit_share"))[p_user]
    form = rng.random(len(s_user)) < c.sigmoid(lat.col("logit_form"))[s_user]
    search = rng.random(len(s_user)) < c.sigmoid(lat.col("logit_search"))[s_user]
    s_end = np.zeros(len(s_user))
    np.maximum.at(s_end, p_sess, p_t + seconds)

    user_ids = np.array([f"rdr_{h}" for h in c.hex_ids(rng, n_users, 6)])
    anon = np.array(c.uuids(rng, n_users))
    topics = np.array(TOPICS)
    tp = topics[topic]
    paths = np.char.add(np.char.add(np.char.add("/", tp), "/"), article.astype(str))
    first_page = np.r_[0, np.cumsum(pages)[:-1]]
    srch, frm = np.flatnonzero(search), np.flatnonzero(form)
    form_name = np.array(FORMS)[frm % len(FORMS)]
    kinds = [
        (
            p_t,
            p_user,
            "Page Viewed",
            {
                "category": tp,
                "title": np.char.add(
                    np.char.add(np.char.title(tp), " story "), article.astype(str)
                ),
                "duration": seconds,
                "scroll_depth": scroll.astype(int),
            },
            paths,
        ),
        (
            p_t[video] + 3,
            p_user[video],
            "Video Played",
            {
                "category": tp[video],
                "video_id": np.char.add("v", (article[video] % 600).astype(str)),
                "position": np.round(seconds[video] * 0.8 + 5),
            },
            paths[video],
        ),
        (
            p_t[share] + seconds[share] * 0.9,
            p_user[share],
            "Article Shared",
            {"category": tp[share], "share_via": np.array(SHARE_VIA)[article[share] % 5]},
            paths[share],
        ),
        (
            s_t0[srch] - 20,
            s_user[srch],
            "Searched",
            {"query": topics[topic[first_page[srch]]]},
            np.full(len(srch), "/search"),
        ),
        (
            s_end[frm] + 15,
            s_user[frm],
            "Form Submitted",
            {"form_name": form_name},
            np.char.add("/forms/", form_name),
        ),
    ]
    origin = ORIGIN.replace(tzinfo=None)
    parts = []
    for t, u, name, props, page in kinds:
        frame = pl.DataFrame({"t": np.round(t, 3), "u": u, **props, "path": page})
        parts.append(
            frame.select(
                "t",
                "u",
                pl.struct(
                    type=pl.lit("track"),
                    event=pl.lit(name),
                    userId=pl.Series(user_ids[u]),
                    anonymousId=pl.Series(anon[u]),
                    messageId=pl.Series(c.uuids(rng, len(u)), dtype=pl.Utf8),
                    timestamp=(
                        pl.lit(origin) + pl.duration(milliseconds=pl.col("t") * 1000)
                    ).dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
                    properties=pl.struct(list(props)),
                    context=pl.struct(page=pl.struct(path=pl.col("path"))),
                )
                .struct.json_encode()
                .alias("call"),
            )
        )
    log = pl.concat(parts).sort("t", "u", maintain_order=True)
    log = log.select("call")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "tracks.ndjson"
    log.write_csv(path, include_header=False, quote_style="never")
    return c.Generated([path], list(user_ids), truth, lat)
