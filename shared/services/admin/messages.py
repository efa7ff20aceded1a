"""The back office's view of messages: one customer's (the customer 360 page), the failed ones,
and the program's templates as its customers would read them — the version in force's, or a
draft's before it is published (each refused template told instead of its text)."""

from __future__ import annotations

from typing import Any

from msgspec import Struct

from shared.domain.config import MessagesDraft, ProgramConfig, parse_messages_draft
from shared.domain.errors import ValidationFailed
from shared.domain.message_config import CHANNEL_FIELDS, TemplateProblem
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


class TemplateRefusal(Struct, frozen=True):
    """A template the preview cannot render, refused as publishing refuses it: ``code`` and ``type``
    are the publication's error code and its field's error type, ``field`` the config path."""

    field: str
    error: str
    message_ru: str
    code: str = ValidationFailed.code
    type: str = "value_error"

    @classmethod
    def of(cls, problem: TemplateProblem) -> TemplateRefusal:
        return cls(problem.path, problem.error, problem.message_ru)


class ChannelPreview(Struct, frozen=True):
    """One channel's message: its subject (e-mail) and body rendered, or why its templates are refused."""

    channel: Channel
    subject: str
    body: str
    refused: tuple[TemplateRefusal, ...] = ()


class TriggerPreview(Struct, frozen=True):
    """One trigger of the program as its customers would read it, with :data:`SAMPLE` values."""

    trigger: Trigger
    enabled: bool
    variables: tuple[str, ...]
    channels: tuple[ChannelPreview, ...]

    @property
    def refused(self) -> tuple[TemplateRefusal, ...]:
        return tuple(r for c in self.channels for r in c.refused)


def previews(config: ProgramConfig | MessagesDraft) -> list[TriggerPreview]:
    """Every trigger of ``config``: on or off, its variables and each channel's text rendered.

    A published config's templates always render; a draft's template naming a variable its
    trigger does not offer (or with stray braces) is told as a :class:`TemplateRefusal` instead."""
    values = {**SAMPLE, "program": config.name}
    refused = {(p.trigger, p.field): TemplateRefusal.of(p) for p in config.messages.template_problems()}
    shown: list[TriggerPreview] = []
    for trigger in Trigger:
        settings = config.messages.of(trigger)
        channels = []
        told = [c for c in CHANNEL_FIELDS if c not in settings.channels and any((trigger, name) in refused for name in CHANNEL_FIELDS[c])]
        for channel in dict.fromkeys([*settings.channels, *told]):  # a refused template is told even on a channel that is off
            subject, body = settings.templates.for_channel(channel)
            bad = tuple(refused[trigger, name] for name in CHANNEL_FIELDS[channel] if (trigger, name) in refused)
            if bad:
                channels.append(ChannelPreview(channel, "", "", bad))
            elif body.strip():
                channels.append(ChannelPreview(channel, render(subject, values), render(body, values)))
        shown.append(TriggerPreview(trigger, settings.enabled, tuple(sorted(VARIABLES[trigger])), tuple(channels)))
    return shown


def draft_previews(admin: Admin, *, raw: Any) -> list[TriggerPreview]:
    """The messages of a draft config (raw, as typed) previewed before it is published.

    Only its name and messages are read, so the rest of the draft may still be unfinished;
    those two not being valid raise :class:`ValidationFailed` naming the fields."""
    admin.require("config.read")
    return previews(parse_messages_draft(raw))
