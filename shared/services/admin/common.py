"""Rules every back-office use case shares: well-formed ids, a required reason, a blocked customer,
and how a payout decision is recorded."""

from __future__ import annotations

from collections.abc import Iterable

from shared.domain.admin import JsonObject
from shared.domain.customer import Blocking
from shared.domain.errors import BusinessRefusal, ValidationFailed
from shared.domain.ids import external_id, is_external_id
from shared.domain.payouts import PayoutOutcome


class CustomerBlocked(BusinessRefusal):
    code = "customer_blocked"
    message_ru = "Покупатель заблокирован."


CREDITS_BLOCKED = "admin"  # the one role whose adjustment may credit a blocked customer


def require_creditable(blocking: Blocking, *, customer_id: str, amount: int, roles: Iterable[str]) -> None:
    """A blocked customer is credited by nothing but an adjustment of the ``admin`` role (always
    with a reason); a debit is no credit and stays possible."""
    if amount > 0 and blocking.is_blocked and CREDITS_BLOCKED not in set(roles):
        raise CustomerBlocked(
            "the customer is blocked: only an adjustment of the admin role may credit them",
            customer_id=customer_id,
            message_ru="Покупатель заблокирован: начислить бонусы может только администратор.",
        )


def well_formed_id(value: str) -> bool:
    """Whether ``value`` may name a document (an approval, a job, a customer): an outside id."""
    return is_external_id(value)


def valid_customer_id(customer_id: str) -> str:
    """A customer id usable as a document id, else :class:`ValidationFailed`."""
    return external_id(customer_id, field="customer_id", message_ru="Некорректный идентификатор покупателя.")


def required_reason(reason: str) -> str:
    """The reason of a change, trimmed; a blank one is :class:`ValidationFailed`."""
    if not reason or not reason.strip():
        raise ValidationFailed("a reason is required", field="reason", message_ru="Укажите причину.")
    return reason.strip()


def payout_result(outcome: PayoutOutcome) -> JsonObject:
    """A payout decision or payment as the audit log and the approval keep it: the request's
    stored fields but the sealed destination (the decision's once decided, the payment's once
    paid) and ``replayed``."""
    return {**outcome.request.audited(), "replayed": outcome.replayed}
