"""Blocking means blocked, through the real functions on the emulator.

A block revokes every session of the customer at once (the access tokens and
refresh families issued before it stop working on every customer route), a
blocked customer cannot log in again (SMS or Telegram) and is told so in
Russian, and the back office credits them nothing but an ``admin`` role's
adjustment with a reason. Every role that may block may unblock; sessions
from before the block stay revoked.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pyotp
import pytest

from shared.adapters import layout
from shared.edge.admin_auth import PERMISSIONS
from shared.platform import bootstrap
from shared.platform.settings import reload
from shared.services import admin_mfa, admins, identity
from shared.services.ledger import balances
from tests.conftest import SHOP_ORIGIN, load_function
from tests.fakes.sms import FakeSmsRu
from tests.reliability.audit import assert_ledgers_sound

ADMIN_SECRET = "test-admin-secret-distinct-from-the-customers"
PASSWORD = "correct horse battery staple"
BOT_TOKEN = "123456:test-bot-token"
ENV = {"SMSRU_API_ID": "test-api-id", "KOPILKA_OTP_SECRET": "test-otp-secret", "TELEGRAM_BOT_TOKEN": BOT_TOKEN, "KOPILKA_ADMIN_TOKEN_SECRET": ADMIN_SECRET}
PHONE = "+79001234567"
CART = [{"id": "serum", "name": "Сыворотка", "price": 100000, "quantity": 1}]
ACCOUNT_ROUTES = [("GET", "/profile"), ("POST", "/profile"), ("GET", "/balance"), ("GET", "/history"), ("GET", "/orders"), ("GET", "/partner"), ("GET", "/payouts")]
BLOCKED_RU = "Учётная запись заблокирована. Обратитесь в магазин."


@pytest.fixture
def sms(function_env):
    os.environ.update(ENV)
    reload()
    gateway = FakeSmsRu(api_id=ENV["SMSRU_API_ID"])
    bootstrap.set_transport("sms", gateway.transport)
    yield gateway
    bootstrap.set_transport("sms", None)
    for key in ENV:
        os.environ.pop(key, None)
    reload()


@pytest.fixture
def store(function_env):
    return function_env


@pytest.fixture
def fns(sms):
    return {name: load_function(name) for name in ("sms_otp", "account", "cart_quote", "checkout", "admin")}


def now() -> datetime:
    return datetime.now(UTC)


def call(client, method: str, path: str, body=None, *, token: str | None = None):
    headers = {"Origin": SHOP_ORIGIN, "X-Forwarded-For": "198.51.100.7"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if method == "GET":
        return client.get(path, headers=headers)
    return client.post(path, json=body if body is not None else {}, headers=headers)


def ok(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code and error["message_ru"], error
    return error


def login(fns, sms, phone: str = PHONE) -> dict:
    ok(call(fns["sms_otp"], "POST", "/request", {"phone": phone}))
    return call(fns["sms_otp"], "POST", "/verify", {"phone": phone, "code": sms.last_code(phone)})


def staff(store, fns, name: str) -> str:
    role = name.rstrip("0123456789")
    email = f"{name}@shop.example"
    admins.create_admin(store, email=email, password=PASSWORD, roles=[role], now=now(), replace=True)
    session = admins.login(store, email=email, password=PASSWORD, now=now())
    setup = admin_mfa.setup_totp(store, email=email, now=now())  # the roles that move money log in with a second factor
    return admin_mfa.confirm_totp(store, email=email, code=pyotp.TOTP(setup.secret).now(), now=now()).token if session.mfa_setup_required else session.token


def telegram_fields(user_id: int = 4242) -> dict:
    fields = {"id": user_id, "first_name": "Анна", "username": "anna_k", "auth_date": int(now().timestamp())}
    return {**fields, "hash": identity.telegram_hash(fields, BOT_TOKEN)}


def test_a_block_revokes_every_session_at_once(store, fns, sms):
    first = ok(login(fns, sms))
    second = ok(login(fns, sms))  # another device
    customer_id = first["customer_id"]
    for session in (first, second):
        assert ok(call(fns["account"], "GET", "/balance", token=session["access_token"]))["total"] == 500
    refresh_before = set(store.iter_ids(layout.REFRESH_TOKENS))
    fingerprint = ok(call(fns["cart_quote"], "POST", "/quote", {"lines": CART}))["cart_fingerprint"]

    ok(call(fns["admin"], "POST", f"/customers/{customer_id}/block", {"reason": "подозрение на мошенничество"}, token=staff(store, fns, "manager")))

    for session in (first, second):
        token = session["access_token"]
        for method, path in ACCOUNT_ROUTES:
            response = call(fns["account"], method, path, {"name": "Анна"} if method == "POST" else None, token=token)
            assert response.status_code in (401, 403), (method, path, response.get_data(as_text=True))
        payout = {"request_id": "fraud-payout-1", "amount": 500, "method": "card", "details": "**** 4242"}
        assert call(fns["account"], "POST", "/payouts", payout, token=token).status_code in (401, 403)
        assert call(fns["cart_quote"], "POST", "/quote", {"lines": CART}, token=token).status_code in (401, 403)
        assert call(fns["checkout"], "POST", "/checkout", {"order_id": "fraud-1", "lines": CART, "bonuses": 0, "quote_fingerprint": fingerprint}, token=token).status_code in (401, 403)
        refused(call(fns["sms_otp"], "POST", "/refresh", {"refresh_token": session["refresh_token"]}), 403, "customer_blocked")
    assert store.get(layout.payout("fraud-payout-1")) is None and store.get(layout.order("fraud-1")) is None
    assert set(store.iter_ids(layout.REFRESH_TOKENS)) == refresh_before  # no token was issued
    families = [store.get(f"{layout.REFRESH_FAMILIES}/{family}") for family in store.iter_ids(layout.REFRESH_FAMILIES)]
    assert sorted(f["reason"] for f in families) == ["blocked", "blocked"]  # both families are revoked for good
    assert balances(store, customer_id, now()).total == 500
    assert_ledgers_sound(store, customers=[customer_id])


def test_a_blocked_customer_cannot_log_in_again(store, fns, sms):
    session = ok(login(fns, sms))
    customer_id = session["customer_id"]
    ok(call(fns["sms_otp"], "POST", "/request", {"phone": PHONE}))  # a fresh proof of the phone links Telegram
    link = {"telegram": telegram_fields(), "code": sms.last_code(PHONE)}
    assert ok(call(fns["sms_otp"], "POST", "/telegram/link", link, token=session["access_token"]))["linked"] is True
    ok(call(fns["admin"], "POST", f"/customers/{customer_id}/block", {"reason": "мошенничество"}, token=staff(store, fns, "manager")))
    tokens_before = set(store.iter_ids(layout.REFRESH_TOKENS))

    by_sms = refused(login(fns, sms), 403, "customer_blocked")
    assert by_sms["message_ru"] == BLOCKED_RU
    by_telegram = refused(call(fns["sms_otp"], "POST", "/telegram", telegram_fields()), 403, "customer_blocked")
    assert by_telegram["message_ru"] == BLOCKED_RU
    assert set(store.iter_ids(layout.REFRESH_TOKENS)) == tokens_before  # no session was opened
    assert balances(store, customer_id, now()).total == 500


def test_a_marketer_credits_a_blocked_customer_nothing_but_an_admin_may_with_a_reason(store, fns, sms):
    customer_id = ok(login(fns, sms))["customer_id"]
    ok(call(fns["admin"], "POST", f"/customers/{customer_id}/block", {"reason": "мошенничество"}, token=staff(store, fns, "manager")))

    marketer = staff(store, fns, "marketer")
    denied = refused(call(fns["admin"], "POST", f"/customers/{customer_id}/adjust", {"amount": 600, "reason": "компенсация", "idempotency_key": "m-600"}, token=marketer), 422, "customer_blocked")
    assert "заблокирован" in denied["message_ru"]
    assert balances(store, customer_id, now()).total == 500

    admin = staff(store, fns, "admin")
    done = ok(call(fns["admin"], "POST", f"/customers/{customer_id}/adjust", {"amount": 600, "reason": "решение суда", "idempotency_key": "a-600"}, token=admin))
    assert done["status"] == "done" and balances(store, customer_id, now()).total == 1100
    assert_ledgers_sound(store, customers=[customer_id])


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_every_role_that_may_block_can_unblock_and_old_sessions_stay_revoked(store, fns, sms, role):
    session = ok(login(fns, sms))
    customer_id = session["customer_id"]
    token = staff(store, fns, role)

    assert ok(call(fns["admin"], "POST", f"/customers/{customer_id}/block", {"reason": "проверка"}, token=token))["blocked"] is True
    assert ok(call(fns["admin"], "POST", f"/customers/{customer_id}/unblock", {"reason": "проверено"}, token=token))["blocked"] is False

    refused(call(fns["account"], "GET", "/balance", token=session["access_token"]), 401, "session_revoked")
    refused(call(fns["sms_otp"], "POST", "/refresh", {"refresh_token": session["refresh_token"]}), 401, "session_revoked")
    fresh = ok(login(fns, sms))  # unblocked: a new login works
    assert ok(call(fns["account"], "GET", "/balance", token=fresh["access_token"]))["total"] == 500
    assert ok(call(fns["cart_quote"], "POST", "/quote", {"lines": CART}, token=fresh["access_token"]))["anonymous"] is False


def test_the_roles_that_may_block_are_the_roles_that_may_unblock():
    assert set(PERMISSIONS["customer.block"]) == {"admin", "manager"}  # one permission: blocking and unblocking
