"""The one rule that turns data text (event names, categories) into feature-name identifiers.

Generated features are named after values found in the data (``event_<id>_count``,
``category_<id>_share``); the ``<id>`` part comes from :func:`identifier`, and a set of texts gets
its ids from :func:`assign_identifiers`. The rule, which is a contract for the names written:

1. **ASCII-fold**: Unicode NFKD, combining marks dropped, anything still not ASCII dropped
   (``Café`` -> ``cafe``; ``日本`` has nothing left).
2. **Lower-case**, then every run of characters outside ``[a-z0-9]`` becomes one ``_``
   (``Order Completed`` -> ``order_completed``, ``electronics.smartphone`` ->
   ``electronics_smartphone``, ``[bold]x`` -> ``bold_x``: no dots, spaces, case or markup survive),
   and leading/trailing ``_`` are trimmed.
3. **Bounded**: an id longer than ``MAX_ID_LENGTH`` (32) characters keeps its first 25, trimmed of
   a trailing ``_``, plus ``_`` and the first 6 hex digits of the SHA-1 of the raw UTF-8 text, so
   two long texts with the same beginning stay apart. A text with nothing usable left (empty,
   only punctuation, only non-Latin script) becomes ``x_`` + 8 hex digits of that hash.
4. **Never a keyword, never a leading digit**: an id that is a rule-language keyword
   (``and``, ``or``, ``not``, ``is``, ``null``; :data:`segtui.segments.rules.KEYWORDS`) or starts
   with a digit gets the prefix ``x_`` (``404`` -> ``x_404``, ``Not`` -> ``x_not``).

The result matches ``[a-z][a-z0-9_]*``: a valid name in segtui's rule language and an unquoted SQL
column name; the full feature names add a prefix (``event_``, ``category_``), so they are never an
SQL reserved word either.

**Collisions** (two texts, one id: ``Video Played`` and ``video_played``) are resolved the same
way every time, whatever the row order: the texts are taken in sorted order of their raw text
(Python string order, by code point), the first keeps the id and the next get ``_2``, ``_3``, ...
(the first free one). Ids whose feature names are already taken (``reserved``: the built-in
catalog's names and a person's own features) are never used: built-in names win over generated
ones, and the generated one moves on to the next suffix.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping

MAX_ID_LENGTH = 32
_HASH_KEEP = 6
_EMPTY_HASH = 8
PREFIX = "x_"
# The rule language's keywords (segtui.segments.rules.KEYWORDS; copied to keep features free of
# the segments package; a test checks they agree).
RULE_KEYWORDS: frozenset[str] = frozenset({"and", "or", "not", "is", "null"})
_RUN = re.compile(r"[^a-z0-9]+")


def _digest(text: str, length: int) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


def identifier(text: str) -> str:
    """The identifier for one text, by the rule in the module docstring (without collisions)."""
    folded = unicodedata.normalize("NFKD", str(text))
    ascii_text = "".join(c for c in folded if not unicodedata.combining(c))
    ascii_text = ascii_text.encode("ascii", "ignore").decode("ascii")
    ident = _RUN.sub("_", ascii_text.lower()).strip("_")
    if not ident:
        return PREFIX + _digest(str(text), _EMPTY_HASH)
    if len(ident) > MAX_ID_LENGTH:
        keep = MAX_ID_LENGTH - _HASH_KEEP - 1
        ident = ident[:keep].rstrip("_") + "_" + _digest(str(text), _HASH_KEEP)
    if ident in RULE_KEYWORDS or ident[0].isdigit():
        ident = PREFIX + ident
    return ident


def assign_identifiers(
    texts: Iterable[str],
    reserved: Iterable[str] = (),
    names_for: Callable[[str], Iterable[str]] = lambda ident: (ident,),
) -> Mapping[str, str]:
    """Raw text -> identifier for a set of texts, collisions resolved by the documented rule.

    ``names_for(id)`` are the feature names an id would produce (``event_<id>_count``, ...); an id
    is taken when any of them is in ``reserved`` or was produced by an earlier text. The answer
    depends only on the set of texts and ``reserved``, never on the order they come in.
    """
    taken = set(reserved)
    out: dict[str, str] = {}
    for text in sorted(set(texts)):
        base = identifier(text)
        candidate, n = base, 1
        while any(name in taken for name in names_for(candidate)):
            n += 1
            candidate = f"{base}_{n}"
        out[text] = candidate
        taken.update(names_for(candidate))
    return out
