"""Money as payment providers write it ("1000.00", "990.5") to integer kopecks, exactly."""

from __future__ import annotations

import re
from decimal import Decimal

# ASCII digits only (``\d`` would accept other scripts' digits), at most two decimals,
# no sign, exponent, spaces, NaN or Infinity.
_AMOUNT = re.compile(r"[0-9]{1,13}(?:\.[0-9]{1,2})?")


class BadAmount(ValueError):
    """A provider's amount that is not a plain non-negative decimal with at most two places."""


def to_kopecks(value: str) -> int:
    """``"1000.00"`` -> ``100000``; anything not exactly representable in kopecks is refused."""
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value):
        raise BadAmount(f"not an amount in roubles: {value!r}")
    return int(Decimal(value) * 100)


def to_roubles(kopecks: int) -> str:
    """``100000`` -> ``"1000.00"`` (the providers' notation)."""
    if kopecks < 0:
        raise BadAmount("amounts are not negative")
    return f"{kopecks // 100}.{kopecks % 100:02d}"
