"""Blocking means blocked: while blocked, a customer earns nothing, spends nothing and is credited
nothing but an adjustment of the ``admin`` role with a reason (on both stores).

The customer-facing half (sessions, logins, refresh, the account routes) is
``tests/functions/test_blocking.py``; this half drives the use cases that
credit or debit an account without the customer's token: payment and delivery
webhooks, the partner's reward, the birthday pass and the back office.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.cart import CartLine
from shared.domain.config import ProgramConfig
from shared.domain.errors import BusinessRefusal
from shared.edge.admin_auth import Admin
from shared.presets import preset_data
from shared.services import orders, registration, sweeps
from shared.services.admin import adjustments, approvals
from shared.services.ledger import balances, load_account, postings
from tests.reliability.audit import assert_ledgers_sound

MANAGER = Admin("manager@shop.example", ("manager",))
OWNER = Admin("owner@shop.example", ("admin",))
MARKETER = Admin("marketer@shop.example", ("marketer",))
MARKETER2 = Admin("marketer2@shop.example", ("marketer",))
CART = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=60000, quantity=2)]  # 3 100 ₽


@pytest.fixture
def config() -> ProgramConfig:
    """Biomiq with a first-order bonus of 200."""
    data = preset_data("biomiq")
    data["earning_rules"].append({"code": "first", "event": "first_order", "amount": 200})
    return ProgramConfig.model_validate(data)


def _block(store, customer_id, now):
    return adjustments.set_blocked(store, MANAGER, customer_id=customer_id, blocked=True, reason="подозрение на мошенничество", now=now)


def _pay(store, config, order_id, now):
    order = orders.get_order(store, order_id)
    payment = orders.PaymentRef(provider="test", id=f"p-{order_id}", amount=order.money_to_pay)
    return orders.mark_paid(store, config=config, order_id=order_id, payment=payment, now=now)


def test_a_blocked_customer_spends_and_earns_nothing_when_an_earlier_order_is_paid(store, config, now):
    registration.register_customer(store, config=config, customer_id="anna", now=now)  # 500 welcome bonuses
    placed, _ = orders.place_order(store, config=config, customer_id="anna", order_id="A1", lines=CART, bonuses=500, now=now)
    assert (placed.bonuses_reserved, placed.money_to_pay) == (500, 260000)
    _block(store, "anna", now + timedelta(minutes=1))

    paid = _pay(store, config, "A1", now + timedelta(minutes=2))  # the money of the order checked out before the block

    assert (paid.status, paid.money_paid, paid.bonuses_spent, paid.points_earned, paid.bonuses_shortfall) == ("paid", 260000, 0, 0, 500)
    held = balances(store, "anna", now + timedelta(minutes=2))
    assert (held.available, held.reserved, held.pending) == (500, 0, 0)  # the reservation is given back, unspendable while blocked
    kinds = [p.kind for p in postings(store, "anna")]
    assert "spend" not in kinds and kinds.count("accrue") == 1  # the welcome bonus only: no purchase accrual, no first-order bonus
    assert_ledgers_sound(store, customers=["anna"])


def test_a_blocked_partner_earns_no_referral_reward(store, config, now):
    registration.register_customer(store, config=config, customer_id="petr", now=now)
    registration.register_customer(store, config=config, customer_id="olga", now=now, invited_by="petr")
    orders.place_order(store, config=config, customer_id="olga", order_id="O1", lines=CART, bonuses=0, now=now)
    _pay(store, config, "O1", now)
    _block(store, "petr", now + timedelta(minutes=1))

    orders.mark_delivered(store, config=config, order_id="O1", delivered_at=now + timedelta(days=2), now=now + timedelta(days=2), carrier="cdek")

    assert balances(store, "petr", now + timedelta(days=60)).total == 500  # his welcome bonus, no reward
    assert [p.kind for p in postings(store, "petr")].count("accrue") == 1
    assert_ledgers_sound(store, customers=["petr", "olga"])


def test_a_blocked_customer_gets_no_birthday_bonus(store, config, now):
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    _block(store, "anna", now)

    assert sweeps.credit_birthday(store, config=config, customer_id="anna", now=now) == 0

    assert balances(store, "anna", now).total == 500
    assert_ledgers_sound(store, customers=["anna"])


def test_only_an_admins_adjustment_with_a_reason_credits_a_blocked_customer(store, config, now):
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    _block(store, "anna", now)

    with pytest.raises(BusinessRefusal) as refused:
        adjustments.adjust(store, MARKETER, config=config, customer_id="anna", amount=600, reason="компенсация", key="m-1", now=now)
    assert refused.value.code == "customer_blocked" and "заблокирован" in refused.value.message_ru
    assert balances(store, "anna", now).total == 500

    done = adjustments.adjust(store, OWNER, config=config, customer_id="anna", amount=600, reason="возврат по решению суда", key="o-1", now=now)
    assert done.status == "done" and balances(store, "anna", now).total == 1100
    taken = adjustments.adjust(store, MARKETER, config=config, customer_id="anna", amount=-100, reason="ошибочное начисление", key="m-2", now=now)
    assert taken.status == "done" and balances(store, "anna", now).total == 1000  # a debit is no credit
    assert_ledgers_sound(store, customers=["anna"])


def test_an_approved_credit_requested_before_the_block_is_not_executed_after_it(store, config, now):
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    pending = adjustments.adjust(store, MARKETER, config=config, customer_id="anna", amount=6000, reason="партнёрский договор", key="big-1", now=now)
    assert pending.status == "pending_approval" and pending.approval_id is not None
    _block(store, "anna", now + timedelta(minutes=1))

    with pytest.raises(BusinessRefusal) as refused:
        approvals.approve(store, MARKETER2, pending.approval_id, config=config, now=now + timedelta(minutes=2))
    assert refused.value.code == "customer_blocked"
    assert balances(store, "anna", now).total == 500
    assert load_account(store, "anna") is not None
    assert_ledgers_sound(store, customers=["anna"])
