"""Ledger commands: one frozen type per operation on the bonuses, carrying its intent.

A command is pure: given an account, the idempotency key and ``now``,
:meth:`Command.posting` returns the complete posting to apply (movements,
stored outcome, the account's next ``seq``), or raises a
:class:`~shared.domain.errors.DomainError`. Idempotency (one posting per key,
a replay answers the first outcome) is the service layer's job; the command
gives it :meth:`Command.fingerprint`, a hash of its *intent* fields only:
values derived from the clock (expiry dates, release times) are left out, so a
retry at a later instant replays instead of conflicting.

The operations on the level statistics and the customer's group live in
:mod:`shared.domain.ledger.account_commands`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar, cast

from msgspec import Struct
from msgspec.structs import force_setattr, replace

from shared.domain.errors import InsufficientBonuses, InvalidState, ValidationFailed
from shared.domain.ledger.movements import (
    Credit,
    Debit,
    Debt,
    Hold,
    Movement,
    Schedule,
    Seize,
    Unhold,
    settle,
)
from shared.domain.ledger.outcomes import (
    Accrued,
    Adjusted,
    Expired,
    Refunded,
    Released,
    Reserved,
    Reversed,
    Scheduled,
    Spent,
)
from shared.domain.ledger.postings import Posting, fingerprint
from shared.domain.ledger.state import (
    Account,
    Allocation,
    Lot,
    Reservation,
    lot_id_for,
    merged_lot_id,
    require_utc,
    settled_lot_id,
)

O_co = TypeVar("O_co", covariant=True)

# What a clawback does with the bonuses it cannot take (the program's clawback policy).
NegativeBalance = Literal["floor", "allow_negative"]


class StoredOutcome(Protocol):
    def to_stored(self) -> dict[str, Any]: ...


class OutcomeType(Protocol):
    def from_stored(self, data: Mapping[str, Any], *, replayed: bool) -> StoredOutcome: ...


class Command(Generic[O_co]):
    """An operation's intent. ``kind`` is the posting's stored kind; ``INTENT`` names
    the fields its fingerprint covers."""

    __slots__ = ()
    kind: ClassVar[str]
    INTENT: ClassVar[tuple[str, ...]]
    outcome_type: ClassVar[OutcomeType]

    def intent(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.INTENT}

    def fingerprint(self) -> str:
        return fingerprint(self.kind, self.intent())

    def outcome(self, stored: Mapping[str, Any], *, replayed: bool) -> O_co:
        """The typed outcome of a posting's stored ``outcome``."""
        return cast(O_co, self.outcome_type.from_stored(stored, replayed=replayed))

    def posting(self, account: Account, *, key: str, now: datetime) -> Posting:
        raise NotImplementedError

    def _posting(self, account: Account, key: str, now: datetime, movements: Iterable[Movement], outcome: StoredOutcome, **extra: Any) -> Posting:
        return Posting(
            key=key,
            kind=self.kind,
            at=now,
            fingerprint=self.fingerprint(),
            movements=tuple(movements),
            outcome=outcome.to_stored(),
            customer_id=account.customer_id,
            seq=account.seq + 1,
            **extra,
        )


def positive(amount: int, name: str = "amount") -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationFailed(f"{name} must be a positive whole number of bonuses", field=name, value=amount)


def take(lots: Iterable[Lot], amount: int) -> list[Allocation]:
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


def repay(debt: int, credits: Iterable[tuple[str, int, datetime]], now: datetime) -> tuple[list[Movement], int]:
    """Movements that repay an outstanding debt from just-credited, unexpired lots."""
    movements: list[Movement] = []
    left = debt
    for lot_id, amount, expires_at in credits:
        part = min(left, amount) if expires_at > now else 0
        if part:
            movements.append(Debit(lot_id, part))
            left -= part
    repaid = debt - left
    if repaid:
        movements.append(Debt(-repaid))
    return movements, repaid


def _insufficient(amount: int, available: int) -> InsufficientBonuses:
    return InsufficientBonuses(
        f"requested {amount} bonuses, {available} available",
        message_ru=f"Недостаточно бонусов: доступно {available}.",
        requested=amount,
        available=available,
    )


class Accrue(Command[Accrued], Struct, frozen=True, kw_only=True):
    """Credit bonuses into a lot of their own, or with ``merge`` into a shared one.
    ``activates_at=None`` holds them until :class:`ScheduleActivation`.

    An outstanding debt (``allow_negative`` clawback) is repaid from the credited lot first.
    With ``merge`` (and a known activation) the accrual joins the open lot of its source,
    activation day and expiry day instead of opening its own; what each accrual added stays
    in its posting and in its order's line book, so a clawback takes back exactly its part.
    """

    kind: ClassVar[str] = "accrue"
    INTENT: ClassVar[tuple[str, ...]] = ("amount", "source", "ref", "order_id")
    outcome_type: ClassVar[OutcomeType] = Accrued
    amount: int
    source: str
    ref: str
    activates_at: datetime | None
    expires_at: datetime
    order_id: str | None = None
    merge: bool = False

    def movements(self, account: Account, *, key: str, now: datetime) -> tuple[list[Movement], str, int]:
        """The credit and any debt repayment, the lot's id and the bonuses repaid."""
        require_utc(now)
        positive(self.amount)
        if self.expires_at <= now:
            raise ValidationFailed("expires_at must be after now", field="expires_at")
        merge = self.merge and self.activates_at is not None
        lot_id = merged_lot_id(self.source, self.activates_at, self.expires_at) if merge and self.activates_at is not None else lot_id_for(key)
        movements: list[Movement] = [Credit(lot_id, self.amount, self.source, self.ref, now, self.activates_at, self.expires_at, merge=merge)]
        repayment, repaid = repay(account.debt, [(lot_id, self.amount, self.expires_at)], now)
        return movements + repayment, lot_id, repaid

    def posting(self, account: Account, *, key: str, now: datetime) -> Posting:
        movements, lot_id, repaid = self.movements(account, key=key, now=now)
        return self._posting(account, key, now, movements, Accrued(lot_id, self.amount, repaid), order_id=self.order_id)


class ScheduleActivation(Command[Scheduled], Struct, frozen=True, kw_only=True):
    """Set when a held lot becomes spendable (e.g. delivery + hold days).

    With ``merge`` a held lot (never activated, unexpired) moves, once its activation is
    known, into the open lot of its source, activation day and expiry day
    (:func:`~shared.domain.ledger.state.merged_lot_id`; the settled lot of its expiry day when
    it is active at once): its remainder leaves the held lot, which closes, and joins the merged
    one, in one posting whose outcome names the lot it moved to (``moved_to``). Nothing was
    spent or reserved from a held lot, so no spend or reservation names it; the order's line book
    follows the move (its ``earned_lot_id``). The same posting folds the source's merged lots
    that are active by now into the settled lot of their expiry day (:func:`~shared.domain.ledger.movements.settle`): a lot's
    activation day no longer matters once it has passed, so an account holds one active lot of
    the source per expiry day, beside the pending ones.
    """

    kind: ClassVar[str] = "schedule"
    INTENT: ClassVar[tuple[str, ...]] = ("lot_id",)
    outcome_type: ClassVar[OutcomeType] = Scheduled
    lot_id: str
    activates_at: datetime
    merge: bool = False

    def posting(self, account: Account, *, key: str, now: datetime) -> Posting:
        require_utc(self.activates_at, "activates_at")
        lot = account.lots.get(self.lot_id)
        if lot is None:
            return self._posting(account, key, now, [], Scheduled(self.lot_id, False, self.activates_at))
        if self.merge and lot.activates_at is None and lot.expires_at > now:
            active = self.activates_at <= now
            target = settled_lot_id(lot.source, lot.expires_at) if active else merged_lot_id(lot.source, self.activates_at, lot.expires_at)
            moved: list[Movement] = [
                *settle(account, lot.source, now, first=target),
                Debit(lot.id, lot.remaining),
                Credit(target, lot.remaining, lot.source, lot.ref, lot.accrued_at, self.activates_at, lot.expires_at, merge=True),
            ]
            return self._posting(account, key, now, moved, Scheduled(self.lot_id, True, self.activates_at, moved_to=target, moved=lot.remaining))
        return self._posting(account, key, now, [Schedule(self.lot_id, self.activates_at)], Scheduled(self.lot_id, True, self.activates_at))


class Reserve(Command[Reserved], Struct, frozen=True, kw_only=True):
    """Hold available bonuses for an order being checked out, earliest expiry first.

    With ``source`` only lots of that source are held (a payout request holds
    only referral rewards past their hold).
    """

    kind: ClassVar[str] = "reserve"
    INTENT: ClassVar[tuple[str, ...]] = ("reservation_id", "amount")
    outcome_type: ClassVar[OutcomeType] = Reserved
    reservation_id: str
    amount: int
    release_after: datetime
    source: str | None = None

    def intent(self) -> dict[str, Any]:
        intent = Command.intent(self)
        if self.source is not None:  # reservations of any lot keep the fingerprint they always had
            intent["source"] = self.source
        return intent

    def posting(self, account: Account, *, key: str, now: datetime) -> Posting:
        require_utc(now)
        positive(self.amount)
        if self.reservation_id in account.reservations:
            raise InvalidState("the order already holds a reservation", message_ru="Бонусы для этого заказа уже зарезервированы.", reservation_id=self.reservation_id)
        lots = [lot for lot in account.active_lots(now) if self.source is None or lot.source == self.source]
        available = sum(lot.remaining for lot in lots)
        if self.amount > available:
            raise _insufficient(self.amount, available)
        reservation = Reservation(self.reservation_id, self.amount, take(lots, self.amount), now, self.release_after)
        return self._posting(account, key, now, [Hold(reservation)], Reserved(self.amount, self.reservation_id), order_id=self.reservation_id)


class Release(Command[Released], Struct, frozen=True, kw_only=True):
    """Give a reservation's bonuses back to their lots. Releasing nothing is not an error."""

    kind: ClassVar[str] = "release"
    INTENT: ClassVar[tuple[str, ...]] = ("reservation_id",)
    outcome_type: ClassVar[OutcomeType] = Released
    reservation_id: str

    def posting(self, account: Account, *, key: str, now: datetime) -> Posting:
        reservation = account.reservations.get(self.reservation_id)
        movements: list[Movement] = []
        if reservation is not None:
            movements = [Unhold(self.reservation_id, tuple(reservation.allocations))]
            movements += repay(account.debt, [(a.lot_id, a.amount, a.expires_at) for a in reservation.allocations], now)[0]
        released = reservation.amount if reservation else 0
        return self._posting(account, key, now, movements, Released(released), order_id=self.reservation_id)


class Spend(Command[Spent], Struct, frozen=True, kw_only=True):
    """Spend bonuses: from the order's reservation when it has one, else from active lots.

    A reservation larger than the spend gives the rest back; a spend larger
    than the reservation is refused. The outcome's ``allocations`` say which lots paid.
    """

    kind: ClassVar[str] = "spend"
    INTENT: ClassVar[tuple[str, ...]] = ("amount", "order_id", "reservation_id")
    outcome_type: ClassVar[OutcomeType] = Spent
    amount: int
    order_id: str | None = None
    reservation_id: str | None = None

    def posting(self, account: Account, *, key: str, now: datetime) -> Posting:
        require_utc(now)
        amount = self.amount
        positive(amount)
        reservation = account.reservations.get(self.reservation_id) if self.reservation_id else None
        movements: list[Movement]
        if reservation is not None:
            if amount > reservation.amount:
                raise InvalidState(
                    f"spend of {amount} exceeds the reservation of {reservation.amount}",
                    message_ru="Сумма списания больше зарезервированной.",
                    reserved=reservation.amount,
                    requested=amount,
                )
            allocations = take([Lot(a.lot_id, a.amount, a.amount, a.source, "", a.accrued_at, a.accrued_at, a.expires_at) for a in reservation.allocations], amount)
            taken = {a.lot_id: a.amount for a in allocations}
            restore = []
            for a in reservation.allocations:
                rest = a.amount - taken.get(a.lot_id, 0)
                if rest:
                    restore.append(Allocation(a.lot_id, rest, a.expires_at, a.source, a.accrued_at))
            movements = [Unhold(reservation.id, tuple(restore))]
            movements += repay(account.debt, [(a.lot_id, a.amount, a.expires_at) for a in restore], now)[0]
        else:
            available = account.balances(now).available
            if amount > available:
                raise _insufficient(amount, available)
            allocations = take(account.active_lots(now), amount)
            movements = [Debit(a.lot_id, a.amount) for a in allocations]
        return self._posting(account, key, now, movements, Spent(amount, tuple(allocations)), order_id=self.order_id)


class Refund(Command[Refunded], Struct, frozen=True, kw_only=True):
    """Give spent bonuses back into the lots they came from, keeping their expiry."""

    kind: ClassVar[str] = "refund"
    INTENT: ClassVar[tuple[str, ...]] = ("allocations", "order_id")
    outcome_type: ClassVar[OutcomeType] = Refunded
    allocations: Sequence[Allocation]
    order_id: str | None = None

    def __post_init__(self) -> None:
        force_setattr(self, "allocations", tuple(self.allocations))

    def intent(self) -> dict[str, Any]:
        return {"allocations": [{"lot_id": a.lot_id, "amount": a.amount} for a in self.allocations], "order_id": self.order_id}

    def posting(self, account: Account, *, key: str, now: datetime) -> Posting:
        require_utc(now)
        if not self.allocations:
            raise ValidationFailed("nothing to refund", field="allocations")
        for a in self.allocations:
            positive(a.amount, "allocations.amount")
        movements: list[Movement] = [Credit(a.lot_id, a.amount, a.source, self.order_id or "", a.accrued_at, a.accrued_at, a.expires_at) for a in self.allocations]
        repayment, repaid = repay(account.debt, [(a.lot_id, a.amount, a.expires_at) for a in self.allocations], now)
        refunded = sum(a.amount for a in self.allocations)
        return self._posting(account, key, now, movements + repayment, Refunded(refunded, repaid), order_id=self.order_id)


class Reverse(Command[Reversed], Struct, frozen=True, kw_only=True):
    """Take back an accrual (clawback), by the config's policy, from wherever the bonuses are.

    Order: the accrual's own lot; then, with ``prefer_source``, the other lots of
    that source (pending, then available) and their parts held by reservations
    whose id starts with ``holds_first``; then the other pending lots, then the
    available ones (earliest expiry first); then what reservations hold —
    those whose id starts with ``holds_first`` first (payout requests), then the
    others (checkouts), oldest first. Only then is the rest a debt
    (``allow_negative``) or forgiven (``floor``): no bonus escapes a clawback by
    being held. A reservation the clawback reached shrinks, or ends when emptied
    (``Reversed.from_holds`` names them).
    """

    kind: ClassVar[str] = "reverse"
    INTENT: ClassVar[tuple[str, ...]] = ("amount", "own_lot_id", "order_id")
    outcome_type: ClassVar[OutcomeType] = Reversed
    amount: int
    own_lot_id: str | None
    negative_balance: NegativeBalance
    order_id: str | None = None
    prefer_source: str | None = None  # e.g. "referral": a partner's reward is taken back from rewards first
    holds_first: str | None = None  # e.g. "payout:": payout requests are reached before checkouts

    def intent(self) -> dict[str, Any]:
        intent = Command.intent(self)
        if self.prefer_source is not None:  # clawbacks without a preference keep the fingerprint they always had
            intent["prefer_source"] = self.prefer_source
        return intent

    def _holds(self, account: Account) -> list[Reservation]:
        first = self.holds_first
        return sorted(account.reservations.values(), key=lambda r: (not (first and r.id.startswith(first)), r.created_at, r.id))

    def posting(self, account: Account, *, key: str, now: datetime) -> Posting:
        require_utc(now)
        positive(self.amount)
        own_lot_id, prefer, first = self.own_lot_id, self.prefer_source, self.holds_first
        # expired remainders are worth nothing to the customer: they never pay a clawback
        own = [account.lots[own_lot_id]] if own_lot_id in account.lots and account.lots[own_lot_id].state(now) != "expired" else []
        others = [lot for lot in account.lots.values() if lot.id != own_lot_id]

        def free(lots: list[Lot]) -> list[Lot]:
            return sorted((lot for lot in lots if lot.state(now) == "pending"), key=Lot.order_key) + sorted((lot for lot in lots if lot.state(now) == "active"), key=Lot.order_key)

        preferred = [lot for lot in others if prefer is not None and lot.source == prefer]
        rest = [lot for lot in others if prefer is None or lot.source != prefer]
        left = self.amount
        debits: list[Allocation] = []
        seized: dict[str, list[Allocation]] = {}
        held_taken: dict[tuple[str, int], int] = {}  # (reservation, allocation index) -> taken

        def from_lots(lots: list[Lot]) -> None:
            nonlocal left
            parts = take(lots, left)
            debits.extend(parts)
            left -= sum(a.amount for a in parts)

        def from_holds(payouts_only: bool, source: str | None) -> None:
            nonlocal left
            for reservation in self._holds(account):
                if payouts_only and not (first and reservation.id.startswith(first)):
                    continue
                for i, a in enumerate(reservation.allocations):
                    room = a.amount - held_taken.get((reservation.id, i), 0)
                    part = min(room, left) if source is None or a.source == source else 0
                    if part:
                        held_taken[(reservation.id, i)] = held_taken.get((reservation.id, i), 0) + part
                        seized.setdefault(reservation.id, []).append(replace(a, amount=part))
                        left -= part

        from_lots(own)
        if prefer is not None:
            from_lots(free(preferred))
            from_holds(payouts_only=True, source=prefer)
        from_lots(free(rest))
        from_holds(payouts_only=False, source=None)
        taken = self.amount - left
        movements: list[Movement] = [Debit(a.lot_id, a.amount) for a in debits]
        movements += [Seize(reservation_id, tuple(parts)) for reservation_id, parts in seized.items()]
        debt = left if self.negative_balance == "allow_negative" else 0
        if debt:
            movements.append(Debt(debt))
        from_reservations = {reservation_id: sum(a.amount for a in parts) for reservation_id, parts in seized.items()}
        return self._posting(account, key, now, movements, Reversed(taken, debt, left - debt, from_holds=from_reservations), order_id=self.order_id)


class Expire(Command[Expired], Struct, frozen=True, kw_only=True):
    """Write off the remainder of an expired lot (nothing if it is gone already)."""

    kind: ClassVar[str] = "expire"
    INTENT: ClassVar[tuple[str, ...]] = ("lot_id",)
    outcome_type: ClassVar[OutcomeType] = Expired
    lot_id: str

    def posting(self, account: Account, *, key: str, now: datetime) -> Posting:
        require_utc(now)
        lot = account.lots.get(self.lot_id)
        if lot is not None and lot.expires_at > now:
            raise InvalidState("the lot has not expired yet", lot_id=self.lot_id, expires_at=lot.expires_at.isoformat())
        written_off = lot.remaining if lot is not None else 0
        movements = [Debit(self.lot_id, written_off)] if written_off else []
        return self._posting(account, key, now, movements, Expired(written_off, self.lot_id))


class Adjust(Command[Adjusted], Struct, frozen=True, kw_only=True):
    """A manual correction by a person: credit active bonuses (into the day's adjustment lot),
    or debit available ones."""

    kind: ClassVar[str] = "adjust"
    INTENT: ClassVar[tuple[str, ...]] = ("amount", "actor", "reason")
    outcome_type: ClassVar[OutcomeType] = Adjusted
    amount: int
    actor: str
    reason: str
    expires_at: datetime

    def posting(self, account: Account, *, key: str, now: datetime) -> Posting:
        require_utc(now)
        amount = self.amount
        if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
            raise ValidationFailed("amount must be a non-zero whole number of bonuses", field="amount", value=amount)
        if not self.actor or not self.reason.strip():
            raise ValidationFailed("an adjustment needs an actor and a reason", field="reason", message_ru="Укажите причину корректировки.")
        movements: list[Movement]
        if amount > 0:
            accrual = Accrue(amount=amount, source="adjustment", ref=self.reason, activates_at=now, expires_at=self.expires_at, merge=True)
            movements = accrual.movements(account, key=key, now=now)[0]
        else:
            available = account.balances(now).available
            if -amount > available:
                raise InsufficientBonuses(f"cannot take {-amount} bonuses, {available} available", requested=-amount, available=available)
            movements = [Debit(a.lot_id, a.amount) for a in take(account.active_lots(now), -amount)]
        return self._posting(account, key, now, movements, Adjusted(amount), actor=self.actor, reason=self.reason)
