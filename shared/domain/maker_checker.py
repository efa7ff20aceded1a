"""When a maker's change waits for a checker: the maker's rolling 24 hours and the thresholds (pure).

A maker's bonus changes made without a checker — manual adjustments and mass
accruals, credits and debits alike — are kept in their :class:`MakerWindow`
for :data:`WINDOW`. A new change is done at once only if, with it, the
maker's changes over the window stay within the program's thresholds
(:class:`~shared.domain.config.Approvals`): per customer and in total, and a
mass accrual's amount × customers within its own. Otherwise it waits for a
second person, whatever its size: splitting a change in parts, or over
customers, or between adjustments and mass accruals, only reaches the
threshold sooner. Approved changes were checked and do not count.

:class:`Effect` is what the checker is shown: the change and what the
maker's window adds up to with it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from msgspec import Struct
from msgspec.structs import replace

from shared.domain.config import Approvals

WINDOW = timedelta(hours=24)
# Changes a window holds at most (it is one document): past this many in 24 hours the next one
# waits for approval too, whatever its amount.
MAX_CHANGES = 2000


class Passed(StrEnum):
    """Which threshold a change would pass."""

    PER_CUSTOMER = "per_customer"
    TOTAL = "total"
    MASS_ACCRUAL = "mass_accrual"
    COUNT = "count"


class DirectChange(Struct, frozen=True):
    """One change a maker made without a checker."""

    at: datetime
    ref: str  # what it was: "adjust:<key>", "mass:<job id>"
    each: int  # bonuses per customer, either way
    total: int  # bonuses in all
    customers: tuple[str, ...] | None  # None: a group's members, not listed

    def to(self, customer_id: str) -> int:
        return self.each if self.customers is not None and customer_id in self.customers else 0


class MakerWindow(Struct, frozen=True):
    """A maker's direct changes of the last :data:`WINDOW` (older ones are dropped on every change)."""

    maker: str
    changes: tuple[DirectChange, ...] = ()

    def recent(self, now: datetime) -> tuple[DirectChange, ...]:
        return tuple(c for c in self.changes if c.at > now - WINDOW)

    def to_customer(self, customer_id: str, now: datetime) -> int:
        return sum(c.to(customer_id) for c in self.recent(now))

    def total(self, now: datetime) -> int:
        return sum(c.total for c in self.recent(now))

    def with_change(self, change: DirectChange) -> MakerWindow:
        return replace(self, changes=(*self.recent(change.at), change))


class Effect(Struct, frozen=True):
    """A change and what the maker's 24 hours add up to with it, against the thresholds."""

    each: int
    total: int
    customers: tuple[str, ...] | None
    to_customer_24h: int  # the most any one of the customers got from this maker in the window
    total_24h: int
    changes_24h: int
    limits: Approvals
    passed: tuple[Passed, ...]
    mass_accrual: bool = False

    @property
    def needs_approval(self) -> bool:
        return bool(self.passed)

    @property
    def threshold(self) -> int:
        """The first threshold passed (0 when none)."""
        by = {
            Passed.PER_CUSTOMER: self.limits.adjustments_per_customer,
            Passed.TOTAL: self.limits.adjustments_total,
            Passed.MASS_ACCRUAL: self.limits.mass_accrual_total,
            Passed.COUNT: MAX_CHANGES,
        }
        return by[self.passed[0]] if self.passed else 0

    def view(self) -> dict[str, Any]:
        """What the approval shows the checker (stored with it)."""
        shown: dict[str, Any] = {
            "to_customer_24h": self.to_customer_24h,
            "to_customer_after": self.to_customer_24h + self.each,
            "per_customer_threshold": self.limits.adjustments_per_customer,
            "total_24h": self.total_24h,
            "total_after": self.total_24h + self.total,
            "total_threshold": self.limits.adjustments_total,
            "passed": [p.value for p in self.passed],
        }
        if self.mass_accrual:
            shown["mass_accrual_threshold"] = self.limits.mass_accrual_total
        return shown


def effect(limits: Approvals, window: MakerWindow, *, each: int, customers: tuple[str, ...] | None, count: int, now: datetime, mass_accrual: bool = False) -> Effect:
    """What a change of ``each`` bonuses (either way) to ``count`` customers adds to the maker's window.

    ``customers`` lists them (``None`` for a group's members, who count in the total only).
    """
    each = abs(each)
    total = each * count
    to_customer = max((window.to_customer(c, now) for c in customers), default=0) if customers is not None else 0
    total_24h = window.total(now)
    changes = len(window.recent(now))
    passed = []
    if customers is not None and to_customer + each > limits.adjustments_per_customer:
        passed.append(Passed.PER_CUSTOMER)
    if total_24h + total > limits.adjustments_total:
        passed.append(Passed.TOTAL)
    if mass_accrual and total > limits.mass_accrual_total:
        passed.append(Passed.MASS_ACCRUAL)
    if changes + 1 > MAX_CHANGES:
        passed.append(Passed.COUNT)
    return Effect(
        each=each,
        total=total,
        customers=customers,
        to_customer_24h=to_customer,
        total_24h=total_24h,
        changes_24h=changes,
        limits=limits,
        passed=tuple(passed),
        mass_accrual=mass_accrual,
    )
