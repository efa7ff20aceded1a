"""Security notices to a customer's verified phone by SMS (a Telegram account linked to the account).

A notice is one SMS, counted against the shop's daily SMS budget like a
login code (a shard of the day's count), and sent at most once per
``notice_id``: the send is reserved in ``otp_sends/{notice_id}`` (created
once) before the gateway is called after the commit, so a replayed use case
never sends it twice and a crash before the reservation is repaired by the
replay. When the budget is spent the notice is not sent (logged); the gateway's
answer is recorded as for a code, and a failed send is logged, never retried.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Protocol

from shared.domain.errors import Retryable
from shared.domain.otp import BUDGET_SHARD_LIFETIME, BUDGET_SHARDS, BudgetShard, SendRecord, SendStatus, budget_day, budget_refusal
from shared.domain.sms import SmsReceipt, SmsUnavailable
from shared.services.identity.keys import IdentityKeys
from shared.services.ports import Store, UnitOfWork

log = logging.getLogger("kopilka")

TELEGRAM_LINKED_TEXT = "К вашему аккаунту привязан Telegram{who}. Если это были не вы, отвяжите его в личном кабинете."


class Gateway(Protocol):
    def send(self, phone: str, text: str, *, message_id: str) -> SmsReceipt: ...


def telegram_linked_text(username: str | None) -> str:
    return TELEGRAM_LINKED_TEXT.format(who=f" @{username}" if username else "")


def send_notice(store: Store, *, gateway: Gateway, keys: IdentityKeys, phone: str, text: str, notice_id: str, now: datetime, daily_budget: int = 0) -> bool:
    """Send ``text`` to ``phone`` once per ``notice_id`` within the daily budget; whether it went now."""
    day, day_ends = budget_day(now)
    shard: int | None = None
    if daily_budget > 0:
        sent = store.read(lambda uow: uow.sms_budget.sent_on(day))
        if budget_refusal(sent, daily_budget, now) is not None:
            log.error("daily SMS budget spent: security notice not sent", extra={"json_fields": {"notice_id": notice_id, "day": day}})
            return False
        shard = secrets.randbelow(BUDGET_SHARDS)
    phone_key = keys.phone_key(phone)

    def reserve(uow: UnitOfWork) -> bool:
        if uow.otp_sends.get(notice_id) is not None:
            return False  # sent (or tried) before
        if shard is not None:
            current = uow.sms_budget.get(day, shard)
            count = current.count if current is not None else 0
            uow.sms_budget.put(BudgetShard(day=day, index=shard, count=count + 1, expires_at=day_ends + BUDGET_SHARD_LIFETIME))
        uow.otp_sends.create(notice_id, SendRecord.reserved(phone_key, now))
        return True

    if not store.run(reserve):
        return False
    try:
        receipt = gateway.send(phone, text, message_id=notice_id)
    except SmsUnavailable as exc:
        log.warning("security notice not sent", extra={"json_fields": {"notice_id": notice_id, "definite": exc.definite}})
        _record(store, notice_id, phone_key, now, SendStatus.FAILED if exc.definite else SendStatus.UNKNOWN, reason=exc.message)
        return False
    _record(store, notice_id, phone_key, now, SendStatus.SENT, provider_id=receipt.provider_id)
    return True


def _record(store: Store, notice_id: str, phone_key: str, now: datetime, status: SendStatus, *, provider_id: str | None = None, reason: str | None = None) -> None:
    def unit(uow: UnitOfWork) -> None:
        record = uow.otp_sends.get(notice_id) or SendRecord.reserved(phone_key, now)
        uow.otp_sends.put(notice_id, record.outcome(status, now=now, provider_id=provider_id, reason=reason))

    try:
        store.run(unit)
    except Retryable:  # the SMS went (or did not) whatever we manage to write
        log.warning("security notice outcome not recorded", extra={"json_fields": {"notice_id": notice_id}})
