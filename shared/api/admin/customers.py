"""Mass accruals and customers: search, detail, ledger, manual changes, levels, groups, blocking."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import (
    Field,
    model_validator,
)

from shared.api.admin.common import Cursor, CustomerId, Key, Reason, _In, _Out
from shared.domain.admin import MassAccrualJob
from shared.domain.segments import Segment

# --- mass accruals ---------------------------------------------------------------------


class MassAccrualRequest(_In):
    job_id: Key
    amount: int = Field(ge=1, le=1_000_000, description="Bonuses credited to each customer.")
    reason: Reason
    customer_ids: list[CustomerId] | None = Field(default=None, min_length=1, max_length=5000)
    group: str | None = Field(default=None, min_length=1, max_length=64, description="Every customer of this group (instead of customer_ids).")
    level: str | None = Field(default=None, min_length=1, max_length=64, description="Every customer of this level now, resolved to their ids when the job is defined.")
    birthday_today: bool = Field(default=False, description="Every customer whose birthday is today (Moscow), resolved to their ids when the job is defined.")
    audience: Segment | None = Field(
        default=None, description="Every customer matching this segment now (paid totals in kopecks, the birthday window on the Moscow day), resolved to their ids when the job is defined."
    )
    lifetime_days: int | None = Field(default=None, ge=1, le=3660, description="Default: the program's lot lifetime.")
    activation_days: int = Field(default=0, ge=0, le=365)
    max_batch: int = Field(default=200, ge=1, le=1000, description="Customers credited by this call; the rest by /run.")

    @model_validator(mode="after")
    def _one_source(self) -> MassAccrualRequest:
        if sum((self.customer_ids is not None, self.group is not None, self.level is not None, self.birthday_today, self.audience is not None)) != 1:
            raise ValueError("give one of customer_ids, group, level, birthday_today or audience")
        return self

    def segment(self) -> dict[str, Any]:
        """Who the accrual is for, as the use case takes it."""
        return {"customer_ids": self.customer_ids, "group": self.group, "level": self.level, "birthday_today": self.birthday_today, "audience": self.audience}


class MassAccrualRunRequest(_In):
    max_batch: int = Field(default=200, ge=1, le=1000)


class JobDefinition(_Out):
    amount: int
    reason: str
    group: str | None
    level: str | None = Field(default=None, description="The level whose customers the list was made of.")
    birthday: str | None = Field(default=None, description="The Moscow date whose birthdays the list was made of.")
    audience: Segment | None = Field(default=None, description="The segment the list was made of (paid totals in kopecks).")
    customers: int | None = Field(description="How many ids the list holds (None for a group).")
    lifetime_days: int
    activation_days: int


class JobResponse(_Out):
    job_id: str
    kind: str
    status: Literal["pending_approval", "running", "complete", "rejected"] = Field(
        description="pending_approval: its total passed the threshold and it waits for a second admin (approval_id); rejected: it never runs."
    )
    approval_id: str | None = Field(default=None, description="The approval the job waited (or waits) for.")
    budget: int | None = Field(default=None, description="The bonuses checked or approved for the job: it never credits more.")
    cursor: int | str | None
    credited: int = Field(description="Customers credited by the job (each once).")
    bonuses: int
    skipped_unknown: int
    skipped_blocked: int
    skipped_excluded: int = Field(description="Customers of a group excluded from bonuses: skipped, nothing credited.")
    replayed: int = Field(description="Credits found already made (a resumed or overlapping run).")
    batches: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    definition: JobDefinition

    @classmethod
    def of(cls, job: MassAccrualJob) -> JobResponse:
        d = job.definition
        return cls(
            job_id=job.job_id,
            kind=job.kind,
            status=job.status.value,
            approval_id=job.approval_id,
            budget=job.budget,
            cursor=job.cursor,
            credited=job.credited,
            bonuses=job.bonuses,
            skipped_unknown=job.skipped_unknown,
            skipped_blocked=job.skipped_blocked,
            skipped_excluded=job.skipped_excluded,
            replayed=job.replayed,
            batches=job.batches,
            created_by=job.created_by,
            created_at=job.created_at,
            updated_at=job.updated_at,
            completed_at=job.completed_at,
            definition=JobDefinition(
                amount=d.amount, reason=d.reason, group=d.group, level=d.level, birthday=d.birthday, audience=d.audience, customers=d.customers,
                lifetime_days=d.lifetime_days, activation_days=d.activation_days,
            ),
        )


# --- customers -------------------------------------------------------------------------


class CustomerSearchRequest(_In):
    query: str | None = Field(
        default=None, max_length=200, description="One search box: a phone (any usual form), an e-mail, a customer id, an order id, a partner code or the start of a name."
    )
    prefix: str | None = Field(default=None, max_length=128, description="Customer id prefix; empty lists everyone in id order.")
    phone: str | None = Field(default=None, max_length=32, description="A phone number (any usual form); finds its customer.")
    cursor: Cursor = None
    limit: int = Field(default=50, ge=1, le=200)


class CustomerSummary(_Out):
    customer_id: str
    phone: str | None = None
    level: str
    group: str
    blocked: bool
    total: int
    available: int
    pending: int
    reserved: int
    debt: int


class CustomerSearchResponse(_Out):
    customers: list[CustomerSummary]
    next_cursor: str | None


class LotView(_Out):
    id: str
    amount: int
    remaining: int
    source: str
    ref: str | None = None
    accrued_at: datetime
    activates_at: datetime | None
    expires_at: datetime
    state: Literal["pending", "active", "expired"]


class ReservationView(_Out):
    id: str
    amount: int
    created_at: datetime
    release_after: datetime


class CustomerDetail(CustomerSummary):
    earned_level: str | None
    level_override: str | None
    paid_total: int = Field(description="Lifetime paid purchases, kopecks.")
    profile: dict[str, Any]
    lots: list[LotView]
    reservations: list[ReservationView]


class LedgerRequest(_In):
    before_seq: int | None = Field(default=None, ge=1, description="next_before_seq of the previous page")
    limit: int = Field(default=50, ge=1, le=200)


class PostingView(_Out):
    seq: int
    kind: str
    key: str
    at: datetime
    delta: int
    order_id: str | None
    actor: str | None
    reason: str | None
    outcome: dict[str, Any]
    movements: list[dict[str, Any]]


class LedgerResponse(_Out):
    customer_id: str
    postings: list[PostingView]
    next_before_seq: int | None


class AdjustRequest(_In):
    amount: int = Field(ge=-10_000_000, le=10_000_000, description="Bonuses: positive credits a new active lot, negative takes available bonuses.")
    reason: Reason
    idempotency_key: Key
    lifetime_days: int | None = Field(default=None, ge=1, le=3660)

    @model_validator(mode="after")
    def _non_zero(self) -> AdjustRequest:
        if self.amount == 0:
            raise ValueError("amount must not be 0")
        return self


class AdjustResponse(_Out):
    status: Literal["done", "pending_approval"]
    customer_id: str
    amount: int
    replayed: bool | None = None
    approval_id: str | None = Field(default=None, description="Set when the adjustment waits for a second admin.")
    threshold: int | None = None


class LevelRequest(_In):
    level: str | None = Field(max_length=64, description="A level code of the program; null lifts the override.")
    reason: Reason
    idempotency_key: Key


class LevelResponse(_Out):
    customer_id: str
    level_override: str | None
    effective_level: str
    replayed: bool


class GroupRequest(_In):
    group: str = Field(min_length=1, max_length=64)
    reason: Reason
    idempotency_key: Key


class GroupResponse(_Out):
    customer_id: str
    group: str
    replayed: bool


class BlockRequest(_In):
    reason: Reason


class BlockResponse(_Out):
    customer_id: str
    blocked: bool
    changed: bool


