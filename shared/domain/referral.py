"""The partner's reward rule: a share of each paid purchase of the customers they invited.

The share grows with the number of the partner's paying referees, by the
program's rate schedule (``referral.schedule``); it is computed exactly,
rounded down once for the purchase and spread over its lines by largest
remainder, so a later partial return takes back exactly its lines' part.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from shared.domain.config import ProgramConfig
from shared.domain.money import bonuses_floor, distribute, percent


def reward_rate(config: ProgramConfig, paying_referees: int) -> Decimal:
    """The partner's percent of a referee's purchase, once they have ``paying_referees``."""
    rate = config.referral.schedule[0].percent
    for step in config.referral.schedule:
        if paying_referees >= step.from_paying_referees:
            rate = step.percent
    return rate


def referral_reward(config: ProgramConfig, *, paying_referees: int, paid_by_line: dict[str, int]) -> dict[str, int]:
    """A partner's reward per line of a referee's paid purchase, by the rate schedule."""
    if not config.referral.enabled:
        return {line_id: 0 for line_id in paid_by_line}
    rate = reward_rate(config, paying_referees)
    exact = {line_id: Fraction(amount) * percent(rate) for line_id, amount in paid_by_line.items()}
    total = bonuses_floor(sum(exact.values(), Fraction(0)))
    return distribute(total, exact) if total else {line_id: 0 for line_id in paid_by_line}
