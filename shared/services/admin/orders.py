"""Call-centre orders: an order taken by phone and placed for the customer like a checkout."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from shared.api.admin import CallCentreOrderResponse
from shared.domain.cart import CartLine
from shared.domain.config import ProgramConfig
from shared.domain.errors import NotFound
from shared.edge.admin_auth import Admin
from shared.services import ledger
from shared.services.admin import audit as _audit
from shared.services.admin.common import CustomerBlocked, valid_customer_id
from shared.services.ports import Store, UnitOfWork

if TYPE_CHECKING:
    from shared.domain.order import Order


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
