"""The program's messages: per trigger whether it is on, its channels, its Russian templates
and its parameters. Part of :class:`shared.domain.config.ProgramConfig` (``messages``).

Templates are plain text with ``{name}`` placeholders; each trigger offers the variables
in :data:`shared.domain.messages.VARIABLES`, and a template naming any other is refused
when the config is validated (``messages.<trigger>.templates.<field>``), never at send time.
A trigger's ``segment`` (:class:`shared.domain.segments.Segment`, default: everyone) narrows
who it is sent to; :func:`shared.services.outbox.enqueue` applies it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.messages import Channel, TemplateError, Trigger, unknown_variables
from shared.domain.segments import Segment

ALL_CHANNELS = (Channel.SMS, Channel.TELEGRAM, Channel.EMAIL)
TEMPLATE_FIELDS = ("sms", "telegram", "email_subject", "email_body")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Templates(_Model):
    sms: str = Field(default="", max_length=670)
    telegram: str = Field(default="", max_length=4000)
    email_subject: str = Field(default="", max_length=200)
    email_body: str = Field(default="", max_length=20000)

    def for_channel(self, channel: Channel) -> tuple[str, str]:
        """``(subject, body)`` templates of ``channel`` (no subject but for e-mail)."""
        if channel is Channel.EMAIL:
            return self.email_subject, self.email_body
        return "", self.sms if channel is Channel.SMS else self.telegram


def _templates(text: str, subject: str) -> Templates:
    return Templates(sms=text, telegram=text, email_subject=subject, email_body=text)


class TriggerMessages(_Model):
    enabled: bool = True
    channels: tuple[Channel, ...] = ALL_CHANNELS
    templates: Templates = Templates()
    segment: Segment = Field(default=Segment(), description="Who the message goes to (empty: every customer the trigger fires for); its birthday window counts the Moscow day.")


class ExpirySoonMessages(TriggerMessages):
    days_before: int = Field(default=7, ge=1, le=60, description="How many days before the expiry date the reminder goes.")


class AbandonedCartMessages(TriggerMessages):
    hours: int = Field(default=3, ge=1, le=720, description="How long a cart waits before the reminder.")


class WinbackMessages(TriggerMessages):
    days: int = Field(default=90, ge=1, le=3660, description="How long without an order before the message.")
    bonus: int = Field(default=0, ge=0, description="Bonuses the message offers.")


class Messages(_Model):
    referral_new: TriggerMessages = TriggerMessages(
        templates=_templates(
            "{program}: по вашей ссылке пришёл новый покупатель и оплатил первый заказ. Всего покупающих друзей: {referees}. Кабинет партнёра: {dashboard}",
            "Новый покупатель по вашей ссылке",
        )
    )
    referral_reward: TriggerMessages = TriggerMessages(
        templates=_templates(
            "{program}: вам начислено вознаграждение {amount} бонусов за покупку друга. Они станут доступны после окончания срока удержания. Кабинет партнёра: {dashboard}",
            "Вознаграждение за друга",
        )
    )
    referral_available: TriggerMessages = TriggerMessages(
        templates=_templates("{program}: вознаграждение {amount} бонусов за покупку друга доступно.", "Вознаграждение доступно")
    )
    bonus_credited: TriggerMessages = TriggerMessages(  # off unless the shop wants a message at every payment
        enabled=False,
        templates=_templates("{program}: вам начислено {amount} бонусов. Они станут доступны после доставки заказа.", "Начислены бонусы")
    )
    bonus_available: TriggerMessages = TriggerMessages(
        templates=_templates("{program}: {amount} бонусов доступны, их можно тратить.", "Бонусы доступны")
    )
    expiry_soon: ExpirySoonMessages = ExpirySoonMessages(
        templates=_templates("{program}: {amount} бонусов сгорят {date}. Потратьте их до этого дня.", "Бонусы скоро сгорят")
    )
    level_changed: TriggerMessages = TriggerMessages(
        enabled=False, templates=_templates("{program}: ваш уровень теперь «{level}».", "Новый уровень")
    )
    birthday: TriggerMessages = TriggerMessages(
        enabled=False, templates=_templates("{program}: с днём рождения! Дарим {bonus} бонусов.", "С днём рождения")
    )
    abandoned_cart: AbandonedCartMessages = AbandonedCartMessages(
        enabled=False, templates=_templates("{program}: вы оставили товары в корзине. Они ждут вас.", "Товары ждут в корзине")
    )
    winback: WinbackMessages = WinbackMessages(
        enabled=False, templates=_templates("{program}: давно вас не видели! Дарим {bonus} бонусов на следующий заказ.", "Мы скучаем")
    )
    payout_status: TriggerMessages = TriggerMessages(
        enabled=False, templates=_templates("{program}: выплата {amount} бонусов — {status}. Кабинет партнёра: {dashboard}", "Статус выплаты")
    )

    def of(self, trigger: Trigger) -> TriggerMessages:
        found: TriggerMessages = getattr(self, trigger.value)
        return found

    def problems(self) -> list[str]:
        """``"messages.<trigger>.templates.<field>: what is wrong"`` for every template that is refused."""
        found: list[str] = []
        for trigger in Trigger:
            templates = self.of(trigger).templates
            for name in TEMPLATE_FIELDS:
                path = f"messages.{trigger.value}.templates.{name}"
                try:
                    unknown = unknown_variables(trigger, getattr(templates, name))
                except TemplateError as exc:
                    found.append(f"{path}: {exc}")
                    continue
                if unknown:
                    allowed = ", ".join("{" + v + "}" for v in sorted(_allowed(trigger)))
                    found.append(f"{path}: unknown variables {', '.join('{' + u + '}' for u in unknown)} (allowed: {allowed})")
        return found


def _allowed(trigger: Trigger) -> frozenset[str]:
    from shared.domain.messages import VARIABLES

    return VARIABLES[trigger]
