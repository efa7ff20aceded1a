"""A held purchase lot moves into its merged lot when its activation is scheduled."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.domain.ledger import Accrue, Credit, Debit, Refund, Reverse, Schedule, ScheduleActivation, Spend
from shared.domain.ledger.outcomes import Scheduled
from shared.domain.ledger.postings import apply_posting
from shared.domain.ledger.state import Account, Allocation, merged_lot_id, settled_lot_id

T = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
LIFE = 365 * DAY


def _held(account: Account, order: str, amount: int, at: datetime) -> tuple[Account, str]:
    posting = Accrue(amount=amount, source="purchase", ref=order, activates_at=None, expires_at=at + LIFE, order_id=order).posting(account, key=f"accrue:{order}", now=at)
    return apply_posting(account, posting), posting.outcome["lot_id"]


def test_two_held_lots_of_a_day_move_into_one_merged_lot_and_close():
    account = Account(customer_id="c")
    account, first = _held(account, "O1", 100, T)
    account, second = _held(account, "O2", 40, T + timedelta(minutes=5))
    activation = T + 2 * DAY + timedelta(days=14)
    postings = []
    for lot_id, at in ((first, T + 2 * DAY), (second, T + 2 * DAY + timedelta(hours=3))):
        posting = ScheduleActivation(lot_id=lot_id, activates_at=activation if lot_id == first else activation + timedelta(hours=3), merge=True).posting(account, key=f"schedule:{lot_id}", now=at)
        postings.append(posting)
        account = apply_posting(account, posting)
    target = merged_lot_id("purchase", activation, T + LIFE)
    assert set(account.lots) == {target}
    lot = account.lots[target]
    assert (lot.amount, lot.remaining, lot.activates_at, lot.expires_at) == (140, 140, activation + timedelta(hours=3), T + timedelta(minutes=5) + LIFE)  # the later moments win
    assert postings[0].movements == (Debit(first, 100), Credit(target, 100, "purchase", "O1", T, activation, T + LIFE, merge=True))
    assert all(p.delta == 0 for p in postings)
    assert Scheduled.from_stored(postings[1].outcome, replayed=True).lot_now == target
    assert postings[1].outcome["moved"] == 40


def test_a_held_lot_partly_clawed_back_moves_only_its_remainder_and_a_gone_one_moves_nothing():
    account, lot_id = _held(Account(customer_id="c"), "O1", 100, T)
    account = apply_posting(account, Reverse(amount=30, own_lot_id=lot_id, negative_balance="floor").posting(account, key="reverse:O1:R1", now=T))
    posting = ScheduleActivation(lot_id=lot_id, activates_at=T + 14 * DAY, merge=True).posting(account, key="schedule:O1", now=T + DAY)
    assert posting.outcome["moved"] == 70
    gone = ScheduleActivation(lot_id="Lgone", activates_at=T + 14 * DAY, merge=True).posting(account, key="schedule:O9", now=T + DAY)
    assert gone.movements == () and gone.outcome == {"lot_id": "Lgone", "scheduled": False, "activates_at": T + 14 * DAY}


def test_without_merge_or_past_its_expiry_a_held_lot_is_only_scheduled():
    account, lot_id = _held(Account(customer_id="c"), "O1", 100, T)
    plain = ScheduleActivation(lot_id=lot_id, activates_at=T + 14 * DAY).posting(account, key="schedule:O1", now=T + DAY)
    assert plain.movements == (Schedule(lot_id, T + 14 * DAY),)
    assert plain.outcome == {"lot_id": lot_id, "scheduled": True, "activates_at": T + 14 * DAY}  # the stored shape it always had
    late = ScheduleActivation(lot_id=lot_id, activates_at=T + LIFE + DAY, merge=True).posting(account, key="schedule:O1", now=T + LIFE + DAY)
    assert late.movements == (Schedule(lot_id, T + LIFE + DAY),)  # an expired remainder joins no lot


def test_active_merged_lots_fold_into_one_lot_per_expiry_day_and_refunds_come_back_exactly():
    account = Account(customer_id="c")
    for i in range(3):  # paid on one day, delivered on three
        account, lot_id = _held(account, f"O{i}", 100, T + timedelta(minutes=i))
        account = apply_posting(account, ScheduleActivation(lot_id=lot_id, activates_at=T + (1 + i) * DAY, merge=True).posting(account, key=f"schedule:O{i}", now=T + timedelta(minutes=i)))
    assert len(account.lots) == 3  # three activation days
    at = T + 5 * DAY
    spend = Spend(amount=150, order_id="S").posting(account, key="spend:S", now=at)
    account = apply_posting(account, spend)
    allocations = [Allocation.from_dict(a) for a in spend.outcome["allocations"]]
    account, lot_id = _held(account, "O9", 10, at)
    account = apply_posting(account, ScheduleActivation(lot_id=lot_id, activates_at=at - timedelta(hours=1), merge=True).posting(account, key="schedule:O9", now=at))
    settled = settled_lot_id("purchase", T + LIFE)
    assert {lot.id for lot in account.lots.values() if lot.state(at) == "active"} == {settled, settled_lot_id("purchase", at + LIFE)}
    assert account.lots[settled].remaining == 150
    refund = Refund(allocations=allocations, order_id="S").posting(account, key="refund:S", now=at)
    account = apply_posting(account, refund)
    assert account.balances(at).available == 310  # exactly what was spent, back into the lots it came from
    assert {m.lot_id for m in refund.movements if isinstance(m, Credit)} == {a.lot_id for a in allocations}


def test_a_later_activation_of_the_same_day_leaves_active_bonuses_spendable():
    account, first = _held(Account(customer_id="c"), "O1", 100, T)
    account = apply_posting(account, ScheduleActivation(lot_id=first, activates_at=T + timedelta(hours=1), merge=True).posting(account, key="schedule:O1", now=T))
    at = T + timedelta(hours=2)  # the day's merged lot is active now
    account, second = _held(account, "O2", 40, at)
    posting = ScheduleActivation(lot_id=second, activates_at=T + timedelta(hours=5), merge=True).posting(account, key="schedule:O2", now=at)
    account = apply_posting(account, posting)
    balances = account.balances(at)
    assert (balances.available, balances.pending) == (100, 40)  # the active lot folded first: nothing active became pending
    assert account.lots[settled_lot_id("purchase", T + LIFE)].remaining == 100
    assert account.lots[posting.outcome["moved_to"]].remaining == 40
