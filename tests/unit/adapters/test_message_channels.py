"""The message channels against local fakes: the Bot API's fake and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlparse

import pytest

from shared.adapters.email import EmailUnavailable, SmtpMailer
from shared.adapters.message_channels import EmailChannel, SmsChannel, TelegramChannel, unsubscribed_customer
from shared.adapters.sms import SmsRuClient
from shared.adapters.telegram_bot import TelegramBotClient, TelegramUnavailable
from shared.domain.errors import Unauthorized
from shared.domain.messages import Channel, OutboxMessage, Trigger
from tests.fakes.sms import FakeSmsRu
from tests.fakes.smtp import free_port, smtp_server
from tests.fakes.telegram_bot import FakeTelegramBot

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
SECRET = "test-token-secret-of-at-least-32-bytes"


def _message(channel: Channel) -> OutboxMessage:
    return OutboxMessage(
        key=f"bonus_available:o-1:{channel.value}", customer_id="maria", trigger=Trigger.BONUS_AVAILABLE, channel=channel,
        subject="Бонусы доступны", body="Biomiq: 150 бонусов доступны.", due_at=NOW, created_at=NOW,
    )


@pytest.fixture
def smtp():
    with smtp_server() as inbox:
        yield inbox, inbox.port


def test_sms_goes_through_smsru_keyed_by_the_message():
    fake = FakeSmsRu()
    channel = SmsChannel(SmsRuClient(api_id=fake.api_id, transport=fake.transport, sleep=lambda _: None))
    channel.send(_message(Channel.SMS), "+79990000001")
    channel.send(_message(Channel.SMS), "+79990000001")  # a resend after a lost answer
    assert [(m.to, m.text, m.key) for m in fake.messages] == [("79990000001", "Biomiq: 150 бонусов доступны.", "bonus_available:o-1:sms")]
    assert fake.duplicates == 1


def test_telegram_sends_to_the_linked_chat_and_retries_a_5xx():
    fake = FakeTelegramBot()
    fake.fail_next("500")
    fake.fail_next("connect")
    channel = TelegramChannel(TelegramBotClient(token=fake.token, transport=fake.transport, sleep=lambda _: None))
    channel.send(_message(Channel.TELEGRAM), "42")
    assert [(m.chat_id, m.text) for m in fake.messages] == [("42", "Biomiq: 150 бонусов доступны.")]
    fake.blocked.add("43")
    with pytest.raises(TelegramUnavailable, match="blocked"):
        channel.send(_message(Channel.TELEGRAM), "43")


def test_email_carries_the_one_click_unsubscribe_headers_and_link(smtp):
    inbox, port = smtp
    mailer = SmtpMailer(host="127.0.0.1", port=port, sender="Biomiq <bonus@biomiq.example>", starttls=False)
    channel = EmailChannel(mailer, unsubscribe_base="https://fn.example/account", secret=SECRET, clock=lambda: NOW)
    channel.send(_message(Channel.EMAIL), "maria@example.ru")
    [(mail_from, rcpt, content)] = inbox.received
    assert mail_from == "bonus@biomiq.example" and rcpt == ["maria@example.ru"]
    parsed = email.message_from_bytes(content, policy=email.policy.default)
    assert parsed["Subject"] == "Бонусы доступны"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = parsed["List-Unsubscribe"].strip("<>")
    assert link.startswith("https://fn.example/account/unsubscribe?token=")
    body = parsed.get_content()
    assert "150 бонусов доступны" in body and link in body
    token = parse_qs(urlparse(link).query)["token"][0]
    assert unsubscribed_customer(SECRET, token, now=NOW) == "maria"
    with pytest.raises(Unauthorized):
        unsubscribed_customer(SECRET, token[:-2] + "xx", now=NOW)


def test_email_to_an_unreachable_server_fails_after_its_retries():
    mailer = SmtpMailer(host="127.0.0.1", port=free_port(), sender="bonus@biomiq.example", starttls=False, timeout=1, sleep=lambda _: None)
    with pytest.raises(EmailUnavailable, match="could not be reached"):
        mailer.send(mailer.build(to="maria@example.ru", subject="Тема", body="Текст", unsubscribe_url="https://x/u", key="k"))
