"""Movements: the closed set of changes a posting makes to an account.

Each movement is a frozen value that converts to and from its stored form
(a dict keyed by ``"op"``, as kept in the posting document) and knows how it
changes an :class:`~shared.domain.ledger.state.Account` in place
(:meth:`apply`, used only on a fresh copy of the account by
:func:`~shared.domain.ledger.postings.apply_posting`). Code that inspects
postings tells movements apart by type (``isinstance(m, Credit)``) and reads
their attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from msgspec import Struct
from msgspec.structs import replace

from shared.domain.ledger.state import Account, Allocation, Lot, Reservation, settled_lot_id


def _credit(lots: dict[str, Lot], lot_id: str, amount: int, source: str, ref: str, accrued_at: datetime, activates_at: datetime | None, expires_at: datetime) -> None:
    lot = lots.get(lot_id)
    if lot is None:
        lots[lot_id] = Lot(id=lot_id, amount=amount, remaining=amount, source=source, ref=ref, accrued_at=accrued_at, activates_at=activates_at, expires_at=expires_at)
    else:
        remaining = lot.remaining + amount
        lots[lot_id] = replace(lot, remaining=remaining, amount=max(lot.amount, remaining))


def _merge(lots: dict[str, Lot], lot_id: str, amount: int, source: str, ref: str, accrued_at: datetime, activates_at: datetime | None, expires_at: datetime) -> None:
    """Add an accrual to the open lot of its source, activation day and expiry day: the amounts
    add, the lot activates at the later of the two moments and expires at the later of the two."""
    lot = lots.get(lot_id)
    if lot is None:
        _credit(lots, lot_id, amount, source, ref, accrued_at, activates_at, expires_at)
        return
    activation = lot.activates_at if activates_at is None or (lot.activates_at is not None and lot.activates_at >= activates_at) else activates_at
    lots[lot_id] = replace(lot, amount=lot.amount + amount, remaining=lot.remaining + amount, activates_at=activation, expires_at=max(lot.expires_at, expires_at))


def _debit(lots: dict[str, Lot], lot_id: str, amount: int) -> None:
    lot = lots[lot_id]
    if amount > lot.remaining:
        raise AssertionError(f"debit of {amount} exceeds lot {lot_id} remaining {lot.remaining}")
    if amount == lot.remaining:
        del lots[lot_id]
    else:
        lots[lot_id] = replace(lot, remaining=lot.remaining - amount)


class Credit(Struct, frozen=True):
    """Bonuses into a lot: a new lot, or back into one (a refund restores a pruned lot).

    ``merge``: an accrual joining the open lot of its source, activation day and expiry
    day (:func:`~shared.domain.ledger.state.merged_lot_id`): the lot's amount grows too.
    """

    op: ClassVar[str] = "credit"
    lot_id: str
    amount: int
    source: str
    ref: str
    accrued_at: datetime
    activates_at: datetime | None
    expires_at: datetime
    merge: bool = False

    def apply(self, account: Account) -> None:
        apply = _merge if self.merge else _credit
        apply(account.lots, self.lot_id, self.amount, self.source, self.ref, self.accrued_at, self.activates_at, self.expires_at)

    def to_dict(self) -> dict[str, Any]:
        if self.merge:
            return {**self._stored(), "merge": True}
        return self._stored()

    def _stored(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "lot_id": self.lot_id,
            "amount": self.amount,
            "source": self.source,
            "ref": self.ref,
            "accrued_at": self.accrued_at,
            "activates_at": self.activates_at,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Credit:
        return cls(data["lot_id"], data["amount"], data["source"], data.get("ref", ""), data["accrued_at"], data["activates_at"], data["expires_at"], bool(data.get("merge", False)))


class Debit(Struct, frozen=True):
    """Bonuses out of a lot (spent, expired, clawed back); an emptied lot is pruned."""

    op: ClassVar[str] = "debit"
    lot_id: str
    amount: int

    def apply(self, account: Account) -> None:
        _debit(account.lots, self.lot_id, self.amount)

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "lot_id": self.lot_id, "amount": self.amount}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Debit:
        return cls(data["lot_id"], data["amount"])


class Schedule(Struct, frozen=True):
    """A held lot's activation date (a lot gone already is left alone)."""

    op: ClassVar[str] = "schedule"
    lot_id: str
    activates_at: datetime

    def apply(self, account: Account) -> None:
        lot = account.lots.get(self.lot_id)
        if lot is not None:
            account.lots[self.lot_id] = replace(lot, activates_at=self.activates_at)

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "lot_id": self.lot_id, "activates_at": self.activates_at}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schedule:
        return cls(data["lot_id"], data["activates_at"])


class Hold(Struct, frozen=True):
    """A reservation: its allocations leave their lots until it is spent or released."""

    op: ClassVar[str] = "hold"
    reservation: Reservation

    def apply(self, account: Account) -> None:
        for a in self.reservation.allocations:
            _debit(account.lots, a.lot_id, a.amount)
        account.reservations[self.reservation.id] = self.reservation

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "reservation": self.reservation.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Hold:
        return cls(Reservation.from_dict(data["reservation"]))


class Unhold(Struct, frozen=True):
    """A reservation ends; ``restore`` goes back into the lots it came from (active, as before)."""

    op: ClassVar[str] = "unhold"
    reservation_id: str
    restore: tuple[Allocation, ...]

    def apply(self, account: Account) -> None:
        reservation = account.reservations.pop(self.reservation_id)
        for a in self.restore:
            _credit(account.lots, a.lot_id, a.amount, a.source, reservation.id, a.accrued_at, a.accrued_at, a.expires_at)

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "reservation_id": self.reservation_id, "restore": [a.to_dict() for a in self.restore]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Unhold:
        return cls(data["reservation_id"], tuple(Allocation.from_dict(a) for a in data["restore"]))


class Seize(Struct, frozen=True):
    """Bonuses a clawback takes out of a reservation: its allocations shrink by ``taken``
    (per lot), and a reservation left with nothing ends."""

    op: ClassVar[str] = "seize"
    reservation_id: str
    taken: tuple[Allocation, ...]

    @property
    def amount(self) -> int:
        return sum(a.amount for a in self.taken)

    def apply(self, account: Account) -> None:
        reservation = account.reservations[self.reservation_id]
        owed: dict[str, int] = {}
        for a in self.taken:
            owed[a.lot_id] = owed.get(a.lot_id, 0) + a.amount
        kept = []
        for a in reservation.allocations:
            part = min(a.amount, owed.get(a.lot_id, 0))
            owed[a.lot_id] = owed.get(a.lot_id, 0) - part
            if a.amount - part:
                kept.append(replace(a, amount=a.amount - part))
        if any(owed.values()):
            raise AssertionError(f"seizing more than reservation {self.reservation_id} holds")
        if kept:
            account.reservations[self.reservation_id] = replace(reservation, amount=reservation.amount - self.amount, allocations=tuple(kept))
        else:
            del account.reservations[self.reservation_id]

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "reservation_id": self.reservation_id, "taken": [a.to_dict() for a in self.taken]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Seize:
        return cls(data["reservation_id"], tuple(Allocation.from_dict(a) for a in data["taken"]))


class Debt(Struct, frozen=True):
    """A change of the debt: positive when a clawback found too little, negative when repaid."""

    op: ClassVar[str] = "debt"
    delta: int

    def apply(self, account: Account) -> None:
        account.debt += self.delta

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "delta": self.delta}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Debt:
        return cls(data["delta"])


class Purchase(Struct, frozen=True):
    """Paid kopecks (negative: returned) added to the lifetime total and the day's total."""

    op: ClassVar[str] = "purchase"
    amount: int
    day: str  # ISO date

    def apply(self, account: Account) -> None:
        account.paid_total += self.amount
        account.paid_by_day[self.day] = account.paid_by_day.get(self.day, 0) + self.amount
        if account.paid_by_day[self.day] == 0:
            del account.paid_by_day[self.day]

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "amount": self.amount, "day": self.day}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Purchase:
        return cls(data["amount"], data["day"])


class TrimWindow(Struct, frozen=True):
    """Days that left the rolling purchase window."""

    op: ClassVar[str] = "trim_window"
    days: tuple[str, ...]

    def apply(self, account: Account) -> None:
        for day in self.days:
            account.paid_by_day.pop(day, None)

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "days": list(self.days)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrimWindow:
        return cls(tuple(data["days"]))


class LevelChange(Struct, frozen=True):
    """The earned level changes (a notification trigger)."""

    op: ClassVar[str] = "level"
    previous: str | None
    to: str | None

    def apply(self, account: Account) -> None:
        account.level = self.to

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "from": self.previous, "to": self.to}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LevelChange:
        return cls(data.get("from"), data["to"])


class LevelOverrideChange(Struct, frozen=True):
    """A person pins the level, or lifts the pin (``to=None``)."""

    op: ClassVar[str] = "level_override"
    previous: str | None
    to: str | None

    def apply(self, account: Account) -> None:
        account.level_override = self.to

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "from": self.previous, "to": self.to}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LevelOverrideChange:
        return cls(data.get("from"), data["to"])


class GroupChange(Struct, frozen=True):
    """The customer group changes. The account's opening records only the new group
    (``opening=True``: no ``"from"`` field is stored)."""

    op: ClassVar[str] = "group"
    to: str | None
    previous: str | None = None
    opening: bool = False

    def apply(self, account: Account) -> None:
        account.group = self.to

    def to_dict(self) -> dict[str, Any]:
        if self.opening:
            return {"op": self.op, "to": self.to}
        return {"op": self.op, "from": self.previous, "to": self.to}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupChange:
        return cls(data["to"], data.get("from"), opening="from" not in data)


# Active merged lots a schedule folds into their settled lot at most, so a posting stays small.
SETTLE_AT_ONCE = 20


def settle(account: Account, source: str, now: datetime, *, first: str | None = None) -> list[Credit | Debit]:
    """Fold the merged lots of ``source`` that are active now into the settled lot of their
    expiry day (:func:`~shared.domain.ledger.state.settled_lot_id`): ``first`` (a lot about to
    take an accrual that activates later, which must not make its active bonuses pending again),
    then the others, earliest expiry first, at most :data:`SETTLE_AT_ONCE` in all."""
    active = sorted(
        (lot for lot in account.lots.values() if lot.source == source and lot.id.startswith("M") and lot.state(now) == "active" and lot.id != settled_lot_id(source, lot.expires_at)),
        key=lambda lot: (lot.id != first, *lot.order_key()),
    )
    movements: list[Credit | Debit] = []
    for lot in active[:SETTLE_AT_ONCE]:
        movements += [Debit(lot.id, lot.remaining), Credit(settled_lot_id(source, lot.expires_at), lot.remaining, source, lot.ref, lot.accrued_at, lot.activates_at, lot.expires_at, merge=True)]
    return movements


Movement = Credit | Debit | Schedule | Hold | Unhold | Seize | Debt | Purchase | TrimWindow | LevelChange | LevelOverrideChange | GroupChange

MOVEMENT_TYPES: dict[str, type[Movement]] = {
    t.op: t for t in (Credit, Debit, Schedule, Hold, Unhold, Seize, Debt, Purchase, TrimWindow, LevelChange, LevelOverrideChange, GroupChange)
}


def movement_from_dict(data: Mapping[str, Any]) -> Movement:
    """The movement a stored dict records (its ``"op"`` names the type)."""
    kind = MOVEMENT_TYPES.get(data["op"])
    if kind is None:
        raise AssertionError(f"unknown movement {data['op']}")
    return kind.from_dict(data)
