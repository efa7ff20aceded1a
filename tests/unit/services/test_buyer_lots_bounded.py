"""A busy buyer's account stays bounded: ten orders a day for a year, paid, delivered, some returned.

A purchase accrues held at the payment (its own lot); the delivery schedules its activation,
and the held remainder moves into the open lot of (source, activation day, expiry day), while
the purchase lots active by then fold into the one active lot of their expiry day. So the
account holds at most one active purchase lot per expiry day, plus the pending lots of the
hold window, however many orders it pays. Returns stay exact: the spent bonuses go back into
the lots the spend named, and the clawback takes exactly the order's part, starting from the
lot its accrual moved into (the line book follows the move).

The year runs through the ledger's commands (the account as the store keeps it); the service
path — checkout, payment, delivery, partial return — runs on the store below at a smaller size.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from msgspec import Struct

from shared.adapters import layout
from shared.adapters.memory_store import MemoryStore
from shared.domain.cart import CartLine
from shared.domain.ledger import Accrue, Allocation, Credit, Debit, Expire, Refund, Reverse, ScheduleActivation, Spend
from shared.domain.ledger.commands import Command
from shared.domain.ledger.postings import Posting, apply_posting
from shared.domain.ledger.state import Account, merged_lot_id, settled_lot_id
from shared.presets import load_preset
from shared.services import orders, registration
from shared.services.ledger import audit_account, balances, load_account
from tests.conftest import NOW

DAYS = 365
ORDERS_A_DAY = 10
LIFETIME = 365
HOLD = 14
DELIVERY_SPREAD = 7  # an order is delivered 1 to 7 days after its payment
# One active purchase lot per expiry day still ahead (and one across the day's boundary), plus the
# pending lots: an activation day of the hold window times the payment days delivered on it.
LOT_BOUND = LIFETIME + 2 + (HOLD + 1) * DELIVERY_SPREAD
BYTES_BOUND = 160 * 1024  # the account document at its bound: far under Firestore's 1 MiB
# Without the move, one purchase lot per (payment day, delivery day) would stay open: about
# LIFETIME * DELIVERY_SPREAD of them, and an order's own lot each before merging at all.


def _document_bytes(account: Account) -> int:
    return len(json.dumps(account.to_dict(), default=str).encode())


class Book(Struct):
    """What the order's line book keeps for a return: the accrual's lot and the spend's allocations."""

    order_id: str
    earned: int
    lot_id: str
    allocations: list[Allocation]
    paid_at: datetime


class Buyer:
    def __init__(self) -> None:
        self.account = Account(customer_id="b2b")
        self.credited = self.spent = self.refunded = self.reversed = self.expired = 0
        self.most_lots = 0
        self.from_own = 0  # clawbacks paid by the accrual's own lot

    def post(self, key: str, command: Command[object], at: datetime) -> Posting:
        posting = command.posting(self.account, key=key, now=at)
        self.account = apply_posting(self.account, posting)
        self.most_lots = max(self.most_lots, len(self.account.lots))
        return posting

    def pay(self, order_id: str, earned: int, at: datetime) -> Book:
        allocations: list[Allocation] = []
        if self.account.balances(at).available >= 150 and order_id.endswith("7"):
            spend = self.post(f"spend:{order_id}", Spend(amount=150, order_id=order_id), at)
            allocations = [Allocation.from_dict(a) for a in spend.outcome["allocations"]]
            self.spent += 150
        accrual = self.post(f"accrue:{order_id}", Accrue(amount=earned, source="purchase", ref=order_id, activates_at=None, expires_at=at + timedelta(days=LIFETIME), order_id=order_id), at)
        self.credited += earned
        return Book(order_id, earned, accrual.outcome["lot_id"], allocations, at)

    def deliver(self, book: Book, at: datetime) -> None:
        activation = at + timedelta(days=HOLD)
        posting = self.post(f"schedule:{book.order_id}", ScheduleActivation(lot_id=book.lot_id, activates_at=activation, merge=True), at)
        moved_to = posting.outcome["moved_to"]
        assert moved_to == merged_lot_id("purchase", activation, book.paid_at + timedelta(days=LIFETIME))
        assert posting.delta == 0 and posting.outcome["moved"] == book.earned  # a move creates and loses nothing
        assert book.lot_id not in self.account.lots  # the held lot closed
        book.lot_id = moved_to  # the line book follows the move
        active = [lot for lot in self.account.lots.values() if lot.state(at) == "active"]
        assert {lot.id for lot in active} == {settled_lot_id("purchase", lot.expires_at) for lot in active}  # one active lot per expiry day

    def give_back_half(self, book: Book, at: datetime) -> None:
        """A partial return: half of each spent part back into its own lot, half the accrual taken back."""
        parts = [Allocation(a.lot_id, a.amount // 2, a.expires_at, a.source, a.accrued_at) for a in book.allocations if a.amount // 2]
        if parts:
            refund = self.post(f"refund:{book.order_id}", Refund(allocations=parts, order_id=book.order_id), at)
            credits = [(m.lot_id, m.amount) for m in refund.movements if isinstance(m, Credit)]
            assert credits == [(a.lot_id, a.amount) for a in parts]  # exactly the spend's lots, exactly its parts
            assert refund.outcome["refunded"] == sum(a.amount for a in parts)
            self.refunded += refund.outcome["refunded"]
        back = book.earned // 2
        # the lot the accrual is in: the merged lot it moved into, or, once active, the lot of its expiry day
        lot_id = book.lot_id if book.lot_id in self.account.lots else settled_lot_id("purchase", book.paid_at + timedelta(days=LIFETIME))
        own = self.account.lots.get(lot_id)
        reverse = self.post(f"reverse:{book.order_id}", Reverse(amount=back, own_lot_id=lot_id, negative_balance="floor", order_id=book.order_id), at)
        assert reverse.outcome["reversed"] == back  # exactly the order's part
        debits = [(m.lot_id, m.amount) for m in reverse.movements if isinstance(m, Debit)]
        if own is not None and own.remaining >= back:  # unless spends emptied it (earliest expiry first)
            assert debits == [(lot_id, back)]  # from the lot the accrual is in
            self.from_own += 1
        self.reversed += back

    def sweep(self, at: datetime) -> None:
        for lot in [lot for lot in self.account.lots.values() if lot.expires_at <= at]:
            self.expired += self.post(f"expire:{lot.id}:{self.account.seq}", Expire(lot_id=lot.id), at).outcome["expired"]


def test_ten_orders_a_day_for_a_year_keep_the_buyer_account_bounded():
    buyer = Buyer()
    deliveries: dict[int, list[Book]] = {}
    returns: dict[int, list[Book]] = {}
    tail = DELIVERY_SPREAD + HOLD + 4  # the last deliveries and returns
    for day in range(DAYS + tail):
        for i in range(ORDERS_A_DAY):
            at = NOW + timedelta(days=day, minutes=47 * i)
            for book in deliveries.pop(day * ORDERS_A_DAY + i, []):
                buyer.deliver(book, at)
            for book in returns.pop(day * ORDERS_A_DAY + i, []):
                buyer.give_back_half(book, at)
            if day < DAYS:
                n = day * ORDERS_A_DAY + i
                book = buyer.pay(f"B{n}", 40 + n % 37, at)
                delay = 1 + n % DELIVERY_SPREAD  # deliveries of one day come from payments of seven days
                deliveries.setdefault(n + delay * ORDERS_A_DAY, []).append(book)
                if n % 9 == 4:  # some orders come back in part, after their bonuses are active
                    returns.setdefault(n + (delay + HOLD + 3) * ORDERS_A_DAY, []).append(book)
        buyer.sweep(NOW + timedelta(days=day, hours=23))
        assert _document_bytes(buyer.account) <= BYTES_BOUND if day % 30 == 0 else True
    assert not deliveries and not returns
    assert buyer.from_own > DAYS * ORDERS_A_DAY // 9 // 2  # most clawbacks start from the accrual's own lot
    assert LIFETIME - HOLD <= buyer.most_lots <= LOT_BOUND  # the bound is reached, never passed
    assert _document_bytes(buyer.account) <= BYTES_BOUND
    end = NOW + timedelta(days=DAYS + tail)
    total = buyer.account.balances(end).total + buyer.account.balances(end).expired_unswept
    assert total == buyer.credited - buyer.spent + buyer.refunded - buyer.reversed - buyer.expired  # the moves lose and double nothing
    for lot in list(buyer.account.lots.values()):  # a year on, every lot has expired
        buyer.post(f"expire:{lot.id}", Expire(lot_id=lot.id), end + timedelta(days=LIFETIME + 1))
    assert buyer.account.lots == {}


def _order(store: MemoryStore, config, order_id: str, at: datetime, *, bonuses: int = 0) -> None:
    lines = [CartLine(id="kit", price=300_000, quantity=2), CartLine(id="gift", price=90_000, quantity=1)]
    placed, _ = orders.place_order(store, config=config, customer_id="b2b", order_id=order_id, lines=lines, bonuses=bonuses, now=at)
    orders.mark_paid(store, config=config, order_id=order_id, payment=orders.PaymentRef(provider="test", id=f"pay-{order_id}", amount=placed.money_to_pay), now=at)


def test_delivered_orders_share_a_purchase_lot_and_a_partial_return_takes_back_exactly_its_part():
    config = load_preset("biomiq")
    store = MemoryStore()
    registration.register_customer(store, config=config, customer_id="b2b", now=NOW)
    for i in range(20):  # two days of payments, all delivered the third day
        _order(store, config, f"P{i}", NOW + timedelta(days=i // 10, minutes=i % 10))
    held = load_account(store, "b2b")
    assert held is not None and len([lot for lot in held.lots.values() if lot.source == "purchase"]) == 20  # each held in its own lot
    delivered_at = NOW + timedelta(days=2)
    for i in range(20):
        orders.mark_delivered(store, config=config, order_id=f"P{i}", delivered_at=delivered_at, now=delivered_at, carrier="test")
    account = load_account(store, "b2b")
    assert account is not None
    purchase = {lot.id: lot for lot in account.lots.values() if lot.source == "purchase"}
    activation = delivered_at + timedelta(days=config.hold_days)
    expected = {merged_lot_id("purchase", activation, NOW + timedelta(days=d, minutes=9) + timedelta(days=config.lot_lifetime_days)) for d in (0, 1)}
    assert set(purchase) == expected  # one lot per payment day: the held lots moved in
    earned = {f"P{i}": store.get(layout.line_book("b2b", f"P{i}"))["lines"] for i in range(20)}
    per_order = {o: sum(line["earned"] for line in lines.values()) for o, lines in earned.items()}
    assert sum(lot.remaining for lot in purchase.values()) == sum(per_order.values())
    book = store.get(layout.line_book("b2b", "P3"))
    assert book["earned_lot_id"] in expected  # the line book follows its accrual
    before = balances(store, "b2b", delivered_at).pending
    orders.mark_returned(store, config=config, order_id="P3", return_id="R1", returns={"kit": 1}, now=delivered_at + timedelta(hours=1))
    after = balances(store, "b2b", delivered_at).pending
    assert before - after == earned["P3"]["kit"]["earned"] // 2  # one of two kits: exactly half the kit's bonuses
    assert audit_account(store, "b2b") == []
    # the bonuses activate a hold later: the next delivery folds the active lots into one per expiry day
    later = activation + timedelta(hours=1)
    _order(store, config, "P20", later)
    orders.mark_delivered(store, config=config, order_id="P20", delivered_at=later, now=later, carrier="test")
    account = load_account(store, "b2b")
    assert account is not None
    active = [lot for lot in account.lots.values() if lot.source == "purchase" and lot.state(later) == "active"]
    assert {lot.id for lot in active} == {settled_lot_id("purchase", lot.expires_at) for lot in active}
    assert len(active) == 2 and sum(lot.remaining for lot in active) == sum(per_order.values()) - (before - after)
    assert audit_account(store, "b2b") == []
