"""Test helpers shared by the delivery, sweep and referral function tests: paid orders, auth headers."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Any

from shared.adapters import layout
from shared.domain.cart import CartLine
from shared.edge import entry
from shared.edge.scheduler_auth import SECRET_HEADER
from shared.services import orders, registration
from shared.services.ledger import postings
from tests.conftest import TEST_ENV

CART = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=60000, quantity=2)]
TO_PAY = 260000  # 3 100 ₽ less 500 bonuses
EARNED = 130  # 5 % of 2 600 ₽ on the first level
SWEEP = {SECRET_HEADER: TEST_ENV["KOPILKA_SWEEP_SECRET"]}


def now() -> datetime:
    return datetime.now(timezone.utc)  # the functions read the real (or time-machine's) clock


def config(at: datetime | None = None):
    return entry.config(at or now())


def customer(store, customer_id: str, *, at: datetime | None = None, invited_by: str | None = None) -> registration.Registration:
    at = at or now()
    return registration.register_customer(store, config=config(at), customer_id=customer_id, now=at, invited_by=invited_by)


def paid_order(store, order_id: str = "A1", customer_id: str = "anna", *, lines: list[CartLine] = CART, bonuses: int = 500, at: datetime | None = None, register: bool = True,
    invited_by: str | None = None) -> dict[str, Any]:
    """A customer (registered with her welcome bonus unless told otherwise) places and pays an order."""
    at = at or now()
    cfg = config(at)
    if register:
        registration.register_customer(store, config=cfg, customer_id=customer_id, now=at, invited_by=invited_by)
    record, _ = orders.place_order(store, config=cfg, customer_id=customer_id, order_id=order_id, lines=lines, bonuses=bonuses, now=at)
    return orders.mark_paid(store, config=cfg, order_id=order_id, payment=orders.PaymentRef(provider="test", id=f"p-{order_id}", amount=record.money_to_pay), now=at)


def events(store, order_id: str, kind: str | None = None) -> list[dict[str, Any]]:
    stored = store.get(layout.order(order_id)) or {}  # the events as stored
    return [e for e in stored.get("events", []) if kind is None or e["type"] == kind]


def posting_kinds(store, customer_id: str) -> Counter:
    return Counter(p.kind for p in postings(store, customer_id, limit=1000))
