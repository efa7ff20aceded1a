"""Messages end to end on the emulator: causes enqueue, ``POST expiry_sweep/dispatch`` sends
through the SMS.ru and Bot API fakes and a real SMTP server, the letter's link unsubscribes.

The functions read the clock: time-machine holds it at moments after the real one (the
emulator's RPC deadlines follow the clock, so it may only move forward): noon in Moscow of the
day after tomorrow, and the hours and days from there."""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta, timezone
from urllib.parse import urlparse

import pytest
import time_machine

from shared.adapters import layout
from shared.domain.customer import Notifications
from shared.domain.ledger import Accrue
from shared.platform import bootstrap
from shared.platform.settings import reload
from shared.services import orders, sweeps
from shared.services.ledger import AccountSession
from tests.conftest import load_function
from tests.fakes.sms import FakeSmsRu
from tests.fakes.smtp import smtp_server
from tests.fakes.telegram_bot import FakeTelegramBot
from tests.functions.shop import SWEEP, config, customer, paid_order

MSK = timezone(timedelta(hours=3))
NOON = datetime.combine(datetime.now(MSK).date() + timedelta(days=2), time(12, 0), tzinfo=MSK).astimezone(timezone.utc)
ANNA = {"name": "Анна Петрова", "phone": "+79161234567", "email": "anna.petrova@example.ru"}
MARIA = {"name": "Мария", "phone": "+79990000001", "email": "maria@example.ru"}


@pytest.fixture
def channels(function_env):
    sms, bot = FakeSmsRu(), FakeTelegramBot()
    with smtp_server() as inbox:
        os.environ.update(
            SMSRU_API_ID=sms.api_id, TELEGRAM_BOT_TOKEN=bot.token, SMTP_HOST="127.0.0.1", SMTP_PORT=str(inbox.port), SMTP_STARTTLS="0",
            SMTP_FROM="Biomiq <bonus@biomiq.example>", KOPILKA_ACCOUNT_URL="https://fn.example/account",
        )
        reload()
        bootstrap.set_transport("sms", sms.transport)
        bootstrap.set_transport("telegram_bot", bot.transport)
        yield sms, bot, inbox
        bootstrap.set_transport("sms", None)
        bootstrap.set_transport("telegram_bot", None)


@pytest.fixture
def sweep():
    return load_function("expiry_sweep")


def profile(store, customer_id: str, who: dict[str, str], *, email: bool = True, telegram_id: int | None = None) -> None:
    def unit(uow):
        session = AccountSession(uow, customer_id)
        session.record = session.record.set_profile(**who, telegram_id=telegram_id, notifications=Notifications(sms=True, email=email, telegram=telegram_id is not None))
        session.save()

    store.run(unit)


def dispatch(client, at: datetime) -> dict:
    with time_machine.travel(at, tick=False):
        answer = client.post("/dispatch", headers=SWEEP)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def test_annas_first_payment_sends_maria_one_new_referral_message_without_annas_data(function_env, channels, sweep):
    sms, bot, inbox = channels
    store = function_env
    customer(store, "maria", at=NOON)
    profile(store, "maria", MARIA, telegram_id=4242)
    customer(store, "anna", at=NOON, invited_by="maria")
    profile(store, "anna", ANNA)
    paid_order(store, "A1", "anna", bonuses=0, register=False, at=NOON)
    paid_order(store, "A2", "anna", bonuses=0, register=False, at=NOON)  # her second payment: no second message
    assert dispatch(sweep, NOON)["sent"] >= 3
    dispatch(sweep, NOON + timedelta(minutes=5))
    to_maria = [m.text for m in sms.messages if m.to == MARIA["phone"].lstrip("+")]
    assert len([t for t in to_maria if "новый покупатель" in t]) == 1
    [telegram] = [m for m in bot.messages if "новый покупатель" in m.text]
    assert telegram.chat_id == "4242"
    [letter] = [m for m in inbox.messages() if m["Subject"] == "Новый покупатель по вашей ссылке"]
    texts = [*to_maria, telegram.text, letter.get_content()]
    for text in texts:
        for value in (*ANNA.values(), "Анна", "anna", "1234567"):
            assert value not in text
    assert "Всего покупающих друзей: 1" in to_maria[0]


def test_delivery_plus_the_hold_sends_available(function_env, channels, sweep):
    sms, _, _ = channels
    store = function_env
    paid_order(store, "A1", "anna", bonuses=0, at=NOON)
    profile(store, "anna", ANNA)
    orders.mark_delivered(store, config=config(NOON), order_id="A1", delivered_at=NOON, now=NOON, carrier="test")
    hold = timedelta(days=config(NOON).hold_days)
    dispatch(sweep, NOON + hold - timedelta(minutes=1))
    assert [m for m in sms.messages if "доступны" in m.text] == []
    dispatch(sweep, NOON + hold)
    [available] = [m.text for m in sms.messages if "доступны" in m.text]
    assert "бонусов доступны" in available


def test_a_lot_expiring_in_seven_days_sends_one_reminder_however_many_sweeps_run(function_env, channels, sweep):
    sms, _, _ = channels
    store = function_env
    customer(store, "anna", at=NOON)
    profile(store, "anna", ANNA)

    def grant(uow):
        session = AccountSession(uow, "anna")
        session.post("grant:test", Accrue(amount=300, source="manual", ref="test", activates_at=NOON, expires_at=NOON + timedelta(days=7)), now=NOON, fresh=True)
        session.save()

    store.run(grant)
    for hours in (0, 1, 25):
        at = NOON + timedelta(hours=hours)
        sweeps.warn_expiring(store, config=config(at), now=at, batch=50, max_pages=2)
        dispatch(sweep, at)
    reminders = [m.text for m in sms.messages if "сгорят" in m.text]
    expires = (NOON + timedelta(days=7)).astimezone(MSK).strftime("%d.%m.%Y")
    assert len(reminders) == 1 and f"300 бонусов сгорят {expires}" in reminders[0]


def test_a_message_due_at_23_moscow_goes_at_9(function_env, channels, sweep):
    sms, _, _ = channels
    store = function_env
    late = NOON + timedelta(hours=11)  # 23:00 in Moscow
    paid_order(store, "A1", "anna", bonuses=0, at=late)
    profile(store, "anna", ANNA)
    orders.mark_delivered(store, config=config(late), order_id="A1", delivered_at=late - timedelta(days=config(late).hold_days), now=late, carrier="test")
    assert dispatch(sweep, late)["held"] >= 1
    nine = NOON + timedelta(hours=21)  # 09:00 in Moscow the next day
    assert dispatch(sweep, nine - timedelta(minutes=1))["sent"] == 0
    assert [m for m in sms.messages if "доступны" in m.text] == []
    dispatch(sweep, nine)
    assert len([m for m in sms.messages if "доступны" in m.text]) == 1


def test_email_has_one_click_headers_its_link_unsubscribes_and_then_no_email_goes(function_env, channels, sweep):
    sms, _, inbox = channels
    store = function_env
    paid_order(store, "A1", "anna", bonuses=0, at=NOON)
    profile(store, "anna", ANNA)
    orders.mark_delivered(store, config=config(NOON), order_id="A1", delivered_at=NOON - timedelta(days=config(NOON).hold_days), now=NOON, carrier="test")
    dispatch(sweep, NOON)
    [letter] = inbox.messages()
    assert letter["To"] == ANNA["email"] and letter["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = letter["List-Unsubscribe"].strip("<>")
    assert link in letter.get_content()
    parsed = urlparse(link)
    assert f"{parsed.scheme}://{parsed.netloc}{parsed.path}" == "https://fn.example/account/unsubscribe"
    account = load_function("account")
    with time_machine.travel(NOON, tick=False):
        page = account.get(f"/unsubscribe?{parsed.query}")
        assert page.status_code == 200 and "Вы отписались от писем" in page.get_data(as_text=True)
        assert account.post(f"/unsubscribe?{parsed.query}").get_json() == {"unsubscribed": True}  # one-click, again: still off
        assert account.get("/unsubscribe?token=forged").status_code == 400
    assert store.get(layout.account("anna"))["notifications"]["email"] is False
    paid_order(store, "A2", "anna", bonuses=0, register=False, at=NOON)
    orders.mark_delivered(store, config=config(NOON), order_id="A2", delivered_at=NOON - timedelta(days=config(NOON).hold_days), now=NOON, carrier="test")
    report = dispatch(sweep, NOON + timedelta(minutes=1))
    assert report["skipped"] == 2 and len(inbox.messages()) == 1  # e-mail switched off; no Telegram linked
    assert store.get(layout.outbox_message("bonus_available:A2:email"))["status"] == "skipped"
    assert len([m for m in sms.messages if "доступны" in m.text]) == 2
