"""Example tests of the bonus ledger through the idempotent posting path."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from msgspec.structs import replace

from shared.adapters.memory_store import MemoryStore
from shared.domain.errors import IdempotencyConflict, InsufficientBonuses, InvalidState
from shared.domain.ledger import Account, Accrue, Accrued, Allocation, Expire, Expired, Lot, Refund, Refunded, Reservation, Reverse, Reversed, ScheduleActivation, Spend, Spent
from shared.services.ledger import all_postings, audit_account, balances, load_account, post

UTC = timezone.utc
T0 = datetime(2026, 1, 1, tzinfo=UTC)
CID = "c-1"
DAY = timedelta(days=1)
YEAR = timedelta(days=365)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def accrue(store: MemoryStore, key: str, amount: int, now: datetime, *, activates_at: Any = "now", expires_at: datetime | None = None) -> Accrued:
    command = Accrue(amount=amount, source="purchase", ref=key, activates_at=now if activates_at == "now" else activates_at, expires_at=expires_at or now + YEAR)
    return post(store, CID, key, command, now=now)


def spend(store: MemoryStore, key: str, amount: int, now: datetime, **params: Any) -> Spent:
    return post(store, CID, key, Spend(amount=amount, **params), now=now)


def lots(store: MemoryStore) -> dict[str, int]:
    account = load_account(store, CID)
    return {lot_id: lot.remaining for lot_id, lot in account.lots.items()}


def pairs(outcome: Spent) -> list[tuple[str, int]]:
    return [(a.lot_id, a.amount) for a in outcome.allocations]


@pytest.fixture(autouse=True)
def _sound_ledger(store: MemoryStore):
    yield
    assert audit_account(store, CID) == []


def test_spend_takes_earliest_expiry_first_across_three_lots(store: MemoryStore) -> None:
    middle = accrue(store, "accrue:1", 100, T0, expires_at=T0 + 200 * DAY).lot_id
    soonest = accrue(store, "accrue:2", 50, T0, expires_at=T0 + 30 * DAY).lot_id
    latest = accrue(store, "accrue:3", 80, T0, expires_at=T0 + 365 * DAY).lot_id

    outcome = spend(store, "spend:1", 170, T0 + DAY)

    assert pairs(outcome) == [(soonest, 50), (middle, 100), (latest, 20)]
    assert lots(store) == {latest: 60}
    assert balances(store, CID, T0 + DAY).available == 60


def test_held_lot_is_not_spendable_until_its_activation(store: MemoryStore) -> None:
    lot_id = accrue(store, "accrue:1", 100, T0, activates_at=None).lot_id
    b = balances(store, CID, T0 + 100 * DAY)
    assert (b.pending, b.available, b.total) == (100, 0, 100)
    with pytest.raises(InsufficientBonuses):
        spend(store, "spend:1", 1, T0 + DAY)

    delivered = T0 + 5 * DAY
    activates_at = delivered + 14 * DAY
    post(store, CID, f"schedule:{lot_id}", ScheduleActivation(lot_id=lot_id, activates_at=activates_at), now=delivered)
    just_before = activates_at - timedelta(seconds=1)
    assert (balances(store, CID, just_before).pending, balances(store, CID, just_before).available) == (100, 0)
    with pytest.raises(InsufficientBonuses):
        spend(store, "spend:1", 1, just_before)

    assert (balances(store, CID, activates_at).pending, balances(store, CID, activates_at).available) == (0, 100)
    assert pairs(spend(store, "spend:1", 100, activates_at)) == [(lot_id, 100)]
    assert lots(store) == {}


def test_expire_writes_off_exactly_the_remaining(store: MemoryStore) -> None:
    old = accrue(store, "accrue:1", 500, T0).lot_id
    young = accrue(store, "accrue:2", 70, T0 + 10 * DAY).lot_id
    spend(store, "spend:1", 120, T0 + DAY)
    with pytest.raises(InvalidState):
        post(store, CID, f"expire:{old}", Expire(lot_id=old), now=T0 + YEAR - timedelta(seconds=1))

    at = T0 + YEAR
    b = balances(store, CID, at)
    assert (b.available, b.expired_unswept, b.total) == (70, 380, 70)
    outcome = post(store, CID, f"expire:{old}", Expire(lot_id=old), now=at)

    assert outcome == Expired(expired=380, lot_id=old, replayed=False)
    assert lots(store) == {young: 70}
    expire_posting = next(p for p in all_postings(store, CID) if p.kind == "expire")
    assert expire_posting.delta == -380
    b = balances(store, CID, at)
    assert (b.available, b.expired_unswept, b.total) == (70, 0, 70)


def test_refund_restores_into_a_pruned_lot_keeping_its_expiry(store: MemoryStore) -> None:
    lot_id = accrue(store, "accrue:1", 100, T0).lot_id
    spent = spend(store, "spend:1", 100, T0 + 10 * DAY, order_id="O1")
    assert lots(store) == {}  # the emptied lot is pruned

    part = replace(spent.allocations[0], amount=40)
    outcome = post(store, CID, "refund:O1:1", Refund(allocations=[part], order_id="O1"), now=T0 + 20 * DAY)

    assert outcome == Refunded(refunded=40, debt_repaid=0, replayed=False)
    lot = load_account(store, CID).lots[lot_id]
    assert (lot.remaining, lot.expires_at, lot.state(T0 + 20 * DAY)) == (40, T0 + YEAR, "active")
    assert balances(store, CID, T0 + 20 * DAY).available == 40
    assert balances(store, CID, T0 + YEAR).expired_unswept == 40  # the old expiry still applies


def test_reverse_under_allow_negative_creates_a_debt_the_next_accruals_repay(store: MemoryStore) -> None:
    lot_id = accrue(store, "accrue:1", 100, T0).lot_id
    spend(store, "spend:1", 100, T0 + DAY)
    reversed_ = post(store, CID, "reverse:1", Reverse(amount=100, own_lot_id=lot_id, negative_balance="allow_negative"), now=T0 + 2 * DAY)
    assert reversed_ == Reversed(reversed=0, debt=100, forgiven=0, replayed=False)
    b = balances(store, CID, T0 + 2 * DAY)
    assert (b.debt, b.total) == (100, -100)

    assert accrue(store, "accrue:2", 30, T0 + 3 * DAY).debt_repaid == 30
    assert lots(store) == {}
    assert balances(store, CID, T0 + 3 * DAY).debt == 70

    fresh = accrue(store, "accrue:3", 150, T0 + 4 * DAY)
    assert fresh.debt_repaid == 70
    assert lots(store) == {fresh.lot_id: 80}
    b = balances(store, CID, T0 + 4 * DAY)
    assert (b.debt, b.available, b.total) == (0, 80, 80)


def test_reverse_under_floor_forgives_what_cannot_be_taken(store: MemoryStore) -> None:
    lot_id = accrue(store, "accrue:1", 100, T0).lot_id
    spend(store, "spend:1", 60, T0 + DAY)
    outcome = post(store, CID, "reverse:1", Reverse(amount=100, own_lot_id=lot_id, negative_balance="floor"), now=T0 + 2 * DAY)
    assert outcome == Reversed(reversed=40, debt=0, forgiven=60, replayed=False)
    b = balances(store, CID, T0 + 2 * DAY)
    assert (b.debt, b.total) == (0, 0)


def test_same_key_with_another_amount_is_an_idempotency_conflict(store: MemoryStore) -> None:
    first = accrue(store, "accrue:1", 100, T0)
    spent = spend(store, "spend:1", 30, T0 + DAY, order_id="O1")
    before = (load_account(store, CID).to_dict(), [p.to_dict() for p in all_postings(store, CID)])

    # the same intent replays, even later: the first outcome, nothing new written
    assert accrue(store, "accrue:1", 100, T0 + 2 * DAY) == replace(first, replayed=True)
    assert spend(store, "spend:1", 30, T0 + 2 * DAY, order_id="O1") == replace(spent, replayed=True)
    # another amount under a used key is refused
    with pytest.raises(IdempotencyConflict):
        accrue(store, "accrue:1", 101, T0 + 2 * DAY)
    with pytest.raises(IdempotencyConflict):
        spend(store, "spend:1", 31, T0 + 2 * DAY, order_id="O1")

    assert (load_account(store, CID).to_dict(), [p.to_dict() for p in all_postings(store, CID)]) == before
    assert balances(store, CID, T0 + 2 * DAY).available == 70


def test_a_held_lot_past_its_expiry_is_expired_not_pending(store: MemoryStore) -> None:
    accrue(store, "accrue:1", 100, T0, activates_at=None)  # never delivered, never scheduled
    at = T0 + YEAR
    b = balances(store, CID, at)
    assert (b.pending, b.expired_unswept, b.total) == (0, 100, 0)
    outcome = post(store, CID, "reverse:1", Reverse(amount=100, own_lot_id=None, negative_balance="allow_negative"), now=at)
    assert outcome == Reversed(reversed=0, debt=100, forgiven=0, replayed=False)


def test_bonuses_refunded_into_a_written_off_lot_are_swept_too(store: MemoryStore) -> None:
    from shared.domain.config import Level, ProgramConfig
    from shared.services.account_sweep import sweep_account

    config = ProgramConfig(program="test", name="Test", levels=(Level(code="base", name="Base", threshold=0, accrual_percent=5),))
    accrue(store, "accrue:1", 100, T0)
    spent = spend(store, "spend:1", 60, T0 + DAY, order_id="O1")
    assert sweep_account(store, config=config, customer_id=CID, now=T0 + YEAR).expired == 40

    # the order comes back after the lot's expiry: the 60 go back into the written-off lot
    post(store, CID, "refund:O1:1", Refund(allocations=[spent.allocations[0]], order_id="O1"), now=T0 + YEAR + DAY)
    assert balances(store, CID, T0 + YEAR + DAY).expired_unswept == 60

    later = T0 + YEAR + 2 * DAY
    assert sweep_account(store, config=config, customer_id=CID, now=later).expired == 60
    assert balances(store, CID, later).expired_unswept == 0
    assert load_account(store, CID).next_expiry_at is None


def test_an_account_copy_is_equal_and_independent():
    from msgspec.structs import fields

    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    allocation = Allocation(lot_id="l1", amount=5, expires_at=t, source="purchase", accrued_at=t)
    account = Account(
        customer_id="c",
        lots={"l1": Lot("l1", 10, 5, "purchase", "o1", t, t, t)},
        reservations={"o2": Reservation("o2", 5, [allocation], t, t)},
        debt=3, seq=7, group="staff", level="gold", level_override="silver", paid_total=100, paid_by_day={"2026-01-01": 100},
    )
    assert {f.name for f in fields(Account) if getattr(account, f.name) == getattr(Account(customer_id="x"), f.name)} == set()  # every field set

    twin = account.copy()
    assert twin == account
    with pytest.raises(AttributeError):  # lots, reservations and allocations never change in place
        twin.lots["l1"].remaining = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        twin.reservations["o2"].allocations[0].amount = 1  # type: ignore[misc]
    twin.lots["l1"] = replace(twin.lots["l1"], remaining=1)
    twin.reservations["o2"] = replace(twin.reservations["o2"], allocations=[replace(allocation, amount=1)])
    twin.paid_by_day["2026-01-02"] = 1
    assert account.lots["l1"].remaining == 5 and account.reservations["o2"].allocations[0].amount == 5 and "2026-01-02" not in account.paid_by_day
