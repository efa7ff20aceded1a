"""A campaign's results: what it accrued, and the shop's orders, revenue and bonuses spent in its
window against the average of periods of the same length just before it.

The window is ``[active_from, min(active_to, now))``: the elapsed part of a running campaign (an
upcoming campaign has an empty one). Its length is the **period**; the baseline is the ``periods``
periods of that length immediately before ``active_from``, as many as cover
:data:`BASELINE_SPAN` (at least one), and each figure "before" is their average per period, so the
window is always compared with a span of its own length. Both are read the same bounded way: the orders placed in
them (the orders' placement index, pages of :data:`PAGE`, at most :data:`MAX_ORDERS` per window;
``complete`` is false when a window had more) and, for the paid ones, the line book that recorded
which campaign raised each line. Orders count once paid: their number, the money paid (kopecks)
and the bonuses that paid for them; the campaign's accrual is the points of its lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.api.admin.campaign_results import CampaignResults, CampaignSummary, MetricChange, WindowFigures
from shared.domain.campaigns import Campaign
from shared.domain.config import ProgramConfig
from shared.domain.errors import NotFound
from shared.domain.ledger import require_utc
from shared.edge.admin_auth import Admin
from shared.services.ports import Store

PAGE = 200
#: orders read at most per window (a shop's week has far fewer); more: ``complete`` is false
MAX_ORDERS = 20_000
#: the baseline's periods cover at least this much time before the campaign (a short window: many periods)
BASELINE_SPAN = timedelta(weeks=4)


@dataclass
class _Tally:
    orders: int = 0
    revenue: int = 0
    spent: int = 0
    earned: int = 0
    campaign_earned: int = 0
    complete: bool = True


def _page(store: Store, tally: _Tally, *, code: str, start: datetime, end: datetime, after: tuple[datetime, str]) -> list[tuple[str, datetime]]:
    """Add one page of the orders placed in ``[start, end)`` after ``after`` to ``tally``; the page's ids."""
    ids = store.read(lambda uow: uow.orders.placed_until(until=end - timedelta(microseconds=1), limit=PAGE, after=after))
    found = store.read(lambda uow: [uow.orders.get(order_id) for order_id, _ in ids])
    paid = [o for o in found if o is not None and o.paid_at is not None and o.created_at is not None and start <= o.created_at < end]
    books = store.read(lambda uow: [uow.line_books.get(o.customer_id, o.order_id) for o in paid])
    for order, book in zip(paid, books, strict=True):
        tally.orders += 1
        tally.revenue += order.money_paid or 0
        tally.spent += order.bonuses_spent or 0
        tally.earned += order.points_earned or 0
        if book is not None:
            tally.campaign_earned += sum(line.earned for line in book.lines.values() if line.campaign == code)
    return ids


def _tally(store: Store, *, code: str, start: datetime, end: datetime) -> _Tally:
    """The paid orders placed in ``[start, end)`` and what the campaign ``code`` accrued on them."""
    tally = _Tally()
    if end <= start:
        return tally
    after: tuple[datetime, str] = (start - timedelta(microseconds=1), "~")  # "~" sorts after every order id
    seen = 0
    while True:
        ids = _page(store, tally, code=code, start=start, end=end, after=after)
        seen += len(ids)
        if len(ids) < PAGE:
            return tally
        if seen >= MAX_ORDERS:
            tally.complete = False
            return tally
        after = (ids[-1][1], ids[-1][0])


def change_percent(current: int, before: int, periods: int = 1) -> float | None:
    """The change in percent, to one decimal, from the average per period of ``before`` (the total over
    ``periods`` periods) to ``current`` (one period); ``None``: nothing before."""
    if before == 0 or periods < 1:
        return None
    return round((current * periods - before) * 100 / before, 1)


def average(total: int, periods: int) -> int:
    """``total`` over ``periods`` periods, per period, rounded half up (0 when there are none)."""
    return (2 * total + periods) // (2 * periods) if periods > 0 else 0


def baseline_periods(window: timedelta) -> int:
    """How many periods of the window's length the baseline holds: enough to cover :data:`BASELINE_SPAN`
    (0 for an empty window)."""
    if window <= timedelta(0):
        return 0
    return max(1, -(-BASELINE_SPAN // window))  # rounded up, in whole microseconds


def _metric(current: int, before: int, periods: int) -> MetricChange:
    return MetricChange(current=current, before=average(before, periods), before_total=before, change_percent=change_percent(current, before, periods))


def summary(campaign: Campaign, now: datetime) -> CampaignSummary:
    return CampaignSummary(
        code=campaign.code, name=campaign.name, active_from=campaign.active_from, active_to=campaign.active_to,
        multiplier_percent=campaign.multiplier_percent, bonus_percent=campaign.bonus_percent, status=campaign.status(now),
    )


def find(config: ProgramConfig, code: str) -> Campaign:
    campaign = next((c for c in config.campaigns if c.code == code), None)
    if campaign is None:
        raise NotFound("unknown campaign", code=code, message_ru="Кампания не найдена.")
    return campaign


def results(store: Store, admin: Admin, *, config: ProgramConfig, code: str, now: datetime) -> CampaignResults:
    """The results of the program's campaign ``code`` as of ``now`` (:class:`NotFound` when the program has none)."""
    admin.require("campaign.read")
    require_utc(now)
    campaign = find(config, code)
    start = campaign.active_from
    end = max(start, min(campaign.active_to, now))
    period = end - start
    periods = baseline_periods(period)
    base_start = start - period * periods
    current = _tally(store, code=campaign.code, start=start, end=end)
    before = _tally(store, code=campaign.code, start=base_start, end=start)
    return CampaignResults(
        campaign=summary(campaign, now),
        as_of=now,
        window=WindowFigures(starts=start, ends=end),
        baseline=WindowFigures(starts=base_start, ends=start),
        period_seconds=int(period.total_seconds()),
        periods=periods,
        campaign_earned=current.campaign_earned,
        orders=_metric(current.orders, before.orders, periods),
        revenue=_metric(current.revenue, before.revenue, periods),
        spent=_metric(current.spent, before.spent, periods),
        earned=_metric(current.earned, before.earned, periods),
        complete=current.complete and before.complete,
    )


__all__ = ["average", "baseline_periods", "change_percent", "find", "results", "summary"]
