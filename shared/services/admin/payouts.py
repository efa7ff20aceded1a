"""Payout requests in the back office: the list, an approval (maker-checker), a rejection, paid,
and the reveal of a request's full destination to the roles that pay."""

from __future__ import annotations

from datetime import datetime

from shared.api.admin import ApprovalView, PayoutDestinationView, PayoutListResponse, PayoutView
from shared.api.admin.reports import PayoutExportResponse, PayoutExportRow
from shared.domain.config import ProgramConfig
from shared.domain.errors import InvalidState, NotFound
from shared.domain.payouts import PayoutMethod, PayoutOutcome, PayoutStatus
from shared.edge.admin_auth import Admin
from shared.services import payouts
from shared.services.admin import audit as _audit
from shared.services.admin.approvals import request_approval
from shared.services.admin.common import payout_result, required_reason
from shared.services.payout_destination import Sealer
from shared.services.ports import Store, UnitOfWork

# while the money may still go out: to check the destination before approving it, and to pay
REVEALABLE = (PayoutStatus.REQUESTED, PayoutStatus.APPROVED)


def request_payout_approval(store: Store, admin: Admin, *, request_id: str, reason: str, key: str | None, now: datetime) -> ApprovalView:
    """A manager approves a payout request: it waits for a second manager (maker-checker)."""
    admin.require("payout.approve")
    payout = payouts.get(store, request_id)
    if payout is None:
        raise NotFound("unknown payout request", request_id=request_id, message_ru="Заявка на выплату не найдена.")
    if payout.status is not PayoutStatus.REQUESTED:
        status = payout.status.value
        raise InvalidState(f"the request is {status} already", request_id=request_id, status=status, message_ru="По заявке уже принято решение.")
    params = {"request_id": request_id, "reason": reason}
    approval = request_approval(store, admin, action="payout.approve", target=f"payout:{request_id}", params=params, key=key or request_id, reason=reason, now=now)
    return ApprovalView.of(approval)


def list_payouts(store: Store, admin: Admin, *, status: str = "requested", cursor: str | None = None, limit: int = 50) -> PayoutListResponse:
    """Payout requests by status (``requested``: waiting for a decision), in request-id order."""
    admin.require("payout.read")
    found, next_cursor = payouts.with_status(store, PayoutStatus(status), cursor=cursor, limit=limit)
    return PayoutListResponse(payouts=[PayoutView.of(request) for request in found], next_cursor=next_cursor)


def _view(outcome: PayoutOutcome) -> PayoutView:
    return PayoutView.of(outcome.request, replayed=outcome.replayed)


def reject_payout(store: Store, admin: Admin, *, request_id: str, reason: str, now: datetime, config: ProgramConfig | None = None) -> PayoutView:
    """A manager turns a payout request down (one person suffices: nothing leaves the shop)."""
    admin.require("payout.reject")
    reason = required_reason(reason)

    def record(uow: UnitOfWork, outcome: PayoutOutcome) -> None:
        _audit.audit_in(uow, admin, action="payout.reject", target=f"payout:{request_id}", params={"reason": reason}, result=payout_result(outcome), now=now)

    return _view(payouts.decide_request(store, request_id=request_id, decision="reject", actor=admin.email, now=now, reason=reason, then=record, config=config))


def mark_payout_paid(store: Store, admin: Admin, *, request_id: str, now: datetime, config: ProgramConfig | None = None) -> PayoutView:
    admin.require("payout.mark_paid")

    def record(uow: UnitOfWork, outcome: PayoutOutcome) -> None:
        _audit.audit_in(uow, admin, action="payout.mark_paid", target=f"payout:{request_id}", params={}, result=payout_result(outcome), now=now)

    return _view(payouts.settle(store, request_id=request_id, actor=admin.email, now=now, then=record, config=config))


def reveal_destination(store: Store, admin: Admin, *, request_id: str, sealer: Sealer, now: datetime) -> PayoutDestinationView:
    """The full destination of an open or approved request, for a role that pays (``payout.reveal``).

    Every reveal is audited (``payout.reveal``, with the masked form only) in the
    transaction that reads the request: no record, no reveal. A request to the
    bonus account has no destination; a rejected or paid one shows it no more; one
    sealed under another secret does not open (:class:`InvalidState` each).
    """
    admin.require("payout.reveal")

    def unit(uow: UnitOfWork) -> PayoutDestinationView:
        request = uow.payouts.get(request_id) if payouts.REQUEST_ID.fullmatch(request_id or "") else None
        if request is None:
            raise NotFound("unknown payout request", request_id=request_id, message_ru="Заявка на выплату не найдена.")
        if request.destination is None and request.method is PayoutMethod.BONUS_ACCOUNT:
            raise InvalidState("a payout to the bonus account has no destination", request_id=request_id, message_ru="Выплата на бонусный счёт: реквизитов нет.")
        if request.destination is None:  # asked for when only a masked destination was kept
            raise InvalidState("the request keeps its destination masked only", request_id=request_id, message_ru="По заявке сохранены только скрытые реквизиты: уточните их у партнёра.")
        if request.status not in REVEALABLE:
            status = request.status.value
            raise InvalidState(f"the request is {status}: its destination is no longer shown", request_id=request_id, status=status, message_ru="Реквизиты закрытой заявки не показываются.")
        try:
            full = sealer.open(request.destination, context=payouts.sealed_context(request_id))
        except ValueError:  # sealed under another secret (rotated) or altered: nothing to show, nothing audited
            raise InvalidState("the destination does not open with the secret in force", request_id=request_id, message_ru="Реквизиты заявки не читаются: уточните их у партнёра.") from None
        result = {"request_id": request_id, "method": request.method.value, "details": request.details, "status": request.status.value}
        _audit.audit_in(uow, admin, action="payout.reveal", target=f"payout:{request_id}", params={}, result=result, now=now)
        return PayoutDestinationView(request_id=request_id, method=request.method.value, details=request.details, destination=full)

    return store.run(unit)


#: approved payouts one export holds at most (the bank's batch)
EXPORT_LIMIT = 1000


def export_approved(store: Store, admin: Admin, *, reveal: bool, sealer: Sealer | None, now: datetime) -> PayoutExportResponse:
    """The bank's batch: every approved payout not yet paid (to a card, a phone or SBP), amounts in kopecks.

    ``reveal`` puts the full destinations in (``payout.reveal``, with ``sealer``); every export of
    at least one request is audited (``payout.export``: how many, the total, whether revealed, the
    request ids) in the transaction that reads the requests, so no destination leaves without its record.
    """
    admin.require("payout.read")
    if reveal:
        admin.require("payout.reveal")
        assert sealer is not None
    found: list[str] = []
    cursor: str | None = None
    while len(found) < EXPORT_LIMIT:
        page, cursor = payouts.with_status(store, PayoutStatus.APPROVED, cursor=cursor, limit=200)
        found += [p.request_id for p in page if p.method is not PayoutMethod.BONUS_ACCOUNT]
        if cursor is None:
            break

    def unit(uow: UnitOfWork) -> PayoutExportResponse:
        rows = []
        for request in uow.payouts.get_many(found[:EXPORT_LIMIT]):
            if request.status is not PayoutStatus.APPROVED:  # paid or moved on meanwhile
                continue
            full = None
            if reveal and sealer is not None and request.destination is not None:
                try:
                    full = sealer.open(request.destination, context=payouts.sealed_context(request.request_id))
                except ValueError:  # sealed under another secret: left masked
                    full = None
            rows.append(PayoutExportRow(request_id=request.request_id, customer_id=request.customer_id, amount=request.amount * 100, method=request.method.value,
                                        details=request.details, destination=full, approved_at=request.decided_at))
        total = sum(r.amount for r in rows)
        if rows:  # an empty batch shows nothing: no record
            result = {"rows": len(rows), "total": total, "revealed": reveal, "request_ids": [r.request_id for r in rows]}
            _audit.audit_in(uow, admin, action="payout.export", target="payouts:approved", params={"reveal": reveal}, result=result, now=now)
        return PayoutExportResponse(generated_at=now, revealed=reveal, rows=rows, total=total)

    return store.run(unit)


def get_payout(store: Store, admin: Admin, *, request_id: str) -> PayoutView:
    """One payout request, its destination masked (``payout.read``)."""
    admin.require("payout.read")
    request = payouts.get(store, request_id)
    if request is None:
        raise NotFound("unknown payout request", request_id=request_id, message_ru="Заявка на выплату не найдена.")
    return PayoutView.of(request)
