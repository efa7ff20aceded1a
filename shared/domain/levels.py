"""Level rules: which level a customer holds and how far the next one is."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from msgspec import Struct

from shared.domain.config import Level, LevelBasisKind, ProgramConfig
from shared.domain.ledger import Account


def window_start(config: ProgramConfig, now: datetime) -> date | None:
    """First day counted by a rolling window (None for a lifetime basis)."""
    days = config.level_basis.window_days
    if config.level_basis.kind is LevelBasisKind.LIFETIME or days is None:
        return None
    return now.date() - timedelta(days=days - 1)


def qualifying_total(config: ProgramConfig, account: Account, now: datetime) -> int:
    """The paid purchase total (kopecks) the level thresholds are measured on."""
    start = window_start(config, now)
    if start is None:
        return account.paid_total
    first = start.isoformat()
    return sum(amount for day, amount in account.paid_by_day.items() if day >= first)


def level_for_total(config: ProgramConfig, total: int) -> Level:
    chosen = config.levels[0]
    for level in config.levels:
        if total >= level.threshold:
            chosen = level
    return chosen


def _rank(config: ProgramConfig, code: str | None) -> int:
    for i, level in enumerate(config.levels):
        if level.code == code:
            return i
    return 0


def effective_level(config: ProgramConfig, account: Account | None) -> Level:
    """The level that applies now: an admin override first, then the earned level."""
    if account is None:
        return config.levels[0]
    for code in (account.level_override, account.level):
        if code is not None:
            try:
                return config.level(code)
            except KeyError:
                continue
    return config.levels[0]


def level_after_purchase(config: ProgramConfig, account: Account, now: datetime, paid_delta: int) -> str:
    """Upgrades happen as soon as a paid order crosses a threshold; never a downgrade here."""
    total = qualifying_total(config, account, now) + paid_delta
    earned = level_for_total(config, max(total, 0))
    current = account.level or config.levels[0].code
    return earned.code if _rank(config, earned.code) > _rank(config, current) else config.levels[_rank(config, current)].code


def level_after_sweep(config: ProgramConfig, account: Account, now: datetime) -> str:
    """The sweep's verdict: the window total's level when downgrades are on, else no lower than now."""
    earned = level_for_total(config, qualifying_total(config, account, now))
    if config.level_basis.downgrade:
        return earned.code
    current = account.level or config.levels[0].code
    return earned.code if _rank(config, earned.code) > _rank(config, current) else config.levels[_rank(config, current)].code


def level_after_return(config: ProgramConfig, account: Account, now: datetime, *, paid_back: int, paid_on: str | None, held_before: str | None) -> str:
    """The level once ``paid_back`` kopecks of a purchase paid on ``paid_on`` come back (before they are recorded).

    A return that takes the qualifying total below a threshold it had reached
    takes the level down at once, on either basis, to the level the rest of
    the total earns (never up); one that crosses no threshold changes nothing.
    Money paid on a day the rolling window no longer counts changes nothing.
    On a rolling window without downgrades the level held before the returned
    purchase (``held_before``) stays: only what that purchase bought goes.
    """
    current = account.level or config.levels[0].code
    before = qualifying_total(config, account, now)
    start = window_start(config, now)
    counted = start is None or paid_on is None or paid_on >= start.isoformat()
    after = before - paid_back if counted else before
    earned_after = level_for_total(config, max(after, 0))
    if _rank(config, earned_after.code) >= _rank(config, level_for_total(config, max(before, 0)).code):
        return current
    rank = min(_rank(config, current), _rank(config, earned_after.code))
    if start is not None and not config.level_basis.downgrade and held_before is not None:
        rank = max(rank, min(_rank(config, held_before), _rank(config, current)))
    return config.levels[rank].code


class LevelProgress(Struct, frozen=True):
    level: Level
    next_level: Level | None
    qualifying_total: int
    remaining_to_next: int | None  # kopecks


def progress(config: ProgramConfig, account: Account, now: datetime) -> LevelProgress:
    current = effective_level(config, account)
    total = qualifying_total(config, account, now)
    rank = _rank(config, current.code)
    nxt = config.levels[rank + 1] if rank + 1 < len(config.levels) else None
    remaining = max(nxt.threshold - total, 0) if nxt else None
    return LevelProgress(current, nxt, total, remaining)
