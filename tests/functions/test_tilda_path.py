"""The order path of a Tilda shop through functions-framework, on the emulator, with YooKassa faked in memory.

The kit places the order (``POST /checkout/tilda``), the customer pays in
Tilda's own YooKassa connection (the fake: a payment with Tilda's metadata, for
Tilda's cart total), and Tilda calls its webhook after the payment. The second
path: ``POST /checkout`` with ``payment`` creates the YooKassa payment, and the
``/yookassa`` notification settles it. Both end in the same settlement, tested
for replays and races alike. Every test checks the stored order and the ledger.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import urlencode

import pytest
import time_machine
from yookassa.domain.request import PaymentRequest
from yookassa.domain.response import PaymentResponse

from shared.adapters import layout
from shared.domain.cart import PromoRule
from shared.edge import entry
from shared.services import promo, registration
from shared.services.ledger import all_postings, audit_account, balances
from tests.conftest import SHOP_ORIGIN, TEST_ENV, customer_token, load_function
from tests.fakes.yookassa import notification
from tests.reliability.audit import assert_ledgers_sound

TILDA = f"/tilda/{TEST_ENV['KOPILKA_TILDA_TOKEN']}"
YOOKASSA_PEER = "185.71.76.5"
# Tilda's cart as the kit reads it: a product's Tilda UID as the line id, its SKU
CART = [
    {"id": "t-uid-1001", "sku": "SER-30", "name": "Сыворотка", "price": 100000, "quantity": 2},
    {"id": "t-uid-1002", "sku": "CR-50", "name": "Крем", "price": 60000, "quantity": 1},
]  # 2 600 ₽
DELIVERY = 30000  # Tilda's courier: 300 ₽ on top of the cart
UNSPENT = {"available": 500, "reserved": 0}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture
def client(function_env, yookassa_fake):
    return load_function("checkout")


@pytest.fixture
def anna(function_env):
    registration.register_customer(function_env, config=entry.config(utcnow()), customer_id="anna", now=utcnow())  # 500 welcome bonuses
    return customer_token("anna")


def kit_checkout(client, token, *, order_id="K1", lines=CART, bonuses=500, promo_code=None, fingerprint=None, replaces=None):
    body = {"order_id": order_id, "lines": lines, "bonuses": bonuses, **({"promo_code": promo_code} if promo_code else {}), **({"quote_fingerprint": fingerprint} if fingerprint else {})}
    if replaces:
        body["replaces"] = replaces
    return client.post("/checkout/tilda", json=body, headers={"Authorization": f"Bearer {token}", "Origin": SHOP_ORIGIN})


def tilda_pays(fake, amount: int, *, orderid="1869817991", succeed=True, capture=True) -> str:
    """The customer pays in Tilda's YooKassa connection: Tilda's own metadata, Tilda's total."""
    payment = fake.create_payment(amount=amount, metadata={"orderNumber": orderid, "cms_name": "tilda"}, description=f"Оплата заказа {orderid}", capture=capture)
    if succeed:
        (fake.succeed if capture else fake.authorize)(payment["id"])
    return payment["id"]


def webhook_form(placed: dict, payment_id: str, *, lines=CART, discount: str | None = None, delivery=DELIVERY, orderid="1869817991", extra: dict | None = None) -> dict[str, str]:
    """What Tilda posts after the payment: the form's fields, the kit's hidden field, the cart as paid."""
    fields = {
        "Name": "Анна",
        "Phone": "+79000000000",
        "Email": "anna@example.ru",
        "formid": "form42581206",
        "formname": "Cart",
        "tranid": "7777777:1",
        "kopilka_order": placed["order_token"],
        "payment[sys]": "yakassa",
        "payment[systranid]": payment_id,
        "payment[orderid]": orderid,
        "payment[promocode]": "KOPILKA",
        "payment[discount]": placed["discount_roubles"] if discount is None else discount,
        "payment[delivery]": "Курьер",
        "payment[delivery_price]": f"{delivery // 100}",
        "payment[amount]": f"{(placed['money_to_pay'] + delivery) / 100:.2f}",
    }
    for n, line in enumerate(lines):
        fields |= {
            f"payment[products][{n}][name]": line["name"],
            f"payment[products][{n}][sku]": line["sku"],
            f"payment[products][{n}][quantity]": str(line["quantity"]),
            f"payment[products][{n}][price]": f"{line['price'] / 100:.2f}",
            f"payment[products][{n}][amount]": f"{line['price'] * line['quantity'] / 100:.2f}",
        }
    return fields | (extra or {})


def post_webhook(client, fields):
    return client.post(TILDA, data=urlencode(fields), content_type="application/x-www-form-urlencoded")


def account(store, customer="anna"):
    b = balances(store, customer, utcnow())
    return {"available": b.available, "reserved": b.reserved}


def kinds(store, customer="anna"):
    return sorted(p.kind for p in all_postings(store, customer))


# --- before the payment ---------------------------------------------------------------------------


def test_the_kit_places_the_order_and_gets_one_discount_and_an_order_token(function_env, client, anna):
    response = kit_checkout(client, anna)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    placed = response.get_json()
    assert (placed["order_id"], placed["status"], placed["discount"], placed["discount_roubles"], placed["money_to_pay"]) == ("anna:K1", "awaiting_payment", 50000, "500.00", 210000)
    assert placed["bonuses_reserved"] == 500 and placed["order_token"].count(".") == 2
    expires = datetime.fromisoformat(placed["expires_at"])
    assert timedelta(minutes=59) < expires - utcnow() <= timedelta(minutes=60)
    stored = function_env.get("orders/anna:K1")
    assert (stored["source"], stored["customer_id"], stored["money_to_pay"]) == ("tilda", "anna", 210000)
    assert account(function_env) == {"available": 0, "reserved": 500}
    assert kit_checkout(client, anna).get_json() == placed  # the kit retries: the same order, the same token
    assert account(function_env) == {"available": 0, "reserved": 500}
    preflight = {"Access-Control-Request-Method": "POST"}
    assert client.options("/checkout/tilda", headers={"Origin": SHOP_ORIGIN, **preflight}).headers["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    assert client.options("/checkout/tilda", headers={"Origin": "https://evil.example", **preflight}).status_code == 403


def test_a_new_application_replaces_the_unpaid_order_before_it_and_its_bonuses_go_back(function_env, client, anna, yookassa_fake):
    assert kit_checkout(client, anna, order_id="K1", bonuses=500).status_code == 200
    assert account(function_env) == {"available": 0, "reserved": 500}
    # the cart changed: without replacing, the first order would still hold every bonus
    again = kit_checkout(client, anna, order_id="K2", lines=CART[:1], bonuses=300, replaces="K1")
    assert again.status_code == 200, again.get_data(as_text=True)
    assert (again.get_json()["order_id"], again.get_json()["discount"]) == ("anna:K2", 30000)
    assert function_env.get("orders/anna:K1")["status"] == "canceled"
    assert account(function_env) == {"available": 200, "reserved": 300}
    assert kit_checkout(client, anna, order_id="K2", lines=CART[:1], bonuses=300, replaces="K1").get_json() == again.get_json()  # a retry: the same
    assert account(function_env) == {"available": 200, "reserved": 300}
    # a canceled order's id is not taken again: the kit places under a new id
    assert kit_checkout(client, anna, order_id="K1", bonuses=100, replaces="K2").status_code == 409
    # a paid order is never replaced
    placed = again.get_json()
    paid = post_webhook(client, webhook_form(placed, tilda_pays(yookassa_fake, placed["money_to_pay"] + DELIVERY), lines=CART[:1]))
    assert paid.get_json()["result"] == "paid", paid.get_data(as_text=True)
    assert kit_checkout(client, anna, order_id="K3", lines=CART[:1], bonuses=100, replaces="K2").status_code == 200
    assert function_env.get("orders/anna:K2")["status"] == "paid"


def test_the_kit_releases_the_order_whose_discount_left_the_cart(function_env, client, anna, yookassa_fake):
    def release(order_id, token=anna):
        return client.post("/checkout/tilda/release", json={"order_id": order_id}, headers={"Authorization": f"Bearer {token}", "Origin": SHOP_ORIGIN})

    placed = kit_checkout(client, anna, order_id="K1", bonuses=500).get_json()
    assert account(function_env) == {"available": 0, "reserved": 500}
    answered = release("K1")
    assert answered.status_code == 200 and answered.get_json() == {"order_id": "anna:K1", "status": "canceled"}
    assert account(function_env) == {"available": 500, "reserved": 0}
    assert release("K1").get_json() == {"order_id": "anna:K1", "status": "canceled"}  # again: nothing more
    assert release("NOPE").get_json() == {"order_id": "anna:NOPE", "status": None}
    assert release("K1", token="not-a-token").status_code == 401
    # paid all the same (a second tab): settled as a late payment while its bonuses can still be had
    late = post_webhook(client, webhook_form(placed, tilda_pays(yookassa_fake, placed["money_to_pay"] + DELIVERY)))
    assert late.get_json()["result"] == "paid", late.get_data(as_text=True)
    assert account(function_env) == {"available": 0, "reserved": 0}
    assert function_env.get("orders/anna:K1")["status"] == "paid"


def test_another_customers_order_is_not_replaced(function_env, client, anna):
    registration.register_customer(function_env, config=entry.config(utcnow()), customer_id="boris", now=utcnow())
    assert kit_checkout(client, customer_token("boris"), order_id="B1", bonuses=500).status_code == 200
    # "replaces" is the caller's own reference: Anna naming B1 names anna:B1, which does not exist
    assert kit_checkout(client, anna, order_id="K1", bonuses=100, replaces="B1").status_code == 200
    assert function_env.get("orders/boris:B1")["status"] == "awaiting_payment"


def test_the_kits_discount_adds_the_promo_discount_to_the_bonuses(function_env, client, anna):
    promo.create_discount(function_env, rule=PromoRule(code="SPRING10", kind="percent", percent=Decimal(10)), now=utcnow())
    placed = kit_checkout(client, anna, bonuses=100, promo_code="spring10").get_json()
    assert (placed["promo_code"], placed["discount"], placed["discount_roubles"], placed["money_to_pay"]) == ("SPRING10", 26000 + 10000, "360.00", 224000)


def test_the_order_token_is_no_customer_token(function_env, client, anna):
    placed = kit_checkout(client, anna).get_json()
    body = {"order_id": "A2", "lines": CART, "bonuses": 0, "quote_fingerprint": "x"}
    refused = client.post("/checkout", json=body, headers={"Authorization": f"Bearer {placed['order_token']}"})
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorized"
    assert kit_checkout(client, placed["order_token"], order_id="K2").status_code == 401
    assert function_env.get("orders/anna:A2") is None and function_env.get("orders/anna:K2") is None


def test_an_id_of_a_storefront_checkout_is_not_taken_for_a_tilda_order(function_env, client, anna):
    from tests.functions.test_checkout import checkout

    assert checkout(client, anna, order_id="K1", lines=CART, bonuses=0).status_code == 200
    conflict = kit_checkout(client, anna, bonuses=0)
    assert conflict.status_code == 409 and conflict.get_json()["error"]["code"] == "idempotency_conflict"


# --- after the payment: the webhook settles -------------------------------------------------------


def test_the_post_payment_webhook_settles_the_order_once(function_env, client, anna, yookassa_fake):
    placed = kit_checkout(client, anna).get_json()
    payment_id = tilda_pays(yookassa_fake, placed["money_to_pay"] + DELIVERY)
    response = post_webhook(client, webhook_form(placed, payment_id))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"result": "paid", "order_id": "anna:K1", "status": "paid"}
    stored = function_env.get("orders/anna:K1")
    assert (stored["status"], stored["bonuses_spent"], stored["money_paid"], stored["payment"]["id"], stored["payment"]["amount"]) == ("paid", 500, 210000, payment_id, 240000)
    assert [line["price"] for line in stored["lines"]] == [100000, 60000]  # the stored lines, never the form's
    assert function_env.get(layout.payment_claim("yookassa", payment_id))["order_id"] == "anna:K1"
    b = balances(function_env, "anna", utcnow())
    assert (b.available, b.reserved, b.pending) == (0, 0, 105)  # 5 % of 2 100 ₽
    before = kinds(function_env)
    for _ in range(3):  # Tilda repeats the webhook when we are slow
        assert post_webhook(client, webhook_form(placed, payment_id)).get_json() == response.get_json()
    assert kinds(function_env) == before
    assert audit_account(function_env, "anna") == []
    assert_ledgers_sound(function_env, customers=["anna"])


def test_a_held_tilda_payment_of_the_right_amount_is_captured_and_settles(function_env, client, anna, yookassa_fake):
    placed = kit_checkout(client, anna).get_json()
    payment_id = tilda_pays(yookassa_fake, placed["money_to_pay"] + DELIVERY, capture=False)
    assert post_webhook(client, webhook_form(placed, payment_id)).get_json()["result"] == "paid"
    assert yookassa_fake.payments[payment_id]["status"] == "succeeded" and payment_id in yookassa_fake.captured


def test_two_concurrent_webhooks_for_one_order_settle_it_once(function_env, anna, yookassa_fake):
    tabs = [load_function("checkout"), load_function("checkout")]
    placed = kit_checkout(tabs[0], anna).get_json()
    payment_id = tilda_pays(yookassa_fake, placed["money_to_pay"] + DELIVERY)
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda tab: post_webhook(tab, webhook_form(placed, payment_id)), tabs))
    assert [a.status_code for a in answers] == [200, 200]
    assert [a.get_json()["result"] for a in answers] == ["paid", "paid"]
    assert kinds(function_env).count("spend") == 1 and kinds(function_env).count("purchase") == 1
    assert audit_account(function_env, "anna") == []


def test_a_yookassa_outage_is_503_and_tilda_tries_again(function_env, client, anna, yookassa_fake):
    placed = kit_checkout(client, anna).get_json()
    payment_id = tilda_pays(yookassa_fake, placed["money_to_pay"] + DELIVERY)
    yookassa_fake.outage("503")
    assert post_webhook(client, webhook_form(placed, payment_id)).status_code == 503
    assert function_env.get("orders/anna:K1")["status"] == "awaiting_payment" and account(function_env) == {"available": 0, "reserved": 500}
    yookassa_fake.outage(None)
    assert post_webhook(client, webhook_form(placed, payment_id)).get_json()["result"] == "paid"


def test_the_webhook_answers_the_ping_and_ignores_anonymous_carts_and_lead_forms(function_env, client, anna, yookassa_fake):
    assert post_webhook(client, {"test": "test"}).get_data(as_text=True) == "ok"
    placed = kit_checkout(client, anna).get_json()
    anonymous = webhook_form(placed, tilda_pays(yookassa_fake, 240000))
    del anonymous["kopilka_order"]
    assert post_webhook(client, anonymous).get_json() == {"result": "ignored", "reason": "anonymous"}
    assert post_webhook(client, {"Name": "Анна", "formid": "form1"}).get_json() == {"result": "ignored", "reason": "not_an_order"}
    assert function_env.get("orders/anna:K1")["status"] == "awaiting_payment"


def test_an_access_token_in_kopilka_token_is_not_accepted(function_env, client, anna, yookassa_fake):
    """An old form's kopilka_token (a customer's access token) is never read: nothing is placed or settled."""
    placed = kit_checkout(client, anna).get_json()
    old_form = webhook_form(placed, tilda_pays(yookassa_fake, 240000), extra={"kopilka_token": anna, "kopilka_bonuses": "500"})
    del old_form["kopilka_order"]
    assert post_webhook(client, old_form).get_json() == {"result": "ignored", "reason": "customer_token_in_form"}
    assert function_env.get("orders/anna:K1")["status"] == "awaiting_payment"
    assert "spend" not in kinds(function_env) and len(list(function_env.iter_ids("orders"))) == 1


# --- mismatches flag the order, spend and earn nothing --------------------------------------------


def _assert_flagged(store, response, reason: str, order_id="anna:K1"):
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert (answer["result"], answer["reason"]) == ("flagged", reason) and answer["message_ru"]
    stored = store.get(f"orders/{order_id}")
    assert stored["review"]["reason"] == reason and stored["review"]["message_ru"] == answer["message_ru"] and stored["flagged_at"]
    assert stored["status"] == "canceled" and "bonuses_spent" not in stored
    assert account(store) == UNSPENT  # the reservation released
    assert "spend" not in kinds(store) and "purchase" not in kinds(store)
    assert audit_account(store, "anna") == []
    assert_ledgers_sound(store, customers=["anna"])
    return answer


MISMATCHES = {
    "discount edited in the browser": ("discount_mismatch", lambda placed, pid: webhook_form(placed, pid, discount="2100.00"), 240000),
    "a quantity changed after the quote": ("cart_mismatch", lambda placed, pid: webhook_form(placed, pid, lines=[{**CART[0], "quantity": 3}, CART[1]]), 240000),
    "a product added after the quote": ("cart_mismatch", lambda placed, pid: webhook_form(placed, pid, lines=[*CART, {**CART[1], "sku": "MASK-1", "name": "Маска"}]), 240000),
    "a product removed": ("cart_mismatch", lambda placed, pid: webhook_form(placed, pid, lines=CART[:1]), 240000),
    "the paid amount differs": ("amount_mismatch", lambda placed, pid: webhook_form(placed, pid), 100000),
    "the delivery price inflated": ("amount_mismatch", lambda placed, pid: webhook_form(placed, pid, delivery=DELIVERY + 10000), 240000),
    "no online payment": ("payment_missing", lambda placed, pid: webhook_form(placed, "0"), 240000),
    "another gateway": ("payment_missing", lambda placed, pid: webhook_form(placed, pid, extra={"payment[sys]": "robokassa"}), 240000),
    "the payment is unknown to YooKassa": ("payment_not_found", lambda placed, pid: webhook_form(placed, "2d9f1c7e-000f-5000-9000-000000000000"), 240000),
}


@pytest.mark.parametrize("case", list(MISMATCHES))
def test_a_mismatch_flags_the_order_releases_its_bonuses_and_settles_nothing(function_env, client, anna, yookassa_fake, case):
    reason, form, paid = MISMATCHES[case]
    placed = kit_checkout(client, anna).get_json()
    payment_id = tilda_pays(yookassa_fake, paid)
    answer = _assert_flagged(function_env, post_webhook(client, form(placed, payment_id)), reason)
    # Tilda repeats the webhook, or sends the right one afterwards: the verdict stays
    assert post_webhook(client, form(placed, payment_id)).get_json() == answer
    good = tilda_pays(yookassa_fake, placed["money_to_pay"] + DELIVERY)
    assert post_webhook(client, webhook_form(placed, good)).get_json() == answer
    assert "spend" not in kinds(function_env)


def test_a_payment_not_succeeded_is_flagged(function_env, client, anna, yookassa_fake):
    placed = kit_checkout(client, anna).get_json()
    pending = tilda_pays(yookassa_fake, placed["money_to_pay"] + DELIVERY, succeed=False)
    _assert_flagged(function_env, post_webhook(client, webhook_form(placed, pending)), "payment_not_succeeded")


def test_the_promo_use_is_given_back_when_the_order_is_flagged(function_env, client, anna, yookassa_fake):
    promo.create_discount(function_env, rule=PromoRule(code="ONCE", kind="fixed", fixed=10000), total_limit=1, now=utcnow())
    placed = kit_checkout(client, anna, promo_code="ONCE").get_json()
    assert promo.get(function_env, "ONCE").uses == 1
    _assert_flagged(function_env, post_webhook(client, webhook_form(placed, tilda_pays(yookassa_fake, 5), discount="1.00")), "discount_mismatch")
    assert promo.get(function_env, "ONCE").uses == 0


def test_a_payment_id_settles_one_order_only(function_env, client, anna, yookassa_fake):
    first = kit_checkout(client, anna, order_id="K1", bonuses=0).get_json()
    second = kit_checkout(client, anna, order_id="K2", bonuses=500).get_json()
    payment_id = tilda_pays(yookassa_fake, first["money_to_pay"] + DELIVERY)
    assert post_webhook(client, webhook_form(first, payment_id)).get_json()["result"] == "paid"
    # the second order's form names the first order's payment (its own figures made to agree)
    reused = webhook_form(second, payment_id, delivery=first["money_to_pay"] + DELIVERY - second["money_to_pay"])
    _assert_flagged_reused = post_webhook(client, reused)
    assert _assert_flagged_reused.get_json()["reason"] == "payment_used"
    stored = function_env.get("orders/anna:K2")
    assert (stored["status"], stored["review"]["details"]["claimed_by"]) == ("canceled", "anna:K1")
    assert function_env.get("orders/anna:K1")["status"] == "paid"
    assert account(function_env) == UNSPENT and kinds(function_env).count("purchase") == 1


def test_one_payment_named_by_two_orders_at_once_settles_one_of_them(function_env, anna, yookassa_fake):
    tabs = [load_function("checkout"), load_function("checkout")]
    first = kit_checkout(tabs[0], anna, order_id="K1", bonuses=0).get_json()
    second = kit_checkout(tabs[0], anna, order_id="K2", bonuses=0, lines=[{**CART[0], "quantity": 1}]).get_json()
    payment_id = tilda_pays(yookassa_fake, first["money_to_pay"] + DELIVERY)
    forms = [webhook_form(first, payment_id), webhook_form(second, payment_id, lines=[{**CART[0], "quantity": 1}], delivery=first["money_to_pay"] + DELIVERY - second["money_to_pay"])]
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = [r.get_json() for r in pool.map(post_webhook, tabs, forms)]
    assert sorted(a["result"] for a in answers) == ["flagged", "paid"], answers
    assert [a["reason"] for a in answers if a["result"] == "flagged"] == ["payment_used"]
    statuses = sorted(function_env.get(f"orders/anna:{k}")["status"] for k in ("K1", "K2"))
    assert statuses == ["canceled", "paid"] and kinds(function_env).count("purchase") == 1
    assert audit_account(function_env, "anna") == []


def test_a_forged_order_token_settles_nothing(function_env, client, anna, yookassa_fake):
    placed = kit_checkout(client, anna).get_json()
    payment_id = tilda_pays(yookassa_fake, placed["money_to_pay"] + DELIVERY)
    for forged in (placed["order_token"][:-4] + "AAAA", anna, "not-a-token"):  # tampered, a customer's access token, junk
        answer = post_webhook(client, webhook_form({**placed, "order_token": forged}, payment_id)).get_json()
        assert (answer["result"], answer["reason"]) == ("flagged", "order_token_invalid") and answer["message_ru"]
    stored = function_env.get("orders/anna:K1")
    assert stored["status"] == "awaiting_payment" and "bonuses_spent" not in stored
    assert "spend" not in kinds(function_env) and "purchase" not in kinds(function_env)


def test_an_expired_order_token_flags_the_order(function_env, client, anna, yookassa_fake):
    placed = kit_checkout(client, anna).get_json()
    payment_id = tilda_pays(yookassa_fake, placed["money_to_pay"] + DELIVERY)
    with time_machine.travel(utcnow() + timedelta(minutes=61), tick=True):
        _assert_flagged(function_env, post_webhook(client, webhook_form(placed, payment_id)), "order_token_expired")


# --- the second path: Kopilka takes the payment ---------------------------------------------------


def _checkout_paying(client, token, *, order_id="P1", bonuses=500, return_url="https://shop.example/thanks"):
    from tests.functions.test_checkout import fingerprint

    lines = CART
    body = {"order_id": order_id, "lines": lines, "bonuses": bonuses, "quote_fingerprint": fingerprint(lines, None, bonuses), "payment": {"provider": "yookassa", "return_url": return_url}}
    return client.post("/checkout", json=body, headers={"Authorization": f"Bearer {token}", "Origin": SHOP_ORIGIN})


def test_checkout_creates_the_yookassa_payment_and_its_notification_settles_the_order(function_env, client, anna, yookassa_fake):
    response = _checkout_paying(client, anna)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    payment = yookassa_fake.payments[answer["payment_id"]]
    assert answer["confirmation_url"] == payment["confirmation"]["confirmation_url"] and answer["money_to_pay"] == 210000
    sent = yookassa_fake.created[-1]
    assert (sent["capture"], sent["metadata"], sent["confirmation"]) == (True, {"order_id": "anna:P1"}, {"type": "redirect", "return_url": "https://shop.example/thanks"})
    assert "receipt" not in sent  # payments.receipt is off by default
    PaymentRequest(sent).validate()  # the body is a payment request the official SDK accepts
    assert PaymentResponse(payment).confirmation.confirmation_url == answer["confirmation_url"]  # and its answer parses with the SDK's model
    assert _checkout_paying(client, anna).get_json() == answer and len(yookassa_fake.created) == 1 and len(yookassa_fake.payments) == 1  # a retry: the same payment
    yookassa_fake.succeed(answer["payment_id"])
    paid = load_function("order_paid")
    body = json.dumps(notification("payment.succeeded", yookassa_fake.payments[answer["payment_id"]]))
    for _ in range(2):  # YooKassa redelivers
        result = paid.post("/yookassa", data=body, headers={"X-Forwarded-For": YOOKASSA_PEER}, content_type="application/json").get_json()
        assert (result["result"], result["status"]) == ("paid", "paid")
    stored = function_env.get("orders/anna:P1")
    assert (stored["status"], stored["bonuses_spent"], stored["money_paid"]) == ("paid", 500, 210000)
    assert kinds(function_env).count("spend") == 1 and audit_account(function_env, "anna") == []


def test_a_yookassa_outage_at_checkout_is_503_and_the_retry_gets_the_payment(function_env, client, anna, yookassa_fake):
    yookassa_fake.outage("503")
    failed = _checkout_paying(client, anna)
    assert failed.status_code == 503 and failed.get_json()["error"]["code"] == "provider_unavailable"
    assert account(function_env) == {"available": 0, "reserved": 500} and yookassa_fake.payments == {}  # placed, nothing to pay yet
    yookassa_fake.outage(None)
    answer = _checkout_paying(client, anna).get_json()
    assert answer["confirmation_url"] and list(yookassa_fake.payments) == [answer["payment_id"]]
    assert account(function_env) == {"available": 0, "reserved": 500}


def test_a_shop_that_must_send_receipts_gets_a_54_fz_receipt_with_the_payment(function_env, client, anna, yookassa_fake, monkeypatch):
    from shared.domain.config import ProgramConfig

    config = entry.config(utcnow())
    with_receipt = config.model_copy(update={"payments": config.payments.model_copy(update={"receipt": True})})
    monkeypatch.setattr(entry, "config", lambda now: with_receipt)
    assert isinstance(with_receipt, ProgramConfig)
    function_env.run(lambda uow: uow.put("customers/anna", {**uow.get("customers/anna"), "phone": "+79000000000"}))
    yookassa_fake.receipts_required = True
    answer = _checkout_paying(client, anna, bonuses=333).get_json()
    receipt = yookassa_fake.created[-1]["receipt"]
    assert receipt["customer"] == {"phone": "79000000000"}
    total = sum(round(Decimal(item["amount"]["value"]) * 100 * Decimal(item["quantity"])) for item in receipt["items"])
    assert total == answer["money_to_pay"] == 260000 - 33300
    assert {(item["vat_code"], item["payment_subject"], item["payment_mode"]) for item in receipt["items"]} == {(1, "commodity", "full_payment")}
    PaymentRequest(yookassa_fake.created[-1]).validate()


# --- both paths: the same settlement, the same replays and races ------------------------------------


def _settle_by_tilda(client, function_env, fake, token):
    placed = kit_checkout(client, token).get_json()
    payment_id = tilda_pays(fake, placed["money_to_pay"] + DELIVERY)
    return "anna:K1", lambda fn: post_webhook(fn, webhook_form(placed, payment_id)).get_json()["result"], "checkout"


def _settle_by_yookassa(client, function_env, fake, token):
    answer = _checkout_paying(client, token).get_json()
    fake.succeed(answer["payment_id"])
    body = json.dumps(notification("payment.succeeded", fake.payments[answer["payment_id"]]))
    return "anna:P1", lambda fn: fn.post("/yookassa", data=body, headers={"X-Forwarded-For": YOOKASSA_PEER}, content_type="application/json").get_json()["result"], "order_paid"


@pytest.mark.parametrize("path", [_settle_by_tilda, _settle_by_yookassa], ids=["tilda", "kopilka_takes_the_payment"])
def test_both_paths_settle_once_under_replays_and_races(function_env, client, anna, yookassa_fake, path):
    order_id, deliver, function = path(client, function_env, yookassa_fake, anna)
    receivers = [load_function(function) for _ in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(deliver, receivers))
    assert results == ["paid"] * 3
    assert deliver(receivers[0]) == "paid"  # and once more, later
    stored = function_env.get(f"orders/{order_id}")
    assert (stored["status"], stored["bonuses_spent"], stored["money_paid"], stored["points_earned"]) == ("paid", 500, 210000, 105)
    assert kinds(function_env).count("spend") == 1 and kinds(function_env).count("purchase") == 1
    assert audit_account(function_env, "anna") == []
    assert_ledgers_sound(function_env, customers=["anna"])
