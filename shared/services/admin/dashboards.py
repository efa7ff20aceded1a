"""The back office's dashboards: the bonus liability over time, what is expiring by month, bonuses
earned and spent per week, orders with bonuses, partners' rewards and the payouts due.

History comes from the sweep's daily snapshots (:mod:`shared.services.report_snapshots`: one
read of at most ``weeks × 7`` documents), the payouts due from the open requests themselves.
A role sees what its permissions allow: the liability and the activity with ``report.liability``,
the payouts due with ``payout.read``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from shared.api.admin.reports import DashboardResponse, LiabilityPoint, MonthAmount, PartnersDue, WeekActivity
from shared.domain.clock import MSK
from shared.domain.ledger import require_utc
from shared.domain.payouts import PayoutStatus
from shared.domain.reports import DaySnapshot
from shared.edge.admin_auth import Admin
from shared.services import payouts
from shared.services.ports import Store

#: open payout requests summed at most (pages of 200); a shop has far fewer
MAX_OPEN_PAYOUTS = 2000


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _open_payouts(store: Store, status: PayoutStatus) -> tuple[int, int]:
    count = amount = 0
    cursor: str | None = None
    while count < MAX_OPEN_PAYOUTS:
        found, cursor = payouts.with_status(store, status, cursor=cursor, limit=200)
        count += len(found)
        amount += sum(p.amount for p in found)
        if cursor is None:
            break
    return count, amount


def _activity(snapshots: list[DaySnapshot], today: date, weeks: int) -> list[WeekActivity]:
    first = _monday(today) - timedelta(weeks=weeks - 1)
    buckets = {first + timedelta(weeks=i): [0, 0, 0, 0] for i in range(weeks)}
    for s in snapshots:
        if not s.orders_done:
            continue
        week = _monday(date.fromisoformat(s.activity_day))
        if week in buckets:
            b = buckets[week]
            b[0] += s.earned
            b[1] += s.spent
            b[2] += s.orders
            b[3] += s.orders_with_bonuses
    return [WeekActivity(week=w, earned=b[0], spent=b[1], orders=b[2], orders_with_bonuses=b[3]) for w, b in sorted(buckets.items())]


def dashboard(store: Store, admin: Admin, *, now: datetime, weeks: int = 8) -> DashboardResponse:
    """The dashboards the admin's roles open (:class:`Forbidden` when none)."""
    require_utc(now)
    liability, paying = admin.can("report.liability"), admin.can("payout.read")
    if not (liability or paying):
        admin.require("report.liability")
    partners = PartnersDue()
    result = DashboardResponse(partners=partners)
    if liability:
        days = store.read(lambda uow: uow.report_days.latest(limit=weeks * 7 + 1))
        counted = [s for s in days if s.accounts_done]
        latest = counted[0] if counted else None
        result.liability = [LiabilityPoint(day=date.fromisoformat(s.day), outstanding=s.outstanding, pending=s.pending, available=s.available, reserved=s.reserved) for s in reversed(counted)]
        result.expiring = [MonthAmount(month=m, amount=a) for m, a in sorted((latest.expiring if latest else {}).items())]
        result.activity = _activity(days, now.astimezone(MSK).date(), weeks)
        if latest is not None:
            result.snapshot_day, result.snapshot_at = date.fromisoformat(latest.day), latest.updated_at
            partners.rewards_pending, partners.rewards_available = latest.partner_pending, latest.partner_available
        else:
            partners.rewards_pending = partners.rewards_available = 0
    if paying:
        partners.payouts_requested, partners.payouts_requested_amount = _open_payouts(store, PayoutStatus.REQUESTED)
        partners.payouts_approved, partners.payouts_approved_amount = _open_payouts(store, PayoutStatus.APPROVED)
    return result


__all__ = ["dashboard"]
