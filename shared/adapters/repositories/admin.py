"""The back office's repositories: approvals, mass-accrual jobs and the admin audit log.

Stored documents (field names and values are the data model; do not change them)::

    approvals/{id}  {id, action, target, params, maker, maker_roles, reason, status,
                     created_at, checker, decided_at, result, error}
    jobs/{job_id}   {job_id, kind: "mass_accrual", definition: {amount, reason,
                     customer_ids, group, lifetime_days, activation_days, level?,
                     birthday?, audience?}, status,
                     cursor, credited, bonuses, skipped_unknown, skipped_blocked,
                     skipped_excluded, replayed, batches, created_by, created_at, updated_at, completed_at,
                     budget, approval_id}
    audit/{id}      {id, actor, roles, action, target, params, at, result, key}
    maker_windows/{email}  {maker, changes: [{at, ref, each, total, customers}], updated_at}
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.adapters import layout
from shared.adapters.repositories.base import Repository
from shared.domain.admin import (
    MASS_ACCRUAL,
    Approval,
    ApprovalStatus,
    AuditRecord,
    JobStatus,
    MassAccrualDefinition,
    MassAccrualJob,
)
from shared.domain.maker_checker import DirectChange, MakerWindow
from shared.domain.segments import Segment

# --- approvals -----------------------------------------------------------------------------


def approval_document(approval: Approval) -> dict[str, Any]:
    return {
        "id": approval.id,
        "action": approval.action,
        "target": approval.target,
        "params": dict(approval.params),
        "maker": approval.maker,
        "maker_roles": list(approval.maker_roles),
        "reason": approval.reason,
        "status": approval.status.value,
        "created_at": approval.created_at,
        "checker": approval.checker,
        "decided_at": approval.decided_at,
        "result": None if approval.result is None else dict(approval.result),
        "error": None if approval.error is None else dict(approval.error),
    }


def approval_from(doc: dict[str, Any]) -> Approval:
    return Approval(
        id=doc["id"],
        action=doc["action"],
        target=doc["target"],
        params=doc["params"],
        maker=doc["maker"],
        maker_roles=tuple(doc["maker_roles"]),
        reason=doc["reason"],
        status=ApprovalStatus(doc["status"]),
        created_at=doc["created_at"],
        checker=doc.get("checker"),
        decided_at=doc.get("decided_at"),
        result=doc.get("result"),
        error=doc.get("error"),
    )


class ApprovalRepository(Repository):
    """``approvals/{id}``: maker-checker requests."""

    def get(self, approval_id: str) -> Approval | None:
        doc = self._docs.get(layout.approval(approval_id))
        return None if doc is None else approval_from(doc)

    def create(self, approval: Approval) -> None:
        """Create at commit; the commit fails if it exists (a retry then re-reads)."""
        self._docs.create(layout.approval(approval.id), approval_document(approval))

    def put(self, approval: Approval) -> None:
        self._docs.put(layout.approval(approval.id), approval_document(approval))

    def with_status(self, status: ApprovalStatus, *, limit: int, start_after: str | None = None) -> tuple[list[Approval], str | None]:
        """A page of approvals with ``status`` in id order, and the id to continue after (``None``: the last page)."""
        ids = self._queries.matching(layout.APPROVALS, field="status", value=status.value, limit=limit, start_after=start_after)
        docs = self._docs.get_all([layout.approval(i) for i in ids])
        found = [approval_from(doc) for doc in (docs[layout.approval(i)] for i in ids) if doc is not None]
        return found, ids[-1] if len(ids) == limit else None


# --- mass-accrual jobs ----------------------------------------------------------------------


def job_document(job: MassAccrualJob) -> dict[str, Any]:
    d = job.definition
    return {
        "job_id": job.job_id,
        "kind": job.kind,
        "definition": {
            "amount": d.amount,
            "reason": d.reason,
            "customer_ids": None if d.customer_ids is None else list(d.customer_ids),
            "group": d.group,
            "lifetime_days": d.lifetime_days,
            "activation_days": d.activation_days,
            **({"level": d.level} if d.level is not None else {}),  # a level or birthday segment's, only then
            **({"birthday": d.birthday} if d.birthday is not None else {}),
            **({"audience": d.audience.model_dump(mode="json", exclude_defaults=True)} if d.audience is not None else {}),  # a segment's conditions, only then
        },
        "status": job.status.value,
        "cursor": job.cursor,
        "credited": job.credited,
        "bonuses": job.bonuses,
        "skipped_unknown": job.skipped_unknown,
        "skipped_blocked": job.skipped_blocked,
        "skipped_excluded": job.skipped_excluded,
        "replayed": job.replayed,
        "batches": job.batches,
        "created_by": job.created_by,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "completed_at": job.completed_at,
        "budget": job.budget,
        "approval_id": job.approval_id,
    }


def job_from(doc: dict[str, Any]) -> MassAccrualJob:
    d = doc["definition"]
    ids = d.get("customer_ids")
    return MassAccrualJob(
        job_id=doc["job_id"],
        kind=doc["kind"],
        definition=MassAccrualDefinition(
            amount=d["amount"],
            reason=d["reason"],
            customer_ids=None if ids is None else tuple(ids),
            group=d.get("group"),
            lifetime_days=d["lifetime_days"],
            activation_days=d.get("activation_days", 0),
            level=d.get("level"),
            birthday=d.get("birthday"),
            audience=Segment.model_validate(d["audience"]) if d.get("audience") is not None else None,
        ),
        status=JobStatus(doc["status"]),
        cursor=doc["cursor"],
        credited=doc["credited"],
        bonuses=doc["bonuses"],
        skipped_unknown=doc["skipped_unknown"],
        skipped_blocked=doc["skipped_blocked"],
        skipped_excluded=doc.get("skipped_excluded", 0),
        replayed=doc["replayed"],
        batches=doc["batches"],
        created_by=doc["created_by"],
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        completed_at=doc.get("completed_at"),
        budget=doc.get("budget"),
        approval_id=doc.get("approval_id"),
    )


class JobRepository(Repository):
    """``jobs/{job_id}``: mass accruals (the only kind of job there is)."""

    def get(self, job_id: str) -> MassAccrualJob | None:
        """The mass accrual of that id; ``None`` when there is none (or the job is of another kind)."""
        doc = self._docs.get(layout.job(job_id))
        return None if doc is None or doc.get("kind") != MASS_ACCRUAL else job_from(doc)

    def exists(self, job_id: str) -> bool:
        """Whether any job, of whatever kind, holds that id."""
        return self._docs.get(layout.job(job_id)) is not None

    def create(self, job: MassAccrualJob) -> None:
        """Create at commit; the commit fails if it exists (a retry then re-reads)."""
        self._docs.create(layout.job(job.job_id), job_document(job))

    def put(self, job: MassAccrualJob) -> None:
        self._docs.put(layout.job(job.job_id), job_document(job))

    def recent(self, *, limit: int, before: datetime | None = None) -> list[MassAccrualJob]:
        """The latest mass accruals, newest first (``before``: the creation time of the last one shown)."""
        rows = self._queries.ordered(layout.JOBS, order_by="created_at", descending=True, limit=limit, start_after=before)
        return [job_from(doc) for _, doc in rows if doc.get("kind") == MASS_ACCRUAL]


# --- the admin audit log ----------------------------------------------------------------------


def audit_document(record: AuditRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "actor": record.actor,
        "roles": list(record.roles),
        "action": record.action,
        "target": record.target,
        "params": dict(record.params),
        "at": record.at,
        "result": record.result,
        "key": record.key,
    }


def audit_from(doc: dict[str, Any]) -> AuditRecord:
    return AuditRecord(
        id=doc["id"],
        actor=doc["actor"],
        roles=tuple(doc["roles"]),
        action=doc["action"],
        target=doc["target"],
        params=doc["params"],
        at=doc["at"],
        result=doc.get("result"),
        key=doc["key"],
    )


class AdminAuditRepository(Repository):
    """``audit/{id}``: one record per back-office action, created once, never changed."""

    def add(self, record: AuditRecord) -> None:
        self._docs.create(layout.admin_audit(record.id), audit_document(record))

    def get(self, audit_id: str) -> AuditRecord | None:
        doc = self._docs.get(layout.admin_audit(audit_id))
        return None if doc is None else audit_from(doc)

    def newest(self, *, limit: int, start_after: str | None = None) -> list[AuditRecord]:
        """A page of the log, newest first (``start_after``: the ``key`` of the last record of the previous page)."""
        rows = self._queries.ordered(layout.ADMIN_AUDIT, order_by="key", descending=True, limit=limit, start_after=start_after)
        return [audit_from(doc) for _, doc in rows]

    def of_target(self, target: str, *, limit: int) -> list[AuditRecord]:
        """Up to ``limit`` records of actions on ``target`` (``customer:{id}`` …), newest first."""
        ids = self._queries.matching(layout.ADMIN_AUDIT, field=layout.ADMIN_AUDIT_TARGET_FIELD, value=target, limit=limit)
        found = self._docs.get_all([layout.admin_audit(audit_id) for audit_id in ids])
        return sorted((audit_from(doc) for doc in found.values() if doc is not None), key=lambda record: record.key, reverse=True)


# --- the makers' windows ------------------------------------------------------------------------


class MakerWindowRepository(Repository):
    """``maker_windows/{email}``: an admin's bonus changes made without a checker, kept 24 hours."""

    def get(self, maker: str) -> MakerWindow | None:
        doc = self._docs.get(layout.maker_window(maker))
        if doc is None:
            return None
        changes = tuple(
            DirectChange(at=c["at"], ref=c["ref"], each=int(c["each"]), total=int(c["total"]), customers=None if c.get("customers") is None else tuple(c["customers"]))
            for c in doc.get("changes", [])
        )
        return MakerWindow(maker=doc.get("maker", maker), changes=changes)

    def put(self, window: MakerWindow) -> None:
        changes = [{"at": c.at, "ref": c.ref, "each": c.each, "total": c.total, "customers": None if c.customers is None else list(c.customers)} for c in window.changes]
        self._docs.put(layout.maker_window(window.maker), {"maker": window.maker, "changes": changes, "updated_at": max((c.at for c in window.changes), default=None)})
