"""The sweep's time-driven messages on both stores: an abandoned cart reminded once, a lapsed customer won back once."""

from __future__ import annotations

from datetime import timedelta

from shared.domain.cart import CartLine
from shared.domain.carts import cart_hash
from shared.domain.messages import Trigger
from shared.presets import load_preset
from shared.services import registration, storefront, sweeps, trigger_sweeps
from shared.services.ledger import balances, postings
from tests.integration.services.test_levels import _pay
from tests.integration.services.test_triggers import messages, switched

CUP = CartLine(id="cup", price=100_000, quantity=2)
PLATE = CartLine(id="plate", price=50_000, quantity=1)


def _sweep(store, config, now):
    return sweeps.run_sweep(store, config=config, now=now)


def test_a_cart_left_for_hours_is_reminded_once(store, now):
    config = switched(load_preset("biomiq"), Trigger.ABANDONED_CART, True)
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    storefront.quote_cart(store, config=config, customer_id="anna", lines=[CUP, PLATE], now=now)
    storefront.quote_cart(store, config=config, customer_id=None, lines=[CUP], now=now)  # a visitor: nothing remembered
    hours = config.messages.abandoned_cart.hours
    assert _sweep(store, config, now + timedelta(hours=hours - 1))["cart_reminders"] == 0  # not yet
    assert _sweep(store, config, now + timedelta(hours=hours, minutes=1))["cart_reminders"] == 1
    assert _sweep(store, config, now + timedelta(hours=hours + 5))["cart_reminders"] == 0
    assert trigger_sweeps.remind_cart(store, config=config, customer_id="anna", now=now + timedelta(hours=hours + 6)) == 0  # a retry
    told = messages(store, Trigger.ABANDONED_CART, "anna")
    assert [m.key for m in told] == [f"abandoned_cart:anna:{cart_hash([PLATE, CUP])}:sms"]

    # the same cart quoted again is not reminded again; another cart is
    later = now + timedelta(days=1)
    storefront.quote_cart(store, config=config, customer_id="anna", lines=[PLATE, CUP], now=later)
    assert _sweep(store, config, later + timedelta(hours=hours + 1))["cart_reminders"] == 0
    storefront.quote_cart(store, config=config, customer_id="anna", lines=[CUP], now=later + timedelta(hours=hours + 2))
    assert _sweep(store, config, later + timedelta(hours=2 * hours + 3))["cart_reminders"] == 1
    assert len(messages(store, Trigger.ABANDONED_CART, "anna")) == 2


def test_a_cart_followed_by_an_order_is_not_reminded(store, now):
    config = switched(load_preset("biomiq"), Trigger.ABANDONED_CART, True)
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    storefront.quote_cart(store, config=config, customer_id="anna", lines=[CUP], now=now)
    _pay(store, config, "anna", "A1", [CUP], now + timedelta(minutes=10))
    assert _sweep(store, config, now + timedelta(days=1))["cart_reminders"] == 0
    assert messages(store, Trigger.ABANDONED_CART, "anna") == []


def test_no_cart_is_remembered_or_reminded_while_the_trigger_is_off(store, now):
    config = switched(load_preset("biomiq"), Trigger.ABANDONED_CART, False)
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    storefront.quote_cart(store, config=config, customer_id="anna", lines=[CUP], now=now)
    assert store.read(lambda uow: uow.carts.get("anna")) is None
    assert _sweep(store, config, now + timedelta(days=1))["cart_reminders"] == 0


def _winback_config(bonus: int, enabled: bool = True):
    config = switched(load_preset("biomiq"), Trigger.WINBACK, enabled)
    settings = config.messages.winback.model_copy(update={"days": 60, "bonus": bonus})
    return config.model_copy(update={"messages": config.messages.model_copy(update={"winback": settings})})


def test_a_lapsed_customer_is_won_back_once_with_the_bonus_credited_once(store, now):
    config = _winback_config(bonus=250)
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    registration.register_customer(store, config=config, customer_id="boris", now=now)
    _pay(store, config, "anna", "A1", [CUP], now)
    _pay(store, config, "boris", "B1", [CUP], now + timedelta(days=30))
    before = balances(store, "anna", now + timedelta(days=61)).total
    first = _sweep(store, config, now + timedelta(days=61))
    assert (first["winbacks"], first["winback_bonuses"]) == (1, 250)  # boris bought 31 days ago: not yet
    again = _sweep(store, config, now + timedelta(days=62))
    assert (again["winbacks"], again["winback_bonuses"]) == (0, 0)
    assert trigger_sweeps.win_back(store, config=config, customer_id="anna", now=now + timedelta(days=63)) == 0  # a retry credits nothing
    assert balances(store, "anna", now + timedelta(days=63)).total == before + 250
    assert [p.key for p in postings(store, "anna") if p.key.startswith("winback:")] == [f"winback:anna:{now.date()}"]
    told = messages(store, Trigger.WINBACK, "anna")
    assert [m.key for m in told] == [f"winback:anna:{now.date()}:sms"] and "250" in told[0].body
    assert messages(store, Trigger.WINBACK, "boris") == []
    # boris's turn comes when his own lapse does
    assert _sweep(store, config, now + timedelta(days=91))["winbacks"] == 1
    # anna buys again and lapses again: a new period, a new message and bonus
    _pay(store, config, "anna", "A2", [CUP], now + timedelta(days=100))
    assert _sweep(store, config, now + timedelta(days=161))["winback_bonuses"] == 250
    assert len(messages(store, Trigger.WINBACK, "anna")) == 2


def test_no_winback_while_the_trigger_is_off(store, now):
    config = _winback_config(bonus=250, enabled=False)
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    _pay(store, config, "anna", "A1", [CUP], now)
    assert _sweep(store, config, now + timedelta(days=61))["winbacks"] == 0
    assert messages(store, Trigger.WINBACK, "anna") == [] and not [p for p in postings(store, "anna") if p.key.startswith("winback:")]
