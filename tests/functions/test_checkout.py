"""The checkout function through functions-framework: storefront checkout and Tilda's webhook, on the emulator."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from shared.domain.cart import CartLine, PromoRule, cart_fingerprint
from shared.edge import entry
from shared.services import orders, promo, registration
from shared.services.ledger import all_postings, audit_account, balances
from tests.conftest import SHOP_ORIGIN, TEST_ENV, customer_token, load_function

CART = [{"id": "serum", "name": "Сыворотка", "price": 100000, "quantity": 2}]  # 2 000 ₽: up to 1 000 bonuses
TILDA = f"/tilda/{TEST_ENV['KOPILKA_TILDA_TOKEN']}"


@pytest.fixture
def client(function_env):
    return load_function("checkout")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def register(store, customer_id: str) -> str:
    registration.register_customer(store, config=entry.config(utcnow()), customer_id=customer_id, now=utcnow())  # 500 welcome bonuses
    return customer_token(customer_id)


def fingerprint(lines=CART, promo_code: str | None = None, bonuses: int = 0) -> str:
    return cart_fingerprint([CartLine.model_validate(line) for line in lines], promo_code, bonuses, False)


def checkout(client, token: str | None, *, order_id="A1", lines=CART, bonuses=0, promo_code=None, quote_fingerprint=None, origin=SHOP_ORIGIN):
    body = {"order_id": order_id, "lines": lines, "bonuses": bonuses, "quote_fingerprint": quote_fingerprint or fingerprint(lines, promo_code.upper() if promo_code else None, bonuses)}
    if promo_code is not None:
        body["promo_code"] = promo_code
    headers = {"Origin": origin} if origin else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.post("/checkout", json=body, headers=headers)


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "message_ru", "details"}
    assert body["error"]["code"] == code and body["error"]["message_ru"]
    return body["error"]


def nothing_placed(store) -> bool:
    return list(store.iter_ids("orders")) == []


# --- storefront checkout ------------------------------------------------------------------------


def test_checkout_with_the_quote_the_customer_saw(function_env, client):
    token = register(function_env, "anna")
    quote = load_function("cart_quote").post("/quote", json={"lines": CART, "bonuses": 500}, headers={"Authorization": f"Bearer {token}", "Origin": SHOP_ORIGIN}).get_json()
    response = checkout(client, token, bonuses=500, quote_fingerprint=quote["cart_fingerprint"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    order = response.get_json()
    assert order == {
        "order_id": "anna:A1",  # issued in her namespace
        "status": "awaiting_payment",
        "bonuses_requested": 500,
        "bonuses_reserved": 500,
        "discount": 0,
        "money_to_pay": quote["money_to_pay"],
        "points_to_earn": quote["points_to_earn"],
        "promo_code": None,
        "quote_fingerprint": quote["cart_fingerprint"],
    }
    assert (order["money_to_pay"], order["points_to_earn"]) == (150000, 75)
    b = balances(function_env, "anna", utcnow())
    assert (b.available, b.reserved, b.total) == (0, 500, 500)
    stored = function_env.get("orders/anna:A1")
    assert (stored["customer_id"], stored["source"], stored["status"]) == ("anna", "storefront", "awaiting_payment")


def test_checkout_is_idempotent_by_order_id(function_env, client):
    token = register(function_env, "anna")
    first = checkout(client, token, bonuses=300)
    second = checkout(client, token, bonuses=300)
    assert first.status_code == second.status_code == 200
    assert first.get_json() == second.get_json()
    assert balances(function_env, "anna", utcnow()).reserved == 300
    other_cart = [{**CART[0], "quantity": 3}]
    assert_error(checkout(client, token, lines=other_cart, bonuses=300), 409, "idempotency_conflict")
    assert balances(function_env, "anna", utcnow()).reserved == 300


def test_an_order_id_taken_first_by_another_customer_does_not_block_a_checkout(function_env, client):
    anna, mallory = register(function_env, "anna"), register(function_env, "mallory")
    squatted = checkout(client, mallory, order_id="A1", lines=[{**CART[0], "quantity": 1}])  # Mallory guesses Anna's next order number
    assert squatted.status_code == 200
    placed = checkout(client, anna, order_id="A1", bonuses=300)
    assert placed.status_code == 200, placed.get_data(as_text=True)
    order_id = placed.get_json()["order_id"]
    assert order_id != squatted.get_json()["order_id"]
    assert (orders.get_order(function_env, order_id).customer_id, orders.get_order(function_env, squatted.get_json()["order_id"]).customer_id) == ("anna", "mallory")
    assert checkout(client, anna, order_id="A1", bonuses=300).get_json() == placed.get_json()  # her retry is still a replay
    assert balances(function_env, "anna", utcnow()).reserved == 300


def test_a_stale_quote_is_409_and_nothing_is_reserved(function_env, client):
    token = register(function_env, "anna")
    postings_before = len(list(all_postings(function_env, "anna")))
    stale = fingerprint(CART, None, 500)  # quoted for 2 units, now the cart has 3
    error = assert_error(checkout(client, token, lines=[{**CART[0], "quantity": 3}], bonuses=500, quote_fingerprint=stale), 409, "stale_quote")
    assert error["details"]["got"] == stale
    assert nothing_placed(function_env)
    b = balances(function_env, "anna", utcnow())
    assert (b.available, b.reserved) == (500, 0)
    assert len(list(all_postings(function_env, "anna"))) == postings_before


def test_two_tabs_cannot_spend_the_same_bonuses(function_env):
    token = register(function_env, "anna")
    tabs = [load_function("checkout"), load_function("checkout")]

    def place(n):
        return checkout(tabs[n], token, order_id=f"TAB{n}", bonuses=500)

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(place, range(2)))
    assert all(r.status_code == 200 for r in responses), [r.get_data(as_text=True) for r in responses]
    reserved = sorted(r.get_json()["bonuses_reserved"] for r in responses)
    assert reserved == [0, 500]
    b = balances(function_env, "anna", utcnow())
    assert (b.available, b.reserved, b.total) == (0, 500, 500)
    assert audit_account(function_env, "anna") == []


def test_two_tabs_one_after_the_other_get_what_is_left(function_env, client):
    token = register(function_env, "anna")
    small = [{"id": "cream", "price": 60000, "quantity": 1}]  # 600 ₽: at most 300 bonuses
    assert checkout(client, token, order_id="T1", lines=small, bonuses=500).get_json()["bonuses_reserved"] == 300
    assert checkout(client, token, order_id="T2", lines=small, bonuses=500).get_json()["bonuses_reserved"] == 200
    assert checkout(client, token, order_id="T3", lines=small, bonuses=500).get_json()["bonuses_reserved"] == 0
    b = balances(function_env, "anna", utcnow())
    assert (b.available, b.reserved) == (0, 500)


def test_promo_limits_at_checkout(function_env, client):
    promo.create_discount(function_env, rule=PromoRule(code="SPRING10", kind="percent", percent=Decimal(10)), total_limit=2, per_customer_limit=1, now=utcnow())
    anna, boris, vera = (register(function_env, name) for name in ("anna", "boris", "vera"))
    placed = checkout(client, anna, order_id="A1", promo_code="spring10", bonuses=100)
    assert placed.status_code == 200
    assert (placed.get_json()["promo_code"], placed.get_json()["discount"], placed.get_json()["money_to_pay"]) == ("SPRING10", 20000, 170000)
    error = assert_error(checkout(client, anna, order_id="A2", promo_code="spring10", bonuses=100), 422, "promo_customer_limit")
    assert error["details"]["promo_code"] == "SPRING10"
    assert balances(function_env, "anna", utcnow()).reserved == 100  # only A1's; A2 reserved nothing
    assert checkout(client, boris, order_id="B1", promo_code="SPRING10").status_code == 200
    assert_error(checkout(client, vera, order_id="V1", promo_code="Spring10", bonuses=100), 422, "promo_exhausted")
    assert (function_env.get("orders/vera:V1"), balances(function_env, "vera", utcnow()).reserved) == (None, 0)
    orders.mark_canceled(function_env, order_id="boris:B1", now=utcnow(), reason="timeout")
    assert checkout(client, vera, order_id="V1", promo_code="Spring10", bonuses=100).status_code == 200
    assert promo.get(function_env, "SPRING10").uses == 2


def test_checkout_needs_a_customer_token(function_env, client):
    assert_error(checkout(client, None), 401, "unauthorized")
    assert_error(checkout(client, "forged"), 401, "unauthorized")
    assert_error(checkout(client, customer_token("ghost")), 404, "not_found")
    assert nothing_placed(function_env)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"order_id": "A1", "lines": CART, "bonuses": 0},  # no fingerprint
        {"order_id": "A1", "lines": CART, "bonuses": -5, "quote_fingerprint": "x"},
        {"order_id": "A/1", "lines": CART, "bonuses": 0, "quote_fingerprint": "x"},
        {"order_id": "tilda-1", "lines": CART, "bonuses": 0, "quote_fingerprint": "x"},
        {"order_id": "A1", "lines": [], "bonuses": 0, "quote_fingerprint": "x"},
        {"order_id": "A1", "lines": CART * 2, "bonuses": 0, "quote_fingerprint": "x"},
        {"order_id": "A1", "lines": CART, "bonuses": 0, "quote_fingerprint": "x", "extra": 1},
    ],
)
def test_bad_checkout_bodies_are_400(function_env, client, body):
    token = register(function_env, "anna")
    response = client.post("/checkout", json=body, headers={"Authorization": f"Bearer {token}", "Origin": SHOP_ORIGIN})
    assert_error(response, 400, "validation_failed")
    assert nothing_placed(function_env)


def test_malformed_json_is_400(function_env, client):
    token = register(function_env, "anna")
    for raw in (b"{oops", b"[" * 5000):
        response = client.post("/checkout", data=raw, content_type="application/json", headers={"Authorization": f"Bearer {token}"})
        assert_error(response, 400, "validation_failed")


def test_cors_for_the_shop_only(client):
    assert client.options("/checkout", headers={"Origin": SHOP_ORIGIN, "Access-Control-Request-Method": "POST"}).headers["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    assert client.options("/checkout", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}).status_code == 403


# --- Tilda's webhook ----------------------------------------------------------------------------


def tilda_form(order_token: str | None = "not-checked-for-these-tests", *, orderid="1869817991") -> dict[str, str]:
    fields = {
        "Name": "Анна",
        "Phone": "+79000000000",
        "formid": "form42581206",
        "payment[orderid]": orderid,
        "payment[sys]": "yakassa",
        "payment[systranid]": "0",
        "payment[products][0]": "Сыворотка x 2 ≡ 1 000",
        "payment[products][1][name]": "Крем",
        "payment[products][1][quantity]": "1",
        "payment[products][1][price]": "1000.50",
        "payment[amount]": "2000.5",
    }
    if order_token is not None:
        fields["kopilka_order"] = order_token
    return fields


def post_form(client, path: str, fields: dict[str, str]):
    return client.post(path, data=urlencode(fields), content_type="application/x-www-form-urlencoded")


def test_tilda_ping(function_env, client):
    response = post_form(client, TILDA, {"test": "test"})
    assert (response.status_code, response.get_data(as_text=True)) == (200, "ok")
    assert nothing_placed(function_env)


def test_tilda_anonymous_orders_and_lead_forms_are_ignored(function_env, client):
    response = post_form(client, TILDA, tilda_form(None))
    assert (response.status_code, response.get_json()) == (200, {"result": "ignored", "reason": "anonymous"})
    lead = post_form(client, TILDA, {"Name": "Анна", "Phone": "+79000000000", "formid": "form1"})
    assert (lead.status_code, lead.get_json()) == (200, {"result": "ignored", "reason": "not_an_order"})
    assert nothing_placed(function_env)


@pytest.mark.reliability
@pytest.mark.parametrize(
    "changes",
    [{"payment[delivery_price]": "²"}, {"payment[products][²]": "Крем=10"}, {"payment[products][①][name]": "Крем"}],
)
def test_tilda_bodies_with_other_scripts_digits_are_400_and_write_nothing(function_env, client, capsys, changes):
    capsys.readouterr()
    response = post_form(client, TILDA, {**tilda_form(), **changes})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "validation_failed"
    assert nothing_placed(function_env)
    assert TEST_ENV["KOPILKA_TILDA_TOKEN"] not in capsys.readouterr().out  # the webhook's secret is never logged


@pytest.mark.parametrize("path", ["/tilda/wrong-secret", "/tilda/" + TEST_ENV["KOPILKA_TILDA_TOKEN"] + "x", "/tilda"])
def test_tilda_with_a_forged_secret_is_403_and_writes_nothing(function_env, client, path):
    register(function_env, "anna")
    assert_error(post_form(client, path, tilda_form()), 403, "forbidden")
    assert_error(post_form(client, path, {"test": "test"}), 403, "forbidden")
    assert nothing_placed(function_env)
    assert balances(function_env, "anna", utcnow()).reserved == 0


def test_tilda_without_a_configured_secret_refuses_everything(function_env, client, monkeypatch):
    from shared.platform.settings import reload

    monkeypatch.setenv("KOPILKA_TILDA_TOKEN", "")
    reload()
    try:
        assert_error(post_form(client, "/tilda/", {"test": "test"}), 403, "forbidden")
        assert_error(post_form(client, "/tilda/anything", {"test": "test"}), 403, "forbidden")
    finally:
        monkeypatch.setenv("KOPILKA_TILDA_TOKEN", TEST_ENV["KOPILKA_TILDA_TOKEN"])
        reload()


@pytest.mark.parametrize(
    "change",
    [
        {"payment[products][0]": "no price here"},
        {"payment[products][0]": "Сыворотка x 3 ≡ 1 000"},  # 333.33… a unit
        {"payment[delivery_price]": "-1"},
        {"payment[orderid]": ""},
    ],
)
def test_tilda_malformed_orders_are_400(function_env, client, change):
    assert_error(post_form(client, TILDA, {**tilda_form(), **change}), 400, "validation_failed")
    assert nothing_placed(function_env)
