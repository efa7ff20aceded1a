"""The sweep's daily report snapshot (``report_days/{day}``), for the back office's dashboards.

Once per Moscow day the sweep walks every account in id order, a page per
transaction, adding the page's balances to the day's document together with
the last id it counted (so a page is never counted twice, and a run cut short
by ``max_pages`` is continued by the next run). Then it counts the orders
placed on the Moscow day before (a bounded query over that day's placement
times): how many, how many paid partly in bonuses, the bonuses they spent and
earned. One document per day; nothing is written per order.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta

from msgspec.structs import replace

from shared.domain.clock import MSK
from shared.domain.config import ProgramConfig
from shared.domain.customer import bonuses_excluded
from shared.domain.ledger import require_utc
from shared.domain.reports import DaySnapshot
from shared.services.ports import Store, UnitOfWork

#: months the expiry forecast covers: this one and the next twelve (a lot lives a year)
EXPIRY_MONTHS = 13


def moscow_day(now: datetime) -> str:
    return now.astimezone(MSK).date().isoformat()


def month_of(moment: datetime) -> str:
    return moment.astimezone(MSK).strftime("%Y-%m")


def _started(store: Store, now: datetime) -> DaySnapshot:
    day = moscow_day(now)
    activity = (now.astimezone(MSK).date() - timedelta(days=1)).isoformat()

    def unit(uow: UnitOfWork) -> DaySnapshot:
        found = uow.report_days.get(day)
        if found is None:
            found = DaySnapshot(day=day, activity_day=activity, started_at=now, updated_at=now)
            uow.report_days.put(found)
        return found

    return store.run(unit)


def _count_accounts(store: Store, *, config: ProgramConfig, snapshot: DaySnapshot, now: datetime, batch: int) -> DaySnapshot:
    """One page of accounts after the snapshot's position, added to the day's document in one transaction."""
    rows = store.read(lambda uow: uow.accounts.in_id_order(limit=batch, after=snapshot.after))
    horizon = {month_of(now + timedelta(days=31 * i)) for i in range(EXPIRY_MONTHS)}
    totals = Counter[str]()
    expiring = Counter[str]()
    for row in rows:
        account = row.account
        if bonuses_excluded(config, account):
            continue
        b = account.balances(now)
        totals.update(accounts=1, outstanding=b.total, available=b.available, pending=b.pending, reserved=b.reserved, debt=b.debt)
        for lot in account.lots.values():
            state = lot.state(now)
            if state == "expired" or lot.remaining <= 0:
                continue
            month = month_of(lot.expires_at)
            if month in horizon:
                expiring[month] += lot.remaining
            if lot.source == "referral":
                totals["partner_pending" if state == "pending" else "partner_available"] += lot.remaining
    last = rows[-1].customer_id if rows else snapshot.after
    done = len(rows) < batch
    before = snapshot.after

    def unit(uow: UnitOfWork) -> DaySnapshot:
        current = uow.report_days.get(snapshot.day) or snapshot
        if current.after != before or current.accounts_done:  # another run counted this page meanwhile
            return current
        merged = dict(current.expiring)
        for month, amount in expiring.items():
            merged[month] = merged.get(month, 0) + amount
        moved = replace(
            current,
            after=last,
            accounts_done=done,
            updated_at=now,
            expiring=merged,
            **{name: getattr(current, name) + totals[name] for name in ("accounts", "outstanding", "available", "pending", "reserved", "debt", "partner_pending", "partner_available")},
        )
        uow.report_days.put(moved)
        return moved

    return store.run(unit)


def _count_orders(store: Store, *, snapshot: DaySnapshot, now: datetime, batch: int) -> DaySnapshot:
    """One page of the orders placed on the activity day, after the snapshot's position."""
    start = datetime.combine(datetime.fromisoformat(snapshot.activity_day).date(), time(0), tzinfo=MSK).astimezone(now.tzinfo)  # the Moscow day's start, in UTC
    end = start + timedelta(days=1)
    after = snapshot.orders_after or (start - timedelta(microseconds=1), "~")  # "~" sorts after every order id
    ids = store.read(lambda uow: uow.orders.placed_until(until=end - timedelta(microseconds=1), limit=batch, after=after))
    found = store.read(lambda uow: [uow.orders.get(order_id) for order_id, _ in ids])
    counts = Counter[str]()
    for order in found:
        if order is None or order.created_at is None or order.created_at < start:
            continue
        counts["orders"] += 1
        if order.paid_at is not None:
            spent = order.bonuses_spent or 0
            counts["spent"] += spent
            counts["earned"] += order.points_earned or 0
            counts["orders_with_bonuses"] += 1 if spent > 0 else 0
    last = (ids[-1][1], ids[-1][0]) if ids else snapshot.orders_after
    done = len(ids) < batch
    before = snapshot.orders_after

    def unit(uow: UnitOfWork) -> DaySnapshot:
        current = uow.report_days.get(snapshot.day) or snapshot
        if current.orders_after != before or current.orders_done:
            return current
        moved = replace(current, orders_after=last, orders_done=done, updated_at=now, **{name: getattr(current, name) + counts[name] for name in ("orders", "orders_with_bonuses", "spent", "earned")})
        uow.report_days.put(moved)
        return moved

    return store.run(unit)


def take_snapshot(store: Store, *, config: ProgramConfig, now: datetime, batch: int, max_pages: int) -> dict[str, int]:
    """Continue today's snapshot by at most ``max_pages`` pages; a finished day is left as it is."""
    require_utc(now)
    snapshot = _started(store, now)
    pages = 0
    while not snapshot.complete and pages < max_pages:
        if not snapshot.accounts_done:
            snapshot = _count_accounts(store, config=config, snapshot=snapshot, now=now, batch=batch)
        else:
            snapshot = _count_orders(store, snapshot=snapshot, now=now, batch=batch)
        pages += 1
    return {"snapshot_accounts": snapshot.accounts, "snapshot_complete": int(snapshot.complete)}
