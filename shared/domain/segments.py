"""Customer segments: who a campaign, a mass accrual or a message trigger is for.

A :class:`Segment` is a conjunction of optional conditions on a customer's
:class:`CustomerFacts`; an empty segment matches everyone. :func:`matches` is
the one pure test, given ``now`` (tz-aware) for the time-relative conditions
(birthday window). The birthday is compared on the calendar date of ``now`` in
the zone it is given in (campaigns pass UTC; mass accruals and message triggers
the Moscow time); a 29 February birthday counts as 28 February in other years.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Days = Annotated[int, Field(ge=0, le=31)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Segment(_Model):
    """Customers matching every condition set (an empty segment: everyone)."""

    levels: tuple[Code, ...] = Field(default=(), description="Customer is at one of these levels.")
    groups: tuple[Code, ...] = Field(default=(), description="Customer is in one of these groups.")
    birthday_days_before: Days | None = Field(default=None, description="Birthday condition: today is at most this many days before the customer's birthday (set either bound; 0/0: the day itself).")
    birthday_days_after: Days | None = Field(default=None, description="Birthday condition: today is at most this many days after the customer's birthday.")
    first_order: bool = Field(default=False, description="Customer has no paid orders yet.")
    last_purchase_before: datetime | None = Field(default=None, description="Customer's last paid purchase is before this moment (or none).")
    paid_total_min: int | None = Field(default=None, ge=0, description="Paid purchase total at least this, kopecks.")
    paid_total_max: int | None = Field(default=None, ge=0, description="Paid purchase total at most this, kopecks.")
    registered_from: datetime | None = Field(default=None, description="Registered at or after this moment.")
    registered_to: datetime | None = Field(default=None, description="Registered before this moment.")

    @model_validator(mode="after")
    def _ranges(self) -> Segment:
        if self.paid_total_min is not None and self.paid_total_max is not None and self.paid_total_min > self.paid_total_max:
            raise ValueError("paid_total_min must not be above paid_total_max")
        for name in ("last_purchase_before", "registered_from", "registered_to"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must carry a time zone")
        if self.registered_from is not None and self.registered_to is not None and self.registered_from >= self.registered_to:
            raise ValueError("registered_from must be before registered_to")
        return self

    @property
    def birthday_window(self) -> tuple[int, int] | None:
        """(days before, days after) of the birthday condition, or ``None`` when it has none."""
        if self.birthday_days_before is None and self.birthday_days_after is None:
            return None
        return self.birthday_days_before or 0, self.birthday_days_after or 0

    @property
    def everyone(self) -> bool:
        return self == Segment()


class CustomerFacts(_Model):
    """What segments look at of one customer."""

    level: str
    group: str
    birthday_md: str | None = Field(default=None, pattern=r"^\d\d-\d\d$", description="Birthday as MM-DD.")
    paid_orders: int = Field(default=0, ge=0)
    paid_total: int = Field(default=0, ge=0, description="Kopecks.")
    last_purchase_at: datetime | None = None
    registered_at: datetime | None = None


def _birthday_in(year: int, md: str) -> date:
    month, day = int(md[:2]), int(md[3:])
    try:
        return date(year, month, day)
    except ValueError:  # 29 February outside a leap year
        return date(year, month, day - 1)


def birthday_matches(window: tuple[int, int], birthday_md: str | None, now: datetime) -> bool:
    """Is today (UTC) within the window around the birthday ``MM-DD``?"""
    if birthday_md is None:
        return False
    today = now.date()
    for year in (today.year - 1, today.year, today.year + 1):
        delta = (today - _birthday_in(year, birthday_md)).days
        if -window[0] <= delta <= window[1]:
            return True
    return False


def matches(segment: Segment, facts: CustomerFacts | None, now: datetime) -> bool:
    """Does the customer (``None``: an anonymous visitor) belong to the segment at ``now``?

    An anonymous visitor matches only the empty segment.
    """
    if facts is None:
        return segment.everyone
    if segment.levels and facts.level not in segment.levels:
        return False
    if segment.groups and facts.group not in segment.groups:
        return False
    window = segment.birthday_window
    if window is not None and not birthday_matches(window, facts.birthday_md, now):
        return False
    if segment.first_order and facts.paid_orders > 0:
        return False
    if segment.last_purchase_before is not None and facts.last_purchase_at is not None and facts.last_purchase_at >= segment.last_purchase_before:
        return False
    if segment.paid_total_min is not None and facts.paid_total < segment.paid_total_min:
        return False
    if segment.paid_total_max is not None and facts.paid_total > segment.paid_total_max:
        return False
    if segment.registered_from is not None and (facts.registered_at is None or facts.registered_at < segment.registered_from):
        return False
    return not (segment.registered_to is not None and (facts.registered_at is None or facts.registered_at >= segment.registered_to))


__all__ = ["CustomerFacts", "Segment", "birthday_matches", "matches"]
