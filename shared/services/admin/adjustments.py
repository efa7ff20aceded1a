"""Manual changes to a customer: bonus adjustments, a pinned level, a group, blocking.

Adjustments, levels and groups are ledger postings with the admin as actor
and a reason, idempotent by the caller's key; each commits with its audit
record. An adjustment that would take the admin's bonus changes over a
rolling 24 hours past the program's thresholds waits for a second admin
(:mod:`shared.domain.maker_checker`, :mod:`shared.services.admin.approvals`).

**Blocked customers** — ``customers/{id}.blocked`` (with ``blocked_at``,
``blocked_by``, ``blocked_reason``), set by a manager or an admin, either of
whom may lift it. A block moves the customer's ``session_epoch`` on, revoking
every session at once (:mod:`shared.services.identity.sessions`); while
blocked the customer earns and spends nothing, call-centre orders and mass
accruals refuse or skip them, and the only credit is an adjustment of the
``admin`` role (:func:`~shared.services.admin.common.require_creditable`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from shared.api.admin import AdjustResponse, BlockResponse, GroupResponse, LevelResponse
from shared.domain.admin import Approval, ApprovalStatus
from shared.domain.config import ProgramConfig
from shared.domain.customer import bonuses_excluded
from shared.domain.errors import InvalidState, NotFound, ValidationFailed
from shared.domain.ledger import Adjust, ChangeGroup, OverrideLevel, require_utc
from shared.domain.levels import effective_level
from shared.domain.maker_checker import DirectChange, MakerWindow, effect
from shared.edge.admin_auth import Admin
from shared.services.admin import audit as _audit
from shared.services.admin.approvals import approval_id_for, existing_request, request_in
from shared.services.admin.common import require_creditable, required_reason, valid_customer_id
from shared.services.ledger import AccountSession, load_customer
from shared.services.payouts import BonusesExcluded
from shared.services.ports import Store, UnitOfWork

R = TypeVar("R")


def _on_customer(store: Store, customer_id: str, fn: Callable[[AccountSession, UnitOfWork], R]) -> R:
    def unit(uow: UnitOfWork) -> R:
        session = AccountSession(uow, customer_id)
        if not session.exists:
            raise NotFound("unknown customer", customer_id=customer_id, message_ru="Покупатель не найден.")
        return fn(session, uow)

    return store.run(unit)


def _excluded(customer_id: str) -> BonusesExcluded:
    return BonusesExcluded(
        "the customer's group is excluded from bonuses: nothing can be credited", customer_id=customer_id, message_ru="Группа покупателя не участвует в бонусной программе: начислить бонусы нельзя."
    )


def adjust(
    store: Store,
    admin: Admin,
    *,
    config: ProgramConfig,
    customer_id: str,
    amount: int,
    reason: str,
    key: str,
    now: datetime,
    lifetime_days: int | None = None,
) -> AdjustResponse:
    """A manual credit (a new active lot) or debit (available bonuses) with a reason; actor = the admin.

    Done at once only while the admin's bonus changes over a rolling 24 hours,
    with this one, stay within the program's thresholds (``config.approvals``:
    to this customer, and in total; credits and debits alike); otherwise it
    becomes a pending approval showing that effect. The decision, the posting
    and the admin's window commit in one transaction, so adjustments made at
    once cannot slip past the threshold together. A credit to a customer of a
    group excluded from bonuses is refused (``bonuses_excluded``): its members
    see no bonus data. Idempotent by ``key``: the
    same key again is a replay (of the adjustment, or of its approval), with
    other figures a conflict.
    """
    admin.require("ledger.adjust")
    require_utc(now)
    valid_customer_id(customer_id)
    reason = required_reason(reason)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
        raise ValidationFailed("amount must be a non-zero whole number of bonuses", field="amount")
    days = lifetime_days or config.lot_lifetime_days
    if amount > 0:  # nothing accrues to a group excluded from bonuses; writing its bonuses off stays possible
        record = load_customer(store, customer_id)
        if record is not None and bonuses_excluded(config, record.account):
            raise _excluded(customer_id)
    target = f"customer:{customer_id}"
    params: dict[str, Any] = {"customer_id": customer_id, "amount": amount, "reason": reason, "lifetime_days": days}
    posting_key = f"adjust:{key}"
    approval_id = approval_id_for(admin.email, "ledger.adjust", target, key)
    command = Adjust(amount=amount, actor=admin.email, reason=reason, expires_at=now + timedelta(days=days))

    def change(session: AccountSession, uow: UnitOfWork) -> AdjustResponse:
        if session.posted(posting_key) is not None:  # done before: a replay
            outcome = session.post(posting_key, command, now=now)
            return AdjustResponse(status="done", customer_id=customer_id, amount=amount, replayed=outcome.replayed)
        requested = existing_request(uow, approval_id, params, key=key)
        if requested is not None:
            return _answer_requested(requested, customer_id=customer_id, amount=amount)
        if amount > 0 and bonuses_excluded(config, session.account):  # moved to such a group meanwhile
            raise _excluded(customer_id)
        require_creditable(session.blocking, customer_id=customer_id, amount=amount, roles=admin.roles)
        window = uow.maker_windows.get(admin.email) or MakerWindow(admin.email)
        seen = effect(config.approvals, window, each=amount, customers=(customer_id,), count=1, now=now)
        if seen.needs_approval:
            approval = request_in(uow, admin, action="ledger.adjust", target=target, params={**params, "effect": seen.view()}, key=key, reason=reason, now=now)
            return AdjustResponse(status="pending_approval", approval_id=approval.id, customer_id=customer_id, amount=amount, threshold=seen.threshold)
        outcome = session.post(posting_key, command, now=now)
        uow.maker_windows.put(window.with_change(DirectChange(at=now, ref=posting_key, each=abs(amount), total=abs(amount), customers=(customer_id,))))
        result = {"status": "done", "customer_id": customer_id, "amount": amount, "replayed": outcome.replayed}
        _audit.audit_in(uow, admin, action="ledger.adjust", target=target, params=params, result=result, now=now)
        return AdjustResponse.model_validate(result)

    return _on_customer(store, customer_id, change)


def _answer_requested(approval: Approval, *, customer_id: str, amount: int) -> AdjustResponse:
    """A replay of an adjustment that waited for approval: pending, done once executed, refused otherwise."""
    if approval.status is ApprovalStatus.EXECUTED:
        return AdjustResponse(status="done", approval_id=approval.id, customer_id=customer_id, amount=amount, replayed=True)
    if approval.status in (ApprovalStatus.REJECTED, ApprovalStatus.FAILED):
        raise InvalidState(f"this adjustment's approval was {approval.status.value}", approval_id=approval.id, message_ru="Корректировка отклонена при согласовании.")
    return AdjustResponse(status="pending_approval", approval_id=approval.id, customer_id=customer_id, amount=amount)


def override_level(store: Store, admin: Admin, *, config: ProgramConfig, customer_id: str, level: str | None, reason: str, key: str, now: datetime) -> LevelResponse:
    """Pin a customer's level (``None`` lifts the pin), as a ledger posting with actor and reason."""
    admin.require("customer.level")
    require_utc(now)
    valid_customer_id(customer_id)
    reason = required_reason(reason)
    if level is not None and level not in {lv.code for lv in config.levels}:
        raise ValidationFailed(f"unknown level {level!r}", field="level", levels=[lv.code for lv in config.levels])

    def change(session: AccountSession, uow: UnitOfWork) -> LevelResponse:
        outcome = session.post(f"level-override:{key}", OverrideLevel(level=level, actor=admin.email, reason=reason), now=now)
        result = {"customer_id": customer_id, "level_override": level, "effective_level": effective_level(config, session.account).code, "replayed": outcome.replayed}
        if not outcome.replayed:
            _audit.audit_in(uow, admin, action="customer.level", target=f"customer:{customer_id}", params={"level": level, "reason": reason}, result={**result, "from": outcome.previous}, now=now)
        return LevelResponse.model_validate(result)

    return _on_customer(store, customer_id, change)


def change_group(store: Store, admin: Admin, *, config: ProgramConfig, customer_id: str, group: str, reason: str, key: str, now: datetime) -> GroupResponse:
    """Move a customer to another group of the program, as a ledger posting with actor and reason."""
    admin.require("customer.group")
    require_utc(now)
    valid_customer_id(customer_id)
    reason = required_reason(reason)
    if group not in {g.code for g in config.groups}:
        raise ValidationFailed(f"unknown customer group {group!r}", field="group", groups=[g.code for g in config.groups])

    def change(session: AccountSession, uow: UnitOfWork) -> GroupResponse:
        outcome = session.post(f"group:{key}", ChangeGroup(group=group, actor=admin.email, reason=reason), now=now)
        result = {"customer_id": customer_id, "group": group, "replayed": outcome.replayed}
        if not outcome.replayed:
            _audit.audit_in(uow, admin, action="customer.group", target=f"customer:{customer_id}", params={"group": group, "reason": reason}, result={**result, "from": outcome.previous}, now=now)
        return GroupResponse.model_validate(result)

    return _on_customer(store, customer_id, change)


def set_blocked(store: Store, admin: Admin, *, customer_id: str, blocked: bool, reason: str, now: datetime) -> BlockResponse:
    """Block (or unblock) a customer: a flag on the customer document, not a ledger change."""
    admin.require("customer.block")
    require_utc(now)
    valid_customer_id(customer_id)
    reason = required_reason(reason)

    def change(session: AccountSession, uow: UnitOfWork) -> BlockResponse:
        was = session.blocking.is_blocked
        result = {"customer_id": customer_id, "blocked": blocked, "changed": was != blocked}
        if was == blocked:
            return BlockResponse.model_validate(result)
        if blocked:  # the session epoch moves on: every session opened before is revoked at once
            session.record = session.record.set_blocking(**session.blocking.blocked_by_admin(at=now, by=admin.email, reason=reason))
        else:
            session.record = session.record.set_blocking(blocked=False, unblocked_at=now, unblocked_by=admin.email, unblock_reason=reason)
        session.save()
        _audit.audit_in(uow, admin, action="customer.block" if blocked else "customer.unblock", target=f"customer:{customer_id}", params={"reason": reason}, result=result, now=now)
        return BlockResponse.model_validate(result)

    return _on_customer(store, customer_id, change)
