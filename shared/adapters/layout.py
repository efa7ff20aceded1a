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

PROGRAMS = "programs"  # programs/{program}: the head (the index of versions)
VERSIONS = "versions"  # programs/{program}/versions/{n}: one published config
PROGRAM_AUDIT = "audit"  # programs/{program}/audit/v{n:06d}: the publication of version n
PROMO_CODES = "promo_codes"  # promo_codes/{CODE}: a marketing or a partner's code
PROMO_CUSTOMERS = "customers"  # promo_codes/{CODE}/customers/{customer_id}: a customer's uses
PAYOUTS = "payouts"  # payouts/{request_id}: a partner's payout request
SWEEPS = "sweeps"  # sweeps/{name}: a scheduled job's position


def program(program_name: str) -> str:
    return f"{PROGRAMS}/{program_name}"


def program_version(program_name: str, number: int) -> str:
    return f"{program(program_name)}/{VERSIONS}/{number}"


def program_audit(program_name: str) -> str:
    return f"{program(program_name)}/{PROGRAM_AUDIT}"


def program_publication(program_name: str, number: int) -> str:
    return f"{program_audit(program_name)}/v{number:06d}"


def promo_code(code: str) -> str:
    return f"{PROMO_CODES}/{code}"


def promo_customers(code: str) -> str:
    return f"{promo_code(code)}/{PROMO_CUSTOMERS}"


def promo_customer(code: str, customer_id: str) -> str:
    return f"{promo_customers(code)}/{customer_id}"


def payout(request_id: str) -> str:
    return f"{PAYOUTS}/{request_id}"


def sweep(name: str) -> str:
    return f"{SWEEPS}/{name}"


# --- back office: admins, approvals, jobs, audit ---------------------------------------

ADMINS = "admins"  # admins/{email}: a back-office account (e-mail stripped and lower-cased)


def admin(email: str) -> str:
    return f"{ADMINS}/{email}"
