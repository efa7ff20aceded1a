"""Sticker codes (pure): their alphabet and check character, batches, and the guard against guessing.

A code is ``CODE_RANDOM`` characters drawn by :mod:`secrets` from a 31-letter
alphabet without the look-alikes 0/O, 1/I/L, followed by one check character
(a weighted sum mod 31 over the alphabet), printed in groups of four: ``7KQM-R2XH-FA9T``
(12 characters). A typo of one character, or two characters swapped, fails the
check and is refused before any look-up.

Guessing: 31**11 ≈ 2.5·10^16 well-formed codes (the twelfth character is
fixed by the other eleven). With a million codes printed, one well-formed guess
hits with a chance of about 4·10^-11. A customer and an address get
``stickers.max_failures`` (20) wrong codes per block (an hour by default),
with a doubling wait between them: at most some 480 guesses a day, a hit once
in about 140,000 years per account and address.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from msgspec import Struct
from msgspec.structs import replace

from shared.domain.config import Stickers

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 letters: no 0/O, 1/I/L
CODE_RANDOM = 11  # random characters; one check character follows
CODE_LENGTH = CODE_RANDOM + 1
MAX_BATCH = 100_000
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}
_N = len(ALPHABET)


def check_character(body: str) -> str:
    """The check character of ``body`` (characters of :data:`ALPHABET`): weights 2, 3 … on the
    body and 1 on the check, the weighted sum 0 mod 31. The weights are distinct and nonzero mod
    the prime 31, so any one wrong character and any two characters swapped fail the check."""
    total = sum((i + 2) * _INDEX[ch] for i, ch in enumerate(body))
    return ALPHABET[(-total) % _N]


def new_code() -> str:
    """A fresh random code with its check character (unformatted)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(CODE_RANDOM))
    return body + check_character(body)


def normalize(typed: str) -> str | None:
    """The code a customer typed, upper-cased without spaces and dashes, or ``None`` when it
    cannot be a code: a wrong length, a letter outside the alphabet or a failed check character."""
    code = "".join(ch for ch in typed.upper() if ch not in " -\t")
    if len(code) != CODE_LENGTH or any(ch not in _INDEX for ch in code):
        return None
    return code if check_character(code[:-1]) == code[-1] else None


def formatted(code: str) -> str:
    """The code as printed: groups of four joined by dashes."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


class StickerBatch(Struct, frozen=True, kw_only=True):
    """``sticker_batches/{id}``: a print run of ``count`` codes worth ``points`` each until ``valid_until``;
    ``generated`` codes of it exist so far (generation resumes from there)."""

    id: str
    name: str
    count: int
    points: int
    valid_until: datetime
    created_at: datetime
    created_by: str
    generated: int = 0

    @property
    def complete(self) -> bool:
        return self.generated >= self.count


class StickerCode(Struct, frozen=True, kw_only=True):
    """``sticker_codes/{code}``: one code, its batch and index, and who redeemed it when."""

    code: str
    batch_id: str
    index: int
    redeemed_by: str | None = None
    redeemed_at: datetime | None = None


class Attempts(Struct, frozen=True, kw_only=True):
    """``sticker_attempts/{who}`` (a customer, or an address's hash): wrong codes since the last block."""

    who: str
    failures: int = 0
    next_at: datetime | None = None  # no attempt before this (the wait after a wrong code)
    blocked_until: datetime | None = None
    updated_at: datetime | None = None


class Throttled(Struct, frozen=True):
    """Why an attempt is refused now: ``sticker_blocked`` or ``retry_after``, and until when."""

    code: str
    until: datetime


def refused_now(attempts: Attempts | None, now: datetime) -> Throttled | None:
    if attempts is None:
        return None
    if attempts.blocked_until is not None and now < attempts.blocked_until:
        return Throttled("sticker_blocked", attempts.blocked_until)
    if attempts.next_at is not None and now < attempts.next_at:
        return Throttled("retry_after", attempts.next_at)
    return None


def after_failure(attempts: Attempts | None, who: str, now: datetime, settings: Stickers) -> Attempts:
    """The counter after one more wrong code: a doubling wait, a block at ``max_failures``."""
    current = attempts or Attempts(who=who)
    if current.blocked_until is not None and now >= current.blocked_until:
        current = Attempts(who=who)  # a block served: counting starts again
    failures = current.failures + 1
    if failures >= settings.max_failures:
        return replace(current, failures=failures, blocked_until=now + timedelta(minutes=settings.block_minutes), next_at=None, updated_at=now)
    delay = min(settings.first_delay_seconds * 2 ** (failures - 1), settings.max_delay_seconds)
    return replace(current, failures=failures, next_at=now + timedelta(seconds=delay), updated_at=now)


def after_success(attempts: Attempts | None, now: datetime) -> Attempts | None:
    """A right code lifts the wait (not the count of wrong ones): ``None`` when nothing changes."""
    if attempts is None or attempts.next_at is None:
        return None
    return replace(attempts, next_at=None, updated_at=now)
