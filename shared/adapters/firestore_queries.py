"""Every Firestore query the code makes, declared for the indexes in infra/firestore.tf.

Data only: nothing imports this at run time. ``tests/infra/test_infra.py`` finds
every ``ordered`` / ``due`` / ``store.matching`` call in ``shared/`` by
parsing the source and fails when a call site is missing here (or one listed here
is gone), so a new query cannot reach production without its index being decided.

What each store method asks Firestore (``shared/adapters/firestore_store.py``):

* ``ordered``: ``order_by(field[, DESCENDING])`` with a cursor;
* ``due``: ``where(field <= until).order_by(field).order_by(__name__)``;
* ``matching``: ``where(field == value).order_by(__name__)``.

Each of them involves one field besides ``__name__``, so Firestore's automatic
single-field indexes serve it (ascending and descending); a query over two or
more fields needs a ``google_firestore_index`` with those ``fields`` in order.
"""

from __future__ import annotations

from typing import NamedTuple


class Query(NamedTuple):
    site: str  # the module that runs it
    function: str  # the function in that module
    method: str  # Store method: ordered | due | matching
    collection: str  # collection id (the last segment of the path)
    fields: tuple[tuple[str, str], ...]  # (field, ASCENDING|DESCENDING) in index order, __name__ left out


ASC, DESC = "ASCENDING", "DESCENDING"

QUERIES: tuple[Query, ...] = (
    Query("shared/adapters/repositories/orders.py", "of_customer", "matching", "orders", (("customer_id", ASC),)),
    Query("shared/services/admin.py", "audit_log", "ordered", "audit", (("key", DESC),)),
    Query("shared/services/admin.py", "list_approvals", "matching", "approvals", (("status", ASC),)),
    Query("shared/services/admin.py", "promo_usage", "ordered", "customers", (("customer_id", ASC),)),  # promo_codes/{code}/customers
    Query("shared/services/admin.py", "list_promos", "ordered", "promo_codes", (("code", ASC),)),
    Query("shared/services/admin.py", "_next_batch", "matching", "customers", (("group", ASC),)),
    Query("shared/services/admin.py", "search_customers", "ordered", "customers", (("customer_id", ASC),)),
    Query("shared/services/admin.py", "list_payouts", "matching", "payouts", (("status", ASC),)),
    Query("shared/services/admin.py", "liability_report", "ordered", "customers", (("customer_id", ASC),)),
    Query("shared/adapters/repositories/orders.py", "due_for_poll", "due", "orders", (("delivery_poll_at", ASC),)),
    Query("shared/services/ledger.py", "postings", "ordered", "postings", (("seq", DESC),)),  # customers/{id}/postings
    Query("shared/services/lifecycle.py", "sweep_due", "due", "customers", (("next_expiry_at", ASC),)),
    # _count_matching(collection, field, ...) is called with these two:
    Query("shared/services/partner.py", "_count_matching", "matching", "customers", (("invited_by", ASC),)),
    Query("shared/services/partner.py", "_count_matching", "matching", "orders", (("referral_partner_id", ASC),)),
    Query("shared/services/partner.py", "_by_month", "ordered", "referees", (("first_paid_at", DESC),)),  # customers/{id}/referees
    Query("shared/services/payouts.py", "list_requests", "matching", "payouts", (("customer_id", ASC),)),
    Query("shared/services/program.py", "audit_log", "ordered", "audit", (("version", DESC),)),  # programs/{p}/audit
    Query("shared/adapters/repositories/orders.py", "placed_until", "due", "orders", (("created_at", ASC),)),
    Query("shared/services/sweeps.py", "review_levels", "ordered", "customers", (("customer_id", ASC),)),
    Query("shared/services/sweeps.py", "warn_expiring", "due", "customers", (("next_expiry_at", ASC),)),
    Query("shared/services/sweeps.py", "credit_birthdays", "matching", "customers", (("birthday_md", ASC),)),
)
