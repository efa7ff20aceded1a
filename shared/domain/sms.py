"""What an SMS gateway answers the login use case: a receipt, or a refusal that says whether
the message certainly was not sent. The gateway port speaks these; the SMS.ru adapter raises and returns them."""

from __future__ import annotations

from typing import Any

from msgspec import Struct

from shared.domain.errors import ProviderUnavailable


class SmsUnavailable(ProviderUnavailable):
    """The gateway did not accept the message (``sent="no"``) or we cannot tell (``sent="unknown"``)."""

    code = "sms_unavailable"
    message_ru = "Не удалось отправить SMS. Попробуйте ещё раз через минуту."

    def __init__(self, message: str, *, sent: str = "no", message_ru: str | None = None, **details: Any) -> None:
        assert sent in ("no", "unknown"), sent
        if message_ru is None and sent == "unknown":
            message_ru = "Не удалось подтвердить отправку SMS. Если код не придёт в течение минуты, запросите новый."
        super().__init__(message, retry_after_seconds=60, sent=sent, **details)
        if message_ru is not None:
            self.message_ru = message_ru
        self.definite = sent == "no"


class SmsReceipt(Struct, frozen=True):
    message_id: str  # ours: the idempotency key of the send
    provider_id: str | None  # the gateway's id of the message (SMS.ru ``sms_id``)
