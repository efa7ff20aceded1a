"""The data model's layout: every collection and document path, in one place.

Only ``shared.adapters`` builds paths; use cases work with repositories.
The layout is described in ``docs/data-model.md``.
"""

from __future__ import annotations

# --- ledger: customers/{customer_id} with its postings and line books --------------

CUSTOMERS = "customers"  # customers/{customer_id}: the account (lots, reservations, level stats) and profile
POSTINGS = "postings"  # customers/{customer_id}/postings/{posting_id}: append-only ledger entries
LINE_BOOKS = "orders"  # customers/{customer_id}/orders/{order_id}: per-order line book (earned/spent per line)


def account(customer_id: str) -> str:
    return f"{CUSTOMERS}/{customer_id}"


def postings(customer_id: str) -> str:
    return f"{CUSTOMERS}/{customer_id}/{POSTINGS}"


def posting(customer_id: str, posting_id: str) -> str:
    return f"{postings(customer_id)}/{posting_id}"


def line_book(customer_id: str, order_id: str) -> str:
    return f"{CUSTOMERS}/{customer_id}/{LINE_BOOKS}/{order_id}"


# --- orders and deliveries ------------------------------------------------------------

ORDERS = "orders"  # orders/{order_id}: the storefront order (checkout, payment, delivery, returns)
TRACKING = "tracking"  # tracking/{carrier}:{code}: a carrier's tracking code pointing back at its order
ORDER_POLL_FIELD = "delivery_poll_at"  # on orders: when the poller asks the carrier next
ORDER_PLACED_FIELD = "created_at"  # on orders: when the order was placed
ORDER_CUSTOMER_FIELD = "customer_id"  # on orders: whose order it is


def order(order_id: str) -> str:
    return f"{ORDERS}/{order_id}"


def tracking(carrier: str, code: str) -> str:
    return f"{TRACKING}/{carrier}:{code}"


# --- identities, codes and sessions --------------------------------------------------


# --- program, promo codes, payouts, cursors, notices ----------------------------------


# --- back office: admins, approvals, jobs, audit ---------------------------------------
