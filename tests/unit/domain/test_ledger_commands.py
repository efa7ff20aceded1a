"""The ledger's typed commands, movements, outcomes and postings, against their stored forms."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from msgspec import structs

from shared.adapters.memory_store import MemoryStore
from shared.domain.errors import IdempotencyConflict, InsufficientBonuses
from shared.domain.ledger import (
    COMMANDS,
    Account,
    Accrue,
    Accrued,
    Adjust,
    Allocation,
    ChangeGroup,
    Command,
    Credit,
    Debit,
    Debt,
    Expire,
    GroupChange,
    Hold,
    LevelChange,
    LevelOverrideChange,
    Note,
    Noted,
    OpenAccount,
    OverrideLevel,
    Posting,
    Purchase,
    RecordPurchase,
    Refund,
    Release,
    Reservation,
    Reserve,
    Reverse,
    Schedule,
    ScheduleActivation,
    Seize,
    SetLevel,
    Spend,
    Spent,
    TrimWindow,
    Unhold,
    apply_posting,
    movement_from_dict,
)
from shared.services.ledger import all_postings, audit_account, load_account, post

UTC = timezone.utc
T = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
A1 = Allocation("Labc", 40, T + 365 * DAY, "purchase", T)
A2 = Allocation("Ldef", 2, T, "welcome", T)


# Fingerprints of these intents as stored postings already carry them: a stored posting must
# keep replaying, so a command's fingerprint may never change for the same intent.
PINNED: list[tuple[Command[Any], str]] = [
    (Accrue(amount=100, source="purchase", ref="O-1", activates_at=None, expires_at=T + 365 * DAY, order_id="O-1"), "643b2184055311bbd4104642d9b3d8a4c4d4a683"),
    (Accrue(amount=7, source="welcome", ref="", activates_at=T, expires_at=T + 30 * DAY), "4a6cc925a392faa77799f9d6ddd940bd6702528c"),
    (ScheduleActivation(lot_id="Labc", activates_at=T), "0604cb8fd44b5df90fd0bb7815edd9408bf1fc21"),
    (Reserve(reservation_id="O-2", amount=50, release_after=T), "5032193a1dffb851707234899e5b7542968a6cd2"),
    (Release(reservation_id="O-2"), "f5036c6e97188e3e2bb6203f8f3e1601a4afa6fa"),
    (Spend(amount=50, order_id="O-2", reservation_id="O-2"), "121e9ced757efe770e51786e976ae755ef62ea53"),
    (Spend(amount=5), "c84b24a159fa50c86cb65e161fb8b676d3eff5fe"),
    (Refund(allocations=[A1, A2], order_id="O-2"), "3e662615aa52d9d82f68174d07a3bad0e7ce2545"),
    (Reverse(amount=30, own_lot_id="Labc", negative_balance="floor", order_id="O-1"), "c1ea8d1c90e21941a977b41ca7a42633b40bfb66"),
    (Reverse(amount=30, own_lot_id=None, negative_balance="allow_negative"), "9e12231dbc3e2a772568a9ecb83a9891f7eb152d"),
    (Expire(lot_id="Labc"), "47297d14242ad16e380e2481eb1f13742cd0666f"),
    (Adjust(amount=-20, actor="olga@shop.example", reason="ошибка", expires_at=T), "12927906b5a1d46560a17978022c518231dd04ed"),
    (RecordPurchase(amount=150000, order_id="O-1", level="level2"), "1fc39672db178802df297f0cf2feb181571ab895"),
    (SetLevel(level="level1", reason="rolling window", trim_before=T.date()), "9c3670c8a344a7edb9819aacaeae3254420702c4"),
    (OpenAccount(group="b2c", level="level1"), "54ac260e4085de42526906b0e0a2ca6f6b71b225"),
    (Note(data={"x": 1}), "ebc7becb0d7f3b8124a391c5caf564476f9754b1"),
    (OverrideLevel(level=None, actor="olga@shop.example", reason="VIP"), "fc23d92ff74c1eecf71cf51c755e11f191eb8c44"),
    (ChangeGroup(group="b2b", actor="olga@shop.example", reason="опт"), "2b6a4ac4369a8ac3c1564f67a7994efd199adf59"),
]


@pytest.mark.parametrize(("command", "expected"), PINNED, ids=[f"{c.kind}-{i}" for i, (c, _) in enumerate(PINNED)])
def test_a_commands_fingerprint_is_the_one_stored_postings_carry(command: Command[Any], expected: str) -> None:
    assert command.fingerprint() == expected


def test_every_kind_has_one_command_and_every_pinned_kind_is_covered() -> None:
    assert {kind: c.kind for kind, c in COMMANDS.items()} == {kind: kind for kind in COMMANDS}
    assert {c.kind for c, _ in PINNED} == set(COMMANDS)


def test_values_derived_from_the_clock_stay_out_of_the_intent() -> None:
    accrue = Accrue(amount=100, source="purchase", ref="O-1", activates_at=None, expires_at=T + 365 * DAY, order_id="O-1")
    assert structs.replace(accrue, expires_at=T + 400 * DAY, activates_at=T).fingerprint() == accrue.fingerprint()
    reserve = Reserve(reservation_id="O-2", amount=50, release_after=T)
    assert structs.replace(reserve, release_after=T + DAY).fingerprint() == reserve.fingerprint()
    refund = Refund(allocations=[A1], order_id="O-2")
    assert Refund(allocations=[structs.replace(A1, source="other", expires_at=T)], order_id="O-2").fingerprint() == refund.fingerprint()
    assert structs.replace(accrue, amount=101).fingerprint() != accrue.fingerprint()


def test_a_reservation_of_one_source_holds_only_lots_of_that_source() -> None:
    store = MemoryStore()
    post(store, "maria", "welcome", Accrue(amount=500, source="welcome", ref="", activates_at=T, expires_at=T + 30 * DAY), now=T)  # expires first
    reward = post(store, "maria", "referral", Accrue(amount=300, source="referral", ref="A1", activates_at=T, expires_at=T + 365 * DAY), now=T).lot_id
    with pytest.raises(InsufficientBonuses):
        post(store, "maria", "payout:x", Reserve(reservation_id="payout:x", amount=301, release_after=T + DAY, source="referral"), now=T)
    post(store, "maria", "payout:y", Reserve(reservation_id="payout:y", amount=300, release_after=T + DAY, source="referral"), now=T)
    account = load_account(store, "maria")
    assert [(a.lot_id, a.amount) for a in account.reservations["payout:y"].allocations] == [(reward, 300)]
    assert account.balances(T).available == 500
    bound = Reserve(reservation_id="O-2", amount=50, release_after=T, source="referral")
    assert bound.fingerprint() != Reserve(reservation_id="O-2", amount=50, release_after=T).fingerprint()


def test_a_clawback_reaches_held_bonuses_payout_requests_first() -> None:
    store = MemoryStore()
    welcome = post(store, "maria", "welcome", Accrue(amount=100, source="welcome", ref="", activates_at=T, expires_at=T + 30 * DAY), now=T).lot_id
    r1 = post(store, "maria", "referral:1", Accrue(amount=500, source="referral", ref="A1", activates_at=T, expires_at=T + 200 * DAY), now=T).lot_id
    post(store, "maria", "reserve:O-1", Reserve(reservation_id="O-1", amount=100, release_after=T + DAY), now=T)  # a checkout holds the welcome bonus
    post(store, "maria", "payout:p", Reserve(reservation_id="payout:p", amount=500, release_after=T + 3650 * DAY, source="referral"), now=T)  # a payout holds R1
    r2 = post(store, "maria", "referral:2", Accrue(amount=300, source="referral", ref="A2", activates_at=T, expires_at=T + 300 * DAY), now=T).lot_id
    assert load_account(store, "maria").balances(T).available == 300

    clawback = Reverse(amount=700, own_lot_id=r1, negative_balance="floor", order_id="ref-a-A1", prefer_source="referral", holds_first="payout:")
    outcome = post(store, "maria", "reverse:1", clawback, now=T)
    # R1's free part (none), the other rewards (R2), then the payout holding R1; the checkout is untouched
    assert (outcome.reversed, outcome.forgiven, dict(outcome.from_holds)) == (700, 0, {"payout:p": 400})
    account = load_account(store, "maria")
    assert r2 not in account.lots and account.reservations["payout:p"].amount == 100 and account.reservations["O-1"].amount == 100
    assert [(a.lot_id, a.amount) for a in account.reservations["payout:p"].allocations] == [(r1, 100)]

    rest = post(store, "maria", "reverse:2", Reverse(amount=300, own_lot_id=None, negative_balance="floor", holds_first="payout:"), now=T)
    assert (rest.reversed, rest.forgiven, dict(rest.from_holds)) == (200, 100, {"payout:p": 100, "O-1": 100})  # payout first, then the checkout, then forgiven
    assert load_account(store, "maria").reservations == {} and welcome not in load_account(store, "maria").lots
    assert audit_account(store, "maria") == []
    history = list(all_postings(store, "maria"))
    assert sum(p.delta for p in history) == 0  # every bonus credited was taken back or forgiven
    assert clawback.fingerprint() != structs.replace(clawback, prefer_source=None).fingerprint()
    assert structs.replace(clawback, holds_first=None).fingerprint() == clawback.fingerprint()


# Each movement and EXACTLY the dict the posting document stores for it.
STORED: list[tuple[Any, dict[str, Any]]] = [
    (Credit("L1", 10, "purchase", "O-1", T, None, T + DAY), {"op": "credit", "lot_id": "L1", "amount": 10, "source": "purchase", "ref": "O-1", "accrued_at": T, "activates_at": None,
        "expires_at": T + DAY}),
    (Debit("L1", 4), {"op": "debit", "lot_id": "L1", "amount": 4}),
    (Schedule("L1", T + DAY), {"op": "schedule", "lot_id": "L1", "activates_at": T + DAY}),
    (
        Hold(Reservation("O-2", 42, [A1, A2], T, T + DAY)),
        {
            "op": "hold",
            "reservation": {
                "id": "O-2",
                "amount": 42,
                "allocations": [
                    {"lot_id": "Labc", "amount": 40, "expires_at": T + 365 * DAY, "source": "purchase", "accrued_at": T},
                    {"lot_id": "Ldef", "amount": 2, "expires_at": T, "source": "welcome", "accrued_at": T},
                ],
                "created_at": T,
                "release_after": T + DAY,
            },
        },
    ),
    (Unhold("O-2", (A2,)), {"op": "unhold", "reservation_id": "O-2", "restore": [{"lot_id": "Ldef", "amount": 2, "expires_at": T, "source": "welcome", "accrued_at": T}]}),
    (Unhold("O-3", ()), {"op": "unhold", "reservation_id": "O-3", "restore": []}),
    (Seize("payout:p", (A2,)), {"op": "seize", "reservation_id": "payout:p", "taken": [{"lot_id": "Ldef", "amount": 2, "expires_at": T, "source": "welcome", "accrued_at": T}]}),
    (Debt(-5), {"op": "debt", "delta": -5}),
    (Purchase(-15000, "2026-01-01"), {"op": "purchase", "amount": -15000, "day": "2026-01-01"}),
    (TrimWindow(("2025-01-01", "2025-01-02")), {"op": "trim_window", "days": ["2025-01-01", "2025-01-02"]}),
    (LevelChange(None, "level1"), {"op": "level", "from": None, "to": "level1"}),
    (LevelOverrideChange("level1", None), {"op": "level_override", "from": "level1", "to": None}),
    (GroupChange("b2c", opening=True), {"op": "group", "to": "b2c"}),
    (GroupChange("b2b", "b2c"), {"op": "group", "from": "b2c", "to": "b2b"}),
    (GroupChange("b2b", None), {"op": "group", "from": None, "to": "b2b"}),
]


@pytest.mark.parametrize(("movement", "stored"), STORED, ids=[f"{m.op}-{i}" for i, (m, _) in enumerate(STORED)])
def test_a_movement_converts_to_and_from_exactly_its_stored_dict(movement: Any, stored: dict[str, Any]) -> None:
    assert movement.to_dict() == stored
    assert list(movement.to_dict()) == list(stored)  # the same fields, in the same order
    assert movement_from_dict(stored) == movement
    assert movement.op == stored["op"]  # the type names its stored op


def test_an_unknown_movement_is_refused() -> None:
    with pytest.raises(AssertionError):
        movement_from_dict({"op": "teleport"})


def test_a_posting_is_frozen_complete_and_round_trips_its_stored_document() -> None:
    account = Account(customer_id="anna", seq=4)
    posting = Accrue(amount=10, source="welcome", ref="anna", activates_at=T, expires_at=T + DAY, order_id="O-1").posting(account, key="welcome:anna", now=T)
    assert (posting.customer_id, posting.seq, posting.kind, posting.order_id) == ("anna", 5, "accrue", "O-1")
    with pytest.raises(AttributeError):
        posting.seq = 9  # type: ignore[misc]
    stored = posting.to_dict()
    assert list(stored) == ["key", "kind", "at", "fingerprint", "movements", "outcome", "customer_id", "seq", "order_id", "actor", "reason"]
    assert stored["outcome"] == {"lot_id": posting.movements[0].lot_id, "accrued": 10, "debt_repaid": 0}
    assert stored["movements"] == [m.to_dict() for m in posting.movements]
    again = Posting.from_dict(stored)
    assert again == posting and again.to_dict() == stored
    assert apply_posting(account, again).to_dict() == apply_posting(account, posting).to_dict()


def _seeded(store: MemoryStore) -> None:
    post(store, "c1", "open", OpenAccount(group="b2c", level="level1"), now=T)
    post(store, "c1", "fund", Accrue(amount=500, source="welcome", ref="c1", activates_at=T, expires_at=T + 365 * DAY), now=T)


def _commands() -> list[tuple[str, Command[Any]]]:
    """One command of every kind that applies to the seeded account, in an order that works."""
    return [
        ("a", Accrue(amount=100, source="purchase", ref="O-1", activates_at=None, expires_at=T + 200 * DAY, order_id="O-1")),
        ("s", ScheduleActivation(lot_id="Lnone", activates_at=T + DAY)),
        ("r", Reserve(reservation_id="O-2", amount=60, release_after=T + DAY)),
        ("sp", Spend(amount=50, order_id="O-2", reservation_id="O-2")),
        ("r3", Reserve(reservation_id="O-3", amount=10, release_after=T + DAY)),
        ("rel", Release(reservation_id="O-3")),
        ("rv", Reverse(amount=20, own_lot_id=None, negative_balance="floor", order_id="O-1")),
        ("x", Expire(lot_id="Lgone")),
        ("ad", Adjust(amount=5, actor="olga", reason="gift", expires_at=T + 30 * DAY)),
        ("p", RecordPurchase(amount=10000, order_id="O-1", level="level2")),
        ("lv", SetLevel(level="level1", reason="rolling window", trim_before=date(2026, 1, 1))),
        ("n", Note(data={"earned_back": 0, "referrer_id": None})),
        ("lo", OverrideLevel(level="level3", actor="olga", reason="VIP")),
        ("g", ChangeGroup(group="b2b", actor="olga", reason="опт")),
    ]


def test_a_replay_answers_the_first_outcome_typed_and_writes_nothing() -> None:
    store = MemoryStore()
    _seeded(store)
    firsts = {key: post(store, "c1", key, command, now=T + DAY) for key, command in _commands()}
    spend = post(store, "c1", "sp2", Spend(amount=30, order_id="O-9"), now=T + DAY)
    refund = Refund(allocations=spend.allocations, order_id="O-9")
    firsts["rf"] = post(store, "c1", "rf", refund, now=T + DAY)
    assert all(not o.replayed for o in firsts.values())
    before = (store.get("customers/c1"), [p.to_dict() for p in all_postings(store, "c1")])

    for key, command in [*_commands(), ("rf", refund)]:
        again = post(store, "c1", key, command, now=T + 2 * DAY)
        assert type(again) is type(firsts[key]) is command.outcome_type
        assert again.replayed is True
        assert structs.replace(again, replayed=False) == firsts[key]
    assert (store.get("customers/c1"), [p.to_dict() for p in all_postings(store, "c1")]) == before
    assert audit_account(store, "c1") == []


def test_a_replayed_spend_gives_back_typed_allocations() -> None:
    store = MemoryStore()
    _seeded(store)
    first = post(store, "c1", "spend:1", Spend(amount=70, order_id="O-1"), now=T + DAY)
    again = post(store, "c1", "spend:1", Spend(amount=70, order_id="O-1"), now=T + 2 * DAY)
    assert isinstance(again, Spent) and again.replayed
    assert again.allocations == first.allocations and all(isinstance(a, Allocation) for a in again.allocations)
    note = post(store, "c1", "note:1", Note(data={"done": True}), now=T)
    assert post(store, "c1", "note:1", Note(data={"other": 1}), now=T) == Noted(data={"done": True}, replayed=True) != note


def test_another_intent_or_kind_under_a_used_key_is_a_conflict_and_changes_nothing() -> None:
    store = MemoryStore()
    _seeded(store)
    accrue = Accrue(amount=100, source="purchase", ref="O-1", activates_at=T, expires_at=T + 200 * DAY, order_id="O-1")
    first = post(store, "c1", "a", accrue, now=T)
    assert isinstance(first, Accrued)
    before = (store.get("customers/c1"), [p.to_dict() for p in all_postings(store, "c1")])
    for other in (structs.replace(accrue, amount=101), structs.replace(accrue, order_id="O-2"), Spend(amount=100), Note(data={})):
        with pytest.raises(IdempotencyConflict):
            post(store, "c1", "a", other, now=T)
    assert (store.get("customers/c1"), [p.to_dict() for p in all_postings(store, "c1")]) == before
