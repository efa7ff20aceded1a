"""Maker-checker approvals: ``approvals/{id}``.

Manual adjustments above ``KOPILKA_ADJUSTMENT_APPROVAL_THRESHOLD`` bonuses and
every payout approval are not done at once: they become a *pending* approval.
Another admin holding a role of that action approves it (the maker never can),
which executes it exactly once (``executed``), or rejects it (``rejected``; the
maker may withdraw their own). An adjustment executes in the transaction that
marks the approval executed; a payout is claimed first (``approved``), decided
by :mod:`shared.services.payouts`, then marked executed — a checker who
approves again after a crash drives the same, idempotent decision.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shared.api.admin import ApprovalListResponse, ApprovalView
from shared.domain.admin import Approval, ApprovalStatus
from shared.domain.errors import (
    BusinessRefusal,
    Forbidden,
    IdempotencyConflict,
    InvalidState,
    NotFound,
)
from shared.domain.ledger import Adjust, digest, require_utc
from shared.edge.admin_auth import Admin
from shared.services.admin import audit as _audit
from shared.services.admin.common import payout_result, require_creditable, well_formed_id
from shared.services.ledger import AccountSession
from shared.services.ports import Store, UnitOfWork


def request_approval(store: Store, admin: Admin, *, action: str, target: str, params: dict[str, Any], key: str, reason: str, now: datetime) -> Approval:
    """Record an action that waits for a second admin (idempotent by maker, action, target and key)."""
    admin.require(action)
    approval_id = "A" + digest(f"{admin.email}|{action}|{target}|{key}", 24)
    requested = Approval.request(approval_id=approval_id, action=action, target=target, params=params, maker=admin.email, maker_roles=tuple(admin.roles), reason=reason, now=now)

    def unit(uow: UnitOfWork) -> Approval:
        existing = uow.approvals.get(approval_id)
        if existing is not None:
            if dict(existing.params) != dict(requested.params):
                raise IdempotencyConflict("this idempotency key was used for another request", key=key, approval_id=approval_id)
            return existing
        uow.approvals.create(requested)
        _audit.audit_in(
            uow,
            admin,
            action=f"{action}.requested",
            target=target,
            params={**requested.params, "approval_id": approval_id},
            result={"status": "pending", "approval_id": approval_id},
            now=now,
        )
        return requested

    return store.run(unit)


def _find(store: Store, approval_id: str) -> Approval:
    approval = store.read(lambda uow: uow.approvals.get(approval_id)) if well_formed_id(approval_id) else None
    if approval is None:
        raise NotFound("unknown approval", approval_id=approval_id)
    return approval


def get_approval(store: Store, admin: Admin, approval_id: str) -> ApprovalView:
    admin.require("approval.read")
    return ApprovalView.of(_find(store, approval_id))


def list_approvals(store: Store, admin: Admin, *, status: ApprovalStatus = ApprovalStatus.PENDING, cursor: str | None = None, limit: int = 50) -> ApprovalListResponse:
    admin.require("approval.read")
    found, next_cursor = store.read(lambda uow: uow.approvals.with_status(status, limit=limit, start_after=cursor))
    return ApprovalListResponse(approvals=[ApprovalView.of(a) for a in found], next_cursor=next_cursor)


def _checkable(store: Store, admin: Admin, approval_id: str) -> Approval:
    approval = _find(store, approval_id)
    admin.require(approval.action)
    return approval


def approve(store: Store, admin: Admin, approval_id: str, *, now: datetime) -> ApprovalView:
    """A second admin approves: the action runs exactly once. The maker cannot approve their own."""
    require_utc(now)
    approval = _checkable(store, admin, approval_id)
    if approval.maker == admin.email:
        raise Forbidden("the maker of a request cannot approve it", message_ru="Нельзя подтвердить собственный запрос: нужен другой сотрудник.", approval_id=approval_id)
    if approval.status is ApprovalStatus.EXECUTED:
        return ApprovalView.of(approval, replayed=True)
    if approval.status not in (ApprovalStatus.PENDING, ApprovalStatus.APPROVED):
        raise InvalidState(f"the approval is {approval.status.value}", approval_id=approval_id, status=approval.status.value)
    result, executed = EXECUTORS[approval.action](store, admin, approval, now)
    return ApprovalView.of(result, replayed=not executed)


def reject(store: Store, admin: Admin, approval_id: str, *, reason: str, now: datetime) -> ApprovalView:
    """Turn a pending approval down (a checker, or the maker withdrawing it); nothing is executed."""
    require_utc(now)
    approval = _checkable(store, admin, approval_id)

    def unit(uow: UnitOfWork) -> Approval:
        current = uow.approvals.get(approval_id) or approval
        if current.status is ApprovalStatus.REJECTED:
            return current
        if current.status is not ApprovalStatus.PENDING:
            raise InvalidState(f"the approval is {current.status.value}", approval_id=approval_id, status=current.status.value)
        updated = current.rejected(admin.email, now, reason)
        uow.approvals.put(updated)
        _audit.audit_in(
            uow, admin, action="approval.reject", target=current.target, params={"approval_id": approval_id, "action": current.action, "reason": reason}, result={"status": "rejected"}, now=now
        )
        return updated

    return ApprovalView.of(store.run(unit))


def _execute_adjust(store: Store, checker: Admin, approval: Approval, now: datetime) -> tuple[Approval, bool]:
    """Post the adjustment and mark the approval executed, in one transaction: (approval, executed now)."""
    params = approval.params

    def unit(uow: UnitOfWork) -> tuple[Approval, bool]:
        current = uow.approvals.get(approval.id) or approval
        if current.status is ApprovalStatus.EXECUTED:
            return current, False
        if current.status is not ApprovalStatus.PENDING:
            raise InvalidState(f"the approval is {current.status.value}", approval_id=approval.id)
        session = AccountSession(uow, params["customer_id"])
        if not session.exists:
            raise NotFound("unknown customer", customer_id=params["customer_id"])
        require_creditable(session.blocking, customer_id=params["customer_id"], amount=params["amount"], roles=current.maker_roles)
        outcome = session.post(
            f"approval:{approval.id}",
            Adjust(amount=params["amount"], actor=approval.maker, reason=params["reason"], expires_at=now + timedelta(days=params["lifetime_days"])),
            now=now,
        )
        result = {"adjusted": outcome.adjusted, "customer_id": params["customer_id"], "approved_by": checker.email}
        updated = current.executed(checker.email, now, result)
        uow.approvals.put(updated)
        _audit.audit_in(
            uow, checker, action="approval.approve", target=current.target, params={"approval_id": approval.id, "action": current.action, "maker": current.maker}, result=result, now=now
        )
        return updated, True

    return store.run(unit)


def _execute_payout(store: Store, checker: Admin, approval: Approval, now: datetime) -> tuple[Approval, bool]:
    """Claim the approval, decide the payout (idempotent), mark it executed: (approval, executed now)."""
    from shared.services import payouts

    approval_id = approval.id

    def claim(uow: UnitOfWork) -> Approval:
        current = uow.approvals.get(approval_id) or approval
        if current.status is ApprovalStatus.PENDING:
            current = current.claimed(checker.email, now)
            uow.approvals.put(current)
        return current

    claimed = store.run(claim)
    if claimed.status is ApprovalStatus.EXECUTED:
        return claimed, False
    if claimed.status is not ApprovalStatus.APPROVED:
        raise InvalidState(f"the approval is {claimed.status.value}", approval_id=approval_id)
    request_id = approval.params["request_id"]
    try:
        result = payout_result(
            payouts.decide_request(
                store,
                request_id=request_id,
                decision="approve",
                actor=checker.email,
                now=now,
                reason=approval.params.get("reason") or f"approval {approval_id} by {checker.email}, requested by {approval.maker}",
            )
        )
    except (NotFound, InvalidState, IdempotencyConflict, BusinessRefusal) as exc:
        # the payout can no longer be approved (e.g. rejected meanwhile): the approval fails, visibly
        failure = exc.to_dict()

        def fail(uow: UnitOfWork) -> None:
            current = uow.approvals.get(approval_id) or claimed
            if current.status is ApprovalStatus.APPROVED:
                uow.approvals.put(current.failed(failure))

        store.run(fail)
        raise

    def finish(uow: UnitOfWork) -> tuple[Approval, bool]:
        current = uow.approvals.get(approval_id) or claimed
        if current.status is ApprovalStatus.EXECUTED:
            return current, False
        updated = current.executed(checker.email, now, result)
        uow.approvals.put(updated)
        _audit.audit_in(
            uow, checker, action="approval.approve", target=current.target, params={"approval_id": approval_id, "action": current.action, "maker": current.maker}, result=result, now=now
        )
        return updated, True

    return store.run(finish)


# What approving executes, by the approval's action.
EXECUTORS: dict[str, Callable[[Store, Admin, Approval, datetime], tuple[Approval, bool]]] = {
    "ledger.adjust": _execute_adjust,
    "payout.approve": _execute_payout,
}
