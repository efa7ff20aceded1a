"""The back-office audit log: ``audit/{id}``, one record per successful action.

A record is written in the unit of work of the change it describes
(:func:`audit_in`), so there is exactly one record per change; after a use
case that runs its own transactions it is written right after (:func:`audit`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from shared.api.admin import AuditEntry, AuditResponse
from shared.domain.admin import AuditRecord
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
