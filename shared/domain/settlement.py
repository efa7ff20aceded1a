"""Settling a paid order on what its checkout agreed, per line (pure).

The checkout quote is what the customer paid for, so payment is not priced
again: the money paid is the agreed figure, the bonuses spent the agreed ones
unless the rules or the customer's balance no longer allow them, and points
are earned on the money paid.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from shared.domain.cart import (
    CartLine,
    CustomerView,
    PromoRule,
    distribute_capped,
    points_for,
    quote,
)
from shared.domain.config import ProgramConfig


class Settlement(Struct, frozen=True):
    """A paid order settled on its checkout's figures, per line."""

    level: str  # the level the points were earned at
    spent: dict[str, int]  # bonuses spent per line
    paid: dict[str, int]  # money paid per line, kopecks (the agreed figures)
    earned: dict[str, int]  # points earned per line
    shortfall: int  # agreed bonuses that could not be spent at payment

    @property
    def bonuses_spent(self) -> int:
        return sum(self.spent.values())

    @property
    def money_paid(self) -> int:
        return sum(self.paid.values())

    @property
    def points_earned(self) -> int:
        return sum(self.earned.values())


def settle(
    config: ProgramConfig,
    customer: CustomerView,
    lines: list[CartLine],
    *,
    now: datetime,
    promo: PromoRule | None,
    agreed_bonuses: dict[str, int],
    agreed_money: dict[str, int],
) -> Settlement:
    """Settle a paid order on what its checkout agreed. Pure.

    The checkout quote is what the customer paid for (a payment counts only
    when it equals the order's ``money_to_pay``), so the order is not priced
    again:

    * **money paid** per line is the agreed figure (``agreed_money``), whatever
      the customer's level, balance or the program are at payment;
    * **bonuses spent** are the agreed ones (``agreed_bonuses``), but never more
      than the rules allow now (the cap of the customer's level, the minimum
      and maximum bonus payment, a group excluded from bonuses, a promo code
      not combinable with bonuses) nor more than ``customer.available`` (the
      caller passes the order's reservation, or the free balance when the
      reservation lapsed). A cut is spread over the lines in proportion to the
      agreed split, never above a line's agreed figure, and reported as
      ``shortfall``: bonuses the shop is not paid; the customer, who paid the
      agreed money, is never charged for them;
    * **points** are earned on the money paid per line (the accrual base is what
      was actually paid), at the customer's level at payment (the level the
      purchase is counted at), on the lines the rules let earn, at the promo
      code's accrual rate when the code applies.
    """
    ids = [line.id for line in lines]
    if set(agreed_bonuses) != set(ids) or set(agreed_money) != set(ids):
        raise ValueError("the agreed figures must name exactly the order's lines")
    if any(v < 0 for v in (*agreed_bonuses.values(), *agreed_money.values())):
        raise ValueError("agreed figures must not be negative")
    agreed_total = sum(agreed_bonuses.values())
    capped = quote(config, customer, lines, now=now, promo=promo, bonuses_requested=agreed_total)
    allowed = capped.bonuses_applied  # <= agreed, the rules' cap and what the customer holds
    spent = dict(agreed_bonuses) if allowed == agreed_total else distribute_capped(allowed, agreed_bonuses, agreed_bonuses)
    rules = quote(config, customer, lines, now=now, promo=promo)  # without bonuses: which lines may earn
    earnable = {ql.id: agreed_money[ql.id] for ql in rules.lines if ql.earn_eligible and agreed_money[ql.id] > 0}
    level = config.level(capped.level)
    rate = config.exclusions.promo.accrual_percent if capped.promo_applied else None
    earned = points_for(config, level, earnable, {line.id: line for line in lines}, rate) if earnable else {}
    return Settlement(
        level=level.code,
        spent={line_id: spent.get(line_id, 0) for line_id in ids},
        paid={line_id: agreed_money[line_id] for line_id in ids},
        earned={line_id: earned.get(line_id, 0) for line_id in ids},
        shortfall=agreed_total - allowed,
    )
