"""The case studies' stories through the use cases, on both stores."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.cart import CartLine
from shared.domain.errors import InsufficientBonuses
from shared.domain.ledger import Accrue, SetLevel, Spend
from shared.presets import load_preset
from shared.services import account_sweep, orders, registration
from shared.services.ledger import audit_account, balances, post
from tests.catalog import seed_lines


def _pay(store, config, now, customer_id, order_id, lines, bonuses):
    """Check out and pay an order through the storefront order's use cases: the order as paid."""
    order, _ = orders.place_order(store, config=config, customer_id=customer_id, order_id=order_id, lines=lines, bonuses=bonuses, now=now)
    return orders.mark_paid(store, config=config, order_id=order_id, payment=orders.PaymentRef(provider="test", id=f"p-{order_id}", amount=order.money_to_pay), now=now)


def _deliver(store, config, order_id, at):
    return orders.mark_delivered(store, config=config, order_id=order_id, delivered_at=at, now=at, carrier="cdek")


def _return(store, config, order_id, return_id, returns, now):
    order = orders.mark_returned(store, config=config, order_id=order_id, return_id=return_id, returns=returns, now=now)
    return order, order.recorded(f"return:{return_id}")


def _friends(store, config, now, partner, count):
    for n in range(count):
        registration.register_customer(store, config=config, customer_id=f"friend{n}", now=now, invited_by=partner)
        _pay(store, config, now, f"friend{n}", f"F{n}", [CartLine(id="1", price=100000, quantity=1)], 0)


def test_anna_and_maria(store, biomiq, now):
    registration.register_customer(store, config=biomiq, customer_id="maria", now=now)
    _friends(store, biomiq, now, "maria", 2)
    assert registration.register_customer(store, config=biomiq, customer_id="anna", now=now, invited_by="maria").welcome == 1000
    assert registration.register_customer(store, config=biomiq, customer_id="anna", now=now, invited_by="maria").welcome == 0
    assert balances(store, "anna", now).available == 1000
    cart = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=120000, quantity=1)]
    placed, q = orders.place_order(store, config=biomiq, customer_id="anna", order_id="A1", lines=cart, bonuses=1000, now=now)
    assert (q.max_bonuses_by_rules, q.bonuses_applied, q.money_to_pay, q.points_to_earn) == (1550, 1000, 210000, 105)
    b = balances(store, "anna", now)
    assert (b.total, b.available, b.reserved) == (1000, 0, 1000)
    # a second tab cannot spend the same bonuses
    with pytest.raises(InsufficientBonuses):
        post(store, "anna", "spend:other-tab", Spend(amount=1), now=now)
    paid = orders.mark_paid(store, config=biomiq, order_id="A1", payment=orders.PaymentRef(provider="test", id="p-A1", amount=placed.money_to_pay), now=now)
    assert (paid.bonuses_spent, paid.points_earned, paid.recorded("paid:p-A1").referrer_notified) == (1000, 105, "maria")
    b = balances(store, "anna", now)
    assert (b.total, b.available, b.pending, b.reserved) == (105, 0, 105, 0)
    delivered = now + timedelta(days=3)
    assert _deliver(store, biomiq, "A1", delivered).recorded("delivered").referral_reward == 210
    assert _deliver(store, biomiq, "A1", delivered).recorded("delivered").referral_reward == 210
    maria = balances(store, "maria", delivered)
    assert (maria.available, maria.pending) == (500, 210)
    held_until = delivered + timedelta(days=14)
    assert balances(store, "maria", held_until - timedelta(seconds=1)).pending == 210
    assert balances(store, "maria", held_until).available == 710
    assert balances(store, "anna", held_until).available == 105
    year = now + timedelta(days=366)
    account_sweep.sweep_due(store, config=biomiq, now=year)
    assert balances(store, "anna", year).total == 0
    assert balances(store, "maria", year).total == 210  # the reward was accrued 3 days after the welcome bonus
    for who in ("anna", "maria", "friend0", "friend1"):
        assert audit_account(store, who) == []


def test_partial_return_reverses_exactly_and_the_partner_reward_follows(store, biomiq, now):
    registration.register_customer(store, config=biomiq, customer_id="maria", now=now)
    _friends(store, biomiq, now, "maria", 2)
    registration.register_customer(store, config=biomiq, customer_id="anna", now=now, invited_by="maria")
    cart = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=60000, quantity=2)]
    _pay(store, biomiq, now, "anna", "A1", cart, 1000)
    _deliver(store, biomiq, "A1", now)
    rewarded = balances(store, "maria", now).total
    after_first, first = _return(store, biomiq, "A1", "R1", {"cream": 1}, now)
    replay, again = _return(store, biomiq, "A1", "R1", {"cream": 1}, now)
    assert replay == after_first and again == first  # the same return again changes nothing
    note = store.read(lambda uow: uow.postings.get("anna", "return:A1:R1"))
    assert (note.kind, dict(note.outcome)) == ("note", {"earned_back": first.earned_back, "spent_back": first.spent_back, "forgiven": 0, "debt": 0, "referrer_id": "maria"})
    _, second = _return(store, biomiq, "A1", "R2", {"cream": 1, "serum": 1}, now)
    # everything returned: every spent bonus is back and every earned point is gone
    assert first.spent_back + second.spent_back == 1000
    assert first.earned_back + second.earned_back == 105
    assert rewarded - balances(store, "maria", now).total == 210  # the partner's reward taken back
    assert balances(store, "anna", now).total == 1000
    assert balances(store, "maria", now).total == 500
    for who in ("anna", "maria"):
        assert audit_account(store, who) == []


def test_dmitry_at_veloprobeg(store, now):
    velo = load_preset("veloprobeg")
    registration.register_customer(store, config=velo, customer_id="dmitry", now=now)
    post(store, "dmitry", "gold", SetLevel(level="gold", reason="migrated status"), now=now)
    post(store, "dmitry", "old", Accrue(amount=500, source="migration", ref="1C", activates_at=now, expires_at=now + timedelta(days=200)), now=now)
    jacket = [CartLine(id="jacket", price=1470000, quantity=1, product_group="apparel")]
    seed_lines(store, jacket)  # the catalog says the jacket is apparel
    paid = _pay(store, velo, now, "dmitry", "V1", jacket, 500)
    assert (paid.bonuses_spent, paid.money_paid, paid.points_earned) == (500, 1420000, 305)
    b = balances(store, "dmitry", now)
    assert (b.total, b.available, b.pending) == (305, 0, 305)  # "всего" vs "доступно"
    _, second = orders.place_order(store, config=velo, customer_id="dmitry", order_id="V2", lines=jacket, bonuses=500, now=now)
    assert second.bonuses_applied == 0 and [r.code for r in second.reasons] == ["insufficient_bonuses"]
    assert balances(store, "dmitry", now).reserved == 0
    _deliver(store, velo, "V1", now)
    assert balances(store, "dmitry", now + timedelta(days=14)).available == 305
    assert balances(store, "dmitry", now + timedelta(days=365)).available == 0  # one year after the accrual
    assert audit_account(store, "dmitry") == []
