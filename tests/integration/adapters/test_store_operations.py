"""Documents read and written per lifecycle step, counted by the Firestore store (emulator).

Reads are what Firestore bills and what every webhook waits on, so the paid
order's budget (≤ 4 reads, ≤ 8 writes) is held here as a regression check;
``make bench`` reports the same counts for every step, with latencies.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from shared.domain.cart import CartLine
from shared.domain.order import Order
from shared.edge import entry
from shared.platform import bootstrap
from shared.services import delivery, orders, payments, program, registration
from shared.services.ledger import audit_account, balances, postings
from tests.fakes.carriers import FakeCarriers

CART = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=60000, quantity=2)]


@pytest.fixture
def fake(yookassa_fake):
    return yookassa_fake


def _counted(store, fn):
    before = dict(store.stats)
    out = fn()
    return {k: store.stats[k] - before[k] for k in ("reads", "writes")}, out


def _placed(store, now: datetime, customer: str, order_id: str, **kwargs) -> dict:
    config = entry.config(now)
    registration.register_customer(store, config=config, customer_id=customer, now=now, **kwargs)
    record, _ = orders.place_order(store, config=config, customer_id=customer, order_id=order_id, lines=CART, bonuses=500, now=now)
    return record


def _pay(store, fake, order: Order, now: datetime):
    payment = fake.succeed(fake.create_payment(amount=order.money_to_pay, order_id=order.order_id)["id"])
    return lambda: payments.yookassa_notification(
        store, config=entry.config(now), gateway=bootstrap.yookassa(), event="payment.succeeded", object_id=payment["id"], now=now
    )


def test_a_paid_order_reads_at_most_four_documents_and_writes_at_most_eight(function_env, fake):
    store = function_env
    now = datetime.now(timezone.utc)
    _placed(store, now, "warm", "W1")  # a warm instance: the program is cached
    order = _placed(store, now, "anna", "A1")

    ops, outcome = _counted(store, _pay(store, fake, order, now))

    assert outcome.result == "paid"
    assert ops["reads"] <= 4, ops
    assert ops["writes"] <= 8, ops
    assert balances(store, "anna", now).reserved == 0
    assert audit_account(store, "anna") == []


def test_the_same_notification_again_reads_no_more_and_writes_nothing(function_env, fake):
    store = function_env
    now = datetime.now(timezone.utc)
    order = _placed(store, now, "anna", "A1")
    pay = _pay(store, fake, order, now)
    pay()
    entry.config(now)

    ops, outcome = _counted(store, pay)

    assert outcome.result == "paid"
    assert ops["writes"] == 0
    assert ops["reads"] <= 4
    assert Counter(p.kind for p in postings(store, "anna", limit=100))["accrue"] == 2  # welcome + this order, once


def test_a_delivery_skips_the_key_lookups_its_order_book_guards(function_env, fake, monkeypatch):
    from shared.platform.settings import reload

    store = function_env
    now = datetime.now(timezone.utc)
    order = _placed(store, now, "anna", "A1")
    _pay(store, fake, order, now)()
    cdek = FakeCarriers()
    for name, value in cdek.environment().items():
        monkeypatch.setenv(name, value)
    reload()
    bootstrap.set_transport("carriers", cdek.transport)
    try:
        uuid = cdek.add_cdek_order(number="A1", statuses=[("CREATED", now), ("DELIVERED", now)])
        ops, out = _counted(store, lambda: delivery.cdek_event(store, config=entry.config(now), cdek=bootstrap.carrier("cdek"), uuid=uuid, code="DELIVERED", is_return=False, now=now))
    finally:
        bootstrap.set_transport("carriers", None)

    assert out.outcome == "applied"
    assert ops["reads"] <= 4, ops
    assert audit_account(store, "anna") == []


def test_a_version_published_elsewhere_reaches_an_instance_within_the_head_ttl(function_env, firestore_client):
    from shared.adapters.firestore_store import FirestoreStore
    from shared.presets import preset_data

    store = function_env
    now = datetime.now(timezone.utc)
    assert program.in_force(store, "biomiq", now).version == 1
    elsewhere = FirestoreStore(firestore_client)  # another instance
    raw = {**preset_data("biomiq"), "hold_days": 7}
    program.publish(elsewhere, raw=raw, author="marketer", reason="shorter hold", effective_from=now, now=now)

    assert program.in_force(elsewhere, "biomiq", now).version == 2  # the publishing instance at once
    assert program.in_force(store, "biomiq", now).version == 1  # this one trusts its head a while
    later = now + program.HEAD_TTL
    assert program.in_force(store, "biomiq", later).config.hold_days == 7

    # a clock that goes back (behind the moment the head was read) reads it again
    third = FirestoreStore(firestore_client)
    assert program.in_force(third, "biomiq", later + timedelta(seconds=60)).version == 2
    raw3 = {**preset_data("biomiq"), "hold_days": 3}
    program.publish(elsewhere, raw=raw3, author="marketer", reason="shorter still", effective_from=later + timedelta(seconds=10), now=later + timedelta(seconds=5))
    assert program.in_force(third, "biomiq", later + timedelta(seconds=30)).version == 3

