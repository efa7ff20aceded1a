"""Stateful property test of the bonus ledger against an independent reference model.

The machine drives one customer's account through the public posting path,
``shared.services.ledger.post`` on a :class:`MemoryStore`, and keeps its own
model of the account: a dict of lots (remaining, activation, expiry) and a
dict of reservations, with earliest-expiry-first consumption written from the
ledger's documented rules, not from its code. After every step the stored
account must agree with the model, with itself (the fold of its postings) and
with the idempotency contract (one posting per key).

``KOPILKA_HYPOTHESIS_EXAMPLES`` sets the number of examples (default 100). The
clawback machine beside it (``test_clawback_state_machine.py``) drives the use
cases instead: checkouts, payouts and returns interleaved.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from shared.adapters.memory_store import MemoryStore
from shared.domain.errors import IdempotencyConflict, InsufficientBonuses, InvalidState
from shared.domain.ledger import COMMANDS, Allocation, Command, Lot
from shared.domain.ledger.state import merged_lot_id, settled_lot_id
from shared.services.ledger import all_postings, audit_account, load_account, post

UTC = timezone.utc
T0 = datetime(2026, 1, 1, tzinfo=UTC)
CID = "c-1"
LIFETIME = timedelta(days=365)
RESERVATION_TIMEOUT = timedelta(minutes=30)
SECOND = timedelta(seconds=1)

# Known ledger bug (see test_ledger.py::test_a_held_lot_past_its_expiry_is_expired_not_pending):
# ``Lot.state`` answers "pending" for a lot not yet activated even after its expiry, so
# such worthless bonuses count in ``pending``/``total`` and pay clawbacks. While the
# ledger behaves so, the model follows it for that one case; once it is fixed this
# probe turns False and the model applies the documented rule (expired is expired).
HELD_LOTS_NEVER_EXPIRE = Lot("probe", 1, 1, "probe", "", T0, None, T0).state(T0) == "pending"


# --- the reference model --------------------------------------------------------------


@dataclass
class MLot:
    id: str
    remaining: int
    accrued_at: datetime
    activates_at: datetime | None  # None: held until scheduled
    expires_at: datetime

    def state(self, now: datetime) -> str:
        # Past its expiry instant a lot is worth nothing, activated or not; before
        # it, a lot not yet activated (held, or activation ahead) is pending.
        not_activated = self.activates_at is None or now < self.activates_at
        if HELD_LOTS_NEVER_EXPIRE and not_activated:
            return "pending"
        if now >= self.expires_at:
            return "expired"
        return "pending" if not_activated else "active"

    def order_key(self) -> tuple[datetime, datetime, str]:
        # Documented consumption order: earliest expiry, then oldest, then id.
        return (self.expires_at, self.accrued_at, self.id)


@dataclass
class MAlloc:
    lot_id: str
    amount: int
    accrued_at: datetime
    expires_at: datetime


def greedy(lots: list[MLot], amount: int) -> list[tuple[str, int]]:
    """Take ``amount`` from ``lots`` in the given order."""
    taken, left = [], amount
    for lot in lots:
        if left == 0:
            break
        part = min(lot.remaining, left)
        if part:
            taken.append((lot.id, part))
            left -= part
    return taken


def command(kind: str, params: dict[str, Any]) -> Command[Any]:
    """The typed command of a stored kind, with the machine's parameters."""
    return COMMANDS[kind](**params)


def alloc_pairs(allocations: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(a["lot_id"], a["amount"]) for a in allocations]


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = MemoryStore()
        self.now = T0
        self.lots: dict[str, MLot] = {}
        self.reservations: dict[str, list[MAlloc]] = {}
        self.reserved_at: dict[str, datetime] = {}
        self.debt = 0
        # every key applied: key -> (kind, params, outcome without "replayed")
        self.applied: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {}
        self.accruals: list[tuple[str, int]] = []  # (lot_id, amount)
        self.held: list[str] = []  # lots accrued held (activates_at=None)
        self.orders: list[str] = []  # every order that got a reservation
        self.spends: list[dict[str, Any]] = []  # {order_id, allocations: [dict], refunded: {lot_id: n}}
        self.seen_lot_ids: set[str] = set()
        self.n = 0

    # --- helpers ---------------------------------------------------------------------

    def next_n(self) -> int:
        self.n += 1
        return self.n

    def post(self, kind: str, key: str, **params: Any) -> dict[str, Any]:
        outcome = post(self.store, CID, key, command(kind, params), now=self.now)
        assert outcome.replayed is False, (key, outcome)
        assert key not in self.applied, f"key {key} applied twice"
        first = outcome.to_stored()
        self.applied[key] = (kind, dict(params), first)
        return first

    def snapshot(self) -> tuple[Any, Any]:
        account = load_account(self.store, CID)
        return (account.to_dict() if account else None, sorted((p.seq, p.key, repr(p.to_dict())) for p in all_postings(self.store, CID)))

    def expect_refused(self, error: type[Exception], kind: str, key: str, **params: Any) -> None:
        before = self.snapshot()
        with pytest.raises(error):
            post(self.store, CID, key, command(kind, params), now=self.now)
        assert self.snapshot() == before, f"a refused {kind} changed the store"

    def available(self) -> int:
        return sum(lot.remaining for lot in self.lots.values() if lot.state(self.now) == "active")

    def active_sorted(self) -> list[MLot]:
        return sorted((lot for lot in self.lots.values() if lot.state(self.now) == "active"), key=MLot.order_key)

    def credit(self, lot_id: str, amount: int, accrued_at: datetime, expires_at: datetime, activates_at: datetime | None) -> None:
        lot = self.lots.get(lot_id)
        if lot is None:
            self.lots[lot_id] = MLot(lot_id, amount, accrued_at, activates_at, expires_at)
        else:
            # a merged lot keeps the expiry of its day it has; any other lot keeps its own
            assert lot.expires_at == expires_at or lot.id.startswith("M"), "a lot came back with another expiry"
            lot.remaining += amount

    def merge_into(self, target: str, lot: MLot) -> None:
        """``lot``'s remainder joins the merged lot ``target``: the later activation and expiry win."""
        into = self.lots.get(target)
        if into is None:
            self.lots[target] = MLot(target, lot.remaining, lot.accrued_at, lot.activates_at, lot.expires_at)
            return
        assert into.activates_at is not None and lot.activates_at is not None, "a merged lot is never held"
        into.remaining += lot.remaining
        into.activates_at = max(into.activates_at, lot.activates_at)
        into.expires_at = max(into.expires_at, lot.expires_at)

    def debit(self, lot_id: str, amount: int) -> None:
        lot = self.lots[lot_id]
        assert 0 < amount <= lot.remaining
        lot.remaining -= amount
        if lot.remaining == 0:
            del self.lots[lot_id]

    def repay(self, credits: list[tuple[str, int]]) -> int:
        """An outstanding debt is repaid from bonuses that just came (back) in, except
        expired ones: worth nothing to the customer, they pay no clawback."""
        repaid = 0
        for lot_id, amount in credits:
            if self.lots[lot_id].expires_at <= self.now:
                if self.debt:
                    event("debt not repaid from expired credit")
                continue
            part = min(self.debt, amount)
            if part:
                event("debt repaid")
                self.debit(lot_id, part)
                self.debt -= part
                repaid += part
        return repaid

    def give_back(self, allocations: list[MAlloc]) -> None:
        """Put reserved parts back into their lots (recreated, already active, if pruned)."""
        for a in allocations:
            self.credit(a.lot_id, a.amount, a.accrued_at, a.expires_at, a.accrued_at)

    # --- rules: accrual ---------------------------------------------------------------

    @initialize(amount=st.integers(1, 2000))
    def first_accrual(self, amount: int) -> None:
        self.accrue(amount, 0)

    @rule(
        amount=st.integers(1, 2000),
        activation=st.one_of(st.none(), st.just(0), st.integers(1, 30), st.integers(300, 400)),
    )
    def accrue(self, amount: int, activation: int | None) -> None:
        key = f"accrue:{self.next_n()}"
        activates_at = None if activation is None else self.now + timedelta(days=activation)
        expires_at = self.now + LIFETIME
        outcome = self.post("accrue", key, amount=amount, source="purchase", ref=key, activates_at=activates_at, expires_at=expires_at)
        lot_id = outcome["lot_id"]
        assert lot_id not in self.seen_lot_ids, "a new accrual reused a lot id"
        self.seen_lot_ids.add(lot_id)
        self.lots[lot_id] = MLot(lot_id, amount, self.now, activates_at, expires_at)
        repaid = self.repay([(lot_id, amount)])
        assert outcome == {"lot_id": lot_id, "accrued": amount, "debt_repaid": repaid}
        self.accruals.append((lot_id, amount))
        if activates_at is None:
            self.held.append(lot_id)

    def schedulable(self) -> list[str]:
        return [lot_id for lot_id in self.held if f"schedule:{lot_id}" not in self.applied]

    @precondition(lambda self: self.schedulable())
    @rule(data=st.data(), days=st.one_of(st.sampled_from([0, 14]), st.integers(0, 30)), merge=st.booleans())  # no hold, or a common one: lots share a merged lot
    def schedule(self, data: st.DataObject, days: int, merge: bool) -> None:
        lot_id = data.draw(st.sampled_from(self.schedulable()), label="lot")
        activates_at = self.now + timedelta(days=days)
        outcome = self.post("schedule", f"schedule:{lot_id}", lot_id=lot_id, activates_at=activates_at, **({"merge": True} if merge else {}))
        lot = self.lots.get(lot_id)
        present = lot is not None
        scheduled = {"lot_id": lot_id, "scheduled": present, "activates_at": activates_at}
        if lot is not None and merge and lot.activates_at is None and lot.expires_at > self.now:
            # Documented move: first the merged lots active by now (at most 20: the target first,
            # then earliest expiry) fold into the settled lot of their expiry day; then the held
            # remainder leaves its lot for the open lot of its source, activation day and expiry
            # day (the settled one when it is active at once), which activates and expires at the
            # later moments.
            active = activates_at <= self.now
            target = settled_lot_id("purchase", lot.expires_at) if active else merged_lot_id("purchase", activates_at, lot.expires_at)
            settled = [m for m in self.lots.values() if m.id.startswith("M") and m.state(self.now) == "active" and m.id != settled_lot_id("purchase", m.expires_at)]
            for m in sorted(settled, key=lambda m: (m.id != target, *m.order_key()))[:20]:
                event("schedule: settled an active merged lot" + (", the target" if m.id == target else ""))
                del self.lots[m.id]
                self.merge_into(settled_lot_id("purchase", m.expires_at), m)
            del self.lots[lot_id]
            event("schedule: merged" + (" into an open lot" if target in self.lots else "") + (", active at once" if active else ""))
            self.merge_into(target, MLot(lot.id, lot.remaining, lot.accrued_at, activates_at, lot.expires_at))
            # the accrual's clawback now starts from the lot it moved into (the line book follows)
            self.accruals = [(target if held == lot_id else held, amount) for held, amount in self.accruals]
            assert outcome == scheduled | {"moved_to": target, "moved": lot.remaining}
            return
        event("schedule" if present else "schedule: lot gone")
        if lot is not None:
            lot.activates_at = activates_at
        assert outcome == scheduled

    # --- rules: the clock -------------------------------------------------------------

    @rule(days=st.one_of(st.integers(0, 3), st.integers(0, 400)), seconds=st.integers(0, 86399))
    def advance(self, days: int, seconds: int) -> None:
        self.now += timedelta(days=days, seconds=seconds)

    def boundaries(self) -> list[datetime]:
        moments = set()
        for lot in self.lots.values():
            for edge in (lot.activates_at, lot.expires_at):
                if edge is not None:
                    moments.update(edge + d for d in (-SECOND, timedelta(0), SECOND))
        return sorted(m for m in moments if m >= self.now)

    @precondition(lambda self: self.boundaries())
    @rule(data=st.data())
    def advance_to_boundary(self, data: st.DataObject) -> None:
        self.now = data.draw(st.sampled_from(self.boundaries()), label="moment")

    # --- rules: spending ---------------------------------------------------------------

    def check_direct_allocations(self, outcome: dict[str, Any], amount: int) -> None:
        allocations = outcome["allocations"]
        for a in allocations:
            lot = self.lots.get(a["lot_id"])
            assert lot is not None, f"spent from unknown lot {a['lot_id']}"
            state = lot.state(self.now)
            assert state == "active", f"spent {a['amount']} from a {state} lot {lot}"
            assert (a["expires_at"], a["accrued_at"]) == (lot.expires_at, lot.accrued_at)
        assert alloc_pairs(allocations) == greedy(self.active_sorted(), amount), "not earliest-expiry-first"
        assert sum(a["amount"] for a in allocations) == amount

    @rule(amount=st.one_of(st.integers(1, 300), st.integers(1, 3000)), data=st.data())
    def spend(self, amount: int, data: st.DataObject) -> None:
        n = self.next_n()
        key, order_id = f"spend:{n}", f"S{n}"
        # Sometimes name an order whose reservation is gone: the spend is then a direct one.
        closed = [o for o in self.orders if o not in self.reservations]
        reservation_id = data.draw(st.sampled_from([None, *closed]), label="stale reservation") if closed else None
        if reservation_id is not None:
            order_id = reservation_id
        params = {"amount": amount, "order_id": order_id, "reservation_id": reservation_id}
        if amount > self.available():
            event("spend: insufficient")
            self.expect_refused(InsufficientBonuses, "spend", key, **params)
            return
        event("spend: direct" if reservation_id is None else "spend: stale reservation")
        outcome = self.post("spend", key, **params)
        self.check_direct_allocations(outcome, amount)
        assert outcome["spent"] == amount
        for lot_id, part in alloc_pairs(outcome["allocations"]):
            self.debit(lot_id, part)
        self.spends.append({"order_id": order_id, "allocations": outcome["allocations"], "refunded": {}})

    @rule(amount=st.one_of(st.integers(1, 300), st.integers(1, 3000)))
    def reserve(self, amount: int) -> None:
        order = f"O{self.next_n()}"
        key = f"reserve:{order}"
        params = {"reservation_id": order, "amount": amount, "release_after": self.now + RESERVATION_TIMEOUT}
        if amount > self.available():
            event("reserve: insufficient")
            self.expect_refused(InsufficientBonuses, "reserve", key, **params)
            return
        event("reserve")
        taken = greedy(self.active_sorted(), amount)
        allocations = [MAlloc(lot_id, part, self.lots[lot_id].accrued_at, self.lots[lot_id].expires_at) for lot_id, part in taken]
        outcome = self.post("reserve", key, **params)
        assert outcome == {"reserved": amount, "reservation_id": order}
        for lot_id, part in taken:
            self.debit(lot_id, part)
        self.reservations[order] = allocations
        self.reserved_at[order] = self.now
        self.orders.append(order)
        stored = load_account(self.store, CID).reservations[order]
        assert [(a.lot_id, a.amount) for a in stored.allocations] == taken, "reservation not earliest-expiry-first"

    def releasable(self) -> list[str]:
        return [o for o in self.orders if f"release:{o}" not in self.applied]

    @precondition(lambda self: self.releasable())
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from(self.releasable()), label="order")
        outcome = self.post("release", f"release:{order}", reservation_id=order)
        allocations = self.reservations.pop(order, [])
        event("release" if allocations else "release: nothing")
        if any(self.lots.get(a.lot_id) is None for a in allocations):
            event("release: into a pruned lot")
        self.give_back(allocations)
        self.repay([(a.lot_id, a.amount) for a in allocations])
        assert outcome == {"released": sum(a.amount for a in allocations)}

    @precondition(lambda self: self.reservations)
    @rule(data=st.data())
    def spend_reserved(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from(sorted(self.reservations)), label="order")
        allocations = self.reservations[order]
        reserved = sum(a.amount for a in allocations)
        key = f"spend:{self.next_n()}"
        amount = data.draw(st.integers(1, reserved + 1), label="amount")
        params = {"amount": amount, "order_id": order, "reservation_id": order}
        if amount > reserved:
            event("spend reserved: too much")
            self.expect_refused(InvalidState, "spend", key, **params)
            return
        event("spend reserved" + (": debt outstanding" if self.debt else ""))
        if any(a.expires_at <= self.now for a in allocations):
            # Reserved parts were taken from active lots (checked in ``reserve``); the
            # ledger lets the order spend them even if their lot has expired since.
            event("spend reserved: a part's lot has expired since")
        outcome = self.post("spend", key, **params)
        # Taken from the reservation's own parts, in their (earliest-expiry-first) order.
        taken, left, rest = [], amount, []
        for a in allocations:
            part = min(a.amount, left)
            left -= part
            if part:
                taken.append((a.lot_id, part))
            if a.amount - part:
                rest.append(MAlloc(a.lot_id, a.amount - part, a.accrued_at, a.expires_at))
        assert alloc_pairs(outcome["allocations"]) == taken
        assert outcome["spent"] == amount
        del self.reservations[order]
        self.give_back(rest)
        self.repay([(a.lot_id, a.amount) for a in rest])
        self.spends.append({"order_id": order, "allocations": outcome["allocations"], "refunded": {}})

    # --- rules: returns and clawbacks ----------------------------------------------------

    def refundable(self) -> list[int]:
        return [i for i, s in enumerate(self.spends) if any(a["amount"] > s["refunded"].get(a["lot_id"], 0) for a in s["allocations"])]

    @precondition(lambda self: self.refundable())
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        spend = self.spends[data.draw(st.sampled_from(self.refundable()), label="spend")]
        parts = []
        for a in spend["allocations"]:
            room = a["amount"] - spend["refunded"].get(a["lot_id"], 0)
            part = data.draw(st.integers(0, room), label=f"refund from {a['lot_id']}") if room else 0
            if part:
                parts.append(Allocation(a["lot_id"], part, a["expires_at"], a["source"], a["accrued_at"]))
        if not parts:  # return at least one bonus
            a = next(a for a in spend["allocations"] if a["amount"] > spend["refunded"].get(a["lot_id"], 0))
            parts.append(Allocation(a["lot_id"], 1, a["expires_at"], a["source"], a["accrued_at"]))
        outcome = self.post("refund", f"refund:{self.next_n()}", allocations=parts, order_id=spend["order_id"])
        event("refund" + (": debt outstanding" if self.debt else ""))
        for p in parts:
            if p.lot_id not in self.lots:
                event("refund: into a pruned lot")
            if p.expires_at <= self.now:
                event("refund: into an expired lot")
            spend["refunded"][p.lot_id] = spend["refunded"].get(p.lot_id, 0) + p.amount
            # Back into the lot it came from, keeping its expiry; a pruned lot comes back active.
            self.credit(p.lot_id, p.amount, p.accrued_at, p.expires_at, p.accrued_at)
        repaid = self.repay([(p.lot_id, p.amount) for p in parts])
        assert outcome == {"refunded": sum(p.amount for p in parts), "debt_repaid": repaid}

    @precondition(lambda self: self.accruals)
    @rule(data=st.data(), policy=st.sampled_from(["floor", "allow_negative"]), own=st.booleans())
    def reverse(self, data: st.DataObject, policy: str, own: bool) -> None:
        lot_id, accrued = data.draw(st.sampled_from(self.accruals), label="accrual")
        own_lot_id = lot_id if own else None
        amount = data.draw(st.integers(1, accrued + 500), label="amount")
        # Documented order: the accrual's own lot, other pending lots, then available
        # lots, earliest expiry first, then what open reservations hold (oldest
        # first, each in its allocations' order): a held bonus does not escape a
        # clawback. Expired remainders of lots (worth nothing to the customer) never pay one.
        others = [lot for lot in self.lots.values() if lot.id != own_lot_id]
        own_lot = self.lots.get(own_lot_id) if own_lot_id else None
        order = [own_lot] if own_lot is not None and own_lot.state(self.now) != "expired" else []
        order += sorted((lot for lot in others if lot.state(self.now) == "pending"), key=MLot.order_key)
        order += sorted((lot for lot in others if lot.state(self.now) == "active"), key=MLot.order_key)
        taken = greedy(order, amount)
        left = amount - sum(part for _, part in taken)
        seized: dict[str, int] = {}
        for rid in sorted(self.reservations, key=lambda r: (self.reserved_at[r], r)):
            for a in self.reservations[rid]:
                part = min(a.amount, left)
                if part:
                    a.amount -= part
                    seized[rid] = seized.get(rid, 0) + part
                    left -= part
            self.reservations[rid] = [a for a in self.reservations[rid] if a.amount]
            if not self.reservations[rid]:
                del self.reservations[rid]
        outcome = self.post("reverse", f"reverse:{self.next_n()}", amount=amount, own_lot_id=own_lot_id, negative_balance=policy)
        took = amount - left
        debt = left if policy == "allow_negative" else 0
        expected = {"reversed": took, "debt": debt, "forgiven": left - debt} | ({"from_holds": seized} if seized else {})
        assert outcome == expected, f"expected to take {taken} and {seized} from reservations"
        for lid, part in taken:
            self.debit(lid, part)
        self.debt += debt
        event(f"reverse: {policy}" + (", debt" if debt else "") + (", forgiven" if left - debt else "") + (", from reservations" if seized else ""))

    # --- rules: expiry ------------------------------------------------------------------

    @precondition(lambda self: any(lot.expires_at <= self.now for lot in self.lots.values()))
    @rule(data=st.data())
    def expire(self, data: st.DataObject) -> None:
        lot = data.draw(st.sampled_from(sorted((lot for lot in self.lots.values() if lot.expires_at <= self.now), key=MLot.order_key)), label="lot")
        key = f"expire:{lot.id}"
        if key in self.applied:
            # The lot was written off once and came back (a refund or a release into an
            # expired lot). The per-lot key is spent: posting it again is a replay, and the
            # remainder stays unswept (reported; see test_ledger.py::
            # test_bonuses_refunded_into_a_written_off_lot_are_swept_too).
            event("expire: a written-off lot came back")
            self.replay(key)
            return
        event("expire")
        outcome = self.post("expire", key, lot_id=lot.id)
        assert outcome == {"expired": lot.remaining, "lot_id": lot.id}
        del self.lots[lot.id]

    @precondition(lambda self: any(lot.expires_at > self.now and f"expire:{lot.id}" not in self.applied for lot in self.lots.values()))
    @rule(data=st.data())
    def expire_too_early(self, data: st.DataObject) -> None:
        lots = sorted((lot for lot in self.lots.values() if lot.expires_at > self.now and f"expire:{lot.id}" not in self.applied), key=MLot.order_key)
        lot = data.draw(st.sampled_from(lots), label="lot")
        self.expect_refused(InvalidState, "expire", f"expire:{lot.id}", lot_id=lot.id)

    # --- rules: idempotency -------------------------------------------------------------

    def replay(self, key: str) -> None:
        kind, params, first = self.applied[key]
        before = self.snapshot()
        again = post(self.store, CID, key, command(kind, params), now=self.now)
        assert type(again) is COMMANDS[kind].outcome_type and again.replayed is True
        assert again.to_stored() == first
        assert self.snapshot() == before, f"a replay of {key} changed the store"

    @precondition(lambda self: self.applied)
    @rule(data=st.data())
    def replay_same(self, data: st.DataObject) -> None:
        self.replay(data.draw(st.sampled_from(sorted(self.applied)), label="key"))

    @precondition(lambda self: self.applied)
    @rule(data=st.data(), other_kind=st.booleans())
    def replay_different(self, data: st.DataObject, other_kind: bool) -> None:
        key = data.draw(st.sampled_from(sorted(self.applied)), label="key")
        kind, params, _ = self.applied[key]
        if other_kind:
            kind, params = ("release", {"reservation_id": "O-x"}) if kind != "release" else ("expire", {"lot_id": "L-x"})
        else:
            params = dict(params)
            if kind in ("accrue", "reserve", "spend", "reverse"):
                params["amount"] += 1
            elif kind in ("schedule", "expire"):
                params["lot_id"] += "x"
            elif kind == "release":
                params["reservation_id"] += "x"
            elif kind == "refund":
                first, *rest = params["allocations"]
                params["allocations"] = [Allocation(first.lot_id, first.amount + 1, first.expires_at, first.source, first.accrued_at), *rest]
            else:  # pragma: no cover
                raise AssertionError(kind)
        self.expect_refused(IdempotencyConflict, kind, key, **params)

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def balances_match_the_model(self) -> None:
        account = load_account(self.store, CID)
        assert account is not None
        b = account.balances(self.now)
        states = [(lot.state(self.now), lot.remaining) for lot in self.lots.values()]
        pending = sum(r for s, r in states if s == "pending")
        available = sum(r for s, r in states if s == "active")
        expired = sum(r for s, r in states if s == "expired")
        reserved = sum(a.amount for allocs in self.reservations.values() for a in allocs)
        expected = (pending + available + reserved - self.debt, available, pending, reserved, expired, self.debt)
        actual = (b.total, b.available, b.pending, b.reserved, b.expired_unswept, b.debt)
        assert actual == expected, f"(total, available, pending, reserved, expired, debt): {actual} != model {expected}"

    @invariant()
    def nothing_negative(self) -> None:
        account = load_account(self.store, CID)
        b = account.balances(self.now)
        assert min(b.available, b.pending, b.reserved, b.expired_unswept, b.debt) >= 0, b
        if b.debt == 0:
            assert b.total >= 0, b
        else:  # a debt is only left when nothing spendable, pending or held could pay it
            assert b.available == b.pending == b.reserved == 0, b
        for lot in account.lots.values():
            assert 0 < lot.remaining <= lot.amount, lot

    @invariant()
    def lots_and_reservations_match_the_model(self) -> None:
        account = load_account(self.store, CID)
        assert {k: (v.remaining, v.expires_at, v.state(self.now)) for k, v in account.lots.items()} == {
            k: (v.remaining, v.expires_at, v.state(self.now)) for k, v in self.lots.items()
        }
        assert {k: [(a.lot_id, a.amount) for a in r.allocations] for k, r in account.reservations.items()} == {
            k: [(a.lot_id, a.amount) for a in allocs] for k, allocs in self.reservations.items()
        }

    @invariant()
    def account_is_the_fold_of_its_postings(self) -> None:
        assert audit_account(self.store, CID) == []

    @invariant()
    def one_posting_per_key(self) -> None:
        keys = [p.key for p in all_postings(self.store, CID)]
        assert len(keys) == len(set(keys)) == len(self.applied)
        assert set(keys) == set(self.applied)


LedgerMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("KOPILKA_HYPOTHESIS_EXAMPLES", 100)),  # deeper runs set more (docs/reliability.md)
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerStateMachine = LedgerMachine.TestCase
