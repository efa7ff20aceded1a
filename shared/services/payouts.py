"""Partner payout requests: asked for by the partner, decided by a manager, then paid.

``payouts/{request_id}``::

    {request_id, customer_id, amount, method, details, status, created_at, updated_at,
     decided_by, decided_at, reason, paid_by, paid_at,
     history: [{status, at, actor, reason}]}

    requested -> approved -> paid
    requested -> rejected

While a request is open its bonuses are **held**: the request reserves them on
the partner's account (reservation ``payout:<request_id>``, releasing only in
:data:`HOLD_DAYS` days, so the sweep never gives them back on its own).
Approval spends the reservation (the bonuses are written off: the shop pays
them out in money); rejection releases it. Every step is one transaction over
the request document and the partner's account, keyed by the request
(``payout:<id>``, ``payout:<id>:spend``, ``payout:<id>:release``): a replay
changes nothing, and a decision that contradicts the one taken is
:class:`InvalidState`.

``details`` is the destination as the partner wants the manager to see it,
masked (``**** 1234``, ``+7 *** ***-12-34``): a full card or phone number is
refused, so no complete payment credential is stored here.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Literal

from shared.domain.config import ProgramConfig
from shared.domain.errors import BusinessRefusal, IdempotencyConflict, InvalidState, NotFound, ValidationFailed
from shared.domain.history import PAYOUT_PREFIX
from shared.domain.ledger import Release, Reserve, Spend, require_utc
from shared.services.ports import Store, Then, UnitOfWork
from shared.domain.customer import bonuses_excluded, unknown_customer
from shared.services.ledger import AccountSession, excluded_answer, read_customer

PAYOUTS = "payouts"
MIN_AMOUNT = 500  # bonuses: the smallest payout a partner may ask for
METHODS = ("card", "phone", "sbp", "bonus_account")
STATUSES = ("requested", "approved", "rejected", "paid")
HOLD_DAYS = 3650  # the hold of an open request: far beyond any decision, so the sweep never releases it
DETAILS_MAX = 80
LIST_MAX_LIMIT = 50
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{7,63}")
_SEPARATORS = re.compile(r"[\s().\-]")
_LONG_NUMBER = re.compile(r"\d{5,}")


class PayoutBelowMinimum(BusinessRefusal):
    code = "payout_below_minimum"
    message_ru = f"Минимальная сумма выплаты — {MIN_AMOUNT} бонусов."


class BonusesExcluded(BusinessRefusal):
    code = "bonuses_excluded"
    message_ru = "Ваша группа покупателей не участвует в бонусной программе."


def payout_path(request_id: str) -> str:
    return f"{PAYOUTS}/{request_id}"


def reservation_of(request_id: str) -> str:
    return f"{PAYOUT_PREFIX}{request_id}"


def is_masked(details: str) -> bool:
    """No run of five or more digits once spaces, dots, dashes and brackets are removed."""
    return _LONG_NUMBER.search(_SEPARATORS.sub("", details)) is None


def _validate(request_id: str, amount: int, method: str, details: str) -> str:
    if not REQUEST_ID.fullmatch(request_id or ""):
        raise ValidationFailed("request_id must be 8 to 64 letters, digits, '_' or '-'", field="request_id")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationFailed("amount must be a positive whole number of bonuses", field="amount")
    if method not in METHODS:
        raise ValidationFailed(f"method must be one of {', '.join(METHODS)}", field="method")
    details = " ".join((details or "").split())
    if len(details) > DETAILS_MAX:
        raise ValidationFailed(f"details must be at most {DETAILS_MAX} characters", field="details")
    if method != "bonus_account" and not details:
        raise ValidationFailed("details are required for this method", field="details", message_ru="Укажите, куда перевести выплату.")
    if not is_masked(details):
        raise ValidationFailed(
            "details must be masked: at most four digits in a row",
            field="details",
            message_ru="Укажите реквизиты в скрытом виде, например «**** 1234».",
        )
    if amount < MIN_AMOUNT:
        raise PayoutBelowMinimum(f"the smallest payout is {MIN_AMOUNT} bonuses", minimum=MIN_AMOUNT, requested=amount)
    return details


def public(document: dict[str, Any]) -> dict[str, Any]:
    """The request as the partner sees it (no manager names)."""
    return {
        "request_id": document["request_id"],
        "amount": document["amount"],
        "method": document["method"],
        "details": document["details"],
        "status": document["status"],
        "created_at": document["created_at"],
        "updated_at": document["updated_at"],
        "history": [{"status": h["status"], "at": h["at"], "reason": h.get("reason") or None} for h in document.get("history", [])],
    }


def request_payout(store: Store, *, config: ProgramConfig, customer_id: str, request_id: str, amount: int, method: str, details: str, now: datetime) -> dict[str, Any]:
    """Ask for a payout of ``amount`` available bonuses; they are held until a manager decides.

    Refused: less than :data:`MIN_AMOUNT` (:class:`PayoutBelowMinimum`), more than
    available (:class:`~shared.domain.errors.InsufficientBonuses`), a group excluded
    from bonuses (:class:`BonusesExcluded`), unmasked details (400). The same request
    again returns it (``replayed``); the same id with other figures, or another
    customer's id, is an :class:`IdempotencyConflict`.
    """
    require_utc(now)
    details = _validate(request_id, amount, method, details)
    reservation = reservation_of(request_id)

    def unit(uow: UnitOfWork) -> dict[str, Any]:
        existing = uow.get(payout_path(request_id))
        if existing is not None:
            if existing["customer_id"] != customer_id or (existing["amount"], existing["method"], existing["details"]) != (amount, method, details):
                raise IdempotencyConflict("the request id was used for another request", field="request_id")
            return {**public(existing), "replayed": True}
        session = AccountSession(uow, customer_id)
        if not session.exists:
            raise unknown_customer(customer_id)
        if bonuses_excluded(config, session.account):
            raise BonusesExcluded("the customer's group is excluded from bonuses")
        session.post(reservation, Reserve(reservation_id=reservation, amount=amount, release_after=now + timedelta(days=HOLD_DAYS)), now=now)
        document = {
            "request_id": request_id,
            "customer_id": customer_id,
            "amount": amount,
            "method": method,
            "details": details,
            "status": "requested",
            "created_at": now,
            "updated_at": now,
            "history": [{"status": "requested", "at": now, "actor": customer_id, "reason": None}],
        }
        uow.create(payout_path(request_id), document)
        return {**public(document), "replayed": False}

    return store.run(unit)


def list_requests(store: Store, *, config: ProgramConfig, customer_id: str, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
    """A page of the partner's own requests with their status, in request-id order."""
    if not 1 <= limit <= LIST_MAX_LIMIT:
        raise ValidationFailed(f"limit must be 1..{LIST_MAX_LIMIT}", field="limit")
    account = read_customer(store, customer_id).account
    if bonuses_excluded(config, account):
        return excluded_answer(config, account)
    ids = store.matching(PAYOUTS, field="customer_id", value=customer_id, limit=limit, start_after=cursor)
    items = []
    for request_id in ids:
        document = store.get(payout_path(request_id))
        if document is not None and document.get("customer_id") == customer_id:
            items.append(public(document))
    return {"bonuses_excluded": False, "items": items, "next_cursor": ids[-1] if len(ids) == limit else None}


def _actor(actor: str) -> str:
    if not isinstance(actor, str) or not actor.strip():
        raise ValidationFailed("an actor is required", field="actor")
    return actor.strip()


def _load(uow: UnitOfWork, request_id: str) -> dict[str, Any]:
    document = uow.get(payout_path(request_id)) if REQUEST_ID.fullmatch(request_id or "") else None
    if document is None:
        raise NotFound("unknown payout request", request_id=request_id, message_ru="Заявка на выплату не найдена.")
    return document


def decide(store: Store, *, request_id: str, decision: Literal["approve", "reject"], actor: str, now: datetime, reason: str = "", then: Then | None = None) -> dict[str, Any]:
    """A manager approves (the held bonuses are written off) or rejects (they are released) a request.

    Idempotent: the same decision again returns the request (``replayed``); the
    other decision on a decided request is :class:`InvalidState`. Returns the
    stored request with ``replayed``.
    """
    require_utc(now)
    if decision not in ("approve", "reject"):
        raise ValidationFailed("decision must be approve or reject", field="decision")
    who = _actor(actor)
    target = "approved" if decision == "approve" else "rejected"
    reservation = reservation_of(request_id)

    def unit(uow: UnitOfWork) -> dict[str, Any]:
        document = _load(uow, request_id)
        status = document["status"]
        if status == target or (target == "approved" and status == "paid"):
            return {**document, "replayed": True}
        if status != "requested":
            raise InvalidState(f"the request is {status} already", request_id=request_id, status=status, message_ru="По заявке уже принято другое решение.")
        session = AccountSession(uow, document["customer_id"])
        held = session.account.reservations.get(reservation)
        if held is None or held.amount != document["amount"]:
            raise InvalidState("the request's bonuses are not held", request_id=request_id)
        if target == "approved":
            session.post(f"{reservation}:spend", Spend(amount=document["amount"], order_id=reservation, reservation_id=reservation), now=now)
        else:
            session.post(f"{reservation}:release", Release(reservation_id=reservation), now=now)
        updated = {
            **document,
            "status": target,
            "updated_at": now,
            "decided_by": who,
            "decided_at": now,
            "reason": reason or None,
            "history": [*document.get("history", []), {"status": target, "at": now, "actor": who, "reason": reason or None}],
        }
        uow.put(payout_path(request_id), updated)
        result = {**updated, "replayed": False}
        if then is not None:
            then(uow, result)
        return result

    return store.run(unit)


def mark_paid(store: Store, *, request_id: str, actor: str, now: datetime, then: Then | None = None) -> dict[str, Any]:
    """The money went out: an approved request becomes paid (again: a replay; otherwise :class:`InvalidState`)."""
    require_utc(now)
    who = _actor(actor)

    def unit(uow: UnitOfWork) -> dict[str, Any]:
        document = _load(uow, request_id)
        if document["status"] == "paid":
            return {**document, "replayed": True}
        if document["status"] != "approved":
            raise InvalidState(f"the request is {document['status']}, not approved", request_id=request_id, status=document["status"], message_ru="Выплатить можно только одобренную заявку.")
        updated = {
            **document,
            "status": "paid",
            "updated_at": now,
            "paid_by": who,
            "paid_at": now,
            "history": [*document.get("history", []), {"status": "paid", "at": now, "actor": who, "reason": None}],
        }
        uow.put(payout_path(request_id), updated)
        result = {**updated, "replayed": False}
        if then is not None:
            then(uow, result)
        return result

    return store.run(unit)
