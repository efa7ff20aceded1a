"""Maker-checker approvals: ``approvals/{id}``.

What waits for a second person instead of being done at once:

* a manual adjustment once the maker's bonus changes over a rolling 24 hours —
  to that customer, or in total — would pass the program's thresholds
  (:mod:`shared.domain.maker_checker`, :mod:`shared.services.admin.adjustments`);
* a mass accrual whose amount × customers passes its threshold, or that would
  take the maker's 24 hours past theirs (:mod:`shared.services.admin.mass_accruals`);
* a program change that touches money (:mod:`shared.domain.config_diff`,
  :mod:`shared.services.admin.program`);
* every payout approval.

The approval's ``params`` hold the exact change and what the checker is
shown of its effect (``effect``: the maker's 24 hours with it; ``changes``:
the config diff). Another admin holding a role of that action approves it (the
maker never can), which executes it exactly once (``executed``), or rejects it
(``rejected``; the maker may withdraw their own). An adjustment executes in the
transaction that marks the approval executed, as does a mass accrual's release
(its job goes from ``pending_approval`` to ``running``) and a config's
publication (refused, and the approval ``failed``, when the program changed
since the diff was made); a payout is claimed first (``approved``), decided by
:mod:`shared.services.payouts`, then marked executed — a checker who approves
again after a crash drives the same, idempotent decision.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shared.api.admin import ApprovalListResponse, ApprovalView
from shared.domain.admin import Approval, ApprovalStatus, JobStatus, JsonObject, jsonable
from shared.domain.config import ConfigVersion, ProgramConfig
from shared.domain.customer import bonuses_excluded
from shared.domain.errors import (
    BusinessRefusal,
    DomainError,
    Forbidden,
    IdempotencyConflict,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from shared.domain.ledger import Adjust, digest, require_utc
from shared.edge.admin_auth import Admin
from shared.services.admin import audit as _audit
from shared.services.admin.common import payout_result, require_creditable, well_formed_id
from shared.services.ledger import AccountSession
from shared.services.payouts import BonusesExcluded
from shared.services.ports import Store, UnitOfWork

# Params that show the checker the effect; not the request's intent, so left out when a
# request is compared with the one its key made before.
SHOWN = frozenset({"effect", "changes", "base_version", "customers", "total"})


def approval_id_for(maker: str, action: str, target: str, key: str) -> str:
    """The approval a maker's request makes: one per maker, action, target and idempotency key."""
    return "A" + digest(f"{maker}|{action}|{target}|{key}", 24)


def _intent(params: JsonObject) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in SHOWN}


def existing_request(uow: UnitOfWork, approval_id: str, params: dict[str, Any], *, key: str) -> Approval | None:
    """The approval a key made before, if any; another intent under the same key is a conflict."""
    existing = uow.approvals.get(approval_id)
    if existing is not None and _intent(existing.params) != _intent(jsonable(params)):
        raise IdempotencyConflict("this idempotency key was used for another request", key=key, approval_id=approval_id)
    return existing


def request_in(uow: UnitOfWork, admin: Admin, *, action: str, target: str, params: dict[str, Any], key: str, reason: str, now: datetime) -> Approval:
    """Record, in ``uow``, an action that waits for a second admin (idempotent by maker, action, target and key)."""
    admin.require(action)
    approval_id = approval_id_for(admin.email, action, target, key)
    existing = existing_request(uow, approval_id, params, key=key)
    if existing is not None:
        return existing
    requested = Approval.request(approval_id=approval_id, action=action, target=target, params=params, maker=admin.email, maker_roles=tuple(admin.roles), reason=reason, now=now)
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


def request_approval(store: Store, admin: Admin, *, action: str, target: str, params: dict[str, Any], key: str, reason: str, now: datetime) -> Approval:
    """Record an action that waits for a second admin, in its own transaction."""
    admin.require(action)
    return store.run(lambda uow: request_in(uow, admin, action=action, target=target, params=params, key=key, reason=reason, now=now))


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


def approve(store: Store, admin: Admin, approval_id: str, *, config: ProgramConfig, now: datetime, comment: str | None = None) -> ApprovalView:
    """A second admin approves: the action runs exactly once. The maker cannot approve their own.
    The checker's ``comment`` is kept with the decision in the audit log."""
    require_utc(now)
    approval = _checkable(store, admin, approval_id)
    if approval.maker == admin.email:
        raise Forbidden("the maker of a request cannot approve it", message_ru="Нельзя подтвердить собственный запрос: нужен другой сотрудник.", approval_id=approval_id)
    if approval.status is ApprovalStatus.EXECUTED:
        return ApprovalView.of(approval, replayed=True)
    if approval.status not in (ApprovalStatus.PENDING, ApprovalStatus.APPROVED):
        raise InvalidState(f"the approval is {approval.status.value}", approval_id=approval_id, status=approval.status.value)
    result, executed = EXECUTORS[approval.action](store, admin, approval, config, now, comment)
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
        if current.action == MASS_ACCRUAL_ACTION:  # its job never runs
            job = uow.jobs.get(str(current.params["job_id"]))
            if job is not None and job.status is JobStatus.PENDING_APPROVAL:
                uow.jobs.put(job.rejected(now))
        _audit.audit_in(
            uow, admin, action="approval.reject", target=current.target, params={"approval_id": approval_id, "action": current.action, "reason": reason}, result={"status": "rejected"}, now=now
        )
        return updated

    return ApprovalView.of(store.run(unit))


def _pending(uow: UnitOfWork, approval: Approval) -> Approval:
    """The approval as stored now: still pending, or executed already (a replay); any other state is refused."""
    current = uow.approvals.get(approval.id) or approval
    if current.status not in (ApprovalStatus.PENDING, ApprovalStatus.EXECUTED):
        raise InvalidState(f"the approval is {current.status.value}", approval_id=approval.id)
    return current


def _execute_adjust(store: Store, checker: Admin, approval: Approval, config: ProgramConfig, now: datetime, comment: str | None = None) -> tuple[Approval, bool]:
    """Post the adjustment and mark the approval executed, in one transaction: (approval, executed now)."""
    params = approval.params

    def unit(uow: UnitOfWork) -> tuple[Approval, bool]:
        current = _pending(uow, approval)
        if current.status is ApprovalStatus.EXECUTED:
            return current, False
        session = AccountSession(uow, params["customer_id"])
        if not session.exists:
            raise NotFound("unknown customer", customer_id=params["customer_id"])
        require_creditable(session.blocking, customer_id=params["customer_id"], amount=params["amount"], roles=current.maker_roles)
        if params["amount"] > 0 and bonuses_excluded(config, session.account):  # moved to a group excluded from bonuses since the request
            raise BonusesExcluded(
                "the customer's group is excluded from bonuses: nothing can be credited",
                customer_id=params["customer_id"],
                message_ru="Группа покупателя не участвует в бонусной программе: начислить бонусы нельзя.",
            )
        outcome = session.post(
            f"approval:{approval.id}",
            Adjust(amount=params["amount"], actor=approval.maker, reason=params["reason"], expires_at=now + timedelta(days=params["lifetime_days"])),
            now=now,
        )
        result = {"adjusted": outcome.adjusted, "customer_id": params["customer_id"], "approved_by": checker.email}
        return _record_approval(uow, checker, current, result, now, comment), True

    return store.run(unit)


def _execute_payout(store: Store, checker: Admin, approval: Approval, config: ProgramConfig, now: datetime, comment: str | None = None) -> tuple[Approval, bool]:
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
                config=config,
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
            uow, checker, action="approval.approve", target=current.target, params=_decision(current, comment), result=result, now=now
        )
        return updated, True

    return store.run(finish)


def _decision(current: Approval, comment: str | None) -> dict[str, Any]:
    """What the audit log keeps of a checker's approval (their comment when they gave one)."""
    params: dict[str, Any] = {"approval_id": current.id, "action": current.action, "maker": current.maker}
    return {**params, "comment": comment} if comment else params


def _record_approval(uow: UnitOfWork, checker: Admin, current: Approval, result: JsonObject, now: datetime, comment: str | None = None) -> Approval:
    updated = current.executed(checker.email, now, result)
    uow.approvals.put(updated)
    _audit.audit_in(uow, checker, action="approval.approve", target=current.target, params=_decision(current, comment), result=result, now=now)
    return updated


def _execute_mass_accrual(store: Store, checker: Admin, approval: Approval, config: ProgramConfig, now: datetime, comment: str | None = None) -> tuple[Approval, bool]:
    """Release the job (``pending_approval`` → ``running``) and mark the approval executed, in one transaction;
    the job then runs with ``/run``, never crediting more than the total approved."""
    job_id = str(approval.params["job_id"])

    def unit(uow: UnitOfWork) -> tuple[Approval, bool]:
        current = _pending(uow, approval)
        if current.status is ApprovalStatus.EXECUTED:
            return current, False
        job = uow.jobs.get(job_id)
        if job is None or job.status is not JobStatus.PENDING_APPROVAL:
            raise InvalidState("the mass accrual does not wait for this approval", job_id=job_id)
        released = job.approved(now)
        uow.jobs.put(released)
        result = {"job_id": job_id, "status": released.status.value, "budget": released.budget, "approved_by": checker.email}
        return _record_approval(uow, checker, current, result, now, comment), True

    return store.run(unit)


class _Decided(Exception):
    """The approval was decided by another checker meanwhile: nothing is published."""


def _execute_config(store: Store, checker: Admin, approval: Approval, config: ProgramConfig, now: datetime, comment: str | None = None) -> tuple[Approval, bool]:
    """Publish the config and mark the approval executed, in one transaction — only while the
    program's latest version is still the one its diff was made against (else ``failed``)."""
    from shared.services import program as program_service

    params = approval.params
    requested_from = params.get("effective_from")
    effective_from = requested_from if isinstance(requested_from, datetime) and requested_from > now else now

    def record(uow: UnitOfWork, version: ConfigVersion) -> None:
        current = uow.approvals.get(approval.id) or approval
        if current.status is not ApprovalStatus.PENDING:
            raise _Decided(current.status.value)
        result = {"program": params["program"], "version": version.version, "effective_from": version.effective_from, "approved_by": checker.email}
        _record_approval(uow, checker, current, result, now, comment)

    try:
        program_service.publish(
            store,
            raw=params["config"],
            author=approval.maker,
            reason=approval.reason,
            effective_from=effective_from,
            now=now,
            then=record,
            expect_version=int(params["base_version"]),
        )
    except _Decided:
        return _find(store, approval.id), False
    except (InvalidState, ValidationFailed) as exc:
        current = _find(store, approval.id)
        if current.status is ApprovalStatus.EXECUTED:  # a concurrent checker published it
            return current, False
        _fail(store, approval.id, exc)
        raise
    return _find(store, approval.id), True


def _fail(store: Store, approval_id: str, exc: DomainError) -> None:
    failure = exc.to_dict()

    def unit(uow: UnitOfWork) -> None:
        current = uow.approvals.get(approval_id)
        if current is not None and current.status is ApprovalStatus.PENDING:
            uow.approvals.put(current.failed(failure))

    store.run(unit)


MASS_ACCRUAL_ACTION = "mass_accrual.run"

# What approving executes, by the approval's action.
EXECUTORS: dict[str, Callable[[Store, Admin, Approval, ProgramConfig, datetime, str | None], tuple[Approval, bool]]] = {
    "ledger.adjust": _execute_adjust,
    "payout.approve": _execute_payout,
    MASS_ACCRUAL_ACTION: _execute_mass_accrual,
    "config.replace": _execute_config,
}
