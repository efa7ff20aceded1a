"""Payment settles an order on what its checkout agreed, whatever changed in between."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.adapters import layout
from shared.domain.cart import CartLine
from shared.domain.config import ProgramConfig
from shared.presets import preset_data
from shared.services import account_sweep, orders, registration
from shared.services.ledger import audit_account, balances, load_account

CART = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=60000, quantity=2)]  # 3 100 ₽
BIG = [CartLine(id="sofa", price=3000000, quantity=1)]  # 30 000 ₽: Biomiq's second level


@pytest.fixture
def tiered() -> ProgramConfig:
    """Biomiq, but the first level may pay only 10 % of an order with bonuses (the second 50 %)."""
    data = preset_data("biomiq")
    data["levels"][0]["max_redeem_percent"] = 10
    return ProgramConfig.model_validate(data)


def _pay(store, config, order_id, now):
    order = orders.get_order(store, order_id)
    payment = orders.PaymentRef(provider="test", id=f"p-{order_id}", amount=order.money_to_pay)  # what the customer was asked for
    return orders.mark_paid(store, config=config, order_id=order_id, payment=payment, now=now)


def _book_paid(store, customer, order_id) -> int:
    return sum(line["paid"] for line in store.get(f"customers/{customer}/orders/{order_id}")["lines"].values())


def test_a_level_reached_between_checkout_and_payment_keeps_the_agreed_terms(store, tiered, now):
    registration.register_customer(store, config=tiered, customer_id="anna", now=now)  # 500 welcome bonuses
    a1, quote = orders.place_order(store, config=tiered, customer_id="anna", order_id="A1", lines=CART, bonuses=500, now=now)
    # level 1: at most 10 % of 3 100 ₽ with bonuses
    assert (quote.level, a1.bonuses_reserved, a1.money_to_pay, a1.points_to_earn) == ("level1", 310, 279000, 139)

    # another order, paid first, takes Anna to the second level (50 % payable, 10 % back)
    later = now + timedelta(minutes=5)
    orders.place_order(store, config=tiered, customer_id="anna", order_id="B1", lines=BIG, bonuses=0, now=later)
    b1 = _pay(store, tiered, "B1", later)
    assert store.get("customers/anna")["level"] == "level2"

    # priced again now, A1 would take all 500 bonuses and cost 2 600 ₽; she was asked for (and paid) 2 790 ₽
    paid = _pay(store, tiered, "A1", later + timedelta(minutes=1))
    assert paid.status == "paid"
    assert paid.money_paid == paid.payment.amount == a1.money_to_pay == 279000
    assert paid.bonuses_spent == a1.bonuses_reserved == 310
    assert paid.points_earned == a1.points_to_earn == 139  # the points its checkout showed, not repriced at the new level
    assert paid.bonuses_shortfall is None and "bonuses_shortfall" not in store.get(layout.order("A1"))  # nor in the stored order
    assert _book_paid(store, "anna", "A1") == 279000
    assert load_account(store, "anna").paid_total == b1.money_paid + 279000  # what counts for the level is what was paid
    held = balances(store, "anna", later + timedelta(minutes=1))
    assert (held.available, held.reserved, held.pending) == (190, 0, b1.points_earned + 139)  # the 190 never reserved stay
    assert audit_account(store, "anna") == []


def test_a_lapsed_reservation_whose_bonuses_went_elsewhere_is_refunded_not_settled(store, now):
    config = ProgramConfig.model_validate(preset_data("biomiq"))
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    a1, _ = orders.place_order(store, config=config, customer_id="anna", order_id="A1", lines=CART, bonuses=500, now=now)
    assert (a1.bonuses_reserved, a1.money_to_pay) == (500, 260000)
    # the reservation times out and the freed bonuses are reserved by another checkout
    late = now + timedelta(minutes=config.reservation_timeout_minutes + 1)
    assert account_sweep.sweep_account(store, config=config, customer_id="anna", now=late).released == 500
    orders.place_order(store, config=config, customer_id="anna", order_id="B1", lines=CART, bonuses=500, now=late)

    # the 2 600 ₽ arrive after all: settling them would give A1 its 500 bonuses' discount a second time
    refused = _pay(store, config, "A1", late)
    assert (refused.status, refused.money_paid, refused.bonuses_spent) == ("canceled", None, None)
    assert [e.type for e in refused.events] == ["canceled", "refund_due"]
    assert refused.recorded("paid:p-A1").reason == "bonuses_gone"
    assert store.get("customers/anna/orders/A1") is None  # no line book: nothing bought, spent or earned
    held = balances(store, "anna", late)
    assert (held.available, held.reserved, held.pending) == (0, 500, 0)  # B1's reservation is untouched
    assert audit_account(store, "anna") == []


def _biomiq(**changes) -> ProgramConfig:
    data = preset_data("biomiq")
    for level in data["levels"]:
        level.update(changes)
    return ProgramConfig.model_validate(data)


def test_a_cap_lowered_after_checkout_never_cuts_the_agreed_spend(store, now):
    checked_out = _biomiq()
    registration.register_customer(store, config=checked_out, customer_id="anna", now=now)
    a1, _ = orders.place_order(store, config=checked_out, customer_id="anna", order_id="A1", lines=CART, bonuses=500, now=now)
    assert (a1.bonuses_reserved, a1.money_to_pay, a1.points_to_earn) == (500, 260000, 130)

    # the marketer lowers the cap to 10 % and raises the minimum payment before the money arrives
    stricter = ProgramConfig.model_validate({**_biomiq(max_redeem_percent=10).model_dump(mode="json"), "redemption": {"min_bonuses": 600}})
    paid = _pay(store, stricter, "A1", now + timedelta(minutes=5))
    assert (paid.money_paid, paid.bonuses_spent, paid.bonuses_shortfall, paid.points_earned) == (260000, 500, None, 130)
    assert "bonuses_shortfall" not in store.get(layout.order("A1"))
    held = balances(store, "anna", now + timedelta(minutes=5))
    assert (held.available, held.reserved, held.pending) == (0, 0, 130)  # the 500 paid for the order, none left over
    assert audit_account(store, "anna") == []


@pytest.mark.parametrize("percent", [1, 50])
def test_a_rate_changed_after_checkout_never_changes_the_points_agreed(store, now, percent):
    checked_out = _biomiq()
    registration.register_customer(store, config=checked_out, customer_id="anna", now=now)
    a1, _ = orders.place_order(store, config=checked_out, customer_id="anna", order_id="A1", lines=CART, bonuses=500, now=now)
    assert a1.points_to_earn == 130  # 5 % of the 2 600 ₽ to pay

    paid = _pay(store, _biomiq(accrual_percent=percent), "A1", now + timedelta(minutes=5))
    assert (paid.money_paid, paid.bonuses_spent, paid.points_earned) == (260000, 500, 130)
    assert balances(store, "anna", now + timedelta(minutes=5)).pending == 130
    assert audit_account(store, "anna") == []
