"""The personal account through functions-framework, on the emulator with the Biomiq program:
own data only, tokens, profile, balance, history pages, orders, the B2B group, the partner
dashboard without referee data, and payout requests held, decided and paid."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone

import pytest

from shared.domain.cart import CartLine
from shared.domain.errors import IdempotencyConflict, InvalidState, NotFound, ValidationFailed
from shared.domain.ledger import Accrue, Adjust
from shared.platform import tokens
from shared.platform.sealing import payout_sealer
from shared.platform.settings import reload
from shared.presets import preset_data
from shared.services import account_sweep, delivery, ledger, orders, payouts, program, registration
from shared.services.ledger import AccountSession, audit_account, balances, load_account
from tests.conftest import SHOP_ORIGIN, TEST_ENV, customer_token, load_function
from tests.functions.shop import config, customer, now, paid_order

SOAP = [CartLine(id="soap", price=20000, quantity=1)]  # 200 ₽
ROUTES = [("GET", "/profile"), ("POST", "/profile"), ("GET", "/balance"), ("GET", "/history"), ("GET", "/orders"), ("GET", "/partner"), ("POST", "/payouts"), ("GET", "/payouts")]


@pytest.fixture
def store(function_env):
    return function_env


@pytest.fixture
def client(function_env):
    return load_function("account")


def call(client, method: str, path: str, *, token: str | None = None, body=None, query: dict | None = None, origin: str | None = SHOP_ORIGIN, headers: dict | None = None):
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    if origin is not None:
        all_headers["Origin"] = origin
    if method == "GET":
        return client.get(path, query_string=query or {}, headers=all_headers)
    return client.post(path, json=body if body is not None else {}, query_string=query or {}, headers=all_headers)


def ok(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message_ru"]
    return body["error"]


def adjust(store, customer_id: str, amount: int, reason: str, *, key: str, expires_in: timedelta = timedelta(days=365)) -> None:
    at = now()
    ledger.post(store, customer_id, key, Adjust(amount=amount, actor="test-admin", reason=reason, expires_at=at + expires_in), now=at)


def reward(store, customer_id: str, amount: int, *, key: str) -> None:
    """A referral reward of ``amount`` bonuses, past its hold: payable (credited as the reward of a delivered order is)."""
    at = now()
    ledger.post(store, customer_id, f"referral:{key}", Accrue(amount=amount, source="referral", ref=key, activates_at=at, expires_at=at + timedelta(days=365), order_id=key), now=at)


def set_profile(store, customer_id: str, **fields) -> None:
    def unit(uow):
        session = AccountSession(uow, customer_id)
        session.record = session.record.set_profile(**fields)
        session.save()

    store.run(unit)


# --- credentials -------------------------------------------------------------------------------


@pytest.mark.parametrize("method,path", ROUTES)
def test_every_route_needs_a_valid_customer_token(client, store, method, path):
    customer(store, "anna")
    admin_kind = tokens.issue(TEST_ENV["KOPILKA_TOKEN_SECRET"], subject="anna", now=now(), ttl_seconds=600, kind="admin")
    other_secret = tokens.issue("another-secret-of-at-least-32-bytes!!", subject="anna", now=now(), ttl_seconds=600)
    bad = [
        None,
        "not-a-jwt",
        customer_token("anna") + "x",  # tampered signature
        customer_token("anna", now=now() - timedelta(hours=2)),  # expired
        admin_kind,  # the wrong kind of token
        other_secret,
    ]
    for token in bad:
        assert_error(call(client, method, path, token=token), 401, "unauthorized")
    assert_error(call(client, method, path, headers={"Authorization": "Basic YW5uYTp4"}), 401, "unauthorized")
    assert load_account(store, "anna").seq == 2  # nothing was written: the open and the welcome postings only


def test_a_token_of_an_unknown_customer_is_404_and_creates_nothing(client, store):
    for method, path in ROUTES:
        if method == "GET":
            assert_error(call(client, method, path, token=customer_token("ghost")), 404, "not_found")
    assert_error(call(client, "POST", "/profile", token=customer_token("ghost"), body={"name": "Призрак"}), 404, "not_found")
    assert store.get("customers/ghost") is None


def test_cors_preflight_for_the_shop_only(client):
    preflight = client.options("/balance", headers={"Origin": SHOP_ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    assert client.options("/balance", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}).status_code == 403
    assert_error(call(client, "GET", "/balance", token=customer_token("anna"), origin="https://evil.example"), 403, "forbidden")


# --- own data only --------------------------------------------------------------------------------


def test_a_customer_sees_only_their_own_data_and_cannot_name_another(client, store):
    customer(store, "maria")
    paid_order(store, "A1", "anna", bonuses=0)  # anna: 500 welcome + a paid order
    set_profile(store, "anna", name="Анна", email="anna@example.com", phone="+79160000001")
    anna, maria = customer_token("anna"), customer_token("maria")

    assert ok(call(client, "GET", "/profile", token=maria))["name"] is None
    assert ok(call(client, "GET", "/profile", token=anna))["name"] == "Анна"
    assert ok(call(client, "GET", "/orders", token=maria))["items"] == []
    assert [o["order_id"] for o in ok(call(client, "GET", "/orders", token=anna))["items"]] == ["A1"]
    anna_balance, maria_balance = ok(call(client, "GET", "/balance", token=anna)), ok(call(client, "GET", "/balance", token=maria))
    assert anna_balance["pending"] == 155 and maria_balance["pending"] == 0  # 5 % of anna's 3 100 ₽
    assert all(item["order_id"] is None for item in ok(call(client, "GET", "/history", token=maria))["items"])

    # no parameter, body field or cursor names another customer
    for method, path in ROUTES:
        if method == "GET":
            assert_error(call(client, "GET", path, token=maria, query={"customer_id": "anna"}), 400, "validation_failed")
    assert_error(call(client, "POST", "/profile", token=maria, body={"customer_id": "anna", "name": "Мария"}), 400, "validation_failed")
    assert_error(call(client, "POST", "/payouts", token=maria, body={"customer_id": "anna", "request_id": "req-00000001", "amount": 500, "method": "bonus_account"}), 400, "validation_failed")
    assert ok(call(client, "GET", "/orders", token=maria, query={"cursor": "A0"}))["items"] == []  # anna's order ids lead nowhere
    assert store.get("customers/anna")["name"] == "Анна"

    # a payout request id taken by another customer is a conflict that reveals nothing
    reward(store, "anna", 1000, key="ref-x-anna")
    reward(store, "maria", 1000, key="ref-x-maria")
    asked = {"request_id": "anna-req-0001", "amount": 600, "method": "card", "details": "4111 1111 1111 1111"}
    ok(call(client, "POST", "/payouts", token=anna, body=asked))
    error = assert_error(call(client, "POST", "/payouts", token=maria, body=asked), 409, "idempotency_conflict")
    assert "anna" not in json.dumps(error)
    assert ok(call(client, "GET", "/payouts", token=maria))["items"] == []
    assert [p["request_id"] for p in ok(call(client, "GET", "/payouts", token=anna))["items"]] == ["anna-req-0001"]
    assert balances(store, "maria", now()).reserved == 0


# --- profile -------------------------------------------------------------------------------------


def test_profile_edits_keep_the_ledger_and_write_the_birthday_the_sweep_reads(client, store):
    paid_order(store, "A1", "anna", bonuses=200)
    token = customer_token("anna")
    before = store.get("customers/anna")
    assert ok(call(client, "GET", "/profile", token=token)) == {
        "phone": None,
        "name": None,
        "email": None,
        "birthday": None,
        "notifications": {"sms": True, "email": False, "telegram": False},
        "tz": "Europe/Moscow",
    }
    updated = ok(call(client, "POST", "/profile", token=token, body={"name": "  Анна   Петрова ", "email": "Anna@Example.COM", "birthday": "1990-02-28", "notifications": {"telegram": True}}))
    assert updated == {
        "phone": None,
        "name": "Анна Петрова",
        "email": "anna@example.com",
        "birthday": "1990-02-28",
        "notifications": {"sms": True, "email": False, "telegram": True},
        "tz": "Europe/Moscow",
    }
    stored = store.get("customers/anna")
    assert (stored["birthday"], stored["birthday_md"]) == ("1990-02-28", "02-28")
    for name in ("lots", "reservations", "seq", "level", "group", "paid_total", "paid_by_day", "next_expiry_at", "invited_by", "first_paid_at"):
        assert stored[name] == before[name], name
    assert audit_account(store, "anna") == []

    # partial: only the fields sent change; null removes the e-mail
    assert ok(call(client, "POST", "/profile", token=token, body={"email": None}))["email"] is None

    # the time zone of the quiet hours: stored as sent, null back to Moscow
    assert ok(call(client, "POST", "/profile", token=token, body={"tz": "Asia/Yekaterinburg"}))["tz"] == "Asia/Yekaterinburg"
    assert store.get("customers/anna")["tz"] == "Asia/Yekaterinburg"
    assert ok(call(client, "POST", "/profile", token=token, body={"tz": None}))["tz"] == "Europe/Moscow"
    assert ok(call(client, "GET", "/profile", token=token))["name"] == "Анна Петрова"
    # the birthday is set once: the year may be corrected, the day may not move
    assert ok(call(client, "POST", "/profile", token=token, body={"birthday": "1991-02-28"}))["birthday"] == "1991-02-28"
    assert ok(call(client, "POST", "/profile", token=token, body={"birthday": "02-28"}))["birthday"] == "02-28"
    assert_error(call(client, "POST", "/profile", token=token, body={"birthday": "03-01"}), 422, "birthday_locked")
    assert store.get("customers/anna")["birthday_md"] == "02-28"


def test_a_month_day_birthday_is_queried_by_the_sweep(client, store):
    customer(store, "anna")
    ok(call(client, "POST", "/profile", token=customer_token("anna"), body={"birthday": "02-29"}))
    assert store.matching("customers", field="birthday_md", value="02-29", limit=10) == ["anna"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "Анна\u0000"},
        {"name": "А" * 201},
        {"email": "anna"},
        {"email": "anna@localhost"},
        {"email": "a b@example.com"},
        {"birthday": "1990-13-01"},
        {"birthday": "02-30"},
        {"birthday": "1990-2-1"},
        {"birthday": "2999-01-01"},
        {"birthday": "1850-01-01"},
        {"birthday": None},
        {"birthday": 19900101},
        {"notifications": {"sms": "yes"}},
        {"notifications": {"pigeon": True}},
        {"tz": "Mars/Olympus"},
        {"tz": "../etc/passwd"},
        {"tz": 3},
        {"phone": "+79160000000"},
        {"balance": 100000},
        [],
    ],
)
def test_bad_profile_edits_are_400_and_write_nothing(client, store, body):
    customer(store, "anna")
    before = store.get("customers/anna")
    assert_error(call(client, "POST", "/profile", token=customer_token("anna"), body=body), 400, "validation_failed")
    assert store.get("customers/anna") == before


# --- balance ------------------------------------------------------------------------------------


def test_balance_level_progress_and_bonuses_expiring_soon(client, store):
    paid_order(store, "A1", "anna", bonuses=500)  # 3 100 ₽ less 500 bonuses: 2 600 ₽ paid, 130 pending
    adjust(store, "anna", 70, "Компенсация за задержку", key="adj-soon", expires_in=timedelta(days=10))
    adjust(store, "anna", 40, "Подарок", key="adj-later", expires_in=timedelta(days=90))
    at = now()
    orders.place_order(store, config=config(at), customer_id="anna", order_id="A2", lines=SOAP, bonuses=20, now=at)  # reserves 20 of the 70
    body = ok(call(client, "GET", "/balance", token=customer_token("anna")))
    assert body["bonuses_excluded"] is False
    assert body["level"] == {"code": "level1", "name": "1-й уровень"}
    assert body["next_level"] == {"code": "level2", "name": "2-й уровень", "remaining_kopecks": 3000000 - 260000, "remaining_roubles": 27400}
    assert body["qualifying_total_kopecks"] == 260000
    assert (body["available"], body["pending"], body["reserved"], body["held_for_payouts"], body["debt"], body["total"]) == (90, 130, 20, 0, 0, 240)
    assert (body["expiring_soon"]["days"], body["expiring_soon"]["amount"]) == (30, 50)  # the 40 expire in 90 days, the 130 in a year
    assert datetime.fromisoformat(body["expiring_soon"]["next_expiry_at"]) <= at + timedelta(days=10, minutes=1)


# --- history ------------------------------------------------------------------------------------


def test_history_pages_newest_first_with_reasons(client, store):
    paid_order(store, "B-1003", "anna", bonuses=300)
    for n in range(23):
        adjust(store, "anna", 1 + n, f"жест доброй воли {n}", key=f"adj-{n}")
    token = customer_token("anna")
    pages, cursor = [], None
    while True:
        query = {"limit": "10"} if cursor is None else {"limit": "10", "cursor": cursor}
        page = ok(call(client, "GET", "/history", token=token, query=query))
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(page["items"]) == 10
    items = [item for page in pages for item in page]
    assert len(items) == 26 and len({item["id"] for item in items}) == 26  # 23 adjustments, welcome, spend, accrual
    assert [item["at"] for item in items] == sorted((item["at"] for item in items), reverse=True)
    assert items[0] == {**items[0], "kind": "adjustment", "reason": "Корректировка: жест доброй воли 22", "delta": 23}
    reasons = {item["reason"]: item for item in items[-3:]}
    assert reasons["Начисление за заказ B-1003"]["delta"] == 140 and reasons["Начисление за заказ B-1003"]["order_id"] == "B-1003"
    assert reasons["Начисление за заказ B-1003"]["activates_at"] is None  # held until delivery
    assert reasons["Списание в заказе B-1003"]["delta"] == -300
    assert reasons["Приветственный бонус"]["delta"] == 500 and reasons["Приветственный бонус"]["expires_at"]
    assert ok(call(client, "GET", "/history", token=token, query={"cursor": "1"})) == {"bonuses_excluded": False, "items": [], "next_cursor": None}


def test_history_shows_expiry_refunds_and_clawbacks(client, store):
    at = now()
    paid_order(store, "A1", "anna", bonuses=500, at=at)
    orders.mark_returned(store, config=config(at), order_id="A1", return_id="r1", returns={"cream": 2}, now=at)
    adjust(store, "anna", 5, "мелочь", key="adj-short", expires_in=timedelta(seconds=1))
    account_sweep.sweep_account(store, config=config(at), customer_id="anna", now=at + timedelta(seconds=5))
    items = ok(call(client, "GET", "/history", token=customer_token("anna")))["items"]
    kinds = [item["kind"] for item in items]
    assert kinds[:4] == ["expiry", "adjustment", "clawback", "refund"]  # the return gives spent bonuses back, then claws back
    assert items[0]["reason"] == "Сгорание бонусов" and items[0]["delta"] == -5
    assert next(item for item in items if item["kind"] == "refund")["reason"] == "Возврат бонусов по заказу A1"
    assert next(item for item in items if item["kind"] == "clawback")["reason"].startswith("Отмена начисления по заказу A1")
    assert audit_account(store, "anna") == []


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"cursor": "abc"}, {"cursor": "-5"}, {"cursor": "0"}, {"cursor": "1" * 30}, {"page": "2"}])
def test_bad_history_queries_are_400(client, store, query):
    customer(store, "anna")
    assert_error(call(client, "GET", "/history", token=customer_token("anna"), query=query), 400, "validation_failed")


# --- orders ---------------------------------------------------------------------------------------


def test_orders_with_status_tracking_and_bonuses(client, store):
    at = now()
    paid_order(store, "A1", "anna", bonuses=500, at=at)
    delivery.attach_tracking(store, order_id="A1", carrier="cdek", tracking="1234567890", now=at)
    orders.place_order(store, config=config(at), customer_id="anna", order_id="A2", lines=SOAP, bonuses=0, now=at)
    orders.place_order(store, config=config(at), customer_id="anna", order_id="A3", lines=SOAP, bonuses=0, now=at)
    orders.mark_canceled(store, order_id="A3", now=at, reason="test")
    token = customer_token("anna")
    first = ok(call(client, "GET", "/orders", token=token, query={"limit": "2"}))
    assert [o["order_id"] for o in first["items"]] == ["A1", "A2"] and first["next_cursor"] == "A2"
    a1, a2 = first["items"]
    assert (a1["status"], a1["money_kopecks"], a1["bonuses_spent"], a1["points_earned"]) == ("paid", 260000, 500, 130)
    assert a1["delivery"]["carrier"] == "cdek" and a1["delivery"]["tracking"] == "1234567890"
    assert (a2["status"], a2["delivery"], a2["points_earned"]) == ("awaiting_payment", None, 10)
    rest = ok(call(client, "GET", "/orders", token=token, query={"limit": "2", "cursor": first["next_cursor"]}))
    assert [(o["order_id"], o["status"], o["bonuses_spent"], o["points_earned"]) for o in rest["items"]] == [("A3", "canceled", 0, 0)]
    assert rest["next_cursor"] is None
    assert_error(call(client, "GET", "/orders", token=token, query={"limit": "51"}), 400, "validation_failed")
    assert_error(call(client, "GET", "/orders", token=token, query={"cursor": "../customers/maria"}), 400, "validation_failed")


# --- a group excluded from bonuses -------------------------------------------------------------------


@pytest.fixture
def b2b_program(store):
    raw = preset_data("biomiq")
    raw["groups"] = [{"code": "b2c", "name": "Розница"}, {"code": "b2b", "name": "Опт", "bonuses_excluded": True}]
    effective = datetime(2021, 1, 1, tzinfo=timezone.utc)
    program.publish(store, raw=raw, author="test", reason="b2b group", effective_from=effective, now=effective - timedelta(seconds=1))
    return store


def test_an_excluded_group_sees_its_level_and_no_bonus_data(client, b2b_program):
    store = b2b_program
    registration.register_customer(store, config=config(), customer_id="opt", now=now(), group="b2b")
    paid_order(store, "W1", "opt", bonuses=0, register=False)
    token = customer_token("opt")
    excluded = {"level": {"code": "level1", "name": "1-й уровень"}, "bonuses_excluded": True}
    assert ok(call(client, "GET", "/balance", token=token)) == excluded
    assert ok(call(client, "GET", "/history", token=token)) == excluded
    assert ok(call(client, "GET", "/partner", token=token)) == excluded
    assert ok(call(client, "GET", "/payouts", token=token)) == excluded
    assert set(ok(call(client, "GET", "/orders", token=token))["items"][0]) == {"order_id", "created_at", "status", "money_kopecks", "delivery"}
    assert_error(call(client, "POST", "/payouts", token=token, body={"request_id": "opt-req-0001", "amount": 500, "method": "bonus_account"}), 422, "bonuses_excluded")
    assert ok(call(client, "GET", "/profile", token=token))["notifications"]["sms"] is True
    assert store.get("customers/opt").get("partner_code") is None


# --- partner dashboard ----------------------------------------------------------------------------------


REFEREE = {"id": "ref-cust-7f3k", "name": "Анна Реферменко", "email": "anna.referee@example.com", "phone": "+79165551234"}


def test_the_partner_dashboard_counts_and_never_names_a_referee(client, store):
    os.environ["KOPILKA_SHOP_URL"] = "https://biomiq.example/?utm_source=partner"
    reload()
    at = now()
    customer(store, "maria", at=at)
    token = customer_token("maria")
    first = ok(call(client, "GET", "/partner", token=token))
    code = first["code"]
    assert len(code) == 8 and code.isalnum() and code.isupper()
    assert first["link"] == f"https://biomiq.example/?utm_source=partner&ref={code}"
    assert store.get(f"promo_codes/{code}")["partner_id"] == "maria"
    assert store.get("customers/maria")["partner_code"] == code
    assert (first["invited"], first["registered"], first["paying"], first["totals"]) == (0, 0, 0, {"purchases": 0, "reward": 0})
    assert ok(call(client, "GET", "/partner", token=token))["code"] == code  # created once

    # a referee registers by the link, fills in her profile, pays and receives the order
    customer(store, REFEREE["id"], at=at, invited_by="maria")
    set_profile(store, REFEREE["id"], name=REFEREE["name"], email=REFEREE["email"], phone=REFEREE["phone"])
    paid_order(store, "RZ-77", REFEREE["id"], bonuses=500, at=at, register=False)
    orders.mark_delivered(store, config=config(at), order_id="RZ-77", delivered_at=at, now=at, carrier="test")
    # another registered without buying; an existing customer typed the code at checkout
    customer(store, "ref-cust-idle", at=at, invited_by="maria")
    customer(store, "olga", at=at)
    orders.place_order(store, config=config(at), customer_id="olga", order_id="OL-1", lines=SOAP, bonuses=0, now=at, promo_code=code.lower())

    response = call(client, "GET", "/partner", token=token)
    body = ok(response)
    assert (body["invited"], body["registered"], body["paying"]) == (3, 2, 1)
    this_month = body["months"][-1]
    assert len(body["months"]) == 12 and this_month["month"] == at.astimezone(timezone(timedelta(hours=3))).strftime("%Y-%m")
    assert (this_month["purchases"], this_month["reward"], this_month["new_paying"]) == (1, 130, 1)  # 5 % of 2 600 ₽
    assert body["totals"] == {"purchases": 1, "reward": 130} and body["reward_pending"] == 130
    assert body["rate"] == {"enabled": True, "percent": "5", "next_percent": "10", "next_from_paying": 3}
    assert body["complete"] is True

    history = call(client, "GET", "/history", token=token)
    reward = next(item for item in ok(history)["items"] if item["reason"] == "Вознаграждение партнёра")
    assert reward["delta"] == 130 and reward["order_id"] is None
    for leaked in (REFEREE["id"], REFEREE["name"], "Реферменко", REFEREE["email"], REFEREE["phone"], "5551234", "RZ-77", "olga", "OL-1", "ref-cust-idle"):
        for answer in (response, history, call(client, "GET", "/payouts", token=token)):
            assert leaked not in answer.get_data(as_text=True), leaked
    assert audit_account(store, "maria") == []


def test_the_referral_link_is_absent_without_a_shop_url(client, store):
    customer(store, "maria")
    assert ok(call(client, "GET", "/partner", token=customer_token("maria")))["link"] is None


# --- payouts ----------------------------------------------------------------------------------------------


def payout(client, token, request_id="maria-payout-1", amount=600, method="card", details="4242 4242 4242 4242"):
    return call(client, "POST", "/payouts", token=token, body={"request_id": request_id, "amount": amount, "method": method, "details": details})


def test_a_payout_request_holds_bonuses_until_approved_then_paid(client, store):
    customer(store, "maria")  # 500 welcome
    reward(store, "maria", 1000, key="ref-anna-A1")
    token = customer_token("maria")
    before = ok(call(client, "GET", "/balance", token=token))
    assert (before["available"], before["reserved"], before["total"]) == (1500, 0, 1500)

    requested = ok(payout(client, token))
    assert (requested["status"], requested["amount"], requested["details"], requested["replayed"]) == ("requested", 600, "**** 4242", False)
    assert "4242424242424242" not in json.dumps(store.get("payouts/maria-payout-1"), default=str)  # sealed at rest
    held = ok(call(client, "GET", "/balance", token=token))
    assert (held["available"], held["reserved"], held["held_for_payouts"], held["total"]) == (900, 600, 600, 1500)
    assert ok(payout(client, token))["replayed"] is True  # the same request again
    assert_error(payout(client, token, amount=700), 409, "idempotency_conflict")
    assert balances(store, "maria", now()).reserved == 600
    account = load_account(store, "maria")
    assert account.reservations["payout:maria-payout-1"].release_after > now() + timedelta(days=3000)

    listed = ok(call(client, "GET", "/payouts", token=token))
    assert [(p["request_id"], p["status"]) for p in listed["items"]] == [("maria-payout-1", "requested")]

    decided = payouts.decide_request(store, request_id="maria-payout-1", decision="approve", actor="manager@shop", now=now())
    assert (decided.request.status, decided.replayed) == ("approved", False)
    after = ok(call(client, "GET", "/balance", token=token))
    assert (after["available"], after["reserved"], after["total"]) == (900, 0, 900)  # written off
    assert payouts.decide_request(store, request_id="maria-payout-1", decision="approve", actor="manager@shop", now=now()).replayed is True
    with pytest.raises(InvalidState):
        payouts.decide_request(store, request_id="maria-payout-1", decision="reject", actor="other@shop", now=now(), reason="передумали")
    paid = payouts.settle(store, request_id="maria-payout-1", actor="accountant@shop", now=now())
    assert paid.request.status == "paid" and [h.status for h in paid.request.history] == ["requested", "approved", "paid"]
    assert payouts.settle(store, request_id="maria-payout-1", actor="accountant@shop", now=now()).replayed is True
    assert payouts.decide_request(store, request_id="maria-payout-1", decision="approve", actor="manager@shop", now=now()).replayed is True
    with pytest.raises(InvalidState):
        payouts.decide_request(store, request_id="maria-payout-1", decision="reject", actor="manager@shop", now=now())

    shown = ok(call(client, "GET", "/payouts", token=token))["items"][0]
    assert shown["status"] == "paid" and "manager@shop" not in json.dumps(shown) and "customer_id" not in shown
    items = ok(call(client, "GET", "/history", token=token))["items"]
    assert [(i["kind"], i["delta"], i["held"]) for i in items[:2]] == [("payout", -600, -600), ("payout_hold", 0, 600)]
    assert items[0]["reason"] == "Выплата по заявке maria-payout-1"
    assert audit_account(store, "maria") == []


def test_a_rejected_payout_gives_the_bonuses_back(client, store):
    customer(store, "maria")  # 500 welcome: spendable, never payable
    reward(store, "maria", 1000, key="ref-anna-A1")
    token = customer_token("maria")
    ok(payout(client, token, request_id="maria-payout-2", amount=1000, method="sbp", details="Сбербанк, +7 916 123-12-34"))
    assert balances(store, "maria", now()).available == 500
    assert_error(payout(client, token, request_id="maria-payout-3", amount=500), 422, "insufficient_bonuses")
    rejected = payouts.decide_request(store, request_id="maria-payout-2", decision="reject", actor="manager@shop", now=now(), reason="Неверные реквизиты")
    assert rejected.request.status == "rejected"
    b = balances(store, "maria", now())
    assert (b.available, b.reserved, b.total) == (1500, 0, 1500)
    assert payouts.decide_request(store, request_id="maria-payout-2", decision="reject", actor="manager@shop", now=now()).replayed is True
    with pytest.raises(InvalidState):
        payouts.decide_request(store, request_id="maria-payout-2", decision="approve", actor="manager@shop", now=now())
    with pytest.raises(InvalidState):
        payouts.settle(store, request_id="maria-payout-2", actor="accountant@shop", now=now())
    shown = ok(call(client, "GET", "/payouts", token=token))["items"][0]
    assert shown["history"][-1] == {**shown["history"][-1], "status": "rejected", "reason": "Неверные реквизиты"}
    history = ok(call(client, "GET", "/history", token=token))["items"]
    assert history[0]["kind"] == "payout_release" and history[0]["held"] == -1000
    # the released bonuses can be asked for again
    assert ok(payout(client, token, request_id="maria-payout-3", amount=1000, method="bonus_account", details=""))["status"] == "requested"
    assert audit_account(store, "maria") == []


def test_payout_decisions_refuse_what_does_not_apply(store):
    customer(store, "maria")
    reward(store, "maria", 500, key="ref-anna-A1")
    with pytest.raises(NotFound):
        payouts.decide_request(store, request_id="no-such-request", decision="approve", actor="manager@shop", now=now())
    with pytest.raises(NotFound):
        payouts.settle(store, request_id="../customers/maria", actor="manager@shop", now=now())
    with pytest.raises(ValidationFailed):
        payouts.decide_request(store, request_id="no-such-request", decision="maybe", actor="manager@shop", now=now())  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed):
        payouts.decide_request(store, request_id="no-such-request", decision="approve", actor=" ", now=now())
    payouts.request_payout(store, config=config(), customer_id="maria", request_id="maria-payout-9", amount=500, method="phone", details="+7 916 000-00-11", now=now(), sealer=payout_sealer())
    with pytest.raises(InvalidState):
        payouts.settle(store, request_id="maria-payout-9", actor="accountant@shop", now=now())
    with pytest.raises(IdempotencyConflict):
        payouts.request_payout(store, config=config(), customer_id="maria", request_id="maria-payout-9", amount=500, method="card", details="4111 1111 1111 1111", now=now(), sealer=payout_sealer())


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({"request_id": "p-000001", "amount": 499, "method": "card", "details": "4111 1111 1111 1111"}, 422, "payout_below_minimum"),
        ({"request_id": "p-000002", "amount": 600, "method": "card", "details": "**** 1234"}, 400, "validation_failed"),  # the manager could not pay it
        ({"request_id": "p-000003", "amount": 600, "method": "phone", "details": "+7 *** ***-45-67"}, 400, "validation_failed"),
        ({"request_id": "p-000004", "amount": 600, "method": "card", "details": ""}, 400, "validation_failed"),
        ({"request_id": "p-000005", "amount": 600, "method": "cash", "details": "**** 1234"}, 400, "validation_failed"),
        ({"request_id": "short", "amount": 600, "method": "card", "details": "**** 1234"}, 400, "validation_failed"),
        ({"request_id": "p/000006", "amount": 600, "method": "card", "details": "**** 1234"}, 400, "validation_failed"),
        ({"request_id": "p-000007", "amount": -600, "method": "card", "details": "**** 1234"}, 400, "validation_failed"),
        ({"request_id": "p-000008", "amount": 600.5, "method": "card", "details": "**** 1234"}, 400, "validation_failed"),
        ({"amount": 600, "method": "card", "details": "**** 1234"}, 400, "validation_failed"),
        ({"request_id": "p-000009", "amount": 99999, "method": "card", "details": "4111 1111 1111 1111"}, 422, "insufficient_bonuses"),
    ],
)
def test_bad_payout_requests_hold_nothing(client, store, body, status, code):
    customer(store, "maria")
    assert_error(call(client, "POST", "/payouts", token=customer_token("maria"), body=body), status, code)
    assert balances(store, "maria", now()).reserved == 0
    assert store.matching("payouts", field="customer_id", value="maria", limit=5) == []
