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


def find_preset(columns: Sequence[str]) -> Preset | None:
    """The first preset whose signature columns the file has (most specific first)."""
    return next((p for p in PRESETS if p.matches(columns)), None)


def get_preset(name: str) -> Preset | None:
    return next((p for p in PRESETS if p.name == name), None)
