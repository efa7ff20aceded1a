"""Every Firestore query the code makes, declared for the indexes in infra/firestore.tf.

Data only: nothing imports this at run time. ``tests/infra/test_infra.py`` finds
every ``ordered`` / ``due`` / ``matching`` / ``count`` call in ``shared/`` by
parsing the source and fails when a call site is missing here (or one listed here
is gone), so a new query cannot reach production without its index being decided.

What each store method asks Firestore (``shared/adapters/firestore_store.py``):

* ``ordered``: ``order_by(field[, DESCENDING])`` with a cursor;
* ``due``: ``where(field <= until).order_by(field).order_by(__name__)``;
* ``matching``: ``where(field == value).order_by(__name__)``;
* ``count``: ``where(field == value).count()``, an aggregation (no document is read).

Each of them involves one field besides ``__name__``, so Firestore's automatic
single-field indexes serve it (ascending and descending); a query over two or
more fields needs a ``google_firestore_index`` with those ``fields`` in order.
"""

from __future__ import annotations

from typing import NamedTuple


class Query(NamedTuple):
    site: str  # the module that runs it
    function: str  # the function in that module
    method: str  # Store method: ordered | due | matching | count
    collection: str  # collection id (the last segment of the path)
    fields: tuple[tuple[str, str], ...]  # (field, ASCENDING|DESCENDING) in index order, __name__ left out


ASC, DESC = "ASCENDING", "DESCENDING"

QUERIES: tuple[Query, ...] = (
    Query("shared/adapters/repositories/orders.py", "of_customer", "matching", "orders", (("customer_id", ASC),)),
    Query("shared/adapters/repositories/admin.py", "newest", "ordered", "audit", (("key", DESC),)),
    Query("shared/adapters/repositories/admin.py", "with_status", "matching", "approvals", (("status", ASC),)),
    Query("shared/adapters/repositories/admin.py", "recent", "ordered", "jobs", (("created_at", DESC),)),
    Query("shared/adapters/repositories/orders.py", "due_for_poll", "due", "orders", (("delivery_poll_at", ASC),)),
    Query("shared/adapters/repositories/ledger.py", "page", "ordered", "postings", (("seq", DESC),)),  # customers/{id}/postings
    Query("shared/adapters/repositories/ledger.py", "in_id_order", "ordered", "customers", (("customer_id", ASC),)),
    Query("shared/adapters/repositories/ledger.py", "due", "due", "customers", (("next_expiry_at", ASC),)),
    Query("shared/adapters/repositories/ledger.py", "with_birthday", "matching", "customers", (("birthday_md", ASC),)),
    Query("shared/adapters/repositories/ledger.py", "invited_by", "matching", "customers", (("invited_by", ASC),)),
    Query("shared/adapters/repositories/ledger.py", "in_group", "matching", "customers", (("group", ASC),)),
    Query("shared/adapters/repositories/ledger.py", "latest", "ordered", "referees", (("first_paid_at", DESC),)),  # customers/{id}/referees
    Query("shared/adapters/repositories/orders.py", "with_partner_code", "matching", "orders", (("referral_partner_id", ASC),)),
    Query("shared/adapters/repositories/program.py", "publications", "ordered", "audit", (("version", DESC),)),  # programs/{p}/audit
    Query("shared/adapters/repositories/program.py", "page", "ordered", "promo_codes", (("code", ASC),)),
    Query("shared/adapters/repositories/program.py", "uses", "ordered", "customers", (("customer_id", ASC),)),  # promo_codes/{code}/customers
    Query("shared/adapters/repositories/program.py", "ids_of_customer", "matching", "payouts", (("customer_id", ASC),)),
    Query("shared/adapters/repositories/program.py", "ids_with_status", "matching", "payouts", (("status", ASC),)),
    Query("shared/adapters/repositories/orders.py", "placed_until", "due", "orders", (("created_at", ASC),)),
    Query("shared/adapters/repositories/orders.py", "due_for_fallback", "due", "orders", (("delivery_fallback_at", ASC),)),
    Query("shared/adapters/repositories/orders.py", "flagged", "due", "orders", (("flagged_at", ASC),)),
    Query("shared/adapters/repositories/identity.py", "telegram_ids_of", "matching", "identities", (("customer_id", ASC),)),
    Query("shared/adapters/repositories/catalog.py", "page", "ordered", "products", (("uid", ASC),)),
    Query("shared/adapters/repositories/sweeps.py", "latest", "ordered", "report_days", (("day", DESC),)),
    Query("shared/adapters/repositories/ledger.py", "named", "matching", "customer_names", (("name_key", ASC),)),
    Query("shared/adapters/repositories/ledger.py", "named", "ordered", "customer_names", (("name_key", ASC),)),
    Query("shared/adapters/repositories/ledger.py", "with_email", "matching", "customers", (("email", ASC),)),
    Query("shared/adapters/repositories/sweeps.py", "latest", "ordered", "notices", (("created_at", DESC),)),  # customers/{id}/notices
    Query("shared/adapters/repositories/admin.py", "of_target", "matching", "audit", (("target", ASC),)),
    Query("shared/adapters/repositories/outbox.py", "of_customer", "matching", "outbox", (("customer_id", ASC),)),
    Query("shared/adapters/repositories/outbox.py", "with_status", "matching", "outbox", (("status", ASC),)),
    Query("shared/adapters/repositories/carts.py", "quoted_until", "due", "carts", (("quoted_at", ASC),)),
    Query("shared/adapters/repositories/ledger.py", "lapsed", "due", "customers", (("last_purchase_at", ASC),)),
    Query("shared/adapters/repositories/outbox.py", "due", "due", "outbox", (("next_at", ASC),)),
    Query("shared/adapters/repositories/ledger.py", "waiting", "matching", "reward_inbox", (("folded", ASC),)),  # customers/{id}/reward_inbox
    Query("shared/adapters/repositories/stickers.py", "latest", "ordered", "sticker_batches", (("created_at", DESC),)),
    Query("shared/adapters/repositories/stickers.py", "page", "ordered", "sticker_codes", (("batch_index", ASC),)),
    Query("shared/adapters/repositories/stickers.py", "redeemed", "count", "sticker_codes", (("redeemed_batch", ASC),)),
)
