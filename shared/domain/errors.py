"""Domain errors.

Every error carries a stable machine-readable ``code``, an English ``message``
for developers, a Russian ``message_ru`` for the customer and structured
``details``. Use cases raise them; the entry points map them to HTTP once.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every refusal the domain makes on purpose."""

    code = "domain_error"
    message_ru = "Операция отклонена."

    def __init__(self, message: str, *, message_ru: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if message_ru is not None:
            self.message_ru = message_ru
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "message_ru": self.message_ru,
            "details": self.details,
        }


class ValidationFailed(DomainError):
    """Input or configuration does not satisfy its schema."""

    code = "validation_failed"
    message_ru = "Некорректные данные."


class InsufficientBonuses(DomainError):
    code = "insufficient_bonuses"
    message_ru = "Недостаточно доступных бонусов."


class IdempotencyConflict(DomainError):
    """The same idempotency key was used with different parameters."""

    code = "idempotency_conflict"
    message_ru = "Операция с этим идентификатором уже выполнена с другими параметрами."


class NotFound(DomainError):
    code = "not_found"
    message_ru = "Не найдено."


class InvalidState(DomainError):
    """The operation does not apply to the object's current state."""

    code = "invalid_state"
    message_ru = "Операция недоступна в текущем состоянии."


class Retryable(DomainError):
    """Contention or a transient store fault outlived our retries: try again."""

    code = "retryable"
    message_ru = "Сервис занят, повторите попытку через несколько секунд."

    def __init__(self, message: str, *, retry_after_seconds: int = 1, **details: Any) -> None:
        super().__init__(message, retry_after_seconds=retry_after_seconds, **details)
        self.retry_after_seconds = retry_after_seconds


class ProviderUnavailable(Retryable):
    """An outside provider (a payment service, a carrier) could not give an answer: ask again later.

    Answered 503 with ``Retry-After``; a webhook that depends on the provider is
    thereby delivered again. Nothing was written when it is raised.
    """

    code = "provider_unavailable"
    message_ru = "Внешний сервис недоступен, повторите попытку позже."

    def __init__(self, message: str, *, retry_after_seconds: int = 30, **details: Any) -> None:
        super().__init__(message, retry_after_seconds=retry_after_seconds, **details)


class Unauthorized(DomainError):
    code = "unauthorized"
    message_ru = "Требуется вход в личный кабинет."


class Forbidden(DomainError):
    code = "forbidden"
    message_ru = "Доступ запрещён."


class StaleQuote(DomainError):
    """The cart changed after the quote the customer saw: everything must be recomputed."""

    code = "stale_quote"
    message_ru = "Корзина изменилась: пересчитайте заказ."


class BusinessRefusal(DomainError):
    """A well-formed request the rules refuse (e.g. a promo code used up)."""

    code = "refused"
    message_ru = "Операция отклонена правилами программы."


class TooManyRequests(DomainError):
    """A rate limit: try again in ``retry_after_seconds`` (an HTTP 429)."""

    code = "rate_limited"
    message_ru = "Слишком много запросов, повторите позже."
    retry_after_seconds = 60
