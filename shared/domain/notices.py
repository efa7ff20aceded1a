"""Notices recorded for a customer: today the warning that bonuses expire soon."""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct


class ExpiryNotice(Struct, frozen=True):
    """``customers/{id}/notices/expiry:{day}``: bonuses of one Moscow day's expiry, announced once.

    ``sent_at`` is when a channel delivered it (``None``: recorded, not sent yet).
    """

    key: str
    customer_id: str
    amount: int
    expires_at: datetime
    expires_on: str  # the Moscow date, ISO
    lots: tuple[str, ...]
    created_at: datetime
    sent_at: datetime | None = None
    kind: str = "expiry_warning"
