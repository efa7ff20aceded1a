"""Linking Telegram to an account: a bearer token alone never links (a fresh proof of the phone does),
the customer is told by SMS and can unlink, on the in-memory store."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.adapters import layout
from shared.adapters.memory_store import MemoryStore
from shared.adapters.sms import SmsRuClient
from shared.domain.errors import Unauthorized
from shared.domain.identity import CustomerToken, Identity
from shared.platform import tokens
from shared.presets import load_preset
from shared.services import identity
from tests.fakes.sms import FakeSmsRu

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
PHONE = "+79001234567"
BOT = "123456:bot"
KEYS = identity.IdentityKeys(token_secret="unit-token-secret-of-at-least-32-bytes", otp_secret=b"unit-otp-secret", telegram_bot_token=BOT)
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


def signed(user_id: int = 4242, *, at: datetime = NOW) -> dict:
    data = {"id": user_id, "first_name": "Анна", "username": "attacker", "auth_date": int(at.timestamp())}
    return {**data, "hash": identity.telegram_hash(data, BOT)}


def code_for(store, gateway, fake, phone: str = PHONE, at: datetime = NOW, daily_budget: int = 0) -> str:
    identity.request_code(store, gateway=gateway, keys=KEYS, phone=phone, ip="198.51.100.7", now=at, daily_budget=daily_budget)
    return fake.last_code(phone)


def link(store, gateway, customer_id: str, code: str | None, telegram_id: int = 4242, at: datetime = NOW, **kwargs) -> identity.TelegramResult:
    verified = identity.verify_telegram(signed(telegram_id, at=at), bot_token=BOT, now=at)
    return identity.link_telegram(store, keys=KEYS, gateway=gateway, user=verified, customer_id=customer_id, code=code, now=at, **kwargs)


def access(session: identity.Session) -> CustomerToken:
    claims = tokens.verify(KEYS.token_secret, session.access_token, now=NOW)
    return CustomerToken(customer_id=str(claims["sub"]), epoch=tokens.epoch(claims))


def test_a_bearer_token_alone_cannot_link_telegram(store, gateway, fake):
    anna = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=NOW)
    with pytest.raises(identity.PhoneProofRequired) as refused:
        link(store, gateway, anna.customer_id, None)
    assert refused.value.code == "phone_proof_required"
    with pytest.raises(identity.InvalidCode):  # a guessed code is no proof
        link(store, gateway, anna.customer_id, "000000" if code_for(store, gateway, fake) != "000000" else "111111")
    with pytest.raises(identity.NotLinked):  # the attacker's Telegram logs nobody in
        identity.telegram_login(store, keys=KEYS, fields=signed(), now=NOW)
    assert store.get(layout.identity("telegram", 4242)) is None
    assert all("Telegram" not in m.text for m in fake.messages)  # nothing linked, nothing told


def test_linking_telegram_needs_a_fresh_code_sent_to_the_accounts_phone(store, gateway, fake):
    anna = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=NOW)
    code = code_for(store, gateway, fake)
    other = code_for(store, gateway, fake, phone="+79007654321")
    with pytest.raises(identity.InvalidCode):  # a code of another phone proves nothing here
        link(store, gateway, anna.customer_id, other)
    assert link(store, gateway, anna.customer_id, code).linked is True
    assert link(store, gateway, anna.customer_id, code).linked is False  # a replay: no change, the used code not needed
    with pytest.raises(identity.CodeExpired):  # the code is used up: it logs nobody in
        identity.verify_code(store, config=CONFIG, keys=KEYS, phone=PHONE, code=code, now=NOW)
    outcome = identity.telegram_login(store, keys=KEYS, fields=signed(), now=NOW)
    assert outcome.customer_id == anna.customer_id and outcome.session is not None
    assert store.get(layout.account(anna.customer_id))["telegram_id"] == 4242
    boris = identity.login_phone(store, config=CONFIG, keys=KEYS, e164="+79007654321", now=NOW)
    with pytest.raises(identity.LinkedElsewhere):
        link(store, gateway, boris.customer_id, code_for(store, gateway, fake, phone="+79007654321", at=NOW.replace(minute=20)), at=NOW.replace(minute=20))


def test_the_customer_is_told_by_sms_once_when_telegram_is_linked(store, gateway, fake):
    anna = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=NOW)
    code = code_for(store, gateway, fake, daily_budget=100)
    link(store, gateway, anna.customer_id, code, daily_budget=100)
    link(store, gateway, anna.customer_id, code, daily_budget=100)  # a replay tells nobody twice
    notices = [m for m in fake.messages if "Telegram" in m.text]
    assert len(notices) == 1 and notices[0].to == PHONE.lstrip("+") and "@attacker" in notices[0].text
    assert identity.sms_sent_on(store, identity.budget_day(NOW)[0]) == 2  # the code and the notice, against the budget


def test_the_link_notice_is_skipped_when_the_sms_budget_is_spent(store, gateway, fake):
    anna = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=NOW)
    code = code_for(store, gateway, fake, daily_budget=1)  # the code spends the day's budget
    assert link(store, gateway, anna.customer_id, code, daily_budget=1).linked is True
    assert [m for m in fake.messages if "Telegram" in m.text] == []
    assert identity.sms_sent_on(store, identity.budget_day(NOW)[0]) == 1


def test_unlinking_telegram_ends_every_session_and_its_login(store, gateway, fake):
    anna = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=NOW)
    link(store, gateway, anna.customer_id, code_for(store, gateway, fake))
    thief = identity.telegram_login(store, keys=KEYS, fields=signed(), now=NOW).session
    assert thief is not None
    unlinked = identity.unlink_telegram(store, customer_id=anna.customer_id, now=NOW)
    assert unlinked.unlinked is True and unlinked.telegram_ids == [4242]
    with pytest.raises(identity.NotLinked):
        identity.telegram_login(store, keys=KEYS, fields=signed(), now=NOW)
    for session in (anna, thief):  # every session opened before is refused, the refresh families too
        with pytest.raises(Unauthorized):
            identity.check_session(store, access(session))
        with pytest.raises(Unauthorized):
            identity.refresh_session(store, keys=KEYS, refresh_token=session.refresh_token, now=NOW)
    assert identity.unlink_telegram(store, customer_id=anna.customer_id, now=NOW).unlinked is False  # again: no change
    fresh = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=NOW)
    identity.check_session(store, access(fresh))
    later = NOW.replace(minute=30)
    assert link(store, gateway, anna.customer_id, code_for(store, gateway, fake, at=later), at=later).linked is True  # linked again, with a new proof


def test_a_link_made_before_the_account_recorded_it_can_be_unlinked(store):
    anna = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=NOW)
    store.run(lambda uow: uow.identities.create(Identity.telegram(4242, anna.customer_id, NOW, "anna_k")))  # as linked before
    assert identity.unlink_telegram(store, customer_id=anna.customer_id, now=NOW).telegram_ids == [4242]
    with pytest.raises(identity.NotLinked):
        identity.telegram_login(store, keys=KEYS, fields=signed(), now=NOW)
