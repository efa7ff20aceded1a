"""Clawbacks: a return takes an accrual back from wherever its bonuses are, held ones included.

:func:`take_back` posts the :class:`~shared.domain.ledger.Reverse` of an accrual (a
customer's points on a returned purchase, or a partner's reward on a referee's): its
own lot first; for a reward, the partner's other rewards next, pending or payable, and
the rewards open payout requests hold; then every other bonus; then what open payout
requests hold, then what open checkouts hold. Only what none of that covers is
forgiven (``floor``) or owed (``allow_negative``).

A payout request the clawback reached is canceled in the same transaction: the part
the clawback did not need goes back to the partner's payable balance (the partner may
ask again), and the request's history says why. A checkout it reached keeps what is
left; its payment spends no more than that.
"""

from __future__ import annotations

from datetime import datetime

from shared.domain.config import ProgramConfig
from shared.domain.history import CANCELED_SUFFIX, PAYOUT_PREFIX
from shared.domain.ledger import Release, Reverse, Reversed
from shared.domain.payouts import PAYABLE_SOURCE, PayoutStatus
from shared.services.ledger import AccountSession

CANCEL_REASON = "Покупка возвращена: начисление за неё отменено. Оставшиеся бонусы вернулись, заявку можно подать заново."


def take_back(session: AccountSession, key: str, *, config: ProgramConfig, amount: int, own_lot_id: str | None, order_id: str, reward: bool, now: datetime) -> Reversed:
    """Claw back ``amount`` bonuses of the accrual ``own_lot_id`` once per ``key``, by the
    program's policy, cancelling every payout request it reached (see the module)."""
    reverse = Reverse(
        amount=amount,
        own_lot_id=own_lot_id,
        negative_balance=config.clawback.negative_balance,
        order_id=order_id,
        prefer_source=PAYABLE_SOURCE if reward else None,
        holds_first=PAYOUT_PREFIX,
    )
    outcome = session.post(key, reverse, now=now)
    if not outcome.replayed:
        for reservation_id in outcome.from_holds:
            if reservation_id.startswith(PAYOUT_PREFIX):
                _cancel_payout(session, reservation_id, now)
    return outcome


def _cancel_payout(session: AccountSession, reservation_id: str, now: datetime) -> None:
    session.post(f"{reservation_id}{CANCELED_SUFFIX}", Release(reservation_id=reservation_id), now=now)  # what the clawback left
    request = session.uow.payouts.get(reservation_id.removeprefix(PAYOUT_PREFIX))
    if request is not None and request.status is PayoutStatus.REQUESTED:
        session.uow.payouts.put(request.canceled(reason=CANCEL_REASON, now=now))
