"""The partner's reward on a referee's delivered order, credited again on demand.

Delivery commits the referee's side first and then the partner's reward in a
transaction of its own (:func:`lifecycle.deliver_order`); if the second never
commits (a crash, contention outliving its retries) the reward is missing until
someone asks again. :func:`recredit_reward` is that ask: it reads the order's
line book — the truth about what was paid, delivered and returned — and runs
:func:`lifecycle.credit_referral_reward`, which credits once per order and
otherwise returns what was credited before.
"""

from __future__ import annotations

from datetime import datetime

from shared.api.referral_reward import CreditResult
from shared.domain.config import ProgramConfig
from shared.domain.errors import InvalidState
from shared.services import lifecycle, orders
from shared.services.ports import Store


def recredit_reward(store: Store, *, config: ProgramConfig, order_id: str, now: datetime) -> CreditResult:
    """(Re)credit the partner's reward of a delivered order; idempotent.

    The reward is computed on what the referee kept (returned lines excluded)
    at the partner's rate, and held ``referral_hold_days`` from the delivery.
    An order without a partner gets ``reward: 0``; one not delivered yet is
    :class:`InvalidState`.
    """
    order = orders.get_order(store, order_id)
    book = store.read(lambda uow: uow.line_books.get(order["customer_id"], order_id))
    if book is None:
        raise InvalidState("the order has not been paid", order_id=order_id, status=order.get("status"))
    if book.referrer_id is None:
        return CreditResult(order_id=order_id, partner_id=None, reward=0)
    if book.delivered_at is None:
        raise InvalidState("the order has not been delivered yet", order_id=order_id, status=order.get("status"), message_ru="Заказ ещё не доставлен.")
    reward = lifecycle.credit_referral_reward(store, config=config, book=book, delivered_at=book.delivered_at, now=now)
    return CreditResult(order_id=order_id, partner_id=book.referrer_id, reward=reward)
