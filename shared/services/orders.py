"""Storefront orders: the order document and its status machine, over the lifecycle use cases.

``orders/{order_id}`` keeps what the checkout agreed (customer, cart lines,
bonuses, promo code, the quote's cart fingerprint and its figures per line),
the payment and the delivery. Webhooks find the order here and move it on;
every transition is idempotent and out-of-order events are refused or
ignored, never applied twice:

    awaiting_payment -> paid -> delivered -> (partially_)returned
    awaiting_payment -> canceled          (payment canceled or timed out)
    paid -> not_delivered                 (carrier gave up: a full return)

Each transition decides on the order document as read inside the
transaction that writes it, and the customer's ledger change commits in that
same transaction (the lifecycle's ``*_unit`` functions), so the order and the
ledger never disagree and concurrent transitions serialize: a payment and a
cancellation racing end paid *or* canceled, two returns add up. A partner's
side (the paying-referee count, the reward, its clawback) follows in a
transaction of its own on the partner's account, idempotent by key.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Callable, TypeVar

from shared.domain.cart import CartLine, PromoRule, Quote, quote
from shared.domain.config import ProgramConfig
from shared.domain.errors import IdempotencyConflict, InvalidState, NotFound, StaleQuote, ValidationFailed
from shared.domain.ledger import require_utc
from shared.domain.line_book import OrderLineBook
from shared.services.ports import Store, Then, UnitOfWork
from shared.services import lifecycle, promo
from shared.services.ledger import AccountSession, account_path

log = logging.getLogger(__name__)
T = TypeVar("T")

ORDERS = "orders"
FINAL = ("canceled", "returned", "not_delivered")


def order_path(order_id: str) -> str:
    return f"{ORDERS}/{order_id}"


def get_order(store: Store, order_id: str) -> dict[str, Any]:
    order = store.get(order_path(order_id))
    if order is None:
        raise NotFound("unknown order", order_id=order_id, message_ru="Заказ не найден.")
    return order


def _lines(order: dict[str, Any]) -> list[CartLine]:
    return [CartLine.model_validate(line) for line in order["lines"]]


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
    then: Then | None = None,
) -> tuple[dict[str, Any], Quote]:
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

    Idempotent by order id: the same order placed again returns the first
    record; the same id with another cart is an :class:`IdempotencyConflict`.
    """
    require_utc(now)
    dumped = [line.model_dump(mode="json") for line in lines]
    existing = store.get(order_path(order_id))
    if existing is not None:
        return _replay(store, config=config, existing=existing, customer_id=customer_id, lines=dumped, bonuses=bonuses, promo_code=promo_code, now=now)
    offer = promo.offer(store, promo_code)
    # Pure: the fingerprint and whether the code applies do not depend on the account.
    try:
        preview = quote(config, None, lines, now=now, promo=offer.rule, promo_code=offer.quote_code, bonuses_requested=bonuses, pays_with_gift_certificate=pays_with_gift_certificate)
    except ValueError as exc:  # an empty cart, duplicate line ids, negative bonuses
        raise ValidationFailed(str(exc), message_ru="Некорректная корзина.") from None
    if quote_fingerprint is not None and quote_fingerprint != preview.cart_fingerprint:
        raise StaleQuote("the cart changed after it was quoted; quote it again", expected=preview.cart_fingerprint, got=quote_fingerprint)
    rule = offer.rule if preview.promo_applied else None
    redeemed = promo.redeem(store, code=rule.code, customer_id=customer_id, order_id=order_id, now=now) if rule else None

    def unit(uow: UnitOfWork) -> tuple[dict[str, Any], Quote | None]:
        uow.get(account_path(customer_id))  # first: this customer's units queue in-process (see _in_order_unit)
        current = uow.get(order_path(order_id))
        if current is not None:  # a twin request placed it meanwhile
            if not _same_order(current, customer_id=customer_id, lines=dumped, bonuses=bonuses, promo_code=promo_code):
                raise IdempotencyConflict("the order id was used for another cart", order_id=order_id)
            return current, None
        reserved = lifecycle.checkout_unit(uow, config=config, customer_id=customer_id, order_id=order_id, lines=lines, bonuses=bonuses, now=now, promo=rule, pays_with_gift_certificate=pays_with_gift_certificate)
        record = {
            "order_id": order_id,
            "customer_id": customer_id,
            "lines": dumped,
            "bonuses_requested": bonuses,
            "bonuses_reserved": reserved.bonuses_applied,
            "pays_with_gift_certificate": pays_with_gift_certificate,
            "promo_code_entered": offer.entered,
            "promo_code": rule.code if rule else None,
            "promo_rule": _snapshot(rule) if rule else None,
            "referral_partner_id": offer.partner_id,  # a candidate for the identity use case; nothing acts on it here
            "quote_fingerprint": preview.cart_fingerprint,
            "discount": reserved.discount,
            "money_to_pay": reserved.money_to_pay,
            "points_to_earn": reserved.points_to_earn,
            # what payment settles on, per line (lifecycle.Agreement): the quote is what is paid for
            "quoted_lines": {ql.id: {"bonuses": ql.bonuses_applied, "money_to_pay": ql.money_to_pay, "points_to_earn": ql.points_to_earn} for ql in reserved.lines},
            "status": "awaiting_payment",
            "source": source,
            "created_at": now,
            "payment": None,
            "delivery": None,
            "events": [],
        }
        uow.create(order_path(order_id), record)
        if then is not None:
            then(uow, record)
        return record, reserved

    try:
        placed, reserved = store.run(unit)
    except Exception:
        _undo_redemption(store, customer_id=customer_id, order_id=order_id, redeemed=redeemed, now=now)
        raise
    if reserved is None:
        return placed, lifecycle_quote(store, config=config, order=placed, now=now)
    return placed, reserved


def _same_order(order: dict[str, Any], *, customer_id: str, lines: list[dict[str, Any]], bonuses: int, promo_code: str | None) -> bool:
    entered = promo.normalize(promo_code) if promo_code and promo_code.strip() else None
    return order["customer_id"] == customer_id and order["lines"] == lines and order["bonuses_requested"] == bonuses and order.get("promo_code_entered", order.get("promo_code")) == entered


def _replay(store: Store, *, config: ProgramConfig, existing: dict[str, Any], customer_id: str, lines: list[dict[str, Any]], bonuses: int, promo_code: str | None, now: datetime) -> tuple[dict[str, Any], Quote]:
    if not _same_order(existing, customer_id=customer_id, lines=lines, bonuses=bonuses, promo_code=promo_code):
        raise IdempotencyConflict("the order id was used for another cart", order_id=existing["order_id"])
    return existing, lifecycle_quote(store, config=config, order=existing, now=now)


def _undo_redemption(store: Store, *, customer_id: str, order_id: str, redeemed: promo.Redemption | None, now: datetime) -> None:
    """Best effort: give the promo use back when the order was not placed (unless a twin request
    placed it with that code). Should this fail too, the use is logged for a manual fix."""
    if redeemed is None or redeemed.replayed:
        return
    try:
        placed = store.get(order_path(order_id))
        if placed is None or placed.get("promo_code") != redeemed.code:
            promo.unredeem(store, code=redeemed.code, customer_id=customer_id, order_id=order_id, now=now)
    except Exception:  # the original failure is re-raised by the caller; this one is only logged
        log.exception("could not give back a failed order's promo use", extra={"json_fields": {"order_id": order_id, "customer_id": customer_id, "promo_code": redeemed.code}})


def _snapshot(rule: PromoRule) -> dict[str, Any]:
    """The rule an order was placed with; its window was checked at checkout and does not apply again."""
    return rule.model_copy(update={"valid_from": None, "valid_to": None}).model_dump(mode="json")


def order_promo(store: Store, order: dict[str, Any], now: datetime) -> PromoRule | None:
    """The promo rule an order was placed with (the stored snapshot, else its code looked up again)."""
    if order.get("promo_rule"):
        return PromoRule.model_validate(order["promo_rule"])
    if order.get("promo_code"):
        return promo.resolve(store, order["promo_code"], now)
    return None


def lifecycle_quote(store: Store, *, config: ProgramConfig, order: dict[str, Any], now: datetime) -> Quote:
    """The order's cart priced again on the account now, with the promo rule it was placed with."""
    from shared.services.ledger import AccountSession

    rule = order_promo(store, order, now)

    def unit(uow: UnitOfWork) -> Quote:
        session = AccountSession(uow, order["customer_id"])
        view = lifecycle.customer_view(config, session, now, plus_reserved_for=order["order_id"])
        return quote(config, view, _lines(order), now=now, promo=rule, bonuses_requested=order["bonuses_requested"], pays_with_gift_certificate=order.get("pays_with_gift_certificate", False))

    return store.run(unit)


def _recorded(order: dict[str, Any], key: str) -> dict[str, Any] | None:
    return next((e for e in order.get("events", []) if e.get("key") == key), None)


def _record(uow: UnitOfWork, order: dict[str, Any], *, to: str, now: datetime, event: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Write the order document moved on to ``to``, with its event (the last 50 are kept)."""
    moved = {**order, **fields, "status": to, "events": [*order.get("events", [])[-49:], {**event, "at": now}]}
    uow.put(order_path(order["order_id"]), moved)
    return moved


def _placed(store: Store, order_id: str, placed: dict[str, Any] | None) -> dict[str, Any]:
    """The order as its caller already read it, else read now: outside the transaction only
    its customer and promo are used, which never change once it is placed. Every decision is
    taken on the order read again inside the transaction."""
    if placed is not None:
        if placed.get("order_id") != order_id:
            raise ValueError(f"the order read is {placed.get('order_id')!r}, not {order_id!r}")
        return placed
    return get_order(store, order_id)


def _in_order_unit(store: Store, customer_id: str, order_id: str, decide: Callable[[UnitOfWork, dict[str, Any]], T]) -> T:
    """Run ``decide(uow, order)`` in one transaction on the order document read inside it.

    Every transition decides on that read and writes the order together with
    the customer's ledger change, so a concurrent transition either commits
    first (and is seen) or is retried. The customer's account is read first:
    units of one instance on the same customer then queue in-process rather
    than meet on Firestore's locks (see the Firestore store), whichever order
    they came through.
    """

    def unit(uow: UnitOfWork) -> T:
        uow.get(account_path(customer_id))
        order = uow.get(order_path(order_id))
        if order is None:
            raise NotFound("unknown order", order_id=order_id, message_ru="Заказ не найден.")
        return decide(uow, order)

    return store.run(unit)


def agreement(order: dict[str, Any]) -> lifecycle.Agreement | None:
    """The per-line figures the order's checkout agreed (orders placed before they were kept: ``None``)."""
    quoted = order.get("quoted_lines")
    if not quoted:
        return None
    return lifecycle.Agreement(
        bonuses={line_id: int(figures["bonuses"]) for line_id, figures in quoted.items()},
        money={line_id: int(figures["money_to_pay"]) for line_id, figures in quoted.items()},
    )


def mark_paid(store: Store, *, config: ProgramConfig, order_id: str, payment: dict[str, Any], now: datetime, placed: dict[str, Any] | None = None) -> dict[str, Any]:
    """Payment confirmed (by the provider's API, not the notification body).

    The order is settled on what its checkout agreed (see
    :func:`lifecycle.pay_order`): ``money_paid`` is the order's
    ``money_to_pay`` — the sum the payment was matched against — and the
    bonuses spent are the reserved ones, cut only if the rules in force or the
    customer's balance no longer allow them (the cut is kept as
    ``bonuses_shortfall`` and logged). Points are earned on the money paid at
    the customer's level at payment; the promo rule is the one the order was
    placed with.

    The spend, the purchase and the accrual commit in one transaction with the
    order becoming ``paid``, decided on the order as read in that transaction:
    a canceled order is :class:`InvalidState` and nothing is spent; an order
    already paid by another payment, or moved on, is returned unchanged (its
    ``payment`` says which payment counted). The partner's count of paying
    referees follows in its own (idempotent) transaction, again on a replay.
    """
    require_utc(now)
    placed = _placed(store, order_id, placed)
    customer_id = placed["customer_id"]
    rule = order_promo(store, placed, now)  # fixed at placement
    key = f"paid:{payment.get('id')}"

    def decide(uow: UnitOfWork, order: dict[str, Any]) -> tuple[dict[str, Any], lifecycle.PaidOrder | None]:
        if _recorded(order, key) is not None:
            return order, None
        if order["status"] == "canceled":
            raise InvalidState("the order was canceled before it was paid", order_id=order_id)
        if order["status"] != "awaiting_payment":
            return order, None  # paid by another payment meanwhile, or moved on
        paid = lifecycle.pay_order_unit(
            uow,
            config=config,
            customer_id=customer_id,
            order_id=order_id,
            lines=_lines(order),
            bonuses=order.get("bonuses_reserved", order["bonuses_requested"]),
            now=now,
            promo=rule,
            agreed=agreement(order),
        )
        event: dict[str, Any] = {"key": key, "type": "paid", "referrer_notified": paid.referrer_id}
        fields: dict[str, Any] = {"payment": payment, "paid_at": now, "bonuses_spent": paid.spent, "points_earned": paid.earned, "money_paid": paid.paid}
        if paid.shortfall:
            event["bonuses_shortfall"] = fields["bonuses_shortfall"] = paid.shortfall
        return _record(uow, order, to="paid", now=now, event=event, **fields), paid

    order, paid = _in_order_unit(store, customer_id, order_id, decide)
    if paid is not None and paid.shortfall:
        log.warning("order paid with fewer bonuses than agreed", extra={"json_fields": {"order_id": order_id, "customer_id": customer_id, "agreed": order.get("bonuses_reserved"), "spent": paid.spent, "shortfall": paid.shortfall}})
    counted = _recorded(order, key)
    referrer = counted.get("referrer_notified") if counted else None
    if referrer:
        lifecycle.note_paying_referee(store, partner_id=referrer, referee_id=customer_id, now=now)
    return order


def mark_canceled(store: Store, *, order_id: str, now: datetime, reason: str, placed: dict[str, Any] | None = None) -> dict[str, Any]:
    """Payment canceled or never made: the reserved bonuses and the promo code's use go back.

    One transaction, decided on the order as read in it: only an order still
    ``awaiting_payment`` is canceled, with its reservation released and its
    promo use given back; a paid order (or one canceled before) is returned
    unchanged — a payment that committed first wins.
    """
    require_utc(now)
    placed = _placed(store, order_id, placed)
    if placed["status"] != "awaiting_payment":
        return placed  # no status leads back to awaiting_payment: nothing to do
    customer_id = placed["customer_id"]

    def decide(uow: UnitOfWork, order: dict[str, Any]) -> dict[str, Any]:
        if order["status"] != "awaiting_payment":
            return order  # paid (or canceled) meanwhile
        lifecycle.release_unit(uow, customer_id=customer_id, order_id=order_id, now=now)
        if order.get("promo_code"):
            promo.unredeem_in(uow, code=order["promo_code"], customer_id=customer_id, order_id=order_id, now=now)
        return _record(uow, order, to="canceled", now=now, event={"key": f"canceled:{reason}", "type": "canceled", "reason": reason})

    return _in_order_unit(store, customer_id, order_id, decide)


def mark_delivered(store: Store, *, config: ProgramConfig, order_id: str, delivered_at: datetime, now: datetime, carrier: str, placed: dict[str, Any] | None = None) -> dict[str, Any]:
    """Delivered: the order's accrual starts its hold, in one transaction with the order
    becoming ``delivered``; the partner's reward is then credited in its own transaction
    and noted on the event (``referral_reward``)."""
    require_utc(now)
    placed = _placed(store, order_id, placed)
    customer_id = placed["customer_id"]

    def decide(uow: UnitOfWork, order: dict[str, Any]) -> tuple[dict[str, Any], OrderLineBook | None]:
        if order["status"] in ("delivered", "returned", "partially_returned", "not_delivered"):
            recorded = _recorded(order, "delivered")
            if recorded is not None and recorded.get("referral_reward") is None:
                # the partner's step was lost (a crash or a lost reply): a redelivery completes it
                return order, AccountSession(uow, customer_id).order(order_id)
            return order, None
        if order["status"] != "paid":
            raise InvalidState(f"order is {order['status']}, cannot be delivered", order_id=order_id)
        book = lifecycle.deliver_unit(uow, config=config, customer_id=customer_id, order_id=order_id, delivered_at=delivered_at, now=now)
        event = {"key": "delivered", "type": "delivered", "carrier": carrier, "referral_reward": None if book.referrer_id else 0}
        return _record(uow, order, to="delivered", now=now, event=event, delivered_at=delivered_at), book

    order, book = _in_order_unit(store, customer_id, order_id, decide)
    if book is not None and book.referrer_id:
        at = order.get("delivered_at") or delivered_at
        reward = lifecycle.credit_referral_reward(store, config=config, book=book, delivered_at=at, now=now)
        order = _note_on_event(store, order_id, "delivered", referral_reward=reward)
    return order


def _note_on_event(store: Store, order_id: str, key: str, **fields: Any) -> dict[str, Any]:
    """Add what a later step learnt (e.g. the partner's reward) to an event already recorded."""

    def unit(uow: UnitOfWork) -> dict[str, Any]:
        order = uow.get(order_path(order_id))
        if order is None:
            raise NotFound("unknown order", order_id=order_id)
        events = [{**e, **fields} if e.get("key") == key else e for e in order.get("events", [])]
        if events != order.get("events", []):
            order = {**order, "events": events}
            uow.put(order_path(order_id), order)
        return order

    return store.run(unit)


def remaining_units(order: dict[str, Any]) -> dict[str, int]:
    returned = order.get("returned_units") or {}
    return {line["id"]: line["quantity"] - returned.get(line["id"], 0) for line in order["lines"] if line["quantity"] - returned.get(line["id"], 0) > 0}


def mark_returned(
    store: Store, *, config: ProgramConfig, order_id: str, return_id: str, returns: dict[str, int] | None, now: datetime, not_delivered: bool = False, placed: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A return by line and quantity (``None``: everything still kept). Spent bonuses come back,
    accruals and partner rewards are taken back by the clawback policy.

    The customer's side and the order's ``returned_units`` commit in one
    transaction, computed on the order as read in it, so concurrent returns
    add up; the same ``return_id`` again changes nothing. The partner's reward
    on the returned part is taken back afterwards in its own transaction.
    """
    require_utc(now)
    placed = _placed(store, order_id, placed)
    customer_id = placed["customer_id"]
    key = f"return:{return_id}"

    def decide(uow: UnitOfWork, order: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int] | None, dict[str, Any] | None]:
        recorded = _recorded(order, key)
        if recorded is not None:  # done; the partner's side is redone below in case it was lost
            return order, recorded.get("units"), {"referrer_id": recorded.get("referrer_id")}
        if order["status"] in ("awaiting_payment", "canceled"):
            raise InvalidState(f"order is {order['status']}: nothing was paid to return", order_id=order_id)
        units = remaining_units(order) if returns is None else returns
        if not units:
            return order, None, None
        result = lifecycle.return_lines_unit(uow, config=config, customer_id=customer_id, order_id=order_id, return_id=return_id, returns=units, now=now)
        returned = dict(order.get("returned_units") or {})
        for line_id, qty in units.items():
            returned[line_id] = returned.get(line_id, 0) + qty
        everything = all(returned.get(line["id"], 0) >= line["quantity"] for line in order["lines"])
        to = ("not_delivered" if not_delivered else "returned") if everything else "partially_returned"
        if order["status"] not in ("paid", "delivered", "partially_returned") and order["status"] != to:
            raise InvalidState(f"order is {order['status']}, cannot become {to}", order_id=order_id, status=order["status"])
        event = {"key": key, "type": "return", "units": units, "spent_back": result["spent_back"], "earned_back": result["earned_back"], "referrer_id": result.get("referrer_id")}
        return _record(uow, order, to=to, now=now, event=event, returned_units=returned), units, result

    order, units, result = _in_order_unit(store, customer_id, order_id, decide)
    if result is not None and units and result.get("referrer_id"):  # idempotent: a redelivery completes a lost partner step
        lifecycle.reverse_referral_reward(store, config=config, partner_id=result["referrer_id"], referee_id=customer_id, order_id=order_id, return_id=return_id, returns=units, now=now)
    return order
