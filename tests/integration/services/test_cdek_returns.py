"""CDEK returns as CDEK reports them: the return order's link, client returns, withdrawn statuses.

The fake CDEK answers in the shapes of the ``cdek`` package's models (checked in
``tests/unit/adapters/test_cdek_sdk.py``): a return order's link to the order it
brings back is the order read's *top-level* ``related_entities``, next to the
entity, never inside it. Each scenario goes through the real client and the
``ORDER_STATUS`` use case, on both stores, and ends with a sound ledger.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.adapters.carrier_clients import CdekClient
from shared.domain.cart import CartLine
from shared.domain.config import ProgramConfig
from shared.domain.order import OrderStatus
from shared.presets import preset_data
from shared.services import delivery, orders, registration
from shared.services.ledger import balances
from tests.fakes.carriers import FakeCarriers
from tests.reliability.audit import assert_ledgers_sound

CART = [CartLine(id="serum", price=100000, quantity=1)]  # 1 000 ₽: 50 points on the first level
WELCOME = 500


@pytest.fixture
def config() -> ProgramConfig:
    return ProgramConfig.model_validate(preset_data("biomiq"))


@pytest.fixture
def fake() -> FakeCarriers:
    return FakeCarriers()


@pytest.fixture
def cdek(fake) -> CdekClient:
    return CdekClient(base_url="https://api.cdek.ru/v2", client_id=fake.cdek_client_id, client_secret=fake.cdek_client_secret, timeout=1, transport=fake.transport, sleep=lambda _: None)


def delivered_order(store, config, fake, cdek, now, *, order_id="A1", customer="anna") -> str:
    """A paid order CDEK delivered (its uuid): the purchase's points are no longer held by the delivery."""
    registration.register_customer(store, config=config, customer_id=customer, now=now)
    placed, _ = orders.place_order(store, config=config, customer_id=customer, order_id=order_id, lines=CART, bonuses=0, now=now)
    orders.mark_paid(store, config=config, order_id=order_id, payment=orders.PaymentRef(provider="test", id=f"p-{order_id}", amount=placed.money_to_pay), now=now)
    direct = fake.add_cdek_order(number=order_id, statuses=[("DELIVERED", now + timedelta(days=3))])
    result = delivery.cdek_event(store, config=config, cdek=cdek, uuid=direct, code="DELIVERED ", is_return=False, now=now + timedelta(days=3))
    assert (result.outcome, result.status) == ("applied", "delivered")
    return direct


def test_a_cdek_return_after_delivery_is_matched_by_the_top_level_link_and_takes_the_bonuses_back(store, config, fake, cdek, now):
    direct = delivered_order(store, config, fake, cdek, now)
    back_at = now + timedelta(days=10)
    back = fake.add_cdek_order(number=None, is_return=True, related=[{"type": "direct_order", "uuid": direct}], statuses=[("ACCEPTED", now + timedelta(days=5)), ("DELIVERED", back_at)])
    result = delivery.cdek_event(store, config=config, cdek=cdek, uuid=back, code="DELIVERED ", is_return=True, now=back_at)
    assert (result.outcome, result.order_id, result.status) == ("applied", "A1", "returned")
    assert orders.get_order(store, "A1").status is OrderStatus.RETURNED
    assert balances(store, "anna", back_at).total == WELCOME  # the purchase's points are gone
    again = delivery.cdek_event(store, config=config, cdek=cdek, uuid=back, code="DELIVERED ", is_return=True, now=back_at)
    assert again.outcome == "already_applied"
    assert_ledgers_sound(store, now=back_at)


def test_a_cdek_client_return_counts_as_a_return(store, config, fake, cdek, now):
    direct = delivered_order(store, config, fake, cdek, now)
    back_at = now + timedelta(days=12)
    back = fake.add_cdek_order(number=None, is_client_return=True, related=[{"type": "client_direct_order", "uuid": direct}], statuses=[("DELIVERED", back_at)])
    result = delivery.cdek_event(store, config=config, cdek=cdek, uuid=back, code="DELIVERED", is_return=False, now=back_at)
    assert (result.outcome, result.order_id, result.status) == ("applied", "A1", "returned")
    assert balances(store, "anna", back_at).total == WELCOME
    assert_ledgers_sound(store, now=back_at)


def test_a_cdek_return_is_matched_by_the_webhooks_own_link_when_the_order_read_has_none(store, config, fake, cdek, now):
    direct = delivered_order(store, config, fake, cdek, now)
    back_at = now + timedelta(days=10)
    back = fake.add_cdek_order(number=None, is_return=True, statuses=[("DELIVERED", back_at)])
    result = delivery.cdek_event(store, config=config, cdek=cdek, uuid=back, code="DELIVERED", is_return=True, related=(direct,), now=back_at)
    assert (result.outcome, result.order_id, result.status) == ("applied", "A1", "returned")
    assert_ledgers_sound(store, now=back_at)


def test_a_cdek_status_marked_deleted_is_skipped(store, config, fake, cdek, now):
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    placed, _ = orders.place_order(store, config=config, customer_id="anna", order_id="A1", lines=CART, bonuses=0, now=now)
    orders.mark_paid(store, config=config, order_id="A1", payment=orders.PaymentRef(provider="test", id="p-A1", amount=placed.money_to_pay), now=now)
    uuid = fake.add_cdek_order(number="A1", statuses=[("ACCEPTED", now + timedelta(days=1))])
    fake.cdek_status(uuid, "DELIVERED", now + timedelta(days=2), deleted=True)  # set by mistake, withdrawn by CDEK
    calls = len(fake.requests)
    withdrawn = delivery.cdek_event(store, config=config, cdek=cdek, uuid=uuid, code="DELIVERED", is_return=False, deleted=True, now=now + timedelta(days=2))
    assert withdrawn.outcome == "ignored"
    assert len(fake.requests) == calls  # a withdrawn status is not even looked up
    result = delivery.cdek_event(store, config=config, cdek=cdek, uuid=uuid, code="DELIVERED", is_return=False, now=now + timedelta(days=2))
    assert result.outcome == "not_confirmed"  # the order read's only final status is a deleted one
    assert orders.get_order(store, "A1").status is OrderStatus.PAID
    assert_ledgers_sound(store, now=now + timedelta(days=2))
