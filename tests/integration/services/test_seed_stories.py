"""The case studies' stories through the use cases, on both stores."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.cart import CartLine
from shared.domain.errors import InsufficientBonuses
from shared.domain.ledger import Accrue, SetLevel, Spend
from shared.presets import load_preset
from shared.services import lifecycle
from shared.services.ledger import audit_account, balances, post


@pytest.fixture
def biomiq():
    return load_preset("biomiq")


def _friends(store, config, now, partner, count):
    for n in range(count):
        lifecycle.register_customer(store, config=config, customer_id=f"friend{n}", now=now, invited_by=partner)
        lifecycle.pay_order(store, config=config, customer_id=f"friend{n}", order_id=f"F{n}", lines=[CartLine(id="1", price=100000, quantity=1)], bonuses=0, now=now)


def test_anna_and_maria(store, biomiq, now):
    lifecycle.register_customer(store, config=biomiq, customer_id="maria", now=now)
    _friends(store, biomiq, now, "maria", 2)
    assert lifecycle.register_customer(store, config=biomiq, customer_id="anna", now=now, invited_by="maria")["welcome"] == 1000
    assert lifecycle.register_customer(store, config=biomiq, customer_id="anna", now=now, invited_by="maria")["welcome"] == 0
    assert balances(store, "anna", now).available == 1000
    cart = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=120000, quantity=1)]
    q = lifecycle.checkout(store, config=biomiq, customer_id="anna", order_id="A1", lines=cart, bonuses=1000, now=now)
    assert (q.max_bonuses_by_rules, q.bonuses_applied, q.money_to_pay, q.points_to_earn) == (1550, 1000, 210000, 105)
    b = balances(store, "anna", now)
    assert (b.total, b.available, b.reserved) == (1000, 0, 1000)
    # a second tab cannot spend the same bonuses
    with pytest.raises(InsufficientBonuses):
        post(store, "anna", "spend:other-tab", Spend(amount=1), now=now)
    paid = lifecycle.pay_order(store, config=biomiq, customer_id="anna", order_id="A1", lines=cart, bonuses=1000, now=now)
    assert (paid.spent, paid.earned, paid.referrer_id) == (1000, 105, "maria")
    b = balances(store, "anna", now)
    assert (b.total, b.available, b.pending, b.reserved) == (105, 0, 105, 0)
    delivered = now + timedelta(days=3)
    result = lifecycle.deliver_order(store, config=biomiq, customer_id="anna", order_id="A1", delivered_at=delivered, now=delivered)
    assert result["referral_reward"] == 210
    assert lifecycle.deliver_order(store, config=biomiq, customer_id="anna", order_id="A1", delivered_at=delivered, now=delivered)["referral_reward"] == 210
    maria = balances(store, "maria", delivered)
    assert (maria.available, maria.pending) == (500, 210)
    held_until = delivered + timedelta(days=14)
    assert balances(store, "maria", held_until - timedelta(seconds=1)).pending == 210
    assert balances(store, "maria", held_until).available == 710
    assert balances(store, "anna", held_until).available == 105
    year = now + timedelta(days=366)
    lifecycle.sweep_due(store, config=biomiq, now=year)
    assert balances(store, "anna", year).total == 0
    assert balances(store, "maria", year).total == 210  # the reward was accrued 3 days after the welcome bonus
    for who in ("anna", "maria", "friend0", "friend1"):
        assert audit_account(store, who) == []


def test_partial_return_reverses_exactly_and_the_partner_reward_follows(store, biomiq, now):
    lifecycle.register_customer(store, config=biomiq, customer_id="maria", now=now)
    _friends(store, biomiq, now, "maria", 2)
    lifecycle.register_customer(store, config=biomiq, customer_id="anna", now=now, invited_by="maria")
    cart = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=60000, quantity=2)]
    lifecycle.checkout(store, config=biomiq, customer_id="anna", order_id="A1", lines=cart, bonuses=1000, now=now)
    lifecycle.pay_order(store, config=biomiq, customer_id="anna", order_id="A1", lines=cart, bonuses=1000, now=now)
    lifecycle.deliver_order(store, config=biomiq, customer_id="anna", order_id="A1", delivered_at=now, now=now)
    first = lifecycle.return_lines(store, config=biomiq, customer_id="anna", order_id="A1", return_id="R1", returns={"cream": 1}, now=now)
    replay = lifecycle.return_lines(store, config=biomiq, customer_id="anna", order_id="A1", return_id="R1", returns={"cream": 1}, now=now)
    second = lifecycle.return_lines(store, config=biomiq, customer_id="anna", order_id="A1", return_id="R2", returns={"cream": 1, "serum": 1}, now=now)
    assert replay["replayed"] is True
    # everything returned: every spent bonus is back and every earned point is gone
    assert first["spent_back"] + second["spent_back"] == 1000
    assert first["earned_back"] + second["earned_back"] == 105
    assert first["referral_reversed"] + second["referral_reversed"] == 210
    assert balances(store, "anna", now).total == 1000
    assert balances(store, "maria", now).total == 500
    for who in ("anna", "maria"):
        assert audit_account(store, who) == []


def test_dmitry_at_veloprobeg(store, now):
    velo = load_preset("veloprobeg")
    lifecycle.register_customer(store, config=velo, customer_id="dmitry", now=now)
    post(store, "dmitry", "gold", SetLevel(level="gold", reason="migrated status"), now=now)
    post(store, "dmitry", "old", Accrue(amount=500, source="migration", ref="1C", activates_at=now, expires_at=now + timedelta(days=200)), now=now)
    jacket = [CartLine(id="jacket", price=1470000, quantity=1, product_group="apparel")]
    paid = lifecycle.pay_order(store, config=velo, customer_id="dmitry", order_id="V1", lines=jacket, bonuses=500, now=now)
    assert (paid.spent, paid.paid, paid.earned) == (500, 1420000, 305)
    b = balances(store, "dmitry", now)
    assert (b.total, b.available, b.pending) == (305, 0, 305)  # "всего" vs "доступно"
    second = lifecycle.checkout(store, config=velo, customer_id="dmitry", order_id="V2", lines=jacket, bonuses=500, now=now)
    assert second.bonuses_applied == 0 and [r.code for r in second.reasons] == ["insufficient_bonuses"]
    assert balances(store, "dmitry", now).reserved == 0
    lifecycle.deliver_order(store, config=velo, customer_id="dmitry", order_id="V1", delivered_at=now, now=now)
    assert balances(store, "dmitry", now + timedelta(days=14)).available == 305
    assert balances(store, "dmitry", now + timedelta(days=365)).available == 0  # one year after the accrual
    assert audit_account(store, "dmitry") == []
