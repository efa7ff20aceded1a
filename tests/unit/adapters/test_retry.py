"""shared/adapters/retry.py: the one bounded retry loop the provider adapters share."""

from __future__ import annotations

import pytest

from shared.adapters.retry import Again, Exhausted, delay, retrying


def test_answers_the_first_attempt_that_does_not_ask_again() -> None:
    sleeps: list[float] = []
    seen: list[int] = []

    def attempt(number: int) -> str:
        seen.append(number)
        if number < 3:
            raise Again(f"try {number}")
        return "ok"

    assert retrying(attempt, attempts=3, backoff_seconds=0.2, sleep=sleeps.append, jitter=False) == "ok"
    assert seen == [1, 2, 3] and sleeps == [0.2, 0.4]


def test_gives_up_after_the_attempts_with_the_last_reason_and_no_sleep_after_the_last() -> None:
    sleeps: list[float] = []

    def attempt(number: int) -> str:
        raise Again(f"reason {number}")

    with pytest.raises(Exhausted) as gave_up:
        retrying(attempt, attempts=4, backoff_seconds=0.1, sleep=sleeps.append)
    assert gave_up.value.reason == "reason 4" and gave_up.value.attempts == 4
    assert len(sleeps) == 3 and all(0 <= s <= cap for s, cap in zip(sleeps, (0.1, 0.2, 0.4), strict=True))


def test_any_other_error_ends_the_loop_at_once() -> None:
    calls: list[int] = []

    def attempt(number: int) -> str:
        calls.append(number)
        raise ValueError("not worth repeating")

    with pytest.raises(ValueError):
        retrying(attempt, attempts=3, backoff_seconds=0.1, sleep=lambda _: pytest.fail("slept"))
    assert calls == [1]


def test_full_jitter_stays_within_the_exponential_cap() -> None:
    assert delay(3, 0.5, jitter=False) == 2.0
    assert all(0 <= delay(3, 0.5) <= 2.0 for _ in range(200))
