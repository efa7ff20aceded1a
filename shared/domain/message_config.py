"""The program's messages: per trigger whether it is on, its channels, its Russian templates
and its parameters. Part of :class:`shared.domain.config.ProgramConfig` (``messages``).

Templates are plain text with ``{name}`` placeholders; each trigger offers the variables
in :data:`shared.domain.messages.VARIABLES`, and a template naming any other is refused
when the config is validated (``messages.<trigger>.templates.<field>``), never at send time.
A trigger's ``segment`` (:class:`shared.domain.segments.Segment`, default: everyone) narrows
who it is sent to; :func:`shared.services.outbox.enqueue` applies it.
"""

from __future__ import annotations

from msgspec import Struct
from pydantic import BaseModel, ConfigDict, Field

from shared.domain.messages import VARIABLES, Channel, TemplateError, Trigger, unknown_variables
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


#: The template fields each channel's message is made of.
CHANNEL_FIELDS: dict[Channel, tuple[str, ...]] = {Channel.SMS: ("sms",), Channel.TELEGRAM: ("telegram",), Channel.EMAIL: ("email_subject", "email_body")}


class TemplateProblem(Struct, frozen=True):
    """Why one template of a trigger is refused: variables the trigger does not offer, or not a template at all."""

    trigger: Trigger
    field: str  # one of TEMPLATE_FIELDS
    unknown: tuple[str, ...] = ()
    syntax: str = ""  # what is wrong with its braces

    @property
    def path(self) -> str:
        """The refused field as a config path: ``messages.referral_new.templates.sms``."""
        return f"messages.{self.trigger.value}.templates.{self.field}"

    @property
    def allowed(self) -> str:
        return ", ".join("{" + v + "}" for v in sorted(VARIABLES[self.trigger]))

    @property
    def error(self) -> str:
        if self.syntax:
            return self.syntax
        return f"unknown variables {', '.join('{' + u + '}' for u in self.unknown)} (allowed: {self.allowed})"

    @property
    def message_ru(self) -> str:
        if self.syntax:
            return "Фигурные скобки — только вокруг имени переменной, например {program}; чтобы написать саму скобку, удвойте её: {{ или }}."
        names = ", ".join("{" + u + "}" for u in self.unknown)
        told = f"Переменной {names} у этого сообщения нет." if len(self.unknown) == 1 else f"Переменных {names} у этого сообщения нет."
        return f"{told} Можно: {self.allowed}."


def template_problem(trigger: Trigger, field: str, template: str) -> TemplateProblem | None:
    """What is wrong with ``template`` as ``trigger``'s ``field``, or ``None``."""
    try:
        unknown = unknown_variables(trigger, template)
    except TemplateError as exc:
        return TemplateProblem(trigger, field, syntax=str(exc))
    return TemplateProblem(trigger, field, unknown=tuple(unknown)) if unknown else None


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

    def template_problems(self) -> list[TemplateProblem]:
        """Every template that is refused, in the triggers' and fields' order."""
        found: list[TemplateProblem] = []
        for trigger in Trigger:
            templates = self.of(trigger).templates
            found += [p for name in TEMPLATE_FIELDS if (p := template_problem(trigger, name, getattr(templates, name))) is not None]
        return found

    def problems(self) -> list[str]:
        """``"messages.<trigger>.templates.<field>: what is wrong"`` for every template that is refused."""
        return [f"{p.path}: {p.error}" for p in self.template_problems()]
