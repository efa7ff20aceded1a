"""Order transitions racing each other: each decides on the order as read in its own transaction.

Two function instances are played by two store objects over the same
emulator (each with its own in-process queue, so they really meet in
Firestore), started together at a barrier. Whatever the interleaving, the
order document and the customer's ledger must agree.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from shared.domain.cart import CartLine, PromoRule
from shared.domain.errors import DomainError, Retryable
from shared.services import orders, promo, registration
from shared.services.ledger import audit_account, balances, postings

pytestmark = pytest.mark.reliability

CART = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=60000, quantity=2)]  # 3 100 ₽
ROUNDS = 4


@pytest.fixture
def instances(store):
    """Two instances of the functions: two store objects over one database."""
    if type(store).__name__ == "FirestoreStore":
        from shared.adapters.firestore_store import FirestoreStore

        return store, FirestoreStore(store.client)
    return store, store


def _client_call(fn: Callable[[], Any], attempts: int = 10) -> Any:
    """A webhook sender: on a retryable refusal it delivers again."""
    for _ in range(attempts):
        try:
            return fn()
        except Retryable as exc:
            time.sleep(min(exc.retry_after_seconds, 0.2))
    raise AssertionError("still contended after redeliveries")


def _together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at once; each result is its return value or the DomainError it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = _client_call(calls[i])
        except DomainError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return results


def _paid_order(store, config, customer_id: str, order_id: str, now) -> dict[str, Any]:
    registration.register_customer(store, config=config, customer_id=customer_id, now=now)
    record, _ = orders.place_order(store, config=config, customer_id=customer_id, order_id=order_id, lines=CART, bonuses=500, now=now)
    return orders.mark_paid(store, config=config, order_id=order_id, payment=orders.PaymentRef(provider="test", id=f"p-{order_id}", amount=record.money_to_pay), now=now)


def test_two_different_partial_refunds_at_once_both_count(instances, biomiq, now):
    a, b = instances
    for n in range(ROUNDS):
        customer, order_id = f"c{n}", f"A{n}"
        paid = _paid_order(a, biomiq, customer, order_id, now)
        assert (paid.status, paid.bonuses_spent, paid.points_earned) == ("paid", 500, 130)

        first, second = _together(
            lambda order_id=order_id: orders.mark_returned(a, config=biomiq, order_id=order_id, return_id="R1", returns={"cream": 1}, now=now),
            lambda order_id=order_id: orders.mark_returned(b, config=biomiq, order_id=order_id, return_id="R2", returns={"cream": 1, "serum": 1}, now=now),
        )
        assert not isinstance(first, Exception) and not isinstance(second, Exception), (first, second)

        order = orders.get_order(a, order_id)
        assert order.returned_units == {"cream": 2, "serum": 1}
        assert order.status == "returned"  # decided on both returns, not on the last one alone
        returns = [e for e in order.events if e.type == "return"]
        assert sorted(e.key for e in returns) == ["return:R1", "return:R2"]
        assert sum(e.spent_back for e in returns) == 500
        assert sum(e.earned_back for e in returns) == 130
        book = a.get(f"customers/{customer}/orders/{order_id}")
        assert {line_id: line["returned"] for line_id, line in book["lines"].items()} == order.returned_units
        b_now = balances(a, customer, now)
        assert (b_now.available, b_now.reserved, b_now.pending, b_now.total) == (500, 0, 0, 500)
        assert audit_account(a, customer) == []

        # both again, now one after the other: replays change nothing
        for store, rid, units in ((a, "R1", {"cream": 1}), (b, "R2", {"cream": 1, "serum": 1})):
            assert orders.mark_returned(store, config=biomiq, order_id=order_id, return_id=rid, returns=units, now=now).returned_units == {"cream": 2, "serum": 1}
        assert audit_account(a, customer) == []


def test_a_payment_racing_the_timeout_settles_the_order_once(instances, biomiq, now):
    """Whichever commits first, the order ends paid once: a timeout that wins gives the bonuses and
    the promo use back, and the payment, decided on the canceled order, takes them again."""
    a, b = instances
    promo.create_discount(a, rule=PromoRule(code="SPRING10", kind="percent", percent=Decimal(10)), now=now)
    outcomes = Counter()
    for n in range(ROUNDS):
        customer, order_id = f"c{n}", f"A{n}"
        registration.register_customer(a, config=biomiq, customer_id=customer, now=now)
        record, _ = orders.place_order(a, config=biomiq, customer_id=customer, order_id=order_id, lines=CART, bonuses=500, promo_code="spring10", now=now)
        assert (record.bonuses_reserved, record.promo_code) == (500, "SPRING10")
        payment = orders.PaymentRef(provider="test", id=f"p-{order_id}", amount=record.money_to_pay)

        paying, canceling = _together(
            lambda order_id=order_id, payment=payment: orders.mark_paid(a, config=biomiq, order_id=order_id, payment=payment, now=now),
            lambda order_id=order_id: orders.mark_canceled(b, order_id=order_id, now=now, reason="timeout"),
        )

        order = orders.get_order(a, order_id)
        book = a.get(f"customers/{customer}/orders/{order_id}")
        kinds = Counter(p.kind for p in postings(a, customer, limit=100))
        usage = a.get(f"promo_codes/SPRING10/customers/{customer}") or {"orders": []}
        held = balances(a, customer, now)
        assert isinstance(paying, orders.Order) and paying.status == "paid", paying
        assert not isinstance(canceling, Exception), canceling
        assert order.status == "paid"
        timeout_first = canceling.status == "canceled"
        outcomes[timeout_first] += 1
        # the timeout committed first: the payment settled the canceled order; else the timeout changed nothing
        assert [e.type for e in order.events] == (["canceled", "paid"] if timeout_first else ["paid"])
        assert (order.money_paid, order.bonuses_spent, order.bonuses_shortfall) == (record.money_to_pay, 500, None)
        assert book is not None and sum(line["paid"] for line in book["lines"].values()) == record.money_to_pay
        assert (kinds["spend"], kinds["purchase"], kinds["release"]) == (1, 1, int(timeout_first))
        assert (held.available, held.reserved, held.pending) == (0, 0, order.points_earned)
        assert usage["orders"] == [order_id]
        assert audit_account(a, customer) == []
    assert sum(outcomes.values()) == ROUNDS
    assert promo.get(a, "SPRING10").uses == ROUNDS


def test_a_late_cancellation_of_a_paid_order_changes_nothing_and_a_late_payment_is_decided_once(store, biomiq, now):
    paid = _paid_order(store, biomiq, "anna", "A1", now)
    assert orders.mark_canceled(store, order_id="A1", now=now, reason="timeout").status == "paid"
    assert balances(store, "anna", now).pending == paid.points_earned
    registration.register_customer(store, config=biomiq, customer_id="boris", now=now)
    record, _ = orders.place_order(store, config=biomiq, customer_id="boris", order_id="B1", lines=CART, bonuses=500, now=now)
    orders.mark_canceled(store, order_id="B1", now=now, reason="timeout")
    orders.place_order(store, config=biomiq, customer_id="boris", order_id="B2", lines=CART, bonuses=500, now=now)  # the 500 go to B2
    late = orders.PaymentRef(provider="test", id="p-B1", amount=record.money_to_pay)
    for _ in range(2):
        refused = orders.mark_paid(store, config=biomiq, order_id="B1", payment=late, now=now)
        assert refused.status == "canceled" and [e.type for e in refused.events] == ["canceled", "refund_due"]
    assert refused.recorded("paid:p-B1").reason == "bonuses_gone"
    assert store.get("customers/boris/orders/B1") is None
    assert (balances(store, "boris", now).available, balances(store, "boris", now).reserved) == (0, 500)
    assert audit_account(store, "anna") == [] and audit_account(store, "boris") == []
