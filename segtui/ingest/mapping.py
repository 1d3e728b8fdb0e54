"""Map a file's columns to segtui's canonical event columns, and say how each was decided.

A mapping is plain data (:class:`ColumnMapping`): canonical column -> source column, how each
pair was decided, the layout (preset) it came from, that layout's event-name alias table, and
parsing options (day first, epoch unit). It is detected from known presets and column-name aliases,
shown to the person, corrected with ``--map canonical=source`` and saved/reused as TOML or JSON.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from segtui.errors import InputError, closest
from segtui.fileio import toml_text, write_text_atomic

MAPPING_VERSION = 1
MAPPING_HEADER = "segtui mapping: canonical column = source column. Edit and reuse with --mapping."

CANONICAL_COLUMNS = (
    "user_id",
    "ts",
    "event",
    "session_id",
    "order_id",
    "category",
    "item_id",
    "page",
    "price",
    "quantity",
    "revenue",
    "duration_s",
    "scroll_depth",
)
CANONICAL_EVENT_NAMES = (
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout",
    "purchase",
    "refund",
    "form_submit",
)

# How a pair was decided (the third column of the mapping table).
HOW_PRESET = "preset"
HOW_ALIAS = "alias"
HOW_OVERRIDE = "--map"
HOW_FILE = "mapping file"
HOW_GIVEN = "given"


def normalise_name(name: str) -> str:
    """Compare column and event names ignoring case, spaces and punctuation."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


# Known names for each canonical column, in order of preference (compared normalised).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "user_id": (
        "user_id",
        "userid",
        "user",
        "uid",
        "customer_id",
        "customer",
        "client_id",
        "visitor_id",
        "anonymous_id",
        "distinct_id",
        "account_id",
        "member_id",
        "person_id",
        "cust_id",
        "buyer_id",
        "shopper_id",
        "user_pseudo_id",
        "customer_number",
        "customer_no",
        "contact_id",
        "profile_id",
        "device_id",
        "client",
    ),
    "ts": (
        "ts",
        "timestamp",
        "event_time",
        "event_timestamp",
        "datetime",
        "date_time",
        "time",
        "event_datetime",
        "occurred_at",
        "created_at",
        "received_at",
        "sent_at",
        "event_date",
        "order_date",
        "transaction_date",
        "purchase_date",
        "invoice_date",
        "date",
        "day",
    ),
    "event": (
        "event",
        "event_type",
        "event_name",
        "action",
        "event_action",
        "activity",
        "type",
        "interaction",
        "behavior",
        "behaviour",
    ),
    "session_id": (
        "session_id",
        "session",
        "user_session",
        "ga_session_id",
        "visit_id",
        "sessionid",
        "session_key",
    ),
    "order_id": (
        "order_id",
        "invoice",
        "invoice_no",
        "invoice_id",
        "invoice_number",
        "transaction_id",
        "order_number",
        "order_no",
        "order",
        "receipt_id",
        "basket_id",
    ),
    "category": (
        "category",
        "category_code",
        "category_name",
        "product_category",
        "item_category",
        "department",
    ),
    "item_id": (
        "item_id",
        "product_id",
        "sku",
        "stock_code",
        "productid",
        "item",
        "product",
        "article_id",
        "item_code",
        "product_code",
    ),
    "page": (
        "page",
        "url",
        "page_url",
        "path",
        "page_path",
        "page_location",
        "screen",
        "page_name",
    ),
    "price": ("price", "unit_price", "item_price", "unitprice", "price_each"),
    "quantity": ("quantity", "qty", "units", "quantity_ordered", "item_quantity", "amount_units"),
    "revenue": (
        "revenue",
        "amount",
        "total",
        "sales",
        "order_total",
        "total_amount",
        "total_price",
        "spend",
        "line_total",
        "value",
        "purchase_revenue",
        "sale_amount",
        "net_amount",
    ),
    "duration_s": (
        "duration_s",
        "duration",
        "time_on_page",
        "dwell_time",
        "duration_sec",
        "seconds",
        "time_spent",
    ),
    "scroll_depth": ("scroll_depth", "scroll", "scroll_pct", "scroll_percent", "scroll_percentage"),
}

# Event names that mean a canonical event in a generic log (exact spellings; names are also
# matched ignoring case and punctuation against these and the canonical names themselves).
GENERIC_EVENT_ALIASES: dict[str, str] = {
    "pageview": "page_view",
    "page": "page_view",
    "Page Viewed": "page_view",
    "Viewed Page": "page_view",
    "screen_view": "page_view",
    "product_viewed": "product_view",
    "view_item": "product_view",
    "item_view": "product_view",
    "Product Viewed": "product_view",
    "detail": "product_view",
    "searched": "search",
    "view_search_results": "search",
    "Products Searched": "search",
    "addtocart": "add_to_cart",
    "cart_add": "add_to_cart",
    "added_to_cart": "add_to_cart",
    "Product Added": "add_to_cart",
    "removefromcart": "remove_from_cart",
    "cart_remove": "remove_from_cart",
    "Product Removed": "remove_from_cart",
    "begin_checkout": "checkout",
    "checkout_started": "checkout",
    "Checkout Started": "checkout",
    "order": "purchase",
    "order_completed": "purchase",
    "Order Completed": "purchase",
    "transaction": "purchase",
    "buy": "purchase",
    "Order Refunded": "refund",
    "order_refunded": "refund",
    "return": "refund",
    "Form Submitted": "form_submit",
    "form_submitted": "form_submit",
    "submit": "form_submit",
    "generate_lead": "form_submit",
}


@dataclass(frozen=True)
class Preset:
    """A known export layout: which raw columns identify it and how they map.

    ``signature`` columns must all be present; at least one of ``signature_any`` too (if given).
    ``evidence`` (if given) are names only this layout writes, compared exactly (case and all; a
    name ending in ``.`` is a prefix): one must be present, so that a plain ``user_id, timestamp,
    event`` log is not taken for the layout because ``user_id`` normalises like ``userId``.
    ``columns`` lists for each canonical column the candidate sources in order: the first present
    is the source, later present ones fill its nulls (``userId`` else ``anonymousId``).
    """

    name: str
    title: str
    signature: tuple[str, ...]
    columns: tuple[tuple[str, tuple[str, ...]], ...]
    event_aliases: tuple[tuple[str, str], ...] = ()
    signature_any: tuple[str, ...] = ()
    event_constant: str | None = None
    invoice_refunds: bool = False
    evidence: tuple[str, ...] = ()

    def matches(self, columns: Iterable[str]) -> bool:
        raw = list(columns)
        have = {normalise_name(c) for c in raw}
        if not all(normalise_name(c) in have for c in self.signature):
            return False
        if self.signature_any and not any(normalise_name(c) in have for c in self.signature_any):
            return False
        return not self.evidence or any(
            c.startswith(e) if e.endswith(".") else c == e for c in raw for e in self.evidence
        )


_INVOICE_NOTE = "every line is a purchase; invoices starting with C are refunds"

PRESETS: tuple[Preset, ...] = (
    Preset(
        name="invoice_lines_ii",
        title="invoice lines (Invoice, Price, Customer ID)",
        signature=("Invoice", "InvoiceDate", "Quantity", "Price", "Customer ID"),
        columns=(
            ("user_id", ("Customer ID",)),
            ("ts", ("InvoiceDate",)),
            ("order_id", ("Invoice",)),
            ("item_id", ("StockCode",)),
            ("quantity", ("Quantity",)),
            ("price", ("Price",)),
        ),
        event_constant="purchase",
        invoice_refunds=True,
    ),
    Preset(
        name="invoice_lines",
        title="invoice lines (InvoiceNo, UnitPrice, CustomerID)",
        signature=("InvoiceNo", "InvoiceDate", "Quantity", "UnitPrice", "CustomerID"),
        columns=(
            ("user_id", ("CustomerID",)),
            ("ts", ("InvoiceDate",)),
            ("order_id", ("InvoiceNo",)),
            ("item_id", ("StockCode",)),
            ("quantity", ("Quantity",)),
            ("price", ("UnitPrice",)),
        ),
        event_constant="purchase",
        invoice_refunds=True,
    ),
    Preset(
        name="clickstream",
        title="multi-category e-commerce clickstream",
        signature=("event_time", "event_type", "user_id", "user_session"),
        columns=(
            ("user_id", ("user_id",)),
            ("ts", ("event_time",)),
            ("event", ("event_type",)),
            ("session_id", ("user_session",)),
            ("item_id", ("product_id",)),
            ("category", ("category_code",)),
            ("price", ("price",)),
        ),
        event_aliases=(
            ("view", "product_view"),
            ("cart", "add_to_cart"),
            ("remove_from_cart", "remove_from_cart"),
            ("purchase", "purchase"),
        ),
    ),
    Preset(
        name="segment",
        title="Segment track calls",
        signature=("event", "timestamp"),
        signature_any=("userId", "anonymousId"),
        evidence=("userId", "anonymousId", "messageId", "properties.", "context."),
        columns=(
            ("user_id", ("userId", "anonymousId")),
            ("ts", ("timestamp", "originalTimestamp")),
            ("event", ("event",)),
            ("session_id", ("properties.session_id", "context.sessionId")),
            ("order_id", ("properties.order_id", "properties.orderId", "properties.checkout_id")),
            ("item_id", ("properties.product_id", "properties.productId", "properties.sku")),
            ("category", ("properties.category",)),
            (
                "page",
                ("properties.url", "properties.path", "context.page.url", "context.page.path"),
            ),
            ("price", ("properties.price",)),
            ("quantity", ("properties.quantity",)),
            ("revenue", ("properties.revenue", "properties.total", "properties.value")),
        ),
        event_aliases=(
            ("Page Viewed", "page_view"),
            ("Product Viewed", "product_view"),
            ("Product List Viewed", "product_view"),
            ("Products Searched", "search"),
            ("Product Added", "add_to_cart"),
            ("Product Removed", "remove_from_cart"),
            ("Checkout Started", "checkout"),
            ("Order Completed", "purchase"),
            ("Order Refunded", "refund"),
            ("Form Submitted", "form_submit"),
        ),
    ),
    Preset(
        name="ga4",
        title="GA4 event export (flattened)",
        signature=("user_pseudo_id", "event_name", "event_timestamp"),
        columns=(
            ("user_id", ("user_pseudo_id",)),
            ("ts", ("event_timestamp",)),
            ("event", ("event_name",)),
            ("session_id", ("ga_session_id", "event_params.ga_session_id")),
            ("order_id", ("transaction_id", "ecommerce.transaction_id")),
            ("item_id", ("item_id", "items.item_id")),
            ("category", ("item_category", "items.item_category")),
            ("page", ("page_location", "event_params.page_location")),
            ("price", ("price", "items.price")),
            ("quantity", ("quantity", "items.quantity")),
            (
                "revenue",
                ("purchase_revenue", "ecommerce.purchase_revenue", "value", "event_value_in_usd"),
            ),
        ),
        event_aliases=(
            ("page_view", "page_view"),
            ("view_item", "product_view"),
            ("view_search_results", "search"),
            ("search", "search"),
            ("add_to_cart", "add_to_cart"),
            ("remove_from_cart", "remove_from_cart"),
            ("begin_checkout", "checkout"),
            ("purchase", "purchase"),
            ("refund", "refund"),
            ("generate_lead", "form_submit"),
            ("form_submit", "form_submit"),
        ),
    ),
)
PRESET_NAMES = (*(p.name for p in PRESETS), "transactions", "generic")


@dataclass
class ColumnMapping:
    """Canonical column -> source column(s), how each was decided, and the layout's options.

    ``fallbacks[c]`` are further source columns whose values fill nulls of ``columns[c]``.
    ``event_aliases`` is the layout's alias table (raw event name -> canonical name); the loader
    applies it except where the data already uses the target name. ``event_constant`` makes every
    row that event (transaction tables); ``invoice_refunds`` turns orders starting with ``C`` into
    refunds with negative revenue. ``day_first``/``epoch_unit`` None mean "decide from the data".
    """

    layout: str = "generic"
    columns: dict[str, str] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    fallbacks: dict[str, list[str]] = field(default_factory=dict)
    event_aliases: dict[str, str] = field(default_factory=dict)
    event_constant: str | None = None
    invoice_refunds: bool = False
    day_first: bool | None = None
    epoch_unit: str | None = None
    decimal: str | None = None
    """The decimal mark of numbers held as text ("." or ","); None means decide from the data."""

    def sources(self, canonical: str) -> list[str]:
        """Every source column feeding ``canonical``, in the order they are tried."""
        if canonical not in self.columns:
            return []
        return [self.columns[canonical], *self.fallbacks.get(canonical, [])]

    def used_columns(self) -> list[str]:
        out: dict[str, None] = {}
        for c in self.columns:
            for s in self.sources(c):
                out.setdefault(s, None)
        return list(out)

    def table(self) -> list[tuple[str, str, str]]:
        """Rows (canonical, source, how) in canonical order, for showing the mapping."""
        rows = []
        for c in CANONICAL_COLUMNS:
            if c in self.columns:
                src = self.columns[c]
                if self.fallbacks.get(c):
                    src += ", else " + ", else ".join(self.fallbacks[c])
                rows.append((c, src, self.how.get(c, "")))
            elif c == "event" and self.invoice_refunds:
                rows.append((c, "(every line)", "purchase; refund where the order starts with C"))
            elif c == "event" and self.event_constant:
                rows.append((c, "(every row)", f"{self.event_constant}: no event column"))
        return rows

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON/TOML; ``how`` is kept so a reloaded mapping still explains itself."""
        out: dict[str, Any] = {"segtui_mapping": MAPPING_VERSION, "layout": self.layout}
        if self.event_constant:
            out["event_constant"] = self.event_constant
        if self.invoice_refunds:
            out["invoice_refunds"] = True
        if self.day_first is not None:
            out["day_first"] = self.day_first
        if self.epoch_unit is not None:
            out["epoch_unit"] = self.epoch_unit
        if self.decimal is not None:
            out["decimal"] = self.decimal
        out["columns"] = dict(self.columns)
        if self.fallbacks:
            out["fallbacks"] = {k: list(v) for k, v in self.fallbacks.items() if v}
        out["event_aliases"] = dict(self.event_aliases)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, file: str | Path | None = None) -> ColumnMapping:
        """Build from :meth:`to_dict` output, checking every key and value is something we know."""
        for key in data:
            if key not in _MAPPING_KEYS:
                raise InputError(
                    f"unknown key {key!r} in the mapping",
                    file=file,
                    hint=_closest_hint(key, _MAPPING_KEYS),
                )
        columns = _columns_from(data.get("columns"), file)
        fallbacks = _fallbacks_from(data.get("fallbacks"), columns, file)
        _check_options(data, file)
        how_given = HOW_FILE if file is not None else HOW_GIVEN
        return cls(
            layout=str(data.get("layout", "generic")),
            columns=columns,
            how={c: how_given for c in columns},
            fallbacks=fallbacks,
            event_aliases=dict(data.get("event_aliases") or {}),
            event_constant=data.get("event_constant"),
            invoice_refunds=bool(data.get("invoice_refunds", False)),
            day_first=data.get("day_first"),
            epoch_unit=data.get("epoch_unit"),
            decimal=data.get("decimal"),
        )


_MAPPING_KEYS = (
    "segtui_mapping",
    "layout",
    "event_constant",
    "invoice_refunds",
    "day_first",
    "epoch_unit",
    "decimal",
    "columns",
    "fallbacks",
    "event_aliases",
    "how",
)


def _columns_from(columns: Any, file: str | Path | None) -> dict[str, str]:
    """The ``[columns]`` table: canonical names to non-empty source names."""
    if not isinstance(columns, Mapping):
        raise InputError(
            "the mapping has no [columns] table of canonical = source names", file=file
        )
    out: dict[str, str] = {}
    for canonical, source in columns.items():
        if canonical not in CANONICAL_COLUMNS:
            raise InputError(
                f"{canonical!r} is not a canonical column",
                file=file,
                column=canonical,
                hint=_closest_hint(canonical, CANONICAL_COLUMNS),
            )
        if not isinstance(source, str) or not source:
            raise InputError(
                "the source column must be a non-empty string", file=file, column=canonical
            )
        out[canonical] = source
    return out


def _fallbacks_from(
    data: Any, columns: Mapping[str, str], file: str | Path | None
) -> dict[str, list[str]]:
    """The ``[fallbacks]`` table: lists of further sources for mapped canonical columns."""
    out: dict[str, list[str]] = {}
    for canonical, sources in dict(data or {}).items():
        if canonical not in columns:
            raise InputError(
                "fallback columns for a canonical column that is not mapped",
                file=file,
                column=canonical,
            )
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            raise InputError("fallbacks must be lists of column names", file=file, column=canonical)
        out[canonical] = list(sources)
    return out


def _check_options(data: Mapping[str, Any], file: str | Path | None) -> None:
    """The event aliases and parsing options hold values the loader understands."""
    aliases = data.get("event_aliases") or {}
    if not isinstance(aliases, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in aliases.items()
    ):
        raise InputError("event_aliases must map event names to event names", file=file)
    day_first = data.get("day_first")
    if day_first is not None and not isinstance(day_first, bool):
        raise InputError("day_first must be true or false", file=file)
    epoch_unit = data.get("epoch_unit")
    if epoch_unit is not None and epoch_unit not in ("s", "ms", "us", "ns"):
        raise InputError(f"epoch_unit must be one of s, ms, us, ns, not {epoch_unit!r}", file=file)
    decimal = data.get("decimal")
    if decimal is not None and decimal not in (".", ","):
        raise InputError(f'decimal must be "." or ",", not {decimal!r}', file=file)
    event_constant = data.get("event_constant")
    if event_constant is not None and not isinstance(event_constant, str):
        raise InputError("event_constant must be an event name", file=file)


def _closest_name(name: str, options: Iterable[str]) -> str | None:
    """The option most like ``name``: compared without case and punctuation, then as written."""
    opts = list(options)
    return closest(name, opts, cutoff=0.5, key=normalise_name) or closest(name, opts, cutoff=0.5)


def _closest_hint(name: str, options: Iterable[str]) -> str | None:
    match = _closest_name(name, options)
    return f"Did you mean {match!r}?" if match else None


def closest_column(canonical: str, columns: Sequence[str]) -> str | None:
    """The raw column most like a canonical column or any of its known names."""
    best, best_ratio = None, 0.0
    targets = [normalise_name(a) for a in (canonical, *COLUMN_ALIASES.get(canonical, ()))]
    for col in columns:
        n = normalise_name(col)
        for t in targets:
            ratio = difflib.SequenceMatcher(None, n, t).ratio()
            if ratio > best_ratio:
                best, best_ratio = col, ratio
    return best if best_ratio >= 0.5 else None


# --------------------------------------------------------------------------------------------
# detection


def find_preset(columns: Sequence[str]) -> Preset | None:
    """The first preset whose signature columns the file has (most specific first)."""
    return next((p for p in PRESETS if p.matches(columns)), None)


def get_preset(name: str) -> Preset | None:
    return next((p for p in PRESETS if p.name == name), None)


def detect_mapping(
    columns: Sequence[str],
    *,
    event_names: Sequence[str] = (),
    layout: str | None = None,
) -> ColumnMapping:
    """Detect a mapping from raw column names (and event names seen in a sample).

    ``layout`` forces a preset by name (``clickstream``, ``invoice_lines``, ``invoice_lines_ii``,
    ``segment``, ``ga4``, ``transactions``, ``generic``). Columns no preset covers are filled from
    the alias lists. A log with no event column is a transaction table: every row is a purchase.
    Does not check that required columns were found; :func:`require_columns` does.
    """
    cols = list(columns)
    if layout is not None and layout not in PRESET_NAMES:
        raise InputError(
            f"unknown layout {layout!r}",
            hint=f"Known layouts: {', '.join(PRESET_NAMES)}.",
        )
    by_norm: dict[str, str] = {}
    for c in cols:
        by_norm.setdefault(normalise_name(c), c)
    preset = get_preset(layout) if layout else find_preset(cols)
    mapping = ColumnMapping()
    used: set[str] = set()
    if preset is not None:
        _map_preset(mapping, preset, by_norm, used)
    skip_event = preset is not None and (preset.event_constant is not None)
    _map_aliases(mapping, by_norm, used, skip_event=skip_event)
    if preset is None:
        if "event" not in mapping.columns or layout == "transactions":
            mapping.layout = "transactions"
            mapping.event_constant = "purchase"
            mapping.columns.pop("event", None)
            mapping.how.pop("event", None)
        else:
            mapping.layout = "generic"
            mapping.event_aliases = generic_event_aliases(event_names)
    return mapping


def _map_preset(
    mapping: ColumnMapping, preset: Preset, by_norm: Mapping[str, str], used: set[str]
) -> None:
    """Fill ``mapping`` from a preset's candidates (the first present wins, the rest fall back)."""
    mapping.layout = preset.name
    for canonical, candidates in preset.columns:
        present = [by_norm[normalise_name(c)] for c in candidates if normalise_name(c) in by_norm]
        present = [p for p in dict.fromkeys(present) if p not in used]
        if not present:
            continue
        mapping.columns[canonical] = present[0]
        mapping.how[canonical] = f"{HOW_PRESET} {preset.name}"
        if present[1:]:
            mapping.fallbacks[canonical] = present[1:]
        used.update(present)
    mapping.event_aliases = dict(preset.event_aliases)
    mapping.event_constant = preset.event_constant
    mapping.invoice_refunds = preset.invoice_refunds


def _map_aliases(
    mapping: ColumnMapping, by_norm: Mapping[str, str], used: set[str], *, skip_event: bool
) -> None:
    """Map every canonical column still free to the first free column with a known name."""
    for canonical in CANONICAL_COLUMNS:
        if canonical in mapping.columns or (canonical == "event" and skip_event):
            continue
        for alias in COLUMN_ALIASES[canonical]:
            src = by_norm.get(normalise_name(alias))
            if src is not None and src not in used:
                mapping.columns[canonical] = src
                mapping.how[canonical] = (
                    f"{HOW_ALIAS} ({src!r} is a known name)"
                    if normalise_name(src) != normalise_name(canonical)
                    else f"{HOW_ALIAS} (same name)"
                )
                used.add(src)
                break


def generic_event_aliases(event_names: Sequence[str]) -> dict[str, str]:
    """The generic alias table plus exact spellings seen in the data that match it loosely."""
    table = dict(GENERIC_EVENT_ALIASES)
    loose: dict[str, str] = {normalise_name(k): v for k, v in GENERIC_EVENT_ALIASES.items()}
    loose.update({normalise_name(c): c for c in CANONICAL_EVENT_NAMES})
    for name in event_names:
        target = loose.get(normalise_name(name))
        if target is not None and name != target:
            table.setdefault(name, target)
    return table


def resolve_event_aliases(
    aliases: Mapping[str, str], names_in_data: Iterable[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Split the alias table into the aliases to apply and those skipped, with the reason.

    An alias never folds a name into a canonical name the data already uses: if a log has both
    ``cart`` and ``add_to_cart``, ``cart`` is kept as it is (it may be the cart page there).
    Identity entries (``purchase`` -> ``purchase``) are dropped from both.
    """
    present = set(names_in_data)
    apply: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for raw, target in aliases.items():
        if raw == target:
            continue
        if target in present:
            skipped[raw] = f"the data already uses {target!r}"
        else:
            apply[raw] = target
    return apply, skipped


def map_flag(canonical: str, source: str) -> str:
    """``--map canonical=source`` as a person would type it (quoted when the name has spaces)."""
    pair = f"{canonical}={source}"
    return f"--map {pair}" if re.fullmatch(r"[A-Za-z0-9_.:@/+=-]+", pair) else f"--map '{pair}'"


def require_columns(
    mapping: ColumnMapping, raw_columns: Sequence[str], *, file: str | Path | None = None
) -> None:
    """Raise InputError when user_id or ts has no source: all missing ones in one message, each
    with the closest raw column (a raw column is suggested for one canonical column only)."""
    missing = [c for c in ("user_id", "ts") if c not in mapping.columns]
    if not missing:
        return
    free = [c for c in raw_columns if c not in mapping.used_columns()]
    guesses: dict[str, str | None] = {}
    for canonical in missing:
        guess = closest_column(canonical, free)
        guesses[canonical] = guess
        if guess is not None:
            free = [c for c in free if c != guess]
    names = " and ".join(repr(c) for c in missing)
    message = (
        f"no column for the required {names} was found"
        if len(missing) == 1
        else f"no columns for the required {names} were found"
    )
    found = [(c, g) for c, g in guesses.items() if g is not None]
    if found:
        matches = ", ".join(f"{g!r} for {c}" for c, g in found)
        flags = " ".join(map_flag(c, g) for c, g in found)
        hint = f"Closest match{'es' if len(found) > 1 else ''}: {matches}; use {flags}"
        unguessed = [c for c, g in guesses.items() if g is None]
        if unguessed:
            hint += " and name " + " and ".join(f"{c} with --map {c}=COLUMN" for c in unguessed)
        hint += "."
    else:
        hint = (
            "Name "
            + ("it with " if len(missing) == 1 else "them with ")
            + " ".join(f"--map {c}=COLUMN" for c in missing)
            + "."
        )
    raise InputError(
        message,
        file=file,
        column=missing[0] if len(missing) == 1 else None,
        details=[f"the file has columns: {', '.join(raw_columns)}"],
        hint=hint,
    )


def check_columns_exist(
    mapping: ColumnMapping,
    raw_columns: Sequence[str],
    *,
    origin: str,
    file: str | Path | None = None,
    data_file: str | Path | None = None,
) -> None:
    """Every source a mapping names must be a column of the data."""
    have = set(raw_columns)
    for canonical in mapping.columns:
        for src in mapping.sources(canonical):
            if src in have:
                continue
            guess = _closest_name(src, raw_columns)
            raise InputError(
                f"{origin} maps {canonical} to column {src!r}, which "
                f"{'the data file ' + str(data_file) if data_file else 'the data'} does not have",
                file=file,
                column=src,
                details=[f"the data has columns: {', '.join(raw_columns)}"],
                hint=f"Closest match: {guess!r}." if guess else None,
            )


def parse_overrides(items: Sequence[str]) -> dict[str, str]:
    """``["ts=event_time", "revenue="]`` -> dict; an empty source unmaps the column."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise InputError(
                f"--map expects canonical=source, got {item!r}",
                hint="For example --map ts=event_time.",
            )
        key, _, value = item.partition("=")
        out[key.strip()] = value.strip()
    return out


def apply_overrides(
    mapping: ColumnMapping, overrides: Mapping[str, str], raw_columns: Sequence[str]
) -> ColumnMapping:
    """Return a copy with ``canonical -> source`` pairs forced; an empty source unmaps.

    A source taken by an override is removed from whatever canonical column it fed before.
    """
    if not overrides:
        return mapping
    out = replace(
        mapping,
        columns=dict(mapping.columns),
        how=dict(mapping.how),
        fallbacks={k: list(v) for k, v in mapping.fallbacks.items()},
    )
    for canonical, source in overrides.items():
        if canonical not in CANONICAL_COLUMNS:
            raise InputError(
                f"--map: {canonical!r} is not a canonical column",
                column=canonical,
                hint=_closest_hint(canonical, CANONICAL_COLUMNS)
                or f"Canonical columns: {', '.join(CANONICAL_COLUMNS)}.",
            )
        if not source:
            out.columns.pop(canonical, None)
            out.how.pop(canonical, None)
            out.fallbacks.pop(canonical, None)
            continue
        if source not in raw_columns:
            guess = _closest_name(source, raw_columns)
            raise InputError(
                f"--map {canonical}={source}: the data has no column {source!r}",
                column=source,
                details=[f"the data has columns: {', '.join(raw_columns)}"],
                hint=f"Closest match: {guess!r}." if guess else None,
            )
        for other in list(out.columns):
            if other != canonical and out.columns[other] == source:
                out.columns.pop(other)
                out.how.pop(other, None)
                out.fallbacks.pop(other, None)
        for other, fb in list(out.fallbacks.items()):
            if source in fb:
                out.fallbacks[other] = [s for s in fb if s != source]
        out.columns[canonical] = source
        out.how[canonical] = HOW_OVERRIDE
        out.fallbacks.pop(canonical, None)
        if canonical == "event":
            out.event_constant = None
            out.invoice_refunds = False
    return out


# --------------------------------------------------------------------------------------------
# save / load


def save_mapping(mapping: ColumnMapping, path: str | Path) -> Path:
    """Write the mapping as TOML (``.toml``) or JSON (``.json``), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    data = mapping.to_dict()
    if suffix == ".toml":
        text = toml_text(data, header=MAPPING_HEADER)
    elif suffix == ".json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        raise InputError(
            "a mapping file must end in .toml or .json", file=path, hint="For example mapping.toml."
        )
    write_text_atomic(path, text)
    return path


def load_mapping(path: str | Path) -> ColumnMapping:
    """Read a mapping saved by :func:`save_mapping` (or written by hand), TOML or JSON."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such mapping file", file=path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InputError("the mapping file is not UTF-8", file=path) from error
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise InputError("a mapping file must end in .toml or .json", file=path)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"the mapping file is not valid TOML ({error})", file=path) from error
    except json.JSONDecodeError as error:
        raise InputError(
            f"the mapping file is not valid JSON ({error.msg})", file=path, row=error.lineno
        ) from error
    if not isinstance(data, dict):
        raise InputError("the mapping file must hold a table/object", file=path)
    return ColumnMapping.from_dict(data, file=path)
