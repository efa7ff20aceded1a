"""Payment notifications as use cases: what YooKassa and YooMoney tell us, applied to orders.

Money is decided by the provider, never by a notification body:

* **YooKassa** sends unsigned notifications, so the payment or refund they
  name is fetched again (:class:`PaymentGateway`) and only the fetched object
  counts. The order is the payment's ``metadata.order_id``; the storefront
  must create payments with ``metadata: {"order_id": "<order id>"}``.
* **YooMoney** notifications are authenticated by their ``sha1_hash`` (checked
  at the edge); the order is the ``label`` and ``withdraw_amount`` is what the
  customer paid.

A payment counts only when its amount equals the order's ``money_to_pay``
exactly (kopecks, RUB). Everything is idempotent through the order's event
keys (``paid:<payment id>``, ``canceled:yookassa:<payment id>``,
``return:<refund id>``) and the ledger's posting keys, so redeliveries,
concurrent deliveries and out-of-order events apply once.

An authentic notification we do not act upon (unknown order, amount
mismatch, a canceled order, a partial refund without lines …) is answered as
an :class:`Outcome` with ``ignored`` set and is logged: answering non-200
would only make the provider deliver the same facts again for a day. A
non-200 is reserved for "ask me again later" (the API could not be reached,
store contention).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from msgspec import Struct

from shared.adapters.yookassa import Payment, Refund
from shared.adapters.yoomoney import RUB as YOOMONEY_RUB
from shared.adapters.yoomoney import Notification as YooMoneyNotification
from shared.domain.config import ProgramConfig
from shared.domain.errors import InvalidState
from shared.domain.money import prorate
from shared.domain.order import UNPAID, Order, OrderStatus, PaymentRef
from shared.services import orders
from shared.services.ports import Store

log = logging.getLogger("kopilka")

RUB = "RUB"
# An order id is a document id: no slashes, not "." or "..", bounded.
_ORDER_ID = re.compile(r"[A-Za-z0-9_.:@+-]{1,128}")


class Result(StrEnum):
    """What a notification stands for (repeatable), or that it was ignored."""

    PAID = "paid"
    CANCELED = "canceled"
    RETURNED = "returned"
    IGNORED = "ignored"


class Outcome(Struct, frozen=True):
    """What a notification did: ``result`` is the state it stands for (repeatable), or ``ignored``."""

    result: Result
    order_id: str | None = None
    status: OrderStatus | None = None  # the order's status afterwards
    ignored: str | None = None  # why nothing was done


class PaymentGateway(Protocol):
    """What the use cases need of YooKassa: the truth about a payment or refund (``None``: unknown)."""

    def get_payment(self, payment_id: str) -> Payment | None: ...

    def get_refund(self, refund_id: str) -> Refund | None: ...


def _ignored(reason: str, *, order_id: str | None = None, status: OrderStatus | None = None, level: int = logging.INFO, **fields: Any) -> Outcome:
    log.log(level, "payment notification ignored", extra={"json_fields": {"reason": reason, "order_id": order_id, **fields}})
    return Outcome(Result.IGNORED, order_id=order_id, status=status, ignored=reason)


def _find_order(store: Store, order_id: Any) -> Order | None:
    if not isinstance(order_id, str) or not _ORDER_ID.fullmatch(order_id) or order_id in (".", ".."):
        return None
    return orders.find_order(store, order_id)


# --- YooKassa ----------------------------------------------------------------------

PAYMENT_EVENTS = ("payment.succeeded", "payment.canceled", "payment.waiting_for_capture")
REFUND_EVENTS = ("refund.succeeded",)


def yookassa_notification(store: Store, *, config: ProgramConfig, gateway: PaymentGateway, event: str, object_id: str, now: datetime) -> Outcome:
    """Apply a YooKassa notification by what the API says about its object now.

    The event only chooses what to fetch: a payment event syncs the order with
    the fetched payment (``succeeded``: paid, ``canceled``: canceled, otherwise
    nothing yet); ``refund.succeeded`` fetches the refund and its payment and
    returns the order, marking it paid first when the refund overtook the
    payment's own notification. Raises
    :class:`~shared.adapters.yookassa.YooKassaUnavailable` when the API cannot
    answer, before anything is written.
    """
    if event in PAYMENT_EVENTS:
        payment = gateway.get_payment(object_id)
        if payment is None:
            return _ignored("unknown_payment", payment_id=object_id)
        return _sync_payment(store, config=config, payment=payment, now=now)
    if event in REFUND_EVENTS:
        refund = gateway.get_refund(object_id)
        if refund is None:
            return _ignored("unknown_refund", refund_id=object_id)
        if refund.status != "succeeded":
            return _ignored("refund_not_succeeded", refund_id=refund.id, refund_status=refund.status)
        payment = gateway.get_payment(refund.payment_id)
        if payment is None:
            return _ignored("unknown_payment", payment_id=refund.payment_id, refund_id=refund.id, level=logging.WARNING)
        return _apply_refund(store, config=config, refund=refund, payment=payment, now=now)
    return _ignored("event_not_handled", event=event)


def _order_of(store: Store, payment: Payment) -> Order | Outcome:
    """The order named by the payment's ``metadata.order_id``, or why there is none."""
    order_id = (payment.metadata or {}).get("order_id")
    if order_id is None:
        return _ignored("no_order_id", payment_id=payment.id)
    order = _find_order(store, order_id)
    if order is None:
        return _ignored("unknown_order", order_id=str(order_id)[:128], payment_id=payment.id, level=logging.WARNING)
    return order


def _sync_payment(store: Store, *, config: ProgramConfig, payment: Payment, now: datetime) -> Outcome:
    order = _order_of(store, payment)
    if isinstance(order, Outcome):
        return order
    if payment.status == "succeeded":
        return _apply_paid(store, config=config, order=order, provider="yookassa", payment_id=payment.id, currency=payment.amount.currency, kopecks=payment.amount.kopecks, now=now)
    if payment.status == "canceled":
        # a canceled payment after a successful one (or after the order moved on) changes nothing
        updated = orders.mark_canceled(store, order_id=order.order_id, now=now, reason=f"yookassa:{payment.id}", placed=order)
        if updated.status is not OrderStatus.CANCELED:
            return _ignored("order_not_awaiting_payment", order_id=order.order_id, status=updated.status, payment_id=payment.id)
        return Outcome(Result.CANCELED, order_id=order.order_id, status=updated.status)
    return _ignored("payment_not_final", order_id=order.order_id, status=order.status, payment_id=payment.id, payment_status=payment.status)


def _apply_paid(store: Store, *, config: ProgramConfig, order: Order, provider: str, payment_id: str, currency: str, kopecks: int, now: datetime) -> Outcome:
    order_id = order.order_id
    if currency != RUB or kopecks != order.money_to_pay:
        # recorded nowhere but the log: the order belongs to shared.services.orders
        mismatch = {"provider": provider, "payment_id": payment_id, "paid": kopecks, "currency": currency, "expected": order.money_to_pay}
        return _ignored("amount_mismatch", order_id=order_id, status=order.status, level=logging.ERROR, **mismatch)
    if order.status is OrderStatus.CANCELED:
        return _ignored("order_canceled", order_id=order_id, status=OrderStatus.CANCELED, level=logging.ERROR, provider=provider, payment_id=payment_id)
    counted = order.counted_payment()
    if not order.awaiting_payment and counted not in (None, payment_id):
        # a second payment for an order already paid: money to give back by hand, bonuses unchanged
        double: dict[str, Any] = {"provider": provider, "payment_id": payment_id, "counted_payment_id": counted}
        return _ignored("paid_by_another_payment", order_id=order_id, status=order.status, level=logging.ERROR, **double)
    try:
        updated = orders.mark_paid(store, config=config, order_id=order_id, payment=PaymentRef(provider=provider, id=payment_id, amount=kopecks), now=now, placed=order)
    except InvalidState:  # canceled meanwhile
        return _ignored("order_canceled", order_id=order_id, status=OrderStatus.CANCELED, level=logging.ERROR, provider=provider, payment_id=payment_id)
    counted = updated.counted_payment()
    if counted != payment_id:
        # another payment was counted meanwhile (decided in the payment's transaction): as above
        double = {"provider": provider, "payment_id": payment_id, "counted_payment_id": counted}
        return _ignored("paid_by_another_payment", order_id=order_id, status=updated.status, level=logging.ERROR, **double)
    log.info("order paid", extra={"json_fields": {"order_id": order_id, "provider": provider, "payment_id": payment_id, "status": updated.status.value}})
    return Outcome(Result.PAID, order_id=order_id, status=updated.status)


def _remaining_paid(store: Store, order: Order) -> int:
    """Money of the order not yet returned, by the order's line book."""
    book = store.read(lambda uow: uow.line_books.get(order.customer_id, order.order_id))
    if book is None:
        return order.money_paid or order.money_to_pay
    return sum(line.paid - prorate(line.paid, line.returned, line.quantity) for line in book.lines.values())


def _refund_lines(refund: Refund, order: Order) -> tuple[dict[str, int] | None, str | None]:
    """The refund's ``metadata.lines`` ({line id: units}, JSON text or an object), checked against what is kept."""
    raw = (refund.metadata or {}).get("lines")
    if raw is None:
        return None, "partial_refund_without_lines"
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None, "invalid_refund_lines"
    if not isinstance(raw, dict) or not raw:
        return None, "invalid_refund_lines"
    kept = order.remaining_units()
    lines: dict[str, int] = {}
    for line_id, units in raw.items():
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0 or units > kept.get(line_id, 0):
            return None, "invalid_refund_lines"
        lines[line_id] = units
    return lines, None


def _apply_refund(store: Store, *, config: ProgramConfig, refund: Refund, payment: Payment, now: datetime) -> Outcome:
    order = _order_of(store, payment)
    if isinstance(order, Outcome):
        return order
    order_id = order.order_id
    if refund.amount.currency != RUB:
        return _ignored("currency", order_id=order_id, refund_id=refund.id, level=logging.ERROR, currency=refund.amount.currency)
    if order.awaiting_payment and payment.status == "succeeded":
        # the refund overtook the payment's own notification: the order is paid first
        paid = _apply_paid(store, config=config, order=order, provider="yookassa", payment_id=payment.id, currency=payment.amount.currency, kopecks=payment.amount.kopecks, now=now)
        if paid.result is not Result.PAID:
            return paid
        order = orders.get_order(store, order_id)
    if order.status in UNPAID:
        return _ignored("order_not_paid", order_id=order_id, status=order.status, level=logging.WARNING, refund_id=refund.id)
    if order.counted_payment() != payment.id:
        # a refund of a payment the order was not paid with (a duplicate payment): no bonus effect
        return _ignored("refund_of_another_payment", order_id=order_id, status=order.status, level=logging.WARNING, refund_id=refund.id, payment_id=payment.id)
    if order.recorded(f"return:{refund.id}") is not None:
        return Outcome(Result.RETURNED, order_id=order_id, status=order.status)
    returns: dict[str, int] | None = None  # everything still kept
    if refund.amount.kopecks < _remaining_paid(store, order):
        returns, problem = _refund_lines(refund, order)
        if returns is None:
            return _ignored(problem or "invalid_refund_lines", order_id=order_id, status=order.status, level=logging.WARNING, refund_id=refund.id, refunded=refund.amount.kopecks)
    updated = orders.mark_returned(store, config=config, order_id=order_id, return_id=refund.id, returns=returns, now=now, placed=order)
    log.info("order refunded", extra={"json_fields": {"order_id": order_id, "refund_id": refund.id, "returns": returns, "status": updated.status.value}})
    return Outcome(Result.RETURNED, order_id=order_id, status=updated.status)


# --- YooMoney ----------------------------------------------------------------------


def yoomoney_notification(store: Store, *, config: ProgramConfig, notification: YooMoneyNotification, now: datetime) -> Outcome:
    """Apply a verified YooMoney notification: the ``label`` order is paid once per ``operation_id``.

    Transfers protected by a code (``codepro``) or on hold (``unaccepted``)
    are not money yet and are never credited.
    """
    n = notification
    if n.protected_by_code:
        return _ignored("codepro", operation_id=n.operation_id, level=logging.WARNING)
    if n.on_hold:
        return _ignored("unaccepted", operation_id=n.operation_id, level=logging.WARNING)
    if not n.label:
        return _ignored("no_order_id", operation_id=n.operation_id)
    order = _find_order(store, n.label)
    if order is None:
        return _ignored("unknown_order", order_id=n.label[:128], operation_id=n.operation_id, level=logging.WARNING)
    currency = RUB if n.currency == YOOMONEY_RUB else n.currency
    return _apply_paid(store, config=config, order=order, provider="yoomoney", payment_id=n.operation_id, currency=currency, kopecks=n.paid_kopecks, now=now)
