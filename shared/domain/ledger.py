"""The bonus ledger, as pure functions over one customer's account.

An :class:`Account` holds the customer's open *lots* (one per accrual:
amount, remaining, source, ``activates_at``, ``expires_at``), the open
*reservations* made at checkout, a *debt* (only under the
``allow_negative`` clawback policy) and the purchase statistics that decide
the level.

Every change is a :class:`Posting`: an immutable record of *movements*. The
only way an account changes is :func:`apply_posting`; the account is
therefore, by construction, the fold of its postings, and
:func:`fold` recomputes it from scratch for audits and tests.

Operations (``accrue``, ``reserve``, ``spend``, ``release``, ``refund``,
``reverse``, ``expire``, ``adjust`` …) are pure: given an account, their
parameters and ``now`` they return the posting to apply, or raise a
:class:`~shared.domain.errors.DomainError`. Idempotency (one posting per
key, a replay returns the first outcome) is the service layer's job, with
the key's fingerprint computed here by :func:`fingerprint`.

Balances at an instant (see :meth:`Account.balances`):

* ``pending``   – remaining of lots not yet activated (held, e.g. 14 days after delivery);
* ``available`` – remaining of active, unexpired lots: spendable now;
* ``reserved``  – held by open checkouts;
* ``total``     – pending + available + reserved − debt: what the customer owns.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Iterable

from shared.domain.errors import InsufficientBonuses, InvalidState, ValidationFailed


def require_utc(moment: datetime, name: str = "now") -> datetime:
    if moment.tzinfo is None or moment.utcoffset() != timedelta(0):
        raise ValueError(f"{name} must be a timezone-aware UTC datetime")
    return moment


def digest(text: str, length: int = 32) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return _jsonable(value.to_dict())
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


# The parameters that state an operation's intent. A replay must repeat them;
# values derived from the clock (expiry dates, release times) are left out, so
# a retry at a later instant still replays instead of conflicting.
INTENT: dict[str, tuple[str, ...]] = {
    "accrue": ("amount", "source", "ref", "order_id"),
    "schedule": ("lot_id",),
    "reserve": ("reservation_id", "amount"),
    "release": ("reservation_id",),
    "spend": ("amount", "order_id", "reservation_id"),
    "refund": ("allocations", "order_id"),
    "reverse": ("amount", "own_lot_id", "order_id"),
    "expire": ("lot_id",),
    "adjust": ("amount", "actor", "reason"),
    "purchase": ("amount", "order_id"),
    "level": ("level", "reason"),
    "open": ("group", "level"),
    "note": (),
    "level_override": ("level", "actor", "reason"),
    "group": ("group", "actor", "reason"),
}


def fingerprint(kind: str, params: dict[str, Any]) -> str:
    """A stable hash of an operation's intent (the replay check)."""
    intent = {name: params.get(name) for name in INTENT[kind]}
    if kind == "refund":
        intent["allocations"] = [{"lot_id": a["lot_id"], "amount": a["amount"]} for a in _jsonable(intent["allocations"] or [])]
    return digest(json.dumps({"kind": kind, "intent": _jsonable(intent)}, sort_keys=True), 40)


def posting_id(key: str) -> str:
    """The document id of the posting for an idempotency key: scattered, never sequential."""
    return digest(key, 40)


def lot_id_for(key: str) -> str:
    return "L" + digest(key, 24)


# --- state --------------------------------------------------------------------------


@dataclass
class Lot:
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
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Lot:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})


@dataclass
class Allocation:
    """A part of a lot taken by a reservation or a spend: enough to give it back."""

    lot_id: str
    amount: int
    expires_at: datetime
    source: str
    accrued_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Allocation:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


@dataclass
class Reservation:
    id: str
    amount: int
    allocations: list[Allocation]
    created_at: datetime
    release_after: datetime

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "allocations": [a.to_dict() for a in self.allocations]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reservation:
        return cls(
            id=data["id"],
            amount=data["amount"],
            allocations=[Allocation.from_dict(a) for a in data["allocations"]],
            created_at=data["created_at"],
            release_after=data["release_after"],
        )


@dataclass(frozen=True)
class Balances:
    total: int
    available: int
    pending: int
    reserved: int
    expired_unswept: int = 0
    debt: int = 0


@dataclass
class Account:
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
        """A copy that can be changed without touching this account: its lots, reservations,
        allocations and day totals are copied; what they hold (ints, strings, datetimes)
        never changes in place."""
        return Account(
            customer_id=self.customer_id,
            lots={k: copy.copy(lot) for k, lot in self.lots.items()},
            reservations={k: Reservation(r.id, r.amount, [copy.copy(a) for a in r.allocations], r.created_at, r.release_after) for k, r in self.reservations.items()},
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


# --- postings ----------------------------------------------------------------------


@dataclass
class Posting:
    """One immutable ledger entry: what happened, why, and its movements."""

    key: str
    kind: str
    at: datetime
    fingerprint: str
    movements: list[dict[str, Any]]
    outcome: dict[str, Any]
    customer_id: str = ""
    seq: int = 0
    order_id: str | None = None
    actor: str | None = None
    reason: str | None = None

    @property
    def id(self) -> str:
        return posting_id(self.key)

    @property
    def delta(self) -> int:
        """Net change of the customer's bonuses (total) by this posting."""
        change = 0
        for m in self.movements:
            if m["op"] == "credit":
                change += m["amount"]
            elif m["op"] == "debit":
                change -= m["amount"]
            elif m["op"] == "debt":
                change -= m["delta"]
        return change

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Posting:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})


def _credit(lots: dict[str, Lot], m: dict[str, Any]) -> None:
    lot = lots.get(m["lot_id"])
    if lot is None:
        lots[m["lot_id"]] = Lot(
            id=m["lot_id"],
            amount=m["amount"],
            remaining=m["amount"],
            source=m["source"],
            ref=m.get("ref", ""),
            accrued_at=m["accrued_at"],
            activates_at=m["activates_at"],
            expires_at=m["expires_at"],
        )
    else:
        lot.remaining += m["amount"]
        lot.amount = max(lot.amount, lot.remaining)


def _debit(lots: dict[str, Lot], lot_id: str, amount: int) -> None:
    lot = lots[lot_id]
    if amount > lot.remaining:
        raise AssertionError(f"debit of {amount} exceeds lot {lot_id} remaining {lot.remaining}")
    lot.remaining -= amount
    if lot.remaining == 0:
        del lots[lot_id]


def apply_posting(account: Account, posting: Posting) -> Account:
    """Return the account after ``posting``: the single way an account changes."""
    new = account.copy()
    for m in posting.movements:
        op = m["op"]
        if op == "credit":
            _credit(new.lots, m)
        elif op == "debit":
            _debit(new.lots, m["lot_id"], m["amount"])
        elif op == "schedule":
            if m["lot_id"] in new.lots:
                new.lots[m["lot_id"]].activates_at = m["activates_at"]
        elif op == "hold":
            reservation = Reservation.from_dict(m["reservation"])
            for a in reservation.allocations:
                _debit(new.lots, a.lot_id, a.amount)
            new.reservations[reservation.id] = reservation
        elif op == "unhold":
            reservation = new.reservations.pop(m["reservation_id"])
            for a in m["restore"]:
                _credit(new.lots, {**a, "activates_at": a["accrued_at"], "ref": reservation.id})
        elif op == "debt":
            new.debt += m["delta"]
        elif op == "purchase":
            new.paid_total += m["amount"]
            new.paid_by_day[m["day"]] = new.paid_by_day.get(m["day"], 0) + m["amount"]
            if new.paid_by_day[m["day"]] == 0:
                del new.paid_by_day[m["day"]]
        elif op == "trim_window":
            for day in m["days"]:
                new.paid_by_day.pop(day, None)
        elif op == "level":
            new.level = m["to"]
        elif op == "level_override":
            new.level_override = m["to"]
        elif op == "group":
            new.group = m["to"]
        else:
            raise AssertionError(f"unknown movement {op}")
    new.seq = max(account.seq, posting.seq)
    check_invariants(new)
    return new


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


def fold(customer_id: str, postings: Iterable[Posting]) -> Account:
    """Recompute an account from its postings, in sequence order."""
    account = Account(customer_id=customer_id)
    for posting in sorted(postings, key=lambda p: p.seq):
        account = apply_posting(account, posting)
    return account


# --- operations ----------------------------------------------------------------------


def _posting(kind: str, key: str, now: datetime, params: dict[str, Any], movements: list[dict[str, Any]], outcome: dict[str, Any], **extra: Any) -> Posting:
    return Posting(key=key, kind=kind, at=now, fingerprint=fingerprint(kind, params), movements=movements, outcome=outcome, **extra)


def _positive(amount: int, name: str = "amount") -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationFailed(f"{name} must be a positive whole number of bonuses", field=name, value=amount)


def _take(lots: Iterable[Lot], amount: int) -> list[Allocation]:
    """Allocate ``amount`` over ``lots`` in the given order (never more than each holds)."""
    allocations, left = [], amount
    for lot in lots:
        if left == 0:
            break
        part = min(lot.remaining, left)
        if part:
            allocations.append(Allocation(lot.id, part, lot.expires_at, lot.source, lot.accrued_at))
            left -= part
    return allocations


def _repay(debt: int, credits: list[tuple[str, int, datetime]], now: datetime) -> tuple[list[dict[str, Any]], int]:
    """Movements that repay an outstanding debt from just-credited, unexpired lots."""
    movements: list[dict[str, Any]] = []
    left = debt
    for lot_id, amount, expires_at in credits:
        part = min(left, amount) if expires_at > now else 0
        if part:
            movements.append({"op": "debit", "lot_id": lot_id, "amount": part})
            left -= part
    repaid = debt - left
    if repaid:
        movements.append({"op": "debt", "delta": -repaid})
    return movements, repaid


def accrue(
    account: Account,
    *,
    key: str,
    amount: int,
    source: str,
    ref: str,
    now: datetime,
    activates_at: datetime | None,
    expires_at: datetime,
    order_id: str | None = None,
) -> Posting:
    """Credit a new lot. ``activates_at=None`` holds it until :func:`schedule_activation`.

    An outstanding debt (``allow_negative`` clawback) is repaid from the new lot first.
    """
    require_utc(now)
    _positive(amount)
    if expires_at <= now:
        raise ValidationFailed("expires_at must be after now", field="expires_at")
    params = {"amount": amount, "source": source, "ref": ref, "activates_at": activates_at, "expires_at": expires_at, "order_id": order_id}
    lot_id = lot_id_for(key)
    movements: list[dict[str, Any]] = [
        {"op": "credit", "lot_id": lot_id, "amount": amount, "source": source, "ref": ref, "accrued_at": now, "activates_at": activates_at, "expires_at": expires_at}
    ]
    repayment, repaid = _repay(account.debt, [(lot_id, amount, expires_at)], now)
    movements += repayment
    return _posting("accrue", key, now, params, movements, {"lot_id": lot_id, "accrued": amount, "debt_repaid": repaid}, order_id=order_id)


def schedule_activation(account: Account, *, key: str, lot_id: str, activates_at: datetime, now: datetime) -> Posting:
    """Set when a held lot becomes spendable (e.g. delivery + hold days)."""
    require_utc(activates_at, "activates_at")
    params = {"lot_id": lot_id, "activates_at": activates_at}
    present = lot_id in account.lots
    movements = [{"op": "schedule", "lot_id": lot_id, "activates_at": activates_at}] if present else []
    return _posting("schedule", key, now, params, movements, {"lot_id": lot_id, "scheduled": present, "activates_at": activates_at})


def reserve(account: Account, *, key: str, reservation_id: str, amount: int, now: datetime, release_after: datetime) -> Posting:
    """Hold available bonuses for an order being checked out, earliest expiry first."""
    require_utc(now)
    _positive(amount)
    if reservation_id in account.reservations:
        raise InvalidState("the order already holds a reservation", message_ru="Бонусы для этого заказа уже зарезервированы.", reservation_id=reservation_id)
    available = account.balances(now).available
    if amount > available:
        raise InsufficientBonuses(
            f"requested {amount} bonuses, {available} available",
            message_ru=f"Недостаточно бонусов: доступно {available}.",
            requested=amount,
            available=available,
        )
    allocations = _take(account.active_lots(now), amount)
    reservation = Reservation(reservation_id, amount, allocations, now, release_after)
    params = {"reservation_id": reservation_id, "amount": amount, "release_after": release_after}
    return _posting("reserve", key, now, params, [{"op": "hold", "reservation": reservation.to_dict()}], {"reserved": amount, "reservation_id": reservation_id}, order_id=reservation_id)


def release(account: Account, *, key: str, reservation_id: str, now: datetime) -> Posting:
    """Give a reservation's bonuses back to their lots. Releasing nothing is not an error."""
    reservation = account.reservations.get(reservation_id)
    movements: list[dict[str, Any]] = []
    if reservation is not None:
        movements = [{"op": "unhold", "reservation_id": reservation_id, "restore": [a.to_dict() for a in reservation.allocations]}]
        movements += _repay(account.debt, [(a.lot_id, a.amount, a.expires_at) for a in reservation.allocations], now)[0]
    released = reservation.amount if reservation else 0
    return _posting("release", key, now, {"reservation_id": reservation_id}, movements, {"released": released}, order_id=reservation_id)


def spend(account: Account, *, key: str, amount: int, now: datetime, order_id: str | None = None, reservation_id: str | None = None) -> Posting:
    """Spend bonuses: from the order's reservation when it has one, else from active lots.

    A reservation larger than the spend gives the rest back; a spend larger
    than the reservation is refused. Outcome ``allocations`` say which lots paid.
    """
    require_utc(now)
    _positive(amount)
    params = {"amount": amount, "order_id": order_id, "reservation_id": reservation_id}
    reservation = account.reservations.get(reservation_id) if reservation_id else None
    movements: list[dict[str, Any]]
    if reservation is not None:
        if amount > reservation.amount:
            raise InvalidState(
                f"spend of {amount} exceeds the reservation of {reservation.amount}",
                message_ru="Сумма списания больше зарезервированной.",
                reserved=reservation.amount,
                requested=amount,
            )
        allocations = _take(
            [Lot(a.lot_id, a.amount, a.amount, a.source, "", a.accrued_at, a.accrued_at, a.expires_at) for a in reservation.allocations], amount
        )
        taken = {a.lot_id: a.amount for a in allocations}
        restore = []
        for a in reservation.allocations:
            rest = a.amount - taken.get(a.lot_id, 0)
            if rest:
                restore.append({**a.to_dict(), "amount": rest})
        movements = [{"op": "unhold", "reservation_id": reservation.id, "restore": restore}]
        movements += _repay(account.debt, [(a["lot_id"], a["amount"], a["expires_at"]) for a in restore], now)[0]
    else:
        available = account.balances(now).available
        if amount > available:
            raise InsufficientBonuses(
                f"requested {amount} bonuses, {available} available",
                message_ru=f"Недостаточно бонусов: доступно {available}.",
                requested=amount,
                available=available,
            )
        allocations = _take(account.active_lots(now), amount)
        movements = [{"op": "debit", "lot_id": a.lot_id, "amount": a.amount} for a in allocations]
    outcome = {"spent": amount, "allocations": [a.to_dict() for a in allocations]}
    return _posting("spend", key, now, params, movements, outcome, order_id=order_id)


def refund(account: Account, *, key: str, allocations: list[Allocation], now: datetime, order_id: str | None = None) -> Posting:
    """Give spent bonuses back into the lots they came from, keeping their expiry."""
    require_utc(now)
    if not allocations:
        raise ValidationFailed("nothing to refund", field="allocations")
    for a in allocations:
        _positive(a.amount, "allocations.amount")
    movements = [
        {"op": "credit", "lot_id": a.lot_id, "amount": a.amount, "source": a.source, "ref": order_id or "", "accrued_at": a.accrued_at, "activates_at": a.accrued_at, "expires_at": a.expires_at}
        for a in allocations
    ]
    repayment, repaid = _repay(account.debt, [(a.lot_id, a.amount, a.expires_at) for a in allocations], now)
    movements += repayment
    params = {"allocations": [a.to_dict() for a in allocations], "order_id": order_id}
    refunded = sum(a.amount for a in allocations)
    return _posting("refund", key, now, params, movements, {"refunded": refunded, "debt_repaid": repaid}, order_id=order_id)


def reverse(account: Account, *, key: str, amount: int, now: datetime, own_lot_id: str | None, negative_balance: str, order_id: str | None = None) -> Posting:
    """Take back an accrual (clawback), by the config's policy.

    Order: the accrual's own lot, other pending lots, then available lots
    (earliest expiry first); reserved bonuses are never touched. What cannot
    be taken becomes a debt (``allow_negative``) or is forgiven (``floor``).
    """
    require_utc(now)
    _positive(amount)
    # expired remainders are worth nothing to the customer: they never pay a clawback
    own = [account.lots[own_lot_id]] if own_lot_id in account.lots and account.lots[own_lot_id].state(now) != "expired" else []
    others = [lot for lot in account.lots.values() if lot.id != own_lot_id]
    pending = sorted((lot for lot in others if lot.state(now) == "pending"), key=Lot.order_key)
    active = sorted((lot for lot in others if lot.state(now) == "active"), key=Lot.order_key)
    allocations = _take(own + pending + active, amount)
    taken = sum(a.amount for a in allocations)
    missing = amount - taken
    movements: list[dict[str, Any]] = [{"op": "debit", "lot_id": a.lot_id, "amount": a.amount} for a in allocations]
    debt = missing if negative_balance == "allow_negative" else 0
    if debt:
        movements.append({"op": "debt", "delta": debt})
    params = {"amount": amount, "own_lot_id": own_lot_id, "negative_balance": negative_balance, "order_id": order_id}
    outcome = {"reversed": taken, "debt": debt, "forgiven": missing - debt}
    return _posting("reverse", key, now, params, movements, outcome, order_id=order_id)


def expire(account: Account, *, key: str, lot_id: str, now: datetime) -> Posting:
    """Write off the remainder of an expired lot (nothing if it is gone already)."""
    require_utc(now)
    lot = account.lots.get(lot_id)
    if lot is not None and lot.expires_at > now:
        raise InvalidState("the lot has not expired yet", lot_id=lot_id, expires_at=lot.expires_at.isoformat())
    written_off = lot.remaining if lot is not None else 0
    movements = [{"op": "debit", "lot_id": lot_id, "amount": written_off}] if written_off else []
    return _posting("expire", key, now, {"lot_id": lot_id}, movements, {"expired": written_off, "lot_id": lot_id})


def adjust(account: Account, *, key: str, amount: int, actor: str, reason: str, now: datetime, expires_at: datetime) -> Posting:
    """A manual correction by a person: credit a new active lot, or debit available bonuses."""
    require_utc(now)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
        raise ValidationFailed("amount must be a non-zero whole number of bonuses", field="amount", value=amount)
    if not actor or not reason.strip():
        raise ValidationFailed("an adjustment needs an actor and a reason", field="reason", message_ru="Укажите причину корректировки.")
    params = {"amount": amount, "actor": actor, "reason": reason, "expires_at": expires_at}
    if amount > 0:
        posting = accrue(account, key=key, amount=amount, source="adjustment", ref=reason, now=now, activates_at=now, expires_at=expires_at)
        movements = posting.movements
    else:
        available = account.balances(now).available
        if -amount > available:
            raise InsufficientBonuses(f"cannot take {-amount} bonuses, {available} available", requested=-amount, available=available)
        movements = [{"op": "debit", "lot_id": a.lot_id, "amount": a.amount} for a in _take(account.active_lots(now), -amount)]
    return _posting("adjust", key, now, params, movements, {"adjusted": amount}, actor=actor, reason=reason)


def record_purchase(account: Account, *, key: str, amount: int, now: datetime, level: str | None, order_id: str) -> Posting:
    """Add a paid purchase (or, negative, a returned part) to the level statistics.

    ``level`` is the level the account should hold afterwards (decided by
    the level rules); a change is recorded as a movement, a notification trigger.
    """
    require_utc(now)
    if not isinstance(amount, int) or amount == 0:
        raise ValidationFailed("amount must be a non-zero number of kopecks", field="amount")
    if account.paid_total + amount < 0:
        raise InvalidState("a return cannot exceed the purchases recorded", field="amount")
    day = now.date().isoformat()
    movements: list[dict[str, Any]] = [{"op": "purchase", "amount": amount, "day": day}]
    if level is not None and level != account.level:
        movements.append({"op": "level", "from": account.level, "to": level})
    params = {"amount": amount, "order_id": order_id, "level": level}
    return _posting("purchase", key, now, params, movements, {"paid_total": account.paid_total + amount, "level": level or account.level}, order_id=order_id)


def set_level(account: Account, *, key: str, level: str, now: datetime, reason: str, trim_before: date | None = None) -> Posting:
    """Record a level change decided by the sweep (rolling-window downgrade) or similar."""
    movements: list[dict[str, Any]] = []
    if trim_before is not None:
        old = sorted(day for day in account.paid_by_day if day < trim_before.isoformat())
        if old:
            movements.append({"op": "trim_window", "days": old})
    if level != account.level:
        movements.append({"op": "level", "from": account.level, "to": level})
    return _posting("level", key, now, {"level": level, "reason": reason, "trim_before": trim_before}, movements, {"level": level, "from": account.level}, reason=reason)


def open_account(account: Account, *, key: str, group: str, level: str, now: datetime) -> Posting:
    """The first posting of an account: its customer group and starting level."""
    if account.seq:
        raise InvalidState("the account is open already", customer_id=account.customer_id)
    movements = [{"op": "group", "to": group}, {"op": "level", "from": None, "to": level}]
    return _posting("open", key, now, {"group": group, "level": level}, movements, {"group": group, "level": level})


def note(account: Account, *, key: str, data: dict[str, Any], now: datetime) -> Posting:
    """A posting that changes nothing: the idempotency record of a composite use case, keeping its result."""
    return _posting("note", key, now, {}, [], dict(data))


def override_level(account: Account, *, key: str, level: str | None, actor: str, reason: str, now: datetime) -> Posting:
    """A person pins the customer's level (``None`` lifts the pin; the earned level applies again).

    The override wins over the earned level (:func:`shared.domain.levels.effective_level`);
    the earned level and the purchase statistics are left as they are.
    """
    require_utc(now)
    if not actor or not reason.strip():
        raise ValidationFailed("a level override needs an actor and a reason", field="reason", message_ru="Укажите причину изменения уровня.")
    movements = [{"op": "level_override", "from": account.level_override, "to": level}] if level != account.level_override else []
    params = {"level": level, "actor": actor, "reason": reason}
    return _posting("level_override", key, now, params, movements, {"level_override": level, "from": account.level_override}, actor=actor, reason=reason)


def change_group(account: Account, *, key: str, group: str, actor: str, reason: str, now: datetime) -> Posting:
    """A person moves the customer to another customer group (e.g. B2C to B2B)."""
    require_utc(now)
    if not group:
        raise ValidationFailed("a group is required", field="group")
    if not actor or not reason.strip():
        raise ValidationFailed("a group change needs an actor and a reason", field="reason", message_ru="Укажите причину смены группы.")
    movements = [{"op": "group", "from": account.group, "to": group}] if group != account.group else []
    params = {"group": group, "actor": actor, "reason": reason}
    return _posting("group", key, now, params, movements, {"group": group, "from": account.group}, actor=actor, reason=reason)


OPERATIONS: dict[str, Any] = {
    "note": note,
    "open": open_account,
    "accrue": accrue,
    "schedule": schedule_activation,
    "reserve": reserve,
    "release": release,
    "spend": spend,
    "refund": refund,
    "reverse": reverse,
    "expire": expire,
    "adjust": adjust,
    "purchase": record_purchase,
    "level": set_level,
    "level_override": override_level,
    "group": change_group,
}
