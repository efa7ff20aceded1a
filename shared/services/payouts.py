"""Partner payout requests: asked for by the partner, decided by a manager, then paid.

``payouts/{request_id}``::

    {request_id, customer_id, amount, method, details, destination, status, created_at,
     updated_at, decided_by, decided_at, reason, paid_by, paid_at,
     history: [{status, at, actor, reason}]}

    requested -> approved -> paid
    requested -> rejected
    requested -> canceled   (a return's clawback reached what it holds: shared.services.clawbacks)

A payout draws only on the partner's **payable** balance: referral rewards
past their hold (:func:`shared.domain.payouts.payable`); welcome, purchase,
birthday, adjustment and mass-accrual bonuses are never payable. The smallest
payout is the program's ``payouts.min_amount``; a blocked customer asks for
none. While a request is open its bonuses are **held**: the request reserves
those rewards on the partner's account (reservation ``payout:<request_id>``,
releasing only in :data:`HOLD_DAYS` days, so the sweep never gives them back
on its own).

Approval spends the reservation (the bonuses are written off: the shop pays
them out in money) — for a ``bonus_account`` payout it then credits the same
bonuses back as ordinary spendable ones (source ``payout``, each part keeping
its reward's expiry, never payable again); rejection releases it. Every step
is one transaction over the request document and the partner's account, keyed
by the request (``payout:<id>``, ``payout:<id>:spend``, ``payout:<id>:release``):
a replay changes nothing, and a decision that contradicts the one taken is
:class:`InvalidState`.

The partner gives the full destination, so the manager can pay
(:mod:`shared.services.payout_destination`): ``destination`` keeps it only
sealed, bound to the request (:class:`~shared.services.payout_destination.Sealer`);
``details`` is its masked form (``**** 1234``, ``+7 *** ***-12-34``), the only
one the partner's pages, the back office's lists and the audit log show. The
roles that pay reveal it one request at a time, each reveal audited
(:func:`shared.services.admin.payouts.reveal_destination`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from shared.domain.config import ProgramConfig
from shared.domain.customer import bonuses_excluded, unknown_customer
from shared.domain.errors import BusinessRefusal, IdempotencyConflict, InsufficientBonuses, InvalidState, NotFound, ValidationFailed
from shared.domain.history import PAYOUT_PREFIX
from shared.domain.ledger import Accrue, Allocation, Release, Reserve, Spend, require_utc
from shared.domain.payouts import PAYABLE_SOURCE, PayoutMethod, PayoutOutcome, PayoutRequest, PayoutStatus, payable
from shared.services import triggers
from shared.services.ledger import AccountSession, read_customer
from shared.services.payout_destination import DETAILS_MAX, Destination, Sealer, is_masked
from shared.services.payout_destination import parse as parse_destination
from shared.services.ports import Store, UnitOfWork

if TYPE_CHECKING:  # shared.api.account imports this module's limits
    from shared.api.account import Payout, PayoutsResponse, PayoutView

METHODS = tuple(m.value for m in PayoutMethod)
STATUSES = tuple(s.value for s in PayoutStatus)
TO_BONUS_ACCOUNT = "payout"  # the source of bonuses a bonus_account payout moved into the ordinary balance
HOLD_DAYS = 3650  # the hold of an open request: far beyond any decision, so the sweep never releases it
LIST_MAX_LIMIT = 50
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{7,63}")


class PayoutBelowMinimum(BusinessRefusal):
    code = "payout_below_minimum"
    message_ru = "Сумма выплаты меньше минимальной."


class BonusesExcluded(BusinessRefusal):
    code = "bonuses_excluded"
    message_ru = "Ваша группа покупателей не участвует в бонусной программе."


def reservation_of(request_id: str) -> str:
    return f"{PAYOUT_PREFIX}{request_id}"


def sealed_context(request_id: str) -> str:
    """What a request's sealed destination is bound to: it opens on this request only."""
    return reservation_of(request_id)


def _validate(config: ProgramConfig, request_id: str, amount: int, method: str, details: str) -> Destination:
    if not REQUEST_ID.fullmatch(request_id or ""):
        raise ValidationFailed("request_id must be 8 to 64 letters, digits, '_' or '-'", field="request_id")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationFailed("amount must be a positive whole number of bonuses", field="amount")
    if method not in METHODS:
        raise ValidationFailed(f"method must be one of {', '.join(METHODS)}", field="method")
    destination = parse_destination(PayoutMethod(method), details)
    minimum = config.payouts.min_amount
    if amount < minimum:
        raise PayoutBelowMinimum(f"the smallest payout is {minimum} bonuses", message_ru=f"Минимальная сумма выплаты — {minimum} бонусов.", minimum=minimum, requested=amount)
    return destination


def _same_request(existing: PayoutRequest, *, customer_id: str, amount: int, method: PayoutMethod, destination: Destination, sealer: Sealer) -> bool:
    if existing.customer_id != customer_id or (existing.amount, existing.method, existing.details) != (amount, method, destination.masked):
        return False
    if existing.destination is None:
        return not destination.full
    try:
        return sealer.open(existing.destination, context=sealed_context(existing.request_id)) == destination.full
    except ValueError:  # sealed under another secret: it cannot be shown to be the same request
        return False


def _view(request: PayoutRequest) -> PayoutView:
    """The request as the partner sees it (no manager names)."""
    from shared.api.account import PayoutEvent, PayoutView

    return PayoutView(
        request_id=request.request_id,
        amount=request.amount,
        method=request.method.value,
        details=request.details,
        status=request.status.value,
        created_at=request.created_at,
        updated_at=request.updated_at,
        history=[PayoutEvent(status=h.status.value, at=h.at, reason=h.reason or None) for h in request.history],
    )


def _answer(request: PayoutRequest, *, replayed: bool) -> Payout:
    from shared.api.account import Payout

    return Payout(**_view(request).model_dump(), replayed=replayed)


def request_payout(
    store: Store, *, config: ProgramConfig, customer_id: str, request_id: str, amount: int, method: str, details: str, now: datetime, sealer: Sealer
) -> Payout:
    """Ask for a payout of ``amount`` payable bonuses to ``details``; they are held until a manager decides.

    ``details`` is the full destination (card number, phone, SBP bank and phone;
    nothing for the bonus account): it is stored sealed by ``sealer``, and only
    its masked form is answered. Refused: a destination the manager could not pay
    to (400, field ``details``), less than the program's ``payouts.min_amount``
    (:class:`PayoutBelowMinimum`), more than payable
    (:class:`~shared.domain.errors.InsufficientBonuses`), a blocked customer
    (:class:`~shared.domain.errors.Forbidden`), a group excluded from bonuses
    (:class:`BonusesExcluded`). The same request again returns it (``replayed``);
    the same id with other figures, or another customer's id, is an
    :class:`IdempotencyConflict`.
    """
    require_utc(now)
    destination = _validate(config, request_id, amount, method, details)
    reservation = reservation_of(request_id)
    chosen = PayoutMethod(method)

    def unit(uow: UnitOfWork) -> Payout:
        existing = uow.payouts.get(request_id)
        if existing is not None:
            if not _same_request(existing, customer_id=customer_id, amount=amount, method=chosen, destination=destination, sealer=sealer):
                raise IdempotencyConflict("the request id was used for another request", field="request_id")
            return _answer(existing, replayed=True)
        session = AccountSession(uow, customer_id)
        if not session.exists:
            raise unknown_customer(customer_id)
        session.require_active()
        if bonuses_excluded(config, session.account):
            raise BonusesExcluded("the customer's group is excluded from bonuses")
        can_pay = payable(session.account, now)
        if amount > can_pay:
            raise InsufficientBonuses(
                f"requested {amount} bonuses, {can_pay} payable (referral rewards past their hold)",
                message_ru=f"Недостаточно бонусов к выплате: доступно {can_pay}. Выплатить можно только вознаграждение партнёра после окончания удержания.",
                requested=amount,
                payable=can_pay,
            )
        hold = Reserve(reservation_id=reservation, amount=amount, release_after=now + timedelta(days=HOLD_DAYS), source=PAYABLE_SOURCE)
        session.post(reservation, hold, now=now)
        sealed = sealer.seal(destination.full, context=sealed_context(request_id)) if destination.full else None
        request = PayoutRequest.new(request_id=request_id, customer_id=customer_id, amount=amount, method=chosen, details=destination.masked, destination=sealed, now=now)
        uow.payouts.create(request)
        triggers.payout_status(uow, config, request=request, now=now)
        return _answer(request, replayed=False)

    return store.run(unit)


def list_requests(store: Store, *, config: ProgramConfig, customer_id: str, limit: int = 20, cursor: str | None = None) -> PayoutsResponse:
    """A page of the partner's own requests with their status, in request-id order."""
    from shared.api.account import PayoutsPage, PayoutsResponse
    from shared.services.account import excluded

    if not 1 <= limit <= LIST_MAX_LIMIT:
        raise ValidationFailed(f"limit must be 1..{LIST_MAX_LIMIT}", field="limit")
    account = read_customer(store, customer_id).account
    if bonuses_excluded(config, account):
        return PayoutsResponse(excluded(config, account))

    def page(uow: UnitOfWork) -> tuple[list[str], list[PayoutRequest]]:
        ids = uow.payouts.ids_of_customer(customer_id, limit=limit, after=cursor)
        return ids, uow.payouts.get_many(ids)

    ids, found = store.read(page)
    items = [_view(request) for request in found if request.customer_id == customer_id]
    return PayoutsResponse(PayoutsPage(items=items, next_cursor=ids[-1] if len(ids) == limit else None))


def _actor(actor: str) -> str:
    if not isinstance(actor, str) or not actor.strip():
        raise ValidationFailed("an actor is required", field="actor")
    return actor.strip()


def _load(uow: UnitOfWork, request_id: str) -> PayoutRequest:
    request = uow.payouts.get(request_id) if REQUEST_ID.fullmatch(request_id or "") else None
    if request is None:
        raise NotFound("unknown payout request", request_id=request_id, message_ru="Заявка на выплату не найдена.")
    return request


def get(store: Store, request_id: str) -> PayoutRequest | None:
    """A request by its id (``None``: unknown, or not a request id)."""
    return store.read(lambda uow: uow.payouts.get(request_id)) if REQUEST_ID.fullmatch(request_id or "") else None


def with_status(store: Store, status: PayoutStatus, *, cursor: str | None = None, limit: int = 50) -> tuple[list[PayoutRequest], str | None]:
    """A page of the requests in ``status``, in request-id order, and the cursor of the next page."""

    def page(uow: UnitOfWork) -> tuple[list[str], list[PayoutRequest]]:
        ids = uow.payouts.ids_with_status(status, limit=limit, after=cursor)
        return ids, uow.payouts.get_many(ids)

    ids, found = store.read(page)
    return found, ids[-1] if len(ids) == limit else None


OutcomeThen = Callable[[UnitOfWork, PayoutOutcome], None]


def _to_bonus_account(session: AccountSession, reservation: str, paid: Sequence[Allocation], now: datetime) -> None:
    """A ``bonus_account`` payout: the rewards it wrote off come back as ordinary spendable bonuses
    (source ``payout``, never payable), each part keeping its reward's expiry; a part whose reward
    expired meanwhile is worth nothing and comes back as nothing."""
    for part in paid:
        if part.expires_at > now:
            credit = Accrue(amount=part.amount, source=TO_BONUS_ACCOUNT, ref=reservation, activates_at=now, expires_at=part.expires_at, order_id=reservation, merge=True)
            session.post(f"{reservation}:credit:{part.lot_id}", credit, now=now)


def decide_request(
    store: Store,
    *,
    request_id: str,
    decision: Literal["approve", "reject"],
    actor: str,
    now: datetime,
    reason: str = "",
    then: OutcomeThen | None = None,
    config: ProgramConfig | None = None,
) -> PayoutOutcome:
    """A manager approves (the held bonuses are written off; for ``bonus_account`` moved into the
    ordinary spendable balance) or rejects (they are released) a request.

    Idempotent: the same decision again returns the request (``replayed``); the
    other decision on a decided request is :class:`InvalidState`. ``then`` runs
    with the outcome only when the request changed. With ``config`` the partner is
    told (the ``payout_status`` message, in the same transaction).
    """
    require_utc(now)
    if decision not in ("approve", "reject"):
        raise ValidationFailed("decision must be approve or reject", field="decision")
    who = _actor(actor)
    target = PayoutStatus.APPROVED if decision == "approve" else PayoutStatus.REJECTED
    reservation = reservation_of(request_id)

    def unit(uow: UnitOfWork) -> PayoutOutcome:
        request = _load(uow, request_id)
        status = request.status
        if status == target or (target is PayoutStatus.APPROVED and status is PayoutStatus.PAID):
            return PayoutOutcome(request, replayed=True)
        if status is not PayoutStatus.REQUESTED:
            raise InvalidState(f"the request is {status.value} already", request_id=request_id, status=status.value, message_ru="По заявке уже принято другое решение.")
        session = AccountSession(uow, request.customer_id)
        held = session.account.reservations.get(reservation)
        if held is None or held.amount != request.amount:
            raise InvalidState("the request's bonuses are not held", request_id=request_id)
        if target is PayoutStatus.APPROVED:
            spent = session.post(f"{reservation}:spend", Spend(amount=request.amount, order_id=reservation, reservation_id=reservation), now=now)
            if request.method is PayoutMethod.BONUS_ACCOUNT:
                _to_bonus_account(session, reservation, spent.allocations, now)
        else:
            session.post(f"{reservation}:release", Release(reservation_id=reservation), now=now)
        updated = request.decided(target, by=who, reason=reason or None, now=now)
        uow.payouts.put(updated)
        if config is not None:
            triggers.payout_status(uow, config, request=updated, now=now)
        outcome = PayoutOutcome(updated, replayed=False)
        if then is not None:
            then(uow, outcome)
        return outcome

    return store.run(unit)


def settle(store: Store, *, request_id: str, actor: str, now: datetime, then: OutcomeThen | None = None, config: ProgramConfig | None = None) -> PayoutOutcome:
    """The money went out: an approved request becomes paid (again: a replay; otherwise :class:`InvalidState`).
    With ``config`` the partner is told (``payout_status``)."""
    require_utc(now)
    who = _actor(actor)

    def unit(uow: UnitOfWork) -> PayoutOutcome:
        request = _load(uow, request_id)
        if request.status is PayoutStatus.PAID:
            return PayoutOutcome(request, replayed=True)
        if request.status is not PayoutStatus.APPROVED:
            raise InvalidState(
                f"the request is {request.status.value}, not approved", request_id=request_id, status=request.status.value, message_ru="Выплатить можно только одобренную заявку."
            )
        outcome = PayoutOutcome(request.paid(by=who, now=now), replayed=False)
        uow.payouts.put(outcome.request)
        if config is not None:
            triggers.payout_status(uow, config, request=outcome.request, now=now)
        if then is not None:
            then(uow, outcome)
        return outcome

    return store.run(unit)


__all__ = [
    "DETAILS_MAX", "HOLD_DAYS", "LIST_MAX_LIMIT", "METHODS", "REQUEST_ID", "STATUSES", "BonusesExcluded", "OutcomeThen",
    "PayoutBelowMinimum", "Sealer", "decide_request", "get", "is_masked", "list_requests", "request_payout",
    "reservation_of", "sealed_context", "settle", "with_status",
]
