"""The order path of a Tilda shop without a shop backend: placed by the kit, paid in Tilda, settled by Tilda's webhook.

1. **Before the payment** the storefront kit calls ``POST /checkout/tilda``
   (:func:`place`): the order is placed as any checkout (bonuses reserved, the
   promo code redeemed; ``source: tilda``), and the answer carries the single
   discount the kit applies in Tilda's cart (bonuses spent + the promo
   discount, kopecks) and a signed order token
   (:mod:`shared.platform.order_tokens`) the kit puts in the form's hidden
   field ``kopilka_order``.
2. **The customer pays** through Tilda's own YooKassa connection, for Tilda's
   cart total: the money to pay plus Tilda's delivery price.
3. **After the payment** Tilda calls its webhook (:func:`settle`, the shop
   chooses "send data only after successful payment"). Only the payment
   fetched from YooKassa by ``payment.systranid`` counts: succeeded (a
   two-stage one of the right amount is captured), in RUB, for exactly the
   order's money to pay plus the form's ``delivery_price``. The form's products
   (SKU or name, quantity) and Tilda's discount must be what the token binds.
   The order is settled through :func:`orders.mark_paid` (the same settlement
   as a YooKassa notification) on the lines stored at checkout, never the
   form's, and a claim on the payment id (``payment_claims``) commits in the
   settling transaction, so one payment settles at most one order.

Anything else settles nothing: the order is flagged for a manager
(:func:`orders.flag_for_review`: an unpaid order's reservation and promo use
are given back, nothing is spent or earned), logged, and answered ``flagged``
with the machine-readable reason and its Russian text — as a 200, because
Tilda must not repeat a verdict. A YooKassa outage raises
:class:`~shared.adapters.yookassa.YooKassaUnavailable` (a 503): Tilda tries
again. A webhook repeated after its verdict answers the same and changes
nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from msgspec import Struct

from shared.adapters.tilda import TildaOrder
from shared.adapters.yookassa import Payment
from shared.domain.cart import CartLine
from shared.domain.config import ProgramConfig
from shared.domain.errors import IdempotencyConflict
from shared.domain.money import kopecks_of
from shared.domain.order import REVIEW_REASONS_RU, Order, OrderStatus, PaymentClaim, PaymentRef, RefundDueEvent, review_flag
from shared.platform import order_tokens
from shared.platform.order_tokens import OrderClaims, TokenLine
from shared.services import orders
from shared.services.payments import PaymentGateway
from shared.services.ports import Store, UnitOfWork

log = logging.getLogger("kopilka")

PROVIDER = "yookassa"
TILDA_YOOKASSA = "yakassa"  # Tilda's code of its YooKassa connection (payment.sys)
RUB = "RUB"


class TildaCheckout(Struct, frozen=True):
    """An order placed for Tilda's cart: the discount the kit applies there and the form's order token."""

    order: Order
    order_token: str
    discount: int
    discount_roubles: str
    money_to_pay: int
    expires_at: datetime


class Result(StrEnum):
    PAID = "paid"
    FLAGGED = "flagged"
    IGNORED = "ignored"


class TildaOutcome(Struct, frozen=True):
    """What the webhook did: settled the order, flagged it (why), or ignored the submission (why)."""

    result: Result
    order_id: str | None = None
    status: OrderStatus | None = None
    reason: str | None = None
    message_ru: str | None = None


def roubles(kopecks: int) -> str:
    """Kopecks as the rouble text Tilda's cart takes ("1234.50")."""
    return f"{kopecks // 100}.{kopecks % 100:02d}"


def line_keys(line: CartLine) -> tuple[str, ...]:
    """The identifiers a form product may name a cart line by: the catalog product, the SKU, the line id."""
    keys = [getattr(line, "product", None), line.sku, line.id]
    return tuple(dict.fromkeys(key for key in keys if key))


def kit_discount(order: Order) -> int:
    """The single discount the kit applies in Tilda's cart: the bonuses spent (as money) plus the promo discount."""
    return kopecks_of(order.reserved) + order.discount


# --- before the payment: POST /checkout/tilda -------------------------------------------------


def release(store: Store, *, customer_id: str, order_id: str, now: datetime) -> Order | None:
    """Cancel the customer's unpaid Tilda order ``order_id`` (its discount left the cart): its reserved
    bonuses and promo use go back. A paid order, another customer's, a storefront checkout's or an unknown
    id is left alone; the order as it now is (``None``: no such order of this customer's)."""
    order = orders.find_order(store, order_id)
    if order is None or order.customer_id != customer_id:
        return None
    if order.source != "tilda" or not order.awaiting_payment:
        return order
    return orders.mark_canceled(store, order_id=order_id, now=now, reason="replaced", placed=order)


def place(
    store: Store,
    *,
    config: ProgramConfig,
    secret: str,
    token_minutes: int,
    customer_id: str,
    session_epoch: int | None,
    order_id: str,
    lines: list[CartLine],
    bonuses: int,
    now: datetime,
    promo_code: str | None = None,
    quote_fingerprint: str | None = None,
    replaces: str | None = None,
) -> TildaCheckout:
    """Place the order of Tilda's cart (idempotent by order id: the same request answers the same token).

    ``replaces``: the order the kit placed before for the same cart (its discount is
    gone from the cart: the cart changed, or the customer chose another amount). If it is
    still this customer's unpaid Tilda order it is canceled first, so its reservation and
    promo use go back before the new order reserves; a paid one is left as it is.
    """
    if replaces is not None and replaces != order_id:
        release(store, customer_id=customer_id, order_id=replaces, now=now)
    order, _ = orders.place_order(
        store,
        config=config,
        customer_id=customer_id,
        session_epoch=session_epoch,
        order_id=order_id,
        lines=lines,
        bonuses=bonuses,
        promo_code=promo_code,
        quote_fingerprint=quote_fingerprint,
        now=now,
        source="tilda",
    )
    if order.source != "tilda":
        raise IdempotencyConflict("the order id was used for a storefront checkout", order_id=order.order_id)
    if order.status is OrderStatus.CANCELED:
        raise IdempotencyConflict("the order with this id was canceled: place the cart under a new id", order_id=order.order_id)
    issued = order.created_at or now  # the token of a replay is the first one: the same claims, the same expiry
    claims = OrderClaims(
        order_id=order.order_id,
        customer_id=order.customer_id,
        lines=tuple(TokenLine(keys=line_keys(line), quantity=line.quantity) for line in order.lines),
        discount=kit_discount(order),
        money_to_pay=order.money_to_pay,
        expires_at=order_tokens.expiry(issued, token_minutes),
    )
    token = order_tokens.issue(secret, claims, now=issued)
    return TildaCheckout(order=order, order_token=token, discount=claims.discount, discount_roubles=roubles(claims.discount), money_to_pay=order.money_to_pay, expires_at=claims.expires_at)


# --- after the payment: Tilda's webhook --------------------------------------------------------


class _PaymentClaimed(Exception):
    """The payment was claimed by another order meanwhile (raised in the settling transaction: rolled back)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(order_id)
        self.order_id = order_id


def _ignored(reason: str, **fields: Any) -> TildaOutcome:
    log.warning("tilda webhook ignored", extra={"json_fields": {"reason": reason, **fields}})
    return TildaOutcome(Result.IGNORED, reason=reason)


def _unmatched(reason: str, **fields: Any) -> TildaOutcome:
    """A verdict with no order of ours to flag (a forged token): logged, nothing written."""
    log.error("tilda payment matches no order", extra={"json_fields": {"reason": reason, **fields}})
    return TildaOutcome(Result.FLAGGED, reason=reason, message_ru=REVIEW_REASONS_RU[reason])


def _flag(store: Store, order: Order, reason: str, *, now: datetime, payment_id: str | None, **details: Any) -> TildaOutcome:
    flagged = orders.flag_for_review(store, order_id=order.order_id, review=review_flag(reason, at=now, payment_id=payment_id, **details), now=now)
    review = flagged.review
    assert review is not None
    fields = {"order_id": order.order_id, "customer_id": order.customer_id, "reason": review.reason, "payment_id": payment_id, "status": flagged.status.value, **details}
    log.warning("order flagged for a manager", extra={"json_fields": fields})
    return _verdict(flagged)


def _verdict(order: Order, payment_id: str | None = None) -> TildaOutcome:
    """The answer for an order already decided (a repeated webhook answers the same): paid by this payment, or flagged."""
    if order.review is not None and (payment_id is None or order.counted_payment() != payment_id):
        return TildaOutcome(Result.FLAGGED, order_id=order.order_id, status=order.status, reason=order.review.reason, message_ru=order.review.message_ru)
    return TildaOutcome(Result.PAID, order_id=order.order_id, status=order.status)


def _cart_problem(form: TildaOrder, claims: OrderClaims, order: Order) -> dict[str, Any] | None:
    """Why the form's products are not the token's lines (``None``: they are): each line once, by SKU or name, same quantity."""
    if len(claims.lines) != len(order.lines):
        return {"why": "token_lines"}
    unmatched = list(zip(claims.lines, order.lines, strict=True))
    for product in form.lines:
        for at, (bound, stored) in enumerate(unmatched):
            named = product.sku in bound.keys if product.sku else (bool(stored.name) and (product.name == stored.name or product.name.startswith(stored.name + " (")))
            if named and product.quantity == bound.quantity:
                del unmatched[at]
                break
        else:
            return {"why": "product_not_in_order", "product": product.sku or product.name[:60], "quantity": product.quantity}
    if unmatched:
        return {"why": "product_missing", "product": unmatched[0][0].keys[0] if unmatched[0][0].keys else "", "quantity": unmatched[0][0].quantity}
    return None


def _payment(gateway: PaymentGateway, order: Order, payment: Payment, expected: int) -> Payment | str:
    """The fetched payment, captured when it is a hold of exactly the expected amount; else why it cannot settle."""
    if payment.amount.currency != RUB or payment.amount.kopecks != expected:
        return "amount_mismatch"
    if payment.status == "waiting_for_capture":
        payment = gateway.capture_payment(payment_id=payment.id, kopecks=expected, idempotence_key=f"kopilka-capture-{order.order_id}-{payment.id}")
        log.info("two-stage payment captured", extra={"json_fields": {"order_id": order.order_id, "payment_id": payment.id, "status": payment.status}})
    if payment.status != "succeeded":
        return "payment_not_succeeded"
    return payment


def settle(store: Store, *, config: ProgramConfig, gateway_of: Callable[[], PaymentGateway], form: TildaOrder, secret: str, now: datetime) -> TildaOutcome:
    """Settle the order Tilda's post-payment webhook names, or flag it (see the module's docstring).
    ``gateway_of`` builds the YooKassa client when a payment is to be fetched."""
    if form.kopilka_order is None:
        if form.sent_customer_token:  # an old form: a customer token in a form field is never accepted
            return _ignored("customer_token_in_form", tilda_order=form.order_id)
        return _ignored("anonymous", tilda_order=form.order_id)
    expired = False
    try:
        claims = order_tokens.read(secret, form.kopilka_order, now=now)
    except order_tokens.ExpiredOrderToken as exc:
        claims, expired = exc.claims, True
    except order_tokens.ForgedOrderToken as exc:
        return _unmatched("order_token_invalid", tilda_order=form.order_id, payment_id=form.systranid, why=str(exc)[:120])
    order = orders.find_order(store, claims.order_id)
    if order is None or order.customer_id != claims.customer_id or order.source != "tilda":
        return _unmatched("order_token_invalid", order_id=claims.order_id, tilda_order=form.order_id, payment_id=form.systranid, why="no such tilda order")
    payment_id = form.systranid if form.systranid not in (None, "0") else None
    if order.review is not None or (payment_id is not None and order.counted_payment() == payment_id):
        return _verdict(order, payment_id)  # decided before: Tilda repeats its webhook
    flag: dict[str, Any] = {"now": now, "payment_id": payment_id}
    if expired:
        return _flag(store, order, "order_token_expired", **flag, expired_at=claims.expires_at.isoformat())
    if claims.money_to_pay != order.money_to_pay or claims.discount != kit_discount(order):
        return _flag(store, order, "order_token_invalid", **flag, why="token_figures")
    problem = _cart_problem(form, claims, order)
    if problem is not None:
        return _flag(store, order, "cart_mismatch", **flag, **problem)
    if (form.discount or 0) != claims.discount:
        return _flag(store, order, "discount_mismatch", **flag, reported=form.discount, expected=claims.discount)
    if payment_id is None or (form.payment_system or "").lower() != TILDA_YOOKASSA:
        return _flag(store, order, "payment_missing", **flag, payment_system=form.payment_system)
    gateway = gateway_of()
    fetched = gateway.get_payment(payment_id)  # YooKassaUnavailable: a 503, and Tilda tries again
    if fetched is None:
        return _flag(store, order, "payment_not_found", **flag)
    claim = store.read(lambda uow: uow.payment_claims.get(PROVIDER, fetched.id))
    if claim is not None and claim.order_id != order.order_id:
        return _flag(store, order, "payment_used", **flag, claimed_by=claim.order_id)
    expected = claims.money_to_pay + (form.delivery_price or 0)
    payment = _payment(gateway, order, fetched, expected)
    if isinstance(payment, str):
        return _flag(store, order, payment, **flag, paid=fetched.amount.kopecks, currency=fetched.amount.currency, expected=expected, payment_status=fetched.status)
    return _settle(store, config=config, order=order, payment=payment, now=now)


def _settle(store: Store, *, config: ProgramConfig, order: Order, payment: Payment, now: datetime) -> TildaOutcome:
    def claim(uow: UnitOfWork, paid: Order) -> None:
        existing = uow.payment_claims.get(PROVIDER, payment.id)
        if existing is not None and existing.order_id != paid.order_id:
            raise _PaymentClaimed(existing.order_id)
        if existing is None:
            uow.payment_claims.create(PaymentClaim(provider=PROVIDER, payment_id=payment.id, order_id=paid.order_id, at=now))

    flag: dict[str, Any] = {"now": now, "payment_id": payment.id}
    try:
        ref = PaymentRef(provider=PROVIDER, id=payment.id, amount=payment.amount.kopecks)
        updated = orders.mark_paid(store, config=config, order_id=order.order_id, payment=ref, now=now, placed=order, then=claim)
    except _PaymentClaimed as exc:
        return _flag(store, order, "payment_used", **flag, claimed_by=exc.order_id)
    decided = updated.recorded(f"paid:{payment.id}")
    if isinstance(decided, RefundDueEvent):  # what the checkout agreed no longer holds: the money goes back, by hand
        return _flag(store, updated, "agreement_lapsed", **flag, why=decided.reason)
    if updated.counted_payment() != payment.id:
        return _flag(store, updated, "paid_by_another_payment", **flag, counted_payment_id=updated.counted_payment())
    log.info("order paid", extra={"json_fields": {"order_id": order.order_id, "provider": PROVIDER, "payment_id": payment.id, "status": updated.status.value, "source": "tilda"}})
    return _verdict(updated, payment.id)
