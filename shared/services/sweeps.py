"""The scheduled sweep: every time-driven change of the program, in bounded, resumable passes.

One run does, in this order, each as its own pass over a query with a stored
position in ``sweeps/{name}`` (:mod:`shared.services.cursors`):

1. ``order_timeouts`` — orders still ``awaiting_payment`` once the program's
   reservation timeout has passed since they were placed are canceled
   (:func:`orders.mark_canceled`: the reserved bonuses and the promo use go
   back). A watermark over ``created_at``: every order is looked at once.
2. ``expiry`` — accounts with a due expiry or reservation end
   (:func:`account_sweep.sweep_due`): expired remainders written off, stale
   reservations released, the rolling-window level re-evaluated.
3. ``levels`` — only for a rolling-window level basis, once per Moscow day: a
   walk over all accounts that sweeps those whose window lost a day or whose
   level no longer matches it (downgrades when the config allows them).
4. ``expiry_notices`` — once per Moscow day: a notice
   ``customers/{id}/notices/expiry:<date>`` for bonuses that expire within
   ``messages.expiry_soon.days_before`` days (7 by default), written once, each with its
   ``expiry_soon`` message in the outbox (one per customer and expiry date).
5. ``birthdays`` — once per Moscow day: customers whose ``birthday_md`` is today
   get the program's birthday bonus (an ``earning_rules`` entry with event
   ``birthday``), once per customer and year (key ``birthday:<customer>:<year>``).
6. ``delivery_fallbacks`` — paid orders no carrier or manager reported
   delivered by their shipping method's fallback (``shipping.fallback_days``
   after payment) are delivered then, their bonuses active from that moment
   (:func:`shipping_fallback.deliver_by_fallbacks`).
7. ``report_days`` — once per Moscow day: the dashboards' snapshot of the
   bonus liability and of the day before's orders
   (:mod:`shared.services.report_snapshots`), one document per day.
8. ``catalog_feed`` — when the program names a ``catalog.feed_url``, the YML
   feed is fetched and imported (:mod:`shared.services.catalog_import`: an
   unchanged feed writes nothing, a run cut short is finished by the next);
   a feed that cannot be fetched or read is logged and left to the next run.
9. ``abandoned_carts`` — when the ``abandoned_cart`` message is on: a logged-in
   customer's last quoted cart with no paid order since, older than the
   trigger's ``hours``, gets one reminder per cart
   (:func:`trigger_sweeps.remind_abandoned_carts`).
10. ``winback`` — when the ``winback`` message is on: customers whose last paid
   order is older than the trigger's ``days`` get the message and its bonus,
   once per lapse (:func:`trigger_sweeps.win_back_lapsed`).

Every step is idempotent (keyed postings, create-once notices, order transitions
that record their events), so a crash half-way, a re-run or two overlapping runs
redo work without doubling it. A run stops a pass after ``max_pages`` pages; the
next run continues it.

Customer fields this relies on, written by the identity services: ``birthday``
(``"MM-DD"``, or ``"YYYY-MM-DD"`` as entered) and ``birthday_md`` (always
``"MM-DD"``: the field the birthday query matches on). February 29 birthdays are
celebrated on February 28 in non-leap years.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shared.domain import holds
from shared.domain.catalog import SourceRow
from shared.domain.clock import MSK
from shared.domain.config import EarningEvent, EarningRule, ProgramConfig
from shared.domain.customer import CustomerRecord
from shared.domain.errors import DomainError
from shared.domain.ledger import Accrue
from shared.domain.levels import level_after_sweep, window_start
from shared.domain.messages import Trigger
from shared.domain.notices import ExpiryNotice
from shared.domain.order import OrderStatus
from shared.services import account_sweep, catalog_import, cursors, orders, outbox, report_snapshots, shipping_fallback, trigger_sweeps, triggers
from shared.services.ledger import AccountSession
from shared.services.ports import Store, UnitOfWork

log = logging.getLogger(__name__)


# Days before an expiry that the customer is warned: one place to change, documented in
# functions/README.md (not program config: the same for every program).
WARNING_DAYS = 7


def msk_date(now: datetime) -> str:
    return now.astimezone(MSK).date().isoformat()


def _in_id_order(store: Store, *, limit: int, after: str | None) -> list[CustomerRecord]:
    return store.read(lambda uow: uow.accounts.in_id_order(limit=limit, after=after))


def _due(store: Store, *, until: datetime, limit: int, after: tuple[Any, ...] | None) -> list[tuple[str, datetime]]:
    return store.read(lambda uow: uow.accounts.due(until=until, limit=limit, after=after))


def _with_birthday(store: Store, month_day: str, *, limit: int, after: str | None) -> list[str]:
    return store.read(lambda uow: uow.accounts.with_birthday(month_day, limit=limit, after=after))


def _excluded(config: ProgramConfig, group: str | None) -> bool:
    return config.group(group or config.default_group).bonuses_excluded


# --- 1. orders left unpaid -----------------------------------------------------------


def _placed_page(store: Store, *, until: datetime, limit: int, after: tuple[datetime, str] | None) -> list[tuple[str, datetime]]:
    return store.read(lambda uow: uow.orders.placed_until(until=until, limit=limit, after=after))


def cancel_stale_orders(store: Store, *, config: ProgramConfig, now: datetime, batch: int, max_pages: int) -> dict[str, int]:
    """Cancel orders left ``awaiting_payment`` past the reservation timeout."""
    counts = {"orders_checked": 0, "canceled": 0}
    horizon = holds.unpaid_horizon(config, now)
    after = cursors.watermark(store, "order_timeouts")
    for _ in range(max_pages):
        start = (after[0], after[1]) if after else None
        rows = _placed_page(store, until=horizon, limit=batch, after=start)
        for order_id, _created in rows:
            counts["orders_checked"] += 1
            order = orders.find_order(store, order_id)
            if order is None or not order.awaiting_payment:
                continue
            try:
                canceled = orders.mark_canceled(store, order_id=order_id, now=now, reason="timeout", placed=order)
            except DomainError as exc:  # paid in the meantime: the payment wins
                log.info("stale order not canceled", extra={"json_fields": {"order_id": order_id, "reason": exc.message}})
                continue
            counts["canceled"] += int(canceled.status is OrderStatus.CANCELED)
        if rows:
            after = [rows[-1][1], rows[-1][0]]
            cursors.raise_watermark(store, "order_timeouts", after, now=now)
        if len(rows) < batch:
            break
    return counts


# --- 3. rolling-window levels ----------------------------------------------------------


def review_levels(store: Store, *, config: ProgramConfig, now: datetime, batch: int, max_pages: int) -> dict[str, int]:
    """Once a day, sweep every account whose rolling window lost a day or whose level changed."""
    counts = {"levels_reviewed": 0, "levels_changed": 0}
    start = window_start(config, now)
    if start is None:
        return counts
    run = cursors.open_pass(store, "levels", now=now, scope=msk_date(now))
    if run.done:
        return counts
    after = run.after[0] if run.after else None
    for _ in range(max_pages):
        records = _in_id_order(store, limit=batch, after=after)
        for record in records:
            customer_id, account = record.customer_id, record.account
            counts["levels_reviewed"] += 1
            stale = any(day < start.isoformat() for day in account.paid_by_day)
            level = level_after_sweep(config, account, now)
            if stale or level != account.level:
                account_sweep.sweep_account(store, config=config, customer_id=customer_id, now=now)
                counts["levels_changed"] += int(level != account.level)
        if len(records) < batch:
            cursors.close(store, run, now=now)
            break
        after = records[-1].customer_id
        if not cursors.advance(store, run, [after], now=now):
            break
    return counts


# --- 4. expiry warnings ----------------------------------------------------------------


def _warning_days(config: ProgramConfig) -> int:
    """How many days ahead expiries are announced: the ``expiry_soon`` message's ``days_before``."""
    return config.messages.expiry_soon.days_before


def warn_account(store: Store, *, config: ProgramConfig, customer_id: str, now: datetime) -> int:
    """Record one notice, and enqueue its ``expiry_soon`` message, per expiry day of bonuses expiring within
    ``days_before`` (pending lots included); 0 when already recorded."""
    record = store.read(lambda uow: uow.accounts.get(customer_id))
    if record is None:
        return 0
    account = record.account
    if _excluded(config, account.group):
        return 0
    until = now + timedelta(days=_warning_days(config))
    by_day: dict[str, list[Any]] = {}
    for lot in account.lots.values():  # pending lots too, unless they would expire before they unlock
        if lot.remaining > 0 and now < lot.expires_at <= until and (lot.activates_at is None or lot.activates_at < lot.expires_at):
            by_day.setdefault(msk_date(lot.expires_at), []).append(lot)
    written = 0
    for day, lots in sorted(by_day.items()):
        notice = ExpiryNotice(
            key=f"expiry:{day}",
            customer_id=customer_id,
            amount=sum(lot.remaining for lot in lots),
            expires_at=min(lot.expires_at for lot in lots),
            expires_on=day,
            lots=tuple(sorted(lot.id for lot in lots)),
            created_at=now,
        )

        def unit(uow: UnitOfWork, notice: ExpiryNotice = notice) -> int:
            if uow.notices.get(customer_id, notice.key) is not None:
                return 0
            uow.notices.create(notice)
            day_shown = f"{notice.expires_on[8:10]}.{notice.expires_on[5:7]}.{notice.expires_on[:4]}"
            days_left = max((notice.expires_at - now).days, 0)
            variables = {"amount": notice.amount, "date": day_shown, "days": days_left}
            outbox.enqueue(uow, config, trigger=Trigger.EXPIRY_SOON, cause=f"{customer_id}:{notice.expires_on}", customer_id=customer_id, variables=variables, due_at=now, now=now)
            return 1

        written += store.run(unit)
    return written


def warn_expiring(store: Store, *, config: ProgramConfig, now: datetime, batch: int, max_pages: int) -> dict[str, int]:
    counts = {"notices": 0}
    run = cursors.open_pass(store, "expiry_notices", now=now, scope=msk_date(now))
    if run.done:
        return counts
    position = tuple(run.after) if run.after else None
    until = now + timedelta(days=_warning_days(config))
    for _ in range(max_pages):
        rows = _due(store, until=until, limit=batch, after=position)
        for customer_id, _ in rows:
            counts["notices"] += warn_account(store, config=config, customer_id=customer_id, now=now)
        if len(rows) < batch:
            cursors.close(store, run, now=now)
            break
        position = (rows[-1][1], rows[-1][0])
        if not cursors.advance(store, run, list(position), now=now):
            break
    return counts


# --- 5. birthdays ----------------------------------------------------------------------


def birthday_rule(config: ProgramConfig, now: datetime, group: str | None = None) -> EarningRule | None:
    for rule in config.earning_rules:
        if rule.event is not EarningEvent.BIRTHDAY or not rule.amount:
            continue
        if rule.active_from is not None and now < rule.active_from:
            continue
        if rule.active_to is not None and now >= rule.active_to:
            continue
        if group is not None and rule.groups and group not in rule.groups:
            continue
        return rule
    return None


def birthdays_today(now: datetime) -> list[str]:
    """The ``MM-DD`` values celebrated today (Moscow): Feb 29 moves to Feb 28 in other years."""
    today = now.astimezone(MSK).date()
    days = [today.strftime("%m-%d")]
    if today.month == 2 and today.day == 28 and not calendar.isleap(today.year):
        days.append("02-29")
    return days


def credit_birthday(store: Store, *, config: ProgramConfig, customer_id: str, now: datetime) -> int:
    """The birthday bonus of this year, once: the amount credited now, 0 otherwise (a blocked customer gets none)."""
    year = now.astimezone(MSK).year
    key = f"birthday:{customer_id}:{year}"

    def unit(uow: UnitOfWork) -> int:
        session = AccountSession(uow, customer_id)
        if not session.exists or session.blocking.is_blocked or uow.postings.get(customer_id, key) is not None:
            return 0  # unknown, blocked (no credit while blocked) or credited this year already
        group = session.account.group or config.default_group
        rule = birthday_rule(config, now, group)
        if rule is None or _excluded(config, group):
            return 0
        outcome = session.post(
            key,
            Accrue(
                amount=rule.amount,
                source="birthday",
                ref=rule.code,
                activates_at=holds.rule_activation(rule, now),
                expires_at=holds.rule_expiry(config, rule, now),
                merge=True,
            ),
            now=now,
        )
        if outcome.replayed:
            return 0
        triggers.birthday(uow, config, customer_id=customer_id, bonus=rule.amount, now=now, record=session.record)
        return rule.amount

    return store.run(unit)


def credit_birthdays(store: Store, *, config: ProgramConfig, now: datetime, batch: int, max_pages: int) -> dict[str, int]:
    counts = {"birthdays": 0, "birthday_bonuses": 0}
    if birthday_rule(config, now) is None:
        return counts
    for md in birthdays_today(now):
        run = cursors.open_pass(store, "birthdays", now=now, scope=f"{msk_date(now)}:{md}")
        if run.done:
            continue
        after = run.after[0] if run.after else None
        for _ in range(max_pages):
            ids = _with_birthday(store, md, limit=batch, after=after)
            for customer_id in ids:
                amount = credit_birthday(store, config=config, customer_id=customer_id, now=now)
                counts["birthdays"] += int(amount > 0)
                counts["birthday_bonuses"] += amount
            if len(ids) < batch:
                cursors.close(store, run, now=now)
                break
            after = ids[-1]
            if not cursors.advance(store, run, [after], now=now):
                break
    return counts


# --- the catalog feed ---------------------------------------------------------------------


def import_feed(store: Store, *, config: ProgramConfig, now: datetime, load: Callable[[str], list[SourceRow]] | None) -> dict[str, int]:
    """The program's YML feed imported (nothing without a ``catalog.feed_url`` or a loader)."""
    counts = {"catalog_added": 0, "catalog_changed": 0, "catalog_refused": 0, "catalog_failed": 0}
    url = config.catalog.feed_url
    if not url or load is None:
        return counts
    try:
        outcome = catalog_import.apply(store, config, load(url), source="feed", actor="sweep", now=now)
    except DomainError as exc:  # the feed unreachable or unreadable: the next run tries again
        log.warning("catalog feed not imported", extra={"json_fields": {"code": exc.code, "error": exc.message}})
        return {**counts, "catalog_failed": 1}
    if outcome.replayed:
        return counts
    record = outcome.record
    return {**counts, "catalog_added": record.counts.added, "catalog_changed": record.counts.changed, "catalog_refused": record.refused_count}


# --- the run ---------------------------------------------------------------------------


def run_sweep(
    store: Store, *, config: ProgramConfig, now: datetime, batch: int = 200, max_pages: int = 10, feed: Callable[[str], list[SourceRow]] | None = None
) -> dict[str, int]:
    """One scheduled run: every pass above, each bounded to ``max_pages`` pages of ``batch``;
    ``feed`` fetches and reads the catalog feed (``None``: the catalog pass is skipped)."""
    counts: dict[str, int] = {}
    counts.update(cancel_stale_orders(store, config=config, now=now, batch=batch, max_pages=max_pages))
    due = account_sweep.sweep_due(store, config=config, now=now, batch=batch, cursor="expiry", max_pages=max_pages)
    counts.update(accounts=due["accounts"], expired=due["expired"], released=due["released"], expiry_complete=due["complete"])
    counts.update(review_levels(store, config=config, now=now, batch=batch, max_pages=max_pages))
    counts.update(warn_expiring(store, config=config, now=now, batch=batch, max_pages=max_pages))
    counts.update(credit_birthdays(store, config=config, now=now, batch=batch, max_pages=max_pages))
    counts.update(shipping_fallback.deliver_by_fallbacks(store, config=config, now=now, batch=batch, max_pages=max_pages))
    counts.update(report_snapshots.take_snapshot(store, config=config, now=now, batch=batch, max_pages=max_pages))
    counts.update(import_feed(store, config=config, now=now, load=feed))
    counts.update(trigger_sweeps.remind_abandoned_carts(store, config=config, now=now, batch=batch, max_pages=max_pages))
    counts.update(trigger_sweeps.win_back_lapsed(store, config=config, now=now, batch=batch, max_pages=max_pages))
    log.info("sweep run", extra={"json_fields": counts})
    return counts
