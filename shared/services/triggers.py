"""The causes' messages: each called INSIDE the transaction of its cause, each keyed by the cause.

Level changes, a partner's reward credited, a payout's status, the birthday grant: every
function here enqueues through :func:`shared.services.outbox.enqueue` under the cause's
natural key, so a retried or replayed cause never enqueues twice, and a switched-off
trigger enqueues nothing. The time-driven triggers (abandoned carts, win-back) are the
sweep's passes in :mod:`shared.services.trigger_sweeps`.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from shared.domain.clock import MSK
from shared.domain.config import ProgramConfig
from shared.domain.customer import CustomerRecord
from shared.domain.messages import OutboxMessage, Trigger
from shared.domain.payouts import PayoutRequest, PayoutStatus
from shared.services.outbox import enqueue
from shared.services.ports import UnitOfWork

#: How a payout's status reads in a message.
PAYOUT_STATUS_RU: dict[PayoutStatus, str] = {
    PayoutStatus.REQUESTED: "заявка принята",
    PayoutStatus.APPROVED: "одобрена",
    PayoutStatus.REJECTED: "отклонена",
    PayoutStatus.PAID: "выплачена",
    PayoutStatus.CANCELED: "отменена",
}


#: The storefront kit's partner dashboard anchor (the ``data-kopilka="partner"`` widget's id).
DASHBOARD_ANCHOR = "kopilka-partner"
#: What ``{dashboard}`` says while the shop's address is not set.
NO_DASHBOARD_LINK = "в личном кабинете на сайте магазина"


def dashboard_link(shop_url: str) -> str:
    """The partner dashboard: the shop's address (its query kept) with the kit's anchor."""
    if not shop_url:
        return NO_DASHBOARD_LINK
    parts = urlsplit(shop_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, DASHBOARD_ANCHOR))


def dashboard() -> str:
    from shared.platform.settings import settings

    return dashboard_link(settings().shop_url)


def _day(now: datetime) -> str:
    return now.astimezone(MSK).date().isoformat()


def level_changed(
    uow: UnitOfWork, config: ProgramConfig, *, customer_id: str, before: str | None, after: str, now: datetime, record: CustomerRecord | None = None
) -> list[OutboxMessage]:
    """The customer's level went up or down (``before`` → ``after``); key ``level:<customer>:<new level>:<date>``
    (``record``: the customer's, when the caller holds it, for the trigger's segment)."""
    if after == (before or config.levels[0].code):
        return []
    try:
        name = config.level(after).name
    except KeyError:
        name = after
    return enqueue(
        uow, config, trigger=Trigger.LEVEL_CHANGED, cause=f"level:{customer_id}:{after}:{_day(now)}",
        customer_id=customer_id, variables={"level": name}, due_at=now, now=now, record=record,
    )


def referral_reward(uow: UnitOfWork, config: ProgramConfig, *, partner_id: str, ref_order: str, amount: int, now: datetime) -> list[OutboxMessage]:
    """A partner's reward on a referee's order was credited (held until it becomes available)."""
    if amount <= 0:
        return []
    return enqueue(
        uow, config, trigger=Trigger.REFERRAL_REWARD, cause=ref_order,
        customer_id=partner_id, variables={"amount": amount, "dashboard": dashboard()}, due_at=now, now=now,
    )


def payout_status(uow: UnitOfWork, config: ProgramConfig, *, request: PayoutRequest, now: datetime) -> list[OutboxMessage]:
    """A payout request was made, approved, rejected or paid: one message per request and status."""
    return enqueue(
        uow, config, trigger=Trigger.PAYOUT_STATUS, cause=f"{request.request_id}:{request.status.value}",
        customer_id=request.customer_id, variables={"amount": request.amount, "status": PAYOUT_STATUS_RU[request.status], "dashboard": dashboard()}, due_at=now, now=now,
    )


def birthday(uow: UnitOfWork, config: ProgramConfig, *, customer_id: str, bonus: int, now: datetime, record: CustomerRecord | None = None) -> list[OutboxMessage]:
    """The birthday grant was credited: once per customer and year."""
    year = now.astimezone(MSK).year
    return enqueue(
        uow, config, trigger=Trigger.BIRTHDAY, cause=f"{customer_id}:{year}",
        customer_id=customer_id, variables={"bonus": bonus}, due_at=now, now=now, record=record,
    )
