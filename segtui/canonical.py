"""The canonical event columns and event names every layout is mapped to (DESIGN.md's table).

They sit at the bottom of the package because the loader maps files onto them, the feature
catalog declares features over them, and the sample generator writes them: one list each.
"""

from __future__ import annotations

CANONICAL_COLUMNS: tuple[str, ...] = (
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
    "event_id",
)
"""``event_id`` is the layout's own id of an event (Segment's ``messageId``, an ``event_id``
column) where it has one: never a feature, it is what ``watch`` drops a replayed event by."""
CANONICAL_EVENT_NAMES: tuple[str, ...] = (
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
