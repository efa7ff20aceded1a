"""The back-office audit log: ``audit/{id}``, one record per successful action.

A record is written in the unit of work of the change it describes
(:func:`audit_in`), so there is exactly one record per change; after a use
case that runs its own transactions it is written right after (:func:`audit`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shared.api.admin import AuditEntry, AuditResponse
from shared.domain.admin import AuditRecord
from shared.domain.clock import MSK
from shared.edge.admin_auth import Admin
from shared.services.ports import Store, UnitOfWork


def audit_record(admin: Admin, *, action: str, target: str, params: dict[str, Any], result: Any, now: datetime) -> AuditRecord:
    """One record of ``admin`` doing ``action`` (a random id; ``key`` orders the log)."""
    return AuditRecord.new(audit_id=uuid.uuid4().hex, actor=admin.email, roles=tuple(admin.roles), action=action, target=target, params=params, result=result, at=now)


def audit_in(uow: UnitOfWork, admin: Admin, *, action: str, target: str, params: dict[str, Any], result: Any, now: datetime) -> None:
    """Record the action in ``uow``: it commits with the change, or neither does."""
    uow.admin_audit.add(audit_record(admin, action=action, target=target, params=params, result=result, now=now))


def audit(store: Store, admin: Admin, *, action: str, target: str, params: dict[str, Any], result: Any, now: datetime) -> AuditRecord:
    """Record an action that committed in transactions of its own."""
    record = audit_record(admin, action=action, target=target, params=params, result=result, now=now)
    store.run(lambda uow: uow.admin_audit.add(record))
    return record


def audit_log(store: Store, admin: Admin, *, cursor: str | None = None, limit: int = 50) -> AuditResponse:
    """The audit log, newest first (``cursor``: the ``key`` of the last record of the previous page)."""
    admin.require("audit.read")
    records = store.read(lambda uow: uow.admin_audit.newest(limit=limit, start_after=cursor))
    return AuditResponse(entries=[AuditEntry.of(r) for r in records], next_cursor=records[-1].key if len(records) == limit else None)


#: records a filtered page looks through at most; its cursor continues from the last one looked at
SCAN_LIMIT = 2000


def _day_key(day: date) -> str:
    """The audit key of the first moment of a Moscow day (keys are UTC times first)."""
    return datetime.combine(day, time(0), tzinfo=MSK).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _names_customer(record: AuditRecord, customer_id: str) -> bool:
    if record.target == f"customer:{customer_id}":
        return True
    params, result = record.params or {}, record.result if isinstance(record.result, dict) else {}
    return customer_id in (params.get("customer_id"), result.get("customer_id")) or customer_id in (params.get("customers") or ())


def _page(store: Store, after: str | None) -> list[AuditRecord]:
    return store.read(lambda uow: uow.admin_audit.newest(limit=200, start_after=after))


def search_audit(
    store: Store,
    admin: Admin,
    *,
    actor: str | None = None,
    action: str | None = None,
    customer_id: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> AuditResponse:
    """The audit log, newest first, filtered by actor, action (or its prefix ending in "."), customer and Moscow days.

    The days bound the key range read; the other filters are applied to the records read,
    at most :data:`SCAN_LIMIT` per call: ``next_cursor`` (the key of the last record looked at)
    continues the search when the page is not full yet.
    """
    admin.require("audit.read")
    if not (actor or action or customer_id or date_from or date_to):
        return audit_log(store, admin, cursor=cursor, limit=limit)
    start = cursor or (_day_key(date_to + timedelta(days=1)) if date_to else None)
    floor = _day_key(date_from) if date_from else None
    actor = actor.strip().lower() if actor else None

    def wanted(r: AuditRecord) -> bool:
        if actor and r.actor.lower() != actor:
            return False
        if action and not (r.action == action or (action.endswith(".") and r.action.startswith(action))):
            return False
        return not customer_id or _names_customer(r, customer_id)

    found: list[AuditRecord] = []
    scanned, last, exhausted = 0, start, False
    while len(found) < limit and scanned < SCAN_LIMIT:
        batch = _page(store, last)
        for r in batch:
            if floor and r.key < floor:
                exhausted = True
                break
            scanned, last = scanned + 1, r.key
            if wanted(r):
                found.append(r)
                if len(found) == limit:
                    break
        if exhausted or len(batch) < 200:
            exhausted = exhausted or len(found) < limit
            break
    return AuditResponse(entries=[AuditEntry.of(r) for r in found], next_cursor=None if exhausted else last)
