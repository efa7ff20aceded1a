"""Approvals (maker-checker), the audit log and the liability report."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import (
    Field,
)

from shared.api.admin.common import Cursor, IdCursor, Reason, _In, _Out
from shared.domain.admin import Approval, AuditRecord

# --- approvals, audit, reports ------------------------------------------------------------


class ApprovalView(_Out):
    id: str
    action: str
    target: str
    params: dict[str, Any]
    maker: str
    maker_roles: list[str]
    reason: str
    status: Literal["pending", "approved", "executed", "rejected", "failed"]
    created_at: datetime
    checker: str | None
    decided_at: datetime | None
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    replayed: bool | None = None

    @classmethod
    def of(cls, approval: Approval, *, replayed: bool | None = None) -> ApprovalView:
        return cls(
            id=approval.id,
            action=approval.action,
            target=approval.target,
            params=dict(approval.params),
            maker=approval.maker,
            maker_roles=list(approval.maker_roles),
            reason=approval.reason,
            status=approval.status.value,
            created_at=approval.created_at,
            checker=approval.checker,
            decided_at=approval.decided_at,
            result=None if approval.result is None else dict(approval.result),
            error=None if approval.error is None else dict(approval.error),
            replayed=replayed,
        )


class ApprovalSearchRequest(_In):
    status: Literal["pending", "approved", "executed", "rejected", "failed"] = "pending"
    cursor: IdCursor = None
    limit: int = Field(default=50, ge=1, le=200)


class ApprovalListResponse(_Out):
    approvals: list[ApprovalView]
    next_cursor: str | None


class ApprovalRejectRequest(_In):
    reason: Reason


class ApprovalApproveRequest(_In):
    comment: str | None = Field(default=None, max_length=500, description="The checker's comment, kept with the decision in the audit log.")


class AuditEntry(_Out):
    id: str
    actor: str
    roles: list[str]
    action: str
    target: str
    params: dict[str, Any]
    at: datetime
    result: Any
    key: str

    @classmethod
    def of(cls, record: AuditRecord) -> AuditEntry:
        return cls(
            id=record.id,
            actor=record.actor,
            roles=list(record.roles),
            action=record.action,
            target=record.target,
            params=dict(record.params),
            at=record.at,
            result=record.result,
            key=record.key,
        )


class AuditResponse(_Out):
    entries: list[AuditEntry]
    next_cursor: str | None


class LiabilityRequest(_In):
    cursor: Cursor = None
    limit: int = Field(default=200, ge=1, le=500)


class LiabilityResponse(_Out):
    as_of: datetime
    horizon_days: int
    accounts: int
    outstanding: int = Field(description="pending + available + reserved - debt of the page's accounts")
    available: int
    pending: int
    reserved: int
    debt: int
    expiring_30d: int = Field(description="Unreserved bonuses whose lots expire within 30 days")
    expired_unswept: int
    excluded_accounts: int = Field(description="Accounts of a group excluded from bonuses: in `accounts`, left out of every bonus figure above")
    excluded_hidden: int = Field(description="Bonuses those accounts hold (total): hidden from their customers, who can spend none")
    next_cursor: str | None = Field(description="Ask again with it and add the pages up; null on the last page.")


