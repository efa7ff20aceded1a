"""The customer's side of an order, inside the order's unit of work: checkout, payment, delivery, returns.

Each function here is a step of :mod:`shared.services.orders`, which runs it
in the same transaction as the order document's transition, so the ledger
and the order never disagree. Every posting is keyed by its cause
(``reserve:<order>``, ``accrue:<order>``, ``return:<order>:<return id>`` …),
so a retried webhook replays instead of doubling. A step touches only the
customer's own documents; the partner's side (the paying-referee count, the
reward and its clawback) is :mod:`shared.services.referral`, in transactions
of its own.

The per-order line book (:class:`~shared.domain.line_book.OrderLineBook`)
written at payment is what delivery and returns work on: what each line
paid, earned and spent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from shared.domain import holds
from shared.domain.cart import CartLine, CustomerView, PromoRule, Quote, quote
from shared.domain.config import EarningEvent, ProgramConfig
from shared.domain.customer import bonuses_excluded, segment_facts
from shared.domain.errors import InvalidState, NotFound
from shared.domain.ledger import Accrue, Allocation, Credit, Note, RecordPurchase, Refund, Release, Released, Reserve, ScheduleActivation, Spend, require_utc
from shared.domain.ledger.state import settled_lot_id
from shared.domain.levels import effective_level, level_after_purchase, level_after_return
from shared.domain.line_book import BookLine, OrderLineBook, plan_return
from shared.domain.messages import Trigger
from shared.domain.segments import CustomerFacts
from shared.domain.settlement import settle
from shared.services import clawbacks, outbox, triggers
from shared.services.ledger import AccountSession
from shared.services.ports import UnitOfWork

if TYPE_CHECKING:
    from shared.domain.order import Agreed


def customer_view(config: ProgramConfig, session: AccountSession, now: datetime, *, plus_reserved_for: str | None = None) -> CustomerView:
    """What pricing needs of the customer: level, group and available bonuses (plus an order's own reservation)."""
    account = session.account
    available = account.balances(now).available
    reservation = account.reservations.get(plus_reserved_for) if plus_reserved_for else None
    level = effective_level(config, account).code
    group = account.group or config.default_group
    return CustomerView(
        customer_id=account.customer_id,
        level=level,
        group=group,
        available=available + (reservation.amount if reservation else 0),
        facts=customer_facts(session, level=level, group=group),
    )


def customer_facts(session: AccountSession, *, level: str, group: str) -> CustomerFacts:
    """What segments (campaign audiences) look at of the session's customer."""
    return segment_facts(session.record, level=level, group=group)


# --- checkout ------------------------------------------------------------------------


def checkout(
    uow: UnitOfWork,
    *,
    config: ProgramConfig,
    customer_id: str,
    order_id: str,
    lines: list[CartLine],
    bonuses: int,
    now: datetime,
    promo: PromoRule | None = None,
    pays_with_gift_certificate: bool = False,
    session_epoch: int | None = None,
) -> Quote:
    """Quote the cart again and reserve the bonuses it will spend (idempotent by order id).

    Two tabs cannot spend the same bonuses: the reservation takes them out
    of ``available`` until payment or the configured timeout. A blocked
    customer, or a token's ``session_epoch`` a block revoked, is refused.
    """
    session = AccountSession(uow, customer_id)
    session.require_active(session_epoch)
    if not session.exists:
        raise NotFound("unknown customer", customer_id=customer_id)
    q = quote(config, customer_view(config, session, now, plus_reserved_for=order_id), lines, now=now, promo=promo, bonuses_requested=bonuses, pays_with_gift_certificate=pays_with_gift_certificate)
    if q.bonuses_applied:
        outcome = session.post(
            f"reserve:{order_id}",
            Reserve(reservation_id=order_id, amount=q.bonuses_applied, release_after=holds.reservation_release(config, now)),
            now=now,
        )
        if outcome.replayed and order_id not in session.account.reservations:
            # reserved once and released since (paid, canceled or lapsed): this order id is spent
            raise InvalidState(
                "this order's bonus reservation was released; check out again under a new order id", order_id=order_id, message_ru="Резерв бонусов по заказу снят. Оформите заказ заново."
            )
    return q


def release(uow: UnitOfWork, *, customer_id: str, order_id: str, now: datetime) -> Released:
    """Give back an unpaid order's reserved bonuses (cancellation or timeout)."""
    return AccountSession(uow, customer_id).post(f"release:{order_id}", Release(reservation_id=order_id), now=now)


# --- payment -------------------------------------------------------------------------


def bonuses_still_held(uow: UnitOfWork, *, customer_id: str, order_id: str, bonuses: int, now: datetime) -> bool:
    """Whether the ``bonuses`` a checkout agreed can still be spent on its order: still reserved
    for it, or (the reservation released: a timeout) free on the account now."""
    if bonuses <= 0:
        return True
    account = AccountSession(uow, customer_id).account
    reservation = account.reservations.get(order_id)
    if reservation is not None:
        return reservation.amount >= bonuses
    return account.balances(now).available >= bonuses


class PaidOrder(Struct, frozen=True):
    """What settling a payment recorded on the customer's side (a replay: the first settlement)."""

    order_id: str
    spent: int
    earned: int
    paid: int
    level: str
    referrer_id: str | None
    replayed: bool
    shortfall: int = 0  # agreed bonuses that could not be spent (see :func:`shared.domain.settlement.settle`)


def pay(
    uow: UnitOfWork,
    *,
    config: ProgramConfig,
    customer_id: str,
    order_id: str,
    lines: list[CartLine],
    bonuses: int,
    now: datetime,
    promo: PromoRule | None = None,
    agreed: Agreed | None = None,
    partner_code_of: str | None = None,
) -> PaidOrder:
    """Record a paid order: the reservation becomes a spend, the purchase counts for the
    level, a held accrual lot is created, and the referral is bound at the first paid order
    (to the partner whose link the customer came by, else to the one whose personal code
    the order carries: ``partner_code_of``).

    With ``agreed`` (the figures of the order's checkout quote) the order is
    settled on those figures, never priced again
    (:func:`shared.domain.settlement.settle`): the money recorded as paid, the
    bonuses spent and the points earned are the agreed ones, whatever the
    program says by now. The spend is never more than the reservation (or,
    when it lapsed, the free balance); a group excluded from bonuses by now
    earns nothing.

    Without it (orders placed before the figures were kept) the cart is
    quoted at payment with ``bonuses`` requested: the bonuses spent are the
    quote's, never more than reserved or available. A replay returns the
    first result. The partner's count of paying referees is the caller's
    (:func:`shared.services.referral.note_paying_referee` when ``referrer_id`` is set).

    A customer blocked since checkout spends nothing and earns nothing on the
    order (no first-order bonus either): the reservation is given back, the
    agreed bonuses are the order's shortfall, the money paid still counts.
    """
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
    blocked = session.blocking.is_blocked
    shortfall = 0
    if agreed is not None:
        if reservation is not None:  # the spend comes out of the reservation, never beyond it
            view = view.model_copy(update={"available": reservation.amount})
        if blocked:  # a blocked customer spends nothing: the agreed bonuses are a shortfall
            view = view.model_copy(update={"available": 0})
        s = settle(config, view, lines, agreed_bonuses=agreed.bonuses, agreed_money=agreed.money, agreed_points=agreed.points)
        spent_by_line, paid_by_line, earned_by_line, shortfall = s.spent, s.paid, s.earned, s.shortfall
        campaign_by_line = dict(agreed.campaigns)
    else:
        q = quote(config, view, lines, now=now, promo=promo, bonuses_requested=0 if blocked else bonuses)
        spent_by_line = {ql.id: ql.bonuses_applied for ql in q.lines}
        paid_by_line = {ql.id: ql.money_to_pay for ql in q.lines}
        earned_by_line = {ql.id: ql.points_to_earn for ql in q.lines}
        campaign_by_line = {ql.id: ql.campaign.code for ql in q.lines if ql.campaign}
    if blocked:  # nor earns
        earned_by_line = dict.fromkeys(earned_by_line, 0)
    spent, paid, earned = sum(spent_by_line.values()), sum(paid_by_line.values()), sum(earned_by_line.values())
    allocations: list[Allocation] = []
    if spent:
        spend = session.post(f"spend:{order_id}", Spend(amount=spent, order_id=order_id, reservation_id=order_id if reservation else None), now=now, fresh=True)
        allocations = list(spend.allocations)
    elif reservation is not None:
        session.post(f"release:{order_id}", Release(reservation_id=order_id), now=now)
    level_before = session.account.level
    level = level_after_purchase(config, session.account, now, paid)
    if paid:
        session.post(f"purchase:{order_id}", RecordPurchase(amount=paid, order_id=order_id, level=level), now=now, fresh=True)
    earned_lot = None
    if earned:
        earned_lot = session.post(
            f"accrue:{order_id}",
            Accrue(amount=earned, source="purchase", ref=order_id, activates_at=None, expires_at=holds.lot_expiry(config, now), order_id=order_id),
            now=now,
            fresh=True,
        ).lot_id
        outbox.enqueue(uow, config, trigger=Trigger.BONUS_CREDITED, cause=order_id, customer_id=customer_id, variables={"amount": earned}, due_at=now, now=now, fresh=True, record=session.record)
    referrer = _first_paid(session, config=config, order_id=order_id, now=now, partner_code_of=partner_code_of)
    if paid:
        session.record = session.record.set_referral(last_purchase_at=now)
        session.save()  # the purchase postings are written already: the record once more, in the same commit
    book = OrderLineBook(
        order_id=order_id,
        customer_id=customer_id,
        kind="purchase",
        lines={
            line.id: BookLine(
                quantity=line.quantity, paid=paid_by_line[line.id], earned=earned_by_line[line.id], spent=spent_by_line[line.id],
                campaign=campaign_by_line.get(line.id) if earned_by_line[line.id] else None,
            )
            for line in lines
        },
        earned_lot_id=earned_lot,
        spend_allocations=allocations,
        referrer_id=referrer,
        paid_on=now.date().isoformat() if paid else None,
        level_before=level_before if paid else None,
    )
    session.save_order(book)
    triggers.level_changed(uow, config, customer_id=customer_id, before=level_before, after=level, now=now, record=session.record)
    return PaidOrder(order_id, spent, earned, paid, level, referrer, False, shortfall)


def _first_paid(session: AccountSession, *, config: ProgramConfig, order_id: str, now: datetime, partner_code_of: str | None = None) -> str | None:
    """At the customer's first paid order: the first-order bonuses, and the referral bound to the
    partner whose link they came by, else to the partner whose personal code this order carries
    (never to themselves, nor to a partner bound to them). The referrer the order counts for
    (``None``: no partner). The welcome bonus stays the one given at registration."""
    referrer = session.referral.referrer_id
    if session.referral.first_paid_at is not None:
        return referrer
    session.record = session.record.set_referral(first_paid_at=now)
    session.save()
    excluded = bonuses_excluded(config, session.account)  # a group excluded from bonuses accrues none
    for rule in config.rules_for(EarningEvent.FIRST_ORDER, group=session.account.group, now=now):
        if rule.amount and not excluded and not session.blocking.is_blocked:  # none while excluded or blocked; once per customer and rule: the key is the customer's
            session.post(
                f"first_order:{session.customer_id}:{rule.code}",
                Accrue(amount=rule.amount, source="first_order", ref=order_id, activates_at=holds.rule_activation(rule, now), expires_at=holds.rule_expiry(config, rule, now), merge=True),
                now=now,
                fresh=True,  # guarded by first_paid_at, saved in the same commit
            )
    if referrer is None:
        referrer = session.referral.invited_by or _code_partner(session, partner_code_of)
        if referrer is not None:
            session.record = session.record.set_referral(referrer_id=referrer, referral_bound_at=now)
            session.save()
    return referrer


def _code_partner(session: AccountSession, partner_id: str | None) -> str | None:
    """The partner a personal code typed at checkout binds the customer to, or ``None``: not the
    customer, and not a partner who came by this customer or is bound to them (read in the same
    transaction, so two customers typing each other's code cannot both bind)."""
    if partner_id is None or partner_id == session.customer_id:
        return None
    found = session.uow.accounts.get(partner_id)
    if found is None or session.customer_id in (found.referral.invited_by, found.referral.referrer_id):
        return None
    return partner_id


# --- delivery ------------------------------------------------------------------------


def deliver(uow: UnitOfWork, *, config: ProgramConfig, customer_id: str, order_id: str, delivered_at: datetime, now: datetime, activates_at: datetime | None = None) -> OrderLineBook:
    """Delivered: the order's accrual starts its hold (once), or is active from ``activates_at``
    (a shipping method's fallback counts its hold from the payment). The book answered names the
    partner (``referrer_id``) whose reward the caller credits
    (:func:`shared.services.referral.credit_referral_reward`)."""
    require_utc(delivered_at, "delivered_at")
    session = AccountSession(uow, customer_id)
    book = session.order(order_id)
    if book is None:
        raise NotFound("unknown order", order_id=order_id)
    if book.status in ("returned", "canceled"):
        raise InvalidState("the order was returned", order_id=order_id)
    if book.delivered_at is None:
        if book.earned_lot_id:
            activation = activates_at or holds.purchase_activation(config, delivered_at)
            # the held lot joins the open lot of its activation and expiry days: the book follows it
            book.earned_lot_id = session.post(f"schedule:{order_id}", ScheduleActivation(lot_id=book.earned_lot_id, activates_at=activation, merge=True), now=now, fresh=True).lot_now
            if book.earned > 0:
                outbox.enqueue(
                    uow, config, trigger=Trigger.BONUS_AVAILABLE, cause=order_id, customer_id=customer_id, variables={"amount": book.earned},
                    due_at=activation, now=now, fresh=True, record=session.record,
                )
        book.delivered_at = delivered_at
        book.status = "delivered" if book.status == "paid" else book.status
        session.save_order(book)
    return book


# --- returns -------------------------------------------------------------------------


class Returned(Struct, frozen=True):
    """What a return gave back and took back on the customer's side.

    ``spent_back``: spent bonuses refunded; ``earned_back``: the accrual taken
    back; ``forgiven`` and ``debt``: the part of it the clawback policy forgave
    or left as a debt; ``referrer_id``: the partner whose reward the caller
    takes back (:func:`shared.services.referral.reverse_referral_reward`).
    """

    spent_back: int
    earned_back: int
    forgiven: int
    debt: int
    referrer_id: str | None
    replayed: bool = False

    def note(self) -> dict[str, Any]:
        """The data of the return's idempotency posting (``return:<order>:<return id>``), as stored."""
        return {"earned_back": self.earned_back, "spent_back": self.spent_back, "forgiven": self.forgiven, "debt": self.debt, "referrer_id": self.referrer_id}

    @classmethod
    def from_note(cls, data: Mapping[str, Any], *, replayed: bool) -> Returned:
        return cls(
            spent_back=int(data["spent_back"]),
            earned_back=int(data["earned_back"]),
            forgiven=int(data["forgiven"]),
            debt=int(data["debt"]),
            referrer_id=data.get("referrer_id"),
            replayed=replayed,
        )


def _accrual_lot(session: AccountSession, book: OrderLineBook) -> str | None:
    """The lot the order's accrual is in now: the one its book names, else — once that merged lot
    activated and folded into the active lot of its expiry day — that settled lot."""
    lot_id = book.earned_lot_id
    if lot_id is None or lot_id in session.account.lots or not lot_id.startswith("M"):
        return lot_id
    accrual = session.posted(f"accrue:{book.order_id}")
    credit = next((m for m in accrual.movements if isinstance(m, Credit)), None) if accrual is not None else None
    return lot_id if credit is None else settled_lot_id(credit.source, credit.expires_at)


def return_lines(uow: UnitOfWork, *, config: ProgramConfig, customer_id: str, order_id: str, return_id: str, returns: dict[str, int], now: datetime) -> Returned:
    """A (partial) return or non-delivery: spent bonuses back, then the accrual taken back by the
    clawback policy from wherever its bonuses are, held ones included (:mod:`shared.services.clawbacks`).

    ``returns`` maps line ids to units; ``return_id`` identifies this return
    (a replay with the same id changes nothing and answers the first result).
    """
    require_utc(now)
    session = AccountSession(uow, customer_id)
    book = session.order(order_id)
    if book is None:
        raise NotFound("unknown order", order_id=order_id)
    key = f"return:{order_id}:{return_id}"
    done = uow.postings.get(customer_id, key)
    if done is not None:
        return Returned.from_note(done.outcome, replayed=True)
    plan = plan_return(book, returns)
    earned_back = forgiven = debt = 0
    if plan.refund_allocations:  # first: the bonuses given back pay the clawback before anything is forgiven
        session.post(f"refund:{order_id}:{return_id}", Refund(allocations=plan.refund_allocations, order_id=order_id), now=now)
    if plan.earned_back:
        reversal = clawbacks.take_back(
            session, f"reverse:{order_id}:{return_id}", config=config, amount=plan.earned_back, own_lot_id=_accrual_lot(session, book), order_id=order_id, reward=False, now=now
        )
        earned_back, forgiven, debt = reversal.reversed, reversal.forgiven, reversal.debt
    if plan.paid_back:
        # the returned money leaves the day it was paid on, and the level follows it at once
        level = level_after_return(config, session.account, now, paid_back=plan.paid_back, paid_on=book.paid_on, held_before=book.level_before)
        day = date.fromisoformat(book.paid_on) if book.paid_on else None
        before = session.account.level
        session.post(f"purchase:{order_id}:{return_id}", RecordPurchase(amount=-plan.paid_back, order_id=order_id, level=level, day=day), now=now)
        triggers.level_changed(uow, config, customer_id=customer_id, before=before, after=level, now=now, record=session.record)
    result = Returned(spent_back=plan.spent_back, earned_back=earned_back, forgiven=forgiven, debt=debt, referrer_id=book.referrer_id)
    session.post(key, Note(data=result.note()), now=now)  # the return's idempotency record
    session.save_order(plan.book)
    return result
