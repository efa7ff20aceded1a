"""Outcomes: what each ledger command answers, typed.

The posting document stores an outcome as a plain dict (:meth:`to_stored`,
field names as the stored documents have always had them); a replay of the
same key parses it back (:meth:`from_stored`) with ``replayed=True``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from msgspec import Struct, field

from shared.domain.ledger.state import Allocation


class Accrued(Struct, frozen=True):
    lot_id: str
    accrued: int
    debt_repaid: int
    replayed: bool = False

    def to_stored(self) -> dict[str, Any]:
        return {"lot_id": self.lot_id, "accrued": self.accrued, "debt_repaid": self.debt_repaid}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], *, replayed: bool) -> Accrued:
        return cls(data["lot_id"], data["accrued"], data["debt_repaid"], replayed)


class Scheduled(Struct, frozen=True):
    lot_id: str
    scheduled: bool  # False: the lot was gone already
    activates_at: datetime
    replayed: bool = False
    moved_to: str | None = None  # the merged lot the held lot's remainder moved into
    moved: int = 0  # the bonuses that moved

    @property
    def lot_now(self) -> str:
        """The lot the accrual's bonuses are in after the posting."""
        return self.moved_to or self.lot_id

    def to_stored(self) -> dict[str, Any]:
        stored: dict[str, Any] = {"lot_id": self.lot_id, "scheduled": self.scheduled, "activates_at": self.activates_at}
        if self.moved_to is not None:  # a schedule that moved nothing keeps the stored shape it always had
            stored |= {"moved_to": self.moved_to, "moved": self.moved}
        return stored

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], *, replayed: bool) -> Scheduled:
        return cls(data["lot_id"], data["scheduled"], data["activates_at"], replayed, data.get("moved_to"), int(data.get("moved") or 0))


class Reserved(Struct, frozen=True):
    reserved: int
    reservation_id: str
    replayed: bool = False

    def to_stored(self) -> dict[str, Any]:
        return {"reserved": self.reserved, "reservation_id": self.reservation_id}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], *, replayed: bool) -> Reserved:
        return cls(data["reserved"], data["reservation_id"], replayed)


class Released(Struct, frozen=True):
    released: int  # 0: there was no reservation to release
    replayed: bool = False

    def to_stored(self) -> dict[str, Any]:
        return {"released": self.released}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], *, replayed: bool) -> Released:
        return cls(data["released"], replayed)


class Spent(Struct, frozen=True):
    spent: int
    allocations: tuple[Allocation, ...]  # which lots paid, earliest expiry first
    replayed: bool = False

    def to_stored(self) -> dict[str, Any]:
        return {"spent": self.spent, "allocations": [a.to_dict() for a in self.allocations]}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], *, replayed: bool) -> Spent:
        return cls(data["spent"], tuple(Allocation.from_dict(a) for a in data["allocations"]), replayed)


class Refunded(Struct, frozen=True):
    refunded: int
    debt_repaid: int
    replayed: bool = False

    def to_stored(self) -> dict[str, Any]:
        return {"refunded": self.refunded, "debt_repaid": self.debt_repaid}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], *, replayed: bool) -> Refunded:
        return cls(data["refunded"], data["debt_repaid"], replayed)


class Reversed(Struct, frozen=True):
    reversed: int  # taken: from lots and from reservations
    debt: int  # left as a debt (``allow_negative``)
    forgiven: int  # neither taken nor owed (``floor``)
    replayed: bool = False
    from_holds: Mapping[str, int] = field(default_factory=dict)  # reservation id -> bonuses taken out of it

    def to_stored(self) -> dict[str, Any]:
        stored: dict[str, Any] = {"reversed": self.reversed, "debt": self.debt, "forgiven": self.forgiven}
        if self.from_holds:  # a clawback that reached no reservation is stored as it always was
            stored["from_holds"] = dict(self.from_holds)
        return stored

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], *, replayed: bool) -> Reversed:
        return cls(data["reversed"], data["debt"], data["forgiven"], replayed, dict(data.get("from_holds") or {}))


class Expired(Struct, frozen=True):
    expired: int
    lot_id: str
    replayed: bool = False

    def to_stored(self) -> dict[str, Any]:
        return {"expired": self.expired, "lot_id": self.lot_id}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], *, replayed: bool) -> Expired:
        return cls(data["expired"], data["lot_id"], replayed)


class Adjusted(Struct, frozen=True):
    adjusted: int
    replayed: bool = False

    def to_stored(self) -> dict[str, Any]:
        return {"adjusted": self.adjusted}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], *, replayed: bool) -> Adjusted:
        return cls(data["adjusted"], replayed)


class PurchaseRecorded(Struct, frozen=True):
    paid_total: int
    level: str | None
    replayed: bool = False

    def to_stored(self) -> dict[str, Any]:
        return {"paid_total": self.paid_total, "level": self.level}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], *, replayed: bool) -> PurchaseRecorded:
        return cls(data["paid_total"], data["level"], replayed)


class LevelSet(Struct, frozen=True):
    level: str
    previous: str | None
    replayed: bool = False

    def to_stored(self) -> dict[str, Any]:
        return {"level": self.level, "from": self.previous}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], *, replayed: bool) -> LevelSet:
        return cls(data["level"], data["from"], replayed)


class Opened(Struct, frozen=True):
    group: str
    level: str
    replayed: bool = False

    def to_stored(self) -> dict[str, Any]:
        return {"group": self.group, "level": self.level}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], *, replayed: bool) -> Opened:
        return cls(data["group"], data["level"], replayed)


class Noted(Struct, frozen=True):
    """A composite use case's result, kept as it was first answered."""

    data: Mapping[str, Any] = field(default_factory=dict)
    replayed: bool = False

    def to_stored(self) -> dict[str, Any]:
        return dict(self.data)

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], *, replayed: bool) -> Noted:
        return cls(dict(data), replayed)


class LevelOverridden(Struct, frozen=True):
    level_override: str | None
    previous: str | None
    replayed: bool = False

    def to_stored(self) -> dict[str, Any]:
        return {"level_override": self.level_override, "from": self.previous}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], *, replayed: bool) -> LevelOverridden:
        return cls(data["level_override"], data["from"], replayed)


class GroupChanged(Struct, frozen=True):
    group: str
    previous: str | None
    replayed: bool = False

    def to_stored(self) -> dict[str, Any]:
        return {"group": self.group, "from": self.previous}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], *, replayed: bool) -> GroupChanged:
        return cls(data["group"], data["from"], replayed)
