"""sms_otp through functions-framework, on the emulator, with SMS.ru faked in memory.

The function sends through the fake gateway (injected with
``bootstrap.set_transport("sms", …)``); codes are read from the fake's outbox, as a customer
reads them from the SMS. Tests check the stored documents and the customer's
ledger, not only the answers.
"""

from __future__ import annotations

import os
import secrets
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from shared.adapters import layout
from shared.domain.errors import Retryable
from shared.edge import entry
from shared.platform import bootstrap
from shared.platform.settings import reload, settings
from shared.services import identity, promo, registration
from shared.services.ledger import all_postings, balances
from tests.conftest import SHOP_ORIGIN, load_function
from tests.fakes.captcha import FakeSmartCaptcha
from tests.fakes.sms import FakeSmsRu
from tests.fakes.telegram_oidc import FakeTelegramOidc

PHONE = "+79001234567"
SPELLINGS = ["+7 900 123-45-67", "8 (900) 123 45 67", "79001234567"]
OTHER = "+79007654321"
BOT_TOKEN = "123456:test-bot-token"
ENV = {"SMSRU_API_ID": "test-api-id", "KOPILKA_OTP_SECRET": "test-otp-secret", "TELEGRAM_BOT_TOKEN": BOT_TOKEN}
CART = [{"id": "serum", "name": "Сыворотка", "price": 100000, "quantity": 1}]


@pytest.fixture
def fake(function_env):
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
def client(fake):
    return load_function("sms_otp")


@pytest.fixture
def store(function_env):
    return function_env


def keys() -> identity.IdentityKeys:
    return identity.IdentityKeys.from_settings(settings())


def post(client, path: str, body=None, *, ip: str = "198.51.100.7", token: str | None = None, origin: str | None = SHOP_ORIGIN):
    headers = {"X-Forwarded-For": ip}
    if origin is not None:
        headers["Origin"] = origin
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(path, json=body, headers=headers)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "message_ru", "details"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message_ru"]
    return body["error"]


def request_code(client, phone: str = PHONE, **body):
    return post(client, "/request", {"phone": phone, **body})


def login(client, fake, phone: str = PHONE, **body) -> dict:
    response = request_code(client, phone, **body)
    assert response.status_code == 200, response.get_json()
    verified = post(client, "/verify", {"phone": phone, "code": fake.last_code(identity.normalize_phone(phone))})
    assert verified.status_code == 200, verified.get_json()
    return verified.get_json()


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def docs(store, collection: str) -> list[str]:
    return list(store.iter_ids(collection))


def future() -> datetime:
    """A frozen moment to travel to: ahead of the real clock (the Firestore client's deadlines
    are computed from it), on a whole minute."""
    return (datetime.now(timezone.utc) + timedelta(days=1)).replace(second=0, microsecond=0)


def total(store, customer_id: str) -> int:
    return balances(store, customer_id, datetime.now(timezone.utc)).total


# --- phones and limits ------------------------------------------------------------------------


def test_every_spelling_of_a_phone_meets_the_same_limiter(client, fake, store):
    for spelling in SPELLINGS:
        response = request_code(client, spelling)
        assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert {**answer, "resend_after": None} == {"sent": True, "expires_in": 600, "resend_after": None, "code_length": 6, "invited": False}
    assert 890 <= answer["resend_after"] <= 900  # the third code: the next one when the first leaves the window
    refused = assert_error(request_code(client, "+7(900)1234567"), 429, "rate_limited")
    assert refused["details"]["reason"] == "phone_window"
    assert 890 <= refused["details"]["retry_after"] <= 900
    assert refused["message_ru"] == "Повторная отправка кода возможна через 15 минут."
    assert [m.to for m in fake.messages] == ["79001234567"] * 3
    assert len(docs(store, layout.OTP_RATE)) == 1 and len(docs(store, layout.OTP_CODES)) == 1


@pytest.mark.parametrize(
    "phone",
    ["12345", "abc", "+380 50 123 4567", "+7 701 123 4567", "+7 495 123-45-67", "8 800 555 35 35", "+1 202 555 0123", "+7 900", "9" * 40, ""],
)
def test_bad_or_foreign_or_landline_numbers_are_400_and_nothing_is_sent(client, fake, store, phone):
    error = assert_error(request_code(client, phone), 400, "invalid_phone" if phone and len(phone) <= 32 else "validation_failed")
    assert any(cyrillic in error["message_ru"] for cyrillic in ("номер", "Некорректн"))
    assert fake.calls == 0 and docs(store, layout.OTP_RATE) == []


@pytest.mark.reliability
def test_twenty_concurrent_requests_for_one_number_send_exactly_three(client, fake, store):
    app = client.application
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda n: post(app.test_client(), "/request", {"phone": SPELLINGS[n % 3]}), range(20)))
    assert Counter(r.status_code for r in responses) == {200: 3, 429: 17}, [r.get_json() for r in responses]
    for refused in (r.get_json()["error"] for r in responses if r.status_code == 429):
        assert refused["code"] == "rate_limited" and refused["details"]["reason"] == "phone_window"
        assert 0 < refused["details"]["retry_after"] <= 900
        assert refused["message_ru"].startswith("Повторная отправка кода возможна через ")
    assert len(fake.sent_to(PHONE)) == 3 and fake.duplicates == 0
    sends = [store.get(f"{layout.OTP_SENDS}/{send_id}") for send_id in docs(store, layout.OTP_SENDS)]
    assert [s["status"] for s in sends] == ["sent"] * 3
    ip_counts = sorted(store.get(f"{layout.IP_RATE}/{doc}")["count"] for doc in docs(store, layout.IP_RATE))
    assert ip_counts == [3, 3, 3, 3]  # the address's hour and day, its network's day and its share of the day's budget


@pytest.mark.reliability
def test_two_instances_sending_concurrently_still_send_three(store, fake, firestore_client):
    """No in-process queue helps across instances: the transaction alone keeps the limit."""
    from shared.adapters.firestore_store import FirestoreStore

    instances = [store, FirestoreStore(firestore_client)]
    gateway = bootstrap.sms()

    def attempt(n: int) -> str:
        for _ in range(10):  # a well-behaved client retries a contended request
            try:
                identity.request_code(instances[n % 2], gateway=gateway, keys=keys(), phone=SPELLINGS[n % 3], ip=f"203.0.113.{n}", now=datetime.now(timezone.utc))
                return "sent"
            except identity.RateLimited:
                return "limited"
            except Retryable:
                time.sleep(0.1)
        return "contended"

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = Counter(pool.map(attempt, range(16)))
    assert outcomes == {"sent": 3, "limited": 13}
    assert len(fake.sent_to(PHONE)) == 3


def test_per_address_limit_against_bots(client, fake):
    for n in range(10):
        assert request_code(client, f"+7900000{n:04d}").status_code == 200
    refused = assert_error(request_code(client, "+79000000010"), 429, "rate_limited")
    assert refused["details"]["reason"] == "ip" and refused["message_ru"].startswith("Слишком много запросов кода с вашего адреса")
    assert post(client, "/request", {"phone": "+79000000010"}, ip="203.0.113.50").status_code == 200  # another address
    assert len(fake.messages) == 11


# --- the SMS gateway ----------------------------------------------------------------------------


def test_an_unreachable_gateway_is_503_and_gives_the_slot_back(client, fake, store):
    fake.fail_next("connect", times=3)  # every attempt of the first request is refused before sending
    error = assert_error(request_code(client), 503, "sms_unavailable")
    assert error["details"]["sent"] == "no" and "SMS" in error["message_ru"]
    assert fake.messages == []
    sends = {store.get(f"{layout.OTP_SENDS}/{i}")["status"] for i in docs(store, layout.OTP_SENDS)}
    assert sends == {"failed"}
    for _ in range(3):  # the failed send does not count against the 15-minute window
        assert request_code(client).status_code == 200
    assert_error(request_code(client), 429, "rate_limited")
    assert len(fake.sent_to(PHONE)) == 3


def test_a_refused_connection_is_retried_and_sends_once(client, fake):
    fake.fail_next("connect")
    assert request_code(client).status_code == 200
    assert len(fake.sent_to(PHONE)) == 1 and fake.calls == 1


def test_a_lost_answer_is_never_resent_and_keeps_the_quota(client, fake, store):
    fake.fail_next("read_timeout")  # the gateway sent the SMS; its answer was lost
    error = assert_error(request_code(client), 503, "sms_unavailable")
    assert error["details"]["sent"] == "unknown"
    assert len(fake.sent_to(PHONE)) == 1 and fake.calls == 1 and fake.duplicates == 0
    assert post(client, "/verify", {"phone": PHONE, "code": fake.last_code(PHONE)}).status_code == 200  # it did arrive
    assert request_code(client).status_code == 200 and request_code(client).status_code == 200
    assert_error(request_code(client), 429, "rate_limited")  # the ambiguous send still counts


def test_a_gateway_refusal_is_503(client, fake, store):
    fake.fail_next("low_balance")
    assert assert_error(request_code(client), 503, "sms_unavailable")["details"]["sent"] == "no"
    stored = store.get(f"{layout.OTP_CODES}/{keys().phone_key(PHONE)}")
    assert stored["status"] == "not_sent"


# --- verification ---------------------------------------------------------------------------------


def test_first_login_registers_with_the_standard_welcome_bonus_once(client, fake, store):
    first = login(client, fake, SPELLINGS[1])
    customer_id = first["customer_id"]
    assert (first["registered"], first["welcome_bonus"], first["token_type"]) == (True, 500, "Bearer")
    assert customer_id == keys().customer_id_for(PHONE)
    assert store.get(f"identities/phone:{PHONE}")["customer_id"] == customer_id
    assert store.get(f"customers/{customer_id}")["phone"] == PHONE
    again = login(client, fake, SPELLINGS[2])
    assert (again["customer_id"], again["registered"], again["welcome_bonus"]) == (customer_id, False, 0)
    assert total(store, customer_id) == 500
    assert [p.key for p in all_postings(store, customer_id) if p.kind == "accrue"] == [f"welcome:{customer_id}"]


@pytest.mark.parametrize("invitation", ["maria", "MARIA-CODE"])
def test_an_invited_customer_gets_the_invited_welcome_bonus(client, fake, store, invitation):
    now = datetime.now(timezone.utc)
    registration.register_customer(store, config=entry.config(now), customer_id="maria", now=now)
    promo.create_partner_code(store, code="MARIA-CODE", partner_id="maria", now=now)
    response = request_code(client, invited_by=invitation.lower())
    assert response.get_json()["invited"] is True
    session = post(client, "/verify", {"phone": PHONE, "code": fake.last_code(PHONE)}).get_json()
    assert (session["registered"], session["welcome_bonus"]) == (True, 1000)
    assert total(store, session["customer_id"]) == 1000
    assert store.get(f"customers/{session['customer_id']}")["invited_by"] == "maria"


def test_an_unknown_invitation_is_ignored(client, fake, store):
    assert request_code(client, invited_by="NOBODY").get_json()["invited"] is False
    session = post(client, "/verify", {"phone": PHONE, "code": fake.last_code(PHONE)}).get_json()
    assert session["welcome_bonus"] == 500


def test_wrong_code_then_right_code_then_reuse(client, fake):
    request_code(client)
    code = fake.last_code(PHONE)
    error = assert_error(post(client, "/verify", {"phone": PHONE, "code": wrong(code)}), 401, "invalid_code")
    assert error["message_ru"].startswith("Неверный код") and error["details"]["attempts_left"] == 4
    assert post(client, "/verify", {"phone": PHONE, "code": code}).status_code == 200
    assert_error(post(client, "/verify", {"phone": PHONE, "code": code}), 401, "code_expired")  # single use


def test_a_code_for_another_phone_fails(client, fake):
    request_code(client, PHONE)
    request_code(client, OTHER)
    code = fake.last_code(PHONE)
    while fake.last_code(OTHER) == code:  # one chance in a million
        request_code(client, OTHER)
    assert_error(post(client, "/verify", {"phone": OTHER, "code": code}), 401, "invalid_code")
    assert post(client, "/verify", {"phone": PHONE, "code": code}).status_code == 200


def test_a_new_code_replaces_the_previous_one(client, fake):
    request_code(client)
    first = fake.last_code(PHONE)
    request_code(client)
    second = fake.last_code(PHONE)
    if first != second:
        assert_error(post(client, "/verify", {"phone": PHONE, "code": first}), 401, "invalid_code")
    assert post(client, "/verify", {"phone": PHONE, "code": second}).status_code == 200


def test_the_sixth_attempt_is_refused_even_with_the_right_code(client, fake):
    request_code(client)
    code = fake.last_code(PHONE)
    left = [assert_error(post(client, "/verify", {"phone": PHONE, "code": wrong(code)}), 401, "invalid_code")["details"]["attempts_left"] for _ in range(5)]
    assert left == [4, 3, 2, 1, 0]
    assert_error(post(client, "/verify", {"phone": PHONE, "code": code}), 401, "code_attempts_exceeded")


def test_a_code_is_valid_for_ten_minutes(client, fake):
    start = future()
    with time_machine.travel(start, tick=False):
        request_code(client, PHONE)
        request_code(client, OTHER)
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        assert post(client, "/verify", {"phone": PHONE, "code": fake.last_code(PHONE)}).status_code == 200
    with time_machine.travel(start + timedelta(minutes=10, seconds=1), tick=False):
        assert_error(post(client, "/verify", {"phone": OTHER, "code": fake.last_code(OTHER)}), 401, "code_expired")


def test_an_attacker_s_wrong_codes_never_lock_the_owner_out(client, fake, store):
    start = future()
    attacker, owner = "203.0.113.9", "198.51.100.7"
    with time_machine.travel(start, tick=False):
        for _ in range(2):  # ten wrong codes on codes the attacker requested
            assert post(client, "/request", {"phone": PHONE}, ip=attacker).status_code == 200
            code = fake.last_code(PHONE)
            for _ in range(5):
                refused = post(client, "/verify", {"phone": PHONE, "code": wrong(code)}, ip=attacker)
                assert refused.status_code in (401, 429)
        slowed = assert_error(post(client, "/verify", {"phone": PHONE, "code": code}, ip=attacker), 429, "rate_limited")
        assert slowed["details"]["reason"] == "verify_delay" and 0 < slowed["details"]["retry_after"] <= 15 * 60
        assert slowed["message_ru"].startswith("Слишком много неверных кодов. Повторите ввод кода через")
        # the owner, on their own network, gets a code and logs in at once
        assert post(client, "/request", {"phone": PHONE}, ip=owner).status_code == 200
        assert post(client, "/verify", {"phone": PHONE, "code": fake.last_code(PHONE)}, ip=owner).status_code == 200
    assert len(fake.sent_to(PHONE)) == 3


@pytest.mark.reliability
def test_concurrent_verifications_of_one_code_log_in_once(client, fake, store):
    request_code(client)
    code, app = fake.last_code(PHONE), client.application
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: post(app.test_client(), "/verify", {"phone": PHONE, "code": code}), range(6)))
    assert Counter(r.status_code for r in responses) == {200: 1, 401: 5}
    customer_id = keys().customer_id_for(PHONE)
    assert total(store, customer_id) == 500


@pytest.mark.reliability
def test_concurrent_logins_of_one_phone_register_once(store, fake):
    now = datetime.now(timezone.utc)
    config = entry.config(now)
    with ThreadPoolExecutor(max_workers=8) as pool:
        sessions = list(pool.map(lambda _: identity.login_phone(store, config=config, keys=keys(), e164=PHONE, now=now), range(8)))
    assert len({s.customer_id for s in sessions}) == 1
    assert [s.registered for s in sessions].count(True) == 1
    assert sum(s.welcome_bonus for s in sessions) == 500 and total(store, sessions[0].customer_id) == 500


# --- sessions ---------------------------------------------------------------------------------------


def test_refresh_rotates_and_a_reused_refresh_token_is_refused(client, fake):
    first = login(client, fake)
    second = post(client, "/refresh", {"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.get_json()
    assert second["customer_id"] == first["customer_id"] and second["refresh_token"] != first["refresh_token"]
    assert_error(post(client, "/refresh", {"refresh_token": first["refresh_token"]}), 401, "session_invalid")
    # the reuse revoked the family: the token rotated from it is refused too
    assert_error(post(client, "/refresh", {"refresh_token": second["refresh_token"]}), 401, "session_invalid")
    assert_error(post(client, "/refresh", {"refresh_token": first["access_token"]}), 401, "unauthorized")  # an access token


def test_the_access_token_works_on_a_customer_endpoint_and_bad_ones_are_refused(client, fake):
    session = login(client, fake)
    cart = load_function("cart_quote")
    quote = post(cart, "/quote", {"lines": CART}, token=session["access_token"])
    assert quote.status_code == 200 and quote.get_json()["anonymous"] is False and quote.get_json()["available_bonuses"] == 500
    assert_error(post(cart, "/quote", {"lines": CART}, token=session["access_token"][:-2] + "xx"), 401, "unauthorized")  # tampered
    assert_error(post(cart, "/quote", {"lines": CART}, token=session["refresh_token"]), 401, "unauthorized")  # wrong kind
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(seconds=session["expires_in"] + 1)):
        assert_error(post(cart, "/quote", {"lines": CART}, token=session["access_token"]), 401, "unauthorized")  # expired


def test_logout_ends_the_session_at_once_on_every_customer_route(client, fake):
    session = login(client, fake)
    cart, account = load_function("cart_quote"), load_function("account")
    assert post(cart, "/quote", {"lines": CART}, token=session["access_token"]).get_json()["anonymous"] is False
    out = post(client, "/logout", {"refresh_token": session["refresh_token"]})
    assert out.status_code == 200 and out.get_json() == {"logged_out": True, "replayed": False}
    # the access token is refused at once, not when its hour runs out
    assert_error(post(cart, "/quote", {"lines": CART}, token=session["access_token"]), 401, "session_revoked")
    balance = account.get("/balance", headers={"Authorization": f"Bearer {session['access_token']}", "Origin": SHOP_ORIGIN})
    assert_error(balance, 401, "session_revoked")
    assert_error(post(client, "/refresh", {"refresh_token": session["refresh_token"]}), 401, "session_invalid")
    assert post(client, "/logout", {"refresh_token": session["refresh_token"]}).get_json() == {"logged_out": True, "replayed": True}
    again = login(client, fake)  # the next login opens a session that stands
    assert post(cart, "/quote", {"lines": CART}, token=again["access_token"]).get_json()["anonymous"] is False


# --- Telegram ---------------------------------------------------------------------------------------


def telegram_fields(user_id: int = 4242, *, bot_token: str = BOT_TOKEN, auth_date: datetime | None = None, **extra) -> dict:
    fields = {"id": user_id, "first_name": "Анна", "username": "anna_k", "auth_date": int((auth_date or datetime.now(timezone.utc)).timestamp()), **extra}
    return {**fields, "hash": identity.telegram_hash(fields, bot_token)}


def link_body(client, fake, phone: str = PHONE, **fields) -> dict:
    """A link request: Telegram's data and a code just sent to the account's phone."""
    assert request_code(client, phone).status_code == 200
    return {"telegram": telegram_fields(**fields), "code": fake.last_code(phone)}


def test_telegram_login_needs_a_phone_login_first_then_links_and_logs_in(client, fake, store):
    assert_error(post(client, "/telegram", telegram_fields()), 404, "not_linked")
    session = login(client, fake)
    linked = post(client, "/telegram/link", link_body(client, fake), token=session["access_token"])
    assert linked.status_code == 200, linked.get_json()
    assert linked.get_json() == {"customer_id": session["customer_id"], "telegram_id": 4242, "linked": True, "session": None}
    assert store.get(layout.account(session["customer_id"]))["telegram_id"] == 4242
    assert [m.text for m in fake.messages if "Telegram" in m.text] == ["К вашему аккаунту привязан Telegram @anna_k. Если это были не вы, отвяжите его в личном кабинете."]
    logged_in = post(client, "/telegram", telegram_fields())
    assert logged_in.status_code == 200
    body = logged_in.get_json()
    assert body["customer_id"] == session["customer_id"] and body["session"]["customer_id"] == session["customer_id"]
    cart = load_function("cart_quote")
    assert post(cart, "/quote", {"lines": CART}, token=body["session"]["access_token"]).get_json()["anonymous"] is False


def test_a_customer_token_alone_never_links_telegram(client, fake, store):
    session = login(client, fake)
    assert_error(post(client, "/telegram", telegram_fields(), token=session["access_token"]), 403, "phone_proof_required")
    fresh = link_body(client, fake)
    assert_error(post(client, "/telegram/link", {**fresh, "code": wrong(fresh["code"])}, token=session["access_token"]), 401, "invalid_code")
    assert_error(post(client, "/telegram/link", {"telegram": telegram_fields()}, token=session["access_token"]), 400, "validation_failed")
    assert_error(post(client, "/telegram/link", fresh), 401, "unauthorized")  # a code without the token
    assert store.get(layout.identity("telegram", 4242)) is None
    assert_error(post(client, "/telegram", telegram_fields()), 404, "not_linked")


def test_unlinking_telegram_ends_the_sessions_it_opened(client, fake, store):
    session = login(client, fake)
    assert post(client, "/telegram/link", link_body(client, fake), token=session["access_token"]).status_code == 200
    thief = post(client, "/telegram", telegram_fields()).get_json()["session"]
    unlinked = post(client, "/telegram/unlink", token=session["access_token"])
    assert unlinked.status_code == 200, unlinked.get_json()
    assert unlinked.get_json() == {"customer_id": session["customer_id"], "telegram_ids": [4242], "unlinked": True}
    assert_error(post(client, "/telegram", telegram_fields()), 404, "not_linked")
    account = load_function("account")
    for tokens_ in (session, thief):
        assert account.get("/balance", headers={"Origin": SHOP_ORIGIN, "Authorization": f"Bearer {tokens_['access_token']}"}).status_code == 401
        assert_error(post(client, "/refresh", {"refresh_token": tokens_["refresh_token"]}), 401, "session_revoked")
    assert store.get(layout.account(session["customer_id"]))["telegram_id"] is None


def test_telegram_linked_to_another_customer_is_409(client, fake, store):
    boris = login(client, fake, OTHER)
    assert post(client, "/telegram/link", link_body(client, fake, OTHER), token=boris["access_token"]).status_code == 200
    session = login(client, fake)
    assert_error(post(client, "/telegram/link", {"telegram": telegram_fields(), "code": "123456"}, token=session["access_token"]), 409, "telegram_linked_elsewhere")


@pytest.mark.parametrize(
    "fields",
    [
        {**telegram_fields(), "first_name": "Мария"},  # tampered
        {**telegram_fields(), "id": 4243},  # another user
        telegram_fields(bot_token="654321:another-bot"),  # signed by another bot
        telegram_fields(auth_date=datetime.now(timezone.utc) - timedelta(hours=1, minutes=1)),  # stale
        telegram_fields(auth_date=datetime.now(timezone.utc) + timedelta(hours=1)),  # from the future
        {k: v for k, v in telegram_fields().items() if k != "username"},  # a field dropped
    ],
)
def test_bad_telegram_data_is_401(client, fake, fields):
    assert_error(post(client, "/telegram", fields), 401, "telegram_login_invalid")


def test_a_bad_customer_token_with_telegram_data_is_401(client, fake):
    assert_error(post(client, "/telegram", telegram_fields(), token="not-a-jwt"), 401, "unauthorized")


def bot_update(sender: int = 4242, **message) -> dict:
    sender_ = {"id": sender, "is_bot": False, "first_name": "Анна", "username": "anna_k"}
    return {"update_id": 1, "message": {"message_id": 7, "date": int(time.time()), "from": sender_, "chat": {"id": sender, "type": "private"}, **message}}


def test_a_new_customer_registers_through_the_shops_bot_without_an_sms(client, fake, store):
    secret = {"X-Telegram-Bot-Api-Secret-Token": keys().telegram_webhook_secret()}
    contact = bot_update(contact={"phone_number": "79001234567", "first_name": "Анна", "user_id": 4242})
    assert_error(client.post("/telegram/bot", json=contact), 401, "telegram_bot_unauthorized")
    assert_error(client.post("/telegram/bot", json=contact, headers={"X-Telegram-Bot-Api-Secret-Token": "forged"}), 401, "telegram_bot_unauthorized")
    assert docs(store, layout.IDENTITIES) == []
    asked = client.post("/telegram/bot", json=bot_update(text="/start"), headers=secret)
    assert asked.status_code == 200 and asked.get_json()["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    done = client.post("/telegram/bot", json=contact, headers=secret)
    assert done.status_code == 200 and done.get_json()["method"] == "sendMessage" and done.get_json()["chat_id"] == 4242
    customer_id = keys().customer_id_for(PHONE)
    assert store.get(layout.account(customer_id))["phone"] == PHONE and fake.calls == 0
    logged_in = post(client, "/telegram", telegram_fields())
    assert logged_in.status_code == 200 and logged_in.get_json()["customer_id"] == customer_id
    assert total(store, customer_id) == entry.config(datetime.now(timezone.utc)).welcome.standard
    assert client.post("/telegram/bot", json=contact, headers=secret).status_code == 200  # a repeated delivery
    assert total(store, customer_id) == entry.config(datetime.now(timezone.utc)).welcome.standard  # the welcome bonus once


@pytest.fixture
def oidc(fake):
    os.environ["TELEGRAM_OIDC_SECRET"] = "oidc-secret"
    reload()
    provider = FakeTelegramOidc(client_id=BOT_TOKEN.split(":")[0], client_secret="oidc-secret")
    bootstrap.set_transport("telegram", provider.transport)
    yield provider
    bootstrap.set_transport("telegram", None)
    os.environ.pop("TELEGRAM_OIDC_SECRET", None)
    reload()


def oidc_login(provider: FakeTelegramOidc, user_id: int = 4242, redirect_uri: str = SHOP_ORIGIN + "/login/telegram") -> dict:
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    code = provider.authorize(user_id, verifier=verifier, redirect_uri=redirect_uri, nonce=nonce)
    return {"code": code, "code_verifier": verifier, "redirect_uri": redirect_uri, "nonce": nonce}


def test_log_in_with_telegram_through_openid_connect(client, fake, oidc, store):
    assert_error(post(client, "/telegram/oidc", oidc_login(oidc)), 404, "not_linked")
    session = login(client, fake)
    assert request_code(client).status_code == 200
    linked = post(client, "/telegram/link", {"oidc": oidc_login(oidc), "code": fake.last_code(PHONE)}, token=session["access_token"])
    assert linked.status_code == 200 and linked.get_json()["linked"] is True, linked.get_json()
    body = oidc_login(oidc)
    logged_in = post(client, "/telegram/oidc", body)
    assert logged_in.status_code == 200 and logged_in.get_json()["customer_id"] == session["customer_id"]
    assert logged_in.get_json()["session"]["access_token"]
    assert_error(post(client, "/telegram/oidc", body), 401, "telegram_login_invalid")  # the same code again
    assert_error(post(client, "/telegram/oidc", {**oidc_login(oidc), "code_verifier": secrets.token_urlsafe(48)}), 401, "telegram_login_invalid")  # PKCE
    elsewhere = oidc_login(oidc, redirect_uri="https://evil.example/cb")
    assert_error(post(client, "/telegram/oidc", elsewhere), 400, "validation_failed")
    for redirect in ("https://[shop.example", "http://shop.example/cb", "https://user@shop.example/cb"):
        assert_error(post(client, "/telegram/oidc", {**oidc_login(oidc), "redirect_uri": redirect}), 400, "validation_failed")
    assert docs(store, layout.OIDC_NONCES)  # the used nonces are recorded


def test_an_openid_connect_login_may_return_over_plain_http_only_to_a_loopback_shop(client, fake, oidc, store, monkeypatch):
    monkeypatch.setenv("KOPILKA_ALLOWED_ORIGINS", f"{SHOP_ORIGIN},http://127.0.0.1:8100,http://shop.example")
    reload()
    try:
        assert_error(post(client, "/telegram/oidc", oidc_login(oidc, redirect_uri="http://127.0.0.1:8100/account.html")), 404, "not_linked")  # the code was taken
        assert_error(post(client, "/telegram/oidc", oidc_login(oidc, redirect_uri="http://shop.example/account.html")), 400, "validation_failed")
        assert_error(post(client, "/telegram/oidc", oidc_login(oidc, redirect_uri="http://127.0.0.1:8200/account.html")), 400, "validation_failed")
    finally:
        monkeypatch.undo()
        reload()


# --- the edge ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, body",
    [
        ("/request", {}),
        ("/request", {"phone": PHONE, "surprise": 1}),
        ("/request", {"phone": PHONE, "invited_by": "a/b"}),
        ("/verify", {"phone": PHONE, "code": "12345"}),
        ("/verify", {"phone": PHONE, "code": "12345a"}),
        ("/verify", {"phone": PHONE}),
        ("/refresh", {}),
        ("/telegram", {"id": 1, "auth_date": 1, "hash": "zz"}),
        ("/telegram", {**telegram_fields(), "nested": {"a": 1}}),
        ("/request", [PHONE]),
    ],
)
def test_bad_bodies_are_400(client, fake, path, body):
    assert_error(post(client, path, body), 400, "validation_failed")
    assert fake.calls == 0


def test_cors_for_the_shop_only(client, fake):
    ok = client.options("/request", headers={"Origin": SHOP_ORIGIN, "Access-Control-Request-Method": "POST"})
    assert ok.status_code == 204 and ok.headers["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    assert_error(post(client, "/request", {"phone": PHONE}, origin="https://evil.example"), 403, "forbidden")
    assert fake.calls == 0


# --- the shop's daily SMS budget -------------------------------------------------------------


@pytest.mark.reliability
def test_the_daily_sms_budget_stops_sending_until_the_next_moscow_day(client, fake, store, monkeypatch):
    """A pumping attack spreads over many numbers and addresses; the day's budget caps the bill."""
    monkeypatch.setenv("KOPILKA_SMS_DAILY_BUDGET", "3")
    reload()
    evening = future().replace(hour=20, minute=30)  # 23:30 in Moscow (travel ahead of the real clock only)
    day, next_day = evening.date().isoformat(), (evening + timedelta(days=1)).date().isoformat()
    phones = [f"+7900111000{n}" for n in range(5)]
    with time_machine.travel(evening, tick=False):
        answers = [post(client, "/request", {"phone": phone}, ip=f"198.51.{n}.7") for n, phone in enumerate(phones)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    refused = assert_error(answers[3], 429, "rate_limited")
    assert refused["details"]["reason"] == "daily_budget"
    assert refused["details"]["retry_after"] == 30 * 60  # until midnight in Moscow
    assert answers[3].headers["Retry-After"] == "1800"
    assert refused["message_ru"].startswith("Вход по SMS временно недоступен.")
    assert sum(len(fake.sent_to(phone)) for phone in phones) == 3  # nothing sent past the budget
    assert identity.sms_sent_on(store, day) == 3
    assert store.get(f"{layout.OTP_RATE}/{keys().phone_key(phones[3])}") is None  # the refused number was not counted
    assert len(docs(store, layout.SMS_BUDGET)) <= 3  # spread over shards, none written by every send

    with time_machine.travel(evening + timedelta(minutes=31), tick=False):  # 00:01 in Moscow
        assert post(client, "/request", {"phone": phones[3]}, ip="198.51.3.7").status_code == 200
    assert identity.sms_sent_on(store, next_day) == 1
    assert len(fake.sent_to(phones[3])) == 1


def test_no_budget_means_no_cap(store, fake):
    sent = [identity.request_code(store, gateway=bootstrap.sms(), keys=keys(), phone=f"+7900222000{n}", ip=None, now=future() + timedelta(seconds=n)).expires_in for n in range(4)]
    assert len(sent) == 4 and identity.sms_sent_on(store, identity.budget_day(future())[0]) == 0  # nothing counted either


def test_a_risky_code_request_needs_a_smartcaptcha_token_that_passes(client, fake, store, monkeypatch):
    monkeypatch.setenv("SMARTCAPTCHA_SERVER_KEY", "captcha-key")
    reload()
    captcha = FakeSmartCaptcha(server_key="captcha-key")
    bootstrap.set_transport("captcha", captcha.transport)
    try:
        assert request_code(client).status_code == 200  # a first code from a quiet address: no captcha
        required = assert_error(request_code(client), 403, "captcha_required")  # a resend
        assert required["details"] == {"risk": ["resend"]} and required["message_ru"] == "Подтвердите, что вы не робот."
        assert_error(request_code(client, captcha="forged-token"), 403, "captcha_invalid")
        assert len(fake.sent_to(PHONE)) == 1
        assert request_code(client, captcha=captcha.solve()).status_code == 200
        assert len(fake.sent_to(PHONE)) == 2 and captcha.validated[-1]["ip"] == "198.51.100.7"
    finally:
        bootstrap.set_transport("captcha", None)
