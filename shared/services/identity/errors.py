"""The refusals of login: a bad phone, a wrong or spent code, an invalid session or Telegram login.

Each maps to its HTTP status through its base class (400, 401, 403, 404, 409); the
limits' 429 is :class:`shared.domain.otp.RateLimited`.
"""

from __future__ import annotations

from shared.domain.errors import Forbidden, InvalidState, NotFound, Unauthorized, ValidationFailed
from shared.domain.otp import RateLimited


class InvalidPhone(ValidationFailed):
    code = "invalid_phone"
    message_ru = "Некорректный номер телефона."


class InvalidCode(Unauthorized):
    code = "invalid_code"
    message_ru = "Неверный код."


class CodeExpired(Unauthorized):
    code = "code_expired"
    message_ru = "Код недействителен или устарел. Запросите новый код."


class CodeAttemptsExceeded(Unauthorized):
    code = "code_attempts_exceeded"
    message_ru = "Превышено число попыток ввода кода. Запросите новый код."


class SessionInvalid(Unauthorized):
    code = "session_invalid"
    message_ru = "Сессия недействительна, войдите снова."


class TelegramLoginInvalid(Unauthorized):
    code = "telegram_login_invalid"
    message_ru = "Не удалось подтвердить вход через Telegram. Попробуйте ещё раз."


class NotLinked(NotFound):
    code = "not_linked"
    message_ru = "Этот Telegram ещё не привязан к аккаунту. Войдите по номеру телефона и привяжите Telegram в личном кабинете."


class LinkedElsewhere(InvalidState):
    code = "telegram_linked_elsewhere"
    message_ru = "Этот Telegram уже привязан к другому аккаунту."


class PhoneProofRequired(Forbidden):
    code = "phone_proof_required"
    message_ru = "Чтобы привязать Telegram, подтвердите номер телефона: запросите код по SMS и введите его."


class TelegramBotUnauthorized(Unauthorized):
    code = "telegram_bot_unauthorized"
    message_ru = "Запрос не от бота магазина."


__all__ = [
    "CodeAttemptsExceeded",
    "CodeExpired",
    "InvalidCode",
    "InvalidPhone",
    "LinkedElsewhere",
    "NotLinked",
    "PhoneProofRequired",
    "RateLimited",
    "SessionInvalid",
    "TelegramBotUnauthorized",
    "TelegramLoginInvalid",
]
