"""Numbers shown to people: one rule everywhere (profiles, traits, messages, the app, the CLI).

Three significant digits are what a person compares at a glance; thousands get separators; a
missing or non-finite value is a dash, never ``nan``. Trailing zeros are dropped so a count reads
``3``, not ``3.00``. Tables of scores that must line up (silhouette to three decimals) keep their
own fixed format through :func:`fixed`, which shares the dash for missing values.
"""

from __future__ import annotations

import math

MISSING = "—"
"""What a missing, NaN or infinite number shows as."""


def _finite(value: float | int | None) -> bool:
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def number(value: float | int | None) -> str:
    """``12,345``, ``123``, ``12.3``, ``1.23``, ``0.12``, ``0.0012``; ``—`` when missing.

    >>> [number(v) for v in (12345.6, 123.4, 12.0, 3.4, 2.0, 0.25, 0.00123, None)]
    ['12,346', '123', '12', '3.4', '2', '0.25', '0.0012', '—']
    """
    if not _finite(value):
        return MISSING
    v = float(value)  # type: ignore[arg-type]
    magnitude = abs(v)
    if magnitude >= 999.5:
        return f"{v:,.0f}"
    if magnitude >= 99.95:
        return f"{v:.0f}"
    if magnitude >= 10:
        text = f"{v:.1f}"
    elif magnitude >= 1:
        text = f"{v:.2f}"
    elif magnitude == 0:
        return "0"
    else:
        text = f"{v:.2g}"
        if "e" in text:
            return text
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text in ("-0", "") else text


def fixed(value: float | int | None, spec: str) -> str:
    """``format(value, spec)`` for aligned tables; ``—`` when missing."""
    return format(value, spec) if _finite(value) else MISSING


def percent(share: float | None, digits: int = 1) -> str:
    """A share 0..1 as a percent: ``21.3%`` in tables, ``71%`` in prose (``digits=0``).

    Never a false ``0%`` or ``100%``: a share that rounds to either end says ``<0.1%`` or
    ``>99.9%`` (``<1%``, ``>99%`` with no decimals).

    >>> [percent(v) for v in (0.213, 0.0004, 0.9996, 1.0, 0.0, None)]
    ['21.3%', '<0.1%', '>99.9%', '100.0%', '0.0%', '—']
    >>> [percent(v, 0) for v in (0.714, 0.004, 0.998)]
    ['71%', '<1%', '>99%']
    """
    if not _finite(share):
        return MISSING
    pct = 100 * float(share)  # type: ignore[arg-type]
    step = 10.0**-digits
    if 0 < pct < step / 2:
        return f"<{step:.{digits}f}%"
    if 100 - step / 2 <= pct < 100:
        return f">{100 - step:.{digits}f}%"
    return f"{pct:.{digits}f}%"
