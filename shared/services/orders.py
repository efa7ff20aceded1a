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

from datetime import datetime
from typing import Any

from shared.domain.cart import CartLine, PromoRule, Quote
from shared.domain.config import ProgramConfig
from shared.domain.errors import IdempotencyConflict, InvalidState, NotFound, StaleQuote
from shared.domain.ledger import require_utc
from shared.ports import Store, UnitOfWork
from shared.services import lifecycle

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
    promo: PromoRule | None = None,
    quote_fingerprint: str | None = None,
    source: str = "storefront",
) -> tuple[dict[str, Any], Quote]:
    """Check out: recompute the quote, refuse a stale one, reserve the bonuses, record the order.

    Idempotent by order id: the same order placed again returns the first
    record; the same id with another cart is an :class:`IdempotencyConflict`.
    """
    require_utc(now)
    existing = store.get(order_path(order_id))
    if existing is not None:
        if existing["customer_id"] != customer_id or existing["lines"] != [line.model_dump(mode="json") for line in lines] or existing["bonuses_requested"] != bonuses:
            raise IdempotencyConflict("the order id was used for another cart", order_id=order_id)
        return existing, lifecycle_quote(store, config=config, order=existing, now=now, promo=promo)
    q = lifecycle.checkout(store, config=config, customer_id=customer_id, order_id=order_id, lines=lines, bonuses=bonuses, now=now, promo=promo)
    if quote_fingerprint is not None and quote_fingerprint != q.cart_fingerprint:
        lifecycle.release_reservation(store, customer_id=customer_id, order_id=order_id, now=now)
        raise StaleQuote("the cart changed after it was quoted; quote it again", expected=q.cart_fingerprint, got=quote_fingerprint)
    record = {
        "order_id": order_id,
        "customer_id": customer_id,
        "lines": [line.model_dump(mode="json") for line in lines],
        "bonuses_requested": bonuses,
        "bonuses_reserved": q.bonuses_applied,
        "promo_code": q.promo_code if q.promo_applied else None,
        "quote_fingerprint": q.cart_fingerprint,
        "money_to_pay": q.money_to_pay,
        "status": "awaiting_payment",
        "source": source,
        "created_at": now,
        "payment": None,
        "delivery": None,
        "events": [],
    }

    def unit(uow: UnitOfWork) -> dict[str, Any]:
        current = uow.get(order_path(order_id))
        if current is not None:
            return current
        uow.create(order_path(order_id), record)
        return record

    return store.run(unit), q


def lifecycle_quote(store: Store, *, config: ProgramConfig, order: dict[str, Any], now: datetime, promo: PromoRule | None) -> Quote:
    from shared.domain.cart import quote
    from shared.services.ledger import AccountSession

    def unit(uow: UnitOfWork) -> Quote:
        session = AccountSession(uow, order["customer_id"])
        view = lifecycle.customer_view(config, session, now, plus_reserved_for=order["order_id"])
        return quote(config, view, _lines(order), now=now, promo=promo, bonuses_requested=order["bonuses_requested"])

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


def mark_paid(store: Store, *, config: ProgramConfig, order_id: str, payment: dict[str, Any], now: datetime, promo: PromoRule | None = None) -> dict[str, Any]:
    """Payment confirmed (by the provider's API, not the notification body)."""
    order = get_order(store, order_id)
    if order["status"] == "canceled":
        raise InvalidState("the order was canceled before it was paid", order_id=order_id)
    paid = lifecycle.pay_order(store, config=config, customer_id=order["customer_id"], order_id=order_id, lines=_lines(order), bonuses=order["bonuses_requested"], now=now, promo=promo)
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
    """Payment canceled or never made: the reserved bonuses go back. A paid order is not canceled here."""
    order = get_order(store, order_id)
    if order["status"] != "awaiting_payment":
        return order  # canceled after succeeded (or twice): nothing to do
    lifecycle.release_reservation(store, customer_id=order["customer_id"], order_id=order_id, now=now)
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
