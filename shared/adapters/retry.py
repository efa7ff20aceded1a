"""The provider adapters' one retry loop: bounded attempts with exponential backoff.

An attempt is a callable given its number (1, 2, …); it answers its result,
or raises :class:`Again` with a short reason when another attempt may help.
Between attempt ``n`` and ``n + 1`` the loop sleeps ``backoff_seconds ×
2^(n-1)`` — a uniformly random share of it (full jitter) unless
``jitter=False`` — and after the last attempt raises :class:`Exhausted` with
the last reason, which each adapter turns into its own error. What counts as
worth another attempt (a request that never left, a timeout, a 5xx, a 202)
stays with each adapter: only the loop is shared.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from msgspec import Struct

T = TypeVar("T")


class Again(Exception):
    """Raised by an attempt that may succeed if tried again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Exhausted(Exception):
    """Every attempt asked for another; ``reason`` is the last one's."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(f"{reason} (after {attempts} attempts)")
        self.reason = reason
        self.attempts = attempts


def delay(attempt: int, backoff_seconds: float, *, jitter: bool = True) -> float:
    """The pause after failed attempt number ``attempt`` (1-based)."""
    cap = backoff_seconds * 2 ** (attempt - 1)
    return random.uniform(0, cap) if jitter else cap


def retrying(
    attempt: Callable[[int], T],
    *,
    attempts: int,
    backoff_seconds: float,
    sleep: Callable[[float], None],
    jitter: bool = True,
) -> T:
    """``attempt(n)`` for n = 1 … ``attempts`` until one does not raise :class:`Again`."""
    reason = ""
    for number in range(1, attempts + 1):
        try:
            return attempt(number)
        except Again as again:
            reason = again.reason
        if number < attempts:
            sleep(delay(number, backoff_seconds, jitter=jitter))
    raise Exhausted(reason, attempts)


class Retry(Struct, frozen=True, kw_only=True):
    """An adapter's retry settings: at least one attempt, the backoff's base, how it sleeps."""

    attempts: int
    backoff_seconds: float
    sleep: Callable[[float], None] = time.sleep
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")

    def run(self, attempt: Callable[[int], T]) -> T:
        """:func:`retrying` with these settings."""
        return retrying(attempt, attempts=self.attempts, backoff_seconds=self.backoff_seconds, sleep=self.sleep, jitter=self.jitter)
