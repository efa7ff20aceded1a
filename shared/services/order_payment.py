"""Kopilka takes the payment: the YooKassa payment of an order placed at ``POST /checkout`` with ``payment``.

For storefronts on any site that let Kopilka create the payment: after the
order is placed, a payment of exactly its money to pay is created
(``capture: true``, a redirect to YooKassa's payment page, ``metadata.order_id``
= the order, an ``Idempotence-Key`` derived from the order id, so a repeated
checkout answers the same payment). The ``/yookassa`` notification then
settles the order as any other YooKassa payment
(:func:`shared.services.payments.yookassa_notification`).

With ``payments.receipt`` on, the payment carries a 54-FZ receipt: the
customer's phone (else e-mail) and one item per line for the money the
checkout agreed on it (after the bonuses and the promo discount), split in
two items when it does not divide into whole kopecks per unit, so the items
add up to the payment exactly.
"""

from __future__ import annotations

from typing import Any, Protocol

from msgspec import Struct

from shared.adapters.yookassa import NewPayment, Payment, Receipt, ReceiptItem
from shared.domain.config import ProgramConfig
from shared.domain.errors import ValidationFailed
from shared.domain.money import distribute
from shared.domain.order import Order
from shared.services import ledger, orders
from shared.services.ports import Store


class PaymentCreator(Protocol):
    def create_payment(self, payment: NewPayment) -> Payment: ...


def receipt_items(config: ProgramConfig, order: Order) -> tuple[ReceiptItem, ...]:
    """The receipt's items: each line's agreed money, in whole kopecks per unit, adding up to the money to pay."""
    if order.quoted_lines:
        money = {line.id: order.quoted_lines[line.id].money_to_pay if line.id in order.quoted_lines else 0 for line in order.lines}
    else:
        money = distribute(order.money_to_pay, {line.id: line.amount for line in order.lines})
    settings = config.payments
    items = []
    for line in order.lines:
        unit, rest = divmod(money[line.id], line.quantity)
        for quantity, kopecks in ((line.quantity - rest, unit), (rest, unit + 1)):
            if quantity and kopecks:
                items.append(
                    ReceiptItem(
                        description=line.name or line.sku or line.id,
                        quantity=quantity,
                        kopecks=kopecks,
                        vat_code=settings.receipt_vat_code,
                        payment_subject=settings.receipt_payment_subject,
                        payment_mode=settings.receipt_payment_mode,
                    )
                )
    return tuple(items)


def create_payment(store: Store, *, config: ProgramConfig, gateway: PaymentCreator, order: Order, return_url: str) -> Payment | None:
    """The order's YooKassa payment (``None``: nothing to pay, the bonuses covered it all)."""
    if order.money_to_pay <= 0:
        return None
    receipt = None
    if config.payments.receipt:
        customer = ledger.load_customer(store, order.customer_id)
        profile = customer.profile if customer is not None else None
        if profile is None or not (profile.phone or profile.email):
            raise ValidationFailed("a receipt needs the customer's phone or e-mail", message_ru="Для чека нужен телефон или e-mail покупателя.", order_id=order.order_id)
        receipt = Receipt(phone=profile.phone, email=None if profile.phone else profile.email, items=receipt_items(config, order))
    payment = NewPayment(order_id=order.order_id, kopecks=order.money_to_pay, description=f"Заказ {order.order_id}", return_url=return_url, receipt=receipt)
    return gateway.create_payment(payment)


class PaidCheckout(Struct, frozen=True):
    """An order placed and the YooKassa payment created for it (``None``: nothing to pay)."""

    order: Order
    payment: Payment | None


def place_and_create_payment(store: Store, *, config: ProgramConfig, gateway: PaymentCreator, return_url: str, **placing: Any) -> PaidCheckout:
    """Check out (:func:`orders.place_order` with ``placing``), then create the order's payment."""
    order, _ = orders.place_order(store, config=config, **placing)
    return PaidCheckout(order=order, payment=create_payment(store, config=config, gateway=gateway, order=order, return_url=return_url))
