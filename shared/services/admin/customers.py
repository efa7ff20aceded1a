"""Customer look-ups for the back office: search by phone or id prefix, one customer, their ledger."""

from __future__ import annotations

from datetime import datetime

from shared.api.admin import (
    CustomerDetail,
    CustomerSearchResponse,
    CustomerSummary,
    LedgerResponse,
    LotView,
    PostingView,
    ReservationView,
)
from shared.domain.config import ProgramConfig
from shared.domain.customer import CustomerRecord
from shared.domain.errors import NotFound, ValidationFailed
from shared.domain.identity import IdentityKind
from shared.domain.levels import effective_level
from shared.edge.admin_auth import Admin
from shared.services import ledger
from shared.services.admin.common import valid_customer_id, well_formed_id
from shared.services.ports import Store, UnitOfWork

# The customer record's fields the back office shows as the profile, by their stored names.
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


def _profile(customer: CustomerRecord) -> dict[str, object]:
    """The :data:`PROFILE_FIELDS` the customer's record holds (a field stored as null included)."""
    values = {name: getattr(part, name) for part in (customer.profile, customer.referral, customer.blocking) for name in part.__struct_fields__}
    return {name: values[name] for name in PROFILE_FIELDS if values[name] is not None or name in customer.nulls}


def _customer(store: Store, customer_id: str) -> CustomerRecord | None:
    return ledger.load_customer(store, customer_id)


def _by_phone(store: Store, phone: str) -> CustomerRecord | None:
    """The customer the SMS login bound to this phone (its identity), if any."""
    # phonenumbers' metadata takes some 40 ms to load: only a search by phone pays it, not the back office's start
    from shared.services.identity.phones import normalize_phone  # the form the SMS login writes identities in

    e164 = normalize_phone(phone)

    def find(uow: UnitOfWork) -> CustomerRecord | None:
        identity = uow.identities.get(IdentityKind.PHONE, e164)
        if identity is None or not identity.customer_id or not well_formed_id(identity.customer_id):
            return None
        return uow.accounts.get(identity.customer_id)

    return store.read(find)


def _page(store: Store, *, limit: int, after: str | None) -> list[CustomerRecord]:
    return store.read(lambda uow: uow.accounts.in_id_order(limit=limit, after=after))


def _summary_fields(config: ProgramConfig, customer: CustomerRecord, now: datetime) -> dict[str, object]:
    account = customer.account
    b = account.balances(now)
    return {
        "customer_id": account.customer_id,
        "phone": customer.profile.phone,
        "level": effective_level(config, account).code,
        "group": account.group or config.default_group,
        "blocked": customer.blocking.is_blocked,
        "total": b.total,
        "available": b.available,
        "pending": b.pending,
        "reserved": b.reserved,
        "debt": b.debt,
    }


def summary(config: ProgramConfig, customer: CustomerRecord, now: datetime) -> CustomerSummary:
    return CustomerSummary.model_validate(_summary_fields(config, customer, now))


def search_customers(
    store: Store, admin: Admin, *, config: ProgramConfig, now: datetime, prefix: str | None = None, phone: str | None = None, cursor: str | None = None, limit: int = 50
) -> CustomerSearchResponse:
    """Customers by phone (its identity), or by customer id prefix in id order (empty: everyone), paged."""
    admin.require("customer.read")
    if phone:
        bound = _by_phone(store, phone)
        return CustomerSearchResponse(customers=[summary(config, bound, now)] if bound else [], next_cursor=None)
    prefix = prefix or ""
    if prefix and not well_formed_id(prefix):
        raise ValidationFailed("not a customer id prefix", field="prefix")
    found: list[CustomerRecord] = []
    if cursor is None and prefix:
        exact = _customer(store, prefix) if prefix not in (".", "..") else None
        if exact is not None:
            found.append(exact)
    after = cursor if cursor is not None else (prefix or None)
    wanted = limit - len(found)
    rows = _page(store, limit=wanted, after=after) if wanted > 0 else []
    exhausted = len(rows) < wanted
    for row in rows:
        if not row.customer_id.startswith(prefix):
            exhausted = True  # id order: no later id has the prefix
            break
        found.append(row)
    return CustomerSearchResponse(
        customers=[summary(config, c, now) for c in found],
        next_cursor=found[-1].customer_id if found and not exhausted else None,
    )


def customer_detail(store: Store, admin: Admin, *, config: ProgramConfig, customer_id: str, now: datetime) -> CustomerDetail:
    admin.require("customer.read")
    valid_customer_id(customer_id)
    customer = _customer(store, customer_id)
    if customer is None:
        raise NotFound("unknown customer", customer_id=customer_id, message_ru="Покупатель не найден.")
    account = customer.account
    return CustomerDetail.model_validate(
        {
            **_summary_fields(config, customer, now),
            "earned_level": account.level,
            "level_override": account.level_override,
            "paid_total": account.paid_total,
            "profile": _profile(customer),
            "lots": [LotView.model_validate({**lot.to_dict(), "state": lot.state(now)}) for lot in sorted(account.lots.values(), key=lambda lot: lot.order_key())],
            "reservations": [ReservationView(id=r.id, amount=r.amount, created_at=r.created_at, release_after=r.release_after) for r in account.reservations.values()],
        }
    )


def customer_ledger(store: Store, admin: Admin, *, customer_id: str, before_seq: int | None = None, limit: int = 50) -> LedgerResponse:
    """A page of a customer's postings, newest first (``before_seq``: the lowest seq of the last page)."""
    admin.require("ledger.read")
    valid_customer_id(customer_id)
    if _customer(store, customer_id) is None:
        raise NotFound("unknown customer", customer_id=customer_id, message_ru="Покупатель не найден.")
    page = ledger.postings(store, customer_id, limit=limit, before_seq=before_seq)
    entries = [
        PostingView.model_validate(
            {"seq": p.seq, "kind": p.kind, "key": p.key, "at": p.at, "delta": p.delta, "order_id": p.order_id, "actor": p.actor, "reason": p.reason, "outcome": p.outcome,
                "movements": [m.to_dict() for m in p.movements]}
        )
        for p in page
    ]
    return LedgerResponse(customer_id=customer_id, postings=entries, next_before_seq=page[-1].seq if len(page) == limit else None)
