"""Messages to customers as data: triggers, channels, the outbox message and its templates. Pure.

A cause (a first paid order, bonuses becoming available, an expiry date coming near)
enqueues one :class:`OutboxMessage` per channel, inside the cause's own transaction,
under a key made of the cause's natural key and the channel, so a retried cause never
enqueues twice. The text is rendered at enqueue time from the program's templates (see
:mod:`shared.domain.message_config`); the dispatcher decides at send time whether the
customer still accepts the channel and whether it is quiet hours where they live.
"""

from __future__ import annotations

import string
from datetime import datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from msgspec import Struct, field


class Trigger(str, Enum):
    REFERRAL_NEW = "referral_new"
    REFERRAL_REWARD = "referral_reward"
    REFERRAL_AVAILABLE = "referral_available"
    BONUS_CREDITED = "bonus_credited"
    BONUS_AVAILABLE = "bonus_available"
    EXPIRY_SOON = "expiry_soon"
    LEVEL_CHANGED = "level_changed"
    BIRTHDAY = "birthday"
    ABANDONED_CART = "abandoned_cart"
    WINBACK = "winback"
    PAYOUT_STATUS = "payout_status"


class Channel(str, Enum):
    SMS = "sms"
    TELEGRAM = "telegram"
    EMAIL = "email"


class Status(str, Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # the attempts ran out
    SKIPPED = "skipped"  # the customer does not accept the channel, or has no address on it


#: The variables each trigger's templates may use. A template naming any other is refused
#: when the program config is validated.
VARIABLES: dict[Trigger, frozenset[str]] = {
    Trigger.REFERRAL_NEW: frozenset({"program", "referees", "month", "dashboard"}),
    Trigger.REFERRAL_REWARD: frozenset({"program", "amount", "dashboard"}),
    Trigger.REFERRAL_AVAILABLE: frozenset({"program", "amount"}),
    Trigger.BONUS_CREDITED: frozenset({"program", "amount"}),
    Trigger.BONUS_AVAILABLE: frozenset({"program", "amount"}),
    Trigger.EXPIRY_SOON: frozenset({"program", "amount", "date", "days"}),
    Trigger.LEVEL_CHANGED: frozenset({"program", "level"}),
    Trigger.BIRTHDAY: frozenset({"program", "bonus"}),
    Trigger.ABANDONED_CART: frozenset({"program"}),
    Trigger.WINBACK: frozenset({"program", "bonus", "days"}),
    Trigger.PAYOUT_STATUS: frozenset({"program", "amount", "status", "dashboard"}),
}


class TemplateError(ValueError):
    """A template that is not plain text with ``{name}`` placeholders."""


def placeholders(template: str) -> list[str]:
    """The ``{name}`` placeholders of ``template`` (``{{`` and ``}}`` are literal braces).

    Only bare names are placeholders: attribute access, indexing, conversions and format
    specs are refused, so a template can never reach into anything but its variables."""
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"unbalanced braces: {exc}") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise TemplateError(f"only {{name}} placeholders are allowed, not {{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}")
        names.append(name)
    return names


def unknown_variables(trigger: Trigger, template: str) -> list[str]:
    """The placeholders of ``template`` that ``trigger`` does not offer."""
    allowed = VARIABLES[trigger]
    return sorted({name for name in placeholders(template) if name not in allowed})


def render(template: str, variables: dict[str, str]) -> str:
    """``template`` with its placeholders replaced; a missing variable raises ``KeyError``."""
    out: list[str] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(variables[name])
    return "".join(out)


class Attempt(Struct, frozen=True):
    """One try to hand the message to its channel: ``outcome`` ``sent``, ``error`` (``detail`` says why)."""

    at: datetime
    outcome: str
    detail: str = ""


class OutboxMessage(Struct, frozen=True):
    """``outbox/{key}``: one message to one customer on one channel.

    ``key`` is the cause's natural key and the channel (``referral_new:<order>:sms``).
    ``next_at`` is when the dispatcher should next look at it: the due time, then a
    lease's end or a retry's time; ``None`` once it is sent, failed or skipped."""

    key: str
    customer_id: str
    trigger: Trigger
    channel: Channel
    body: str
    due_at: datetime
    created_at: datetime
    subject: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    status: Status = Status.PENDING
    next_at: datetime | None = None
    attempts: tuple[Attempt, ...] = ()
    lease_owner: str | None = None
    lease_until: datetime | None = None
    sent_at: datetime | None = None


def message_key(trigger: Trigger, cause: str, channel: Channel) -> str:
    """The outbox key of ``trigger``'s message about ``cause`` on ``channel`` (no ``/``: it is a document id)."""
    return f"{trigger.value}:{cause.replace('/', '_')}:{channel.value}"


# --- quiet hours and backoff ------------------------------------------------------------------

DEFAULT_TZ = "Europe/Moscow"
QUIET_FROM = time(21, 0)
QUIET_UNTIL = time(9, 0)


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (KeyError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def quiet_until(now: datetime, tz: str | None) -> datetime | None:
    """The end of the quiet hours (09:00 local) if ``now`` falls in 21:00–09:00 in ``tz``, else ``None``."""
    local = now.astimezone(zone(tz))
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return None
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_UNTIL, tzinfo=local.tzinfo).astimezone(now.tzinfo)


MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(minutes=1)


def backoff(failures: int) -> timedelta:
    """The wait after the ``failures``-th failed attempt: 1, 2, 4, 8 … minutes."""
    return BACKOFF_BASE * 2 ** max(failures - 1, 0)
