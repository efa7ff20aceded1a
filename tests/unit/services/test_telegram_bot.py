"""Registration through the shop's Telegram bot on the in-memory store: the user's own shared
contact is a verified phone (no SMS), somebody else's contact registers nobody."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.adapters import layout
from shared.adapters.memory_store import MemoryStore
from shared.adapters.sms import SmsRuClient
from shared.api.telegram_bot import BotUpdate
from shared.presets import load_preset
from shared.services import identity
from shared.services.ledger import balances
from tests.fakes.sms import FakeSmsRu
from tests.reliability.audit import assert_ledgers_sound

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


def update(sender: int = 4242, *, contact: dict | None = None, text: str | None = None, chat_type: str = "private") -> BotUpdate:
    message: dict = {"message_id": 7, "date": int(NOW.timestamp()), "from": {"id": sender, "is_bot": False, "first_name": "Анна", "username": "anna_k"}, "chat": {"id": sender, "type": chat_type}}
    if contact is not None:
        message["contact"] = contact
    if text is not None:
        message["text"] = text
    return BotUpdate.model_validate({"update_id": 1, "message": message})


def own_contact(sender: int = 4242, phone: str = "79001234567") -> dict:
    return {"phone_number": phone, "first_name": "Анна", "user_id": sender}


def answer(store, gateway, upd: BotUpdate, **kwargs) -> dict:
    return identity.handle_update(store, config=CONFIG, keys=KEYS, gateway=gateway, update=upd, now=NOW, **kwargs).model_dump(mode="json", exclude_none=True)


def signed(user_id: int = 4242) -> dict:
    data = {"id": user_id, "first_name": "Анна", "username": "anna_k", "auth_date": int(NOW.timestamp())}
    return {**data, "hash": identity.telegram_hash(data, BOT)}


def test_a_new_customer_registers_through_the_bot_with_their_own_contact(store, gateway, fake):
    start = answer(store, gateway, update(text="/start"))
    assert start["method"] == "sendMessage" and start["chat_id"] == 4242
    assert start["reply_markup"]["keyboard"] == [[{"text": "Поделиться номером", "request_contact": True}]]
    done = answer(store, gateway, update(contact=own_contact()))
    assert done["text"].startswith("Готово! Вы зарегистрированы") and done["reply_markup"] == {"remove_keyboard": True}
    customer_id = KEYS.customer_id_for(PHONE)
    account = store.get(layout.account(customer_id))
    assert account["phone"] == PHONE and account["phone_verified_at"] == NOW and account["telegram_id"] == 4242
    assert CONFIG.welcome.standard > 0 and balances(store, customer_id, NOW + timedelta(days=CONFIG.welcome.activation_days)).total == CONFIG.welcome.standard
    assert fake.calls == 0  # no SMS at all
    session = identity.telegram_login(store, keys=KEYS, fields=signed(), now=NOW)
    assert session.customer_id == customer_id and session.session is not None
    assert answer(store, gateway, update(contact=own_contact()))["text"].startswith("Этот Telegram уже привязан к вашему")  # a repeat: no change
    assert identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=NOW).registered is False  # one customer for the phone
    assert_ledgers_sound(store, customers=[customer_id])


def test_bot_registration_stays_open_when_the_sms_budget_is_spent(store, gateway, fake):
    identity.request_code(store, gateway=gateway, keys=KEYS, phone="+79007654321", ip=None, now=NOW, daily_budget=1)
    with pytest.raises(identity.RateLimited):
        identity.request_code(store, gateway=gateway, keys=KEYS, phone=PHONE, ip=None, now=NOW, daily_budget=1)
    done = answer(store, gateway, update(contact=own_contact()), daily_budget=1)
    assert done["text"].startswith("Готово! Вы зарегистрированы")
    assert store.get(layout.account(KEYS.customer_id_for(PHONE)))["phone"] == PHONE


@pytest.mark.parametrize(
    "contact",
    [
        {"phone_number": "79001234567", "first_name": "Анна", "user_id": 777},  # somebody else's Telegram contact
        {"phone_number": "79001234567", "first_name": "Анна"},  # a phone-book entry, no Telegram account
    ],
)
def test_a_contact_that_is_not_the_senders_registers_nobody(store, gateway, fake, contact):
    refused = answer(store, gateway, update(contact=contact))
    assert "своим номером" in refused["text"] and refused["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    assert store.get(layout.identity("phone", PHONE)) is None and store.get(layout.identity("telegram", 4242)) is None
    assert store.get(layout.account(KEYS.customer_id_for(PHONE))) is None


def test_an_existing_customers_own_contact_links_telegram_and_tells_them_by_sms(store, gateway, fake):
    anna = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=NOW)
    done = answer(store, gateway, update(contact=own_contact()))
    assert done["text"].startswith("Готово! Telegram привязан")
    assert identity.telegram_login(store, keys=KEYS, fields=signed(), now=NOW).customer_id == anna.customer_id
    assert [m.to for m in fake.messages if "Telegram" in m.text] == [PHONE.lstrip("+")]
    answer(store, gateway, update(contact=own_contact()))  # Telegram repeats the delivery
    assert len([m for m in fake.messages if "Telegram" in m.text]) == 1


def test_a_telegram_linked_to_another_customer_registers_nobody_else(store, gateway, fake):
    answer(store, gateway, update(contact=own_contact()))
    other = answer(store, gateway, update(contact=own_contact(phone="79007654321")))
    assert "другому аккаунту" in other["text"]
    assert store.get(layout.identity("phone", "+79007654321")) is None


def test_group_chats_and_bad_numbers_are_not_registered(store, gateway):
    assert answer(store, gateway, update(contact=own_contact(), chat_type="group")) == {}
    bad = answer(store, gateway, update(contact=own_contact(phone="74951234567")))  # a Moscow landline
    assert "не подходит" in bad["text"]
    assert store.get(layout.identity("telegram", 4242)) is None


def test_the_webhook_secret_is_derived_from_the_bot_token_and_checked():
    identity.check_bot_secret(KEYS, KEYS.telegram_webhook_secret())
    for presented in (None, "", "0" * 64, identity.IdentityKeys(token_secret="x", otp_secret=b"y", telegram_bot_token="999:other").telegram_webhook_secret()):
        with pytest.raises(identity.TelegramBotUnauthorized):
            identity.check_bot_secret(KEYS, presented)
    with pytest.raises(identity.TelegramBotUnauthorized):  # no bot configured: no webhook
        identity.check_bot_secret(identity.IdentityKeys(token_secret="x", otp_secret=b"y"), "")
