"""Seeded sample event logs with planted behavioral groups.

segtui needs data with a known answer: the bundled sample, the tests and the benchmarks all come
from this generator. Each synthetic user belongs to one planted group (browsers, cart abandoners,
loyal premium buyers, bargain hunters, winter shoppers, one-time buyers); the group sets the rates
of the user's sessions, views, cart adds and orders, the price tier of the items and when in the
year the user is active. Rates carry per-user noise and groups share behavior, so the groups
overlap the way real ones do, but clustering on behavior features still recovers them.

Generation is vectorised with numpy in fixed blocks of users, each block with its own random
stream derived from ``(seed, block)``: the output depends only on the seed and the number of
users, never on how many users are written per chunk, and a million users stream to disk a chunk
at a time without holding the whole log.
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Literal

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from segtui.canonical import CANONICAL_EVENT_NAMES
from segtui.errors import InputError
from segtui.fileio import atomic_write

LAYOUTS: tuple[str, ...] = ("canonical", "clickstream", "invoice")
FORMATS: tuple[str, ...] = ("csv", "csv.gz", "parquet")

#: Header of each layout, in order (the tests and the loader's presets rely on these).
LAYOUT_COLUMNS: dict[str, tuple[str, ...]] = {
    "canonical": (
        "user_id",
        "ts",
        "event",
        "session_id",
        "order_id",
        "category",
        "item_id",
        "price",
        "quantity",
        "duration_s",
        "scroll_depth",
    ),
    "clickstream": (
        "event_time",
        "event_type",
        "product_id",
        "category_id",
        "category_code",
        "brand",
        "price",
        "user_id",
        "user_session",
    ),
    "invoice": (
        "InvoiceNo",
        "StockCode",
        "Description",
        "Quantity",
        "InvoiceDate",
        "UnitPrice",
        "CustomerID",
        "Country",
    ),
}
#: File name of the events file per layout (the suffix follows the format).
LAYOUT_STEMS: dict[str, str] = {
    "canonical": "events",
    "clickstream": "clickstream",
    "invoice": "invoices",
}
TRUTH_NAME = "truth.csv"

DEFAULT_START = date(2024, 3, 1)
DEFAULT_END = date(2025, 2, 28)
#: Users per random stream. Fixed so chunking never changes the output.
BLOCK_USERS = 1000
DEFAULT_CHUNK_USERS = 10_000

EVENTS: tuple[str, ...] = CANONICAL_EVENT_NAMES
_PV, _PRV, _SEARCH, _ATC, _RM, _CHECKOUT, _PURCHASE, _REFUND, _FORM = range(len(EVENTS))

#: Categories with their sub-categories (for clickstream ``category_code``), a typical mid-tier
#: price and a few brands.
CATEGORIES: tuple[tuple[str, tuple[str, ...], float, tuple[str, ...]], ...] = (
    ("electronics", ("smartphone", "headphones", "laptop", "camera", "tv"), 150.0,
     ("voltex", "nexa", "sonique", "pixelon")),
    ("fashion", ("shoes", "jacket", "dress", "bag", "watch"), 60.0,
     ("marlowe", "urbanthread", "kestrel", "loom")),
    ("home", ("kitchen", "furniture", "lighting", "bedding"), 70.0,
     ("hearthly", "nordlin", "casa", "brightway")),
    ("beauty", ("skincare", "makeup", "fragrance", "haircare"), 35.0,
     ("lumiere", "petalia", "glowra", "veda")),
    ("sports", ("fitness", "bicycle", "running", "outdoor"), 60.0,
     ("stridex", "peakline", "velo", "trailo")),
    ("toys", ("puzzle", "doll", "construction", "boardgame"), 35.0,
     ("tinker", "brickly", "joybox", "playnest")),
    ("grocery", ("coffee", "snacks", "tea", "pantry"), 15.0,
     ("farmgate", "dailyloaf", "roastco", "greenbasket")),
    ("books", ("fiction", "cookbook", "children", "comics"), 20.0,
     ("inkwell", "pagecraft", "northpress", "foliant")),
)  # fmt: skip
TIERS: tuple[str, ...] = ("cheap", "mid", "premium")
ITEMS_PER_TIER = 40
_TIER_PRICE = ((0.12, 0.35), (0.6, 1.6), (3.0, 8.0))  # multiples of the category's mid price
_COUNTRIES = (
    "United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium", "Portugal",
)  # fmt: skip
_COUNTRY_P = (0.82, 0.04, 0.04, 0.03, 0.02, 0.02, 0.015, 0.015)
#: Share of sessions starting in each UTC hour: quiet nights, busy evenings.
_HOUR_WEIGHTS = (
    1, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.2, 2.6, 2.8, 3.0,
    3.2, 3.1, 2.9, 2.8, 2.9, 3.2, 3.8, 4.3, 4.5, 4.0, 3.0, 1.8,
)  # fmt: skip

Pattern = Literal["span", "recent", "winter", "once"]


@dataclass(frozen=True)
class GroupSpec:
    """One planted group: the rates that make its behavior (all per session unless said)."""

    name: str
    description: str
    share: float  # expected share of users
    sessions: float  # mean sessions per user over the whole range
    pattern: Pattern  # when the sessions happen
    page_views: float
    product_views: float
    searches: float
    cart_adds: float  # in sessions without an order
    buy_rate: float  # chance a session ends in an order
    order_items: float  # extra distinct items per order beyond the first
    removes: float  # chance a cart add is removed again
    checkout_no_buy: float  # chance a session with cart adds but no order reaches checkout
    tiers: tuple[float, float, float]  # chance an item is cheap / mid / premium
    extra_quantity: float  # mean quantity beyond 1 per cart line
    view_seconds: float  # mean time on a viewed page
    scroll: float  # mean scroll depth on a viewed page
    categories: tuple[float, ...]  # weights of the favourite category, in CATEGORIES order


GROUPS: tuple[GroupSpec, ...] = (
    GroupSpec(
        name="browsers",
        description="many page and product views, long reads, deep scrolls, no purchases",
        share=0.22, sessions=6.0, pattern="span",
        page_views=1.5, product_views=2.6, searches=0.5, cart_adds=0.01,
        buy_rate=0.0, order_items=0.0, removes=0.3, checkout_no_buy=0.0,
        tiers=(0.3, 0.5, 0.2), extra_quantity=0.1, view_seconds=55.0, scroll=0.75,
        categories=(3, 3, 2, 2, 2, 1, 1, 2),
    ),
    GroupSpec(
        name="cart_abandoners",
        description="add to cart in most visits, often reach checkout, rarely buy",
        share=0.17, sessions=5.0, pattern="span",
        page_views=0.6, product_views=1.6, searches=0.3, cart_adds=1.6,
        buy_rate=0.04, order_items=0.3, removes=0.25, checkout_no_buy=0.35,
        tiers=(0.25, 0.5, 0.25), extra_quantity=0.2, view_seconds=25.0, scroll=0.5,
        categories=(3, 3, 2, 2, 2, 2, 1, 1),
    ),
    GroupSpec(
        name="loyal_premium",
        description="frequent orders of premium-priced items all year, and recently",
        share=0.12, sessions=9.0, pattern="recent",
        page_views=0.5, product_views=1.4, searches=0.3, cart_adds=0.2,
        buy_rate=0.6, order_items=0.3, removes=0.05, checkout_no_buy=0.1,
        tiers=(0.03, 0.17, 0.8), extra_quantity=0.1, view_seconds=30.0, scroll=0.55,
        categories=(4, 4, 3, 2, 2, 1, 0.5, 1),
    ),
    GroupSpec(
        name="bargain_hunters",
        description="many orders of cheap items in bulk; many searches and views of cheap items",
        share=0.16, sessions=7.0, pattern="span",
        page_views=0.4, product_views=2.2, searches=1.2, cart_adds=0.4,
        buy_rate=0.5, order_items=0.8, removes=0.15, checkout_no_buy=0.1,
        tiers=(0.85, 0.13, 0.02), extra_quantity=1.5, view_seconds=18.0, scroll=0.45,
        categories=(1, 2, 2, 2, 1, 3, 4, 3),
    ),
    GroupSpec(
        name="winter_shoppers",
        description="most visits and orders between December and February, mid-priced items",
        share=0.15, sessions=6.0, pattern="winter",
        page_views=0.7, product_views=1.8, searches=0.4, cart_adds=0.3,
        buy_rate=0.3, order_items=0.5, removes=0.1, checkout_no_buy=0.1,
        tiers=(0.25, 0.65, 0.1), extra_quantity=0.3, view_seconds=30.0, scroll=0.5,
        categories=(2, 3, 2, 2, 3, 4, 1, 2),
    ),
    GroupSpec(
        name="one_time_buyers",
        description="a short visit with exactly one order, then gone",
        share=0.18, sessions=2.0, pattern="once",
        page_views=0.8, product_views=1.5, searches=0.4, cart_adds=0.2,
        buy_rate=0.0, order_items=0.4, removes=0.05, checkout_no_buy=0.0,
        tiers=(0.3, 0.55, 0.15), extra_quantity=0.2, view_seconds=30.0, scroll=0.5,
        categories=(2, 2, 2, 2, 2, 2, 1, 2),
    ),
)  # fmt: skip
GROUP_NAMES: tuple[str, ...] = tuple(g.name for g in GROUPS)

_ACTIVITY_NOISE = 0.25  # sd of the log of a user's activity level around the group's
_RATE_NOISE = 0.25  # sd of the log of a user's browsing and buying rates
_SPAN_EDGE = 0.4  # "span" users start within the first and stop within the last 40% of the range
_MAX_SESSIONS = 200  # per user; keeps invoice numbers distinct
_WINTER_SHARE = 0.9  # share of a winter shopper's sessions that fall in Dec-Feb
_REFUND_RATE = 0.04  # chance an order has one line refunded in the user's next session
_FORM_RATE = 0.03  # form submits (newsletter, contact) per session
_ANON_INVOICE_RATE = 0.015  # invoices written without a customer (invoice layout only)


@dataclass(frozen=True)
class SampleFiles:
    """What :func:`write_sample` wrote."""

    events_path: Path
    truth_path: Path
    layout: str
    fmt: str
    users: int
    events: int  # rows in the events file
    groups: dict[str, int] = field(default_factory=dict)  # users per planted group

    @property
    def paths(self) -> tuple[Path, Path]:
        """Every file written."""
        return (self.events_path, self.truth_path)


# --------------------------------------------------------------------------------------------
# Catalog and calendar


@dataclass(frozen=True)
class _Catalog:
    """Items: global index -> category, tier, price and names used by the layouts."""

    category: np.ndarray  # int8
    tier: np.ndarray  # int8
    price: np.ndarray  # float64, rounded to cents
    item_id: pl.Series  # e.g. "el-p017"
    subcategory: pl.Series  # category_code, e.g. "electronics.smartphone"
    category_id: np.ndarray  # int64, one per category_code
    brand: pl.Series  # may be null
    product_id: np.ndarray  # int64
    stock_code: pl.Series
    description: pl.Series


def _catalog() -> _Catalog:
    """The fixed item catalog (independent of the seed, so prices mean the same in every sample)."""
    rng = np.random.default_rng(20240301)
    n_cat, n_tier = len(CATEGORIES), len(TIERS)
    n = n_cat * n_tier * ITEMS_PER_TIER
    idx = np.arange(n)
    cat = (idx // (n_tier * ITEMS_PER_TIER)).astype(np.int8)
    tier = ((idx // ITEMS_PER_TIER) % n_tier).astype(np.int8)
    base = np.array([c[2] for c in CATEGORIES])[cat]
    lo = np.array([t[0] for t in _TIER_PRICE])[tier]
    hi = np.array([t[1] for t in _TIER_PRICE])[tier]
    price = np.round(base * np.exp(rng.uniform(np.log(lo), np.log(hi))), 2)
    price = np.where(price % 1 > 0.5, np.floor(price) + 0.99, price)  # shelf prices like 19.99
    price = np.maximum(price, 0.49)
    sub_choice = rng.integers(0, 1 << 30, n)
    codes, brands, descs = [], [], []
    adjectives = ("basic", "value", "classic", "plus", "pro", "deluxe")
    for i in range(n):
        name, subs, _, brand_list = CATEGORIES[cat[i]]
        sub = subs[sub_choice[i] % len(subs)]
        codes.append(f"{name}.{sub}")
        brands.append(None if sub_choice[i] % 10 == 0 else brand_list[sub_choice[i] % 4])
        adjective = adjectives[int(tier[i]) * 2 + int(sub_choice[i] % 2)]
        descs.append(f"{adjective} {sub} {i % ITEMS_PER_TIER + 1}".upper())
    code_names = sorted(set(codes))
    code_ids = {c: 2053013552226107603 + 7919 * k for k, c in enumerate(code_names)}
    item_id = [
        f"{CATEGORIES[cat[i]][0][:2]}-{TIERS[tier[i]][0]}{i % ITEMS_PER_TIER:03d}" for i in range(n)
    ]
    stock = [f"{20000 + 37 * i}{'AB'[i % 2] if i % 5 == 0 else ''}" for i in range(n)]
    return _Catalog(
        category=cat,
        tier=tier,
        price=price,
        item_id=pl.Series(item_id, dtype=pl.Utf8),
        subcategory=pl.Series(codes, dtype=pl.Utf8),
        category_id=np.array([code_ids[c] for c in codes], dtype=np.int64),
        brand=pl.Series(brands, dtype=pl.Utf8),
        product_id=1_000_000 + 131 * idx.astype(np.int64),
        stock_code=pl.Series(stock, dtype=pl.Utf8),
        description=pl.Series(descs, dtype=pl.Utf8),
    )


@dataclass(frozen=True)
class _Calendar:
    """The time range as whole UTC days, and which of them are winter (Dec, Jan, Feb)."""

    start_s: int  # epoch seconds of the first day's midnight
    end_s: int  # epoch seconds of the midnight after the last day (exclusive)
    days: int
    winter_days: np.ndarray  # day offsets in Dec-Feb


def _calendar(start: date | datetime, end: date | datetime) -> _Calendar:
    first = start.date() if isinstance(start, datetime) else start
    last = end.date() if isinstance(end, datetime) else end
    days = (last - first).days + 1
    if days < 7:
        raise InputError(
            f"the sample's time range must span at least 7 days, not {days}",
            hint="Pass an end date at least a week after the start date.",
        )
    start_s = int(datetime.combine(first, time(), tzinfo=UTC).timestamp())
    months = np.array([(first + timedelta(days=d)).month for d in range(days)])
    winter = np.flatnonzero(np.isin(months, (12, 1, 2)))
    return _Calendar(start_s, start_s + days * 86400, days, winter)


# --------------------------------------------------------------------------------------------
# One block of users


@dataclass(frozen=True)
class _Block:
    """Row arrays for a block of users, sorted by user then time (numbers, not strings yet)."""

    user_num: np.ndarray  # per user, 1-based global number
    group: np.ndarray  # per user, index into GROUPS
    r_user: np.ndarray  # per row, user number
    r_sess: np.ndarray  # per row, session index within the user
    r_ts: np.ndarray  # per row, epoch seconds
    r_event: np.ndarray  # per row, index into EVENTS
    r_item: np.ndarray  # per row, item index or -1
    r_cat: np.ndarray  # per row, category index or -1
    r_qty: np.ndarray  # per row, quantity or 0
    r_dur: np.ndarray  # per row, seconds on page or nan
    r_scroll: np.ndarray  # per row, 0..1 or nan
    r_order: np.ndarray  # per row, session index of the order or -1


def _g(values: list[float] | tuple[float, ...], index: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)[index]


# The stages below draw from one random stream in a fixed order: the same seed gives the same
# log bit for bit (the bundled sample is regenerated and compared by the tests), so a stage may
# be renamed or documented freely but its draws must not be reordered.


@dataclass(frozen=True)
class _Users:
    """Per-user draws: planted group, pattern in time, sessions and rates."""

    group: np.ndarray
    pattern: np.ndarray
    n_sess: np.ndarray
    buy_rate: np.ndarray
    browse: np.ndarray
    fav_cat: np.ndarray
    tier_cum: np.ndarray  # per group, cumulative price-tier weights

    @property
    def once(self) -> np.ndarray:
        return self.pattern == "once"


@dataclass(frozen=True)
class _Sessions:
    """Per-session arrays, sorted by user then start time."""

    user: np.ndarray
    start: np.ndarray  # epoch seconds from the calendar's start, before spacing
    first: np.ndarray  # per user, index of the user's first session
    idx: np.ndarray  # index of the session within its user
    last: np.ndarray  # True for a user's last session
    group: np.ndarray

    @property
    def total(self) -> int:
        return int(self.user.size)


@dataclass(frozen=True)
class _Visits:
    """Per-session event counts and what the session ends in."""

    buy: np.ndarray
    n_pv: np.ndarray
    n_search: np.ndarray
    n_atc: np.ndarray
    n_prv: np.ndarray
    n_form: np.ndarray
    checkout_no_buy: np.ndarray
    fav: np.ndarray  # the user's favourite category, per session


def _draw_users(rng: np.random.Generator, n: int, attr: dict[str, list]) -> _Users:
    shares = np.array([g.share for g in GROUPS])
    group = rng.choice(len(GROUPS), size=n, p=shares / shares.sum())
    activity = rng.lognormal(0.0, _ACTIVITY_NOISE, n)
    buying = rng.lognormal(0.0, _RATE_NOISE, n)
    browse = rng.lognormal(0.0, _RATE_NOISE, n)
    pattern = np.array([g.pattern for g in GROUPS])[group]
    once = pattern == "once"
    mean_sessions = _g(attr["sessions"], group) * activity
    n_sess = np.clip(np.rint(mean_sessions), 1, _MAX_SESSIONS).astype(np.int64)
    n_sess[once] = 1 + rng.binomial(2, 0.35, int(once.sum()))
    buy_rate = np.clip(_g(attr["buy_rate"], group) * buying, 0.0, 0.95)
    cat_w = np.array(attr["categories"], dtype=np.float64)
    cat_w /= cat_w.sum(axis=1, keepdims=True)
    fav_cat = (rng.random(n)[:, None] > np.cumsum(cat_w[group], axis=1)).sum(axis=1)
    tier_cum = np.cumsum(np.array(attr["tiers"]), axis=1)
    return _Users(group, pattern, n_sess, buy_rate, browse, fav_cat, tier_cum)


def _active_window(
    rng: np.random.Generator, users: _Users, days: float
) -> tuple[np.ndarray, np.ndarray]:
    """First and last active day per user, by the group's pattern in time."""
    n = users.group.size
    once = users.once
    first = np.zeros(n)
    last = np.full(n, days)
    span = users.pattern == "span"
    first[span] = rng.uniform(0.0, _SPAN_EDGE * days, int(span.sum()))
    last[span] = days - rng.uniform(0.0, _SPAN_EDGE * days, int(span.sum()))
    recent = users.pattern == "recent"
    first[recent] = rng.uniform(0.0, 0.35 * days, int(recent.sum()))
    window = rng.uniform(0.0, max(0.75 * days - 7.0, 1.0), int(once.sum()))
    first[once] = window
    last[once] = window + rng.uniform(0.05, 7.0, int(once.sum()))
    return first, last


def _draw_sessions(rng: np.random.Generator, users: _Users, cal: _Calendar) -> _Sessions:
    """When each session starts: a day in the user's window (winter shoppers in winter)."""
    first, last = _active_window(rng, users, float(cal.days))
    n_sess = users.n_sess
    s_total = int(n_sess.sum())
    s_user = np.repeat(np.arange(users.group.size), n_sess)
    s_day = first[s_user] + rng.random(s_total) * (last[s_user] - first[s_user])
    s_winter = (users.pattern[s_user] == "winter") & (rng.random(s_total) < _WINTER_SHARE)
    if cal.winter_days.size:
        picks = rng.integers(0, cal.winter_days.size, int(s_winter.sum()))
        s_day[s_winter] = cal.winter_days[picks]
    hours = np.asarray(_HOUR_WEIGHTS) / np.sum(_HOUR_WEIGHTS)
    hour = rng.choice(24, size=s_total, p=hours)
    s_start = (np.floor(s_day) * 86400 + hour * 3600 + rng.integers(0, 3600, s_total)).astype(
        np.int64
    )
    order = np.lexsort((s_start, s_user))
    s_start = s_start[order]  # s_user is already sorted, so only the starts move
    s_first = np.concatenate(([0], np.cumsum(n_sess)[:-1]))
    s_idx = np.arange(s_total) - s_first[s_user]
    s_last = s_idx == n_sess[s_user] - 1
    return _Sessions(s_user, s_start, s_first, s_idx, s_last, users.group[s_user])


def _draw_visits(
    rng: np.random.Generator, users: _Users, sessions: _Sessions, attr: dict[str, list]
) -> _Visits:
    """How many views, searches, cart adds and forms each session holds, and if it buys."""
    s_total, s_user, s_group = sessions.total, sessions.user, sessions.group
    once = users.once
    s_buy = rng.random(s_total) < users.buy_rate[s_user]
    s_buy[once[s_user]] = sessions.last[once[s_user]]  # one-time buyers: the last visit orders
    s_rate = users.browse[s_user]
    n_pv = rng.poisson(_g(attr["page_views"], s_group) * s_rate)
    n_search = rng.poisson(_g(attr["searches"], s_group) * s_rate)
    n_atc = np.where(
        s_buy,
        1 + rng.poisson(_g(attr["order_items"], s_group)),
        rng.poisson(_g(attr["cart_adds"], s_group) * s_rate),
    )
    n_prv = np.maximum(rng.poisson(_g(attr["product_views"], s_group) * s_rate), n_atc > 0)
    n_form = rng.poisson(_FORM_RATE, s_total)
    empty = (n_pv + n_search + n_prv + n_form) == 0
    n_pv[empty] = 1
    checkout_no_buy = (~s_buy) & (n_atc > 0)
    checkout_no_buy &= rng.random(s_total) < _g(attr["checkout_no_buy"], s_group)
    fav = users.fav_cat[s_user]
    return _Visits(s_buy, n_pv, n_search, n_atc, n_prv, n_form, checkout_no_buy, fav)


class _Rows:
    """Event rows collected per kind, then merged in session order by a sort key."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, sess: np.ndarray, event: int, key: np.ndarray, **cols: np.ndarray) -> None:
        k = sess.size
        self.parts.append(
            {
                "sess": sess,
                "event": np.full(k, event, dtype=np.int8),
                "key": key,
                "item": cols.get("item", np.full(k, -1, dtype=np.int64)),
                "qty": cols.get("qty", np.zeros(k, dtype=np.int64)),
                "order": cols.get("order", np.full(k, -1, dtype=np.int64)),
                "cat": cols.get("cat", np.full(k, -1, dtype=np.int64)),
            }
        )

    def merged(self) -> dict[str, np.ndarray]:
        r = {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}
        order = np.lexsort((r["key"], r["sess"]))
        return {k: v[order] for k, v in r.items()}


def _pick_items(
    rng: np.random.Generator, users: _Users, sessions: _Sessions, visits: _Visits, sess: np.ndarray
) -> np.ndarray:
    """Items for rows of these sessions: favourite category 60%, tier by the group."""
    k = sess.size
    c = np.where(rng.random(k) < 0.6, visits.fav[sess], rng.integers(0, len(CATEGORIES), k))
    t = (rng.random(k)[:, None] > users.tier_cum[sessions.group[sess]]).sum(axis=1)
    t = np.minimum(t, len(TIERS) - 1)
    j = rng.integers(0, ITEMS_PER_TIER, k)
    return (c * len(TIERS) + t) * ITEMS_PER_TIER + j


def _browse_rows(
    rng: np.random.Generator, rows: _Rows, users: _Users, sessions: _Sessions, visits: _Visits
) -> tuple[np.ndarray, np.ndarray]:
    """Page views (some on category pages), searches, product views, forms, in random order.

    Returns the product views' items and sort keys, which the cart adds pick from.
    """
    s_total = sessions.total
    sess_pv = np.repeat(np.arange(s_total), visits.n_pv)
    pv_cat = np.where(rng.random(sess_pv.size) < 0.4, visits.fav[sess_pv], -1)
    rows.add(sess_pv, _PV, rng.random(sess_pv.size), cat=pv_cat)
    sess_search = np.repeat(np.arange(s_total), visits.n_search)
    rows.add(sess_search, _SEARCH, rng.random(sess_search.size))
    sess_prv = np.repeat(np.arange(s_total), visits.n_prv)
    prv_item = _pick_items(rng, users, sessions, visits, sess_prv)
    prv_key = rng.random(sess_prv.size) * 0.9
    rows.add(sess_prv, _PRV, prv_key, item=prv_item)
    sess_form = np.repeat(np.arange(s_total), visits.n_form)
    rows.add(sess_form, _FORM, rng.random(sess_form.size))
    return prv_item, prv_key


def _cart_and_order_rows(
    rng: np.random.Generator,
    rows: _Rows,
    sessions: _Sessions,
    visits: _Visits,
    viewed: tuple[np.ndarray, np.ndarray],
    attr: dict[str, list],
) -> None:
    """Cart adds of viewed items, removals, checkouts, one purchase row per line, refunds."""
    prv_item, prv_key = viewed
    s_total, s_group, s_buy = sessions.total, sessions.group, visits.buy
    n_atc, n_prv = visits.n_atc, visits.n_prv
    # cart adds take items viewed in the same session, after the views began
    sess_atc = np.repeat(np.arange(s_total), n_atc)
    prv_first = np.concatenate(([0], np.cumsum(n_prv)[:-1]))
    pick = prv_first[sess_atc] + (rng.random(sess_atc.size) * n_prv[sess_atc]).astype(np.int64)
    atc_item = prv_item[pick]
    atc_qty = 1 + rng.poisson(_g(attr["extra_quantity"], s_group[sess_atc]))
    atc_key = prv_key[pick] + 0.05 * rng.random(sess_atc.size) + 1e-9  # right after its view
    rows.add(sess_atc, _ATC, atc_key, item=atc_item, qty=atc_qty)
    removed = rng.random(sess_atc.size) < _g(attr["removes"], s_group[sess_atc])
    atc_first = np.concatenate(([0], np.cumsum(n_atc)[:-1]))
    is_first_line = np.arange(sess_atc.size) == atc_first[sess_atc]
    removed &= ~(s_buy[sess_atc] & is_first_line)  # an order keeps at least its first line
    rows.add(sess_atc[removed], _RM, 1.0 + 0.1 * rng.random(int(removed.sum())),
             item=atc_item[removed], qty=atc_qty[removed])  # fmt: skip
    # checkout, then the order: one purchase row per line still in the cart
    sess_ck = np.flatnonzero(s_buy | visits.checkout_no_buy)
    rows.add(sess_ck, _CHECKOUT, np.full(sess_ck.size, 1.2))
    bought = s_buy[sess_atc] & ~removed
    sess_buy_rows = sess_atc[bought]
    buy_item, buy_qty = atc_item[bought], atc_qty[bought]
    buy_order = sessions.idx[sess_buy_rows]
    rows.add(sess_buy_rows, _PURCHASE, np.full(sess_buy_rows.size, 1.3),
             item=buy_item, qty=buy_qty, order=buy_order)  # fmt: skip
    # refunds: one line of a few orders, in the user's next session
    buy_first = np.concatenate(([0], np.cumsum(np.bincount(sess_buy_rows, minlength=s_total))))
    has_next = ~sessions.last
    refund_sess = np.flatnonzero(s_buy & has_next & (rng.random(s_total) < _REFUND_RATE))
    lines = buy_first[refund_sess + 1] - buy_first[refund_sess]
    row = buy_first[refund_sess] + (rng.random(refund_sess.size) * lines).astype(np.int64)
    rows.add(refund_sess + 1, _REFUND, np.full(refund_sess.size, 2.0),
             item=buy_item[row], qty=buy_qty[row], order=buy_order[row])  # fmt: skip


def _view_timing(
    rng: np.random.Generator, r: dict[str, np.ndarray], sessions: _Sessions, attr: dict[str, list]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Time on page and scroll depth for views; the gaps between events follow from them.

    Returns duration, scroll depth, each row's offset within its session and each session's
    length, in seconds.
    """
    sess, event = r["sess"], r["event"]
    rows = sess.size
    viewed = (event == _PV) | (event == _PRV)
    mean_view = _g(attr["view_seconds"], sessions.group[sess])
    dur = np.where(viewed, np.round(rng.gamma(2.0, mean_view / 2.0) + 1.0, 1), np.nan)
    scroll = np.clip(rng.normal(_g(attr["scroll"], sessions.group[sess]), 0.2), 0.0, 1.0)
    scroll = np.where(viewed, np.round(scroll, 2), np.nan)
    gap = np.where(viewed, dur, 3.0 + rng.exponential(20.0, rows))
    gap[event == _CHECKOUT] = 30.0 + rng.exponential(60.0, int((event == _CHECKOUT).sum()))
    gap[event == _PURCHASE] = 0.0  # all lines of an order share its timestamp
    gap = np.minimum(np.round(gap), 20 * 60).astype(np.int64)
    csum = np.cumsum(gap) - gap
    sess_row0 = np.searchsorted(sess, np.arange(sessions.total))
    offset = csum - csum[sess_row0][sess]
    s_dur = np.bincount(sess, weights=gap, minlength=sessions.total).astype(np.int64)
    return dur, scroll, offset, s_dur


def _spaced_starts(sessions: _Sessions, s_dur: np.ndarray) -> np.ndarray:
    """Session starts moved so each begins at least 31 minutes after the previous one ended.

    start'_i = max(start_i, end'_{i-1} + gap) is a running max of start_i - S_i, plus S_i.
    """
    s_user = sessions.user
    step = s_dur + 31 * 60
    pref = np.cumsum(step) - step
    pref -= pref[sessions.first][s_user]  # sum of earlier sessions' steps within the user
    base = sessions.start - pref
    big = int(base.max() - base.min() + 1) if sessions.total else 1
    lifted = base + s_user.astype(np.int64) * big
    return np.maximum.accumulate(lifted) - s_user.astype(np.int64) * big + pref


def _block(seed: int, block: int, n: int, cal: _Calendar, cat: _Catalog) -> _Block:
    """Generate ``n`` users starting at global number ``block * BLOCK_USERS + 1``."""
    rng = np.random.default_rng([seed, block])
    user_num = block * BLOCK_USERS + 1 + np.arange(n, dtype=np.int64)
    attr = {f: [getattr(g, f) for g in GROUPS] for f in GroupSpec.__dataclass_fields__}
    users = _draw_users(rng, n, attr)
    sessions = _draw_sessions(rng, users, cal)
    visits = _draw_visits(rng, users, sessions, attr)
    rows = _Rows()
    viewed = _browse_rows(rng, rows, users, sessions, visits)
    _cart_and_order_rows(rng, rows, sessions, visits, viewed, attr)
    r = rows.merged()
    dur, scroll, offset, s_dur = _view_timing(rng, r, sessions, attr)
    sess, item = r["sess"], r["item"]
    ts = cal.start_s + _spaced_starts(sessions, s_dur)[sess] + offset
    keep = ts < cal.end_s
    cat_of = np.where(item >= 0, cat.category[np.maximum(item, 0)], r["cat"])
    return _Block(
        user_num=user_num,
        group=users.group,
        r_user=user_num[sessions.user[sess]][keep],
        r_sess=sessions.idx[sess][keep],
        r_ts=ts[keep],
        r_event=r["event"][keep],
        r_item=item[keep],
        r_cat=cat_of[keep],
        r_qty=r["qty"][keep],
        r_dur=dur[keep],
        r_scroll=scroll[keep],
        r_order=r["order"][keep],
    )


def _concat(blocks: list[_Block]) -> _Block:
    return _Block(
        **{f: np.concatenate([getattr(b, f) for b in blocks]) for f in _Block.__dataclass_fields__}
    )


def _blocks(
    users: int, seed: int, chunk_users: int, cal: _Calendar, cat: _Catalog
) -> Iterator[_Block]:
    """Chunks of whole blocks, in user order."""
    per_chunk = max(1, -(-chunk_users // BLOCK_USERS))
    n_blocks = -(-users // BLOCK_USERS)
    for b0 in range(0, n_blocks, per_chunk):
        blocks = [
            _block(seed, b, min(BLOCK_USERS, users - b * BLOCK_USERS), cal, cat)
            for b in range(b0, min(b0 + per_chunk, n_blocks))
        ]
        yield _concat(blocks)


# --------------------------------------------------------------------------------------------
# Layouts


def _canonical(b: _Block, cat: _Catalog) -> pl.DataFrame:
    """Canonical columns with canonical types (ts a UTC datetime)."""
    item = b.r_item
    has_item = item >= 0
    frame = pl.DataFrame(
        {
            "_u": b.r_user,
            "_s": b.r_sess,
            "_o": b.r_order,
            "ts": (b.r_ts * 1_000_000).astype("datetime64[us]"),
            "_e": b.r_event.astype(np.int64),
            "_c": b.r_cat,
            "_i": np.maximum(item, 0),
            "_has_item": has_item,
            "price": np.where(has_item, cat.price[np.maximum(item, 0)], np.nan),
            "quantity": np.where(b.r_qty > 0, b.r_qty, np.nan).astype(np.float64),
            "duration_s": b.r_dur,
            "scroll_depth": b.r_scroll,
        }
    )
    uid = pl.col("_u").cast(pl.Utf8).str.zfill(7)
    cats = pl.Series([c[0] for c in CATEGORIES], dtype=pl.Utf8)
    return frame.select(
        pl.concat_str(pl.lit("u"), uid).alias("user_id"),
        pl.col("ts").dt.replace_time_zone("UTC"),
        pl.lit(pl.Series(EVENTS, dtype=pl.Utf8)).gather(pl.col("_e")).alias("event"),
        pl.concat_str(pl.lit("u"), uid, pl.lit("-"), pl.col("_s").cast(pl.Utf8)).alias(
            "session_id"
        ),
        pl.when(pl.col("_o") >= 0)
        .then(pl.concat_str(pl.lit("o"), uid, pl.lit("-"), pl.col("_o").cast(pl.Utf8)))
        .alias("order_id"),
        pl.when(pl.col("_c") >= 0)
        .then(pl.lit(cats).gather(pl.col("_c").clip(0)))
        .alias("category"),
        pl.when(pl.col("_has_item"))
        .then(pl.lit(cat.item_id).gather(pl.col("_i")))
        .alias("item_id"),
        pl.col("price").fill_nan(None),
        pl.col("quantity").fill_nan(None),
        pl.col("duration_s").fill_nan(None),
        pl.col("scroll_depth").fill_nan(None),
    )


def _mix(x: np.ndarray, salt: int = 0) -> np.ndarray:
    """splitmix64 of ``x``: well-spread uint64 hashes, so per-row choices need no random stream."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _unit(x: np.ndarray, salt: int) -> np.ndarray:
    """A uniform number in [0, 1) per value of ``x``."""
    return (_mix(x, salt) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _session_uuid(user: np.ndarray, sess: np.ndarray) -> pl.Series:
    """A UUID-looking session id made by hashing (user, session): stable and chunk-independent."""
    x = (user.astype(np.uint64) << np.uint64(20)) ^ sess.astype(np.uint64)
    return uuid_text(_mix(x, 1), _mix(x, 2))


def uuid_text(a: np.ndarray, b: np.ndarray) -> pl.Series:
    """UUID-looking text (8-4-4-4-12 hex digits) from two 64-bit words per row."""
    raw = np.stack([a, b], axis=1).astype(">u8").tobytes().hex().encode()
    hexes = pl.Series(np.frombuffer(raw, dtype="S32")).cast(pl.Binary).cast(pl.Utf8)
    s = pl.col("h")
    return (
        pl.DataFrame({"h": hexes})
        .select(
            pl.concat_str(
                s.str.slice(0, 8),
                s.str.slice(8, 4),
                s.str.slice(12, 4),
                s.str.slice(16, 4),
                s.str.slice(20, 12),
                separator="-",
            )
        )
        .to_series()
    )


def _clickstream(b: _Block, cat: _Catalog) -> pl.DataFrame:
    """The public multi-category e-commerce layout: views, carts, removals and purchases only."""
    codes = {_PRV: "view", _ATC: "cart", _RM: "remove_from_cart", _PURCHASE: "purchase"}
    keep = np.isin(b.r_event, list(codes))
    item = b.r_item[keep]
    kinds = np.zeros(len(EVENTS), dtype=np.int64)
    for code, k in zip(codes, range(len(codes)), strict=True):
        kinds[code] = k
    frame = pl.DataFrame(
        {
            "event_time": (b.r_ts[keep] * 1_000_000).astype("datetime64[us]"),
            "_k": kinds[b.r_event[keep]],
            "product_id": cat.product_id[item],
            "category_id": cat.category_id[item],
            "_i": item,
            "price": cat.price[item],
            "user_id": 500_000_000 + b.r_user[keep],
            "user_session": _session_uuid(b.r_user[keep], b.r_sess[keep]),
        }
    )
    return frame.select(
        pl.col("event_time").dt.strftime("%Y-%m-%d %H:%M:%S UTC"),
        pl.lit(pl.Series(list(codes.values()), dtype=pl.Utf8))
        .gather(pl.col("_k"))
        .alias("event_type"),
        "product_id",
        "category_id",
        pl.lit(cat.subcategory).gather(pl.col("_i")).alias("category_code"),
        pl.lit(cat.brand).gather(pl.col("_i")).alias("brand"),
        "price",
        "user_id",
        "user_session",
    )


def _invoices(b: _Block, cat: _Catalog) -> pl.DataFrame:
    """Invoice lines: one per purchased item; refunds as C-invoices with negative quantity.

    Invoice numbers are computed from (user, order, refund or not), so they are stable across
    chunking and distinct; a few invoices of users with more than one order are written without a
    customer, as in real exports.
    """
    keep = (b.r_event == _PURCHASE) | (b.r_event == _REFUND)
    refund = b.r_event[keep] == _REFUND
    user = b.r_user[keep]
    order = b.r_order[keep]
    item = b.r_item[keep]
    qty = b.r_qty[keep] * np.where(refund, -1, 1)
    inv = 1_000_000 + user * 2 * _MAX_SESSIONS + order * 2 + refund  # distinct per order and kind
    orders_per_user = (
        pl.DataFrame({"u": user, "o": order})
        .select(pl.col("o").n_unique().over("u"))["o"]
        .to_numpy()
    )
    anon = (_unit(inv, 3) < _ANON_INVOICE_RATE) & (orders_per_user > 1) & ~refund
    country = np.searchsorted(np.cumsum(_COUNTRY_P), _unit(user, 4), side="right")
    country = np.minimum(country, len(_COUNTRIES) - 1)
    frame = pl.DataFrame(
        {
            "_inv": inv,
            "_r": refund,
            "_i": item,
            "Quantity": qty,
            "InvoiceDate": (b.r_ts[keep] * 1_000_000).astype("datetime64[us]"),
            "UnitPrice": cat.price[item],
            "CustomerID": np.where(anon, -1, 12_000 + user),
            "_c": country,
        }
    )
    return frame.select(
        pl.concat_str(
            pl.when(pl.col("_r")).then(pl.lit("C")).otherwise(pl.lit("")),
            pl.col("_inv").cast(pl.Utf8),
        ).alias("InvoiceNo"),
        pl.lit(cat.stock_code).gather(pl.col("_i")).alias("StockCode"),
        pl.lit(cat.description).gather(pl.col("_i")).alias("Description"),
        "Quantity",
        pl.col("InvoiceDate").dt.strftime("%-m/%-d/%Y %-H:%M"),
        "UnitPrice",
        pl.when(pl.col("CustomerID") >= 0).then(pl.col("CustomerID")).alias("CustomerID"),
        pl.lit(pl.Series(_COUNTRIES, dtype=pl.Utf8)).gather(pl.col("_c")).alias("Country"),
    )


def _truth(b: _Block, layout: str) -> pl.DataFrame:
    """Ground truth keyed by the user id the layout writes."""
    if layout == "canonical":
        ids = pl.Series(b.user_num).cast(pl.Utf8).str.zfill(7)
        user_id = ("u" + ids).alias("user_id")
    elif layout == "clickstream":
        user_id = pl.Series("user_id", 500_000_000 + b.user_num)
    else:
        user_id = pl.Series("user_id", 12_000 + b.user_num)
    groups = pl.Series("group", GROUP_NAMES, dtype=pl.Utf8).gather(b.group)
    return pl.DataFrame([user_id, groups])


def _layout_frame(b: _Block, layout: str, cat: _Catalog, fmt: str) -> pl.DataFrame:
    if layout == "clickstream":
        return _clickstream(b, cat)
    if layout == "invoice":
        return _invoices(b, cat)
    frame = _canonical(b, cat)
    if fmt != "parquet":
        # text: quantity as whole numbers; ts written with the ISO format in the writer
        frame = frame.with_columns(pl.col("quantity").cast(pl.Int64))
    return frame


# --------------------------------------------------------------------------------------------
# Public API


def _check(users: int, layout: str, fmt: str, chunk_users: int) -> None:
    if not isinstance(users, int) or users < 1:
        raise InputError(
            f"the number of users must be a whole number of at least 1, not {users!r}",
            hint="Pass --users 3000, for example.",
        )
    if layout not in LAYOUTS:
        raise InputError(
            f"unknown sample layout {layout!r}", hint=f"Use one of: {', '.join(LAYOUTS)}."
        )
    if fmt not in FORMATS:
        raise InputError(
            f"unknown sample format {fmt!r}", hint=f"Use one of: {', '.join(FORMATS)}."
        )
    if chunk_users < 1:
        raise InputError(f"chunk_users must be at least 1, not {chunk_users}")


def generate(
    users: int,
    seed: int = 0,
    start: date | datetime = DEFAULT_START,
    end: date | datetime = DEFAULT_END,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Canonical events and the planted groups for ``users`` users, in memory.

    Returns ``(events, truth)``: events in canonical columns and types (sorted by user_id, ts;
    ``ts`` a UTC datetime; ``order_id`` set on purchase and refund rows; no revenue column, the
    loader derives price x quantity), and truth with ``user_id, group``. Dates cover whole UTC
    days from ``start`` to ``end`` inclusive. Meant for small sizes; :func:`write_sample` streams
    big ones to disk.
    """
    _check(users, "canonical", "csv", 1)
    cal = _calendar(start, end)
    cat = _catalog()
    blocks = list(_blocks(users, seed, users, cal, cat))
    block = _concat(blocks)
    return _canonical(block, cat), _truth(block, "canonical")


def split_out(
    out: str | Path, fmt: str | None = None, layout: str = "canonical"
) -> tuple[Path, Path, str]:
    """Decide the events file, the truth file and the format from ``out``.

    ``out`` is a folder (events named for the layout, truth ``truth.csv``) or an events file with
    a known suffix (truth beside it as ``<stem>_truth.csv``, so several samples share a folder).
    """
    out = Path(out)
    name = out.name.lower()
    by_suffix = next((f for f in ("csv.gz", "parquet", "csv") if name.endswith(f".{f}")), None)
    if by_suffix is not None:
        if fmt is not None and fmt != by_suffix:
            raise InputError(
                f"the output name says {by_suffix} but the format asked for is {fmt}",
                file=out,
                hint="Drop --format or make the suffix match it.",
            )
        stem = out.name[: -len(by_suffix) - 1]
        return out, out.with_name(f"{stem}_truth.csv"), by_suffix
    fmt = fmt or "csv"
    if fmt not in FORMATS:
        raise InputError(
            f"unknown sample format {fmt!r}", hint=f"Use one of: {', '.join(FORMATS)}."
        )
    if layout not in LAYOUTS:
        raise InputError(
            f"unknown sample layout {layout!r}", hint=f"Use one of: {', '.join(LAYOUTS)}."
        )
    return out / f"{LAYOUT_STEMS[layout]}.{fmt}", out / TRUTH_NAME, fmt


_DATETIME_FORMAT = {"canonical": "%Y-%m-%dT%H:%M:%SZ"}


def _write_csv(frame: pl.DataFrame, fh: IO[bytes], header: bool, layout: str) -> None:
    frame.write_csv(fh, include_header=header, datetime_format=_DATETIME_FORMAT.get(layout))


BYTES_PER_USER = {"csv": 2_400, "csv.gz": 700, "parquet": 500}
"""About what one user of the canonical layout takes on disk (2,500 users: 5.8 MB of CSV)."""
MAX_USERS = 2_000_000_000
"""Past this the user ids (u + 7 digits, then more) and the block numbering stop being sensible."""


def _check_disk(folder: Path, users: int, fmt: str) -> None:
    """Refuse a sample that would not fit: a full disk midway leaves nothing, but costs hours."""
    if users > MAX_USERS:
        raise InputError(
            f"--users {users:,} is more than segtui's sample generator makes ({MAX_USERS:,})"
        )
    need = users * BYTES_PER_USER.get(fmt, BYTES_PER_USER["csv"])
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if need > free:
        raise InputError(
            f"{users:,} users need about {need / 1e9:,.1f} GB and only {free / 1e9:,.1f} GB is "
            "free there",
            file=folder,
            hint="Make fewer users, use --format parquet, or write somewhere with more room.",
        )


def _make_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise InputError(
            "this is a file, not a folder to write the sample into",
            file=folder,
            hint="Pass a folder, or an events file ending in .csv, .csv.gz or .parquet.",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(
            f"cannot create the output folder ({error.strerror})", file=folder
        ) from None


def _stream(
    blocks: Iterator[_Block],
    events_path: Path,
    truth_path: Path,
    layout: str,
    fmt: str,
    cat: _Catalog,
) -> tuple[int, np.ndarray]:
    """Write the blocks to both files atomically; return the event count and users per group."""
    total = 0
    counts = np.zeros(len(GROUPS), dtype=np.int64)
    with atomic_write(events_path) as tmp, atomic_write(truth_path) as tmp_truth:
        writer: pq.ParquetWriter | None = None
        with open(tmp, "wb") as raw, open(tmp_truth, "wb") as truth_fh:
            fh: IO[bytes] = (
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0)
                if fmt == "csv.gz"
                else raw
            )
            try:
                for i, block in enumerate(blocks):
                    frame = _layout_frame(block, layout, cat, fmt)
                    total += frame.height
                    counts += np.bincount(block.group, minlength=len(GROUPS))
                    if fmt == "parquet":
                        table = frame.to_arrow()
                        if writer is None:
                            writer = pq.ParquetWriter(raw, table.schema, compression="zstd")
                        writer.write_table(table)
                    else:
                        _write_csv(frame, fh, i == 0, layout)
                    _truth(block, layout).write_csv(truth_fh, include_header=i == 0)
            finally:
                if writer is not None:
                    writer.close()
                if fh is not raw:
                    fh.close()
    return total, counts


def write_sample(
    out: str | Path,
    users: int,
    seed: int = 0,
    layout: str = "canonical",
    fmt: str | None = None,
    chunk_users: int = DEFAULT_CHUNK_USERS,
    start: date | datetime = DEFAULT_START,
    end: date | datetime = DEFAULT_END,
) -> SampleFiles:
    """Stream a sample to disk a chunk of users at a time; return what was written.

    ``out`` is a folder (created if missing; the events file is named for the layout, e.g.
    ``events.csv``, the truth ``truth.csv``) or an events file path whose suffix (.csv, .csv.gz,
    .parquet) sets the format (the truth goes beside it as ``<stem>_truth.csv``). The truth has
    ``user_id,group`` with ids as the layout writes them. Both files are written atomically. The
    output depends on ``seed`` and ``users`` only, never on ``chunk_users``.
    """
    events_path, truth_path, fmt = split_out(out, fmt, layout)
    _check(users, layout, fmt, chunk_users)
    cal = _calendar(start, end)
    cat = _catalog()
    _check_disk(events_path.parent, users, fmt)
    _make_folder(events_path.parent)
    blocks = _blocks(users, seed, chunk_users, cal, cat)
    total, counts = _stream(blocks, events_path, truth_path, layout, fmt, cat)
    return SampleFiles(
        events_path=events_path,
        truth_path=truth_path,
        layout=layout,
        fmt=fmt,
        users=users,
        events=total,
        groups={name: int(c) for name, c in zip(GROUP_NAMES, counts, strict=True)},
    )
