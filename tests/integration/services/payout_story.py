"""A partner and her referees through the real use cases: what the payout and clawback tests start from."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.domain.cart import CartLine
from shared.domain.config import ProgramConfig
from shared.services import orders, registration

BIG_ORDER = [CartLine(id="device", price=1_000_000, quantity=1)]  # 10 000 ₽: a 500-bonus reward at 5 %
REWARD = 500


def referee_order(store, config: ProgramConfig, *, partner: str, referee: str, order_id: str, at: datetime, lines: list[CartLine] = BIG_ORDER, delivered: bool = True) -> None:
    """``referee`` registers by ``partner``'s link (her invited welcome bonus), pays ``order_id``
    without bonuses and, unless told otherwise, receives it at ``at``: the partner's reward starts its hold."""
    registration.register_customer(store, config=config, customer_id=referee, now=at, invited_by=partner)
    placed, _ = orders.place_order(store, config=config, customer_id=referee, order_id=order_id, lines=lines, bonuses=0, now=at)
    orders.mark_paid(store, config=config, order_id=order_id, payment=orders.PaymentRef(provider="test", id=f"pay-{order_id}", amount=placed.money_to_pay), now=at)
    if delivered:
        orders.mark_delivered(store, config=config, order_id=order_id, delivered_at=at, now=at, carrier="test")


def past_hold(config: ProgramConfig, delivered_at: datetime) -> datetime:
    """The first moment the reward of an order delivered at ``delivered_at`` is spendable."""
    return delivered_at + timedelta(days=config.referral_hold_days, seconds=1)
