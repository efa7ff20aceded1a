"""The back office's reads of other areas' documents: customers, identities, promo codes,
payouts and the program's head, in one place.

The back office looks at what the storefront, the SMS login, promo codes and
payouts keep, and changes only a promo code's ``active`` flag directly; every
other change goes through the owning area's use cases. These helpers are the
only place the back office touches those documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.ledger import Account
from shared.services import program, promo
from shared.services.admin.common import well_formed_id
from shared.services.ledger import account_path
from shared.services.ports import CUSTOMERS, Store, UnitOfWork

IDENTITIES = "identities"

# The customer document's profile fields the back office shows.
PROFILE_FIELDS = (
    "phone",
    "name",
    "email",
    "birthday",
    "telegram_id",
    "registered_at",
    "invited_by",
    "referrer_id",
    "referral_bound_at",
    "paying_referees",
    "first_paid_at",
    "blocked",
    "blocked_at",
    "blocked_by",
    "blocked_reason",
)


# --- customers -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """A customer as the back office sees one: the account and the profile beside it."""

    customer_id: str  # the document's own customer_id field
    account: Account
    phone: str | None
    blocked: bool
    profile: Mapping[str, Any]  # the PROFILE_FIELDS the document has


def _customer(data: dict[str, Any]) -> CustomerRecord:
    return CustomerRecord(
        customer_id=str(data.get("customer_id", "")),
        account=Account.from_dict(data),
        phone=data.get("phone"),
        blocked=bool(data.get("blocked", False)),
        profile={k: data.get(k) for k in PROFILE_FIELDS if k in data},
    )


def customer(store: Store, customer_id: str) -> CustomerRecord | None:
    """The customer of that id (``customers/{id}``), if there is one."""
    data = store.get(account_path(customer_id))
    return None if data is None else _customer(data)


def customer_exists(store: Store, customer_id: str) -> bool:
    return store.get(account_path(customer_id)) is not None


def customer_by_phone(store: Store, phone: str) -> CustomerRecord | None:
    """The customer the SMS login bound to this phone (``identities/phone:{e164}``), if any."""
    from shared.services.identity import (
        normalize_phone,  # the form the SMS login writes identities in
    )

    identity = store.get(f"{IDENTITIES}/phone:{normalize_phone(phone)}")
    customer_id = (identity or {}).get("customer_id")
    return customer(store, customer_id) if customer_id and well_formed_id(customer_id) else None


def customers_page(store: Store, *, limit: int, start_after: str | None = None) -> list[CustomerRecord]:
    """A page of customers in id order."""
    rows = store.ordered(CUSTOMERS, order_by="customer_id", limit=limit, start_after=start_after)
    return [_customer(data) for _, data in rows]


def customer_ids_in_group(store: Store, group: str | None, *, limit: int, start_after: str | None = None) -> list[str]:
    """Ids of a page of the customers of one group, in id order."""
    return store.matching(CUSTOMERS, field="group", value=group, limit=limit, start_after=start_after)


# --- promo codes -------------------------------------------------------------------------------


def promo_code(store: Store, code: str) -> dict[str, Any] | None:
    """``promo_codes/{code}`` as stored."""
    return store.get(promo.code_path(code))


def promo_code_in(uow: UnitOfWork, code: str) -> dict[str, Any] | None:
    return uow.get(promo.code_path(code))


def put_promo_code(uow: UnitOfWork, code: str, doc: dict[str, Any]) -> None:
    uow.put(promo.code_path(code), doc)


def promo_customers_page(store: Store, code: str, *, limit: int, start_after: str | None = None) -> list[dict[str, Any]]:
    """A page of ``promo_codes/{code}/customers`` (who used the code, with their orders), in id order."""
    rows = store.ordered(f"{promo.code_path(code)}/{promo.CUSTOMERS}", order_by="customer_id", limit=limit, start_after=start_after)
    return [data for _, data in rows]


def promo_codes_page(store: Store, *, limit: int, start_after: str | None = None) -> list[dict[str, Any]]:
    """A page of promo codes in code order."""
    rows = store.ordered(promo.PROMO_CODES, order_by="code", limit=limit, start_after=start_after)
    return [data for _, data in rows]


# --- payouts -------------------------------------------------------------------------------------


def payout(store: Store, request_id: str) -> dict[str, Any] | None:
    """``payouts/{request_id}`` as stored (``None`` for an id no request can have)."""
    from shared.services import payouts

    return store.get(payouts.payout_path(request_id)) if payouts.REQUEST_ID.fullmatch(request_id) else None


def payouts_with_status(store: Store, status: str, *, limit: int, start_after: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """A page of payout requests with ``status`` in id order, and the id to continue after."""
    from shared.services import payouts

    ids = store.matching(payouts.PAYOUTS, field="status", value=status, limit=limit, start_after=start_after)
    items = [doc for doc in (store.get(payouts.payout_path(i)) for i in ids) if doc is not None]
    return items, ids[-1] if len(ids) == limit else None


# --- the program -----------------------------------------------------------------------------------


def scheduled_versions(store: Store, program_name: str, now: datetime) -> list[tuple[int, datetime]]:
    """(version, effective_from) of the program's versions that apply after ``now``."""
    head = store.get(program.head_path(program_name)) or {}
    return [(v["version"], v["effective_from"]) for v in head.get("versions", []) if v["effective_from"] > now]
