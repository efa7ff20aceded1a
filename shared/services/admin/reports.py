"""Back-office reports: the bonus liability, page by page."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.api.admin import LiabilityResponse
from shared.domain.config import ProgramConfig
from shared.domain.customer import bonuses_excluded
from shared.domain.ledger import require_utc
from shared.edge.admin_auth import Admin
from shared.services.ports import Store

EXPIRY_HORIZON_DAYS = 30


def liability_report(store: Store, admin: Admin, *, config: ProgramConfig, now: datetime, cursor: str | None = None, limit: int = 200) -> LiabilityResponse:
    """Bonus liability over one page of accounts (id order); add the pages up for the whole shop.

    ``outstanding`` is what customers own (pending + available + reserved −
    debt); ``expiring_30d`` the unreserved bonuses whose lots expire within 30
    days of ``now`` (pending or available). Both count only what customers
    can see: accounts of a group excluded from bonuses (whose members see no
    bonus data and can spend none) are left out of them and counted apart,
    as ``excluded_accounts`` and the bonuses they hold, ``excluded_hidden``.
    """
    admin.require("report.liability")
    require_utc(now)
    horizon = now + timedelta(days=EXPIRY_HORIZON_DAYS)
    rows = store.read(lambda uow: uow.accounts.in_id_order(limit=limit, after=cursor))
    totals = {"accounts": 0, "outstanding": 0, "available": 0, "pending": 0, "reserved": 0, "debt": 0, "expiring_30d": 0, "expired_unswept": 0, "excluded_accounts": 0, "excluded_hidden": 0}
    for row in rows:
        account = row.account
        b = account.balances(now)
        totals["accounts"] += 1
        if bonuses_excluded(config, account):
            totals["excluded_accounts"] += 1
            totals["excluded_hidden"] += b.total
            continue
        totals["outstanding"] += b.total
        totals["available"] += b.available
        totals["pending"] += b.pending
        totals["reserved"] += b.reserved
        totals["debt"] += b.debt
        totals["expired_unswept"] += b.expired_unswept
        totals["expiring_30d"] += sum(lot.remaining for lot in account.lots.values() if now < lot.expires_at <= horizon)
    return LiabilityResponse(as_of=now, horizon_days=EXPIRY_HORIZON_DAYS, **totals, next_cursor=rows[-1].customer_id if len(rows) == limit else None)
