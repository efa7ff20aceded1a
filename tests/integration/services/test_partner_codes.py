"""A partner's personal code typed at checkout binds the customer at their first paid order, as a link does.

A link binds the customer who registered by it; a code typed at the cart by
a customer who came without one binds them the same way, once, at the first
paid order: the partner's count of paying referees, the reward at delivery
and its clawback then follow. The welcome bonus stays the one given at
registration. Nobody binds to themselves, to a partner bound to them, or
after their first paid order.
"""

from __future__ import annotations

from datetime import timedelta

from shared.domain.cart import CartLine
from shared.presets import load_preset
from shared.services import orders, partner, registration
from shared.services.ledger import balances, load_customer
from tests.reliability.audit import assert_ledgers_sound

CART = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=60000, quantity=2)]  # 3 100 ₽


def _pay(store, config, customer_id, order_id, now, code=None):
    order, _ = orders.place_order(store, config=config, customer_id=customer_id, order_id=order_id, lines=CART, bonuses=0, now=now, promo_code=code)
    return orders.mark_paid(store, config=config, order_id=order_id, payment=orders.PaymentRef(provider="test", id=f"p-{order_id}", amount=order.money_to_pay), now=now)


def _referrer(store, customer_id) -> str | None:
    return load_customer(store, customer_id).referral.referrer_id


def test_a_partner_code_typed_at_the_first_checkout_binds_at_the_first_paid_order(store, now):
    config = load_preset("biomiq")
    registration.register_customer(store, config=config, customer_id="maria", now=now)
    code = partner.ensure_code(store, partner_id="maria", now=now)
    registration.register_customer(store, config=config, customer_id="anna", now=now)  # no link: the standard 500

    paid = _pay(store, config, "anna", "A1", now, code=code.lower())
    assert paid.referral_partner_id == "maria" and paid.recorded("paid:p-A1").referrer_notified == "maria"
    assert _referrer(store, "anna") == "maria"
    assert load_customer(store, "maria").referral.paying == 1
    delivered = orders.mark_delivered(store, config=config, order_id="A1", delivered_at=now, now=now, carrier="cdek")
    assert delivered.recorded("delivered").referral_reward == 155  # 5 % of 3 100 ₽
    assert balances(store, "maria", now).pending == 155
    assert balances(store, "anna", now).total == 500 + paid.points_earned  # the welcome bonus is not topped up to the invited one
    # bound for ever: her next order counts for Maria without the code
    _pay(store, config, "anna", "A2", now + timedelta(days=1))
    orders.mark_delivered(store, config=config, order_id="A2", delivered_at=now + timedelta(days=1), now=now + timedelta(days=1), carrier="cdek")
    assert balances(store, "maria", now + timedelta(days=1)).pending == 310
    assert_ledgers_sound(store, customers=["maria", "anna"])


def test_a_partner_code_never_binds_after_the_first_paid_order(store, now):
    config = load_preset("biomiq")
    registration.register_customer(store, config=config, customer_id="maria", now=now)
    code = partner.ensure_code(store, partner_id="maria", now=now)
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    _pay(store, config, "anna", "A1", now)
    _pay(store, config, "anna", "A2", now, code=code)
    assert _referrer(store, "anna") is None and load_customer(store, "maria").referral.paying == 0


def test_a_link_wins_over_a_code_typed_later(store, now):
    config = load_preset("biomiq")
    for who in ("maria", "boris"):
        registration.register_customer(store, config=config, customer_id=who, now=now)
    registration.register_customer(store, config=config, customer_id="anna", now=now, invited_by="maria")
    _pay(store, config, "anna", "A1", now, code=partner.ensure_code(store, partner_id="boris", now=now))
    assert _referrer(store, "anna") == "maria"
    assert load_customer(store, "boris").referral.paying == 0


def test_no_one_binds_to_their_own_code_or_to_a_partner_bound_to_them(store, now):
    config = load_preset("biomiq")
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    own = partner.ensure_code(store, partner_id="anna", now=now)
    registration.register_customer(store, config=config, customer_id="boris", now=now, invited_by="anna")
    _pay(store, config, "boris", "B1", now)
    assert _referrer(store, "boris") == "anna"

    _pay(store, config, "anna", "A1", now, code=partner.ensure_code(store, partner_id="boris", now=now))
    assert _referrer(store, "anna") is None  # no pair rewarding each other
    registration.register_customer(store, config=config, customer_id="vera", now=now)
    _pay(store, config, "vera", "V1", now, code=own)
    assert _referrer(store, "vera") == "anna"  # a code binds anyone else
    assert load_customer(store, "boris").referral.paying == 0
    assert_ledgers_sound(store, customers=["anna", "boris", "vera"])
