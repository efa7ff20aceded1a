"""Levels follow returns: a return that takes the paid total below a threshold recomputes the level at once.

On a lifetime basis nothing else ever lowers a level, so a purchase returned
must not leave the level it bought behind; on a rolling window the level
follows the return at once, not at the next sweep, and the returned money
leaves the day it was paid on.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.cart import CartLine
from shared.domain.config import ProgramConfig
from shared.presets import preset_data
from shared.services import account_sweep, orders, registration
from shared.services.ledger import load_account
from tests.reliability.audit import assert_ledgers_sound

SOFA = CartLine(id="sofa", price=6_000_000, quantity=1)  # 60 000 ₽
CHAIRS = CartLine(id="chairs", price=1_000_000, quantity=4)  # 4 × 10 000 ₽
BIG = [SOFA, CHAIRS]  # 100 000 ₽: Biomiq's third level (15 %); 30 000 ₽ is the second


def biomiq(**basis) -> ProgramConfig:
    data = preset_data("biomiq")
    if basis:
        data["level_basis"] = basis
    return ProgramConfig.model_validate(data)


def _pay(store, config, customer_id, order_id, lines, now):
    order, _ = orders.place_order(store, config=config, customer_id=customer_id, order_id=order_id, lines=lines, bonuses=0, now=now)
    return orders.mark_paid(store, config=config, order_id=order_id, payment=orders.PaymentRef(provider="test", id=f"p-{order_id}", amount=order.money_to_pay), now=now)


def _return(store, config, order_id, return_id, returns, now):
    return orders.mark_returned(store, config=config, order_id=order_id, return_id=return_id, returns=returns, now=now)


def _level(store, customer_id) -> str | None:
    return load_account(store, customer_id).level


def test_a_full_return_takes_a_lifetime_level_back(store, now):
    config = biomiq()
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    _pay(store, config, "anna", "A1", BIG, now)
    assert _level(store, "anna") == "level3"

    _return(store, config, "A1", "R1", None, now + timedelta(days=2))
    account = load_account(store, "anna")
    assert (account.paid_total, account.level) == (0, "level1")
    # the next purchase earns at the first level's 5 %, not the 15 % the returned order bought
    later = _pay(store, config, "anna", "A2", [CartLine(id="cup", price=100_000, quantity=1)], now + timedelta(days=3))
    assert later.points_earned == 50
    # replaying the return changes nothing
    _return(store, config, "A1", "R1", None, now + timedelta(days=4))
    assert _level(store, "anna") == "level1"
    assert_ledgers_sound(store, customers=["anna"])


def test_a_return_below_a_threshold_drops_to_the_level_the_rest_earns(store, now):
    config = biomiq()
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    _pay(store, config, "anna", "A1", BIG, now)
    _return(store, config, "A1", "R1", {"chairs": 1}, now)  # 90 000 ₽ kept: below the third level
    assert (load_account(store, "anna").paid_total, _level(store, "anna")) == (9_000_000, "level2")
    _return(store, config, "A1", "R2", {"sofa": 1}, now)  # 30 000 ₽ kept: still the second level
    assert (load_account(store, "anna").paid_total, _level(store, "anna")) == (3_000_000, "level2")
    _return(store, config, "A1", "R3", {"chairs": 1}, now)  # 20 000 ₽ kept
    assert _level(store, "anna") == "level1"
    assert_ledgers_sound(store, customers=["anna"])


def test_a_return_that_crosses_no_threshold_keeps_the_level(store, now):
    config = biomiq()
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    _pay(store, config, "anna", "A1", BIG, now)
    _pay(store, config, "anna", "A2", [CartLine(id="cup", price=100_000, quantity=1)], now)
    _return(store, config, "A2", "R1", None, now)  # 100 000 ₽ stay paid
    assert (load_account(store, "anna").paid_total, _level(store, "anna")) == (10_000_000, "level3")
    assert_ledgers_sound(store, customers=["anna"])


@pytest.mark.parametrize("downgrade", [True, False])
def test_a_rolling_window_level_follows_a_return_at_once(store, now, downgrade):
    config = biomiq(kind="rolling", window_days=365, downgrade=downgrade)
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    _pay(store, config, "anna", "A1", BIG, now)
    assert _level(store, "anna") == "level3"
    _return(store, config, "A1", "R1", {"chairs": 4}, now + timedelta(days=1))  # 60 000 ₽ kept
    assert _level(store, "anna") == "level2"  # at once, not at the next sweep
    account_sweep.sweep_account(store, config=config, customer_id="anna", now=now + timedelta(days=2))
    assert _level(store, "anna") == "level2"
    assert_ledgers_sound(store, customers=["anna"])


def test_a_rolling_window_without_downgrades_keeps_the_level_held_before_the_returned_order(store, now):
    config = biomiq(kind="rolling", window_days=30, downgrade=False)
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    _pay(store, config, "anna", "A1", [CartLine(id="desk", price=3_000_000, quantity=1)], now)  # 30 000 ₽: the second level
    later = now + timedelta(days=60)  # A1 left the window; without downgrades the second level stays
    account_sweep.sweep_account(store, config=config, customer_id="anna", now=later)
    assert _level(store, "anna") == "level2"
    _pay(store, config, "anna", "A2", BIG, later)
    assert _level(store, "anna") == "level3"
    _return(store, config, "A2", "R1", None, later)
    assert _level(store, "anna") == "level2"  # what A2 bought goes, what she held before stays
    assert_ledgers_sound(store, customers=["anna"])


def test_returned_money_leaves_the_rolling_window_with_the_day_it_was_paid(store, now):
    config = biomiq(kind="rolling", window_days=30, downgrade=True)
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    _pay(store, config, "anna", "A1", BIG, now)
    _return(store, config, "A1", "R1", {"chairs": 4}, now + timedelta(days=20))  # 60 000 ₽ kept, paid on day 0
    assert load_account(store, "anna").paid_by_day == {now.date().isoformat(): 6_000_000}
    # day 0 has left the window: a new 100 000 ₽ purchase alone is the third level again
    late = now + timedelta(days=31)
    account_sweep.sweep_account(store, config=config, customer_id="anna", now=late)
    assert _level(store, "anna") == "level1"
    _pay(store, config, "anna", "A2", BIG, late)
    assert _level(store, "anna") == "level3"
    # the rest of A1 comes back: money the window no longer counts takes nothing from A2's level
    _return(store, config, "A1", "R2", None, late)
    assert _level(store, "anna") == "level3"
    assert_ledgers_sound(store, customers=["anna"])
