"""expiry_sweep: the scheduled sweep (expiries, stale reservations and orders, levels,
expiry notices, birthday bonuses, delivery fallbacks, the catalog feed)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.api import Endpoint


class SweepRequest(BaseModel):
    """Cloud Scheduler posts ``{}``; the bounds are for manual runs."""

    model_config = ConfigDict(extra="forbid")

    batch: int = Field(default=200, ge=1, le=500, description="Documents per page.")
    max_pages: int = Field(default=10, ge=1, le=100, description="Pages per pass in this run; the next run continues.")


class SweepResult(BaseModel):
    orders_checked: int
    canceled: int = Field(description="Orders left unpaid past the reservation timeout, canceled.")
    accounts: int
    expired: int = Field(description="Bonuses written off.")
    released: int = Field(description="Reserved bonuses given back.")
    expiry_complete: int = Field(description="1 when every due account was swept; 0 when the next run continues.")
    levels_reviewed: int
    levels_changed: int
    notices: int = Field(description="Expiry warnings recorded.")
    birthdays: int
    birthday_bonuses: int
    fallback_checked: int = Field(default=0, description="Paid orders whose shipping method's delivery fallback came due, looked at.")
    fallback_delivered: int = Field(default=0, description="Of those, delivered by the fallback (no carrier or manager had said so): their bonuses active.")
    snapshot_accounts: int = Field(default=0, description="Accounts counted so far in today's report snapshot (report_days/{day}).")
    snapshot_complete: int = Field(default=0, description="1 when today's report snapshot is complete; 0 when the next run continues it.")
    catalog_added: int = Field(default=0, description="Products the catalog feed (catalog.feed_url) added.")
    catalog_changed: int = Field(default=0, description="Products the catalog feed changed.")
    catalog_refused: int = Field(default=0, description="Feed offers refused (reported in the import's record).")
    catalog_failed: int = Field(default=0, description="1 when the feed could not be fetched or read: the next run tries again.")
    messages_sent: int = Field(default=0, description="Outbox messages the dispatcher sent after the sweep.")


class DispatchRequest(BaseModel):
    """Cloud Scheduler posts ``{}``; ``limit`` bounds a manual run."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=200, ge=1, le=1000, description="Due messages looked at in this run.")


class DispatchResult(BaseModel):
    sent: int = Field(description="Messages handed to their channel.")
    failed: int = Field(description="Attempts that failed (retried later with backoff, or given up).")
    skipped: int = Field(description="Messages on a channel the customer switched off or has no address on.")
    held: int = Field(description="Messages held for the quiet hours (until 09:00 in the customer's time zone).")


ENDPOINTS = [
    Endpoint("expiry_sweep", "POST", "/run", "Run the sweep (Cloud Scheduler OIDC or the sweep secret)", SweepRequest, SweepResult, auth="scheduler", errors=(400, 401, 403, 409), body_optional=True),
    Endpoint("expiry_sweep", "POST", "/dispatch", "Send the outbox's due messages", DispatchRequest, DispatchResult, auth="scheduler", errors=(400, 401, 403), body_optional=True),
]
