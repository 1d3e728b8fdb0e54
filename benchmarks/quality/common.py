"""Pieces every planted world uses: group sizes, latent parameters with blends, time windows.

Each world draws, per user, a vector of latent behaviour parameters (log activity rate, logits of
an event mix, log price level, ...) from its group's distribution, then draws events from them.
The same vector is what the ceiling clusters on, so the ceiling says how separable the groups are
before any event is sampled. Nothing here knows about segtui.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DAY = 86_400.0


@dataclass(frozen=True)
class Latent:
    """Per-user latent parameters: one row per user, one column per name."""

    values: np.ndarray
    names: tuple[str, ...]
    blended: np.ndarray
    """True for users whose parameters are a blend of their group and another."""

    def col(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]


def plant_groups(rng: np.random.Generator, n: int, shares: Sequence[float]) -> np.ndarray:
    """Exact group sizes from the shares (largest remainder), in shuffled order."""
    p = np.asarray(shares, dtype=float)
    p = p / p.sum()
    counts = np.floor(p * n).astype(int)
    rest = n - counts.sum()
    counts[np.argsort(-(p * n - counts), kind="stable")[:rest]] += 1
    truth = np.repeat(np.arange(len(p)), counts)
    return rng.permutation(truth)


def latent(
    rng: np.random.Generator,
    truth: np.ndarray,
    names: Sequence[str],
    means: np.ndarray,
    sds: np.ndarray,
    blend_share: float,
    weight: tuple[float, float] = (0.6, 0.85),
) -> Latent:
    """Group means plus per-user noise; ``blend_share`` of users mix in a second group.

    A blended user's vector is ``w * own + (1 - w) * other`` with ``w`` uniform in ``weight``,
    both drawn with their group's noise, so their truth (the dominant group) stays the own one.
    """
    means = np.asarray(means, dtype=float)
    sds = np.broadcast_to(np.asarray(sds, dtype=float), means.shape)
    n, g = len(truth), len(means)
    own = means[truth] + sds[truth] * rng.standard_normal((n, means.shape[1]))
    blended = rng.random(n) < blend_share
    other_group = (truth + rng.integers(1, g, n)) % g
    other = means[other_group] + sds[other_group] * rng.standard_normal((n, means.shape[1]))
    w = rng.uniform(weight[0], weight[1], n)[:, None]
    values = np.where(blended[:, None], w * own + (1 - w) * other, own)
    return Latent(values, tuple(names), blended)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def windows(
    rng: np.random.Generator,
    n: int,
    span_days: float,
    lifetime_days: np.ndarray | None = None,
    min_window_days: float = 7.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Each user's active window in days: starts uniform over the span, ends at the span's end
    or after ``lifetime_days`` (whichever is first)."""
    start = rng.uniform(0.0, span_days - min_window_days, n)
    end = np.full(n, span_days)
    if lifetime_days is not None:
        end = np.minimum(end, start + np.maximum(lifetime_days, 0.05))
    return start, end


def count_at_least_one(rng: np.random.Generator, mean: np.ndarray) -> np.ndarray:
    """Poisson counts, at least one (every user in a log did something)."""
    return np.maximum(rng.poisson(np.maximum(mean, 0.0)), 1)


def categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of ``probs`` (rows sum to 1), vectorised by inverse CDF."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cdf[:, -1:]
    return np.minimum((u > cdf).sum(axis=1), probs.shape[1] - 1)


def session_days(
    rng: np.random.Generator,
    owner: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    season: tuple[float, float] | None = None,
    season_share: np.ndarray | None = None,
) -> np.ndarray:
    """Day (float, from the span's origin) of each session of user ``owner[i]``.

    Uniform over the user's window; with a ``season`` (start day, end day) a user's
    ``season_share`` of sessions fall inside it (when their window overlaps it).
    """
    s, e = start[owner], end[owner]
    day = s + rng.random(len(owner)) * (e - s)
    if season is not None and season_share is not None:
        lo, hi = np.maximum(s, season[0]), np.minimum(e, season[1])
        inside = (hi > lo) & (rng.random(len(owner)) < season_share[owner])
        day = np.where(inside, lo + rng.random(len(owner)) * (hi - lo), day)
    return day


def at_hour(
    rng: np.random.Generator, day: np.ndarray, peak_hour: np.ndarray, spread_h: float = 3.0
) -> np.ndarray:
    """Seconds from the origin: the session's calendar day at a time of day near ``peak_hour``."""
    hour = np.mod(peak_hour + spread_h * rng.standard_normal(len(day)), 24.0)
    return np.floor(day) * DAY + hour * 3600.0


def order_within(keys: Sequence[np.ndarray]) -> np.ndarray:
    """Row order for a log sorted by the given keys (last key varies slowest)."""
    return np.lexsort(tuple(keys))


_HEX = np.array(list("0123456789abcdef"))


def _hex_chars(rng: np.random.Generator, n: int, nbytes: int) -> np.ndarray:
    raw = rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
    chars = np.empty((n, 2 * nbytes), dtype="<U1")
    chars[:, 0::2], chars[:, 1::2] = _HEX[raw >> 4], _HEX[raw & 15]
    return chars


def hex_ids(rng: np.random.Generator, n: int, nbytes: int = 16) -> list[str]:
    """Random lowercase hex strings (vectorised: a log has hundreds of thousands)."""
    chars = np.ascontiguousarray(_hex_chars(rng, n, nbytes))
    return chars.view(f"<U{2 * nbytes}").ravel().tolist()


def uuids(rng: np.random.Generator, n: int) -> list[str]:
    """Random version-4 UUIDs as text."""
    h = _hex_chars(rng, n, 16)
    h[:, 12], h[:, 16] = "4", "a"
    dash = np.full((n, 1), "-", dtype="<U1")
    chars = np.ascontiguousarray(
        np.hstack(
            [h[:, :8], dash, h[:, 8:12], dash, h[:, 12:16], dash, h[:, 16:20], dash, h[:, 20:]]
        )
    )
    return chars.view("<U36").ravel().tolist()


def size_skew(truth: np.ndarray) -> float:
    counts = np.bincount(truth)
    return float(counts.max() / counts.min())


@dataclass(frozen=True)
class Generated:
    """What a world's generator wrote and what it planted."""

    files: list
    """Paths written (a world's whole log)."""
    user_ids: list[str]
    """As segtui will read them (its user_id column is text)."""
    truth: np.ndarray
    """Group index per user, aligned with ``user_ids``."""
    latent: Latent


def cumsum_within(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` restarting at each new ``group`` (``group`` sorted)."""
    total = np.cumsum(values)
    if len(values) == 0:
        return total
    first = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    offset = np.repeat(total[first] - values[first], np.diff(np.r_[first, len(group)]))
    return total - offset
