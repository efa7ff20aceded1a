"""The back office's own records: the admin audit log, maker-checker approvals and
mass-accrual jobs, as frozen values.

Each record is what one document holds (see :mod:`shared.adapters.repositories.admin`
for the stored shape); a change is a new value (``msgspec.structs.replace``), made by
the methods here so that the rules of each record live in one place:

* an :class:`Approval` goes ``pending`` → ``executed`` or ``rejected``; a payout
  approval passes through ``approved`` (claimed by its checker) and ends
  ``executed`` or ``failed``;
* a :class:`MassAccrualJob` waits for its approval when its total passed the
  threshold (``pending_approval`` → ``running``, or ``rejected``), moves its
  cursor on batch by batch, counting each customer once and never crediting
  more than its ``budget``, and ends ``complete``;
* an :class:`AuditRecord` is written once and never changed; its ``key`` (time,
  then id) orders the log newest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from msgspec import Struct
from msgspec.structs import replace
from pydantic import BaseModel

from shared.domain.segments import Segment

# A JSON-like value as the back office stores it in params and results (datetimes
# stay datetimes: Firestore stores them as timestamps).
Json = Any
JsonObject = Mapping[str, Any]


def jsonable(value: Any) -> Any:
    """A value Firestore stores as is (no tuples, decimals or models)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


# --- the audit log -----------------------------------------------------------------------


def audit_key(at: datetime, audit_id: str) -> str:
    """The sort key of an audit record: its UTC time to the microsecond, then its id."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") + "-" + audit_id


class AuditRecord(Struct, frozen=True):
    """Who did what to which target, with which parameters and result, and when."""

    id: str
    actor: str
    roles: tuple[str, ...]
    action: str
    target: str
    params: JsonObject
    at: datetime
    result: Json
    key: str

    @classmethod
    def new(cls, *, audit_id: str, actor: str, roles: tuple[str, ...], action: str, target: str, params: JsonObject, result: Any, at: datetime) -> AuditRecord:
        return cls(
            id=audit_id,
            actor=actor,
            roles=tuple(roles),
            action=action,
            target=target,
            params=jsonable(params),
            at=at,
            result=jsonable(result),
            key=audit_key(at, audit_id),
        )


# --- approvals (maker-checker) -------------------------------------------------------------


class ApprovalStatus(StrEnum):
    PENDING = "pending"  # waiting for a checker
    APPROVED = "approved"  # claimed by a checker, being executed (payouts)
    EXECUTED = "executed"  # done, exactly once
    REJECTED = "rejected"  # turned down (or withdrawn by its maker)
    FAILED = "failed"  # approved, but the action could no longer be done


class Approval(Struct, frozen=True):
    """An action a maker asked for, waiting for (or decided by) a second admin."""

    id: str
    action: str
    target: str
    params: JsonObject
    maker: str
    maker_roles: tuple[str, ...]
    reason: str
    status: ApprovalStatus
    created_at: datetime
    checker: str | None = None
    decided_at: datetime | None = None
    result: JsonObject | None = None
    error: JsonObject | None = None

    @classmethod
    def request(cls, *, approval_id: str, action: str, target: str, params: JsonObject, maker: str, maker_roles: tuple[str, ...], reason: str, now: datetime) -> Approval:
        return cls(
            id=approval_id,
            action=action,
            target=target,
            params=jsonable(params),
            maker=maker,
            maker_roles=tuple(maker_roles),
            reason=reason,
            status=ApprovalStatus.PENDING,
            created_at=now,
        )

    def claimed(self, checker: str, now: datetime) -> Approval:
        """Taken by its checker before an action done in other transactions (a payout decision)."""
        return replace(self, status=ApprovalStatus.APPROVED, checker=checker, decided_at=now)

    def executed(self, checker: str, now: datetime, result: Any) -> Approval:
        return replace(self, status=ApprovalStatus.EXECUTED, checker=checker, decided_at=now, result=jsonable(result))

    def rejected(self, checker: str, now: datetime, reason: str) -> Approval:
        return replace(self, status=ApprovalStatus.REJECTED, checker=checker, decided_at=now, result={"reason": reason})

    def failed(self, error: JsonObject) -> Approval:
        return replace(self, status=ApprovalStatus.FAILED, error=jsonable(error))


# --- mass accruals -------------------------------------------------------------------------

MASS_ACCRUAL = "mass_accrual"  # the kind of job a mass accrual is


class JobStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"  # its total passed the threshold: waits for a checker
    RUNNING = "running"
    COMPLETE = "complete"
    REJECTED = "rejected"  # its approval was turned down: it never runs


class MassAccrualDefinition(Struct, frozen=True):
    """Who gets how many bonuses, why, and for how long: a list of customer ids or a group.

    A segment (``audience``: :class:`shared.domain.segments.Segment`), a level's
    customers (``level``) or the customers whose birthday it is (``birthday``:
    the Moscow date it was defined on) is resolved to its list of ids when the
    job is defined: the job credits those customers, whoever joins the segment
    later."""

    amount: int
    reason: str
    customer_ids: tuple[str, ...] | None
    group: str | None
    lifetime_days: int
    activation_days: int = 0
    level: str | None = None
    birthday: str | None = None
    audience: Segment | None = None

    @property
    def segment(self) -> str:
        """What the job is for: ``group``, ``segment``, ``level``, ``birthday`` or ``list``."""
        if self.group is not None:
            return "group"
        if self.audience is not None:
            return "segment"
        if self.level is not None:
            return "level"
        return "birthday" if self.birthday is not None else "list"

    @property
    def customers(self) -> int | None:
        """How many ids the list holds (``None`` for a group)."""
        return None if self.customer_ids is None else len(self.customer_ids)


class CreditOutcome(StrEnum):
    """What crediting one customer of a mass accrual did."""

    CREDITED = "credited"  # credited now
    REPLAYED = "replayed"  # found credited already (a resumed or overlapping run)
    UNKNOWN = "unknown"  # no such customer: skipped
    BLOCKED = "blocked"  # a blocked customer: skipped
    EXCLUDED = "excluded"  # a customer of a group excluded from bonuses: skipped


class BatchCounts(Struct, frozen=True):
    """What one batch did to its customers."""

    credited: int = 0
    replayed: int = 0
    unknown: int = 0
    blocked: int = 0
    excluded: int = 0

    def add(self, outcome: CreditOutcome) -> BatchCounts:
        """Count one customer's outcome."""
        return replace(self, **{outcome.value: getattr(self, outcome.value) + 1})


class MassAccrualJob(Struct, frozen=True):
    """A mass accrual's definition and progress: its cursor and what it counted so far."""

    job_id: str
    definition: MassAccrualDefinition
    status: JobStatus
    cursor: int | str | None  # an index into the id list, or the last customer id of the group
    credited: int
    bonuses: int
    skipped_unknown: int
    skipped_blocked: int
    replayed: int
    batches: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None
    kind: str = MASS_ACCRUAL
    skipped_excluded: int = 0
    budget: int | None = None  # the bonuses checked (or approved) for it: it never credits more; None: jobs from before budgets
    approval_id: str | None = None  # the approval it waited for

    @classmethod
    def start(
        cls, *, job_id: str, definition: MassAccrualDefinition, created_by: str, now: datetime, budget: int | None = None, approval_id: str | None = None
    ) -> MassAccrualJob:
        """A new job: running, or waiting for the approval ``approval_id`` when one is given."""
        return cls(
            job_id=job_id,
            definition=definition,
            status=JobStatus.PENDING_APPROVAL if approval_id else JobStatus.RUNNING,
            budget=budget,
            approval_id=approval_id,
            cursor=0 if definition.customer_ids is not None else None,
            credited=0,
            bonuses=0,
            skipped_unknown=0,
            skipped_blocked=0,
            replayed=0,
            batches=0,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )

    @property
    def complete(self) -> bool:
        return self.status is JobStatus.COMPLETE

    @property
    def runnable(self) -> bool:
        return self.status in (JobStatus.RUNNING, JobStatus.COMPLETE)

    def batch_size(self, size: int) -> int:
        """How many customers the next batch may credit: ``size``, fewer as the budget runs out."""
        if self.budget is None:
            return size
        return max(0, min(size, (self.budget - self.bonuses) // self.definition.amount))

    def approved(self, now: datetime) -> MassAccrualJob:
        return replace(self, status=JobStatus.RUNNING, updated_at=now)

    def rejected(self, now: datetime) -> MassAccrualJob:
        return replace(self, status=JobStatus.REJECTED, updated_at=now)

    def advanced(self, *, cursor: int | str | None, counts: BatchCounts, done: bool, now: datetime) -> MassAccrualJob:
        """The job after one batch: the cursor moved on, the counters added up, complete at the end."""
        credited = counts.credited + counts.replayed
        moved = replace(
            self,
            cursor=cursor,
            credited=self.credited + credited,
            bonuses=self.bonuses + credited * self.definition.amount,
            replayed=self.replayed + counts.replayed,
            skipped_unknown=self.skipped_unknown + counts.unknown,
            skipped_blocked=self.skipped_blocked + counts.blocked,
            skipped_excluded=self.skipped_excluded + counts.excluded,
            batches=self.batches + 1,
            updated_at=now,
        )
        return replace(moved, status=JobStatus.COMPLETE, completed_at=now) if done else moved

    def progress_since(self, earlier: MassAccrualJob) -> dict[str, int]:
        """The counters this job moved since ``earlier`` (the audit record of one run)."""
        return {
            "credited": self.credited - earlier.credited,
            "replayed": self.replayed - earlier.replayed,
            "skipped_unknown": self.skipped_unknown - earlier.skipped_unknown,
            "skipped_blocked": self.skipped_blocked - earlier.skipped_blocked,
            "skipped_excluded": self.skipped_excluded - earlier.skipped_excluded,
        }
