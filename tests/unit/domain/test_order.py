"""The Order aggregate: its transition guards and the orders it returns (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.cart import CartLine
from shared.domain.errors import InvalidState
from shared.domain.order import (
    EVENTS_KEPT,
    DeliveredEvent,
    Order,
    OrderStatus,
    PaidEvent,
    PaidFigures,
    PaymentRef,
    QuotedLine,
    RefundDueEvent,
    ReturnedFigures,
    ReturnEvent,
    customer_order_id,
)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LINES = (CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=60000, quantity=2))
FIGURES = PaidFigures(spent=500, earned=130, paid=260000, shortfall=0, referrer_id=None)


def placed(**fields) -> Order:
    return Order(order_id="A1", customer_id="anna", lines=LINES, bonuses_requested=500, bonuses_reserved=500, money_to_pay=260000, status=OrderStatus.AWAITING_PAYMENT, events=(), **fields)


def paid() -> Order:
    return placed().pay(PaymentRef(provider="test", id="p1", amount=260000), key="paid:p1", figures=FIGURES, now=NOW)


def test_payment_moves_an_unpaid_order_on_once():
    order = placed()
    assert order.accepts_payment("paid:p1")
    moved = paid()
    assert (moved.status, moved.money_paid, moved.bonuses_spent, moved.points_earned, moved.paid_at) == (OrderStatus.PAID, 260000, 500, 130, NOW)
    assert moved.bonuses_shortfall is None and moved.recorded("paid:p1") is not None
    assert order.status is OrderStatus.AWAITING_PAYMENT  # the order read is left as it was
    assert not moved.accepts_payment("paid:p1")  # recorded
    assert not moved.accepts_payment("paid:p2")  # paid by another payment


def test_a_canceled_order_takes_a_late_payment_settled_or_refunded_once():
    canceled = placed().cancel("timeout", now=NOW)
    assert canceled.accepts_payment("paid:p1")  # the caller decides: settled, or refunded
    settled = canceled.pay(PaymentRef(provider="test", id="p1", amount=260000), key="paid:p1", figures=FIGURES, now=NOW)
    assert settled.status is OrderStatus.PAID and [e.type for e in settled.events] == ["canceled", "paid"]
    refused = canceled.refund_due(PaymentRef(provider="test", id="p1", amount=260000), key="paid:p1", reason="bonuses_gone", now=NOW)
    assert refused.status is OrderStatus.CANCELED and refused.payment is None
    event = refused.recorded("paid:p1")
    assert isinstance(event, RefundDueEvent) and (event.provider, event.payment_id, event.amount, event.reason) == ("test", "p1", 260000, "bonuses_gone")
    assert not refused.accepts_payment("paid:p1")  # decided once
    # an order still awaiting payment is canceled with the refund
    lapsed = placed().refund_due(PaymentRef(provider="test", id="p1", amount=260000), key="paid:p1", reason="bonuses_gone", now=NOW)
    assert lapsed.status is OrderStatus.CANCELED and [e.type for e in lapsed.events] == ["canceled", "refund_due"]
    with pytest.raises(InvalidState):
        paid().refund_due(PaymentRef(provider="test", id="p2", amount=260000), key="paid:p2", reason="bonuses_gone", now=NOW)


def test_a_shortfall_is_kept_on_the_order_and_its_event():
    short = placed().pay(PaymentRef(id="p1"), key="paid:p1", figures=PaidFigures(spent=0, earned=130, paid=260000, shortfall=500, referrer_id="maria"), now=NOW)
    event = short.recorded("paid:p1")
    assert isinstance(event, PaidEvent) and short.bonuses_shortfall == event.bonuses_shortfall == 500
    assert event.referrer_notified == "maria"


def test_delivery_needs_a_paid_order_and_is_ignored_past_delivery():
    with pytest.raises(InvalidState, match="order is awaiting_payment, cannot be delivered"):
        placed().accepts_delivery()
    order = paid()
    assert order.accepts_delivery()
    delivered = order.deliver(carrier="cdek", delivered_at=NOW, with_partner=True, now=NOW)
    assert not delivered.accepts_delivery() and delivered.reward_pending()
    noted = delivered.note_reward(210)
    event = noted.recorded("delivered")
    assert isinstance(event, DeliveredEvent) and event.referral_reward == 210 and not noted.reward_pending()
    assert noted.note_reward(210) is noted
    assert not order.deliver(carrier="cdek", delivered_at=NOW, with_partner=False, now=NOW).reward_pending()  # no partner: 0 noted at once


def test_returns_add_up_to_returned_or_not_delivered():
    with pytest.raises(InvalidState, match="order is awaiting_payment: nothing was paid to return"):
        placed().accepts_return()
    order = paid()
    part = order.return_units({"cream": 1}, key="return:R1", figures=ReturnedFigures(spent_back=100, earned_back=25, referrer_id=None), not_delivered=False, now=NOW)
    assert (part.status, part.returned_units, part.remaining_units()) == (OrderStatus.PARTIALLY_RETURNED, {"cream": 1}, {"serum": 1, "cream": 1})
    rest = part.return_units(part.remaining_units(), key="return:R2", figures=ReturnedFigures(spent_back=400, earned_back=105, referrer_id=None), not_delivered=False, now=NOW)
    assert (rest.status, rest.remaining_units()) == (OrderStatus.RETURNED, {})
    assert sum(e.spent_back for e in rest.returns()) == 500 and isinstance(rest.recorded("return:R2"), ReturnEvent)
    never = order.return_units(order.remaining_units(), key="return:x", figures=ReturnedFigures(0, 0, None), not_delivered=True, now=NOW)
    assert never.status is OrderStatus.NOT_DELIVERED
    with pytest.raises(InvalidState, match="order is not_delivered, cannot become returned"):
        never.return_units({"cream": 1}, key="return:R3", figures=ReturnedFigures(0, 0, None), not_delivered=False, now=NOW)


def test_only_the_last_events_are_kept():
    order = paid()
    for n in range(EVENTS_KEPT + 5):
        order = order.return_units({}, key=f"return:{n}", figures=ReturnedFigures(0, 0, None), not_delivered=False, now=NOW + timedelta(seconds=n))
    assert len(order.events) == EVENTS_KEPT and order.events[-1].key == f"return:{EVENTS_KEPT + 4}"


def test_the_agreement_is_the_quoted_figures_per_line():
    assert placed().agreement() is None
    quoted = {"serum": QuotedLine(bonuses=300, money_to_pay=160000, points_to_earn=80), "cream": QuotedLine(bonuses=200, money_to_pay=100000, points_to_earn=50)}
    agreed = placed(quoted_lines=quoted).agreement()
    assert agreed is not None and (agreed.bonuses, agreed.money) == ({"serum": 300, "cream": 200}, {"serum": 160000, "cream": 100000})


def test_shipping_replaces_a_tracking_code_until_the_order_moved_on():
    shipped = paid().ship(carrier="boxberry", tracking="B1", first_poll=NOW, now=NOW)
    assert shipped.ships_with("boxberry", "B1") and shipped.delivery_poll_at == NOW
    again = shipped.ship(carrier="cdek", tracking="C1", first_poll=NOW + timedelta(hours=6), now=NOW)
    assert again.delivery is not None and again.delivery.replaced is not None and (again.delivery.replaced.carrier, again.delivery.replaced.tracking) == ("boxberry", "B1")
    with pytest.raises(InvalidState, match="order is canceled: nothing left to track"):
        placed().cancel("timeout", now=NOW).ship(carrier="cdek", tracking="C1", first_poll=NOW, now=NOW)
    polled = again.polled(now=NOW, next_at=None, errors=1, last_error="HTTP 503")
    assert polled.delivery is not None and (polled.delivery.errors, polled.delivery.last_error, polled.delivery_poll_at) == (1, "HTTP 503", None)


def test_storefront_order_ids_are_issued_per_customer_and_never_collide():
    assert customer_order_id("c_anna", "A1") == "c_anna:A1" != customer_order_id("c_boris", "A1")
    assert customer_order_id("c_anna", "A1") == customer_order_id("c_anna", "A1")  # a retried checkout is a replay
    # a customer id holding ':' cannot meet another pair: references never hold one
    assert customer_order_id("a:b", "c") == "a:b:c"
    with pytest.raises(ValueError):
        customer_order_id("a", "b:c")
    with pytest.raises(ValueError):
        customer_order_id("a", "")
