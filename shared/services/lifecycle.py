"""Customer and order use cases over the ledger: registration, checkout, payment,
delivery, returns, referral rewards and the per-account sweep.

Each use case is keyword-only, takes the config in force and ``now``, runs
in transactions through :meth:`Store.run` and is idempotent: every posting
it makes is keyed by its cause (``welcome:<customer>``, ``accrue:<order>``,
``return:<order>:<return id>`` …), so a retried webhook replays instead of
doubling. A use case touches the customer's own documents and the order's;
a partner's reward is a separate transaction on the partner's account.

The customer's side of checkout, payment, delivery and returns is also
exposed as a unit (``checkout_unit``, ``release_unit``, ``pay_order_unit``,
``deliver_unit``, ``return_lines_unit``): a function of a unit of work that
:mod:`shared.services.orders` runs in the same transaction as the order
document's transition, so the ledger and the order never disagree. The plain
functions run the same unit in a transaction of its own.

Expiry rule: a lot expires ``lot_lifetime_days`` after it was accrued
(the case studies' "one year from the accrual"), whatever its hold.
"""

from __future__ import annotations

import contextvars
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain.cart import CartLine, CustomerView, PromoRule, Quote, quote
from shared.domain.config import EarningEvent, ProgramConfig
from shared.domain.customer import Referee
from shared.domain.errors import InvalidState, NotFound, ValidationFailed
from shared.domain.ledger import Accrue, Allocation, Expire, Note, OpenAccount, RecordPurchase, Refund, Release, Released, Reserve, Reverse, ScheduleActivation, SetLevel, Spend, require_utc
from shared.domain.levels import effective_level, level_after_purchase, level_after_sweep, window_start
from shared.domain.line_book import BookLine, OrderLineBook, plan_return
from shared.domain.referral import referral_reward
from shared.domain.settlement import settle
from shared.services.ledger import AccountSession, load_account
from shared.services.ports import Store, UnitOfWork


def _lifetime(config: ProgramConfig, now: datetime, days: int | None = None) -> datetime:
    return now + timedelta(days=days or config.lot_lifetime_days)


def customer_view(config: ProgramConfig, session: AccountSession, now: datetime, *, plus_reserved_for: str | None = None) -> CustomerView:
    account = session.account
    available = account.balances(now).available
    reservation = account.reservations.get(plus_reserved_for) if plus_reserved_for else None
    return CustomerView(
        customer_id=account.customer_id,
        level=effective_level(config, account).code,
        group=account.group or config.default_group,
        available=available + (reservation.amount if reservation else 0),
    )


# --- registration -------------------------------------------------------------------


def register_customer(store: Store, *, config: ProgramConfig, customer_id: str, now: datetime, invited_by: str | None = None, group: str | None = None) -> dict[str, Any]:
    """Open a customer's account with the welcome bonus (once per customer).

    Arriving with a partner's link (``invited_by``) gives the invited welcome
    bonus; the referral is bound at the first paid order. An existing customer
    is never re-registered and gets no second bonus.
    """
    require_utc(now)
    if invited_by == customer_id:
        raise ValidationFailed("a customer cannot invite themselves", field="invited_by", message_ru="Нельзя пригласить самого себя.")
    if group is not None and group not in {g.code for g in config.groups}:
        raise ValidationFailed(f"unknown customer group {group!r}", field="group")

    def unit(uow: UnitOfWork) -> dict[str, Any]:
        partner = AccountSession(uow, invited_by) if invited_by else None
        if partner is not None and not partner.exists:
            raise NotFound("the inviting partner does not exist", field="invited_by", message_ru="Пригласивший партнёр не найден.")
        session = AccountSession(uow, customer_id)
        if session.exists:
            return {"registered": False, "welcome": 0, "customer_id": customer_id}
        session.record = session.record.set_referral(invited_by=invited_by, registered_at=now, referrer_id=None, paying_referees=0)
        session.post(f"open:{customer_id}", OpenAccount(group=group or config.default_group, level=config.levels[0].code), now=now)
        amount = config.welcome.invited if invited_by else config.welcome.standard
        if amount:
            session.post(
                f"welcome:{customer_id}",
                Accrue(
                    amount=amount,
                    source="welcome_invited" if invited_by else "welcome",
                    ref=customer_id,
                    activates_at=now + timedelta(days=config.welcome.activation_days),
                    expires_at=_lifetime(config, now, config.welcome_lifetime_days),
                ),
                now=now,
            )
        return {"registered": True, "welcome": amount, "customer_id": customer_id}

    return store.run(unit)


# --- checkout ------------------------------------------------------------------------


def checkout(store: Store, *, config: ProgramConfig, customer_id: str, order_id: str, lines: list[CartLine], bonuses: int, now: datetime, promo: PromoRule | None = None, pays_with_gift_certificate: bool = False) -> Quote:
    """Quote the cart again and reserve the bonuses it will spend (idempotent by order id).

    Two tabs cannot spend the same bonuses: the reservation takes them out
    of ``available`` until payment or the configured timeout.
    """
    require_utc(now)
    return store.run(lambda uow: checkout_unit(uow, config=config, customer_id=customer_id, order_id=order_id, lines=lines, bonuses=bonuses, now=now, promo=promo, pays_with_gift_certificate=pays_with_gift_certificate))


def checkout_unit(uow: UnitOfWork, *, config: ProgramConfig, customer_id: str, order_id: str, lines: list[CartLine], bonuses: int, now: datetime, promo: PromoRule | None = None, pays_with_gift_certificate: bool = False) -> Quote:
    """:func:`checkout` inside a caller's unit of work."""
    session = AccountSession(uow, customer_id)
    session.require_active()
    if not session.exists:
        raise NotFound("unknown customer", customer_id=customer_id)
    q = quote(config, customer_view(config, session, now, plus_reserved_for=order_id), lines, now=now, promo=promo, bonuses_requested=bonuses, pays_with_gift_certificate=pays_with_gift_certificate)
    if q.bonuses_applied:
        outcome = session.post(
            f"reserve:{order_id}",
            Reserve(reservation_id=order_id, amount=q.bonuses_applied, release_after=now + timedelta(minutes=config.reservation_timeout_minutes)),
            now=now,
        )
        if outcome.replayed and order_id not in session.account.reservations:
            # reserved once and released since (paid, canceled or lapsed): this order id is spent
            raise InvalidState("this order's bonus reservation was released; check out again under a new order id", order_id=order_id, message_ru="Резерв бонусов по заказу снят. Оформите заказ заново.")
    return q


def release_reservation(store: Store, *, customer_id: str, order_id: str, now: datetime) -> Released:
    """Give back an unpaid order's reserved bonuses (cancellation or timeout)."""
    return store.run(lambda uow: release_unit(uow, customer_id=customer_id, order_id=order_id, now=now))


def release_unit(uow: UnitOfWork, *, customer_id: str, order_id: str, now: datetime) -> Released:
    """:func:`release_reservation` inside a caller's unit of work."""
    return AccountSession(uow, customer_id).post(f"release:{order_id}", Release(reservation_id=order_id), now=now)


# --- payment -------------------------------------------------------------------------


@dataclass(frozen=True)
class PaidOrder:
    order_id: str
    spent: int
    earned: int
    paid: int
    level: str
    referrer_id: str | None
    replayed: bool
    shortfall: int = 0  # agreed bonuses that could not be spent (see :func:`shared.domain.cart.settle`)


@dataclass(frozen=True)
class Agreement:
    """What the checkout agreed per line and the customer paid for: bonuses and money (kopecks)."""

    bonuses: dict[str, int]
    money: dict[str, int]

    @property
    def money_to_pay(self) -> int:
        return sum(self.money.values())


def pay_order(
    store: Store,
    *,
    config: ProgramConfig,
    customer_id: str,
    order_id: str,
    lines: list[CartLine],
    bonuses: int,
    now: datetime,
    promo: PromoRule | None = None,
    agreed: Agreement | None = None,
) -> PaidOrder:
    """Record a paid order: the reservation becomes a spend, the purchase counts for the
    level, a held accrual lot is created, and the referral is bound at the first paid order.

    With ``agreed`` (an order placed through checkout: the figures of its
    checkout quote) the order is settled on those figures, never priced again
    (:func:`shared.domain.cart.settle`): the money recorded as paid is the
    agreed ``money_to_pay``, the bonuses spent are the agreed ones but never
    more than the reservation (or, when it lapsed, the free balance) nor the
    rules' cap at payment, and the points are earned on the money paid at the
    customer's level at payment.

    Without it the cart is quoted at payment with ``bonuses`` requested: the
    bonuses spent are the quote's, never more than reserved or available.
    A replay returns the first result.
    """
    require_utc(now)
    result = store.run(lambda uow: pay_order_unit(uow, config=config, customer_id=customer_id, order_id=order_id, lines=lines, bonuses=bonuses, now=now, promo=promo, agreed=agreed))
    if result.referrer_id:
        note_paying_referee(store, partner_id=result.referrer_id, referee_id=customer_id, now=now)
    return result


def pay_order_unit(
    uow: UnitOfWork,
    *,
    config: ProgramConfig,
    customer_id: str,
    order_id: str,
    lines: list[CartLine],
    bonuses: int,
    now: datetime,
    promo: PromoRule | None = None,
    agreed: Agreement | None = None,
) -> PaidOrder:
    """:func:`pay_order` inside a caller's unit of work, without the partner's side
    (the caller runs :func:`note_paying_referee` when ``referrer_id`` is set)."""
    require_utc(now)
    session = AccountSession(uow, customer_id)
    if not session.exists:
        raise NotFound("unknown customer", customer_id=customer_id)
    existing = session.order(order_id)
    if existing is not None:
        return PaidOrder(order_id, existing.spent, existing.earned, existing.paid, session.account.level or "", existing.referrer_id, True)
    # From here the order's postings are posted ``fresh``: its book, absent, is written
    # in the same commit as every one of them (spend, purchase, accrue:<order id>).
    reservation = session.account.reservations.get(order_id)
    view = customer_view(config, session, now, plus_reserved_for=order_id)
    shortfall = 0
    if agreed is not None:
        if reservation is not None:  # the spend comes out of the reservation, never beyond it
            view = view.model_copy(update={"available": reservation.amount})
        s = settle(config, view, lines, now=now, promo=promo, agreed_bonuses=agreed.bonuses, agreed_money=agreed.money)
        spent_by_line, paid_by_line, earned_by_line, shortfall = s.spent, s.paid, s.earned, s.shortfall
    else:
        q = quote(config, view, lines, now=now, promo=promo, bonuses_requested=bonuses)
        spent_by_line = {ql.id: ql.bonuses_applied for ql in q.lines}
        paid_by_line = {ql.id: ql.money_to_pay for ql in q.lines}
        earned_by_line = {ql.id: ql.points_to_earn for ql in q.lines}
    spent, paid, earned = sum(spent_by_line.values()), sum(paid_by_line.values()), sum(earned_by_line.values())
    allocations: list[Allocation] = []
    if spent:
        spend = session.post(f"spend:{order_id}", Spend(amount=spent, order_id=order_id, reservation_id=order_id if reservation else None), now=now, fresh=True)
        allocations = list(spend.allocations)
    elif reservation is not None:
        session.post(f"release:{order_id}", Release(reservation_id=order_id), now=now)
    level = level_after_purchase(config, session.account, now, paid)
    if paid:
        session.post(f"purchase:{order_id}", RecordPurchase(amount=paid, order_id=order_id, level=level), now=now, fresh=True)
    earned_lot = None
    if earned:
        earned_lot = session.post(
            f"accrue:{order_id}",
            Accrue(amount=earned, source="purchase", ref=order_id, activates_at=None, expires_at=_lifetime(config, now), order_id=order_id),
            now=now,
            fresh=True,
        ).lot_id
    referrer = session.referral.referrer_id
    if session.referral.first_paid_at is None:
        session.record = session.record.set_referral(first_paid_at=now)
        session.save()
        for rule in config.rules_for(EarningEvent.FIRST_ORDER, group=session.account.group, now=now):
            if rule.amount:  # once per customer and rule: the key is the customer's, not the order's
                session.post(
                    f"first_order:{customer_id}:{rule.code}",
                    Accrue(
                        amount=rule.amount,
                        source="first_order",
                        ref=order_id,
                        activates_at=now + timedelta(days=rule.activation_days),
                        expires_at=_lifetime(config, now, rule.lifetime_days),
                    ),
                    now=now,
                    fresh=True,  # guarded by first_paid_at, saved in the same commit
                )
        if referrer is None and session.referral.invited_by:
            referrer = session.referral.invited_by
            session.record = session.record.set_referral(referrer_id=referrer, referral_bound_at=now)
            session.save()
    book = OrderLineBook(
        order_id=order_id,
        customer_id=customer_id,
        kind="purchase",
        lines={
            line.id: BookLine(quantity=line.quantity, paid=paid_by_line[line.id], earned=earned_by_line[line.id], spent=spent_by_line[line.id])
            for line in lines
        },
        earned_lot_id=earned_lot,
        spend_allocations=allocations,
        referrer_id=referrer,
    )
    session.save_order(book)
    return PaidOrder(order_id, spent, earned, paid, level, referrer, False, shortfall)


def note_paying_referee(store: Store, *, partner_id: str, referee_id: str, now: datetime) -> bool:
    """Count a referee's first paid order on the partner's account (once per referee)."""

    def unit(uow: UnitOfWork) -> bool:
        if uow.referees.get(partner_id, referee_id) is not None:
            return False
        session = AccountSession(uow, partner_id)
        uow.referees.create(partner_id, Referee(referee_id=referee_id, first_paid_at=now))
        session.record = session.record.set_referral(paying_referees=session.referral.paying + 1)
        session.save()
        return True

    return store.run(unit)


# --- delivery ------------------------------------------------------------------------


def deliver_order(store: Store, *, config: ProgramConfig, customer_id: str, order_id: str, delivered_at: datetime, now: datetime) -> dict[str, Any]:
    """Delivered: the order's accrual starts its hold, and the partner's reward is credited with the same hold."""
    require_utc(delivered_at, "delivered_at")
    book = store.run(lambda uow: deliver_unit(uow, config=config, customer_id=customer_id, order_id=order_id, delivered_at=delivered_at, now=now))
    reward = credit_referral_reward(store, config=config, book=book, delivered_at=delivered_at, now=now) if book.referrer_id else None
    return {"order_id": order_id, "activates_at": delivered_at + timedelta(days=config.hold_days), "earned": book.earned, "referral_reward": reward}


def deliver_unit(uow: UnitOfWork, *, config: ProgramConfig, customer_id: str, order_id: str, delivered_at: datetime, now: datetime) -> OrderLineBook:
    """The customer's side of :func:`deliver_order` inside a caller's unit of work; the caller
    credits the partner's reward (:func:`credit_referral_reward`) when the book has a referrer."""
    require_utc(delivered_at, "delivered_at")
    session = AccountSession(uow, customer_id)
    book = session.order(order_id)
    if book is None:
        raise NotFound("unknown order", order_id=order_id)
    if book.status in ("returned", "canceled"):
        raise InvalidState("the order was returned", order_id=order_id)
    if book.delivered_at is None:
        if book.earned_lot_id:
            session.post(f"schedule:{order_id}", ScheduleActivation(lot_id=book.earned_lot_id, activates_at=delivered_at + timedelta(days=config.hold_days)), now=now, fresh=True)
        book.delivered_at = delivered_at
        book.status = "delivered" if book.status == "paid" else book.status
        session.save_order(book)
    return book


def credit_referral_reward(store: Store, *, config: ProgramConfig, book: OrderLineBook, delivered_at: datetime, now: datetime) -> int:
    """The partner's share of a delivered referee order, on the partner's account, held like an accrual."""
    partner_id = book.referrer_id
    assert partner_id is not None
    ref_order = f"ref-{book.customer_id}-{book.order_id}"

    def unit(uow: UnitOfWork) -> int:
        partner = AccountSession(uow, partner_id)
        existing = partner.order(ref_order)
        if existing is not None:
            return existing.earned
        remaining = {line_id: line.paid - line.paid * line.returned // line.quantity for line_id, line in book.lines.items()}
        shares = referral_reward(config, paying_referees=partner.referral.paying, paid_by_line=remaining)
        total = sum(shares.values())
        lot_id = None
        if total:
            lot_id = partner.post(
                f"referral:{ref_order}",
                Accrue(
                    amount=total,
                    source="referral",
                    ref=book.order_id,
                    activates_at=delivered_at + timedelta(days=config.referral_hold_days),
                    expires_at=_lifetime(config, now),
                    order_id=ref_order,
                ),
                now=now,
                fresh=True,  # guarded by the partner's book of this order, saved in the same commit
            ).lot_id
        partner.save_order(
            OrderLineBook(
                order_id=ref_order,
                customer_id=partner_id,
                kind="referral",
                lines={k: BookLine(quantity=book.lines[k].quantity - book.lines[k].returned, paid=v, earned=shares[k]) for k, v in remaining.items() if book.lines[k].quantity > book.lines[k].returned},
                earned_lot_id=lot_id,
                referrer_id=book.customer_id,
                delivered_at=delivered_at,
            )
        )
        return total

    return store.run(unit)


# --- returns -------------------------------------------------------------------------


def return_lines(store: Store, *, config: ProgramConfig, customer_id: str, order_id: str, return_id: str, returns: dict[str, int], now: datetime) -> dict[str, Any]:
    """A (partial) return or non-delivery: spent bonuses back, the accrual taken back by the clawback policy.

    ``returns`` maps line ids to units; ``return_id`` identifies this return
    (a replay with the same id changes nothing). The partner's reward on the
    returned part is taken back in its own transaction.
    """
    require_utc(now)
    result = store.run(lambda uow: return_lines_unit(uow, config=config, customer_id=customer_id, order_id=order_id, return_id=return_id, returns=returns, now=now))
    if result.get("referrer_id"):  # idempotent: a replay completes a partner step that was lost
        result["referral_reversed"] = reverse_referral_reward(store, config=config, partner_id=result["referrer_id"], referee_id=customer_id, order_id=order_id, return_id=return_id, returns=returns, now=now)
    return result


def return_lines_unit(uow: UnitOfWork, *, config: ProgramConfig, customer_id: str, order_id: str, return_id: str, returns: dict[str, int], now: datetime) -> dict[str, Any]:
    """The customer's side of :func:`return_lines` inside a caller's unit of work; the caller
    takes the partner's reward back (:func:`reverse_referral_reward`) when the result names a
    ``referrer_id`` and is not ``replayed``."""
    require_utc(now)
    session = AccountSession(uow, customer_id)
    book = session.order(order_id)
    if book is None:
        raise NotFound("unknown order", order_id=order_id)
    done = session.seen(f"return:{order_id}:{return_id}")
    if done is not None:
        return {**done["outcome"], "replayed": True}
    plan = plan_return(book, returns)
    result: dict[str, Any] = {"earned_back": 0, "spent_back": plan.spent_back, "forgiven": 0, "debt": 0}
    if plan.earned_back:
        reversal = session.post(f"reverse:{order_id}:{return_id}", Reverse(amount=plan.earned_back, own_lot_id=book.earned_lot_id, negative_balance=config.clawback.negative_balance, order_id=order_id), now=now)
        result.update(earned_back=reversal.reversed, forgiven=reversal.forgiven, debt=reversal.debt)
    if plan.refund_allocations:
        session.post(f"refund:{order_id}:{return_id}", Refund(allocations=plan.refund_allocations, order_id=order_id), now=now)
    if plan.paid_back:
        session.post(f"purchase:{order_id}:{return_id}", RecordPurchase(amount=-plan.paid_back, order_id=order_id, level=None), now=now)
    result["referrer_id"] = book.referrer_id
    session.post(f"return:{order_id}:{return_id}", Note(data=result), now=now)  # the return's idempotency record
    session.save_order(plan.book)
    return {**result, "replayed": False}


def reverse_referral_reward(store: Store, *, config: ProgramConfig, partner_id: str, referee_id: str, order_id: str, return_id: str, returns: dict[str, int], now: datetime) -> int:
    ref_order = f"ref-{referee_id}-{order_id}"

    def unit(uow: UnitOfWork) -> int:
        partner = AccountSession(uow, partner_id)
        book = partner.order(ref_order)
        if book is None:  # not delivered yet: no reward was credited
            return 0
        key = f"reverse:{ref_order}:{return_id}"
        done = partner.seen(key)
        if done is not None:
            return int(done["outcome"]["reversed"])
        applicable = {k: v for k, v in returns.items() if k in book.lines}
        plan = plan_return(book, applicable) if applicable else None
        taken = 0
        if plan is not None and plan.earned_back:
            taken = partner.post(key, Reverse(amount=plan.earned_back, own_lot_id=book.earned_lot_id, negative_balance=config.clawback.negative_balance, order_id=ref_order), now=now).reversed
        else:  # nothing to take, but done: a redelivery must not return the units a second time
            partner.post(key, Note(data={"reversed": 0}), now=now)
        if plan is not None:
            partner.save_order(plan.book)
        return taken

    return store.run(unit)


# --- sweep ---------------------------------------------------------------------------

# Transactions sweep_due runs at once. Sweeps of different accounts touch
# different documents, so they do not contend; the bound keeps a run's open
# transactions (and its load on Firestore) modest.
SWEEP_WORKERS = 16
# Accounts per sweep transaction: read together in one call and committed
# together, so the begin and commit calls are paid once per group. A group's
# accounts are locked for its transaction (tens of milliseconds).
SWEEP_GROUP = 10


def sweep_account(store: Store, *, config: ProgramConfig, customer_id: str, now: datetime) -> dict[str, int]:
    """Due work on one account: expired remainders written off, stale reservations released,
    and the rolling-window level re-evaluated. Safe to run any number of times."""
    require_utc(now)
    return store.run(lambda uow: _sweep_in(uow, config=config, customer_id=customer_id, now=now))


def sweep_accounts(store: Store, *, config: ProgramConfig, customer_ids: list[str], now: datetime) -> list[dict[str, int]]:
    """:func:`sweep_account` for several accounts in one transaction: all of them or none."""
    require_utc(now)

    def unit(uow: UnitOfWork) -> list[dict[str, int]]:
        uow.accounts.get_many(customer_ids)  # one read for the group; the sessions below hit the unit's cache
        return [_sweep_in(uow, config=config, customer_id=customer_id, now=now) for customer_id in customer_ids]

    return store.run(unit)


def _sweep_in(uow: UnitOfWork, *, config: ProgramConfig, customer_id: str, now: datetime) -> dict[str, int]:
    session = AccountSession(uow, customer_id)
    if not session.exists:
        return {"expired": 0, "released": 0}
    expired = released = 0
    for reservation in list(session.account.reservations.values()):
        if reservation.release_after <= now:
            released += session.post(f"release:{reservation.id}", Release(reservation_id=reservation.id), now=now).released
    for lot in sorted(session.account.lots.values(), key=lambda lot: lot.order_key()):
        if lot.expires_at <= now and lot.id in session.account.lots:
            # Keyed by the account's position too: bonuses refunded into a lot after
            # its write-off are written off again by a later sweep, not replayed away.
            # ``fresh``: a posting with this key would have moved the account (read in
            # this unit, saved with every posting) past ``seq``, so the key is unused.
            expired += session.post(f"expire:{lot.id}:{session.account.seq}", Expire(lot_id=lot.id), now=now, fresh=True).expired
    start = window_start(config, now)
    if start is not None:
        level = level_after_sweep(config, session.account, now)
        stale = any(day < start.isoformat() for day in session.account.paid_by_day)
        if level != session.account.level or stale:
            session.post(f"level:{customer_id}:{now.date().isoformat()}", SetLevel(level=level, reason="rolling window", trim_before=start), now=now)
    return {"expired": expired, "released": released}


def sweep_due(
    store: Store,
    *,
    config: ProgramConfig,
    now: datetime,
    batch: int = 200,
    cursor: str | None = None,
    max_pages: int | None = None,
    workers: int = SWEEP_WORKERS,
    group: int = SWEEP_GROUP,
) -> dict[str, int]:
    """Sweep every account with due expiries or reservations, in bounded pages.

    A page's accounts are swept in groups of ``group``, each group in one
    transaction (:func:`sweep_accounts`), up to ``workers`` groups at a time;
    ``workers=1`` sweeps the groups one after the other. While a page is swept
    the next one (within ``max_pages``) is queried and queued, so the workers
    do not idle at a page's end or during the query. A page counts as passed
    only once every account in it and before it is swept: when a group fails
    (none of its accounts changed), the rest of its page still finishes, the
    next page's groups not started yet are dropped, and the call raises the
    first failure without storing the position past the page before.

    With ``cursor`` (a job name) the position reached is stored in
    ``sweeps/{cursor}`` after every page (see :mod:`shared.services.cursors`):
    a run that stops — a crash, or ``max_pages`` pages done — is continued by
    the next run, and overlapping runs share the pass. ``complete`` is 1 when
    the pass reached the end of the due accounts.
    """
    from shared.services import cursors

    totals = {"accounts": 0, "expired": 0, "released": 0, "pages": 0, "complete": 0}
    run = cursors.open_pass(store, cursor, now=now) if cursor else None
    position = tuple(run.after) if run is not None and run.after else None
    group = max(1, group)
    size = max(1, min(workers, -(-batch // group)))
    pages: deque[tuple[list[tuple[str, datetime]], list[Future]]] = deque()  # started, not yet counted

    def start(pool: ThreadPoolExecutor, after: tuple[datetime, str] | None) -> None:
        rows = store.read(lambda uow: uow.accounts.due(until=now, limit=batch, after=after))
        groups = [[customer_id for customer_id, _ in rows[i : i + group]] for i in range(0, len(rows), group)]
        # each in a copy of the caller's context: its logs carry the request's fields
        futures = [pool.submit(contextvars.copy_context().run, sweep_accounts, store, config=config, customer_ids=ids, now=now) for ids in groups]
        pages.append((rows, futures))

    def count(futures: list[Future]) -> BaseException | None:
        """Wait for ``futures``, add up what they did; the first failure."""
        failure = None
        for future in futures:
            if future.cancelled():
                continue
            try:
                results = future.result()
            except Exception as exc:
                failure = failure or exc
                continue
            for result in results:
                totals["accounts"] += 1
                totals["expired"] += result["expired"]
                totals["released"] += result["released"]
        return failure

    def drain() -> None:
        """Stop: drop the work not started yet, count the work that ran."""
        while pages:
            _, futures = pages.popleft()
            for future in futures:
                future.cancel()
            count(futures)

    with ThreadPoolExecutor(max_workers=size, thread_name_prefix="sweep") as pool:
        try:
            start(pool, position)
            while pages:
                last_rows = pages[-1][0]
                if len(pages) == 1 and len(last_rows) == batch and (max_pages is None or totals["pages"] + 2 <= max_pages):
                    start(pool, (last_rows[-1][1], last_rows[-1][0]))  # the next page, queued behind this one
                rows, futures = pages.popleft()
                failure = count(futures)
                totals["pages"] += 1
                if failure is not None:
                    raise failure
                if len(rows) < batch:
                    if run is not None:
                        cursors.close(store, run, now=now)
                    totals["complete"] = 1
                    return totals
                position = (rows[-1][1], rows[-1][0])
                if run is not None and not cursors.advance(store, run, list(position), now=now):
                    drain()
                    totals["complete"] = 1  # another run finished this pass meanwhile
                    return totals
                if max_pages is not None and totals["pages"] >= max_pages:
                    return totals
                if not pages:
                    start(pool, position)
        except BaseException:
            drain()
            raise
    return totals  # not reached: the loop returns once a page comes back short


def account_summary(store: Store, *, config: ProgramConfig, customer_id: str, now: datetime) -> dict[str, Any]:
    account = load_account(store, customer_id)
    if account is None:
        raise NotFound("unknown customer", customer_id=customer_id)
    b = account.balances(now)
    return {"customer_id": customer_id, "level": effective_level(config, account).code, "total": b.total, "available": b.available, "pending": b.pending, "reserved": b.reserved}
