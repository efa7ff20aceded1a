"""Back-office use cases: the program, promo codes, mass accruals, manual ledger changes,
payouts, call-centre orders, customer look-ups, reports, approvals and the audit log.

Every use case takes the authenticated :class:`~shared.edge.admin_auth.Admin` and
checks its role first (:data:`shared.edge.admin_auth.PERMISSIONS`), so the rules
hold whoever calls them, not only the HTTP function.

**Audit log** — ``audit/{id}`` (random ids, created once, never changed)::

    {id, actor, roles, action, target, params, at, result, key}

One record per successful action, and per approval decided. Refusals
(a missing role, bad input, a rule) are not recorded: they changed nothing
and are in the request logs. Where the action is a ledger posting or an
approval, the record commits in the same transaction as the action, so there
is exactly one record per change; after a use case that runs its own
transactions (config publish, promo creation, orders, payouts) it is written
right after. ``key`` (time, then id) orders the log newest first.

**Maker-checker** — ``approvals/{id}``::

    {id, action, target, params, maker, maker_roles, reason, status, created_at,
     checker, decided_at, result, error}

Manual adjustments above ``KOPILKA_ADJUSTMENT_APPROVAL_THRESHOLD`` bonuses and
every payout approval are not done at once: they become a *pending* approval.
Another admin holding a role of that action approves it (the maker never can),
which executes it exactly once (``executed``), or rejects it (``rejected``; the
maker may withdraw their own). An adjustment executes in the transaction that
marks the approval executed; a payout is claimed first (``approved``), decided
by :mod:`shared.services.payouts`, then marked executed — a checker who
approves again after a crash drives the same, idempotent decision.

**Mass accruals** — ``jobs/{job_id}``: a list of customer ids or a customer
group, an amount and a reason. The job is walked in bounded batches; after
each batch its cursor (an index into the list, or the last customer id of the
group) moves on with a compare-and-set, so a crash or a ``max_batch`` stop is
resumed by the next run and the counters count each customer once. Each
customer is credited by the posting key ``mass:{job_id}:{customer}``: a resumed
or doubled run replays, it never credits twice. Unknown and blocked customers
are skipped and counted.

**Blocked customers** — ``customers/{id}.blocked`` (with ``blocked_at``,
``blocked_by``, ``blocked_reason``), set by a manager. Call-centre orders and
mass accruals refuse or skip them; the customer-facing endpoints are expected
to refuse a blocked customer's token (see the README).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable

from pydantic import BaseModel

from shared.edge.admin_auth import Admin
from shared.domain.cart import CartLine, PromoRule
from shared.domain.config import ProgramConfig
from shared.domain.errors import BusinessRefusal, Forbidden, IdempotencyConflict, InvalidState, NotFound, ValidationFailed
from shared.domain.ledger import Account, digest, require_utc
from shared.domain.levels import effective_level
from shared.services.ports import CUSTOMERS, Store, UnitOfWork
from shared.services import ledger, orders, program, promo
from shared.services.ledger import AccountSession, account_path

AUDIT = "audit"
APPROVALS = "approvals"
JOBS = "jobs"
IDENTITIES = "identities"
EXPIRY_HORIZON_DAYS = 30
MAX_JOB_CUSTOMERS = 5000

_ID = re.compile(r"[A-Za-z0-9_.:@+\-]{1,128}")


class CustomerBlocked(BusinessRefusal):
    code = "customer_blocked"
    message_ru = "Покупатель заблокирован."


def valid_customer_id(customer_id: str) -> str:
    """A customer id usable as a document id, else :class:`ValidationFailed`."""
    if not _ID.fullmatch(customer_id or "") or customer_id in (".", "..") or (customer_id.startswith("__") and customer_id.endswith("__")):
        raise ValidationFailed("not a customer id", field="customer_id", message_ru="Некорректный идентификатор покупателя.")
    return customer_id


def _jsonable(value: Any) -> Any:
    """A value Firestore stores as is (no tuples, decimals or models)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


# --- the audit log ---------------------------------------------------------------------


def audit_entry(admin: Admin, *, action: str, target: str, params: dict[str, Any], result: Any, now: datetime) -> tuple[str, dict[str, Any]]:
    """The path and document of one audit record (random id; ``key`` orders the log)."""
    audit_id = uuid.uuid4().hex
    key = now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ") + "-" + audit_id
    doc = {
        "id": audit_id,
        "actor": admin.email,
        "roles": list(admin.roles),
        "action": action,
        "target": target,
        "params": _jsonable(params),
        "at": now,
        "result": _jsonable(result),
        "key": key,
    }
    return f"{AUDIT}/{audit_id}", doc


def audit_in(uow: UnitOfWork, admin: Admin, **entry: Any) -> None:
    path, doc = audit_entry(admin, **entry)
    uow.create(path, doc)


def audit(store: Store, admin: Admin, **entry: Any) -> dict[str, Any]:
    path, doc = audit_entry(admin, **entry)
    store.run(lambda uow: uow.create(path, doc))
    return doc


def audit_log(store: Store, admin: Admin, *, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
    """The audit log, newest first (``cursor``: the ``key`` of the last record of the previous page)."""
    admin.require("audit.read")
    rows = [doc for _, doc in store.ordered(AUDIT, order_by="key", descending=True, limit=limit, start_after=cursor)]
    return {"entries": rows, "next_cursor": rows[-1]["key"] if len(rows) == limit else None}


# --- approvals (maker-checker) ------------------------------------------------------------


def approval_path(approval_id: str) -> str:
    return f"{APPROVALS}/{approval_id}"


def request_approval(store: Store, admin: Admin, *, action: str, target: str, params: dict[str, Any], key: str, reason: str, now: datetime) -> dict[str, Any]:
    """Record an action that waits for a second admin (idempotent by maker, action, target and key)."""
    admin.require(action)
    approval_id = "A" + digest(f"{admin.email}|{action}|{target}|{key}", 24)
    params = _jsonable(params)

    def unit(uow: UnitOfWork) -> dict[str, Any]:
        existing = uow.get(approval_path(approval_id))
        if existing is not None:
            if existing["params"] != params:
                raise IdempotencyConflict("this idempotency key was used for another request", key=key, approval_id=approval_id)
            return existing
        doc = {
            "id": approval_id,
            "action": action,
            "target": target,
            "params": params,
            "maker": admin.email,
            "maker_roles": list(admin.roles),
            "reason": reason,
            "status": "pending",
            "created_at": now,
            "checker": None,
            "decided_at": None,
            "result": None,
            "error": None,
        }
        uow.create(approval_path(approval_id), doc)
        audit_in(uow, admin, action=f"{action}.requested", target=target, params={**params, "approval_id": approval_id}, result={"status": "pending", "approval_id": approval_id}, now=now)
        return doc

    return store.run(unit)


def get_approval(store: Store, admin: Admin, approval_id: str) -> dict[str, Any]:
    admin.require("approval.read")
    doc = store.get(approval_path(approval_id)) if _ID.fullmatch(approval_id) else None
    if doc is None:
        raise NotFound("unknown approval", approval_id=approval_id)
    return doc


def list_approvals(store: Store, admin: Admin, *, status: str = "pending", cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
    admin.require("approval.read")
    ids = store.matching(APPROVALS, field="status", value=status, limit=limit, start_after=cursor)
    docs = [doc for doc in (store.get(approval_path(i)) for i in ids) if doc is not None]
    return {"approvals": docs, "next_cursor": ids[-1] if len(ids) == limit else None}


def _checkable(store: Store, admin: Admin, approval_id: str) -> dict[str, Any]:
    doc = store.get(approval_path(approval_id)) if _ID.fullmatch(approval_id) else None
    if doc is None:
        raise NotFound("unknown approval", approval_id=approval_id)
    admin.require(doc["action"])
    return doc


def approve(store: Store, admin: Admin, approval_id: str, *, now: datetime) -> dict[str, Any]:
    """A second admin approves: the action runs exactly once. The maker cannot approve their own."""
    require_utc(now)
    doc = _checkable(store, admin, approval_id)
    if doc["maker"] == admin.email:
        raise Forbidden("the maker of a request cannot approve it", message_ru="Нельзя подтвердить собственный запрос: нужен другой сотрудник.", approval_id=approval_id)
    if doc["status"] == "executed":
        return {**doc, "replayed": True}
    if doc["status"] not in ("pending", "approved"):
        raise InvalidState(f"the approval is {doc['status']}", approval_id=approval_id, status=doc["status"])
    result, executed = EXECUTORS[doc["action"]](store, admin, doc, now)
    return {**result, "replayed": not executed}


def reject(store: Store, admin: Admin, approval_id: str, *, reason: str, now: datetime) -> dict[str, Any]:
    """Turn a pending approval down (a checker, or the maker withdrawing it); nothing is executed."""
    require_utc(now)
    doc = _checkable(store, admin, approval_id)

    def unit(uow: UnitOfWork) -> dict[str, Any]:
        current = uow.get(approval_path(approval_id)) or doc
        if current["status"] == "rejected":
            return current
        if current["status"] != "pending":
            raise InvalidState(f"the approval is {current['status']}", approval_id=approval_id, status=current["status"])
        updated = {**current, "status": "rejected", "checker": admin.email, "decided_at": now, "result": {"reason": reason}}
        uow.put(approval_path(approval_id), updated)
        audit_in(
            uow, admin, action="approval.reject", target=current["target"], params={"approval_id": approval_id, "action": current["action"], "reason": reason}, result={"status": "rejected"}, now=now
        )
        return updated

    return store.run(unit)


def _execute_adjust(store: Store, checker: Admin, approval: dict[str, Any], now: datetime) -> tuple[dict[str, Any], bool]:
    """Post the adjustment and mark the approval executed, in one transaction: (approval, executed now)."""
    params = approval["params"]

    def unit(uow: UnitOfWork) -> tuple[dict[str, Any], bool]:
        current = uow.get(approval_path(approval["id"])) or approval
        if current["status"] == "executed":
            return current, False
        if current["status"] != "pending":
            raise InvalidState(f"the approval is {current['status']}", approval_id=approval["id"])
        session = AccountSession(uow, params["customer_id"])
        if not session.exists:
            raise NotFound("unknown customer", customer_id=params["customer_id"])
        outcome = session.post(
            "adjust",
            key=f"approval:{approval['id']}",
            now=now,
            amount=params["amount"],
            actor=approval["maker"],
            reason=params["reason"],
            expires_at=now + timedelta(days=params["lifetime_days"]),
        )
        result = {"adjusted": outcome["adjusted"], "customer_id": params["customer_id"], "approved_by": checker.email}
        updated = {**current, "status": "executed", "checker": checker.email, "decided_at": now, "result": result}
        uow.put(approval_path(approval["id"]), updated)
        audit_in(
            uow, checker, action="approval.approve", target=current["target"], params={"approval_id": approval["id"], "action": current["action"], "maker": current["maker"]}, result=result, now=now
        )
        return updated, True

    return store.run(unit)


def _execute_payout(store: Store, checker: Admin, approval: dict[str, Any], now: datetime) -> tuple[dict[str, Any], bool]:
    """Claim the approval, decide the payout (idempotent), mark it executed: (approval, executed now)."""
    from shared.services import payouts

    approval_id = approval["id"]

    def claim(uow: UnitOfWork) -> dict[str, Any]:
        current = uow.get(approval_path(approval_id)) or approval
        if current["status"] == "pending":
            current = {**current, "status": "approved", "checker": checker.email, "decided_at": now}
            uow.put(approval_path(approval_id), current)
        return current

    claimed = store.run(claim)
    if claimed["status"] == "executed":
        return claimed, False
    if claimed["status"] != "approved":
        raise InvalidState(f"the approval is {claimed['status']}", approval_id=approval_id)
    request_id = approval["params"]["request_id"]
    try:
        result = payouts.decide(
            store,
            request_id=request_id,
            decision="approve",
            actor=checker.email,
            now=now,
            reason=approval["params"].get("reason") or f"approval {approval_id} by {checker.email}, requested by {approval['maker']}",
        )
    except (NotFound, InvalidState, IdempotencyConflict, BusinessRefusal) as exc:
        # the payout can no longer be approved (e.g. rejected meanwhile): the approval fails, visibly
        failure = exc.to_dict()

        def fail(uow: UnitOfWork) -> None:
            current = uow.get(approval_path(approval_id)) or claimed
            if current["status"] == "approved":
                uow.put(approval_path(approval_id), {**current, "status": "failed", "error": failure})

        store.run(fail)
        raise

    def finish(uow: UnitOfWork) -> tuple[dict[str, Any], bool]:
        current = uow.get(approval_path(approval_id)) or claimed
        if current["status"] == "executed":
            return current, False
        updated = {**current, "status": "executed", "checker": checker.email, "decided_at": now, "result": _jsonable(result)}
        uow.put(approval_path(approval_id), updated)
        audit_in(uow, checker, action="approval.approve", target=current["target"], params={"approval_id": approval_id, "action": current["action"], "maker": current["maker"]}, result=result, now=now)
        return updated, True

    return store.run(finish)


EXECUTORS: dict[str, Callable[[Store, Admin, dict[str, Any], datetime], tuple[dict[str, Any], bool]]] = {
    "ledger.adjust": _execute_adjust,
    "payout.approve": _execute_payout,
}


# --- manual ledger changes --------------------------------------------------------------


def _reason(reason: str) -> str:
    if not reason or not reason.strip():
        raise ValidationFailed("a reason is required", field="reason", message_ru="Укажите причину.")
    return reason.strip()


def _on_customer(store: Store, customer_id: str, fn: Callable[[AccountSession, UnitOfWork], dict[str, Any]]) -> dict[str, Any]:
    def unit(uow: UnitOfWork) -> dict[str, Any]:
        session = AccountSession(uow, customer_id)
        if not session.exists:
            raise NotFound("unknown customer", customer_id=customer_id, message_ru="Покупатель не найден.")
        return fn(session, uow)

    return store.run(unit)


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
    threshold: int,
    lifetime_days: int | None = None,
) -> dict[str, Any]:
    """A manual credit (a new active lot) or debit (available bonuses) with a reason; actor = the admin.

    Above ``threshold`` bonuses (either way) it becomes a pending approval
    instead. Idempotent by ``key``: the same key again is a replay, with
    other figures a conflict.
    """
    admin.require("ledger.adjust")
    require_utc(now)
    valid_customer_id(customer_id)
    reason = _reason(reason)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
        raise ValidationFailed("amount must be a non-zero whole number of bonuses", field="amount")
    days = lifetime_days or config.lot_lifetime_days
    target = f"customer:{customer_id}"
    params = {"customer_id": customer_id, "amount": amount, "reason": reason, "lifetime_days": days}
    if abs(amount) > threshold:
        if store.get(account_path(customer_id)) is None:
            raise NotFound("unknown customer", customer_id=customer_id, message_ru="Покупатель не найден.")
        approval = request_approval(store, admin, action="ledger.adjust", target=target, params=params, key=key, reason=reason, now=now)
        return {"status": "pending_approval", "approval_id": approval["id"], "customer_id": customer_id, "amount": amount, "threshold": threshold}

    def change(session: AccountSession, uow: UnitOfWork) -> dict[str, Any]:
        outcome = session.post("adjust", key=f"adjust:{key}", now=now, amount=amount, actor=admin.email, reason=reason, expires_at=now + timedelta(days=days))
        result = {"status": "done", "customer_id": customer_id, "amount": amount, "replayed": outcome["replayed"]}
        if not outcome["replayed"]:
            audit_in(uow, admin, action="ledger.adjust", target=target, params=params, result=result, now=now)
        return result

    return _on_customer(store, customer_id, change)


def override_level(store: Store, admin: Admin, *, config: ProgramConfig, customer_id: str, level: str | None, reason: str, key: str, now: datetime) -> dict[str, Any]:
    """Pin a customer's level (``None`` lifts the pin), as a ledger posting with actor and reason."""
    admin.require("customer.level")
    require_utc(now)
    valid_customer_id(customer_id)
    reason = _reason(reason)
    if level is not None and level not in {lv.code for lv in config.levels}:
        raise ValidationFailed(f"unknown level {level!r}", field="level", levels=[lv.code for lv in config.levels])

    def change(session: AccountSession, uow: UnitOfWork) -> dict[str, Any]:
        outcome = session.post("level_override", key=f"level-override:{key}", now=now, level=level, actor=admin.email, reason=reason)
        result = {"customer_id": customer_id, "level_override": level, "effective_level": effective_level(config, session.account).code, "replayed": outcome["replayed"]}
        if not outcome["replayed"]:
            audit_in(uow, admin, action="customer.level", target=f"customer:{customer_id}", params={"level": level, "reason": reason}, result={**result, "from": outcome.get("from")}, now=now)
        return result

    return _on_customer(store, customer_id, change)


def change_group(store: Store, admin: Admin, *, config: ProgramConfig, customer_id: str, group: str, reason: str, key: str, now: datetime) -> dict[str, Any]:
    """Move a customer to another group of the program, as a ledger posting with actor and reason."""
    admin.require("customer.group")
    require_utc(now)
    valid_customer_id(customer_id)
    reason = _reason(reason)
    if group not in {g.code for g in config.groups}:
        raise ValidationFailed(f"unknown customer group {group!r}", field="group", groups=[g.code for g in config.groups])

    def change(session: AccountSession, uow: UnitOfWork) -> dict[str, Any]:
        outcome = session.post("group", key=f"group:{key}", now=now, group=group, actor=admin.email, reason=reason)
        result = {"customer_id": customer_id, "group": group, "replayed": outcome["replayed"]}
        if not outcome["replayed"]:
            audit_in(uow, admin, action="customer.group", target=f"customer:{customer_id}", params={"group": group, "reason": reason}, result={**result, "from": outcome.get("from")}, now=now)
        return result

    return _on_customer(store, customer_id, change)


def set_blocked(store: Store, admin: Admin, *, customer_id: str, blocked: bool, reason: str, now: datetime) -> dict[str, Any]:
    """Block (or unblock) a customer: a flag on the customer document, not a ledger change."""
    admin.require("customer.block")
    require_utc(now)
    valid_customer_id(customer_id)
    reason = _reason(reason)

    def change(session: AccountSession, uow: UnitOfWork) -> dict[str, Any]:
        was = bool(session.extra.get("blocked", False))
        result = {"customer_id": customer_id, "blocked": blocked, "changed": was != blocked}
        if was == blocked:
            return result
        if blocked:
            session.save(blocked=True, blocked_at=now, blocked_by=admin.email, blocked_reason=reason)
        else:
            session.save(blocked=False, unblocked_at=now, unblocked_by=admin.email, unblock_reason=reason)
        audit_in(uow, admin, action="customer.block" if blocked else "customer.unblock", target=f"customer:{customer_id}", params={"reason": reason}, result=result, now=now)
        return result

    return _on_customer(store, customer_id, change)


# --- the program ------------------------------------------------------------------------


def config_view(store: Store, admin: Admin, *, program_name: str, now: datetime) -> dict[str, Any]:
    """The config in force, and the versions scheduled after now."""
    admin.require("config.read")
    current = program.in_force(store, program_name, now)
    head = store.get(program.head_path(program_name)) or {}
    scheduled = [{"version": v["version"], "effective_from": v["effective_from"]} for v in head.get("versions", []) if v["effective_from"] > now]
    return {
        "program": program_name,
        "version": current.version,
        "effective_from": current.effective_from,
        "author": current.author,
        "reason": current.reason,
        "created_at": current.created_at,
        "config": current.config.model_dump(mode="json"),
        "scheduled": scheduled,
    }


def config_history(store: Store, admin: Admin, *, program_name: str, limit: int = 50) -> dict[str, Any]:
    admin.require("config.read")
    return {"program": program_name, "entries": program.audit_log(store, program_name, limit=limit)}


def replace_config(store: Store, admin: Admin, *, program_name: str, raw: Any, reason: str, effective_from: datetime | None, now: datetime) -> dict[str, Any]:
    """Validate and publish a whole new config (versioned, dated; an invalid one changes nothing)."""
    admin.require("config.replace")
    require_utc(now)
    reason = _reason(reason)
    if isinstance(raw, dict) and raw.get("program") != program_name:
        raise ValidationFailed(
            f"invalid program config: program: this deployment runs {program_name!r}",
            field="program",
            errors=[{"field": "program", "error": f"must be {program_name!r}"}],
            message_ru="Некорректная конфигурация программы: program",
        )

    def result(version: Any) -> dict[str, Any]:
        return {"program": program_name, "version": version.version, "effective_from": version.effective_from}

    def record(uow: UnitOfWork, version: Any) -> None:
        audit_in(uow, admin, action="config.replace", target=f"program:{program_name}", params={"reason": reason, "effective_from": version.effective_from}, result=result(version), now=now)

    return result(program.publish(store, raw=raw, author=admin.email, reason=reason, effective_from=effective_from or now, now=now, then=record))


# --- promo codes ------------------------------------------------------------------------


def create_promo(store: Store, admin: Admin, *, rule: PromoRule, total_limit: int | None, per_customer_limit: int | None, now: datetime) -> dict[str, Any]:
    admin.require("promo.create")

    def record(uow: UnitOfWork, doc: dict[str, Any]) -> None:  # only when created: a replay is no new action
        params = {"rule": doc["rule"], "total_limit": total_limit, "per_customer_limit": per_customer_limit}
        audit_in(uow, admin, action="promo.create", target=f"promo:{doc['code']}", params=params, result={"code": doc["code"]}, now=now)

    return promo.create_code(store, rule=rule, now=now, total_limit=total_limit, per_customer_limit=per_customer_limit, then=record)


def _promo_code(code: str) -> str:
    canonical = promo.normalize(code)
    if not promo.is_well_formed(canonical):
        raise ValidationFailed("not a promo code", field="code")
    return canonical


def deactivate_promo(store: Store, admin: Admin, *, code: str, now: datetime) -> dict[str, Any]:
    """Switch a code off: no new order can use it (orders placed with it keep their rule)."""
    admin.require("promo.deactivate")
    canonical = _promo_code(code)

    def unit(uow: UnitOfWork) -> dict[str, Any]:
        doc = uow.get(promo.code_path(canonical))
        if doc is None:
            raise NotFound("unknown promo code", code=canonical)
        if not doc.get("active", False):
            return doc
        updated = {**doc, "active": False, "deactivated_at": now, "deactivated_by": admin.email}
        uow.put(promo.code_path(canonical), updated)
        audit_in(uow, admin, action="promo.deactivate", target=f"promo:{canonical}", params={}, result={"active": False, "uses": doc.get("uses", 0)}, now=now)
        return updated

    return store.run(unit)


def promo_usage(store: Store, admin: Admin, *, code: str, cursor: str | None = None, limit: int = 100) -> dict[str, Any]:
    """A code's figures and a page of the customers who used it (orders per customer)."""
    admin.require("promo.read")
    canonical = _promo_code(code)
    doc = store.get(promo.code_path(canonical))
    if doc is None:
        raise NotFound("unknown promo code", code=canonical)
    rows = store.ordered(f"{promo.code_path(canonical)}/{promo.CUSTOMERS}", order_by="customer_id", limit=limit, start_after=cursor)
    uses = int(doc.get("uses", 0))
    total_limit = doc.get("total_limit")
    return {
        "code": canonical,
        "kind": doc.get("kind"),
        "active": bool(doc.get("active")),
        "rule": doc.get("rule"),
        "partner_id": doc.get("partner_id"),
        "uses": uses,
        "total_limit": total_limit,
        "remaining": None if total_limit is None else max(0, total_limit - uses),
        "per_customer_limit": doc.get("per_customer_limit"),
        "created_at": doc.get("created_at"),
        "last_used_at": doc.get("last_used_at"),
        "customers": [{"customer_id": data["customer_id"], "uses": len(data.get("orders", [])), "orders": list(data.get("orders", []))} for _, data in rows],
        "next_cursor": rows[-1][1]["customer_id"] if len(rows) == limit else None,
    }


def list_promos(store: Store, admin: Admin, *, cursor: str | None = None, limit: int = 100) -> dict[str, Any]:
    admin.require("promo.read")
    rows = store.ordered(promo.PROMO_CODES, order_by="code", limit=limit, start_after=cursor)
    codes = [{k: data.get(k) for k in ("code", "kind", "active", "uses", "total_limit", "per_customer_limit", "partner_id", "created_at", "last_used_at")} for _, data in rows]
    return {"codes": codes, "next_cursor": rows[-1][1]["code"] if len(rows) == limit else None}


# --- mass accruals ------------------------------------------------------------------------


def job_path(job_id: str) -> str:
    return f"{JOBS}/{job_id}"


def create_mass_accrual(
    store: Store,
    admin: Admin,
    *,
    config: ProgramConfig,
    job_id: str,
    amount: int,
    reason: str,
    now: datetime,
    customer_ids: list[str] | None = None,
    group: str | None = None,
    lifetime_days: int | None = None,
    activation_days: int = 0,
) -> dict[str, Any]:
    """Define a mass accrual (idempotent by ``job_id``: the same definition again is the same job)."""
    admin.require("mass_accrual.run")
    require_utc(now)
    reason = _reason(reason)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationFailed("amount must be a positive whole number of bonuses", field="amount")
    if (customer_ids is None) == (group is None):
        raise ValidationFailed("give either customer_ids or group", field="customer_ids")
    if customer_ids is not None:
        if not customer_ids or len(customer_ids) > MAX_JOB_CUSTOMERS:
            raise ValidationFailed(f"customer_ids holds 1 to {MAX_JOB_CUSTOMERS} ids", field="customer_ids")
        for cid in customer_ids:
            valid_customer_id(cid)
        if len(set(customer_ids)) != len(customer_ids):
            raise ValidationFailed("customer_ids must be unique", field="customer_ids")
    if group is not None and group not in {g.code for g in config.groups}:
        raise ValidationFailed(f"unknown customer group {group!r}", field="group")
    definition = {
        "amount": amount,
        "reason": reason,
        "customer_ids": list(customer_ids) if customer_ids is not None else None,
        "group": group,
        "lifetime_days": lifetime_days or config.lot_lifetime_days,
        "activation_days": activation_days,
    }

    def unit(uow: UnitOfWork) -> dict[str, Any]:
        existing = uow.get(job_path(job_id))
        if existing is not None:
            if existing.get("kind") != "mass_accrual" or existing["definition"] != definition:
                raise IdempotencyConflict("this job id was used for another job", job_id=job_id)
            return existing
        doc = {
            "job_id": job_id,
            "kind": "mass_accrual",
            "definition": definition,
            "status": "running",
            "cursor": 0 if customer_ids is not None else None,
            "credited": 0,
            "bonuses": 0,
            "skipped_unknown": 0,
            "skipped_blocked": 0,
            "replayed": 0,
            "batches": 0,
            "created_by": admin.email,
            "created_at": now,
            "updated_at": now,
            "completed_at": None,
        }
        uow.create(job_path(job_id), doc)
        audit_in(
            uow,
            admin,
            action="mass_accrual.create",
            target=f"job:{job_id}",
            params={k: v for k, v in definition.items() if k != "customer_ids"} | {"customers": len(customer_ids or [])},
            result={"job_id": job_id},
            now=now,
        )
        return doc

    return store.run(unit)


def get_job(store: Store, admin: Admin, job_id: str) -> dict[str, Any]:
    admin.require("mass_accrual.read")
    doc = store.get(job_path(job_id)) if _ID.fullmatch(job_id) else None
    if doc is None or doc.get("kind") != "mass_accrual":
        raise NotFound("unknown job", job_id=job_id)
    return _job_view(doc)


def _job_view(doc: dict[str, Any]) -> dict[str, Any]:
    definition = dict(doc["definition"])
    ids = definition.pop("customer_ids", None)
    return {**{k: v for k, v in doc.items() if k != "definition"}, "definition": {**definition, "customers": len(ids) if ids is not None else None}}


def credit_one(store: Store, *, job: dict[str, Any], customer_id: str, now: datetime) -> str:
    """Credit one customer of a mass accrual: ``credited``, ``replayed``, ``unknown`` or ``blocked``."""
    d = job["definition"]

    def unit(uow: UnitOfWork) -> str:
        session = AccountSession(uow, customer_id)
        if not session.exists:
            return "unknown"
        if session.extra.get("blocked"):
            return "blocked"
        outcome = session.post(
            "accrue",
            key=f"mass:{job['job_id']}:{customer_id}",
            now=now,
            amount=d["amount"],
            source="mass_accrual",
            ref=job["job_id"],
            activates_at=now + timedelta(days=d.get("activation_days", 0)),
            expires_at=now + timedelta(days=d["lifetime_days"]),
        )
        return "replayed" if outcome["replayed"] else "credited"

    return store.run(unit)


def _next_batch(store: Store, job: dict[str, Any], size: int) -> tuple[list[str], Any, bool]:
    """The next customers of the job, the cursor after them, and whether that is the end."""
    d = job["definition"]
    if d["customer_ids"] is not None:
        start = int(job["cursor"] or 0)
        batch = d["customer_ids"][start : start + size]
        return batch, start + len(batch), start + len(batch) >= len(d["customer_ids"])
    batch = store.matching(CUSTOMERS, field="group", value=d["group"], limit=size, start_after=job["cursor"])
    return batch, batch[-1] if batch else job["cursor"], len(batch) < size


def run_mass_accrual(store: Store, admin: Admin, *, job_id: str, now: datetime, max_batch: int = 100, batch_size: int = 50) -> dict[str, Any]:
    """Walk the job on from its cursor, at most ``max_batch`` customers in this call.

    After each batch the cursor moves on only if it is still where this run
    found it (compare-and-set): an overlapping run then stops, and every
    customer is counted once. ``status`` becomes ``complete`` at the end.
    """
    admin.require("mass_accrual.run")
    require_utc(now)
    job = store.get(job_path(job_id)) if _ID.fullmatch(job_id) else None
    if job is None or job.get("kind") != "mass_accrual":
        raise NotFound("unknown job", job_id=job_id)
    started = {k: job[k] for k in ("credited", "replayed", "skipped_unknown", "skipped_blocked")}
    budget = max_batch
    while job["status"] != "complete" and budget > 0:
        size = min(batch_size, budget)
        batch, after, done = _next_batch(store, job, size)
        counts = {"credited": 0, "replayed": 0, "unknown": 0, "blocked": 0}
        for customer_id in batch:
            counts[credit_one(store, job=job, customer_id=customer_id, now=now)] += 1
        budget -= max(len(batch), 1)
        position = job["cursor"]

        def advance(uow: UnitOfWork) -> tuple[dict[str, Any], bool]:
            current = uow.get(job_path(job_id)) or job
            if current["cursor"] != position or current["status"] == "complete":
                return current, False  # another run moved it on: this one stops
            updated = {
                **current,
                "cursor": after,
                "credited": current["credited"] + counts["credited"] + counts["replayed"],
                "bonuses": current["bonuses"] + (counts["credited"] + counts["replayed"]) * current["definition"]["amount"],
                "replayed": current["replayed"] + counts["replayed"],
                "skipped_unknown": current["skipped_unknown"] + counts["unknown"],
                "skipped_blocked": current["skipped_blocked"] + counts["blocked"],
                "batches": current["batches"] + 1,
                "updated_at": now,
            }
            if done:
                updated.update(status="complete", completed_at=now)
            uow.put(job_path(job_id), updated)
            return updated, True

        job, moved = store.run(advance)
        if not moved:
            break
    progress = {k: job[k] - started[k] for k in started}
    audit(store, admin, action="mass_accrual.run", target=f"job:{job_id}", params={"max_batch": max_batch}, result={"status": job["status"], **progress}, now=now)
    return _job_view(job)


# --- customers ---------------------------------------------------------------------------

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


def _summary(config: ProgramConfig, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    account = Account.from_dict(data)
    b = account.balances(now)
    return {
        "customer_id": account.customer_id,
        "phone": data.get("phone"),
        "level": effective_level(config, account).code,
        "group": account.group or config.default_group,
        "blocked": bool(data.get("blocked", False)),
        "total": b.total,
        "available": b.available,
        "pending": b.pending,
        "reserved": b.reserved,
        "debt": b.debt,
    }


def search_customers(
    store: Store, admin: Admin, *, config: ProgramConfig, now: datetime, prefix: str | None = None, phone: str | None = None, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """Customers by phone (its identity), or by customer id prefix in id order (empty: everyone), paged."""
    admin.require("customer.read")
    if phone:
        from shared.services.identity import normalize_phone  # the form the SMS login writes identities in

        identity = store.get(f"{IDENTITIES}/phone:{normalize_phone(phone)}")
        customer_id = (identity or {}).get("customer_id")
        data = store.get(account_path(customer_id)) if customer_id and _ID.fullmatch(customer_id) else None
        return {"customers": [_summary(config, data, now)] if data else [], "next_cursor": None}
    prefix = prefix or ""
    if prefix and not _ID.fullmatch(prefix):
        raise ValidationFailed("not a customer id prefix", field="prefix")
    found: list[dict[str, Any]] = []
    if cursor is None and prefix:
        exact = store.get(account_path(prefix)) if prefix not in (".", "..") else None
        if exact is not None:
            found.append(exact)
    after = cursor if cursor is not None else (prefix or None)
    wanted = limit - len(found)
    rows = store.ordered(CUSTOMERS, order_by="customer_id", limit=wanted, start_after=after) if wanted > 0 else []
    exhausted = len(rows) < wanted
    for _, data in rows:
        if not str(data.get("customer_id", "")).startswith(prefix):
            exhausted = True  # id order: no later id has the prefix
            break
        found.append(data)
    return {
        "customers": [_summary(config, data, now) for data in found],
        "next_cursor": found[-1]["customer_id"] if found and not exhausted else None,
    }


def customer_detail(store: Store, admin: Admin, *, config: ProgramConfig, customer_id: str, now: datetime) -> dict[str, Any]:
    admin.require("customer.read")
    valid_customer_id(customer_id)
    data = store.get(account_path(customer_id))
    if data is None:
        raise NotFound("unknown customer", customer_id=customer_id, message_ru="Покупатель не найден.")
    account = Account.from_dict(data)
    return {
        **_summary(config, data, now),
        "earned_level": account.level,
        "level_override": account.level_override,
        "paid_total": account.paid_total,
        "profile": {k: data.get(k) for k in PROFILE_FIELDS if k in data},
        "lots": [{**lot.to_dict(), "state": lot.state(now)} for lot in sorted(account.lots.values(), key=lambda lot: lot.order_key())],
        "reservations": [{"id": r.id, "amount": r.amount, "created_at": r.created_at, "release_after": r.release_after} for r in account.reservations.values()],
    }


def customer_ledger(store: Store, admin: Admin, *, customer_id: str, before_seq: int | None = None, limit: int = 50) -> dict[str, Any]:
    """A page of a customer's postings, newest first (``before_seq``: the lowest seq of the last page)."""
    admin.require("ledger.read")
    valid_customer_id(customer_id)
    if store.get(account_path(customer_id)) is None:
        raise NotFound("unknown customer", customer_id=customer_id, message_ru="Покупатель не найден.")
    page = ledger.postings(store, customer_id, limit=limit, before_seq=before_seq)
    entries = [
        {"seq": p.seq, "kind": p.kind, "key": p.key, "at": p.at, "delta": p.delta, "order_id": p.order_id, "actor": p.actor, "reason": p.reason, "outcome": p.outcome, "movements": p.movements}
        for p in page
    ]
    return {"customer_id": customer_id, "postings": entries, "next_before_seq": page[-1].seq if len(page) == limit else None}


# --- orders and payouts -------------------------------------------------------------------


def call_centre_order(
    store: Store,
    admin: Admin,
    *,
    config: ProgramConfig,
    customer_id: str,
    order_id: str,
    lines: list[CartLine],
    bonuses: int,
    now: datetime,
    promo_code: str | None = None,
) -> dict[str, Any]:
    """An order taken by phone, placed for the customer (``source: call_centre``) like a checkout."""
    admin.require("order.call_centre")
    valid_customer_id(customer_id)
    data = store.get(account_path(customer_id))
    if data is None:
        raise NotFound("unknown customer", customer_id=customer_id, message_ru="Покупатель не найден.")
    if data.get("blocked"):
        raise CustomerBlocked("the customer is blocked", customer_id=customer_id)

    def record(uow: UnitOfWork, order: dict[str, Any]) -> None:  # only when placed: a replay is no new action
        params = {"customer_id": customer_id, "lines": len(lines), "bonuses": bonuses, "promo_code": promo_code}
        result = {"status": order["status"], "bonuses_reserved": order.get("bonuses_reserved"), "money_to_pay": order.get("money_to_pay")}
        audit_in(uow, admin, action="order.call_centre", target=f"order:{order_id}", params=params, result=result, now=now)

    order, _ = orders.place_order(store, config=config, customer_id=customer_id, order_id=order_id, lines=lines, bonuses=bonuses, now=now, promo_code=promo_code, source="call_centre", then=record)
    return order


def request_payout_approval(store: Store, admin: Admin, *, request_id: str, reason: str, key: str | None, now: datetime) -> dict[str, Any]:
    """A manager approves a payout request: it waits for a second manager (maker-checker)."""
    from shared.services import payouts

    admin.require("payout.approve")
    payout = store.get(payouts.payout_path(request_id)) if payouts.REQUEST_ID.fullmatch(request_id) else None
    if payout is None:
        raise NotFound("unknown payout request", request_id=request_id, message_ru="Заявка на выплату не найдена.")
    if payout["status"] != "requested":
        raise InvalidState(f"the request is {payout['status']} already", request_id=request_id, status=payout["status"], message_ru="По заявке уже принято решение.")
    return request_approval(store, admin, action="payout.approve", target=f"payout:{request_id}", params={"request_id": request_id, "reason": reason}, key=key or request_id, reason=reason, now=now)


def list_payouts(store: Store, admin: Admin, *, status: str = "requested", cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
    """Payout requests by status (``requested``: waiting for a decision), in request-id order."""
    from shared.services import payouts

    admin.require("payout.read")
    ids = store.matching(payouts.PAYOUTS, field="status", value=status, limit=limit, start_after=cursor)
    items = [doc for doc in (store.get(payouts.payout_path(i)) for i in ids) if doc is not None]
    return {"payouts": items, "next_cursor": ids[-1] if len(ids) == limit else None}


def reject_payout(store: Store, admin: Admin, *, request_id: str, reason: str, now: datetime) -> dict[str, Any]:
    """A manager turns a payout request down (one person suffices: nothing leaves the shop)."""
    from shared.services import payouts

    admin.require("payout.reject")
    reason = _reason(reason)

    def record(uow: UnitOfWork, result: dict[str, Any]) -> None:
        audit_in(uow, admin, action="payout.reject", target=f"payout:{request_id}", params={"reason": reason}, result=result, now=now)

    return payouts.decide(store, request_id=request_id, decision="reject", actor=admin.email, now=now, reason=reason, then=record)


def mark_payout_paid(store: Store, admin: Admin, *, request_id: str, now: datetime) -> dict[str, Any]:
    from shared.services import payouts

    admin.require("payout.mark_paid")

    def record(uow: UnitOfWork, result: dict[str, Any]) -> None:
        audit_in(uow, admin, action="payout.mark_paid", target=f"payout:{request_id}", params={}, result=result, now=now)

    return payouts.mark_paid(store, request_id=request_id, actor=admin.email, now=now, then=record)


# --- reports ------------------------------------------------------------------------------


def liability_report(store: Store, admin: Admin, *, now: datetime, cursor: str | None = None, limit: int = 200) -> dict[str, Any]:
    """Bonus liability over one page of accounts (id order); add the pages up for the whole shop.

    ``outstanding`` is what customers own (pending + available + reserved −
    debt); ``expiring_30d`` the unreserved bonuses whose lots expire within 30
    days of ``now`` (pending or available).
    """
    admin.require("report.liability")
    require_utc(now)
    horizon = now + timedelta(days=EXPIRY_HORIZON_DAYS)
    rows = store.ordered(CUSTOMERS, order_by="customer_id", limit=limit, start_after=cursor)
    totals = {"accounts": 0, "outstanding": 0, "available": 0, "pending": 0, "reserved": 0, "debt": 0, "expiring_30d": 0, "expired_unswept": 0}
    for _, data in rows:
        account = Account.from_dict(data)
        b = account.balances(now)
        totals["accounts"] += 1
        totals["outstanding"] += b.total
        totals["available"] += b.available
        totals["pending"] += b.pending
        totals["reserved"] += b.reserved
        totals["debt"] += b.debt
        totals["expired_unswept"] += b.expired_unswept
        totals["expiring_30d"] += sum(lot.remaining for lot in account.lots.values() if now < lot.expires_at <= horizon)
    return {"as_of": now, "horizon_days": EXPIRY_HORIZON_DAYS, **totals, "next_cursor": rows[-1][1]["customer_id"] if len(rows) == limit else None}
