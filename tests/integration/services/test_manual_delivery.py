"""Bonuses that activate without a carrier: a manager's "delivered" and the fallback per shipping method.

A purchase's accrual is held until delivery. Orders no carrier reports on
(pickup, the shop's own courier, an unsupported carrier) are delivered by a
manager (audited, once) or, for a shipping method with a fallback, by the
sweep a configured number of days after payment.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.adapters.carriers import CarrierStatus
from shared.domain.cart import CartLine
from shared.domain.config import ProgramConfig
from shared.domain.errors import Forbidden, InvalidState, ValidationFailed
from shared.domain.order import OrderStatus
from shared.edge.admin_auth import Admin
from shared.presets import preset_data
from shared.services import delivery, orders, registration, sweeps
from shared.services.admin import orders as admin_orders
from shared.services.ledger import audit_account, balances
from tests.reliability.audit import assert_ledgers_sound

CART = [CartLine(id="serum", price=100000, quantity=1)]  # 1 000 ₽: 50 points on the first level
POINTS = 50
MANAGER = Admin("olga@shop.example", ("manager",))


@pytest.fixture
def config() -> ProgramConfig:
    """Biomiq, with pickup orders activating 10 days after payment and the own courier's 3 days after it."""
    data = preset_data("biomiq")
    data["shipping"] = {"fallback_days": {"pickup": 10, "courier": 3}}
    return ProgramConfig.model_validate(data)


def paid(store, config, now, *, order_id="A1", method: str | None = "pickup", customer="anna"):
    if store.read(lambda uow: uow.accounts.get(customer)) is None:
        registration.register_customer(store, config=config, customer_id=customer, now=now)  # 500 welcome bonuses, available
    placed, _ = orders.place_order(store, config=config, customer_id=customer, order_id=order_id, lines=CART, bonuses=0, now=now, shipping_method=method)
    return orders.mark_paid(store, config=config, order_id=order_id, payment=orders.PaymentRef(provider="test", id=f"p-{order_id}", amount=placed.money_to_pay), now=now)


def pending(store, at, customer="anna") -> int:
    return balances(store, customer, at).pending


def sweep(store, config, at) -> dict[str, int]:
    return sweeps.run_sweep(store, config=config, now=at, batch=10, max_pages=2)


# --- the fallback per shipping method ------------------------------------------------------------


def test_a_pickup_order_activates_its_bonuses_the_configured_days_after_payment(store, config, now):
    order = paid(store, config, now)
    assert (order.points_earned, pending(store, now)) == (POINTS, POINTS)
    due = now + timedelta(days=10)
    assert sweep(store, config, due - timedelta(minutes=1))["fallback_delivered"] == 0
    assert pending(store, due - timedelta(minutes=1)) == POINTS

    assert sweep(store, config, due + timedelta(minutes=5))["fallback_delivered"] == 1
    delivered = orders.get_order(store, "A1")
    assert (delivered.status, delivered.delivered_at, delivered.events[-1].carrier) == (OrderStatus.DELIVERED, due, "fallback:pickup")
    b = balances(store, "anna", due)
    assert (b.pending, b.available) == (0, 500 + POINTS)  # active from the tenth day after payment
    assert sweep(store, config, due + timedelta(hours=1))["fallback_delivered"] == 0  # once
    assert audit_account(store, "anna") == []
    assert_ledgers_sound(store, now=due)


def test_a_method_without_a_fallback_waits_for_a_carrier_or_a_manager(store, config, now):
    paid(store, config, now, method="post")
    paid(store, config, now, order_id="A2", method=None)
    later = now + timedelta(days=60)
    assert sweep(store, config, later)["fallback_delivered"] == 0
    assert {orders.get_order(store, o).status for o in ("A1", "A2")} == {OrderStatus.PAID}
    assert pending(store, later) == 2 * POINTS


def test_a_carrier_status_before_the_fallback_decides(store, config, now):
    paid(store, config, now, method="courier")
    paid(store, config, now, order_id="A2", method="courier")
    carrier_at = now + timedelta(days=1)
    delivered = CarrierStatus(state="delivered", at=carrier_at, detail="Вручено")
    assert delivery.apply_status(store, config=config, order_id="A1", carrier="boxberry", status=delivered, now=carrier_at).outcome == "applied"
    orders.mark_returned(store, config=config, order_id="A2", return_id="R1", returns=None, now=carrier_at)
    after = now + timedelta(days=4)
    assert sweep(store, config, after)["fallback_delivered"] == 0
    assert orders.get_order(store, "A1").events[-1].carrier == "boxberry"
    assert orders.get_order(store, "A2").status is OrderStatus.RETURNED
    assert pending(store, after) == POINTS  # A1's hold runs from the carrier's delivery, A2 earned nothing
    assert pending(store, carrier_at + timedelta(days=config.hold_days)) == 0
    assert_ledgers_sound(store, now=after)


# --- a manager's "delivered" ------------------------------------------------------------------------


def test_a_manager_marks_an_order_delivered_once_and_it_is_audited(store, config, now):
    paid(store, config, now, method="post")
    at = now + timedelta(days=2)
    done = admin_orders.mark_delivered(store, MANAGER, config=config, order_id="A1", reason="Выдан в пункте самовывоза", now=at)
    assert (done.applied, done.status, done.delivered_at) == (True, "delivered", at)
    again = admin_orders.mark_delivered(store, MANAGER, config=config, order_id="A1", reason="Выдан в пункте самовывоза", now=at + timedelta(hours=1))
    assert (again.applied, again.status, again.delivered_at) == (False, "delivered", at)
    assert orders.get_order(store, "A1").events[-1].carrier == "manager"
    records = store.read(lambda uow: uow.admin_audit.newest(limit=10))
    assert [(r.action, r.target, r.actor) for r in records] == [("order.deliver", "order:A1", "olga@shop.example")]
    assert pending(store, at + timedelta(days=config.hold_days) - timedelta(seconds=1)) == POINTS
    assert pending(store, at + timedelta(days=config.hold_days)) == 0  # the usual hold, from the manager's delivery
    assert_ledgers_sound(store, now=at)


def test_a_manager_cannot_deliver_an_unpaid_order_nor_a_time_to_come(store, config, now):
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    orders.place_order(store, config=config, customer_id="anna", order_id="A1", lines=CART, bonuses=0, now=now)
    with pytest.raises(InvalidState):
        admin_orders.mark_delivered(store, MANAGER, config=config, order_id="A1", reason="по звонку", now=now)
    paid(store, config, now, order_id="A2", method=None)
    with pytest.raises(ValidationFailed):
        admin_orders.mark_delivered(store, MANAGER, config=config, order_id="A2", reason="по звонку", delivered_at=now + timedelta(days=1), now=now)
    with pytest.raises(ValidationFailed):
        admin_orders.mark_delivered(store, MANAGER, config=config, order_id="A2", reason="по звонку", delivered_at=now - timedelta(days=1), now=now)  # before payment
    with pytest.raises(Forbidden):
        admin_orders.mark_delivered(store, Admin("mark@shop.example", ("marketer",)), config=config, order_id="A2", reason="по звонку", now=now)
    assert orders.get_order(store, "A2").status is OrderStatus.PAID
    assert store.read(lambda uow: uow.admin_audit.newest(limit=10)) == []
