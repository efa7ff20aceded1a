"""Storefront orders: checkout and the order's transitions, with the customer's and the partner's side of each.

``orders/{order_id}`` keeps what the checkout agreed (customer, cart lines,
bonuses, promo code, the quote's cart fingerprint and its figures per line),
the payment and the delivery. Webhooks find the order here and move it on;
every transition is idempotent and out-of-order events are refused or
ignored, never applied twice:

    awaiting_payment -> paid -> delivered -> (partially_)returned
    awaiting_payment -> canceled          (timed out: a declined payment leaves it payable)
    canceled -> paid                      (paid late, while what the checkout agreed still holds;
                                           otherwise the payment is refunded: refund_due)
    paid -> not_delivered                 (carrier gave up: a full return)

The order is a :class:`~shared.domain.order.Order`, read and written
through ``uow.orders``; its methods hold the transition guards. Each
transition decides on the order as read inside the transaction that writes
it, and the customer's ledger change commits in that same transaction
(:mod:`shared.services.customer_orders`), so the order and the ledger never
disagree and concurrent transitions serialize: a payment and a cancellation
racing end paid *or* canceled, two returns add up. A partner's
side (the paying-referee count, the reward, its clawback:
:mod:`shared.services.referral`) follows in a transaction of its own on the
partner's account, idempotent by key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from shared.domain import holds
from shared.domain.cart import CartLine, PromoRule, Quote, quote
from shared.domain.config import ProgramConfig
from shared.domain.errors import IdempotencyConflict, NotFound, StaleQuote, ValidationFailed
from shared.domain.ledger import require_utc
from shared.domain.line_book import OrderLineBook
from shared.domain.order import (
    FINAL,
    Order,
    OrderStatus,
    PaidEvent,
    PaidFigures,
    PaymentRef,
    QuotedLine,
    ReturnedFigures,
    ReturnEvent,
    ReviewFlag,
)
from shared.services import catalog, customer_orders, promo, referral
from shared.services.ledger import AccountSession
from shared.services.ports import Store, Then, UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = ["FINAL", "Order", "OrderStatus", "PaymentRef", "find_order", "flag_for_review",
           "get_order", "requote", "mark_canceled", "mark_delivered", "mark_paid", "mark_returned", "order_promo", "place_order"]


def _unknown(order_id: str) -> NotFound:
    return NotFound("unknown order", order_id=order_id, message_ru="Заказ не найден.")


def find_order(store: Store, order_id: str) -> Order | None:
    """The order as stored now (a plain read), or ``None``."""
    return store.read(lambda uow: uow.orders.get(order_id))


def get_order(store: Store, order_id: str) -> Order:
    order = find_order(store, order_id)
    if order is None:
        raise _unknown(order_id)
    return order


def place_order(
    store: Store,
    *,
    config: ProgramConfig,
    customer_id: str,
    order_id: str,
    lines: list[CartLine],
    bonuses: int,
    now: datetime,
    promo_code: str | None = None,
    quote_fingerprint: str | None = None,
    source: str = "storefront",
    pays_with_gift_certificate: bool = False,
    shipping_method: str | None = None,
    then: Then | None = None,
    session_epoch: int | None = None,
) -> tuple[Order, Quote]:
    """Check out: refuse a stale quote, redeem the promo code, reserve the bonuses, record the order.

    Steps: (1) the cart's fingerprint is compared with the quote the customer
    saw (a mismatch is :class:`StaleQuote` and nothing is written); (2) an
    applicable promo code is redeemed in its own transaction, limits checked
    atomically (a used-up code is a :class:`BusinessRefusal` before
    any bonus is reserved); (3) the quote is recomputed on the account and
    its bonuses reserved, so two tabs cannot spend the same bonuses, and the
    order is recorded — in one transaction, so there is never a reservation
    without its order or an order without its reservation. When that fails,
    the promo use taken in (2) is given back.

    The order keeps the promo rule it was placed with (without its validity
    window) and the quote's figures per line (``quoted_lines``): payment is
    settled on those figures (see :func:`mark_paid`), the rule deciding the
    accrual even if the code expires or is switched off in between.

    Every line is first priced on the catalog (:func:`catalog.price_lines`); the order
    keeps the priced lines and is settled on them. Idempotent by order id: the same
    order placed again returns the first record; the same id with another cart (as the
    catalog prices it) is an :class:`IdempotencyConflict`.
    ``shipping_method`` (pickup, courier …) chooses the delivery fallback (``shipping.fallback_days``).
    ``then`` runs in the placing transaction with the order placed (not on a replay).
    ``session_epoch`` is the customer's token's: a session a block revoked is refused
    in the placing transaction's read of the account, as is a blocked customer.
    """
    require_utc(now)
    priced = catalog.price_lines(store, config=config, lines=lines)  # the catalog's prices and flags, not the browser's
    lines = priced.lines
    existing = find_order(store, order_id)
    if existing is not None:
        _require_same(existing, customer_id=customer_id, lines=lines, bonuses=bonuses, promo_code=promo_code)
        return existing, requote(store, config=config, order=existing, now=now)
    offer = promo.offer(store, promo_code)
    # Pure: the fingerprint and whether the code applies do not depend on the account.
    try:
        preview = quote(config, None, lines, now=now, promo=offer.rule, promo_code=offer.quote_code, bonuses_requested=bonuses, pays_with_gift_certificate=pays_with_gift_certificate)
    except ValueError as exc:  # an empty cart, duplicate line ids, negative bonuses
        raise ValidationFailed(str(exc), message_ru="Некорректная корзина.") from None
    if quote_fingerprint is not None and quote_fingerprint != preview.cart_fingerprint:
        raise StaleQuote("the cart changed after it was quoted; quote it again", expected=preview.cart_fingerprint, got=quote_fingerprint)
    rule = offer.rule if preview.promo_applied else None
    held_until = holds.reservation_release(config, now)  # an unpaid order holds its promo use as long as its bonuses
    redeemed = promo.redeem(store, code=rule.code, customer_id=customer_id, order_id=order_id, now=now, held_until=held_until) if rule else None

    def unit(uow: UnitOfWork) -> tuple[Order, Quote | None]:
        uow.accounts.get(customer_id)  # first: this customer's units queue in-process (see _in_order_unit)
        current = uow.orders.get(order_id)
        if current is not None:  # a twin request placed it meanwhile
            _require_same(current, customer_id=customer_id, lines=lines, bonuses=bonuses, promo_code=promo_code)
            return current, None
        reserved = customer_orders.checkout(
            uow,
            config=config,
            customer_id=customer_id,
            order_id=order_id,
            lines=lines,
            bonuses=bonuses,
            now=now,
            promo=rule,
            pays_with_gift_certificate=pays_with_gift_certificate,
            session_epoch=session_epoch,
        )
        order = Order(
            order_id=order_id,
            customer_id=customer_id,
            lines=tuple(lines),
            bonuses_requested=bonuses,
            bonuses_reserved=reserved.bonuses_applied,
            pays_with_gift_certificate=pays_with_gift_certificate,
            promo_code_entered=offer.entered,
            promo_code=rule.code if rule else None,
            promo_rule=_snapshot(rule) if rule else None,
            referral_partner_id=offer.partner_id,  # a partner's personal code: binds the customer at the first paid order
            quote_fingerprint=preview.cart_fingerprint,
            discount=reserved.discount,
            money_to_pay=reserved.money_to_pay,
            points_to_earn=reserved.points_to_earn,
            # what payment settles on, per line (Order.agreement): the quote is what is paid for
            quoted_lines={ql.id: QuotedLine.of(ql) for ql in reserved.lines},
            status=OrderStatus.AWAITING_PAYMENT,
            source=source,
            created_at=now,
            payment=None,
            delivery=None,
            events=(),
            **({"shipping_method": shipping_method} if shipping_method else {}),
        )
        uow.orders.create(order)
        if then is not None:
            then(uow, order)
        return order, reserved

    try:
        placed, reserved = store.run(unit)
    except Exception:
        _undo_redemption(store, customer_id=customer_id, order_id=order_id, redeemed=redeemed, now=now)
        raise
    if reserved is None:
        return placed, requote(store, config=config, order=placed, now=now)
    return placed, priced.annotate(reserved)


def _require_same(order: Order, *, customer_id: str, lines: list[CartLine], bonuses: int, promo_code: str | None) -> None:
    """Refuse an order id used again for another cart (the same cart again is a replay)."""
    entered = promo.normalize(promo_code) if promo_code and promo_code.strip() else None
    same = order.customer_id == customer_id and [line.model_dump(mode="json") for line in order.lines] == [line.model_dump(mode="json") for line in lines]
    if not (same and order.bonuses_requested == bonuses and order.entered_code == entered):
        raise IdempotencyConflict("the order id was used for another cart", order_id=order.order_id)


def _undo_redemption(store: Store, *, customer_id: str, order_id: str, redeemed: promo.Redemption | None, now: datetime) -> None:
    """Best effort: give the promo use back when the order was not placed (unless a twin request
    placed it with that code). Should this fail too, the use is logged for a manual fix."""
    if redeemed is None or redeemed.replayed:
        return
    try:
        placed = find_order(store, order_id)
        if placed is None or placed.promo_code != redeemed.code:
            promo.unredeem(store, code=redeemed.code, customer_id=customer_id, order_id=order_id, now=now)
    except Exception:  # the original failure is re-raised by the caller; this one is only logged
        log.exception("could not give back a failed order's promo use", extra={"json_fields": {"order_id": order_id, "customer_id": customer_id, "promo_code": redeemed.code}})


def _snapshot(rule: PromoRule) -> PromoRule:
    """The rule an order was placed with; its window was checked at checkout and does not apply again."""
    return rule.model_copy(update={"valid_from": None, "valid_to": None})


def order_promo(store: Store, order: Order, now: datetime) -> PromoRule | None:
    """The promo rule an order was placed with (the stored snapshot, else its code looked up again)."""
    if order.promo_rule is not None:
        return order.promo_rule
    if order.promo_code:
        return promo.resolve(store, order.promo_code, now)
    return None


def requote(store: Store, *, config: ProgramConfig, order: Order, now: datetime) -> Quote:
    """The order's cart priced again on the account now, with the promo rule it was placed with."""
    rule = order_promo(store, order, now)

    def unit(uow: UnitOfWork) -> Quote:
        session = AccountSession(uow, order.customer_id)
        view = customer_orders.customer_view(config, session, now, plus_reserved_for=order.order_id)
        return quote(config, view, list(order.lines), now=now, promo=rule, bonuses_requested=order.bonuses_requested, pays_with_gift_certificate=order.pays_with_gift_certificate)

    return store.run(unit)


def _placed(store: Store, order_id: str, placed: Order | None) -> Order:
    """The order as its caller already read it, else read now: outside the transaction only
    its customer and promo are used, which never change once it is placed. Every decision is
    taken on the order read again inside the transaction."""
    if placed is not None:
        if placed.order_id != order_id:
            raise ValueError(f"the order read is {placed.order_id!r}, not {order_id!r}")
        return placed
    return get_order(store, order_id)


def _in_order_unit(store: Store, customer_id: str, order_id: str, decide: Callable[[UnitOfWork, Order], T]) -> T:
    """Run ``decide(uow, order)`` in one transaction on the order read inside it.

    Every transition decides on that read and writes the order together with
    the customer's ledger change, so a concurrent transition either commits
    first (and is seen) or is retried. The customer's account is read first:
    units of one instance on the same customer then queue in-process rather
    than meet on Firestore's locks (see the Firestore store), whichever order
    they came through.
    """

    def unit(uow: UnitOfWork) -> T:
        uow.accounts.get(customer_id)
        order = uow.orders.get(order_id)
        if order is None:
            raise _unknown(order_id)
        return decide(uow, order)

    return store.run(unit)


def mark_paid(store: Store, *, config: ProgramConfig, order_id: str, payment: PaymentRef, now: datetime, placed: Order | None = None, then: Then | None = None) -> Order:
    """Payment confirmed (by the provider's API, not the notification body).

    The order is settled on what its checkout agreed (see
    :func:`customer_orders.pay`): ``money_paid`` is the order's
    ``money_to_pay`` — the sum the payment was matched against — the
    bonuses spent are the reserved ones and the points earned the
    ``points_to_earn`` the checkout showed. A program change since checkout
    changes none of them; only a reservation that lapsed and whose bonuses
    went elsewhere cuts the spend (the cut is kept as ``bonuses_shortfall``
    and logged), and a group excluded from bonuses since earns nothing.

    The spend, the purchase and the accrual commit in one transaction with the
    order becoming ``paid``, decided on the order as read in that transaction;
    an order already paid by another payment, or moved on, is returned
    unchanged (its ``payment`` says which payment counted). The partner's
    count of paying referees follows in its own (idempotent) transaction,
    again on a replay.

    A payment settles the order only while what its checkout agreed still
    holds: its bonuses still reserved for it or, once the reservation was
    released (the timeout), free on the account; its promo use still held or,
    given back meanwhile, free within the code's limits. So an order canceled
    by the timeout and paid late is settled (``canceled -> paid``) when it can
    be, and otherwise nothing is spent or earned: the payment is recorded as a
    :class:`~shared.domain.order.RefundDueEvent` (an order still awaiting
    payment is canceled with it) for the caller to give the money back.
    ``then`` runs in the settling transaction when this call settled the order (raising rolls it back).
    """
    require_utc(now)
    placed = _placed(store, order_id, placed)
    customer_id = placed.customer_id
    rule = order_promo(store, placed, now)  # fixed at placement
    key = f"paid:{payment.id}"

    def decide(uow: UnitOfWork, order: Order) -> tuple[Order, customer_orders.PaidOrder | None]:
        if not order.accepts_payment(key):
            return order, None  # recorded before, or paid by another payment meanwhile, or moved on
        problem = _unhonoured(uow, order, now)
        if problem is not None:
            refused = _cancel_in(uow, order, now) if order.awaiting_payment else order
            moved = refused.refund_due(payment, key=key, reason=problem, now=now)
            uow.orders.put(moved)
            return moved, None
        paid = customer_orders.pay(
            uow,
            config=config,
            customer_id=customer_id,
            order_id=order_id,
            lines=list(order.lines),
            bonuses=order.reserved,
            now=now,
            promo=rule,
            agreed=order.agreement(),
            partner_code_of=order.referral_partner_id,
        )
        figures = PaidFigures(spent=paid.spent, earned=paid.earned, paid=paid.paid, shortfall=paid.shortfall, referrer_id=paid.referrer_id)
        moved = order.pay(payment, key=key, figures=figures, now=now, fallback_at=holds.delivery_fallback(config, order.shipping_method, now))
        uow.orders.put(moved)
        if then is not None:
            then(uow, moved)
        return moved, paid

    order, paid = _in_order_unit(store, customer_id, order_id, decide)
    if paid is not None and paid.shortfall:
        fields = {"order_id": order_id, "customer_id": customer_id, "agreed": order.bonuses_reserved, "spent": paid.spent, "shortfall": paid.shortfall}
        log.warning("order paid with fewer bonuses than agreed", extra={"json_fields": fields})
    counted = order.recorded(key)
    if isinstance(counted, PaidEvent) and counted.referrer_notified:
        referral.note_paying_referee(store, partner_id=counted.referrer_notified, referee_id=customer_id, now=now, config=config)
    return order


def _unhonoured(uow: UnitOfWork, order: Order, now: datetime) -> str | None:
    """Why a payment can no longer settle the order at what its checkout agreed (``None``: it can).
    Writes nothing unless it answers ``None`` (a promo use taken again)."""
    if not customer_orders.bonuses_still_held(uow, customer_id=order.customer_id, order_id=order.order_id, bonuses=order.reserved, now=now):
        return "bonuses_gone"
    if order.promo_code and not promo.keep_for_payment_in(uow, code=order.promo_code, customer_id=order.customer_id, order_id=order.order_id, now=now):
        return "promo_used_up"
    return None


def _cancel_in(uow: UnitOfWork, order: Order, now: datetime, reason: str | None = None) -> Order:
    """Release an unpaid order's reservation and give its promo use back; canceled with ``reason``
    (``None``: the caller records the order's next event itself)."""
    customer_orders.release(uow, customer_id=order.customer_id, order_id=order.order_id, now=now)
    if order.promo_code:
        promo.unredeem_in(uow, code=order.promo_code, customer_id=order.customer_id, order_id=order.order_id, now=now)
    return order if reason is None else order.cancel(reason, now=now)


def flag_for_review(store: Store, *, order_id: str, review: ReviewFlag, now: datetime) -> Order:
    """A payment that could not settle the order, flagged for a manager in one transaction: an
    unpaid order is canceled as the timeout does (reservation and promo use given back), so nothing
    is spent or earned by it; a paid or canceled one keeps its status. The first flag stays."""
    require_utc(now)

    def decide(uow: UnitOfWork, order: Order) -> Order:
        if order.review is not None:  # the first verdict stays
            return order
        moved = (_cancel_in(uow, order, now, "flagged") if order.awaiting_payment else order).flag(review)
        uow.orders.put(moved)
        return moved

    return _in_order_unit(store, get_order(store, order_id).customer_id, order_id, decide)


def mark_canceled(store: Store, *, order_id: str, now: datetime, reason: str, placed: Order | None = None) -> Order:
    """Never paid in time (the reservation timeout): the reserved bonuses and the promo code's use go back.

    One transaction, decided on the order as read in it: only an order still
    ``awaiting_payment`` is canceled, with its reservation released and its
    promo use given back; a paid order (or one canceled before) is returned
    unchanged — a payment that committed first wins. A declined payment does
    not cancel an order: it stays payable until its reservation times out.
    """
    require_utc(now)
    placed = _placed(store, order_id, placed)
    if not placed.awaiting_payment:
        return placed  # no status leads back to awaiting_payment: nothing to do
    customer_id = placed.customer_id

    def decide(uow: UnitOfWork, order: Order) -> Order:
        if not order.awaiting_payment:
            return order  # paid (or canceled) meanwhile
        moved = _cancel_in(uow, order, now, reason)
        uow.orders.put(moved)
        return moved

    return _in_order_unit(store, customer_id, order_id, decide)


def mark_delivered(
    store: Store,
    *,
    config: ProgramConfig,
    order_id: str,
    delivered_at: datetime,
    now: datetime,
    carrier: str,
    placed: Order | None = None,
    activates_at: datetime | None = None,
    then: Then | None = None,
) -> Order:
    """Delivered: the order's accrual starts its hold (``activates_at``: active from then instead),
    in one transaction with the order becoming ``delivered``; the partner's reward is then
    credited in its own transaction and noted on the event (``referral_reward``). ``then``
    runs in the delivering transaction, only when this call delivered the order."""
    require_utc(now)
    placed = _placed(store, order_id, placed)
    customer_id = placed.customer_id

    def decide(uow: UnitOfWork, order: Order) -> tuple[Order, OrderLineBook | None]:
        if not order.accepts_delivery():
            if order.reward_pending():
                # the partner's step was lost (a crash or a lost reply): a redelivery completes it
                return order, AccountSession(uow, customer_id).order(order_id)
            return order, None
        book = customer_orders.deliver(uow, config=config, customer_id=customer_id, order_id=order_id, delivered_at=delivered_at, now=now, activates_at=activates_at)
        moved = order.deliver(carrier=carrier, delivered_at=delivered_at, with_partner=bool(book.referrer_id), now=now)
        uow.orders.put(moved)
        if then is not None:
            then(uow, moved)
        return moved, book

    order, book = _in_order_unit(store, customer_id, order_id, decide)
    if book is not None and book.referrer_id:
        at = order.delivered_at or delivered_at
        reward = referral.credit_referral_reward(store, config=config, book=book, delivered_at=at, now=now)
        order = _note_reward(store, order_id, reward)
    return order


def _note_reward(store: Store, order_id: str, reward: int) -> Order:
    """Note the partner's reward, credited after the delivery committed, on the delivery's event."""

    def unit(uow: UnitOfWork) -> Order:
        order = uow.orders.get(order_id)
        if order is None:
            raise NotFound("unknown order", order_id=order_id)
        noted = order.note_reward(reward)
        if noted is not order:
            uow.orders.put(noted)
        return noted

    return store.run(unit)


def mark_returned(
    store: Store, *, config: ProgramConfig, order_id: str, return_id: str, returns: dict[str, int] | None, now: datetime,
    not_delivered: bool = False, placed: Order | None = None, then: Then | None = None,
) -> Order:
    """A return by line and quantity (``None``: everything still kept). Spent bonuses come back, accruals and
    partner rewards are taken back by the clawback policy. The customer's side and the order's ``returned_units``
    commit in one transaction, computed on the order as read in it, so concurrent returns add up; the same
    ``return_id`` again changes nothing. The partner's reward on the returned part is taken back afterwards in its
    own transaction; ``then`` runs in the returning transaction, only when this call recorded the return."""
    require_utc(now)
    placed = _placed(store, order_id, placed)
    customer_id = placed.customer_id
    key = f"return:{return_id}"

    def decide(uow: UnitOfWork, order: Order) -> tuple[Order, dict[str, int] | None, str | None]:
        recorded = order.recorded(key)
        if isinstance(recorded, ReturnEvent):  # done; the partner's side is redone below in case it was lost
            return order, recorded.units, recorded.referrer_id
        order.accepts_return()
        units = order.remaining_units() if returns is None else returns
        if not units:
            return order, None, None
        result = customer_orders.return_lines(uow, config=config, customer_id=customer_id, order_id=order_id, return_id=return_id, returns=units, now=now)
        figures = ReturnedFigures(spent_back=result.spent_back, earned_back=result.earned_back, referrer_id=result.referrer_id)
        moved = order.return_units(units, key=key, figures=figures, not_delivered=not_delivered, now=now)
        uow.orders.put(moved)
        if then is not None:
            then(uow, moved)
        return moved, units, figures.referrer_id

    order, units, referrer_id = _in_order_unit(store, customer_id, order_id, decide)
    if units and referrer_id:  # idempotent: a redelivery completes a lost partner step
        referral.reverse_referral_reward(store, config=config, partner_id=referrer_id, referee_id=customer_id, order_id=order_id, return_id=return_id, returns=units, now=now)
    return order
