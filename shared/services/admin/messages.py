"""The back office's view of messages: one customer's (the customer 360 page), the failed ones,
and the program's templates as its customers would read them."""

from __future__ import annotations

from msgspec import Struct

from shared.domain.config import ProgramConfig
from shared.domain.messages import VARIABLES, Channel, OutboxMessage, Status, Trigger, render
from shared.edge.admin_auth import Admin
from shared.services.ports import Store

#: How the console names a trigger and a status.
TRIGGERS_RU = {
    "referral_new": "Новый покупатель по ссылке",
    "referral_reward": "Вознаграждение партнёра",
    "referral_available": "Вознаграждение доступно",
    "bonus_credited": "Начислены бонусы",
    "bonus_available": "Бонусы доступны",
    "expiry_soon": "Бонусы скоро сгорят",
    "level_changed": "Новый уровень",
    "birthday": "День рождения",
    "abandoned_cart": "Брошенная корзина",
    "winback": "Давно не покупал",
    "payout_status": "Статус выплаты",
}
STATUSES_RU = {"pending": "ждёт отправки", "sent": "отправлено", "failed": "не доставлено", "skipped": "пропущено"}
CHANNELS_RU = {"sms": "SMS", "telegram": "Telegram", "email": "E-mail"}


def customer_messages(store: Store, admin: Admin, *, customer_id: str, limit: int = 50) -> list[OutboxMessage]:
    """The customer's messages, newest first (a page of ``limit``)."""
    admin.require("customer.read")
    found = store.read(lambda uow: uow.outbox.of_customer(customer_id, limit=limit))
    return sorted(found, key=lambda m: m.created_at, reverse=True)


def failed_messages(store: Store, admin: Admin, *, limit: int = 100) -> list[OutboxMessage]:
    """The messages whose attempts ran out (``failed``), newest first (a page of ``limit``)."""
    admin.require("message.failed")
    found = store.read(lambda uow: uow.outbox.with_status(Status.FAILED, limit=limit))
    return sorted(found, key=lambda m: m.created_at, reverse=True)


#: What the back office's preview puts in place of each variable (the shop's name is the program's).
SAMPLE = {"amount": "500", "referees": "3", "month": "12.2026", "dashboard": "https://shop.example/#kopilka-partner", "date": "08.12.2026", "days": "7",
          "level": "Золотой", "bonus": "300", "status": "одобрена"}


class ChannelPreview(Struct, frozen=True):
    channel: Channel
    subject: str
    body: str


class TriggerPreview(Struct, frozen=True):
    """One trigger of the program as its customers would read it, with :data:`SAMPLE` values."""

    trigger: Trigger
    enabled: bool
    variables: tuple[str, ...]
    channels: tuple[ChannelPreview, ...]


def previews(config: ProgramConfig) -> list[TriggerPreview]:
    """Every trigger of ``config``: on or off, its variables and each channel's text rendered."""
    values = {**SAMPLE, "program": config.name}
    shown: list[TriggerPreview] = []
    for trigger in Trigger:
        settings = config.messages.of(trigger)
        channels = []
        for channel in dict.fromkeys(settings.channels):
            subject, body = settings.templates.for_channel(channel)
            if body.strip():
                channels.append(ChannelPreview(channel, render(subject, values), render(body, values)))
        shown.append(TriggerPreview(trigger, settings.enabled, tuple(sorted(VARIABLES[trigger])), tuple(channels)))
    return shown
