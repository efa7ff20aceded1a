"""Payout requests in the back office: the list, an approval (maker-checker), a rejection, paid."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.api.admin import ApprovalView, PayoutListResponse, PayoutView
from shared.domain.errors import InvalidState, NotFound
from shared.edge.admin_auth import Admin
from shared.services.admin import _foreign
from shared.services.admin import audit as _audit
from shared.services.admin.approvals import request_approval
from shared.services.admin.common import required_reason
from shared.services.ports import Store, UnitOfWork


def request_payout_approval(store: Store, admin: Admin, *, request_id: str, reason: str, key: str | None, now: datetime) -> ApprovalView:
    """A manager approves a payout request: it waits for a second manager (maker-checker)."""
    admin.require("payout.approve")
    payout = _foreign.payout(store, request_id)
    if payout is None:
        raise NotFound("unknown payout request", request_id=request_id, message_ru="Заявка на выплату не найдена.")
    if payout["status"] != "requested":
        raise InvalidState(f"the request is {payout['status']} already", request_id=request_id, status=payout["status"], message_ru="По заявке уже принято решение.")
    approval = request_approval(store, admin, action="payout.approve", target=f"payout:{request_id}", params={"request_id": request_id, "reason": reason}, key=key or request_id, reason=reason, now=now)
    return ApprovalView.of(approval)


def list_payouts(store: Store, admin: Admin, *, status: str = "requested", cursor: str | None = None, limit: int = 50) -> PayoutListResponse:
    """Payout requests by status (``requested``: waiting for a decision), in request-id order."""
    admin.require("payout.read")
    items, next_cursor = _foreign.payouts_with_status(store, status, limit=limit, start_after=cursor)
    return PayoutListResponse.model_validate({"payouts": items, "next_cursor": next_cursor})


def reject_payout(store: Store, admin: Admin, *, request_id: str, reason: str, now: datetime) -> PayoutView:
    """A manager turns a payout request down (one person suffices: nothing leaves the shop)."""
    from shared.services import payouts

    admin.require("payout.reject")
    reason = required_reason(reason)

    def record(uow: UnitOfWork, result: dict[str, Any]) -> None:
        _audit.audit_in(uow, admin, action="payout.reject", target=f"payout:{request_id}", params={"reason": reason}, result=result, now=now)

    return PayoutView.model_validate(payouts.decide(store, request_id=request_id, decision="reject", actor=admin.email, now=now, reason=reason, then=record))


def mark_payout_paid(store: Store, admin: Admin, *, request_id: str, now: datetime) -> PayoutView:
    from shared.services import payouts

    admin.require("payout.mark_paid")

    def record(uow: UnitOfWork, result: dict[str, Any]) -> None:
        _audit.audit_in(uow, admin, action="payout.mark_paid", target=f"payout:{request_id}", params={}, result=result, now=now)

    return PayoutView.model_validate(payouts.mark_paid(store, request_id=request_id, actor=admin.email, now=now, then=record))
