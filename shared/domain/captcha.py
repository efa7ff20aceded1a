"""The bot check in front of SMS codes: when one is asked for, and what its refusals say.

A code request is *risky* (:func:`captcha_reasons`) when the caller's address
is unknown, the phone was sent a code within the last
:data:`~shared.domain.otp.SEND_WINDOW` or had wrong codes in the last day, the
address already asked for :data:`CAPTCHA_AFTER_ADDRESS` codes this hour, the
network used half its share of the day's budget, or the shop used half its
day's budget. A risky request sends nothing until the storefront's captcha
token passes the provider's server-side check (Yandex SmartCaptcha:
:mod:`shared.adapters.captcha`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum

from shared.domain.errors import Forbidden, ProviderUnavailable
from shared.domain.otp import SEND_WINDOW, IpWindow, PhoneLimits, ip_scopes

CAPTCHA_AFTER_ADDRESS = 3  # codes an address asks for in its hour before a captcha is asked for


class Risk(str, Enum):
    UNKNOWN_ADDRESS = "unknown_address"
    RESEND = "resend"
    WRONG_CODES = "wrong_codes"
    BUSY_ADDRESS = "busy_address"
    BUSY_NETWORK = "busy_network"
    BUSY_DAY = "busy_day"


def captcha_reasons(
    *, ip: str | None, limits: PhoneLimits, counters: Iterable[tuple[IpWindow, int]], sent_today: int, daily_budget: int, now: datetime
) -> list[Risk]:
    """Why this code request is risky (empty: it is not)."""
    risks: list[Risk] = []
    if ip_scopes(ip)["ip"] in ("unknown", "invalid"):
        risks.append(Risk.UNKNOWN_ADDRESS)
    if any(s.at > now - SEND_WINDOW and not s.failed for s in limits.sends):
        risks.append(Risk.RESEND)
    if limits.failures:
        risks.append(Risk.WRONG_CODES)
    for window, count in counters:
        if window.rule == "net:share" and count * 2 >= window.limit:
            risks.append(Risk.BUSY_NETWORK)
        elif window.rule == "ip:h" and count >= CAPTCHA_AFTER_ADDRESS:
            risks.append(Risk.BUSY_ADDRESS)
    if daily_budget > 0 and sent_today * 2 >= daily_budget:
        risks.append(Risk.BUSY_DAY)
    return risks


class CaptchaRequired(Forbidden):
    """A risky code request without a captcha token (403): show the widget and send its token."""

    code = "captcha_required"
    message_ru = "Подтвердите, что вы не робот."


class CaptchaInvalid(Forbidden):
    """The captcha token did not pass (wrong, used or expired): solve it again (403)."""

    code = "captcha_invalid"
    message_ru = "Проверка «Я не робот» не пройдена. Попробуйте ещё раз."


class CaptchaUnavailable(ProviderUnavailable):
    """The captcha service gave no answer (503): nothing was sent."""

    code = "captcha_unavailable"
    message_ru = "Проверка «Я не робот» временно недоступна. Повторите через минуту или войдите через Telegram."

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message, retry_after_seconds=60, **details)
