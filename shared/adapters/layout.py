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


def order(order_id: str) -> str:
    return f"{ORDERS}/{order_id}"


# --- identities, codes and sessions --------------------------------------------------


# --- program, promo codes, payouts, cursors, notices ----------------------------------


# --- back office: admins, approvals, jobs, audit ---------------------------------------

APPROVALS = "approvals"  # approvals/{approval_id}: a maker-checker request and its decision
JOBS = "jobs"  # jobs/{job_id}: a mass accrual's definition, cursor and counters
ADMIN_AUDIT = "audit"  # audit/{audit_id}: one back-office action (top level; programs/{p}/audit is the program's)


def approval(approval_id: str) -> str:
    return f"{APPROVALS}/{approval_id}"


def job(job_id: str) -> str:
    return f"{JOBS}/{job_id}"


def admin_audit(audit_id: str) -> str:
    return f"{ADMIN_AUDIT}/{audit_id}"
