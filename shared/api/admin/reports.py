"""The back office's dashboards, the filtered audit log and the bank's payout batch."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from shared.api.admin.common import Cursor, CustomerId, _In, _Out

# --- dashboards ----------------------------------------------------------------------------


class DashboardRequest(_In):
    weeks: int = Field(default=8, ge=1, le=26, description="Weeks of history (the liability by day, the activity by week).")


class LiabilityPoint(_Out):
    day: date = Field(description="The Moscow day of the snapshot.")
    outstanding: int = Field(description="Bonuses: pending + available + reserved - debt")
    pending: int
    available: int
    reserved: int


class MonthAmount(_Out):
    month: str = Field(description="YYYY-MM, Moscow time")
    amount: int = Field(description="Bonuses")


class WeekActivity(_Out):
    week: date = Field(description="The Monday of the week (Moscow days).")
    earned: int = Field(description="Bonuses earned by the orders placed that week (once paid)")
    spent: int = Field(description="Bonuses spent by the orders placed that week (once paid)")
    orders: int = Field(description="Orders placed")
    orders_with_bonuses: int = Field(description="Of those, paid partly with bonuses")


class PartnersDue(_Out):
    rewards_pending: int | None = Field(default=None, description="Partners' rewards still in their hold, bonuses (report.liability)")
    rewards_available: int | None = Field(default=None, description="Partners' rewards available now, bonuses (report.liability)")
    payouts_requested: int | None = Field(default=None, description="Payout requests waiting for a decision (payout.read)")
    payouts_requested_amount: int | None = None
    payouts_approved: int | None = Field(default=None, description="Approved payouts not yet paid (payout.read)")
    payouts_approved_amount: int | None = None


class DashboardResponse(_Out):
    """What the signed-in role may see: liability and activity with report.liability, payouts due with payout.read."""

    snapshot_day: date | None = Field(default=None, description="The newest complete snapshot's Moscow day (None: none yet)")
    snapshot_at: datetime | None = None
    liability: list[LiabilityPoint] | None = None
    expiring: list[MonthAmount] | None = None
    activity: list[WeekActivity] | None = None
    partners: PartnersDue


# --- the audit log, filtered ------------------------------------------------------------------


class AuditSearchRequest(_In):
    cursor: Cursor = None
    limit: int = Field(default=50, ge=1, le=200)
    actor: str | None = Field(default=None, max_length=254, description="The actor's e-mail, exactly")
    action: str | None = Field(default=None, max_length=64, pattern=r"^[a-z_.]+$", description="An action (payout.reveal) or its prefix (payout.)")
    customer_id: CustomerId | None = Field(default=None, description="Records whose target or parameters name this customer")
    date_from: date | None = Field(default=None, description="From this Moscow day")
    date_to: date | None = Field(default=None, description="To this Moscow day, inclusive")


# --- the bank's batch --------------------------------------------------------------------------


class PayoutExportRequest(_In):
    reveal: bool = Field(default=False, description="Full destinations (payout.reveal; audited as payout.export with reveal)")


class PayoutExportRow(_Out):
    request_id: str
    customer_id: str
    amount: int = Field(description="Kopecks to pay (one bonus is one rouble)")
    method: str
    details: str = Field(description="The destination, masked")
    destination: str | None = Field(default=None, description="The full destination (only when revealed)")
    approved_at: datetime | None = None


class PayoutExportResponse(_Out):
    generated_at: datetime
    revealed: bool
    rows: list[PayoutExportRow]
    total: int = Field(description="Kopecks")
