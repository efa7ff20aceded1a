"""The daily report snapshot: the bonus liability of one Moscow day and that day's order activity.

Balances are a state, not a history, so the liability "over time" is kept as
one small document per Moscow day (``report_days/{YYYY-MM-DD}``), written by the
scheduled sweep page by page over the accounts (its position is in the document
itself, so a run cut short is finished by the next and a page is never counted
twice). The day's activity (orders placed, bonuses they spent and earned) is
counted over the orders placed on the Moscow day before, once the walk over the
accounts is done. Nothing here is written per order.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct, field


class DaySnapshot(Struct, frozen=True, kw_only=True):
    """``report_days/{day}``: the liability as the sweep found it on ``day`` and ``activity_day``'s orders."""

    day: str  # the Moscow date the snapshot was taken (ISO)
    activity_day: str  # the Moscow date whose orders are counted (the day before)
    started_at: datetime
    updated_at: datetime
    accounts_done: bool = False
    after: str | None = None  # the last customer id counted
    accounts: int = 0
    outstanding: int = 0  # pending + available + reserved − debt
    available: int = 0
    pending: int = 0
    reserved: int = 0
    debt: int = 0
    expiring: dict[str, int] = field(default_factory=dict)  # "YYYY-MM" (Moscow) -> unreserved bonuses expiring then
    partner_pending: int = 0  # partners' rewards still in their hold
    partner_available: int = 0  # partners' rewards spendable or payable now
    orders_done: bool = False
    orders_after: tuple[datetime, str] | None = None  # the last order counted (placement time, id)
    orders: int = 0  # orders placed on activity_day
    orders_with_bonuses: int = 0  # of those, paid with part in bonuses
    spent: int = 0  # bonuses those orders spent
    earned: int = 0  # bonuses those orders earned

    @property
    def complete(self) -> bool:
        return self.accounts_done and self.orders_done
