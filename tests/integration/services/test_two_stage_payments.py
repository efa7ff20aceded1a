"""Two-stage YooKassa payments (``capture: false``): the engine captures what settles its order, and
releases the hold of what it would not count. On both stores, with YooKassa faked in memory."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from shared.domain.cart import CartLine
from shared.domain.order import OrderStatus
from shared.services import orders, payments, registration
from shared.services.ledger import balances
from tests.reliability.audit import assert_ledgers_sound

CART = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=60000, quantity=2)]  # 3 100 ₽
TO_PAY = 260000  # 3 100 ₽ less 500 bonuses
EARNED = 130


def place(store, config, now, order_id="A1"):
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    placed, _ = orders.place_order(store, config=config, customer_id="anna", order_id=order_id, lines=CART, bonuses=500, now=now)
    return placed


def held_payment(fake, amount=TO_PAY, order_id="A1"):
    """A payment created with ``capture: false`` that the customer confirmed: the money is only held."""
    return fake.authorize(fake.create_payment(amount=amount, order_id=order_id, capture=False)["id"])


def notify(store, config, gateway, event, object_id, at):
    return payments.yookassa_notification(store, config=config, gateway=gateway, event=event, object_id=object_id, now=at)


def captures(fake, payment_id):
    return [r for r in fake.requests if r == ("POST", f"/v3/payments/{payment_id}/capture")]


def test_a_two_stage_payment_is_captured_by_the_engine_once_and_settles_its_order(store, biomiq, now, fake, gateway):
    place(store, biomiq, now)
    payment = held_payment(fake)
    at = now + timedelta(minutes=3)
    for _ in range(3):  # YooKassa redelivers
        outcome = notify(store, biomiq, gateway, "payment.waiting_for_capture", payment["id"], at)
        assert (outcome.result, outcome.status) == (payments.Result.PAID, OrderStatus.PAID)
    assert fake.payments[payment["id"]]["status"] == "succeeded"
    assert fake.captured == {payment["id"]: f"kopilka-capture-A1-{payment['id']}"}  # the key is the order's and the payment's
    assert len(captures(fake, payment["id"])) == 1  # later deliveries see it captured
    # the payment.succeeded the capture caused changes nothing more
    assert notify(store, biomiq, gateway, "payment.succeeded", payment["id"], at).result is payments.Result.PAID
    paid = orders.get_order(store, "A1")
    assert (paid.counted_payment(), paid.money_paid, paid.points_earned, [e.type for e in paid.events]) == (payment["id"], TO_PAY, EARNED, ["paid"])
    b = balances(store, "anna", at)
    assert (b.available, b.reserved, b.pending) == (0, 0, EARNED)
    assert_ledgers_sound(store, now=at)


def test_a_two_stage_payment_the_engine_would_not_count_is_released_not_captured(store, biomiq, now, fake, gateway):
    place(store, biomiq, now)
    at = now + timedelta(minutes=3)
    first = fake.succeed(fake.create_payment(amount=TO_PAY, order_id="A1")["id"])
    assert notify(store, biomiq, gateway, "payment.succeeded", first["id"], at).result is payments.Result.PAID
    second = held_payment(fake)  # the customer paid again in another tab
    wrong = held_payment(fake, amount=TO_PAY - 100)  # not the order's amount
    for payment, reason in ((second, "paid_by_another_payment"), (wrong, "amount_mismatch")):
        outcome = notify(store, biomiq, gateway, "payment.waiting_for_capture", payment["id"], at)
        assert (outcome.result, outcome.ignored) == (payments.Result.IGNORED, reason)
        assert fake.payments[payment["id"]]["status"] == "canceled"  # the hold goes back to the customer
        assert fake.payments[payment["id"]]["cancellation_details"] == {"party": "merchant", "reason": "canceled_by_merchant"}
        # the redelivery, and the payment.canceled the release caused, find it canceled: nothing more
        for event in ("payment.waiting_for_capture", "payment.canceled"):
            assert notify(store, biomiq, gateway, event, payment["id"], at).result is payments.Result.IGNORED
        assert captures(fake, payment["id"]) == []
        assert [r for r in fake.requests if r == ("POST", f"/v3/payments/{payment['id']}/cancel")] == [("POST", f"/v3/payments/{payment['id']}/cancel")]
    paid = orders.get_order(store, "A1")
    assert (paid.counted_payment(), [e.type for e in paid.events]) == (first["id"], ["paid"])
    assert fake.refunds == {}
    assert_ledgers_sound(store, now=at)


def test_concurrent_deliveries_of_a_held_payment_capture_it_once_and_pay_the_order_once(store, biomiq, now, fake, gateway):
    place(store, biomiq, now)
    payment = held_payment(fake)
    at = now + timedelta(minutes=3)
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda _: notify(store, biomiq, gateway, "payment.waiting_for_capture", payment["id"], at), range(4)))
    assert {o.result for o in outcomes} == {payments.Result.PAID}
    assert fake.captured == {payment["id"]: f"kopilka-capture-A1-{payment['id']}"}
    assert [e.type for e in orders.get_order(store, "A1").events] == ["paid"]
    assert balances(store, "anna", at).pending == EARNED
    assert_ledgers_sound(store, now=at)
