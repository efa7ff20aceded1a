"""The customer's bonus history in words: one entry per posting that moved bonuses. Pure.

Every posting already says what happened (its kind, the lot's source, the
order); :func:`describe` turns that into what the personal account shows: a
Russian reason, the change of the customer's bonuses and, for an accrual, when
the bonuses become spendable and when they expire. Postings that move no
bonuses (the account's opening, level statistics, an activation date, an
idempotency note, a checkout's short-lived reservation) are not shown.

A partner's reward names no order: the order is the referee's, and a partner
never learns who bought what.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from msgspec import Struct

from shared.domain.ledger import Credit, Posting

PAYOUT_PREFIX = "payout:"
CANCELED_SUFFIX = ":cancel"  # the release of what a payout request held when a clawback canceled it
REFERRAL_PREFIX = "ref-"

ACCRUAL_REASONS = {
    "welcome": "Приветственный бонус",
    "welcome_invited": "Приветственный бонус по приглашению",
    "referral": "Вознаграждение партнёра",
    "birthday": "Бонус ко дню рождения",
    "first_order": "Бонус за первый заказ",
    "mass_accrual": "Бонусы по акции",
    "review": "Бонус за отзыв",
    "sticker": "Бонус за код с наклейки",
    "sticker_code": "Бонус за код с наклейки",
    "newsletter": "Бонус за подписку на рассылку",
    "repost": "Бонус за репост",
    "payout": "Выплата на бонусный счёт",
    "winback": "Бонус «Мы скучаем»",
}


class HistoryKind(StrEnum):
    """What an entry of the history is, as the personal account shows it."""

    ACCRUAL = "accrual"
    SPEND = "spend"
    REFUND = "refund"
    CLAWBACK = "clawback"
    EXPIRY = "expiry"
    ADJUSTMENT = "adjustment"
    PAYOUT_HOLD = "payout_hold"
    PAYOUT_RELEASE = "payout_release"
    PAYOUT = "payout"


class HistoryEntry(Struct, frozen=True):
    id: str
    at: datetime
    kind: HistoryKind
    reason: str
    delta: int  # change of the customer's bonuses (total), signed
    held: int = 0  # bonuses put on hold (+) or taken off hold (-) by a payout request
    order_id: str | None = None
    activates_at: datetime | None = None
    expires_at: datetime | None = None


def _order(posting: Posting) -> str | None:
    """The customer's own order the posting is about (never a referee's or a payout)."""
    order = posting.order_id
    if not order or order.startswith((REFERRAL_PREFIX, PAYOUT_PREFIX)):
        return None
    return order


def describe(posting: Posting) -> HistoryEntry | None:
    """What a posting means to the customer, or ``None`` when it moved no bonuses."""
    kind, outcome, order = posting.kind, posting.outcome or {}, _order(posting)

    def entry(kind: HistoryKind, reason: str, delta: int, *, held: int = 0, order_id: str | None = None, activates_at: datetime | None = None, expires_at: datetime | None = None) -> HistoryEntry:
        return HistoryEntry(id=posting.id, at=posting.at, kind=kind, reason=reason, delta=delta, held=held, order_id=order_id, activates_at=activates_at, expires_at=expires_at)

    payout = (posting.order_id or "").removeprefix(PAYOUT_PREFIX) if (posting.order_id or "").startswith(PAYOUT_PREFIX) else None
    if kind == "accrue":
        credit = next((m for m in posting.movements if isinstance(m, Credit)), None)
        if credit is None:
            return None
        source = credit.source
        if source == "purchase":
            reason = f"Начисление за заказ {order}" if order else "Начисление за заказ"
        else:
            reason = ACCRUAL_REASONS.get(source, "Начисление бонусов")
        own_order = order if source == "purchase" else None
        return entry(HistoryKind.ACCRUAL, reason=reason, delta=posting.delta, order_id=own_order, activates_at=credit.activates_at, expires_at=credit.expires_at)
    if kind == "spend":
        spent = int(outcome.get("spent", 0))
        if payout is not None:
            return entry(HistoryKind.PAYOUT, reason=f"Выплата по заявке {payout}", delta=-spent, held=-spent)
        return entry(HistoryKind.SPEND, reason=f"Списание в заказе {order}" if order else "Списание бонусов", delta=-spent, order_id=order)
    if kind == "reserve" and payout is not None:
        amount = int(outcome.get("reserved", 0))
        return entry(HistoryKind.PAYOUT_HOLD, reason=f"Заявка на выплату {payout}: бонусы удержаны", delta=0, held=amount)
    if kind == "release" and payout is not None and outcome.get("released"):
        amount = int(outcome["released"])
        verdict = "отменена из-за возврата покупки: остаток бонусов возвращён" if posting.key.endswith(CANCELED_SUFFIX) else "отклонена: бонусы возвращены"
        return entry(HistoryKind.PAYOUT_RELEASE, reason=f"Заявка на выплату {payout} {verdict}", delta=0, held=-amount)
    if kind == "refund":
        return entry(HistoryKind.REFUND, reason=f"Возврат бонусов по заказу {order}" if order else "Возврат бонусов", delta=posting.delta, order_id=order)
    if kind == "reverse":
        if (posting.order_id or "").startswith(REFERRAL_PREFIX):
            reason = "Отмена вознаграждения партнёра: покупка возвращена"
        else:
            reason = f"Отмена начисления по заказу {order}: возврат" if order else "Отмена начисления"
        return entry(HistoryKind.CLAWBACK, reason=reason, delta=posting.delta, order_id=order)
    if kind == "expire":
        return entry(HistoryKind.EXPIRY, reason="Сгорание бонусов", delta=posting.delta) if posting.delta else None
    if kind == "adjust":
        return entry(HistoryKind.ADJUSTMENT, reason=f"Корректировка: {posting.reason}" if posting.reason else "Корректировка", delta=posting.delta)
    return None
