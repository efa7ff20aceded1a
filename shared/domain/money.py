"""Money, bonuses and the one rounding rule.

* Money is an ``int`` number of kopecks. 1 bonus = 1 rouble = 100 kopecks.
* Bonuses are whole numbers (``int``).
* Percentages and coefficients are exact decimals (``Decimal``) and every
  computation is carried out with exact fractions.

**The rounding rule.** An amount of bonuses is computed exactly, then rounded
*down* to a whole bonus once, for the whole order (accruals never round up).
When a whole-order figure has to be split over order lines, it is distributed
by the largest-remainder method over the exact per-line shares, so the line
figures are whole bonuses that add up exactly to the order figure; ties go to
the earlier line. Capping the bonus payment also rounds down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

KOPECKS_PER_BONUS = 100

K = TypeVar("K")


def frac(value: Decimal | int | Fraction) -> Fraction:
    """Exact fraction of a decimal, integer or fraction."""
    return value if isinstance(value, Fraction) else Fraction(value)


def percent(value: Decimal | int) -> Fraction:
    """A percentage as an exact fraction: ``percent(Decimal("5")) == 1/20``."""
    return frac(value) / 100


def bonuses_floor(kopecks: Fraction | int) -> int:
    """Whole bonuses covered by an exact kopeck amount, rounded down."""
    return int(Fraction(kopecks) // KOPECKS_PER_BONUS)


def kopecks_of(bonuses: int) -> int:
    return bonuses * KOPECKS_PER_BONUS


def distribute(total: int, weights: Mapping[K, Fraction | int] | Sequence[tuple[K, Fraction | int]]) -> dict[K, int]:
    """Split a whole ``total`` over keys in proportion to ``weights``.

    Largest-remainder method: each key gets the floor of its exact share and
    the units left over go to the largest remainders, earlier keys first on a
    tie. The result adds up to ``total`` exactly. Zero weights get zero.
    """
    items = list(weights.items()) if isinstance(weights, Mapping) else list(weights)
    if total < 0:
        raise ValueError("total must not be negative")
    weight_sum = sum((Fraction(w) for _, w in items), Fraction(0))
    if total == 0 or weight_sum == 0:
        if total and not weight_sum:
            raise ValueError("cannot distribute a positive total over zero weights")
        return {key: 0 for key, _ in items}
    shares = [(key, Fraction(total) * Fraction(w) / weight_sum) for key, w in items]
    result = {key: int(share // 1) for key, share in shares}
    left = total - sum(result.values())
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(shares[i][1] - result[shares[i][0]]), i))
    for i in by_remainder[:left]:
        result[shares[i][0]] += 1
    return result


def prorate(total: int, part: int, whole: int) -> int:
    """The share of ``total`` that ``part`` out of ``whole`` units carries, rounded down.

    Cumulative prorating is exact: ``prorate(total, whole, whole) == total``, so
    successive partial returns of a line add up to exactly the line's figure.
    """
    if whole <= 0 or not 0 <= part <= whole:
        raise ValueError("part must lie within 0..whole and whole must be positive")
    return total * part // whole
