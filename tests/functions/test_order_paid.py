"""order_paid through functions-framework, on the emulator, with YooKassa faked in memory.

The function fetches every payment and refund from the fake API (injected
through ``bootstrap.set_transport("yookassa", …)``); notification bodies are built as the
providers send them. Every test checks the stored order and the customer's
ledger, not the response alone.
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from shared.domain.cart import CartLine
from shared.edge import entry
from shared.services import orders, registration
from shared.services.ledger import audit_account, balances, postings
from tests.conftest import TEST_ENV, load_function
from tests.fakes import yoomoney as fake_yoomoney
from tests.fakes.yookassa import notification

YOOKASSA_PEER = "185.71.76.5"  # inside 185.71.76.0/27
ATTACKER = "203.0.113.9"
CART = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=60000, quantity=2)]
TO_PAY = 260000  # 3 100 ₽ less 500 bonuses
EARNED = 130  # 5 % of 2 600 ₽ on the first level


@pytest.fixture
def fake(yookassa_fake):
    return yookassa_fake


@pytest.fixture
def client(function_env, fake):
    return load_function("order_paid")


@pytest.fixture
def store(function_env):
    return function_env


def _now() -> datetime:
    return datetime.now(timezone.utc)  # the function reads the real clock


@pytest.fixture
def order(store):
    """Anna (500 welcome bonuses) checks out A1 with all 500 of them: 2 600 ₽ to pay."""
    now = _now()
    config = entry.config(now)
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    record, quote = orders.place_order(store, config=config, customer_id="anna", order_id="A1", lines=CART, bonuses=500, now=now)
    assert (record.money_to_pay, quote.points_to_earn, record.status) == (TO_PAY, EARNED, "awaiting_payment")
    return record


def yookassa_post(client, body, *, xff: str | None = YOOKASSA_PEER):
    headers = {} if xff is None else {"X-Forwarded-For": xff}
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/yookassa", data=data, headers=headers, content_type="application/json")


def yoomoney_post(client, fields):
    return client.post("/yoomoney", data=fake_yoomoney.body(fields), content_type="application/x-www-form-urlencoded")


def account(store, customer="anna"):
    b = balances(store, customer, _now())
    return {"available": b.available, "reserved": b.reserved, "pending": b.pending}


UNPAID = {"available": 0, "reserved": 500, "pending": 0}
PAID = {"available": 0, "reserved": 0, "pending": EARNED}
REFUNDED = {"available": 500, "reserved": 0, "pending": 0}


def paid_events(store, order_id="A1"):
    return [e for e in orders.get_order(store, order_id).events if e.type == "paid"]


def posting_kinds(store, customer="anna"):
    return Counter(p.kind for p in postings(store, customer, limit=500))


def assert_untouched(store):
    assert orders.get_order(store, "A1").status == "awaiting_payment"
    assert orders.get_order(store, "A1").events == ()
    assert account(store) == UNPAID
    assert audit_account(store, "anna") == []


# --- YooKassa: the happy path and what is trusted -----------------------------------------


def test_paid_spends_the_reservation_accrues_pending_and_marks_the_order_paid(client, fake, store, order):
    payment = fake.create_payment(amount=TO_PAY, order_id="A1")
    body = notification("payment.succeeded", fake.succeed(payment["id"]))

    response = yookassa_post(client, body)

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"result": "paid", "order_id": "A1", "status": "paid", "ignored": None}
    stored = orders.get_order(store, "A1")
    assert stored.status == "paid"
    assert stored.payment == orders.PaymentRef(provider="yookassa", id=payment["id"], amount=TO_PAY)
    assert (stored.bonuses_spent, stored.points_earned) == (500, EARNED)
    assert account(store) == PAID
    assert audit_account(store, "anna") == []
    assert ("GET", f"/v3/payments/{payment['id']}") in fake.requests


@pytest.mark.reliability
def test_a_forged_amount_or_status_in_the_body_is_overridden_by_the_refetch(client, fake, store, order):
    # the body claims 1 ₽ was paid; YooKassa says the full amount: the order is paid with YooKassa's figure
    payment = fake.create_payment(amount=TO_PAY, order_id="A1")
    body = notification("payment.succeeded", {**fake.succeed(payment["id"]), "amount": {"value": "1.00", "currency": "RUB"}})
    assert yookassa_post(client, body).get_json()["result"] == "paid"
    assert orders.get_order(store, "A1").payment.amount == TO_PAY


def test_a_body_claiming_more_than_was_paid_is_ignored_and_nothing_is_written(client, fake, store, order):
    cheap = fake.create_payment(amount=100, order_id="A1")
    forged = {**fake.succeed(cheap["id"]), "amount": {"value": "2600.00", "currency": "RUB"}}
    response = yookassa_post(client, notification("payment.succeeded", forged))
    assert (response.status_code, response.get_json()["ignored"]) == (200, "amount_mismatch")
    assert_untouched(store)
    # a body claiming success for a payment YooKassa still has pending changes nothing either
    pending = fake.create_payment(amount=TO_PAY, order_id="A1")
    response = yookassa_post(client, notification("payment.succeeded", {**pending, "status": "succeeded", "paid": True}))
    assert (response.status_code, response.get_json()["ignored"]) == (200, "payment_not_final")
    assert_untouched(store)


def test_unknown_payments_and_orders_are_acknowledged_without_effect(client, fake, store, order):
    ghost = {"id": "2c2d7d2a-000f-5000-8000-1b2c3d4e5f60", "status": "succeeded", "amount": {"value": "2600.00", "currency": "RUB"}, "metadata": {"order_id": "A1"}}
    assert yookassa_post(client, notification("payment.succeeded", ghost)).get_json()["ignored"] == "unknown_payment"
    stranger = fake.create_payment(amount=TO_PAY, order_id="B404")
    assert yookassa_post(client, notification("payment.succeeded", fake.succeed(stranger["id"]))).get_json()["ignored"] == "unknown_order"
    anonymous = fake.create_payment(amount=TO_PAY)
    assert yookassa_post(client, notification("payment.succeeded", fake.succeed(anonymous["id"]))).get_json()["ignored"] == "no_order_id"
    sneaky = fake.create_payment(amount=TO_PAY, order_id="../customers/anna")
    assert yookassa_post(client, notification("payment.succeeded", fake.succeed(sneaky["id"]))).get_json()["ignored"] == "unknown_order"
    assert yookassa_post(client, notification("payout.succeeded", {"id": "po-1"})).get_json()["ignored"] == "event_not_handled"
    assert_untouched(store)


@pytest.mark.parametrize("order_id", ["__x__", "__name__", "..", "."])
def test_order_ids_of_a_form_firestore_reserves_are_unknown_orders_not_500s(client, fake, store, order, order_id):
    payment = fake.create_payment(amount=TO_PAY, order_id=order_id)
    answer = yookassa_post(client, notification("payment.succeeded", fake.succeed(payment["id"])))
    assert answer.status_code == 200 and answer.get_json()["ignored"] == "unknown_order"
    labelled = yoomoney_post(client, fake_yoomoney.fields(SECRET, label=order_id, paid=TO_PAY))
    assert labelled.status_code == 200 and labelled.get_json()["ignored"] == "unknown_order"
    assert_untouched(store)


def test_a_two_stage_payment_is_captured_through_the_function_and_settles_the_order(client, fake, store, order):
    held = fake.authorize(fake.create_payment(amount=TO_PAY, order_id="A1", capture=False)["id"])
    for _ in range(2):  # and its redelivery
        response = yookassa_post(client, notification("payment.waiting_for_capture", held))
        assert response.get_json() == {"result": "paid", "order_id": "A1", "status": "paid", "ignored": None}
    assert fake.captured == {held["id"]: f"kopilka-capture-A1-{held['id']}"}
    assert fake.requests.count(("POST", f"/v3/payments/{held['id']}/capture")) == 1
    assert yookassa_post(client, notification("payment.succeeded", fake.payments[held["id"]])).get_json()["result"] == "paid"
    assert len(paid_events(store)) == 1
    assert account(store) == PAID
    assert audit_account(store, "anna") == []


# --- YooKassa: who may call ---------------------------------------------------------------


@pytest.mark.reliability
def test_a_spoofed_allowlisted_address_on_the_left_of_x_forwarded_for_is_refused(client, fake, store, order):
    payment = fake.create_payment(amount=TO_PAY, order_id="A1")
    body = notification("payment.succeeded", fake.succeed(payment["id"]))
    # the attacker wrote 185.71.76.1 themselves; Google's front end appended their real address
    response = yookassa_post(client, body, xff=f"185.71.76.1, {ATTACKER}")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert fake.requests == []  # not even a fetch
    assert_untouched(store)


@pytest.mark.reliability
@pytest.mark.parametrize("xff", [ATTACKER, None, "10.0.0.1", "2a02:5181::1", "garbage", f"{ATTACKER}, 185.71.76.1, {ATTACKER}"])
def test_senders_outside_the_allowlist_are_refused_and_nothing_is_written(client, fake, store, order, xff):
    payment = fake.create_payment(amount=TO_PAY, order_id="A1")
    response = yookassa_post(client, notification("payment.succeeded", fake.succeed(payment["id"])), xff=xff)
    assert response.status_code == 403
    assert fake.requests == []
    assert_untouched(store)


def test_the_real_peer_is_the_right_most_entry(client, fake, store, order):
    payment = fake.create_payment(amount=TO_PAY, order_id="A1")
    response = yookassa_post(client, notification("payment.succeeded", fake.succeed(payment["id"])), xff=f"{ATTACKER}, 2a02:5180:0:1509::10")
    assert (response.status_code, response.get_json()["result"]) == (200, "paid")


def test_bad_bodies(client, fake, store, order):
    assert yookassa_post(client, b"{not json").status_code == 400
    assert yookassa_post(client, {"type": "notification", "event": "payment.succeeded"}).status_code == 400
    assert yookassa_post(client, {"type": "notification", "event": "payment.succeeded", "object": {"id": "../refunds/x"}}).status_code == 400
    assert yookassa_post(client, {"type": "other", "event": "payment.succeeded", "object": {"id": "x"}}).status_code == 400
    huge = json.dumps({"type": "notification", "event": "payment.succeeded", "object": {"id": "x", "pad": "x" * (1024 * 1024)}})
    assert yookassa_post(client, huge).status_code == 413
    assert yookassa_post(client, b"{not json", xff=ATTACKER).status_code == 403  # the sender is checked first
    assert fake.requests == []
    assert_untouched(store)


# --- YooKassa: replays, concurrency, order of events -----------------------------------------


@pytest.mark.reliability
def test_the_same_notification_five_times_concurrently_applies_once(client, fake, store, order):
    payment = fake.create_payment(amount=TO_PAY, order_id="A1")
    body = notification("payment.succeeded", fake.succeed(payment["id"]))
    app = client.application

    with ThreadPoolExecutor(max_workers=5) as pool:
        responses = list(pool.map(lambda _: yookassa_post(app.test_client(), body), range(5)))

    assert [r.status_code for r in responses] == [200] * 5, [r.get_json() for r in responses]
    assert {r.get_json()["status"] for r in responses} == {"paid"}
    assert account(store) == PAID
    assert len(paid_events(store)) == 1
    kinds = posting_kinds(store)
    assert (kinds["spend"], kinds["accrue"], kinds["purchase"]) == (1, 2, 1)  # welcome + this order's accrual
    assert audit_account(store, "anna") == []
    # and once more, later
    assert yookassa_post(client, body).get_json()["status"] == "paid"
    assert posting_kinds(store) == kinds


@pytest.mark.reliability
def test_a_refund_before_the_paid_notification_pays_first_then_returns(client, fake, store, order):
    payment = fake.create_payment(amount=TO_PAY, order_id="A1")
    paid_body = notification("payment.succeeded", fake.succeed(payment["id"]))
    refund = fake.refund(payment["id"], TO_PAY)

    response = yookassa_post(client, notification("refund.succeeded", refund))
    assert response.get_json() == {"result": "returned", "order_id": "A1", "status": "returned", "ignored": None}
    assert account(store) == REFUNDED
    # the late payment notification and redeliveries of both change nothing
    assert yookassa_post(client, paid_body).get_json()["status"] == "returned"
    assert yookassa_post(client, notification("refund.succeeded", refund)).get_json()["status"] == "returned"
    assert account(store) == REFUNDED
    assert len(paid_events(store)) == 1
    assert [e.type for e in orders.get_order(store, "A1").events] == ["paid", "return"]
    assert audit_account(store, "anna") == []


def _race(client, bodies):
    app = client.application
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        responses = list(pool.map(lambda body: yookassa_post(app.test_client(), body), bodies))
    assert [r.status_code for r in responses] == [200] * len(bodies), [r.get_json() for r in responses]


def _assert_refunded_once(store):
    stored = orders.get_order(store, "A1")
    assert stored.status == "returned"
    assert sorted(e.type for e in stored.events) == ["paid", "return"]
    assert account(store) == REFUNDED
    assert audit_account(store, "anna") == []


@pytest.mark.reliability
def test_a_refund_racing_the_paid_notifications_applies_each_once(client, fake, store, order):
    payment = fake.create_payment(amount=TO_PAY, order_id="A1")
    paid_body = notification("payment.succeeded", fake.succeed(payment["id"]))
    refund_body = notification("refund.succeeded", fake.refund(payment["id"], TO_PAY))
    _race(client, [refund_body, paid_body, paid_body, paid_body])
    _assert_refunded_once(store)


@pytest.mark.reliability
def test_the_same_refund_delivered_concurrently_applies_once(client, fake, store, order):
    payment = fake.create_payment(amount=TO_PAY, order_id="A1")
    yookassa_post(client, notification("payment.succeeded", fake.succeed(payment["id"])))
    refund_body = notification("refund.succeeded", fake.refund(payment["id"], TO_PAY))
    app = client.application
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda body: yookassa_post(app.test_client(), body).status_code, [refund_body] * 4))
    _assert_refunded_once(store)  # whatever the answers were, the refund counted once
    assert yookassa_post(client, refund_body).get_json()["status"] == "returned"  # a redelivery is answered 200
    _assert_refunded_once(store)
    assert statuses == [200] * 4


@pytest.mark.reliability
def test_canceled_after_succeeded_changes_nothing(client, fake, store, order):
    payment = fake.create_payment(amount=TO_PAY, order_id="A1")
    succeeded = fake.succeed(payment["id"])
    assert yookassa_post(client, notification("payment.succeeded", succeeded)).get_json()["result"] == "paid"
    # a forged (or stale) "canceled" for the paid payment: YooKassa says succeeded
    assert yookassa_post(client, notification("payment.canceled", {**succeeded, "status": "canceled"})).get_json()["status"] == "paid"
    # an abandoned earlier attempt for the same order, canceled late
    attempt = fake.create_payment(amount=TO_PAY, order_id="A1")
    response = yookassa_post(client, notification("payment.canceled", fake.cancel(attempt["id"])))
    assert (response.get_json()["ignored"], response.get_json()["status"]) == ("order_not_awaiting_payment", "paid")
    assert orders.get_order(store, "A1").status == "paid"
    assert account(store) == PAID
    assert audit_account(store, "anna") == []


def test_a_declined_card_is_not_the_end_of_the_order(client, fake, store, order):
    first = fake.create_payment(amount=TO_PAY, order_id="A1")
    declined = notification("payment.canceled", fake.cancel(first["id"], party="payment_network", reason="insufficient_funds"))
    assert yookassa_post(client, declined).get_json() == {"result": "declined", "order_id": "A1", "status": "awaiting_payment", "ignored": None}
    assert yookassa_post(client, declined).get_json()["result"] == "declined"
    assert account(store) == UNPAID  # still reserved for the customer's next attempt
    second = fake.create_payment(amount=TO_PAY, order_id="A1")
    paid = notification("payment.succeeded", fake.succeed(second["id"]))
    for _ in range(2):
        response = yookassa_post(client, paid)
        assert (response.status_code, response.get_json()["result"], response.get_json()["status"]) == (200, "paid", "paid")
    assert orders.get_order(store, "A1").payment.id == second["id"]
    assert len(paid_events(store)) == 1
    assert account(store) == PAID
    assert audit_account(store, "anna") == []


def test_a_payment_for_an_order_the_timeout_canceled_is_refunded_when_its_bonuses_went_elsewhere(client, fake, store, order):
    orders.mark_canceled(store, order_id="A1", now=_now(), reason="timeout")
    orders.place_order(store, config=entry.config(_now()), customer_id="anna", order_id="B1", lines=CART, bonuses=500, now=_now())
    payment = fake.create_payment(amount=TO_PAY, order_id="A1")
    body = notification("payment.succeeded", fake.succeed(payment["id"]))
    fake.outage("503", only="refunds")  # the refund cannot be made yet: YooKassa must deliver again
    assert yookassa_post(client, body).status_code == 503
    fake.outage(None)
    for _ in range(2):
        assert yookassa_post(client, body).get_json() == {"result": "refunded", "order_id": "A1", "status": "canceled", "ignored": None}
    assert [(r["payment_id"], r["amount"]["value"]) for r in fake.refunds.values()] == [(payment["id"], "2600.00")]
    assert orders.get_order(store, "A1").status == "canceled"
    assert account(store) == UNPAID  # B1's reservation: nothing spent or earned on A1
    assert audit_account(store, "anna") == []


def test_a_second_payment_for_a_paid_order_and_its_refund_change_nothing(client, fake, store, order):
    first = fake.create_payment(amount=TO_PAY, order_id="A1")
    yookassa_post(client, notification("payment.succeeded", fake.succeed(first["id"])))
    double = fake.create_payment(amount=TO_PAY, order_id="A1")
    assert yookassa_post(client, notification("payment.succeeded", fake.succeed(double["id"]))).get_json()["ignored"] == "paid_by_another_payment"
    assert yookassa_post(client, notification("refund.succeeded", fake.refund(double["id"], TO_PAY))).get_json()["ignored"] == "refund_of_another_payment"
    assert orders.get_order(store, "A1").payment.id == first["id"]
    assert account(store) == PAID


# --- YooKassa: refunds ----------------------------------------------------------------------


def test_partial_refunds_need_their_lines_and_the_rest_is_a_full_return(client, fake, store, order):
    payment = fake.create_payment(amount=TO_PAY, order_id="A1")
    yookassa_post(client, notification("payment.succeeded", fake.succeed(payment["id"])))
    book = store.get("customers/anna/orders/A1")
    cream_paid = book["lines"]["cream"]["paid"]

    blind = fake.refund(payment["id"], 1000)
    assert yookassa_post(client, notification("refund.succeeded", blind)).get_json()["ignored"] == "partial_refund_without_lines"
    assert account(store) == PAID
    too_many = fake.refund(payment["id"], 1000, metadata={"lines": json.dumps({"cream": 3})})
    assert yookassa_post(client, notification("refund.succeeded", too_many)).get_json()["ignored"] == "invalid_refund_lines"
    assert account(store) == PAID

    short = fake.refund(payment["id"], 1, metadata={"lines": json.dumps({"cream": 2})})  # a kopeck for both creams
    assert yookassa_post(client, notification("refund.succeeded", short)).get_json()["ignored"] == "refund_lines_amount_mismatch"
    assert account(store) == PAID
    creams = fake.refund(payment["id"], cream_paid, metadata={"lines": json.dumps({"cream": 2})})
    response = yookassa_post(client, notification("refund.succeeded", creams))
    assert response.get_json()["status"] == "partially_returned"
    assert yookassa_post(client, notification("refund.succeeded", creams)).get_json()["status"] == "partially_returned"
    after_creams = account(store)
    assert 0 < after_creams["available"] < 500 and 0 < after_creams["pending"] < EARNED
    stored = orders.get_order(store, "A1")
    assert stored.returned_units == {"cream": 2}
    assert [e.type for e in stored.events] == ["paid", "return"]

    # the rest of the payment goes back (the refunds we did not count included): the whole payment is refunded, a full return
    rest = fake.refund(payment["id"], TO_PAY - cream_paid - 2001)
    assert yookassa_post(client, notification("refund.succeeded", rest)).get_json()["status"] == "returned"
    assert account(store) == REFUNDED
    assert audit_account(store, "anna") == []


def test_a_refund_that_is_not_succeeded_or_unknown_changes_nothing(client, fake, store, order):
    payment = fake.create_payment(amount=TO_PAY, order_id="A1")
    yookassa_post(client, notification("payment.succeeded", fake.succeed(payment["id"])))
    pending = fake.refund(payment["id"], TO_PAY, status="pending")
    assert yookassa_post(client, notification("refund.succeeded", {**pending, "status": "succeeded"})).get_json()["ignored"] == "refund_not_succeeded"
    ghost = {"id": "2c2d7d2a-0015-5000-8000-000000000001", "payment_id": payment["id"], "status": "succeeded", "amount": {"value": "2600.00", "currency": "RUB"}}
    assert yookassa_post(client, notification("refund.succeeded", ghost)).get_json()["ignored"] == "unknown_refund"
    assert account(store) == PAID


# --- YooKassa: the API is down -----------------------------------------------------------------


@pytest.mark.reliability
@pytest.mark.parametrize("fault", ["500", "timeout", "202"])
def test_a_failed_refetch_answers_503_writes_nothing_and_a_redelivery_completes_once(client, fake, store, order, fault):
    payment = fake.create_payment(amount=TO_PAY, order_id="A1")
    body = notification("payment.succeeded", fake.succeed(payment["id"]))
    fake.outage(fault)

    response = yookassa_post(client, body)

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "provider_unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert len(fake.requests) == 3  # bounded retries
    assert_untouched(store)

    fake.outage(None)
    assert yookassa_post(client, body).get_json()["result"] == "paid"
    assert yookassa_post(client, body).get_json()["result"] == "paid"
    assert account(store) == PAID
    assert len(paid_events(store)) == 1
    assert audit_account(store, "anna") == []


def test_a_refund_whose_payment_cannot_be_fetched_answers_503(client, fake, store, order):
    payment = fake.create_payment(amount=TO_PAY, order_id="A1")
    fake.succeed(payment["id"])
    refund = notification("refund.succeeded", fake.refund(payment["id"], TO_PAY))
    fake.outage("503", only="payments")  # the refund is fetched; its payment is not
    response = yookassa_post(client, refund)
    assert (response.status_code, response.get_json()["error"]["code"]) == (503, "provider_unavailable")
    assert_untouched(store)
    fake.outage(None)
    assert yookassa_post(client, refund).get_json()["status"] == "returned"
    assert account(store) == REFUNDED
    assert audit_account(store, "anna") == []


# --- YooMoney -----------------------------------------------------------------------------------

SECRET = TEST_ENV["YOOMONEY_NOTIFICATION_SECRET"]


@pytest.mark.reliability
def test_yoomoney_valid_notification_pays_once_and_a_replayed_operation_changes_nothing(client, store, order):
    fields = fake_yoomoney.fields(SECRET, label="A1", paid=TO_PAY)
    response = yoomoney_post(client, fields)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"result": "paid", "order_id": "A1", "status": "paid", "ignored": None}
    assert orders.get_order(store, "A1").payment == orders.PaymentRef(provider="yoomoney", id=fields["operation_id"], amount=TO_PAY)
    kinds = posting_kinds(store)
    for _ in range(3):  # YooMoney's attempts at 0, +10 min, +1 h
        assert yoomoney_post(client, fields).get_json()["status"] == "paid"
    assert posting_kinds(store) == kinds
    assert len(paid_events(store)) == 1
    assert account(store) == PAID
    assert audit_account(store, "anna") == []
    # another operation for the same order is a double payment, not a second purchase
    other = fake_yoomoney.fields(SECRET, label="A1", paid=TO_PAY, operation_id="904035776918098010")
    assert yoomoney_post(client, other).get_json()["ignored"] == "paid_by_another_payment"
    assert account(store) == PAID


def test_yoomoney_withdraw_amount_is_not_signed_so_it_must_agree_with_the_signed_amount(client, store, order):
    # 1 ₽ transferred (amount, signed: 0.99 ₽ credited); withdraw_amount, outside the hash, raised to the order's sum
    forged = fake_yoomoney.fields(SECRET, label="A1", paid=100, withdraw_amount="2600.00")
    response = yoomoney_post(client, forged)
    assert (response.status_code, response.get_json()["ignored"]) == (200, "unsigned_amount_mismatch")
    assert_untouched(store)
    honest = fake_yoomoney.fields(SECRET, label="A1", paid=TO_PAY, operation_id="904035776918098077")
    assert yoomoney_post(client, honest).get_json()["result"] == "paid"
    assert account(store) == PAID


@pytest.mark.parametrize("tamper", [str.upper, lambda h: h[:-2], lambda h: h[::-1], lambda h: "0" * 40])
def test_yoomoney_wrong_uppercase_or_truncated_hash_is_forbidden(client, store, order, tamper):
    fields = fake_yoomoney.fields(SECRET, label="A1", paid=TO_PAY)
    response = yoomoney_post(client, {**fields, "sha1_hash": tamper(fields["sha1_hash"])})
    assert response.status_code == 403
    assert_untouched(store)


@pytest.mark.reliability
def test_yoomoney_signed_with_another_secret_or_with_a_changed_field_is_forbidden(client, store, order):
    assert yoomoney_post(client, fake_yoomoney.fields("guessed", label="A1", paid=TO_PAY)).status_code == 403
    fields = fake_yoomoney.fields(SECRET, label="B2", paid=TO_PAY)
    assert yoomoney_post(client, {**fields, "label": "A1"}).status_code == 403
    assert_untouched(store)


@pytest.mark.parametrize("missing", ["sha1_hash", "operation_id", "withdraw_amount", "label", "codepro"])
def test_yoomoney_missing_fields_are_a_bad_request(client, store, order, missing):
    fields = fake_yoomoney.fields(SECRET, label="A1", paid=TO_PAY)
    response = yoomoney_post(client, {k: v for k, v in fields.items() if k != missing})
    assert response.status_code == 400
    assert_untouched(store)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"codepro": "true"}, "codepro"),
        ({"unaccepted": "true"}, "unaccepted"),
        ({"withdraw_amount": "2599.99"}, "amount_mismatch"),
        ({"label": "B404"}, "unknown_order"),
        ({"label": ""}, "no_order_id"),
    ],
)
def test_yoomoney_authentic_notifications_that_are_not_credited(client, store, order, overrides, reason):
    response = yoomoney_post(client, fake_yoomoney.fields(SECRET, paid=TO_PAY, **{"label": "A1", **overrides}))
    assert (response.status_code, response.get_json()["ignored"]) == (200, reason)
    assert_untouched(store)
