"""Call-centre orders (an order taken by phone and placed for the customer like a checkout),
a manager's "delivered" (an order no carrier reports on: pickup, the shop's own courier), and the
orders a payment could not settle, flagged for a manager."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from shared.api.admin import CallCentreOrderResponse, FlaggedOrdersResponse, FlaggedOrderView, ManualDeliveryResponse
from shared.domain.cart import CartLine
from shared.domain.config import ProgramConfig
from shared.domain.errors import InvalidState, NotFound, ValidationFailed
from shared.domain.ids import external_id
from shared.domain.ledger import require_utc
from shared.edge.admin_auth import Admin
from shared.services import ledger
from shared.services.admin import audit as _audit
from shared.services.admin.common import CustomerBlocked, valid_customer_id
from shared.services.ports import Store, UnitOfWork

if TYPE_CHECKING:
    from shared.domain.order import Order

def valid_order_id(order_id: str) -> str:
    """An order id usable as a document id (a storefront checkout's is "<customer id>:<reference>",
    Tilda's "tilda-<n>"), else :class:`ValidationFailed`."""
    return external_id(order_id, field="order_id", message_ru="Некорректный номер заказа.")


def flagged_orders(store: Store, admin: Admin, *, cursor: str | None = None, limit: int = 50) -> FlaggedOrdersResponse:
    """Orders flagged for a manager, oldest first; the cursor is the last order id of the previous page."""
    admin.require("order.review")
    after = None
    if cursor is not None:
        last = store.read(lambda uow: uow.orders.get(valid_order_id(cursor)))
        if last is None or last.flagged_at is None:
            raise ValidationFailed("the cursor is not a flagged order", field="cursor", message_ru="Некорректный курсор.")
        after = (last.flagged_at, last.order_id)
    rows = store.read(lambda uow: uow.orders.flagged(limit=limit, after=after))
    ids = [order_id for order_id, _ in rows]
    found = [order for order in store.read(lambda uow: [uow.orders.get(order_id) for order_id in ids]) if order is not None and order.review is not None]
    views = []
    for order in found:
        review = order.review
        assert review is not None
        views.append(
            FlaggedOrderView(
                order_id=order.order_id,
                customer_id=order.customer_id,
                status=order.status.value,
                source=order.source,
                money_to_pay=order.money_to_pay,
                bonuses_reserved=order.bonuses_reserved,
                reason=review.reason,
                message_ru=review.message_ru,
                payment_id=review.payment_id,
                details=review.details,
                flagged_at=review.at,
            )
        )
    return FlaggedOrdersResponse(orders=views, next_cursor=rows[-1][0] if len(rows) == limit else None)


def call_centre_order(
    store: Store,
    admin: Admin,
    *,
    config: ProgramConfig,
    customer_id: str,
    order_id: str,
    lines: list[CartLine],
    bonuses: int,
    now: datetime,
    promo_code: str | None = None,
) -> CallCentreOrderResponse:
    """An order taken by phone, placed for the customer (``source: call_centre``) like a checkout."""
    admin.require("order.call_centre")
    valid_customer_id(customer_id)
    customer = ledger.load_customer(store, customer_id)
    if customer is None:
        raise NotFound("unknown customer", customer_id=customer_id, message_ru="Покупатель не найден.")
    if customer.blocking.is_blocked:
        raise CustomerBlocked("the customer is blocked", customer_id=customer_id)

    def record(uow: UnitOfWork, order: Order) -> None:  # only when placed: a replay is no new action
        params = {"customer_id": customer_id, "lines": len(lines), "bonuses": bonuses, "promo_code": promo_code}
        result = {"status": order.status.value, "bonuses_reserved": order.bonuses_reserved, "money_to_pay": order.money_to_pay}
        _audit.audit_in(uow, admin, action="order.call_centre", target=f"order:{order_id}", params=params, result=result, now=now)

    from shared.services import orders  # the order path (the Order model's schema) loads with the first call-centre order, not at start

    order, _ = orders.place_order(store, config=config, customer_id=customer_id, order_id=order_id, lines=lines, bonuses=bonuses, now=now, promo_code=promo_code, source="call_centre", then=record)
    return CallCentreOrderResponse.model_validate(order, from_attributes=True)


def mark_delivered(store: Store, admin: Admin, *, config: ProgramConfig, order_id: str, reason: str, now: datetime, delivered_at: datetime | None = None) -> ManualDeliveryResponse:
    """A manager's "delivered" for a paid order no carrier reports on: its accrual and the partner's
    reward start their hold at ``delivered_at`` (default ``now``), as on a carrier's delivery.

    Once: the audit record (``order.deliver``) commits with the delivery, and an order delivered
    before (by anyone) or moved on is answered as it is (``applied`` false, nothing audited). An
    unpaid order is :class:`InvalidState`; a moment in the future or before the payment is
    :class:`ValidationFailed`; nothing is written then.
    """
    from shared.domain.order import UNPAID, OrderStatus  # the order path loads with the first delivery, not at start
    from shared.services import orders

    admin.require("order.deliver")
    require_utc(now)
    at = now if delivered_at is None else delivered_at
    require_utc(at, "delivered_at")
    order = orders.find_order(store, order_id)
    if order is None:
        raise NotFound("unknown order", order_id=order_id, message_ru="Заказ не найден.")
    if order.status in UNPAID:
        raise InvalidState(f"order is {order.status}: only a paid order is delivered", order_id=order_id, status=order.status.value, message_ru="Заказ не оплачен: отметить его доставленным нельзя.")
    if at > now or (order.paid_at is not None and at < order.paid_at):
        raise ValidationFailed("delivered_at must lie between the payment and now", field="delivered_at", message_ru="Дата вручения должна быть не раньше оплаты и не позже текущего момента.")
    applied = False

    def record(uow: UnitOfWork, delivered: Order) -> None:  # only when this call delivered it
        nonlocal applied
        applied = True
        params = {"reason": reason, "delivered_at": at.isoformat()}
        _audit.audit_in(uow, admin, action="order.deliver", target=f"order:{order_id}", params=params, result={"status": delivered.status.value}, now=now)

    if order.status is OrderStatus.PAID:
        order = orders.mark_delivered(store, config=config, order_id=order_id, delivered_at=at, now=now, carrier="manager", placed=order, then=record)
    return ManualDeliveryResponse(order_id=order_id, status=order.status.value, delivered_at=order.delivered_at, applied=applied)
