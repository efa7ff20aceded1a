"""Identity without I/O: phones, limits, codes, sessions and Telegram on the in-memory store,
the SMS.ru adapter against the fake behind an httpx MockTransport."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.adapters import layout
from shared.adapters.memory_store import MemoryStore
from shared.adapters.sms import SmsRuClient, SmsUnavailable
from shared.domain.errors import Unauthorized
from shared.platform import tokens
from shared.presets import load_preset
from shared.services import identity, promo, registration
from shared.services.ledger import balances
from tests.fakes.sms import FakeSmsRu

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
PHONE = "+79001234567"
KEYS = identity.IdentityKeys(token_secret="unit-token-secret-of-at-least-32-bytes", otp_secret=b"unit-otp-secret", telegram_bot_token="123456:bot")
CONFIG = load_preset("biomiq")


@pytest.fixture
def fake() -> FakeSmsRu:
    return FakeSmsRu(api_id="k")


@pytest.fixture
def gateway(fake) -> SmsRuClient:
    return SmsRuClient(api_id="k", transport=fake.transport, sleep=lambda _: None)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def send(store, gateway, at: datetime, phone: str = PHONE, ip: str | None = "198.51.100.7", **kwargs) -> identity.CodeSent:
    return identity.request_code(store, gateway=gateway, keys=KEYS, phone=phone, ip=ip, now=at, **kwargs)


def verify(store, code: str, at: datetime, phone: str = PHONE) -> identity.Session:
    return identity.verify_code(store, config=CONFIG, keys=KEYS, phone=phone, code=code, now=at)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


# --- phones ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["+7 900 123-45-67", "8 (900) 123 45 67", "79001234567", "9001234567", "+7(900)123-45-67", " 8 900 1234567 "])
def test_every_spelling_is_one_e164_number_and_one_key(spelling):
    assert identity.normalize_phone(spelling) == PHONE
    assert KEYS.phone_key(identity.normalize_phone(spelling)) == KEYS.phone_key(PHONE)
    assert KEYS.customer_id_for(identity.normalize_phone(spelling)) == KEYS.customer_id_for(PHONE)


@pytest.mark.parametrize(
    "phone, fragment",
    [
        ("+380 50 123 4567", "России"),  # Ukraine
        ("+7 701 123 4567", "России"),  # Kazakhstan shares +7
        ("+7 495 123-45-67", "мобильного"),  # a Moscow landline
        ("8 800 555 35 35", "мобильного"),  # toll-free
        ("12345", "Некорректный"),
        ("+7 900", "Некорректный"),
        ("телефон", "Некорректный"),
        ("", "Некорректный"),
        ("9" * 33, "Некорректный"),
    ],
)
def test_foreign_landline_and_invalid_numbers_are_refused_in_russian(phone, fragment):
    with pytest.raises(identity.InvalidPhone) as refused:
        identity.normalize_phone(phone)
    assert fragment in refused.value.message_ru


def test_configured_regions_decide():
    assert identity.normalize_phone("+7 701 123 4567", ("RU", "KZ")) == "+77011234567"
    assert identity.normalize_phone("8 701 123 4567", ("KZ", "RU")) == "+77011234567"


# --- waits in Russian -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seconds, text",
    [(1, "1 минуту"), (60, "1 минуту"), (61, "2 минуты"), (299, "5 минут"), (660, "11 минут"), (900, "15 минут"), (1260, "21 минуту"), (1320, "22 минуты"), (5400, "90 минут"), (5460, "2 часа"),
        (86400, "24 часа"), (18000 + 60, "6 часов")],
)
def test_waits_are_rounded_up_with_russian_plurals(seconds, text):
    assert identity.wait_ru(seconds) == text


def test_rate_limited_carries_retry_after_and_the_message():
    error = identity.RateLimited("x", retry_after=601, reason="phone_window")
    assert error.to_dict()["details"] == {"retry_after": 601, "reason": "phone_window"}
    assert error.message_ru == "Повторная отправка кода возможна через 11 минут."


# --- the per-phone limits ---------------------------------------------------------------------------


def test_three_codes_per_fifteen_minutes_as_a_sliding_window(store, gateway, fake):
    for minute in (0, 1, 2):
        send(store, gateway, NOW + timedelta(minutes=minute))
    with pytest.raises(identity.RateLimited) as refused:
        send(store, gateway, NOW + timedelta(minutes=14, seconds=59))
    assert (refused.value.retry_after, refused.value.details["reason"]) == (1, "phone_window")
    assert refused.value.message_ru == "Повторная отправка кода возможна через 1 минуту."
    send(store, gateway, NOW + timedelta(minutes=15))  # the first left the window
    with pytest.raises(identity.RateLimited) as refused:
        send(store, gateway, NOW + timedelta(minutes=15, seconds=30))
    assert refused.value.retry_after == 30  # until the send of minute 1 leaves
    assert len(fake.messages) == 4


def test_ten_codes_a_day_per_phone(store, gateway, fake):
    for n in range(10):  # 3 every 15 minutes would allow more: the daily cap stops at 10
        send(store, gateway, NOW + timedelta(minutes=20 * n))
    with pytest.raises(identity.RateLimited) as refused:
        send(store, gateway, NOW + timedelta(hours=5))
    assert refused.value.details["reason"] == "phone_daily"
    assert refused.value.retry_after == 19 * 3600
    assert refused.value.message_ru == "Повторная отправка кода возможна через 19 часов."
    send(store, gateway, NOW + timedelta(hours=24))
    assert len(fake.messages) == 11


def test_refusals_send_and_write_nothing(store, gateway, fake):
    for _ in range(3):
        send(store, gateway, NOW)
    before = dict(store._docs)
    with pytest.raises(identity.RateLimited):
        send(store, gateway, NOW)
    assert store._docs == before and len(fake.messages) == 3


def test_the_per_address_limit(store, gateway):
    for n in range(10):
        send(store, gateway, NOW, phone=f"+7900000{n:04d}")
    with pytest.raises(identity.RateLimited) as refused:
        send(store, gateway, NOW + timedelta(minutes=10), phone="+79000000010")
    assert refused.value.details["reason"] == "ip" and refused.value.retry_after == 50 * 60
    send(store, gateway, NOW + timedelta(hours=1), phone="+79000000010")  # the next hour's window


def test_addresses_are_bucketed_by_host_and_network():
    assert identity.ip_scopes("198.51.100.7") == {"ip": "198.51.100.7", "net": "198.51.100.0/24"}
    assert identity.ip_scopes("::ffff:198.51.100.7") == {"ip": "198.51.100.7", "net": "198.51.100.0/24"}
    assert identity.ip_scopes("2001:db8:1:2:3:4:5:6") == {"ip": "2001:db8:1:2::/64", "net": "2001:db8:1::/48"}
    assert identity.ip_scopes(None) == {"ip": "unknown", "net": "unknown"}
    assert identity.ip_scopes("garbage") == {"ip": "invalid", "net": "invalid"}


# --- codes --------------------------------------------------------------------------------------------


def test_codes_are_six_random_digits_stored_only_as_a_keyed_hash(store, gateway, fake):
    send(store, gateway, NOW)
    code = fake.last_code(PHONE)
    stored = store.get(f"{layout.OTP_CODES}/{KEYS.phone_key(PHONE)}")
    assert len(code) == 6 and code.isdigit()
    assert code not in str(stored) and PHONE not in str(stored) and PHONE not in str(store.get(f"{layout.OTP_RATE}/{KEYS.phone_key(PHONE)}"))
    assert stored["code_hash"] == KEYS.code_hash(PHONE, code) != KEYS.code_hash("+79007654321", code)
    assert stored["expires_at"] == NOW + timedelta(minutes=10)
    assert len({identity.generate_code() for _ in range(200)}) > 190


@pytest.mark.parametrize("after, valid", [(timedelta(minutes=9, seconds=59), True), (timedelta(minutes=10), True), (timedelta(minutes=10, seconds=1), False), (timedelta(minutes=11), False)])
def test_a_code_is_valid_for_exactly_ten_minutes(store, gateway, fake, after, valid):
    send(store, gateway, NOW)
    if valid:
        assert verify(store, fake.last_code(PHONE), NOW + after).customer_id == KEYS.customer_id_for(PHONE)
    else:
        with pytest.raises(identity.CodeExpired):
            verify(store, fake.last_code(PHONE), NOW + after)


def test_five_attempts_per_code_then_single_use(store, gateway, fake):
    send(store, gateway, NOW)
    code = fake.last_code(PHONE)
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(identity.InvalidCode) as refused:
            verify(store, wrong(code), NOW)
        assert refused.value.details["attempts_left"] == left and refused.value.message_ru.startswith("Неверный код")
    with pytest.raises(identity.CodeAttemptsExceeded):
        verify(store, code, NOW)
    send(store, gateway, NOW + timedelta(minutes=1))  # a new code, fresh attempts
    verify(store, fake.last_code(PHONE), NOW + timedelta(minutes=1))
    with pytest.raises(identity.CodeExpired):
        verify(store, fake.last_code(PHONE), NOW + timedelta(minutes=1))


def test_lockout_after_ten_failures_across_codes_and_its_end(store, gateway, fake):
    for n in range(2):
        send(store, gateway, NOW + timedelta(minutes=n))
        for _ in range(5):
            with pytest.raises(identity.InvalidCode):
                verify(store, wrong(fake.last_code(PHONE)), NOW + timedelta(minutes=n))
    later = NOW + timedelta(hours=1)
    with pytest.raises(identity.RateLimited) as locked:
        send(store, gateway, later)
    assert locked.value.details == {"retry_after": 23 * 3600, "reason": "lockout"}
    with pytest.raises(identity.RateLimited):
        verify(store, fake.last_code(PHONE), later)
    assert len(fake.messages) == 2
    send(store, gateway, NOW + timedelta(hours=24))  # the first five failures left the day
    verify(store, fake.last_code(PHONE), NOW + timedelta(hours=24))


def test_a_success_ends_the_run_of_failures(store, gateway, fake):
    send(store, gateway, NOW)
    for _ in range(4):
        with pytest.raises(identity.InvalidCode):
            verify(store, wrong(fake.last_code(PHONE)), NOW)
    verify(store, fake.last_code(PHONE), NOW)
    assert store.get(f"{layout.OTP_RATE}/{KEYS.phone_key(PHONE)}")["failures"] == []


# --- registration -----------------------------------------------------------------------------------


def test_first_login_registers_once_with_the_welcome_bonus(store, gateway, fake):
    send(store, gateway, NOW)
    first = verify(store, fake.last_code(PHONE), NOW)
    assert (first.registered, first.welcome_bonus) == (True, 500)
    send(store, gateway, NOW + timedelta(minutes=1), phone="8 900 123 45 67")
    again = verify(store, fake.last_code(PHONE), NOW + timedelta(minutes=1))
    assert (again.customer_id, again.registered, again.welcome_bonus) == (first.customer_id, False, 0)
    assert balances(store, first.customer_id, NOW).total == 500
    assert store.get(f"identities/phone:{PHONE}")["customer_id"] == first.customer_id
    assert store.get(f"customers/{first.customer_id}")["phone"] == PHONE


def test_an_invitation_by_partner_code_gives_the_invited_bonus(store, gateway, fake):
    registration.register_customer(store, config=CONFIG, customer_id="maria", now=NOW)
    promo.create_partner_code(store, code="МАРИЯ", partner_id="maria", now=NOW)
    assert send(store, gateway, NOW, invited_by="мария").invited is True
    session = verify(store, fake.last_code(PHONE), NOW)
    assert (session.registered, session.welcome_bonus) == (True, 1000)
    assert store.get(f"customers/{session.customer_id}")["invited_by"] == "maria"


def test_an_existing_phone_identity_keeps_its_customer(store):
    store.run(lambda uow: uow.create(f"identities/phone:{PHONE}", {"customer_id": "migrated-42"}))
    session = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=NOW)
    assert (session.customer_id, session.registered) == ("migrated-42", True)


# --- sending ------------------------------------------------------------------------------------------


def test_connect_errors_are_retried_and_send_once(gateway, fake):
    fake.fail_next("connect", times=2)
    receipt = gateway.send(PHONE, "123456", message_id="m1")
    assert receipt.provider_id == fake.messages[0].sms_id and len(fake.messages) == 1 and fake.calls == 1


@pytest.mark.parametrize("fault, sent, calls, messages", [("read_timeout", "unknown", 1, 1), ("500", "unknown", 1, 0), ("low_balance", "no", 1, 0), ("bad_number", "no", 1, 0)])
def test_nothing_that_may_have_been_sent_is_retried(gateway, fake, fault, sent, calls, messages):
    fake.fail_next(fault)
    with pytest.raises(SmsUnavailable) as failed:
        gateway.send(PHONE, "123456", message_id="m1")
    assert failed.value.details["sent"] == sent and failed.value.definite is (sent == "no")
    assert (fake.calls, len(fake.messages)) == (calls, messages)


def test_an_unreachable_gateway_fails_definitely_after_the_attempts(gateway, fake):
    fake.outage("connect")
    with pytest.raises(SmsUnavailable) as failed:
        gateway.send(PHONE, "123456", message_id="m1")
    assert failed.value.definite and fake.calls == 0


def test_the_fake_dedupes_a_repeated_message_id(gateway, fake):
    first = gateway.send(PHONE, "123456", message_id="m1")
    second = gateway.send(PHONE, "123456", message_id="m1")
    assert first == second and len(fake.messages) == 1 and fake.duplicates == 1


def test_a_wrong_api_id_is_a_definite_failure(fake):
    client = SmsRuClient(api_id="wrong", transport=fake.transport, sleep=lambda _: None)
    with pytest.raises(SmsUnavailable) as failed:
        client.send(PHONE, "123456", message_id="m1")
    assert failed.value.definite


def test_a_failed_send_gives_the_window_slot_back_but_counts_for_the_day(store, gateway, fake):
    fake.fail_next("low_balance")
    with pytest.raises(SmsUnavailable):
        send(store, gateway, NOW)
    limits = store.get(f"{layout.OTP_RATE}/{KEYS.phone_key(PHONE)}")
    assert [s.get("failed") for s in limits["sends"]] == [True]
    for _ in range(3):
        send(store, gateway, NOW)
    with pytest.raises(identity.RateLimited):
        send(store, gateway, NOW)
    statuses = sorted(store.get(f"{layout.OTP_SENDS}/{i}")["status"] for i in store.iter_ids(layout.OTP_SENDS))
    assert statuses == ["failed", "sent", "sent", "sent"]


def test_an_ambiguous_send_keeps_its_slot_and_its_code(store, gateway, fake):
    fake.fail_next("read_timeout")
    with pytest.raises(SmsUnavailable):
        send(store, gateway, NOW)
    assert verify(store, fake.last_code(PHONE), NOW).registered


# --- sessions -------------------------------------------------------------------------------------------


def test_refresh_tokens_rotate_once_and_reuse_revokes_the_family(store):
    first = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=NOW)
    assert tokens.verify(KEYS.token_secret, first.access_token, now=NOW)["sub"] == first.customer_id
    with pytest.raises(Unauthorized):
        tokens.verify(KEYS.token_secret, first.refresh_token, now=NOW)  # not an access token
    second = identity.refresh_session(store, keys=KEYS, refresh_token=first.refresh_token, now=NOW + timedelta(minutes=5))
    third = identity.refresh_session(store, keys=KEYS, refresh_token=second.refresh_token, now=NOW + timedelta(minutes=10))
    with pytest.raises(identity.SessionInvalid) as reused:
        identity.refresh_session(store, keys=KEYS, refresh_token=second.refresh_token, now=NOW + timedelta(minutes=11))
    assert reused.value.details["reason"] == "reused"
    with pytest.raises(identity.SessionInvalid) as revoked:
        identity.refresh_session(store, keys=KEYS, refresh_token=third.refresh_token, now=NOW + timedelta(minutes=12))
    assert revoked.value.details["reason"] == "revoked"
    fresh = identity.start_session(store, keys=KEYS, customer_id=first.customer_id, now=NOW)  # another login: another family
    identity.refresh_session(store, keys=KEYS, refresh_token=fresh.refresh_token, now=NOW + timedelta(minutes=13))


def test_expired_and_tampered_tokens_are_refused(store):
    session = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=NOW)
    with pytest.raises(Unauthorized):
        tokens.verify(KEYS.token_secret, session.access_token, now=NOW + timedelta(seconds=KEYS.access_ttl_seconds))
    with pytest.raises(Unauthorized):
        tokens.verify(KEYS.token_secret, session.access_token[:-2] + "xx", now=NOW)
    with pytest.raises(Unauthorized):
        identity.refresh_session(store, keys=KEYS, refresh_token=session.refresh_token, now=NOW + timedelta(seconds=KEYS.refresh_ttl_seconds))


# --- Telegram ---------------------------------------------------------------------------------------------


def signed(bot_token: str = "123456:bot", *, at: datetime = NOW, **fields) -> dict:
    data = {"id": 4242, "first_name": "Анна", "username": "anna_k", "photo_url": "https://t.me/i/userpic/320/anna.jpg", "auth_date": int(at.timestamp()), **fields}
    return {**data, "hash": identity.telegram_hash(data, bot_token)}


def test_the_telegram_check_string_is_sorted_key_value_lines():
    assert identity.telegram_check_string({"username": "a", "id": 1, "hash": "x", "auth_date": 5}) == "auth_date=5\nid=1\nusername=a"


def test_valid_telegram_data_is_accepted_up_to_an_hour_old():
    assert identity.verify_telegram(signed(), bot_token="123456:bot", now=NOW).id == 4242
    assert identity.verify_telegram(signed(at=NOW - timedelta(hours=1)), bot_token="123456:bot", now=NOW).username == "anna_k"
    upper = signed()
    upper["hash"] = upper["hash"].upper()
    identity.verify_telegram(upper, bot_token="123456:bot", now=NOW)


@pytest.mark.parametrize(
    "fields, bot_token",
    [
        ({**signed(), "first_name": "Мария"}, "123456:bot"),  # tampered
        ({**signed(), "hash": "0" * 64}, "123456:bot"),
        (signed("999:other"), "123456:bot"),  # another bot's
        (signed(at=NOW - timedelta(hours=1, seconds=1)), "123456:bot"),  # stale
        (signed(at=NOW + timedelta(minutes=6)), "123456:bot"),  # from the future
        ({k: v for k, v in signed().items() if k != "hash"}, "123456:bot"),
        ({**signed(), "hash": "ж" * 64}, "123456:bot"),
        (signed(), ""),  # not configured
    ],
)
def test_bad_telegram_data_is_refused(fields, bot_token):
    with pytest.raises(identity.TelegramLoginInvalid):
        identity.verify_telegram(fields, bot_token=bot_token, now=NOW)


def test_telegram_links_once_and_logs_in(store, gateway, fake):
    with pytest.raises(identity.NotLinked) as unlinked:
        identity.telegram_login(store, keys=KEYS, fields=signed(), now=NOW)
    assert unlinked.value.code == "not_linked"
    anna = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=NOW)
    send(store, gateway, NOW)
    user = identity.verify_telegram(signed(), bot_token="123456:bot", now=NOW)
    code = fake.last_code(PHONE)
    assert identity.link_telegram(store, keys=KEYS, gateway=gateway, user=user, customer_id=anna.customer_id, code=code, now=NOW).linked is True
    assert identity.link_telegram(store, keys=KEYS, gateway=gateway, user=user, customer_id=anna.customer_id, code=code, now=NOW).linked is False
    outcome = identity.telegram_login(store, keys=KEYS, fields=signed(), now=NOW)
    assert outcome.customer_id == anna.customer_id and outcome.session is not None
    boris = identity.login_phone(store, config=CONFIG, keys=KEYS, e164="+79007654321", now=NOW)
    with pytest.raises(identity.LinkedElsewhere):
        identity.link_telegram(store, keys=KEYS, gateway=gateway, user=user, customer_id=boris.customer_id, code="123456", now=NOW)
