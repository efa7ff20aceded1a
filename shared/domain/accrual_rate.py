"""The points a cart's lines earn: the level's rate, raised by the best campaign, times the
permanent coefficients; exact, floored once for the order and spread by largest remainder
(see :mod:`shared.domain.money`). Pure."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from msgspec import Struct

from shared.domain.campaigns import Campaign, best_campaign
from shared.domain.config import Level, ProgramConfig
from shared.domain.money import bonuses_floor, distribute, percent
from shared.domain.segments import CustomerFacts

if TYPE_CHECKING:
    from shared.domain.cart import CartLine


def coefficient(config: ProgramConfig, line: CartLine) -> Fraction:
    found = []
    if line.product_group in config.coefficients.product_groups:
        found.append(Fraction(config.coefficients.product_groups[line.product_group]))
    if line.brand in config.coefficients.brands:
        found.append(Fraction(config.coefficients.brands[line.brand]))
    if not found:
        return Fraction(1)
    if config.coefficients.combine == "max":
        return max(found)
    result = Fraction(1)
    for value in found:
        result *= value
    return result


class Earning(Struct, frozen=True):
    """Points per line and the campaign that raised each line (absent: none did)."""

    points: dict[str, int]
    campaigns: dict[str, Campaign]


def points_for(
    config: ProgramConfig,
    level: Level,
    amounts: dict[str, int],
    lines: dict[str, CartLine],
    rate: Decimal | None = None,
    *,
    facts: CustomerFacts | None = None,
    now: datetime | None = None,
) -> Earning:
    """Points earned per line on the money paid per line: exact, floored once, spread by largest remainder.

    With ``now``, each line's rate is raised by the best campaign that applies to it
    (:func:`shared.domain.campaigns.best_campaign`, the one combination rule).
    """
    base = percent(rate if rate is not None else level.accrual_percent)
    exact: dict[str, Fraction] = {}
    applied: dict[str, Campaign] = {}
    for line_id, amount in amounts.items():
        line = lines[line_id]
        found = best_campaign(config.campaigns, product_group=line.product_group, brand=line.brand, sku=line.sku, facts=facts, base=base, now=now) if now else None
        line_rate = found.rate(base) if found else base
        if found:
            applied[line_id] = found
        exact[line_id] = Fraction(amount) * line_rate * coefficient(config, line)
    total = bonuses_floor(sum(exact.values(), Fraction(0)))
    return Earning(distribute(total, exact) if total else {line_id: 0 for line_id in amounts}, applied)
