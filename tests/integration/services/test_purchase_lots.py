"""A buyer's delivered orders share a purchase lot; returns still take back and give back exactly their part."""

from __future__ import annotations

from datetime import datetime, timedelta

from scripts.ledger_audit import run_audit
from shared.adapters import layout
from shared.domain.cart import CartLine
from shared.domain.config import ProgramConfig
from shared.domain.ledger.state import merged_lot_id, settled_lot_id
from shared.presets import load_preset
from shared.services import orders, registration
from shared.services.ledger import audit_account, balances, load_account
from shared.services.ports import Store

LINES = [CartLine(id="kit", price=300_000, quantity=2), CartLine(id="gift", price=90_000, quantity=1)]


def _paid(store: Store, config: ProgramConfig, order_id: str, at: datetime, *, bonuses: int = 0) -> int:
    placed, _ = orders.place_order(store, config=config, customer_id="olga", order_id=order_id, lines=LINES, bonuses=bonuses, now=at)
    orders.mark_paid(store, config=config, order_id=order_id, payment=orders.PaymentRef(provider="test", id=f"pay-{order_id}", amount=placed.money_to_pay), now=at)
    return placed.reserved


def _kit(store: Store, order_id: str) -> dict[str, int]:
    book = store.get(layout.line_book("olga", order_id))
    assert book is not None
    return book["lines"]["kit"]


def _purchase_lots(store: Store) -> dict[str, int]:
    account = load_account(store, "olga")
    assert account is not None
    return {lot.id: lot.remaining for lot in account.lots.values() if lot.source == "purchase"}


def test_delivered_orders_merge_and_partial_returns_stay_exact(store, now):
    config = load_preset("biomiq")
    registration.register_customer(store, config=config, customer_id="olga", now=now)
    for i in range(3):
        _paid(store, config, f"A{i}", now + timedelta(minutes=i))
    assert len(_purchase_lots(store)) == 3  # held, each in its own lot until delivered
    delivered = now + timedelta(days=1)
    for i in range(3):
        orders.mark_delivered(store, config=config, order_id=f"A{i}", delivered_at=delivered, now=delivered, carrier="test")
    activation = delivered + timedelta(days=config.hold_days)
    merged = merged_lot_id("purchase", activation, now + timedelta(days=config.lot_lifetime_days))
    earned = [_kit(store, f"A{i}")["earned"] for i in range(3)]
    total_earned = sum(sum(line["earned"] for line in store.get(layout.line_book("olga", f"A{i}"))["lines"].values()) for i in range(3))
    assert _purchase_lots(store) == {merged: total_earned}  # one lot: the held ones moved in and closed
    assert all(store.get(layout.line_book("olga", f"A{i}"))["earned_lot_id"] == merged for i in range(3))  # the books follow

    # a return while the bonuses are held takes back exactly the returned kit's part, once
    before = balances(store, "olga", delivered)
    orders.mark_returned(store, config=config, order_id="A1", return_id="R1", returns={"kit": 1}, now=delivered + timedelta(hours=1))
    orders.mark_returned(store, config=config, order_id="A1", return_id="R1", returns={"kit": 1}, now=delivered + timedelta(hours=2))
    after = balances(store, "olga", delivered)
    assert before.pending - after.pending == earned[1] // 2
    assert _purchase_lots(store) == {merged: total_earned - earned[1] // 2}

    # a hold later the bonuses are active: a checkout spends from the merged lot, the next delivery folds it
    later = activation + timedelta(hours=1)
    assert _paid(store, config, "B0", later, bonuses=800) == 800  # the welcome bonus first (it expires first), then the merged lot
    book = store.get(layout.line_book("olga", "B0"))
    from_merged = sum(a["amount"] for a in book["spend_allocations"] if a["lot_id"] == merged)
    assert sum(a["amount"] for a in book["spend_allocations"]) == 800 and from_merged > 0
    orders.mark_delivered(store, config=config, order_id="B0", delivered_at=later, now=later, carrier="test")
    settled = settled_lot_id("purchase", now + timedelta(days=config.lot_lifetime_days))
    lots = _purchase_lots(store)
    assert lots[settled] == total_earned - earned[1] // 2 - from_merged and merged not in lots  # the active lot of its expiry day
    b0 = _kit(store, "B0")
    assert b0["spent"] > 0 and b0["earned"] > 0

    # a return of an order whose bonuses folded: its clawback comes from the lot its accrual is in now
    back = balances(store, "olga", later)
    orders.mark_returned(store, config=config, order_id="A2", return_id="R2", returns={"kit": 2}, now=later + timedelta(minutes=5))
    assert _purchase_lots(store)[settled] == lots[settled] - earned[2]
    assert balances(store, "olga", later).available == back.available - earned[2]

    # a partial return of the order that spent: its spent part comes back exactly, its accrual goes exactly
    back = balances(store, "olga", later)
    orders.mark_returned(store, config=config, order_id="B0", return_id="R3", returns={"kit": 1}, now=later + timedelta(minutes=10))
    now_ = balances(store, "olga", later)
    assert now_.available - back.available == b0["spent"] // 2
    assert back.pending - now_.pending == b0["earned"] // 2
    assert audit_account(store, "olga") == []
    assert run_audit(store, customers=["olga"], now=later).ok
