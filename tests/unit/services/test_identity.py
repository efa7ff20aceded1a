"""Identity without I/O: phones, limits, codes, sessions and Telegram on the in-memory store,
the SMS.ru adapter against the fake behind an httpx MockTransport."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt
import pytest

from shared.adapters import layout
from shared.adapters.captcha import SmartCaptchaClient
from shared.adapters.memory_store import MemoryStore
from shared.adapters.sms import SmsRuClient, SmsUnavailable
from shared.domain import otp
from shared.domain.captcha import CAPTCHA_AFTER_ADDRESS, CaptchaInvalid, CaptchaRequired, CaptchaUnavailable
from shared.domain.customer import SessionRevoked
from shared.domain.errors import Unauthorized
from shared.domain.identity import CustomerToken
from shared.platform import tokens
from shared.presets import load_preset
from shared.services import identity, promo, registration
from shared.services.ledger import balances
from tests.fakes.captcha import FakeSmartCaptcha
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


@pytest.mark.parametrize("exp", ["9999999999", [1], {"at": 1}, 1e400, 9999999999.5, True])
@pytest.mark.parametrize("kind", ["customer", "refresh"])
def test_a_token_whose_exp_is_not_a_whole_number_is_unauthorized(store, exp, kind):
    forged = jwt.encode({"iss": tokens.ISSUER, "sub": "c_1", "typ": kind, "iat": int(NOW.timestamp()), "exp": exp, "jti": "a" * 32, "fam": "b" * 32}, KEYS.token_secret, algorithm="HS256")
    with pytest.raises(Unauthorized):
        tokens.verify(KEYS.token_secret, forged, now=NOW, kind=kind)
    if kind == "refresh":
        with pytest.raises(Unauthorized):
            identity.refresh_session(store, keys=KEYS, refresh_token=forged, now=NOW)
        with pytest.raises(Unauthorized):
            identity.logout(store, keys=KEYS, refresh_token=forged, now=NOW)


@pytest.mark.parametrize(("jti", "fam"), [("²" * 32, "b" * 32), ("a" * 32, "٣" * 32), ("__x__", "b" * 32), ("a" * 32, "")])
def test_a_refresh_token_whose_ids_are_not_ours_is_refused_before_the_store(jti, fam):
    forged = tokens.issue(KEYS.token_secret, subject="c_1", now=NOW, ttl_seconds=60, kind="refresh", jti=jti, fam=fam, ep=0)

    class NoStore:
        def run(self, fn):
            raise AssertionError("the store was reached")

        read = run

    for call in (identity.refresh_session, identity.logout):
        with pytest.raises(identity.SessionInvalid):
            call(NoStore(), keys=KEYS, refresh_token=forged, now=NOW)


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


def _access_stands(store, session: identity.Session, at: datetime) -> None:
    """What every customer route checks: the access token's signature, then its session against the account."""
    claims = tokens.verify(KEYS.token_secret, session.access_token, now=at)
    identity.check_session(store, CustomerToken(customer_id=str(claims["sub"]), epoch=tokens.epoch(claims)))


def test_logout_revokes_the_family_and_ends_the_access_token_at_once(store):
    session = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=NOW)
    _access_stands(store, session, NOW)
    out = identity.logout(store, keys=KEYS, refresh_token=session.refresh_token, now=NOW + timedelta(minutes=1))
    assert out.logged_out and not out.replayed
    with pytest.raises(SessionRevoked):  # well within the access token's hour
        _access_stands(store, session, NOW + timedelta(minutes=2))
    with pytest.raises(identity.SessionInvalid) as refused:
        identity.refresh_session(store, keys=KEYS, refresh_token=session.refresh_token, now=NOW + timedelta(minutes=2))
    assert refused.value.details["reason"] == "revoked"
    again = identity.logout(store, keys=KEYS, refresh_token=session.refresh_token, now=NOW + timedelta(minutes=3))
    assert again.logged_out and again.replayed  # a replay changes nothing
    assert store.read(lambda uow: uow.customer_contacts.blocking(session.customer_id)).epoch == 1
    fresh = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=NOW + timedelta(minutes=4))
    _access_stands(store, fresh, NOW + timedelta(minutes=4))  # the next login opens a session that stands
    identity.refresh_session(store, keys=KEYS, refresh_token=fresh.refresh_token, now=NOW + timedelta(minutes=5))


def test_logout_with_a_foreign_or_unknown_refresh_token_is_refused(store):
    session = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=NOW)
    with pytest.raises(Unauthorized):
        identity.logout(store, keys=KEYS, refresh_token=session.access_token, now=NOW)  # not a refresh token
    forged = tokens.issue(KEYS.token_secret, subject=session.customer_id, now=NOW, ttl_seconds=60, kind="refresh", jti="0" * 32, fam="1" * 32, ep=0)
    with pytest.raises(identity.SessionInvalid):
        identity.logout(store, keys=KEYS, refresh_token=forged, now=NOW)
    _access_stands(store, session, NOW)  # nothing was revoked


def test_a_reused_refresh_token_ends_the_access_tokens_at_once(store):
    first = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=NOW)
    second = identity.refresh_session(store, keys=KEYS, refresh_token=first.refresh_token, now=NOW + timedelta(minutes=1))
    _access_stands(store, second, NOW + timedelta(minutes=1))
    with pytest.raises(identity.SessionInvalid):
        identity.refresh_session(store, keys=KEYS, refresh_token=first.refresh_token, now=NOW + timedelta(minutes=2))
    for session in (first, second):  # the thief's access token and the customer's alike
        with pytest.raises(SessionRevoked):
            _access_stands(store, session, NOW + timedelta(minutes=3))


# --- wrong guesses slow the guesser down, never lock the owner out ----------------------------------

ATTACKER = "203.0.113.9"
OWNER = "198.51.100.7"


def test_an_attacker_s_wrong_guesses_never_lock_the_owner_out(store, gateway, fake):
    for n in range(2):  # ten wrong guesses on codes the attacker requested
        send(store, gateway, NOW + timedelta(minutes=n), ip=ATTACKER)
        for _ in range(5):
            with pytest.raises((identity.InvalidCode, identity.RateLimited)):
                identity.verify_code(store, config=CONFIG, keys=KEYS, phone=PHONE, code=wrong(fake.last_code(PHONE)), ip=ATTACKER, now=NOW + timedelta(minutes=n))
    later = NOW + timedelta(minutes=3)
    send(store, gateway, later, ip=OWNER)  # the owner still gets a code ...
    session = identity.verify_code(store, config=CONFIG, keys=KEYS, phone=PHONE, code=fake.last_code(PHONE), ip=OWNER, now=later)  # ... and logs in at once
    assert session.customer_id


def test_wrong_guesses_from_one_network_wait_progressively_longer(store, gateway, fake):
    assert otp.FREE_FAILURES == otp.MAX_ATTEMPTS  # a whole code's guesses are never slowed
    send(store, gateway, NOW, ip=ATTACKER)
    for _ in range(otp.FREE_FAILURES):
        with pytest.raises(identity.InvalidCode):
            identity.verify_code(store, config=CONFIG, keys=KEYS, phone=PHONE, code=wrong(fake.last_code(PHONE)), ip=ATTACKER, now=NOW)
    at = NOW + timedelta(seconds=10)
    send(store, gateway, at, ip=ATTACKER)
    code = fake.last_code(PHONE)
    waits = []
    for _ in range(2):
        with pytest.raises(identity.RateLimited) as slowed:
            identity.verify_code(store, config=CONFIG, keys=KEYS, phone=PHONE, code=code, ip=ATTACKER, now=at)  # refused unchecked, not counted
        assert slowed.value.reason is otp.RateReason.VERIFY_DELAY
        waits.append(slowed.value.retry_after)
        at += timedelta(seconds=slowed.value.retry_after)
        with pytest.raises(identity.InvalidCode):
            identity.verify_code(store, config=CONFIG, keys=KEYS, phone=PHONE, code=wrong(code), ip=ATTACKER, now=at)
    base = int(otp.DELAY_BASE.total_seconds())
    assert waits == [base - 10, 2 * base]  # 30 s after the sixth wrong code, 60 s after the seventh
    # the owner, who has the code, waits at most the cap even on the attacker's network
    with pytest.raises(identity.RateLimited) as slowed:
        identity.verify_code(store, config=CONFIG, keys=KEYS, phone=PHONE, code=code, ip=ATTACKER, now=at)
    assert slowed.value.retry_after <= otp.DELAY_CAP.total_seconds()
    session = identity.verify_code(store, config=CONFIG, keys=KEYS, phone=PHONE, code=code, ip=ATTACKER, now=at + timedelta(seconds=slowed.value.retry_after))
    assert session.customer_id


# --- each network gets its own share of the daily SMS budget ----------------------------------------


def test_one_network_cannot_drain_the_daily_sms_budget(store, gateway, fake):
    budget = 1000
    share = otp.network_share(budget)
    assert share == budget * otp.NETWORK_SHARE_PERCENT // 100 < budget // 10  # it takes more than ten networks to spend the day
    sent = 0
    for n in range(share + 5):  # many addresses of one /24, each within its own limits
        try:
            send(store, gateway, NOW + timedelta(seconds=n), phone=f"+7900300{n:04d}", ip=f"198.51.100.{n // 8 + 1}", daily_budget=budget)
            sent += 1
        except identity.RateLimited as refused:
            assert refused.reason is otp.RateReason.NETWORK_SHARE
            assert refused.to_dict()["message_ru"].startswith("Слишком много запросов кода из вашей сети.")
    assert sent == share == len(fake.messages)
    send(store, gateway, NOW + timedelta(minutes=5), phone="+79003009999", ip="203.0.113.5", daily_budget=budget)  # another network still gets codes


# --- a captcha before risky sends -------------------------------------------------------------------


@pytest.fixture
def captcha_service() -> FakeSmartCaptcha:
    return FakeSmartCaptcha(server_key="captcha-key")


@pytest.fixture
def captcha(captcha_service) -> SmartCaptchaClient:
    return SmartCaptchaClient(server_key="captcha-key", transport=captcha_service.transport, sleep=lambda _: None)


def test_a_risky_code_request_sends_nothing_until_a_captcha_passes(store, gateway, fake, captcha, captcha_service):
    busy = "198.51.100.50"
    for n in range(CAPTCHA_AFTER_ADDRESS):  # an address that asked for codes for several phones this hour
        send(store, gateway, NOW, phone=f"+7900400{n:04d}", ip=busy, captcha=captcha)
    assert captcha_service.calls == 0  # a quiet request is not asked for one
    risky = "+79004009999"
    with pytest.raises(CaptchaRequired) as required:
        send(store, gateway, NOW, phone=risky, ip=busy, captcha=captcha)
    assert required.value.to_dict()["message_ru"] == "Подтвердите, что вы не робот." and required.value.details["risk"] == ["busy_address"]
    with pytest.raises(CaptchaInvalid):
        send(store, gateway, NOW, phone=risky, ip=busy, captcha=captcha, captcha_token="forged")
    assert fake.sent_to(risky) == [] and store.get(f"{layout.OTP_RATE}/{KEYS.phone_key(risky)}") is None  # nothing sent or counted
    token = captcha_service.solve()
    send(store, gateway, NOW, phone=risky, ip=busy, captcha=captcha, captcha_token=token)
    assert len(fake.sent_to(risky)) == 1 and captcha_service.validated[-1] == {"secret": "captcha-key", "token": token, "ip": busy}
    with pytest.raises(CaptchaInvalid):  # a token passes once
        send(store, gateway, NOW, phone="+79004009998", ip=busy, captcha=captcha, captcha_token=token)


def test_a_resend_and_a_phone_with_wrong_codes_are_risky(store, gateway, fake, captcha, captcha_service):
    send(store, gateway, NOW, captcha=captcha)
    with pytest.raises(CaptchaRequired) as resend:
        send(store, gateway, NOW + timedelta(minutes=1), captcha=captcha)
    assert resend.value.details["risk"] == ["resend"]
    send(store, gateway, NOW + timedelta(minutes=1), captcha=captcha, captcha_token=captcha_service.solve())
    with pytest.raises(identity.InvalidCode):
        verify(store, wrong(fake.last_code(PHONE)), NOW + timedelta(minutes=2))
    with pytest.raises(CaptchaRequired) as guessed:
        send(store, gateway, NOW + timedelta(hours=1), captcha=captcha)
    assert guessed.value.details["risk"] == ["wrong_codes"]
    for minute in range(3):
        send(store, gateway, NOW + timedelta(hours=1, minutes=minute), captcha=captcha, captcha_token=captcha_service.solve())
    with pytest.raises(identity.RateLimited):  # a request a limit refuses anyway is not asked for a captcha first
        send(store, gateway, NOW + timedelta(hours=1, minutes=3), captcha=captcha)


def test_an_unreachable_captcha_service_sends_nothing(store, gateway, fake, captcha, captcha_service):
    captcha_service.fail_next("connect")  # never left: tried again
    send(store, gateway, NOW, ip=None, captcha=captcha, captcha_token=captcha_service.solve())
    assert captcha_service.calls == 1
    captcha_service.fail_next("read_timeout")  # the token may be used up: never tried again
    with pytest.raises(CaptchaUnavailable):
        send(store, gateway, NOW, phone="+79004008888", ip=None, captcha=captcha, captcha_token=captcha_service.solve())
    captcha_service.fail_next("500")
    with pytest.raises(CaptchaUnavailable):
        send(store, gateway, NOW, phone="+79004008887", ip=None, captcha=captcha, captcha_token=captcha_service.solve())
    assert captcha_service.calls == 3 and fake.sent_to("+79004008888") == fake.sent_to("+79004008887") == []
