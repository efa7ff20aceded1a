"""Payment notifications as use cases, on both stores, with YooKassa faked in memory.

The payment and refund objects are what the fake API answers (the use cases
fetch them again); YooMoney notifications are built as YooMoney signs them.
Every scenario checks the stored order, the customer's ledger and the
production ledger audit, not the outcome alone.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from shared.adapters import yoomoney
from shared.domain.cart import CartLine, PromoRule
from shared.domain.order import OrderStatus
from shared.edge.admin_auth import Admin
from shared.services import orders, payments, promo, registration, sweeps
from shared.services.admin import orders as admin_orders
from shared.services.ledger import audit_account, balances
from tests.fakes import yoomoney as fake_yoomoney
from tests.reliability.audit import assert_ledgers_sound

CART = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=60000, quantity=2)]  # 3 100 ₽
TO_PAY = 260000  # 3 100 ₽ less 500 bonuses
EARNED = 130  # 5 % of 2 600 ₽ on the first level
SECRET = "yoomoney-secret"


def held(store, now, customer="anna"):
    b = balances(store, customer, now)
    return {"available": b.available, "reserved": b.reserved, "pending": b.pending}


def notify(store, config, gateway, event, object_id, now):
    return payments.yookassa_notification(store, config=config, gateway=gateway, event=event, object_id=object_id, now=now)


def place(store, config, now, *, order_id="A1", customer="anna", bonuses=500, promo_code=None, register=True):
    if register:
        registration.register_customer(store, config=config, customer_id=customer, now=now)  # 500 welcome bonuses
    placed, _ = orders.place_order(store, config=config, customer_id=customer, order_id=order_id, lines=CART, bonuses=bonuses, now=now, promo_code=promo_code)
    return placed


def succeeded(fake, amount=TO_PAY, order_id="A1"):
    payment = fake.create_payment(amount=amount, order_id=order_id)
    return fake.succeed(payment["id"])


def past_timeout(config, now, minutes=1):
    return now + timedelta(minutes=config.reservation_timeout_minutes + minutes)


# --- a declined card is not the end of the order -------------------------------------------------


def test_a_declined_card_is_not_the_end_of_the_order(store, biomiq, now, fake, gateway):
    place(store, biomiq, now)
    declined = fake.create_payment(amount=TO_PAY, order_id="A1")
    fake.cancel(declined["id"], party="payment_network", reason="insufficient_funds")
    for _ in range(2):  # and its redelivery
        outcome = notify(store, biomiq, gateway, "payment.canceled", declined["id"], now + timedelta(minutes=2))
        assert (outcome.result, outcome.status) == (payments.Result.DECLINED, OrderStatus.AWAITING_PAYMENT)
    assert orders.get_order(store, "A1").status is OrderStatus.AWAITING_PAYMENT
    assert held(store, now) == {"available": 0, "reserved": 500, "pending": 0}  # still reserved for the next attempt

    second = succeeded(fake)
    for _ in range(3):  # YooKassa redelivers: settled once
        outcome = notify(store, biomiq, gateway, "payment.succeeded", second["id"], now + timedelta(minutes=5))
        assert (outcome.result, outcome.status) == (payments.Result.PAID, OrderStatus.PAID)
    paid = orders.get_order(store, "A1")
    assert (paid.counted_payment(), paid.money_paid, paid.bonuses_spent, paid.points_earned) == (second["id"], TO_PAY, 500, EARNED)
    assert [e.type for e in paid.events] == ["paid"]
    assert held(store, now) == {"available": 0, "reserved": 0, "pending": EARNED}
    # the declined attempt, delivered late, changes nothing
    assert notify(store, biomiq, gateway, "payment.canceled", declined["id"], now + timedelta(minutes=6)).status is OrderStatus.PAID
    assert held(store, now) == {"available": 0, "reserved": 0, "pending": EARNED}
    assert audit_account(store, "anna") == []
    assert_ledgers_sound(store, now=now)


def test_a_declined_order_left_unpaid_still_times_out(store, biomiq, now, fake, gateway):
    place(store, biomiq, now)
    declined = fake.create_payment(amount=TO_PAY, order_id="A1")
    fake.cancel(declined["id"], party="payment_network", reason="3d_secure_failed")
    notify(store, biomiq, gateway, "payment.canceled", declined["id"], now)
    late = past_timeout(biomiq, now)
    assert sweeps.cancel_stale_orders(store, config=biomiq, now=late, batch=10, max_pages=1)["canceled"] == 1
    assert orders.get_order(store, "A1").status is OrderStatus.CANCELED
    assert held(store, late) == {"available": 500, "reserved": 0, "pending": 0}
    assert_ledgers_sound(store, now=late)


def test_an_order_canceled_by_the_timeout_and_then_paid_is_settled_once(store, biomiq, now, fake, gateway):
    promo.create_discount(store, rule=PromoRule(code="SPRING10", kind="percent", percent=Decimal(10)), total_limit=5, now=now)
    placed = place(store, biomiq, now, promo_code="spring10")
    late = past_timeout(biomiq, now)
    sweeps.cancel_stale_orders(store, config=biomiq, now=late, batch=10, max_pages=1)
    assert orders.get_order(store, "A1").status is OrderStatus.CANCELED
    assert promo.get(store, "SPRING10").uses == 0  # the timeout gave the use back

    payment = succeeded(fake, amount=placed.money_to_pay)  # the customer paid after all
    for _ in range(2):
        outcome = notify(store, biomiq, gateway, "payment.succeeded", payment["id"], late + timedelta(minutes=1))
        assert (outcome.result, outcome.status) == (payments.Result.PAID, OrderStatus.PAID)
    paid = orders.get_order(store, "A1")
    assert [e.type for e in paid.events] == ["canceled", "paid"]
    assert (paid.money_paid, paid.bonuses_spent, paid.bonuses_shortfall) == (placed.money_to_pay, 500, None)
    assert held(store, late) == {"available": 0, "reserved": 0, "pending": paid.points_earned}
    assert promo.get(store, "SPRING10").uses == 1  # the paid order counts again
    assert fake.refunds == {}
    assert audit_account(store, "anna") == []
    assert_ledgers_sound(store, now=late)


def test_an_order_canceled_by_the_timeout_whose_bonuses_went_elsewhere_is_refunded_when_paid(store, biomiq, now, fake, gateway):
    place(store, biomiq, now)
    late = past_timeout(biomiq, now)
    sweeps.cancel_stale_orders(store, config=biomiq, now=late, batch=10, max_pages=1)
    place(store, biomiq, late, order_id="B1", register=False)  # the freed 500 bonuses now pay for B1

    payment = succeeded(fake)
    for _ in range(3):  # redeliveries refund once
        outcome = notify(store, biomiq, gateway, "payment.succeeded", payment["id"], late + timedelta(minutes=1))
        assert (outcome.result, outcome.status) == (payments.Result.REFUNDED, OrderStatus.CANCELED)
    refunds = list(fake.refunds.values())
    assert [(r["payment_id"], r["amount"]["value"], r["status"]) for r in refunds] == [(payment["id"], "2600.00", "succeeded")]
    order = orders.get_order(store, "A1")
    assert order.status is OrderStatus.CANCELED and order.payment is None and order.money_paid is None
    assert [e.type for e in order.events] == ["canceled", "refund_due"]
    assert store.read(lambda uow: uow.line_books.get("anna", "A1")) is None  # nothing spent, bought or earned
    assert held(store, late) == {"available": 0, "reserved": 500, "pending": 0}  # B1's reservation untouched
    # the refund's own notification changes nothing either
    assert notify(store, biomiq, gateway, "refund.succeeded", refunds[0]["id"], late + timedelta(minutes=2)).result is payments.Result.IGNORED
    assert held(store, late) == {"available": 0, "reserved": 500, "pending": 0}
    assert audit_account(store, "anna") == []
    assert_ledgers_sound(store, now=late)


def test_a_lapsed_order_paid_before_the_sweep_is_refunded_when_its_bonuses_went_elsewhere(store, biomiq, now, fake, gateway):
    from shared.services import account_sweep

    place(store, biomiq, now)
    late = past_timeout(biomiq, now)
    assert account_sweep.sweep_account(store, config=biomiq, customer_id="anna", now=late).released == 500
    place(store, biomiq, late, order_id="B1", register=False)
    payment = succeeded(fake)
    outcome = notify(store, biomiq, gateway, "payment.succeeded", payment["id"], late)
    assert (outcome.result, outcome.status) == (payments.Result.REFUNDED, OrderStatus.CANCELED)
    assert [r["payment_id"] for r in fake.refunds.values()] == [payment["id"]]
    assert held(store, late) == {"available": 0, "reserved": 500, "pending": 0}
    assert_ledgers_sound(store, now=late)


def test_a_late_payment_whose_promo_code_was_used_up_meanwhile_is_refunded(store, biomiq, now, fake, gateway):
    promo.create_discount(store, rule=PromoRule(code="ONCE", kind="percent", percent=Decimal(10)), total_limit=1, now=now)
    placed = place(store, biomiq, now, promo_code="once")
    late = past_timeout(biomiq, now)
    sweeps.cancel_stale_orders(store, config=biomiq, now=late, batch=10, max_pages=1)
    place(store, biomiq, late, order_id="B1", customer="boris", promo_code="once")  # the freed use goes to Boris

    payment = succeeded(fake, amount=placed.money_to_pay)
    outcome = notify(store, biomiq, gateway, "payment.succeeded", payment["id"], late)
    assert (outcome.result, outcome.status) == (payments.Result.REFUNDED, OrderStatus.CANCELED)
    assert promo.get(store, "ONCE").uses == 1  # Boris's, never more than the limit
    assert held(store, late) == {"available": 500, "reserved": 0, "pending": 0}
    assert_ledgers_sound(store, now=late)


MANAGER = Admin("manager@shop.example", ("manager",))


def test_a_late_yoomoney_payment_that_cannot_be_honoured_is_recorded_for_a_refund(store, biomiq, now):
    place(store, biomiq, now)
    late = past_timeout(biomiq, now)
    sweeps.cancel_stale_orders(store, config=biomiq, now=late, batch=10, max_pages=1)
    place(store, biomiq, late, order_id="B1", register=False)
    fields = fake_yoomoney.fields(SECRET, label="A1", paid=TO_PAY)
    notification = yoomoney.parse(fake_yoomoney.body(fields).encode())
    for _ in range(2):
        outcome = payments.yoomoney_notification(store, config=biomiq, notification=notification, now=late)
        assert (outcome.result, outcome.status, outcome.ignored) == (payments.Result.IGNORED, OrderStatus.CANCELED, "refund_due")
    event = orders.get_order(store, "A1").recorded(f"paid:{fields['operation_id']}")
    assert event is not None and (event.type, event.provider, event.amount) == ("refund_due", "yoomoney", TO_PAY)
    flagged = orders.get_order(store, "A1").review  # the money goes back by hand: the manager sees it, once
    assert flagged is not None and (flagged.reason, flagged.payment_id, flagged.details["amount"]) == ("refund_due", fields["operation_id"], TO_PAY)
    assert [o.order_id for o in admin_orders.flagged_orders(store, MANAGER).orders] == ["A1"]
    assert held(store, late) == {"available": 0, "reserved": 500, "pending": 0}
    assert_ledgers_sound(store, now=late)



# --- refunds and signed amounts ---------------------------------------------------------------------


def _paid(store, config, fake, gateway, now):
    place(store, config, now)
    payment = succeeded(fake)
    assert notify(store, config, gateway, "payment.succeeded", payment["id"], now).result is payments.Result.PAID
    return payment


def _line_paid(store, line_id, units=None):
    book = store.read(lambda uow: uow.line_books.get("anna", "A1"))
    line = book.lines[line_id]
    return line.paid * (units or line.quantity) // line.quantity


def test_a_refund_is_applied_by_its_lines_only_when_its_amount_pays_for_them(store, biomiq, now, fake, gateway):
    payment = _paid(store, biomiq, fake, gateway, now)
    before = held(store, now)
    assert before == {"available": 0, "reserved": 0, "pending": EARNED}
    # a 1-kopeck refund naming every unit: the goods are not paid back, so nothing comes back either
    kopeck = fake.refund(payment["id"], 1, metadata={"lines": json.dumps({"serum": 1, "cream": 2})})
    outcome = notify(store, biomiq, gateway, "refund.succeeded", kopeck["id"], now)
    assert (outcome.result, outcome.ignored, outcome.status) == (payments.Result.IGNORED, "refund_lines_amount_mismatch", OrderStatus.PAID)
    # nor does a refund of one cream's money naming both creams
    one_cream = _line_paid(store, "cream", 1)
    both = fake.refund(payment["id"], one_cream, metadata={"lines": json.dumps({"cream": 2})})
    assert notify(store, biomiq, gateway, "refund.succeeded", both["id"], now).ignored == "refund_lines_amount_mismatch"
    assert orders.get_order(store, "A1").returned_units is None
    assert held(store, now) == before
    # the money paid for one cream, give or take the configured rounding, returns one cream
    cream = fake.refund(payment["id"], one_cream - biomiq.payments.refund_lines_tolerance, metadata={"lines": json.dumps({"cream": 1})})
    outcome = notify(store, biomiq, gateway, "refund.succeeded", cream["id"], now)
    assert (outcome.result, outcome.status) == (payments.Result.RETURNED, OrderStatus.PARTIALLY_RETURNED)
    assert orders.get_order(store, "A1").returned_units == {"cream": 1}
    after = held(store, now)
    assert 0 < after["available"] < 500 and 0 < after["pending"] < EARNED
    assert audit_account(store, "anna") == []
    assert_ledgers_sound(store, now=now)


def test_a_yoomoney_transfer_is_settled_only_when_the_unsigned_withdraw_amount_agrees_with_the_signed_amount(store, biomiq, now):
    place(store, biomiq, now)
    # 1 ₽ paid (amount, covered by sha1_hash: 0.99 ₽ credited) and withdraw_amount, which is not signed, raised to the order's sum
    forged = fake_yoomoney.fields(SECRET, label="A1", paid=100, withdraw_amount="2600.00")
    notification = yoomoney.parse(fake_yoomoney.body(forged).encode())
    yoomoney.verify(notification, SECRET)  # the signature holds: withdraw_amount is not part of it
    outcome = payments.yoomoney_notification(store, config=biomiq, notification=notification, now=now)
    assert (outcome.result, outcome.ignored) == (payments.Result.IGNORED, "unsigned_amount_mismatch")
    assert orders.get_order(store, "A1").status is OrderStatus.AWAITING_PAYMENT
    assert held(store, now) == {"available": 0, "reserved": 500, "pending": 0}
    # a fee above the configured bound is not a fee either
    greedy = fake_yoomoney.fields(SECRET, label="A1", paid=TO_PAY, fee_permille=40, operation_id="904035776918098011")
    outcome = payments.yoomoney_notification(store, config=biomiq, notification=yoomoney.parse(fake_yoomoney.body(greedy).encode()), now=now)
    assert outcome.ignored == "unsigned_amount_mismatch"
    # the customer's real transfer, YooMoney's 1 % fee taken, settles the order
    honest = fake_yoomoney.fields(SECRET, label="A1", paid=TO_PAY, operation_id="904035776918098012")
    outcome = payments.yoomoney_notification(store, config=biomiq, notification=yoomoney.parse(fake_yoomoney.body(honest).encode()), now=now)
    assert (outcome.result, outcome.status) == (payments.Result.PAID, OrderStatus.PAID)
    assert held(store, now) == {"available": 0, "reserved": 0, "pending": EARNED}
    assert_ledgers_sound(store, now=now)
