"""Payment notifications as use cases: what YooKassa and YooMoney tell us, applied to orders.

Money is decided by the provider, never by a notification body:

* **YooKassa** sends unsigned notifications, so the payment or refund they
  name is fetched again (:class:`PaymentGateway`) and only the fetched object
  counts. The order is the payment's ``metadata.order_id``; the storefront
  must create payments with ``metadata: {"order_id": "<order id>"}``.
* **YooMoney** notifications are authenticated by their ``sha1_hash`` (checked
  at the edge); the order is the ``label`` and ``withdraw_amount`` is what the
  customer paid. The hash does not cover ``withdraw_amount``, so it counts only
  when the signed ``amount`` (what the wallet was credited) agrees with it:
  never more, and less by no more than YooMoney's fee can be
  (``payments.yoomoney_max_fee_percent``).

A payment counts only when its amount equals the order's ``money_to_pay``
exactly (kopecks, RUB). Everything is idempotent through the order's event
keys (``paid:<payment id>``, ``return:<refund id>``) and the ledger's posting
keys, so redeliveries, concurrent deliveries and out-of-order events apply once.

A declined payment (``payment.canceled``: insufficient funds, 3-D Secure
failed …) is not the end of the order: it stays payable, its bonuses
reserved, until the reservation times out, and the customer's next payment
settles it. A payment for an order the timeout canceled settles it when what
its checkout agreed still holds (see :func:`orders.mark_paid`); otherwise the
payment is refunded: through YooKassa's API (one refund per payment, by its
idempotence key), or, for YooMoney (no refund API), recorded on the order as
``refund_due``, logged, and flagged for a manager (``/orders/flagged``), who returns it by hand.

An authentic notification we do not act upon (unknown order, amount
mismatch, a partial refund without lines …) is answered as an
:class:`Outcome` with ``ignored`` set and is logged: answering non-200
would only make the provider deliver the same facts again for a day. A
non-200 is reserved for "ask me again later" (the API could not be reached,
store contention).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from msgspec import Struct

from shared.adapters.yookassa import Payment, Refund
from shared.adapters.yoomoney import RUB as YOOMONEY_RUB
from shared.adapters.yoomoney import Notification as YooMoneyNotification
from shared.domain.config import ProgramConfig
from shared.domain.errors import ValidationFailed
from shared.domain.ids import is_external_id
from shared.domain.line_book import plan_return
from shared.domain.money import prorate
from shared.domain.order import UNPAID, Order, OrderStatus, PaymentRef, RefundDueEvent, review_flag
from shared.services import orders
from shared.services.ports import Store

log = logging.getLogger("kopilka")

RUB = "RUB"
# An order id is a document id: no slashes, not "." or "..", bounded (a customer id and a reference).


class Result(StrEnum):
    """What a notification stands for (repeatable), or that it was ignored."""

    PAID = "paid"
    DECLINED = "declined"  # the payment was declined; the order stays payable
    REFUNDED = "refunded"  # the payment could not settle the order and was given back
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

    def create_refund(self, *, payment_id: str, kopecks: int, idempotence_key: str, description: str) -> Refund: ...

    def capture_payment(self, *, payment_id: str, kopecks: int, idempotence_key: str) -> Payment: ...

    def cancel_payment(self, *, payment_id: str, idempotence_key: str) -> Payment: ...


def _ignored(reason: str, *, order_id: str | None = None, status: OrderStatus | None = None, level: int = logging.INFO, **fields: Any) -> Outcome:
    log.log(level, "payment notification ignored", extra={"json_fields": {"reason": reason, "order_id": order_id, **fields}})
    return Outcome(Result.IGNORED, order_id=order_id, status=status, ignored=reason)


def _find_order(store: Store, order_id: Any) -> Order | None:
    if not is_external_id(order_id):
        return None
    return orders.find_order(store, order_id)


# --- YooKassa ----------------------------------------------------------------------

PAYMENT_EVENTS = ("payment.succeeded", "payment.canceled", "payment.waiting_for_capture")
REFUND_EVENTS = ("refund.succeeded",)


def yookassa_notification(store: Store, *, config: ProgramConfig, gateway: PaymentGateway, event: str, object_id: str, now: datetime) -> Outcome:
    """Apply a YooKassa notification by what the API says about its object now.

    The event only chooses what to fetch: a payment event syncs the order with
    the fetched payment (``succeeded``: paid; ``waiting_for_capture``: captured
    and paid, or released, see :func:`_capture`; ``canceled``: declined;
    ``pending``: nothing yet); ``refund.succeeded`` fetches the refund and its payment and
    returns the order, marking it paid first when the refund overtook the
    payment's own notification. Raises
    :class:`~shared.adapters.yookassa.YooKassaUnavailable` when the API cannot
    answer, before anything is written.
    """
    if event in PAYMENT_EVENTS:
        payment = gateway.get_payment(object_id)
        if payment is None:
            return _ignored("unknown_payment", payment_id=object_id)
        return _sync_payment(store, config=config, gateway=gateway, payment=payment, now=now)
    if event in REFUND_EVENTS:
        refund = gateway.get_refund(object_id)
        if refund is None:
            return _ignored("unknown_refund", refund_id=object_id)
        if refund.status != "succeeded":
            return _ignored("refund_not_succeeded", refund_id=refund.id, refund_status=refund.status)
        payment = gateway.get_payment(refund.payment_id)
        if payment is None:
            return _ignored("unknown_payment", payment_id=refund.payment_id, refund_id=refund.id, level=logging.WARNING)
        return _apply_refund(store, config=config, gateway=gateway, refund=refund, payment=payment, now=now)
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


def _sync_payment(store: Store, *, config: ProgramConfig, gateway: PaymentGateway, payment: Payment, now: datetime) -> Outcome:
    order = _order_of(store, payment)
    if isinstance(order, Outcome):
        return order
    if payment.status == "waiting_for_capture":
        captured = _capture(gateway, order, payment)
        if isinstance(captured, Outcome):
            return captured
        payment = captured
    if payment.status == "succeeded":
        refund = _yookassa_refund(gateway, payment)
        return _apply_paid(store, config=config, order=order, provider="yookassa", payment_id=payment.id, currency=payment.amount.currency, kopecks=payment.amount.kopecks, now=now, refund=refund)
    if payment.status == "canceled":
        # declined (or abandoned): the order stays payable until its reservation times out
        details = payment.cancellation_details
        fields: dict[str, Any] = {"payment_id": payment.id, "party": details.party if details else None, "decline": details.reason if details else None}
        if not order.awaiting_payment:
            return _ignored("order_not_awaiting_payment", order_id=order.order_id, status=order.status, **fields)
        log.info("payment declined; the order stays payable", extra={"json_fields": {"order_id": order.order_id, **fields}})
        return Outcome(Result.DECLINED, order_id=order.order_id, status=order.status)
    return _ignored("payment_not_final", order_id=order.order_id, status=order.status, payment_id=payment.id, payment_status=payment.status)


def _capture(gateway: PaymentGateway, order: Order, payment: Payment) -> Payment | Outcome:
    """A two-stage payment (``capture: false``) the customer confirmed: captured when it could count
    for its order (the captured payment then settles it as any other), else its hold is released.

    Captured: exactly the order's ``money_to_pay`` in RUB, for an order no other payment settled
    (the idempotence key is the order's and the payment's, so a redelivery captures nothing
    twice). Released (``POST /payments/{id}/cancel``): another amount, or an order already paid
    by another payment; the money goes back to the customer instead of waiting for a refund.
    """
    fields: dict[str, Any] = {"payment_id": payment.id, "paid": payment.amount.kopecks, "currency": payment.amount.currency, "expected": order.money_to_pay}
    reason = None
    if payment.amount.currency != RUB or payment.amount.kopecks != order.money_to_pay:
        reason = "amount_mismatch"
    elif order.status not in UNPAID and order.counted_payment() not in (None, payment.id):
        reason = "paid_by_another_payment"
        fields["counted_payment_id"] = order.counted_payment()
    if reason is not None:
        gateway.cancel_payment(payment_id=payment.id, idempotence_key=f"kopilka-release-{order.order_id}-{payment.id}")
        return _ignored(reason, order_id=order.order_id, status=order.status, level=logging.WARNING, released=True, **fields)
    captured = gateway.capture_payment(payment_id=payment.id, kopecks=payment.amount.kopecks, idempotence_key=f"kopilka-capture-{order.order_id}-{payment.id}")
    log.info("two-stage payment captured", extra={"json_fields": {"order_id": order.order_id, "payment_id": payment.id, "status": captured.status}})
    if captured.status != "succeeded":
        return _ignored("capture_not_final", order_id=order.order_id, status=order.status, payment_id=payment.id, payment_status=captured.status)
    return captured


Refunder = Callable[[Order, RefundDueEvent], None]


def _yookassa_refund(gateway: PaymentGateway, payment: Payment) -> Refunder:
    """Give a payment that could not settle its order back through the API: what is left of it,
    once (the idempotence key is the payment's)."""

    def refund(order: Order, due: RefundDueEvent) -> None:
        left = payment.amount.kopecks - (payment.refunded_amount.kopecks if payment.refunded_amount else 0)
        if left <= 0:
            return  # refunded already (by the shop, or by an earlier delivery of this notification)
        description = f"Возврат оплаты заказа {order.order_id}: заказ отменён"
        gateway.create_refund(payment_id=payment.id, kopecks=left, idempotence_key=f"kopilka-refund-{payment.id}", description=description)

    return refund


def _apply_paid(
    store: Store, *, config: ProgramConfig, order: Order, provider: str, payment_id: str, currency: str, kopecks: int, now: datetime, refund: Refunder | None = None
) -> Outcome:
    order_id = order.order_id
    if currency != RUB or kopecks != order.money_to_pay:
        # recorded nowhere but the log: the order belongs to shared.services.orders
        mismatch = {"provider": provider, "payment_id": payment_id, "paid": kopecks, "currency": currency, "expected": order.money_to_pay}
        return _ignored("amount_mismatch", order_id=order_id, status=order.status, level=logging.ERROR, **mismatch)
    counted = order.counted_payment()
    if order.status not in UNPAID and counted not in (None, payment_id):
        # a second payment for an order already paid: money to give back by hand, bonuses unchanged
        double: dict[str, Any] = {"provider": provider, "payment_id": payment_id, "counted_payment_id": counted}
        return _ignored("paid_by_another_payment", order_id=order_id, status=order.status, level=logging.ERROR, **double)
    updated = orders.mark_paid(store, config=config, order_id=order_id, payment=PaymentRef(provider=provider, id=payment_id, amount=kopecks), now=now, placed=order)
    due = updated.recorded(f"paid:{payment_id}")
    if isinstance(due, RefundDueEvent):
        return _refund_due(store, updated, due, refund, now)
    counted = updated.counted_payment()
    if counted != payment_id:
        # another payment was counted meanwhile (decided in the payment's transaction): as above
        double = {"provider": provider, "payment_id": payment_id, "counted_payment_id": counted}
        return _ignored("paid_by_another_payment", order_id=order_id, status=updated.status, level=logging.ERROR, **double)
    log.info("order paid", extra={"json_fields": {"order_id": order_id, "provider": provider, "payment_id": payment_id, "status": updated.status.value}})
    return Outcome(Result.PAID, order_id=order_id, status=updated.status)


def _refund_due(store: Store, order: Order, due: RefundDueEvent, refund: Refunder | None, now: datetime) -> Outcome:
    """A payment that could not settle its order: refunded through the provider, or (no refund API)
    left to the back office: ``refund_due`` on the order, in the log, and the order flagged for a
    manager (``refund_due``: the money goes back by hand; the first flag of an order stays)."""
    fields = {"provider": due.provider, "payment_id": due.payment_id, "amount": due.amount, "why": due.reason}
    if refund is None:
        orders.flag_for_review(store, order_id=order.order_id, review=review_flag("refund_due", at=now, payment_id=due.payment_id, provider=due.provider, amount=due.amount, why=due.reason), now=now)
        return _ignored("refund_due", order_id=order.order_id, status=order.status, level=logging.ERROR, **fields)
    refund(order, due)  # YooKassaUnavailable: answered 503, and the redelivery refunds (once)
    log.warning("payment refunded: the order could not be settled with it", extra={"json_fields": {"order_id": order.order_id, **fields}})
    return Outcome(Result.REFUNDED, order_id=order.order_id, status=order.status)


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


class _RefundUnits(Struct, frozen=True):
    """What a refund returns: ``units`` (``None``: everything still kept), or why nothing (``problem``)."""

    units: dict[str, int] | None = None
    problem: str | None = None
    expected: int | None = None  # the money paid for the units the refund names


def _refund_units(store: Store, config: ProgramConfig, order: Order, refund: Refund, payment: Payment) -> _RefundUnits:
    """Which units a refund returns, by the order's line book.

    A refund of at least the money not yet returned, or one after which the
    whole payment is refunded, returns everything still kept. A smaller one
    returns the units its ``metadata.lines`` names, only when its amount is
    the money paid for those units (the book's prorated figures) within
    ``payments.refund_lines_tolerance``: lines the amount does not pay for
    would give back spent bonuses for money the shop kept.
    """
    book = store.read(lambda uow: uow.line_books.get(order.customer_id, order.order_id))
    amount = refund.amount.kopecks
    remaining = (order.money_paid or order.money_to_pay) if book is None else sum(line.paid - prorate(line.paid, line.returned, line.quantity) for line in book.lines.values())
    refunded = payment.refunded_amount.kopecks if payment.refunded_amount else 0
    if amount >= remaining or refunded >= payment.amount.kopecks:
        return _RefundUnits()
    lines, problem = _refund_lines(refund, order)
    if lines is None or book is None:
        return _RefundUnits(problem=problem or "invalid_refund_lines")
    try:
        expected = plan_return(book, lines).paid_back
    except ValidationFailed:  # the book keeps fewer units than the order says
        return _RefundUnits(problem="invalid_refund_lines")
    if abs(amount - expected) > config.payments.refund_lines_tolerance:
        return _RefundUnits(problem="refund_lines_amount_mismatch", expected=expected)
    return _RefundUnits(units=lines)


def _apply_refund(store: Store, *, config: ProgramConfig, gateway: PaymentGateway, refund: Refund, payment: Payment, now: datetime) -> Outcome:
    order = _order_of(store, payment)
    if isinstance(order, Outcome):
        return order
    order_id = order.order_id
    if refund.amount.currency != RUB:
        return _ignored("currency", order_id=order_id, refund_id=refund.id, level=logging.ERROR, currency=refund.amount.currency)
    decided = order.recorded(f"paid:{payment.id}")
    if isinstance(decided, RefundDueEvent):
        # the refund of a payment that never settled the order (ours, or the shop's): nothing to give back
        return _ignored("payment_not_settled", order_id=order_id, status=order.status, refund_id=refund.id, payment_id=payment.id)
    if order.status in UNPAID and decided is None and payment.status == "succeeded":
        # the refund overtook the payment's own notification: the payment is decided first
        refunder = _yookassa_refund(gateway, payment)
        paid = _apply_paid(store, config=config, order=order, provider="yookassa", payment_id=payment.id, currency=payment.amount.currency, kopecks=payment.amount.kopecks, now=now, refund=refunder)
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
    plan = _refund_units(store, config, order, refund, payment)
    if plan.problem is not None:
        return _ignored(plan.problem, order_id=order_id, status=order.status, level=logging.WARNING, refund_id=refund.id, refunded=refund.amount.kopecks, expected=plan.expected)
    returns = plan.units
    updated = orders.mark_returned(store, config=config, order_id=order_id, return_id=refund.id, returns=returns, now=now, placed=order)
    log.info("order refunded", extra={"json_fields": {"order_id": order_id, "refund_id": refund.id, "returns": returns, "status": updated.status.value}})
    return Outcome(Result.RETURNED, order_id=order_id, status=updated.status)


# --- YooMoney ----------------------------------------------------------------------


def _fee_plausible(config: ProgramConfig, *, paid: int, credited: int) -> bool:
    """Whether the signed credited ``amount`` is what the unsigned ``withdraw_amount`` leaves after
    YooMoney's fee: never more, and less by at most ``payments.yoomoney_max_fee_percent``."""
    return 0 < credited <= paid and (paid - credited) * 100 <= paid * config.payments.yoomoney_max_fee_percent


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
    if not _fee_plausible(config, paid=n.paid_kopecks, credited=n.credited_kopecks):
        # withdraw_amount is not signed: it counts only when the signed amount agrees with it
        figures = {"operation_id": n.operation_id, "withdraw_amount": n.paid_kopecks, "amount": n.credited_kopecks}
        return _ignored("unsigned_amount_mismatch", order_id=order.order_id, status=order.status, level=logging.ERROR, **figures)
    currency = RUB if n.currency == YOOMONEY_RUB else n.currency
    return _apply_paid(store, config=config, order=order, provider="yoomoney", payment_id=n.operation_id, currency=currency, kopecks=n.paid_kopecks, now=now)
