"""The dispatcher's channels: each one sends an outbox message through its provider's adapter.

* SMS through SMS.ru (:class:`~shared.adapters.sms.SmsRuClient`), the message's key as
  the gateway's ``Idempotency-Key``: a repeated send is answered, not delivered twice;
* Telegram through the Bot API's ``sendMessage`` (:mod:`shared.adapters.telegram_bot`)
  to the chat id the customer linked (their Telegram id: a private chat's id);
* e-mail over SMTP (:mod:`shared.adapters.email`), with the one-click unsubscribe link
  of the customer, signed (:func:`unsubscribe_token`), as a header and in the text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

from shared.adapters.email import SmtpMailer
from shared.adapters.sms import SmsRuClient
from shared.adapters.telegram_bot import TelegramBotClient
from shared.domain.messages import OutboxMessage
from shared.platform import tokens

UNSUBSCRIBE_KIND = "unsubscribe"
UNSUBSCRIBE_TTL_SECONDS = 400 * 24 * 3600  # a link in an old letter still works for a year and more


def unsubscribe_token(secret: str, customer_id: str, *, now: datetime) -> str:
    return tokens.issue(secret, subject=customer_id, now=now, ttl_seconds=UNSUBSCRIBE_TTL_SECONDS, kind=UNSUBSCRIBE_KIND)


def unsubscribed_customer(secret: str, token: str, *, now: datetime) -> str:
    """The customer an unsubscribe token was issued for; :class:`~shared.domain.errors.Unauthorized` if forged or expired."""
    return str(tokens.verify(secret, token, now=now, kind=UNSUBSCRIBE_KIND)["sub"])


class SmsChannel:
    def __init__(self, client: SmsRuClient) -> None:
        self.client = client

    def send(self, message: OutboxMessage, address: str) -> None:
        self.client.send(address, message.body, message_id=message.key)


class TelegramChannel:
    def __init__(self, client: TelegramBotClient) -> None:
        self.client = client

    def send(self, message: OutboxMessage, address: str) -> None:
        self.client.send_message(address, message.body)


class EmailChannel:
    def __init__(self, mailer: SmtpMailer, *, unsubscribe_base: str, secret: str, clock: Callable[[], datetime]) -> None:
        self.mailer = mailer
        self.unsubscribe_base = unsubscribe_base.rstrip("/")
        self.secret = secret
        self.clock = clock

    def unsubscribe_url(self, customer_id: str) -> str:
        token = unsubscribe_token(self.secret, customer_id, now=self.clock())
        return f"{self.unsubscribe_base}/unsubscribe?token={quote(token)}"

    def send(self, message: OutboxMessage, address: str) -> None:
        email = self.mailer.build(to=address, subject=message.subject, body=message.body, unsubscribe_url=self.unsubscribe_url(message.customer_id), key=message.key)
        self.mailer.send(email)
