"""The state of one customer's bonus account: lots, reservations, debt and level statistics.

Lots, allocations and reservations are frozen values; an :class:`Account`
changes only on a fresh copy, by :func:`~shared.domain.ledger.postings.apply_posting`.

An :class:`Account` holds the customer's open *lots* (amount, remaining, source,
``activates_at``, ``expires_at``; accruals of one source that activate on one day and
expire on one day share a merged lot, see :func:`merged_lot_id`), the open
*reservations* made at checkout, a *debt* (only under the
``allow_negative`` clawback policy) and the purchase statistics that decide
the level.

Balances at an instant (see :meth:`Account.balances`):

* ``pending``   – remaining of lots not yet activated (held, e.g. 14 days after delivery);
* ``available`` – remaining of active, unexpired lots: spendable now;
* ``reserved``  – held by open checkouts;
* ``total``     – pending + available + reserved − debt: what the customer owns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from msgspec import Struct, field
from msgspec.structs import force_setattr

from shared.domain.clock import MSK


def require_utc(moment: datetime, name: str = "now") -> datetime:
    if moment.tzinfo is None or moment.utcoffset() != timedelta(0):
        raise ValueError(f"{name} must be a timezone-aware UTC datetime")
    return moment


def digest(text: str, length: int = 32) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def lot_id_for(key: str) -> str:
    return "L" + digest(key, 24)


def merged_lot_id(source: str, activates_at: datetime, expires_at: datetime) -> str:
    """The one open lot of a source whose accruals activate on one Moscow day and expire on
    another: accruals that share it add up in it, so an account holds at most one such lot per
    source, activation day and expiry day however many accruals it receives."""
    return "M" + digest(f"{source}:{activates_at.astimezone(MSK).date().isoformat()}:{expires_at.astimezone(MSK).date().isoformat()}", 24)


def settled_lot_id(source: str, expires_at: datetime) -> str:
    """The one open lot of a source's merged bonuses that are active already and expire on one
    Moscow day: once activated, merged lots of one expiry day differ in nothing that matters, so
    they fold into this one (see :class:`~shared.domain.ledger.commands.ScheduleActivation`)."""
    return "M" + digest(f"{source}:active:{expires_at.astimezone(MSK).date().isoformat()}", 24)


class Lot(Struct, frozen=True):
    id: str
    amount: int
    remaining: int
    source: str
    ref: str
    accrued_at: datetime
    activates_at: datetime | None  # None: held until an activation is scheduled (e.g. on delivery)
    expires_at: datetime

    def state(self, now: datetime) -> str:
        """Expiry wins: a lot past ``expires_at`` is expired even if it was never activated."""
        if self.expires_at <= now:
            return "expired"
        if self.activates_at is None or self.activates_at > now:
            return "pending"
        return "active"

    def order_key(self) -> tuple[datetime, datetime, str]:
        """Consumption order: earliest expiry first, then oldest, then id."""
        return (self.expires_at, self.accrued_at, self.id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "amount": self.amount,
            "remaining": self.remaining,
            "source": self.source,
            "ref": self.ref,
            "accrued_at": self.accrued_at,
            "activates_at": self.activates_at,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Lot:
        return cls(
            id=data["id"],
            amount=data["amount"],
            remaining=data["remaining"],
            source=data["source"],
            ref=data["ref"],
            accrued_at=data["accrued_at"],
            activates_at=data.get("activates_at"),
            expires_at=data["expires_at"],
        )


class Allocation(Struct, frozen=True):
    """A part of a lot taken by a reservation or a spend: enough to give it back."""

    lot_id: str
    amount: int
    expires_at: datetime
    source: str
    accrued_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"lot_id": self.lot_id, "amount": self.amount, "expires_at": self.expires_at, "source": self.source, "accrued_at": self.accrued_at}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Allocation:
        return cls(**{k: data[k] for k in cls.__struct_fields__})


class Reservation(Struct, frozen=True):
    id: str
    amount: int
    allocations: Sequence[Allocation]  # kept as a tuple
    created_at: datetime
    release_after: datetime

    def __post_init__(self) -> None:
        force_setattr(self, "allocations", tuple(self.allocations))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "amount": self.amount, "allocations": [a.to_dict() for a in self.allocations], "created_at": self.created_at, "release_after": self.release_after}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reservation:
        return cls(
            id=data["id"],
            amount=data["amount"],
            allocations=tuple(Allocation.from_dict(a) for a in data["allocations"]),
            created_at=data["created_at"],
            release_after=data["release_after"],
        )


class Balances(Struct, frozen=True):
    total: int
    available: int
    pending: int
    reserved: int
    expired_unswept: int = 0
    debt: int = 0


class Account(Struct):
    customer_id: str
    lots: dict[str, Lot] = field(default_factory=dict)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    debt: int = 0
    seq: int = 0
    group: str | None = None
    level: str | None = None
    level_override: str | None = None
    paid_total: int = 0  # lifetime paid purchases, kopecks
    paid_by_day: dict[str, int] = field(default_factory=dict)  # ISO date -> kopecks (rolling window)

    def balances(self, now: datetime) -> Balances:
        pending = available = expired = 0
        for lot in self.lots.values():
            state = lot.state(now)
            if state == "pending":
                pending += lot.remaining
            elif state == "active":
                available += lot.remaining
            else:
                expired += lot.remaining
        reserved = sum(r.amount for r in self.reservations.values())
        return Balances(
            total=pending + available + reserved - self.debt,
            available=available,
            pending=pending,
            reserved=reserved,
            expired_unswept=expired,
            debt=self.debt,
        )

    def active_lots(self, now: datetime) -> list[Lot]:
        return sorted((lot for lot in self.lots.values() if lot.state(now) == "active" and lot.remaining > 0), key=Lot.order_key)

    @property
    def next_expiry_at(self) -> datetime | None:
        """When the sweep next has work here: the earliest expiry of a lot or a reservation's end."""
        moments = [lot.expires_at for lot in self.lots.values() if lot.remaining > 0]
        moments += [r.release_after for r in self.reservations.values()]
        return min(moments) if moments else None

    def copy(self) -> Account:
        """A copy that can be changed without touching this account: its lot, reservation and
        day-total maps are copied; what they hold (frozen lots and reservations, ints) never
        changes in place."""
        return Account(
            customer_id=self.customer_id,
            lots=dict(self.lots),
            reservations=dict(self.reservations),
            debt=self.debt,
            seq=self.seq,
            group=self.group,
            level=self.level,
            level_override=self.level_override,
            paid_total=self.paid_total,
            paid_by_day=dict(self.paid_by_day),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "lots": {k: v.to_dict() for k, v in self.lots.items()},
            "reservations": {k: v.to_dict() for k, v in self.reservations.items()},
            "debt": self.debt,
            "seq": self.seq,
            "group": self.group,
            "level": self.level,
            "level_override": self.level_override,
            "paid_total": self.paid_total,
            "paid_by_day": dict(self.paid_by_day),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Account:
        return cls(
            customer_id=data["customer_id"],
            lots={k: Lot.from_dict(v) for k, v in (data.get("lots") or {}).items()},
            reservations={k: Reservation.from_dict(v) for k, v in (data.get("reservations") or {}).items()},
            debt=data.get("debt", 0),
            seq=data.get("seq", 0),
            group=data.get("group"),
            level=data.get("level"),
            level_override=data.get("level_override"),
            paid_total=data.get("paid_total", 0),
            paid_by_day=dict(data.get("paid_by_day") or {}),
        )


def check_invariants(account: Account) -> None:
    """Raise if the account breaks a ledger invariant (never write such a state)."""
    for lot in account.lots.values():
        if not 0 < lot.remaining <= lot.amount:
            raise AssertionError(f"lot {lot.id} out of bounds: {lot.remaining}/{lot.amount}")
    for r in account.reservations.values():
        if r.amount != sum(a.amount for a in r.allocations) or r.amount <= 0:
            raise AssertionError(f"reservation {r.id} does not match its allocations")
    if account.debt < 0:
        raise AssertionError("debt below zero")
