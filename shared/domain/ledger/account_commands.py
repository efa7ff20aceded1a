"""Ledger commands on the account itself: opening, level statistics, level and group, notes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar

from msgspec import Struct, field

from shared.domain.errors import InvalidState, ValidationFailed
from shared.domain.ledger.commands import Command, OutcomeType
from shared.domain.ledger.movements import (
    GroupChange,
    LevelChange,
    LevelOverrideChange,
    Movement,
    Purchase,
    TrimWindow,
)
from shared.domain.ledger.outcomes import (
    GroupChanged,
    LevelOverridden,
    LevelSet,
    Noted,
    Opened,
    PurchaseRecorded,
)
from shared.domain.ledger.postings import Posting
from shared.domain.ledger.state import Account, require_utc


class RecordPurchase(Command[PurchaseRecorded], Struct, frozen=True, kw_only=True):
    """Add a paid purchase (or, negative, a returned part) to the level statistics.

    ``level`` is the level the account should hold afterwards (decided by
    the level rules); a change is recorded as a movement, a notification trigger.
    ``day`` is the day the amount counts on (default: ``now``'s): a returned
    part counts on the day its purchase was paid, so it leaves a rolling
    window together with that purchase.
    """

    kind: ClassVar[str] = "purchase"
    INTENT: ClassVar[tuple[str, ...]] = ("amount", "order_id")
    outcome_type: ClassVar[OutcomeType] = PurchaseRecorded
    amount: int
    order_id: str
    level: str | None
    day: date | None = None

    def posting(self, account: Account, *, key: str, now: datetime) -> Posting:
        require_utc(now)
        if not isinstance(self.amount, int) or self.amount == 0:
            raise ValidationFailed("amount must be a non-zero number of kopecks", field="amount")
        if account.paid_total + self.amount < 0:
            raise InvalidState("a return cannot exceed the purchases recorded", field="amount")
        movements: list[Movement] = [Purchase(self.amount, (self.day or now.date()).isoformat())]
        if self.level is not None and self.level != account.level:
            movements.append(LevelChange(account.level, self.level))
        outcome = PurchaseRecorded(account.paid_total + self.amount, self.level or account.level)
        return self._posting(account, key, now, movements, outcome, order_id=self.order_id)


class SetLevel(Command[LevelSet], Struct, frozen=True, kw_only=True):
    """Record a level change decided by the sweep (rolling-window downgrade) or similar;
    ``trim_before`` drops the purchase days before it from the rolling window."""

    kind: ClassVar[str] = "level"
    INTENT: ClassVar[tuple[str, ...]] = ("level", "reason")
    outcome_type: ClassVar[OutcomeType] = LevelSet
    level: str
    reason: str
    trim_before: date | None = None

    def posting(self, account: Account, *, key: str, now: datetime) -> Posting:
        movements: list[Movement] = []
        if self.trim_before is not None:
            old = sorted(day for day in account.paid_by_day if day < self.trim_before.isoformat())
            if old:
                movements.append(TrimWindow(tuple(old)))
        if self.level != account.level:
            movements.append(LevelChange(account.level, self.level))
        return self._posting(account, key, now, movements, LevelSet(self.level, account.level), reason=self.reason)


class OpenAccount(Command[Opened], Struct, frozen=True, kw_only=True):
    """The first posting of an account: its customer group and starting level."""

    kind: ClassVar[str] = "open"
    INTENT: ClassVar[tuple[str, ...]] = ("group", "level")
    outcome_type: ClassVar[OutcomeType] = Opened
    group: str
    level: str

    def posting(self, account: Account, *, key: str, now: datetime) -> Posting:
        if account.seq:
            raise InvalidState("the account is open already", customer_id=account.customer_id)
        movements: list[Movement] = [GroupChange(self.group, opening=True), LevelChange(None, self.level)]
        return self._posting(account, key, now, movements, Opened(self.group, self.level))


class Note(Command[Noted], Struct, frozen=True, kw_only=True):
    """A posting that changes nothing: the idempotency record of a composite use case, keeping its result."""

    kind: ClassVar[str] = "note"
    INTENT: ClassVar[tuple[str, ...]] = ()
    outcome_type: ClassVar[OutcomeType] = Noted
    data: Mapping[str, Any] = field(default_factory=dict)

    def posting(self, account: Account, *, key: str, now: datetime) -> Posting:
        return self._posting(account, key, now, [], Noted(dict(self.data)))


class OverrideLevel(Command[LevelOverridden], Struct, frozen=True, kw_only=True):
    """A person pins the customer's level (``None`` lifts the pin; the earned level applies again).

    The override wins over the earned level (:func:`shared.domain.levels.effective_level`);
    the earned level and the purchase statistics are left as they are.
    """

    kind: ClassVar[str] = "level_override"
    INTENT: ClassVar[tuple[str, ...]] = ("level", "actor", "reason")
    outcome_type: ClassVar[OutcomeType] = LevelOverridden
    level: str | None
    actor: str
    reason: str

    def posting(self, account: Account, *, key: str, now: datetime) -> Posting:
        require_utc(now)
        if not self.actor or not self.reason.strip():
            raise ValidationFailed("a level override needs an actor and a reason", field="reason", message_ru="Укажите причину изменения уровня.")
        movements = [LevelOverrideChange(account.level_override, self.level)] if self.level != account.level_override else []
        outcome = LevelOverridden(self.level, account.level_override)
        return self._posting(account, key, now, movements, outcome, actor=self.actor, reason=self.reason)


class ChangeGroup(Command[GroupChanged], Struct, frozen=True, kw_only=True):
    """A person moves the customer to another customer group (e.g. B2C to B2B)."""

    kind: ClassVar[str] = "group"
    INTENT: ClassVar[tuple[str, ...]] = ("group", "actor", "reason")
    outcome_type: ClassVar[OutcomeType] = GroupChanged
    group: str
    actor: str
    reason: str

    def posting(self, account: Account, *, key: str, now: datetime) -> Posting:
        require_utc(now)
        if not self.group:
            raise ValidationFailed("a group is required", field="group")
        if not self.actor or not self.reason.strip():
            raise ValidationFailed("a group change needs an actor and a reason", field="reason", message_ru="Укажите причину смены группы.")
        movements = [GroupChange(self.group, account.group)] if self.group != account.group else []
        return self._posting(account, key, now, movements, GroupChanged(self.group, account.group), actor=self.actor, reason=self.reason)
