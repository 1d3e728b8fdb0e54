"""The one rule that makes a segment name unique: ``Name``, else ``Name 2``, ``Name 3``, ...

Generated names, rule segments a person adds, rule segments carried over a refit and split
halves all go through :func:`unique_name`, so a person sees the same suffix wherever a name was
taken, and a pipeline reading ``segment`` never meets two spellings of the same idea.
"""

from __future__ import annotations

from collections.abc import Collection

NOISE_NAME = "Noise (unassigned)"
"""The name of the users a density clustering leaves unassigned."""


def unique_name(name: str, taken: Collection[str]) -> str:
    """``name`` if it is free, else ``name 2``, ``name 3``... the first one not in ``taken``.

    >>> unique_name("Browsers", {"Browsers", "Browsers 2"})
    'Browsers 3'
    """
    if name not in taken:
        return name
    i = 2
    while f"{name} {i}" in taken:
        i += 1
    return f"{name} {i}"
