"""Known names: the column names each canonical column goes by, event-name aliases, and presets.

A preset is a known export layout (an online-retail invoice table, a clickstream, Segment, GA4):
the columns that identify it and how they map. Names are compared normalised (case, spaces and
punctuation ignored) except where a preset asks for exact evidence. This is data the mapping
reads (:mod:`segtui.ingest.mapping`); adding a layout means adding an entry here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


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
        "content_category",
        "page_category",
        "topic",
        "section",
        "genre",
        "subject",
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
    "event_id": ("event_id", "eventid", "message_id", "messageid", "insert_id", "event_uuid"),
}

# Name rules for the value columns (revenue, price, quantity) that no alias above names: a column
# name is split into lower-case words (``dollar_value`` -> dollar, value; ``numberOfCDs`` ->
# number, of, c, ds is not how it splits: camelCase splits at each lower-to-upper step, so
# ``numberOfCDs`` -> number, of, cds) and read by these words, in this order (first rule wins):
#
# 1. a word in ``NOT_VALUE_WORDS`` (ids, rates, taxes, time, activity nouns) -> no value column;
# 2. a word in ``QUANTITY_WORDS`` (qty, units, ...) -> quantity;
# 3. ``price`` without a word of a total (total, line, sum, ...), or a unit word (unit, each, per)
#    with a money word or cost -> price (a unit price);
# 4. a count word (count anywhere; num, number, n, no, ... first) with another word, not an entity
#    (``ENTITY_WORDS``: order, customer, ...), or ``total`` with an item word (``total_items``)
#    -> quantity (``number_of_cds``, ``num_items``, ``item_count``; not ``order_count``);
# 5. a money word (amount, value, dollar, sales, total, ...), or cost with a word of a total ->
#    revenue (a line total: ``dollar_value``, ``sale_amount``, ``order_value``).
NOT_VALUE_WORDS: frozenset[str] = frozenset(
    {
        "id", "key", "code", "uuid", "hash", "pct", "percent", "percentage", "rate", "ratio",
        "share", "tax", "vat", "discount", "shipping", "freight", "fee", "fees", "avg",
        "average", "mean", "median", "margin", "profit", "lifetime", "ltv", "clv", "predicted",
        "score", "rating", "points", "balance", "limit", "budget", "event", "events", "session",
        "sessions", "page", "pages", "visit", "visits", "click", "clicks", "view", "views",
        "login", "logins", "day", "days", "week", "weeks", "month", "months", "year", "years",
        "hour", "hours", "minute", "minutes", "second", "seconds", "time", "times", "date",
        "duration", "scroll", "depth", "zip", "postal", "age",
    }
)  # fmt: skip
QUANTITY_WORDS: frozenset[str] = frozenset(
    {"qty", "qnty", "quantity", "quantities", "units", "pcs", "pieces"}
)
# Words naming what a row belongs to: a count of them is not a count of items
# (``order_count``), and with a count word they name an id (``customer_number``).
ENTITY_WORDS: frozenset[str] = frozenset(
    {
        "order", "orders", "invoice", "invoices", "customer", "customers", "user", "users",
        "client", "clients", "account", "accounts", "phone", "transaction", "transactions",
        "line", "lines", "receipt", "receipts", "basket", "baskets", "cart", "carts",
    }
)  # fmt: skip
# Count words: ``count``/``cnt`` anywhere; the others only first (``number_of_cds``, ``n_items``),
# since after a noun they name an id (``item_no``, ``Kunden Nr``).
COUNT_WORDS: frozenset[str] = frozenset({"count", "cnt"})
COUNT_PREFIXES: frozenset[str] = frozenset({"num", "number", "n", "no", "nb", "nr"})
ITEM_WORDS: frozenset[str] = frozenset({"item", "items", "product", "products", "articles"})
UNIT_WORDS: frozenset[str] = frozenset({"unit", "each", "per"})
TOTAL_WORDS: frozenset[str] = frozenset({"total", "line", "sum", "extended", "subtotal"})
MONEY_WORDS: frozenset[str] = frozenset(
    {
        "amount", "amt", "revenue", "sales", "sale", "total", "subtotal", "value", "dollar",
        "dollars", "usd", "eur", "euro", "euros", "gbp", "spend", "spent", "paid", "payment",
        "gmv", "turnover", "monetary",
    }
)  # fmt: skip


def name_words(name: str) -> tuple[str, ...]:
    """A column name as lower-case words: split at punctuation, spaces and camelCase steps."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return tuple(w for w in re.split(r"[^0-9a-z]+", spaced.lower()) if w)


def value_role(name: str) -> tuple[str, str] | None:
    """(canonical column, why) when a column name reads as revenue, price or quantity by the name
    rules above, else None. ``why`` names the words that decided, for the mapping table."""
    words = name_words(name)
    have = set(words)

    def said(found: Iterable[str]) -> str:
        return " + ".join(f"{w!r}" for w in words if w in set(found))

    if have & NOT_VALUE_WORDS:
        return None
    if have & QUANTITY_WORDS:
        return "quantity", f"{said(QUANTITY_WORDS)} reads as a count of items"
    money = have & MONEY_WORDS
    if "price" in have and not have & TOTAL_WORDS:
        return "price", f"{said({'price'})} without a total reads as a unit price"
    if have & UNIT_WORDS and (money or "cost" in have):
        return "price", f"{said(UNIT_WORDS | MONEY_WORDS | {'cost'})} reads as a unit price"
    counting = have & COUNT_WORDS or ({words[0]} & COUNT_PREFIXES if words else set())
    counted = have - COUNT_WORDS - COUNT_PREFIXES - {"of"}
    if counting and counted and not money and not have & ENTITY_WORDS:
        return "quantity", f"{said(counting)} + {said(counted)} reads as a count of items"
    if "total" in have and have & ITEM_WORDS:
        return "quantity", f"{said({'total'} | ITEM_WORDS)} reads as a count of items"
    if money:
        return "revenue", f"{said(money)} reads as a line total"
    if "cost" in have and have & TOTAL_WORDS:
        return "revenue", f"{said({'cost'} | TOTAL_WORDS)} reads as a line total"
    return None


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
            ("duration_s", ("properties.duration", "properties.duration_s")),
            ("scroll_depth", ("properties.scroll_depth", "properties.scroll")),
            ("event_id", ("messageId",)),
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


def find_preset(columns: Sequence[str]) -> Preset | None:
    """The first preset whose signature columns the file has (most specific first)."""
    return next((p for p in PRESETS if p.matches(columns)), None)


def get_preset(name: str) -> Preset | None:
    return next((p for p in PRESETS if p.name == name), None)
