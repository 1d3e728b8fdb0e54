"""Segment names: the one unique-name rule, and names built from a segment's true contrasts.

:func:`unique_name` makes a name unique: ``Name``, else ``Name 2``, ``Name 3``, ... Generated
names, rule segments a person adds, rule segments carried over a refit and split halves all go
through it, so a person sees the same suffix wherever a name was taken, and a pipeline reading
``segment`` never meets two spellings of the same idea.

:func:`name_segments` turns a segment's contrasts with everyone into a name made of **claims**:
(feature, direction, segment mean, overall mean), each one true of the profile it came from.

* A contrast is a feature whose segment mean differs from everyone's both in standard deviations
  (``NAME_MIN_EFFECT``) and in absolute terms (a ratio, or points for shares: see
  :func:`segtui.segments.wording.is_material`). A tenure of 475 days against 502 is no contrast,
  however small the spread, so it never makes "New users".
* Features that say the same thing count once: one *concept* per idea (purchases, orders and
  ``event_purchase_count`` are "buys"; the count, share and rate of one event are that event), and
  the profile can join features that move together in the data (see ``SegmentProfile.concepts``).
* A persona ("Cart abandoners", "Loyal repeat buyers of premium products") is taken only when it
  speaks of the segment's strongest contrast (its family, or a claim nearly as strong): no
  "Night owls" whose top trait is cart abandonment. Otherwise the name is composed from the
  strongest contrasts, worded from the feature's name for generated features ("Video watchers",
  "Heavy on level up") so logs of any kind get names, not only shops.
* Interest is said when a category share stands out: "Browsers interested in electronics",
  "Loyal repeat buyers of premium electronics".

A segment with no contrast is "Typical users" ("Everyone" when it holds every user).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from segtui.segments.edits import AddRule, Edit, Merge, RemoveRule, Rename, Split
from segtui.segments.wording import (
    MIN_COVERAGE,
    NAME_MIN_EFFECT,
    TRAIT_MIN_EFFECT,
    comparative,
    display_name,
    feature_label,
    generated,
    is_material,
)

if TYPE_CHECKING:
    from segtui.segments.profiles import SegmentProfile

NOISE_NAME = "Noise (unassigned)"
"""The name of the users a density clustering leaves unassigned."""
TYPICAL_NAME = "Typical users"
"""A segment with no contrast: it looks like everyone (a pattern name would be made up)."""
EVERYONE_NAME = "Everyone"
"""A segment holding every user: there is no one else to differ from."""
STRONG_ENOUGH = 0.8
"""A persona that does not speak of the strongest contrast's family is still taken when one of
its claims is at least this share of the strongest contrast (the two are about equally true)."""

Direction = Literal["higher", "lower"]


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


# --------------------------------------------------------------------------------------------
# Claims


@dataclass(frozen=True)
class Claim:
    """One thing a name says: ``feature`` is ``direction`` in the segment (mean ``value``) than
    among everyone (``overall``). Recorded in the model; a test checks each against the profile."""

    feature: str
    direction: Direction
    value: float
    overall: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "direction": self.direction,
            "value": self.value,
            "overall": self.overall,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Claim:
        """Read a saved claim; anything else raises ValueError (the model names the key)."""
        feature, direction = data.get("feature"), data.get("direction")
        value, overall = data.get("value"), data.get("overall")
        if not isinstance(feature, str) or direction not in ("higher", "lower"):
            raise ValueError("a claim needs a feature and a direction (higher or lower)")
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in (value, overall)
        ):
            raise ValueError("a claim's value and overall must be numbers")
        return cls(feature, direction, float(value), float(overall))  # type: ignore[arg-type]


def claim_holds(claim: Claim, profile: SegmentProfile) -> bool:
    """Whether ``claim`` is true of ``profile``: the recorded numbers are the profile's and the
    direction is that of the segment mean against everyone's."""
    mean, overall = profile.mean.get(claim.feature), profile.overall_mean.get(claim.feature)
    if mean is None or overall is None:
        return False
    same = _close(mean, claim.value) and _close(overall, claim.overall)
    sign = mean > overall if claim.direction == "higher" else mean < overall
    return same and sign


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


@dataclass(frozen=True)
class SegmentName:
    """A name and the claims it is built from (none for noise, typical users, a person's name)."""

    text: str
    claims: tuple[Claim, ...] = ()


# --------------------------------------------------------------------------------------------
# Concepts: what a feature is about


CONCEPTS: Mapping[str, tuple[str, ...]] = {
    "buys": ("orders", "purchases", "n_orders", "order_count", "purchase_count", "frequency"),
    "carts": ("add_to_cart", "cart_adds", "n_add_to_cart"),
    "views": ("product_views", "page_views", "views", "pageviews"),
    "activity": ("events", "sessions", "event_count", "active_days", "n_events"),
    "spend": ("revenue", "monetary", "total_revenue", "spend", "total_spend", "ltv"),
    "aov": ("avg_order_value", "aov", "average_order_value", "avg_basket_value"),
    "price": ("avg_purchase_price", "avg_price", "avg_item_price"),
    "items": ("items_purchased", "items_bought", "quantity"),
    "recency": ("recency_days", "recency", "days_since_last_purchase"),
    "last_seen": ("days_since_last_event", "days_since_last", "recency_days", "recency"),
    "tenure": ("tenure_days", "days_since_first", "tenure"),
    "abandon": ("cart_abandonment", "cart_abandonment_rate", "abandonment_rate"),
    "searches": ("searches", "search_share", "search_count", "n_searches"),
    "refunds": ("refunds", "refund_rate", "refund_share"),
    "discount": ("discount_share", "discount_rate", "coupon_share"),
    "winter": ("winter_share", "winter_purchase_share"),
    "summer": ("summer_share",),
    "weekend": ("weekend_share",),
    "night": ("night_share",),
    "forms": ("form_submits",),
}
"""Well-known ideas and the feature names they go by (the strongest one present counts)."""

EVENT_CONCEPTS: Mapping[str, str] = {
    "purchase": "buys",
    "order_completed": "buys",
    "in_app_purchase": "buys",
    "checkout_completed": "buys",
    "add_to_cart": "carts",
    "product_added": "carts",
    "page_view": "views",
    "product_view": "views",
    "view_item": "views",
    "product_viewed": "views",
    "page_viewed": "views",
    "search": "searches",
    "products_searched": "searches",
    "refund": "refunds",
    "order_refunded": "refunds",
    "form_submit": "forms",
}
"""Generated event features (``event_<id>_*``) that are the same idea as a built-in one."""

FAMILIES: Mapping[str, str] = {
    "buys": "value",
    "spend": "value",
    "aov": "value",
    "price": "value",
    "items": "value",
    "recency": "value",
    "discount": "value",
    "refunds": "value",
    "carts": "funnel",
    "abandon": "funnel",
    "views": "browse",
    "searches": "browse",
    "activity": "activity",
    "last_seen": "activity",
    "tenure": "activity",
}
"""Concepts close enough that a persona speaking of one speaks of the segment's others."""


def concept_of(feature: str) -> str:
    """The idea a feature is about: a CONCEPTS key, ``event:<id>``, ``category:<id>``, or itself."""
    for concept, features in CONCEPTS.items():
        if feature in features:
            return concept
    gen = generated(feature)
    if gen is None:
        return feature
    if gen.kind == "category":
        return f"category:{gen.ident}"
    known = EVENT_CONCEPTS.get(gen.ident)
    if known is None and "purchase" in gen.ident.split("_"):
        known = "buys"
    return known or f"event:{gen.ident}"


def _family(concept: str) -> str:
    return FAMILIES.get(concept, concept)


VOLUME = frozenset({"buys", "spend", "items"})
"""How much a user bought, in orders, money or items: the concepts that can say the same thing
in one log (a shop of one price), which the data then decides (see ``concept_groups``)."""


LAST_TIME = frozenset({"recency", "last_seen"})
"""Days since the last purchase and since the last visit: one thing where every event is one."""


def may_say_the_same(a: str, b: str) -> bool:
    """Whether features ``a`` and ``b`` may be one claim when they move together in the data."""
    ca, cb = concept_of(a), concept_of(b)
    return ca == cb or any(ca in kin and cb in kin for kin in (VOLUME, LAST_TIME))


def _concept_features(profile: SegmentProfile, concept: str) -> list[str]:
    """Features of ``concept`` in the profile: its named ones, then generated ones."""
    named = [f for f in CONCEPTS.get(concept, ()) if f in profile.mean]
    extra = [f for f in profile.mean if f not in named and concept_of(f) == concept]
    return named + extra


def _group(profile: SegmentProfile, feature: str) -> str:
    """The group a feature counts in once: the profile's (data-aware) concept, else its own."""
    return profile.concepts.get(feature) or concept_of(feature)


# --------------------------------------------------------------------------------------------
# Contrasts


@dataclass(frozen=True)
class _Contrast:
    claim: Claim
    strength: float
    """|effect|: how the contrasts of one segment rank."""

    @property
    def feature(self) -> str:
        return self.claim.feature


def contrast(
    profile: SegmentProfile, feature: str, level: Literal["trait", "name"] = "name"
) -> _Contrast | None:
    """The contrast a feature makes for a segment (None: none worth a name, or a trait)."""
    if profile.coverage.get(feature, 1.0) < MIN_COVERAGE:
        return None
    effect, mean = profile.effect.get(feature), profile.mean.get(feature)
    overall, lift = profile.overall_mean.get(feature), profile.lift.get(feature)
    if effect is None or mean is None or overall is None or mean == overall:
        return None
    if level == "name":
        strong = abs(effect) >= NAME_MIN_EFFECT or (
            abs(effect) >= TRAIT_MIN_EFFECT and lift is not None and (lift >= 2 or lift <= 0.5)
        )
    else:
        strong = abs(effect) >= TRAIT_MIN_EFFECT
    if not strong or not is_material(mean, overall, lift, effect, feature_label(feature), level):
        return None
    direction: Direction = "higher" if mean > overall else "lower"
    return _Contrast(Claim(feature, direction, mean, overall), abs(effect))


def contrasts(profile: SegmentProfile) -> list[_Contrast]:
    """The segment's contrasts, strongest first, one per group (the strongest feature of it)."""
    found = [c for f in profile.mean if (c := contrast(profile, f)) is not None]
    found.sort(key=lambda c: (-c.strength, c.feature))
    seen: set[str] = set()
    out = []
    for item in found:
        group = _group(profile, item.feature)
        if group not in seen:
            seen.add(group)
            out.append(item)
    return out


# --------------------------------------------------------------------------------------------
# Personas

Test = Literal["high", "low", "none", "notlow", "some", "one"]


@dataclass(frozen=True)
class NamePattern:
    """A name and the conditions a segment must meet for it: (concept, test) pairs."""

    name: str
    conditions: tuple[tuple[str, Test], ...]


PREMIUM = "Loyal repeat buyers of premium products"

NAME_PATTERNS: tuple[NamePattern, ...] = (
    NamePattern(PREMIUM, (("buys", "high"), ("aov", "high"), ("recency", "low"))),
    NamePattern(PREMIUM, (("buys", "high"), ("price", "high"), ("recency", "low"))),
    NamePattern("Loyal buyers", (("buys", "high"), ("recency", "low"))),
    NamePattern("Big spenders", (("spend", "high"), ("aov", "high"))),
    NamePattern("Big spenders", (("spend", "high"),)),
    NamePattern("Premium buyers", (("aov", "high"), ("buys", "some"))),
    NamePattern("Premium buyers", (("price", "high"), ("buys", "some"))),
    NamePattern("Bargain hunters", (("price", "low"), ("items", "high"))),
    NamePattern("Bargain hunters", (("price", "low"), ("buys", "high"))),
    NamePattern("Bargain hunters", (("aov", "low"), ("buys", "high"))),
    NamePattern("Bargain hunters", (("discount", "high"),)),
    NamePattern("Cart abandoners", (("carts", "high"), ("buys", "none"))),
    NamePattern("Cart abandoners", (("carts", "high"), ("buys", "low"))),
    NamePattern("Cart abandoners", (("abandon", "high"), ("carts", "notlow"))),
    NamePattern("Browsers", (("views", "high"), ("buys", "none"))),
    NamePattern("Browsers", (("views", "high"), ("buys", "low"))),
    NamePattern("Browsers", (("views", "high"), ("carts", "low"))),
    NamePattern("Non-buyers", (("buys", "none"),)),
    NamePattern("One-time buyers", (("buys", "one"), ("last_seen", "high"))),
    NamePattern("One-time buyers", (("buys", "one"),)),
    NamePattern("Frequent buyers", (("buys", "high"),)),
    NamePattern("Lapsed buyers", (("recency", "high"), ("buys", "some"))),
    NamePattern("Lapsed users", (("last_seen", "high"),)),
    NamePattern("Recently active users", (("last_seen", "low"),)),
    NamePattern("New users", (("tenure", "low"),)),
    NamePattern("Long-time users", (("tenure", "high"),)),
    NamePattern("Serial returners", (("refunds", "high"),)),
    NamePattern("Searchers", (("searches", "high"),)),
    NamePattern("Form submitters", (("forms", "high"),)),
    NamePattern("Winter shoppers", (("winter", "high"),)),
    NamePattern("Summer shoppers", (("summer", "high"),)),
    NamePattern("Weekend shoppers", (("weekend", "high"),)),
    NamePattern("Night owls", (("night", "high"),)),
    NamePattern("Power users", (("activity", "high"),)),
    NamePattern("Casual visitors", (("activity", "low"), ("buys", "none"))),
    NamePattern("Casual visitors", (("activity", "low"),)),
)
"""Checked against every segment; the admissible match with the largest summed strength names
it. Every pattern needs a contrast with everyone ("one" is gated, see :func:`_one_time`), so a
segment that looks like everyone never gets a behavioral name."""

EVENT_PERSONAS: tuple[tuple[str, str], ...] = (
    # what the user does: checked first, so "Article Shared" reads "Sharers", not "Readers"
    ("watch", "Watchers"),
    ("stream", "Streamers"),
    ("listen", "Listeners"),
    ("read", "Readers"),
    ("share", "Sharers"),
    ("comment", "Commenters"),
    ("like", "Likers"),
    ("review", "Reviewers"),
    ("download", "Downloaders"),
    ("upload", "Uploaders"),
    ("subscribe", "Subscribers"),
    ("signup", "Sign-ups"),
    ("invite", "Inviters"),
    ("message", "Chatters"),
    ("chat", "Chatters"),
    ("export", "Exporters"),
    ("deposit", "Depositors"),
    ("transfer", "Transferers"),
    ("withdrawal", "Withdrawers"),
    ("bookmark", "Bookmarkers"),
    ("click", "Clickers"),
    # what they do it to, when no action word is known ("Video Played": "Video watchers")
    ("video", "Video watchers"),
    ("article", "Readers"),
    ("api", "API users"),
    ("report", "Report users"),
    ("achievement", "Achievers"),
)
"""Persona nouns for a generated event feature whose identifier holds one of these words, in
any common inflection ("shared", "comments", "downloading"): ``event_video_played_share`` high
reads "Video watchers". Actions come before objects; any other event reads "Heavy on <event>"."""


def _inflections(token: str) -> set[str]:
    """A word of an event name and the stems it may stand for ("shared" -> "share", "shar";
    "sharing" -> "share"; "chatting" -> "chat")."""
    out = {token}
    for suffix in ("ing", "ed", "es", "s", "d"):
        if token.endswith(suffix) and len(token) > len(suffix) + 2:
            stem = token[: -len(suffix)]
            out.add(stem)
            if suffix in ("ing", "ed"):
                out.add(stem + "e")  # sharing, liked
                if len(stem) > 2 and stem[-1] == stem[-2]:
                    out.add(stem[:-1])  # chatting, chatted
    return out


def _condition(profile: SegmentProfile, feature: str, test: Test) -> _Contrast | bool | None:
    """Whether ``test`` holds for ``feature``: its contrast (a claim), True (holds, claims
    nothing) or None (does not hold)."""
    found = contrast(profile, feature)
    if test == "high":
        return found if found is not None and found.claim.direction == "higher" else None
    if test == "low":
        return found if found is not None and found.claim.direction == "lower" else None
    mean, overall = profile.mean.get(feature), profile.overall_mean.get(feature)
    effect = profile.effect.get(feature)
    if test == "none":
        if mean is None or overall is None or overall <= 0 or effect is None:
            return None
        if mean > 0.05 * overall or effect > -TRAIT_MIN_EFFECT:
            return None
        return _Contrast(Claim(feature, "lower", mean, overall), -effect)
    if profile.coverage.get(feature, 1.0) < MIN_COVERAGE:
        return None
    if test == "notlow":
        return True if effect is not None and effect > -TRAIT_MIN_EFFECT else None
    if test == "some":  # the typical user of the segment did it
        median = profile.median.get(feature)
        return True if median is not None and median > 0 else None
    if test == "one":
        return _one_time(profile, feature)
    return None


def _one_time(profile: SegmentProfile, feature: str) -> _Contrast | None:
    """A segment whose typical user bought once and who buy clearly fewer (or, among mostly
    non-buyers, more) times than everyone: a median of one is everyone's on many shops."""
    median, mean = profile.median.get(feature), profile.mean.get(feature)
    if median != 1 or mean is None or mean > 1.5:
        return None
    if profile.share > 0.5 and profile.overall_median.get(feature) != 1:
        return None  # most users: their median is everyone's, not a trait of theirs
    effect, overall = profile.effect.get(feature), profile.overall_mean.get(feature)
    if effect is None or overall is None or abs(effect) < TRAIT_MIN_EFFECT:
        return None
    if not is_material(
        mean, overall, profile.lift.get(feature), effect, feature_label(feature), "name"
    ):
        return None
    direction: Direction = "higher" if mean > overall else "lower"
    return _Contrast(Claim(feature, direction, mean, overall), max(0.5, abs(effect)))


@dataclass(frozen=True)
class _Match:
    name: str
    claims: tuple[_Contrast, ...]

    @property
    def score(self) -> float:
        return sum(c.strength for c in self.claims)


def _match(profile: SegmentProfile, pattern: NamePattern) -> _Match | None:
    """Each condition holds for some feature of its concept (the strongest one counts)."""
    claims: list[_Contrast] = []
    for concept, test in pattern.conditions:
        held = [
            r
            for f in _concept_features(profile, concept)
            if (r := _condition(profile, f, test)) is not None
        ]
        if not held:
            return None
        found = [r for r in held if isinstance(r, _Contrast)]
        if found:
            claims.append(max(found, key=lambda c: c.strength))
    return _Match(pattern.name, tuple(_unique_groups(profile, claims)))


def _unique_groups(profile: SegmentProfile, items: Iterable[_Contrast]) -> list[_Contrast]:
    """One claim per group (the strongest): a name never says one thing twice."""
    best: dict[str, _Contrast] = {}
    for item in items:
        group = _group(profile, item.feature)
        if group not in best or item.strength > best[group].strength:
            best[group] = item
    return list(best.values())


def _admissible(profile: SegmentProfile, match: _Match, top: _Contrast) -> bool:
    """A persona speaks of the strongest contrast: its family, or a claim nearly as strong."""
    top_family = _family(concept_of(top.feature))
    if any(_family(concept_of(c.feature)) == top_family for c in match.claims):
        return True
    return any(c.strength >= STRONG_ENOUGH * top.strength for c in match.claims)


def _persona(profile: SegmentProfile, top: _Contrast) -> _Match | None:
    best: _Match | None = None
    for pattern in NAME_PATTERNS:
        found = _match(profile, pattern)
        if found is None or not found.claims or not _admissible(profile, found, top):
            continue
        if best is None or found.score > best.score + 1e-12:
            best = found
    return best


def _interest(profile: SegmentProfile, found: Sequence[_Contrast]) -> _Contrast | None:
    """The category share (or time) that stands out most, when one does."""
    for item in found:
        gen = generated(item.feature)
        if (
            gen is not None
            and gen.kind == "category"
            and gen.ident != "other"
            and item.claim.direction == "higher"
        ):
            return item
    return None


def _phrase(item: _Contrast, *, first: bool) -> str:
    """How one contrast reads in a composed name ("Video watchers", "heavy on level up",
    "high x_score")."""
    claim = item.claim
    gen = generated(claim.feature)
    higher = claim.direction == "higher"
    if gen is not None and gen.kind == "event":
        if higher and first:
            tokens = {stem for token in gen.ident.split("_") for stem in _inflections(token)}
            for word, noun in EVENT_PERSONAS:
                if word in tokens or gen.ident.startswith(word):
                    return noun
        return f"{'heavy' if higher else 'light'} on {gen.words}"
    return f"{'high' if higher else 'low'} {display_name(claim.feature)}"


def _shop(profile: SegmentProfile) -> bool:
    """Whether the log is a shop's (purchases or cart adds among the features): time personas
    are "Winter shoppers" there and "Winter users" on a content site or in a game."""
    return any(concept_of(f) in ("buys", "carts", "spend") for f in profile.mean)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _with_interest(text: str, interest: _Contrast | None) -> str:
    if interest is None:
        return text
    gen = generated(interest.feature)
    words = gen.words if gen is not None else display_name(interest.feature)
    if text.endswith(" products"):
        return f"{text[: -len('products')]}{words}"
    return f"{text} interested in {words}"


def base_name(profile: SegmentProfile) -> SegmentName:
    """The name a segment gets on its own (no uniqueness yet), with its claims."""
    if profile.is_noise:
        return SegmentName(NOISE_NAME)
    found = contrasts(profile)
    if not found:
        return SegmentName(EVERYONE_NAME if profile.share >= 1.0 else TYPICAL_NAME)
    interest = _interest(profile, found)
    behavior = [c for c in found if c is not interest]
    if not behavior:  # the interest is all that stands out
        return SegmentName(_with_interest("Users", interest), (interest.claim,))  # type: ignore[union-attr]
    persona = _persona(profile, behavior[0])
    if persona is not None:
        claims = [c.claim for c in persona.claims]
        text = persona.name
        if text.endswith(" shoppers") and not _shop(profile):
            text = text.replace(" shoppers", " users")
    else:
        parts = [behavior[0]]
        first = _phrase(behavior[0], first=True)
        if len(behavior) > 1 and first[:1].islower():  # a persona noun says enough alone
            parts.append(behavior[1])
        text = _capital(", ".join(_phrase(p, first=i == 0) for i, p in enumerate(parts)))
        claims = [p.claim for p in parts]
    if interest is not None and all(c.feature != interest.feature for c in claims):
        claims.append(interest.claim)
        text = _with_interest(text, interest)
    return SegmentName(text, tuple(claims))


# --------------------------------------------------------------------------------------------
# Unique names over a segmentation


def name_segments(
    profiles: Sequence[SegmentProfile],
    fixed: Mapping[int, str] | None = None,
    siblings: Collection[int] = (),
    stem: str | None = None,
) -> dict[int, SegmentName]:
    """A readable, unique name with its claims per segment id.

    ``fixed`` names are kept as they are (their claims are those of the segment's own name when
    the fixed name is that name, see :func:`_claims_of_fixed`); the others are generated, larger
    segments first. A generated name already taken gets what most sets the segment apart from
    the segment holding it, in parentheses ("Cart abandoners (more page views)"), else a number.
    ``siblings`` (the parts of a split) all get what tells them apart from each other when their
    names would be the same ("Browsers (more sessions)", "Browsers (fewer sessions)"); with
    ``stem`` (a person's name for the split segment) they are all that name, told apart the same
    way ("VIP (more sessions)").
    """
    fixed = dict(fixed or {})
    by_id = {p.segment_id: p for p in profiles}
    bases = {p.segment_id: base_name(p) for p in profiles}
    if stem is not None:
        bases.update({sid: SegmentName(stem) for sid in siblings if sid in bases})
    names: dict[int, SegmentName] = {}
    taken: set[str] = set()
    holders: dict[str, SegmentProfile] = {}
    for sid, text in fixed.items():
        if sid in by_id:
            names[sid] = SegmentName(text, _claims_of_fixed(text, bases[sid]))
            taken.add(text)
            holders.setdefault(_stem(text, bases[sid]), by_id[sid])
    order = sorted(
        (p for p in profiles if p.segment_id not in fixed),
        key=lambda p: (p.is_noise, -p.size, p.segment_id),
    )
    twins = _twins(order, bases, set(siblings))
    for profile in order:
        base = bases[profile.segment_id]
        twin = twins.get(profile.segment_id)
        other = twin or (holders.get(base.text) if base.claims else None)
        named = None
        if other is not None:
            named = _qualified(profile, base, other, taken, relative=twin is not None)
        if named is None:
            named = SegmentName(unique_name(base.text, taken), base.claims)
        taken.add(named.text)
        holders.setdefault(base.text, profile)
        names[profile.segment_id] = named
    return names


def generate_names(
    profiles: Sequence[SegmentProfile], fixed: Mapping[int, str] | None = None
) -> dict[int, str]:
    """:func:`name_segments` as plain names."""
    return {sid: n.text for sid, n in name_segments(profiles, fixed).items()}


def _twins(
    order: Sequence[SegmentProfile], bases: Mapping[int, SegmentName], siblings: set[int]
) -> dict[int, SegmentProfile]:
    """Each split part whose base name another part shares, and the largest such other part."""
    out: dict[int, SegmentProfile] = {}
    parts = [p for p in order if p.segment_id in siblings and not p.is_noise]
    for part in parts:
        same = [
            p
            for p in parts
            if p is not part and bases[p.segment_id].text == bases[part.segment_id].text
        ]
        if same:
            out[part.segment_id] = same[0]
    return out


def _stem(text: str, base: SegmentName) -> str:
    return base.text if _claims_of_fixed(text, base) else text


def _claims_of_fixed(text: str, base: SegmentName) -> tuple[Claim, ...]:
    """A kept name's claims: its own generated name's, when the kept name is that name (alone,
    numbered, or qualified); none for a person's name or "Segment 3"."""
    if not base.claims:
        return ()
    pattern = rf"{re.escape(base.text)}( \d+| \(.+\))?"
    return base.claims if re.fullmatch(pattern, text) else ()


def _qualified(
    profile: SegmentProfile,
    base: SegmentName,
    other: SegmentProfile,
    taken: set[str],
    *,
    relative: bool,
) -> SegmentName | None:
    """``base (more page views)``: what most sets ``profile`` apart from ``other``; only a
    true contrast with everyone unless ``relative`` (split parts, told apart from each other)."""
    used = set() if relative else {c.feature for c in base.claims}
    found = differentiator(profile, other, used)
    if found is None or (found.claim is None and not relative):
        return None
    label = feature_label(found.feature)
    text = f"{base.text} ({comparative(label, higher=found.direction == 'higher')} {label.noun})"
    if text in taken:
        return None
    said = {c.feature for c in base.claims}
    claims = (
        base.claims if found.claim is None or found.feature in said else (*base.claims, found.claim)
    )
    return SegmentName(text, claims)


@dataclass(frozen=True)
class Apart:
    """How a segment differs from another one: ``feature`` is ``direction`` than theirs, and
    ``claim`` when it also differs from everyone that way (else the qualifier claims nothing:
    the lower-viewing half of the browsers still views more than everyone)."""

    feature: str
    direction: Direction
    claim: Claim | None


def differentiator(
    profile: SegmentProfile, other: SegmentProfile, skip: Collection[str] = ()
) -> Apart | None:
    """The feature most unlike ``other`` (>= 0.25 sd apart): first among those on which
    ``profile`` also differs from everyone the same way (a true claim), else among all."""
    agreeing: tuple[float, Apart] | None = None
    relative: tuple[float, Apart] | None = None
    skip_groups = {_group(profile, f) for f in skip}
    for feature, effect in profile.effect.items():
        theirs = other.effect.get(feature)
        if feature in skip or effect is None or theirs is None:
            continue
        if _group(profile, feature) in skip_groups:
            continue
        if profile.coverage.get(feature, 1.0) < MIN_COVERAGE:
            continue
        gap = effect - theirs
        if abs(gap) < TRAIT_MIN_EFFECT:
            continue
        direction: Direction = "higher" if gap > 0 else "lower"
        own = contrast(profile, feature, "trait")
        if own is not None and own.claim.direction == direction:
            if agreeing is None or abs(gap) > agreeing[0]:
                agreeing = (abs(gap), Apart(feature, direction, own.claim))
        elif relative is None or abs(gap) > relative[0]:
            relative = (abs(gap), Apart(feature, direction, None))
    best = agreeing or relative
    return None if best is None else best[1]


# --------------------------------------------------------------------------------------------
# Whose name is it


def person_named(edits: Sequence[Edit]) -> frozenset[int]:
    """Segment ids whose current name a person gave: renamed, a rule segment a person named,
    or merged into one of those. Names segtui generated (clusters, merges, split parts) are
    not, so a merge or split may rename them from the new profile."""
    ids: set[int] = set()
    for edit in edits:
        if isinstance(edit, Rename | AddRule):
            ids.add(edit.segment_id)
        elif isinstance(edit, Merge):
            ids.difference_update(i for i in edit.segment_ids if i != edit.target_id)
        elif isinstance(edit, Split | RemoveRule):
            ids.discard(edit.segment_id)
    return frozenset(ids)
