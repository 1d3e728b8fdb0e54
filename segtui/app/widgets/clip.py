"""Text cut to a width at a boundary a person reads: whole items, else whole words, then "…".

Columns and legends at 80 columns cannot show everything; what they show must still read as
words ("51% deep scrolls vs…", never "51% deep scro").
"""

from __future__ import annotations

from rich.cells import cell_len

ELLIPSIS = "…"


def clip(text: str, width: int, sep: str = "; ") -> str:
    """``text`` in at most ``width`` cells: as many whole ``sep``-separated items as fit, else
    the first item cut after its last whole word with "…" (a single word too long is cut)."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    items = text.split(sep) if sep else [text]
    kept = ""
    for item in items:
        joined = f"{kept}{sep}{item}" if kept else item
        # the ellipsis says more items follow
        if cell_len(joined) + len(ELLIPSIS) + (len(sep.rstrip()) if sep else 0) > width:
            break
        kept = joined
    if kept:
        return f"{kept}{sep.rstrip()}{ELLIPSIS}"
    words = items[0].split(" ")
    shown = ""
    for word in words:
        joined = f"{shown} {word}" if shown else word
        if cell_len(joined) + len(ELLIPSIS) > width:
            break
        shown = joined
    if not shown:
        shown = _cut_cells(words[0], width - len(ELLIPSIS))
    return shown.rstrip(" ,;:") + ELLIPSIS


def _cut_cells(text: str, width: int) -> str:
    """The longest prefix of ``text`` that fits in ``width`` cells."""
    out = ""
    for char in text:
        if cell_len(out + char) > width:
            break
        out += char
    return out
