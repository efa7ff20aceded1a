"""A return whose partner step was lost (a crash between the two transactions) is completed by the redelivery, once."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest

from shared.domain.cart import CartLine
from shared.presets import load_preset
from shared.services import orders, referral, registration
from shared.services.ledger import audit_account, balances

CART = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=60000, quantity=2)]


def test_a_lost_partner_clawback_is_redone_by_the_redelivery(store, now):
    config = load_preset("biomiq")
    registration.register_customer(store, config=config, customer_id="maria", now=now)
    registration.register_customer(store, config=config, customer_id="anna", now=now, invited_by="maria")
    orders.place_order(store, config=config, customer_id="anna", order_id="A1", lines=CART, bonuses=0, now=now)
    order = orders.get_order(store, "A1")
    orders.mark_paid(store, config=config, order_id="A1", payment=orders.PaymentRef(provider="test", id="p1", amount=order.money_to_pay), now=now)
    orders.mark_delivered(store, config=config, order_id="A1", delivered_at=now, now=now, carrier="test")
    reward = balances(store, "maria", now).pending
    assert reward == 155  # 5 % of 3 100 ₽ (Maria has fewer than 3 paying friends)

    later = now + timedelta(days=2)
    with mock.patch.object(referral, "reverse_referral_reward", side_effect=RuntimeError("instance died")), pytest.raises(RuntimeError):
        orders.mark_returned(store, config=config, order_id="A1", return_id="R1", returns={"cream": 1}, now=later)
    assert orders.get_order(store, "A1").returned_units == {"cream": 1}  # the customer's side committed
    assert balances(store, "maria", later).pending == reward  # the partner's did not

    orders.mark_returned(store, config=config, order_id="A1", return_id="R1", returns={"cream": 1}, now=later)
    taken = reward - balances(store, "maria", later).pending
    assert taken == 30  # the cream line's 600 ₽ of 3 100 ₽: 5 % is 30
    orders.mark_returned(store, config=config, order_id="A1", return_id="R1", returns={"cream": 1}, now=later)
    assert reward - balances(store, "maria", later).pending == taken
    assert orders.get_order(store, "A1").returned_units == {"cream": 1}
    for who in ("anna", "maria"):
        assert audit_account(store, who) == []
