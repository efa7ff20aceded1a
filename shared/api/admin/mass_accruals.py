"""Mass accruals before they run: a segment's preview, a customer list read from a CSV file, the latest jobs."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from shared.api.admin.common import CustomerId, _In, _Out
from shared.api.admin.customers import JobResponse
from shared.domain.segments import Segment

MAX_LIST = 5000  # customers a listed mass accrual may name (shared.services.admin.mass_segments.MAX_JOB_CUSTOMERS)


class MassAccrualPreviewRequest(_In):
    """Who a mass accrual would credit and how much, counted without writing anything."""

    amount: int = Field(ge=1, le=1_000_000, description="Bonuses credited to each customer.")
    customer_ids: list[CustomerId] | None = Field(default=None, min_length=1, max_length=MAX_LIST)
    group: str | None = Field(default=None, min_length=1, max_length=64)
    level: str | None = Field(default=None, min_length=1, max_length=64, description="Every customer whose level is this one now.")
    birthday_today: bool = Field(default=False, description="Every customer whose birthday is today (Moscow).")
    audience: Segment | None = Field(default=None, description="Every customer matching this segment now (paid totals in kopecks; the birthday window on the Moscow day).")

    @model_validator(mode="after")
    def _one_source(self) -> MassAccrualPreviewRequest:
        if sum((self.customer_ids is not None, self.group is not None, self.level is not None, self.birthday_today, self.audience is not None)) != 1:
            raise ValueError("give one of customer_ids, group, level, birthday_today or audience")
        return self

    def segment(self) -> dict[str, Any]:
        """Who the accrual is for, as the use case takes it."""
        return {"customer_ids": self.customer_ids, "group": self.group, "level": self.level, "birthday_today": self.birthday_today, "audience": self.audience}


class MassAccrualPreview(_Out):
    segment: str = Field(description="group, segment (an audience), level, birthday or list.")
    customers: int = Field(description="The customers the job would walk.")
    bonuses: int = Field(description="amount × customers: the most the job would credit (its budget).")
    creditable: int | None = Field(description="Of them, the customers who would be credited now (None: a group too large to read through).")
    skipped_unknown: int | None = None
    skipped_blocked: int | None = None
    skipped_excluded: int | None = None
    needs_approval: bool = Field(description="The job would wait for a second admin (its total, or its maker's 24 hours, past the thresholds).")
    threshold: int | None = Field(default=None, description="The first threshold it passes.")


class ListRowError(_Out):
    row: int = Field(description="The line of the file (the first line is 1).")
    value: str
    code: str
    message_ru: str


class CustomerListResponse(_Out):
    customer_ids: list[str] = Field(description="The customers the file names, in file order, each once.")
    rows: int = Field(description="Lines read (a header and blank lines left out).")
    errors: list[ListRowError] = Field(description="The lines that name no customer (at most 200 listed), each with its reason.")
    error_count: int


class JobListRequest(_In):
    limit: int = Field(default=20, ge=1, le=100)


class JobListResponse(_Out):
    jobs: list[JobResponse]
