"""Storefront orders: the order document and its status machine, over the lifecycle use cases.

``orders/{order_id}`` keeps what the checkout agreed (customer, cart lines,
bonuses, promo code, the quote's cart fingerprint), the payment and the
delivery. Webhooks find the order here and move it on; every transition is
idempotent and out-of-order events are refused or ignored, never applied
twice:

    awaiting_payment -> paid -> delivered -> (partially_)returned
    awaiting_payment -> canceled          (payment canceled or timed out)
    paid -> not_delivered                 (carrier gave up: a full return)
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from shared.domain.cart import CartLine, PromoRule, Quote, quote
from shared.domain.config import ProgramConfig
from shared.domain.errors import IdempotencyConflict, InvalidState, NotFound, StaleQuote, ValidationFailed
from shared.domain.ledger import require_utc
from shared.ports import Store, UnitOfWork
from shared.services import lifecycle, promo

log = logging.getLogger(__name__)

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
) -> tuple[dict[str, Any], Quote]:
    """Check out: refuse a stale quote, redeem the promo code, reserve the bonuses, record the order.

    Steps, each its own transaction: (1) the cart's fingerprint is compared
    with the quote the customer saw (a mismatch is :class:`StaleQuote` and
    nothing is written); (2) an applicable promo code is redeemed, limits
    checked atomically (a used-up code is a :class:`BusinessRefusal` before
    any bonus is reserved); (3) the quote is recomputed on the account and
    its bonuses reserved, so two tabs cannot spend the same bonuses; (4) the
    order is recorded. When (3) or (4) fails, what this call did is undone.

    The order keeps the promo rule it was placed with (without its validity
    window): payment is priced by that rule even if the code expires or is
    switched off in between.

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
        preview = quote(config, None, lines, now=now, promo=offer.rule, promo_code=offer.quote_code, bonuses_requested=bonuses)
    except ValueError as exc:  # an empty cart, duplicate line ids, negative bonuses
        raise ValidationFailed(str(exc), message_ru="Некорректная корзина.") from None
    if quote_fingerprint is not None and quote_fingerprint != preview.cart_fingerprint:
        raise StaleQuote("the cart changed after it was quoted; quote it again", expected=preview.cart_fingerprint, got=quote_fingerprint)
    rule = offer.rule if preview.promo_applied else None
    redeemed = promo.redeem(store, code=rule.code, customer_id=customer_id, order_id=order_id, now=now) if rule else None
    reserved: Quote | None = None
    try:
        reserved = lifecycle.checkout(store, config=config, customer_id=customer_id, order_id=order_id, lines=lines, bonuses=bonuses, now=now, promo=rule)
        record = {
            "order_id": order_id,
            "customer_id": customer_id,
            "lines": dumped,
            "bonuses_requested": bonuses,
            "bonuses_reserved": reserved.bonuses_applied,
            "promo_code_entered": offer.entered,
            "promo_code": rule.code if rule else None,
            "promo_rule": _snapshot(rule) if rule else None,
            "referral_partner_id": offer.partner_id,  # a candidate for the identity use case; nothing acts on it here
            "quote_fingerprint": preview.cart_fingerprint,
            "discount": reserved.discount,
            "money_to_pay": reserved.money_to_pay,
            "points_to_earn": reserved.points_to_earn,
            "status": "awaiting_payment",
            "source": source,
            "created_at": now,
            "payment": None,
            "delivery": None,
            "events": [],
        }

        def unit(uow: UnitOfWork) -> dict[str, Any]:
            current = uow.get(order_path(order_id))
            if current is None:
                uow.create(order_path(order_id), record)
                return record
            if not _same_order(current, customer_id=customer_id, lines=dumped, bonuses=bonuses, promo_code=promo_code):
                raise IdempotencyConflict("the order id was used for another cart", order_id=order_id)
            return current

        placed = store.run(unit)
    except Exception:
        _undo_placement(store, customer_id=customer_id, order_id=order_id, redeemed=redeemed, reserved=reserved, now=now)
        raise
    return placed, reserved


def _same_order(order: dict[str, Any], *, customer_id: str, lines: list[dict[str, Any]], bonuses: int, promo_code: str | None) -> bool:
    entered = promo.normalize(promo_code) if promo_code and promo_code.strip() else None
    return order["customer_id"] == customer_id and order["lines"] == lines and order["bonuses_requested"] == bonuses and order.get("promo_code_entered", order.get("promo_code")) == entered


def _replay(store: Store, *, config: ProgramConfig, existing: dict[str, Any], customer_id: str, lines: list[dict[str, Any]], bonuses: int, promo_code: str | None, now: datetime) -> tuple[dict[str, Any], Quote]:
    if not _same_order(existing, customer_id=customer_id, lines=lines, bonuses=bonuses, promo_code=promo_code):
        raise IdempotencyConflict("the order id was used for another cart", order_id=existing["order_id"])
    return existing, lifecycle_quote(store, config=config, order=existing, now=now)


def _undo_placement(store: Store, *, customer_id: str, order_id: str, redeemed: promo.Redemption | None, reserved: Quote | None, now: datetime) -> None:
    """Best effort: give back what a failed placement took, unless a twin request placed the order.

    Should this fail too, the reservation still lapses by its timeout; the
    promo use is logged for a manual fix.
    """
    try:
        placed = store.get(order_path(order_id))
        if placed is None and reserved is not None and reserved.bonuses_applied:
            lifecycle.release_reservation(store, customer_id=customer_id, order_id=order_id, now=now)
        if redeemed is not None and not redeemed.replayed and (placed is None or placed.get("promo_code") != redeemed.code):
            promo.unredeem(store, code=redeemed.code, customer_id=customer_id, order_id=order_id, now=now)
    except Exception:  # the original failure is re-raised by the caller; this one is only logged
        log.exception("could not undo a failed order placement", extra={"json_fields": {"order_id": order_id, "customer_id": customer_id, "promo_code": redeemed.code if redeemed else None}})


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
        return quote(config, view, _lines(order), now=now, promo=rule, bonuses_requested=order["bonuses_requested"])

    return store.run(unit)


def _transition(store: Store, order_id: str, *, allowed: tuple[str, ...], to: str, now: datetime, event: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Move the order document on; an event already recorded is not recorded twice."""

    def unit(uow: UnitOfWork) -> dict[str, Any]:
        order = uow.get(order_path(order_id))
        if order is None:
            raise NotFound("unknown order", order_id=order_id)
        if any(e.get("key") == event["key"] for e in order.get("events", [])):
            return order
        if order["status"] not in allowed and order["status"] != to:
            raise InvalidState(f"order is {order['status']}, cannot become {to}", order_id=order_id, status=order["status"])
        order.update(fields)
        order["status"] = to
        order["events"] = [*order.get("events", [])[-49:], {**event, "at": now}]
        uow.put(order_path(order_id), order)
        return order

    return store.run(unit)


def mark_paid(store: Store, *, config: ProgramConfig, order_id: str, payment: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Payment confirmed (by the provider's API, not the notification body).

    The order is priced with the promo rule it was placed with.
    """
    order = get_order(store, order_id)
    if order["status"] == "canceled":
        raise InvalidState("the order was canceled before it was paid", order_id=order_id)
    rule = order_promo(store, order, now)
    paid = lifecycle.pay_order(store, config=config, customer_id=order["customer_id"], order_id=order_id, lines=_lines(order), bonuses=order["bonuses_requested"], now=now, promo=rule)
    return _transition(
        store,
        order_id,
        allowed=("awaiting_payment",),
        to="paid" if order["status"] == "awaiting_payment" else order["status"],
        now=now,
        event={"key": f"paid:{payment.get('id')}", "type": "paid", "referrer_notified": paid.referrer_id},
        payment=payment,
        paid_at=now,
        bonuses_spent=paid.spent,
        points_earned=paid.earned,
        money_paid=paid.paid,
    )


def mark_canceled(store: Store, *, order_id: str, now: datetime, reason: str) -> dict[str, Any]:
    """Payment canceled or never made: the reserved bonuses and the promo code's use go back.
    A paid order is not canceled here."""
    order = get_order(store, order_id)
    if order["status"] != "awaiting_payment":
        return order  # canceled after succeeded (or twice): nothing to do
    lifecycle.release_reservation(store, customer_id=order["customer_id"], order_id=order_id, now=now)
    if order.get("promo_code"):
        promo.unredeem(store, code=order["promo_code"], customer_id=order["customer_id"], order_id=order_id, now=now)
    return _transition(store, order_id, allowed=("awaiting_payment",), to="canceled", now=now, event={"key": f"canceled:{reason}", "type": "canceled", "reason": reason})


def mark_delivered(store: Store, *, config: ProgramConfig, order_id: str, delivered_at: datetime, now: datetime, carrier: str) -> dict[str, Any]:
    order = get_order(store, order_id)
    if order["status"] in ("delivered", "returned", "partially_returned", "not_delivered"):
        return order
    if order["status"] != "paid":
        raise InvalidState(f"order is {order['status']}, cannot be delivered", order_id=order_id)
    result = lifecycle.deliver_order(store, config=config, customer_id=order["customer_id"], order_id=order_id, delivered_at=delivered_at, now=now)
    return _transition(
        store,
        order_id,
        allowed=("paid",),
        to="delivered",
        now=now,
        event={"key": "delivered", "type": "delivered", "carrier": carrier, "referral_reward": result["referral_reward"]},
        delivered_at=delivered_at,
    )


def remaining_units(order: dict[str, Any]) -> dict[str, int]:
    returned = order.get("returned_units") or {}
    return {line["id"]: line["quantity"] - returned.get(line["id"], 0) for line in order["lines"] if line["quantity"] - returned.get(line["id"], 0) > 0}


def mark_returned(store: Store, *, config: ProgramConfig, order_id: str, return_id: str, returns: dict[str, int] | None, now: datetime, not_delivered: bool = False) -> dict[str, Any]:
    """A return by line and quantity (``None``: everything still kept). Spent bonuses come back,
    accruals and partner rewards are taken back by the clawback policy."""
    order = get_order(store, order_id)
    if any(e.get("key") == f"return:{return_id}" for e in order.get("events", [])):
        return order
    if order["status"] in ("awaiting_payment", "canceled"):
        raise InvalidState(f"order is {order['status']}: nothing was paid to return", order_id=order_id)
    units = remaining_units(order) if returns is None else returns
    if not units:
        return order
    result = lifecycle.return_lines(store, config=config, customer_id=order["customer_id"], order_id=order_id, return_id=return_id, returns=units, now=now)
    returned = dict(order.get("returned_units") or {})
    for line_id, qty in units.items():
        returned[line_id] = returned.get(line_id, 0) + qty
    everything = all(returned.get(line["id"], 0) >= line["quantity"] for line in order["lines"])
    to = ("not_delivered" if not_delivered else "returned") if everything else "partially_returned"
    return _transition(
        store,
        order_id,
        allowed=("paid", "delivered", "partially_returned"),
        to=to,
        now=now,
        event={"key": f"return:{return_id}", "type": "return", "units": units, "spent_back": result["spent_back"], "earned_back": result["earned_back"]},
        returned_units=returned,
    )
