"""Telegram linking and bot registration on both stores, under races and replays: one Telegram
account belongs to one customer, a phone opens one account, the welcome bonus is given once."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.adapters import layout
from shared.adapters.sms import SmsRuClient
from shared.domain.errors import Retryable
from shared.domain.identity import IdentityKind
from shared.presets import load_preset
from shared.services import identity
from shared.services.ledger import balances
from tests.fakes.sms import FakeSmsRu
from tests.reliability.audit import assert_ledgers_sound

BOT = "123456:bot"
KEYS = identity.IdentityKeys(token_secret="integration-token-secret-of-32-bytes", otp_secret=b"integration-otp-secret", telegram_bot_token=BOT)
CONFIG = load_preset("biomiq")
ANNA, BORIS = "+79001234567", "+79007654321"


@pytest.fixture
def fake() -> FakeSmsRu:
    return FakeSmsRu(api_id="k")


@pytest.fixture
def gateway(fake) -> SmsRuClient:
    return SmsRuClient(api_id="k", transport=fake.transport, sleep=lambda _: None)


def client_call(fn, attempts: int = 10):
    """A well-behaved client: on a retryable refusal it waits and tries again."""
    for _ in range(attempts):
        try:
            return fn()
        except Retryable as exc:
            time.sleep(random.uniform(0.05, min(exc.retry_after_seconds, 0.5)))
    raise AssertionError("still contended after client retries")


def user(user_id: int, now) -> identity.TelegramUser:
    fields = {"id": user_id, "username": "anna_k", "auth_date": int(now.timestamp())}
    return identity.verify_telegram({**fields, "hash": identity.telegram_hash(fields, BOT)}, bot_token=BOT, now=now)


def test_one_telegram_raced_onto_two_accounts_goes_to_one(store, gateway, fake, now):
    customers = {}
    for phone in (ANNA, BORIS):
        customers[phone] = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=phone, now=now).customer_id
        identity.request_code(store, gateway=gateway, keys=KEYS, phone=phone, ip=None, now=now)
    codes = {phone: fake.last_code(phone) for phone in (ANNA, BORIS)}

    def link(phone):
        try:
            return client_call(lambda: identity.link_telegram(store, keys=KEYS, gateway=gateway, user=user(4242, now), customer_id=customers[phone], code=codes[phone], now=now)).customer_id
        except identity.LinkedElsewhere:
            return "refused"

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(link, (ANNA, BORIS)))
    assert results.count("refused") == 1
    winner = next(r for r in results if r != "refused")
    assert store.read(lambda uow: uow.identities.get(IdentityKind.TELEGRAM, 4242)).customer_id == winner
    assert identity.login_linked(store, keys=KEYS, telegram_id=4242, now=now).customer_id == winner
    assert len([m for m in fake.messages if "Telegram" in m.text]) == 1  # only the winner is told


def test_a_bot_registration_raced_by_an_sms_login_opens_one_account(store, gateway, fake, now):
    def by_bot(_):
        return client_call(
            lambda: identity.register_by_contact(store, config=CONFIG, keys=KEYS, gateway=gateway, telegram_id=4242, username="anna_k", contact_user_id=4242, phone="79001234567", now=now)
        )

    def by_sms(_):
        return client_call(lambda: identity.login_phone(store, config=CONFIG, keys=KEYS, e164=ANNA, now=now))

    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(by_bot if n % 2 else by_sms, n) for n in range(6)]
        [f.result() for f in futures]
    customer_id = KEYS.customer_id_for(ANNA)
    assert store.read(lambda uow: uow.identities.get(IdentityKind.PHONE, ANNA)).customer_id == customer_id
    assert identity.login_linked(store, keys=KEYS, telegram_id=4242, now=now).customer_id == customer_id
    assert balances(store, customer_id, now).total == CONFIG.welcome.standard  # once
    assert store.read(lambda uow: uow.customer_contacts.get(customer_id)).telegram_id == 4242
    assert_ledgers_sound(store, customers=[customer_id])


def test_replayed_links_and_unlinks_change_nothing_twice(store, gateway, fake, now):
    anna = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=ANNA, now=now)
    identity.request_code(store, gateway=gateway, keys=KEYS, phone=ANNA, ip=None, now=now)
    code = fake.last_code(ANNA)
    for _ in range(3):
        identity.link_telegram(store, keys=KEYS, gateway=gateway, user=user(4242, now), customer_id=anna.customer_id, code=code, now=now)
    assert len([m for m in fake.messages if "Telegram" in m.text]) == 1
    epoch = store.read(lambda uow: uow.customer_contacts.blocking(anna.customer_id)).epoch
    results = [identity.unlink_telegram(store, customer_id=anna.customer_id, now=now).unlinked for _ in range(3)]
    assert results == [True, False, False]
    assert store.read(lambda uow: uow.customer_contacts.blocking(anna.customer_id)).epoch == epoch + 1  # moved on once
    assert store.read(lambda uow: uow.get(layout.identity("telegram", 4242)))["unlinked_at"] == now
    assert_ledgers_sound(store, customers=[anna.customer_id])
