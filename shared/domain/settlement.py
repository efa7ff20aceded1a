"""Settling a paid order on what its checkout agreed, per line (pure).

The checkout quote is what the customer paid for, so payment is not priced
again: the money paid, the bonuses spent and the points earned are the
agreed figures. A program change between checkout and payment (a lower cap,
a higher minimum, another rate) never changes them; only what the customer
still holds can cut the spend, and a group excluded from bonuses earns
nothing.
"""

from __future__ import annotations

from msgspec import Struct

from shared.domain.cart import CartLine, CustomerView, distribute_capped
from shared.domain.config import ProgramConfig


class Settlement(Struct, frozen=True):
    """A paid order settled on its checkout's figures, per line."""

    spent: dict[str, int]  # bonuses spent per line
    paid: dict[str, int]  # money paid per line, kopecks (the agreed figures)
    earned: dict[str, int]  # points earned per line (the agreed figures)
    shortfall: int  # agreed bonuses the customer no longer held at payment

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
    agreed_bonuses: dict[str, int],
    agreed_money: dict[str, int],
    agreed_points: dict[str, int],
) -> Settlement:
    """Settle a paid order on what its checkout agreed. Pure.

    The checkout quote is what the customer paid for (a payment counts only
    when it equals the order's ``money_to_pay``), and the checkout enforced
    the program's rules (the cap, the minimum and maximum bonus payment, the
    exclusions) as they stood then, so nothing is priced again:

    * **money paid** per line is the agreed figure (``agreed_money``);
    * **bonuses spent** are the agreed ones (``agreed_bonuses``), never more
      than ``customer.available`` (the caller passes the order's reservation,
      or the free balance when the reservation lapsed). Only that can cut
      them: the cut is spread over the lines in proportion to the agreed
      split, never above a line's agreed figure, and reported as
      ``shortfall``;
    * **points** are the agreed ones (``agreed_points``: the checkout's rates,
      level and coefficients on the money to pay), or none at all when the
      customer's group is excluded from bonuses by now.
    """
    ids = [line.id for line in lines]
    if set(agreed_bonuses) != set(ids) or set(agreed_money) != set(ids) or set(agreed_points) != set(ids):
        raise ValueError("the agreed figures must name exactly the order's lines")
    if any(v < 0 for v in (*agreed_bonuses.values(), *agreed_money.values(), *agreed_points.values())):
        raise ValueError("agreed figures must not be negative")
    agreed_total = sum(agreed_bonuses.values())
    allowed = min(agreed_total, max(customer.available, 0))
    spent = dict(agreed_bonuses) if allowed == agreed_total else distribute_capped(allowed, agreed_bonuses, agreed_bonuses)
    excluded = config.group(customer.group).bonuses_excluded
    return Settlement(
        spent={line_id: spent.get(line_id, 0) for line_id in ids},
        paid={line_id: agreed_money[line_id] for line_id in ids},
        earned={line_id: 0 if excluded else agreed_points[line_id] for line_id in ids},
        shortfall=agreed_total - allowed,
    )
