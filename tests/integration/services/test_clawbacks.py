"""Reserved bonuses cannot escape a clawback: a return reaches bonuses held by an open checkout or an
open payout request (the payout request first), on both stores, through the real use cases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.cart import CartLine
from shared.domain.errors import InvalidState
from shared.domain.history import describe
from shared.domain.payouts import PayoutStatus, held_for_payouts, payable
from shared.edge.admin_auth import Admin
from shared.platform.sealing import Sealer
from shared.presets import load_preset
from shared.services import orders, payouts, registration
from shared.services.admin import adjustments
from shared.services.ledger import balances, load_account, postings
from tests.integration.services.payout_story import BIG_ORDER, REWARD, past_hold, referee_order
from tests.reliability.audit import assert_ledgers_sound

MARKETER = Admin("marketer@shop.example", ("marketer",))
SEALER = Sealer("test-payout-secret-of-at-least-32-bytes!")
TWICE_AS_BIG = [CartLine(id="device", price=2_000_000, quantity=1)]  # 20 000 ₽: 1 000 points at 5 %
SMALL = [CartLine(id="cream", price=400_000, quantity=1)]  # 4 000 ₽: up to 2 000 bonuses at 50 %


@pytest.fixture
def biomiq():
    return load_preset("biomiq")  # clawback policy "floor"


def _pay(store, config, order_id: str, at) -> None:
    order = orders.get_order(store, order_id)
    orders.mark_paid(store, config=config, order_id=order_id, payment=orders.PaymentRef(provider="test", id=f"pay-{order_id}", amount=order.money_to_pay), now=at)


def _bought_and_received(store, config, customer_id: str, order_id: str, lines, at) -> None:
    orders.place_order(store, config=config, customer_id=customer_id, order_id=order_id, lines=lines, bonuses=0, now=at)
    _pay(store, config, order_id, at)
    orders.mark_delivered(store, config=config, order_id=order_id, delivered_at=at, now=at, carrier="test")


def test_a_clawback_reaches_bonuses_held_by_an_open_checkout(store, biomiq, now):
    registration.register_customer(store, config=biomiq, customer_id="anna", now=now)  # 500 welcome
    _bought_and_received(store, biomiq, "anna", "A1", TWICE_AS_BIG, now)  # earns 1 000
    later = past_hold(biomiq, now)
    assert balances(store, "anna", later).available == 1500
    orders.place_order(store, config=biomiq, customer_id="anna", order_id="B1", lines=SMALL, bonuses=1500, now=later)  # every bonus held by B1
    assert balances(store, "anna", later).available == 0

    returned = orders.mark_returned(store, config=biomiq, order_id="A1", return_id="R1", returns=None, now=later)
    assert returned.returns()[-1].earned_back == 1000  # taken, none forgiven
    assert load_account(store, "anna").reservations["B1"].amount == 500  # the checkout's hold shrank
    orders.mark_canceled(store, order_id="B1", now=later, reason="timeout")
    b = balances(store, "anna", later)
    assert (b.available, b.reserved, b.total) == (500, 0, 500)  # her welcome bonus only: nothing earned on A1 is left
    assert_ledgers_sound(store, customers=["anna"], now=later)


def test_a_clawback_cancels_the_payout_request_that_holds_the_reward(store, biomiq, now):
    registration.register_customer(store, config=biomiq, customer_id="maria", now=now)  # 500 welcome: spendable, never payable
    referee_order(store, biomiq, partner="maria", referee="anna", order_id="A1", lines=BIG_ORDER, at=now)
    later = past_hold(biomiq, now)
    payouts.request_payout(store, config=biomiq, customer_id="maria", request_id="maria-cashout-1", amount=REWARD, method="card", details="4111 1111 1111 1111", now=later, sealer=SEALER)

    orders.mark_returned(store, config=biomiq, order_id="A1", return_id="R1", returns=None, now=later + timedelta(hours=1))
    request = payouts.get(store, "maria-cashout-1")
    assert request is not None and request.status is PayoutStatus.CANCELED and request.reason
    account = load_account(store, "maria")
    assert (payable(account, later), held_for_payouts(account), account.balances(later).total) == (0, 0, 500)  # the reward went back, the welcome bonus stays
    with pytest.raises(InvalidState):
        payouts.decide_request(store, request_id="maria-cashout-1", decision="approve", actor="manager@shop", now=later + timedelta(hours=2))
    assert balances(store, "maria", later).total == 500
    assert_ledgers_sound(store, customers=["maria", "anna"], now=later, min_accounts=2)


def test_a_payout_request_gives_back_what_the_clawback_did_not_need(store, biomiq, now):
    registration.register_customer(store, config=biomiq, customer_id="maria", now=now)
    referee_order(store, biomiq, partner="maria", referee="anna", order_id="A1", lines=BIG_ORDER, at=now)  # 500
    referee_order(store, biomiq, partner="maria", referee="olga", order_id="O1", lines=BIG_ORDER, at=now)  # 500 more
    later = past_hold(biomiq, now)
    payouts.request_payout(store, config=biomiq, customer_id="maria", request_id="maria-cashout-1", amount=2 * REWARD, method="card", details="4111 1111 1111 1111", now=later, sealer=SEALER)

    orders.mark_returned(store, config=biomiq, order_id="A1", return_id="R1", returns=None, now=later)
    assert payouts.get(store, "maria-cashout-1").status is PayoutStatus.CANCELED
    account = load_account(store, "maria")
    assert (payable(account, later), held_for_payouts(account)) == (REWARD, 0)  # olga's order was kept: her reward is payable again
    again = payouts.request_payout(store, config=biomiq, customer_id="maria", request_id="maria-cashout-2", amount=REWARD, method="card", details="4111 1111 1111 1111", now=later, sealer=SEALER)
    assert again.status == "requested"
    shown = [entry for entry in (describe(p) for p in postings(store, "maria", limit=10)) if entry is not None]
    assert any(e.reason == "Заявка на выплату maria-cashout-1 отменена из-за возврата покупки: остаток бонусов возвращён" and e.held == -REWARD for e in shown)
    assert_ledgers_sound(store, customers=["maria"], now=later)


def test_refunded_bonuses_pay_the_clawback_before_anything_is_forgiven(store, biomiq, now):
    registration.register_customer(store, config=biomiq, customer_id="anna", now=now)  # 500 welcome
    orders.place_order(store, config=biomiq, customer_id="anna", order_id="A1", lines=SMALL, bonuses=500, now=now)  # 3 500 ₽ paid: 175 points
    _pay(store, biomiq, "A1", now)
    orders.mark_delivered(store, config=biomiq, order_id="A1", delivered_at=now, now=now, carrier="test")
    later = past_hold(biomiq, now)
    adjustments.adjust(store, MARKETER, config=biomiq, customer_id="anna", amount=-175, reason="списано по претензии", key="a-1", now=later)  # the 175 gone
    assert balances(store, "anna", later).total == 0

    orders.mark_returned(store, config=biomiq, order_id="A1", return_id="R1", returns=None, now=later)
    assert balances(store, "anna", later).total == 500 - 175  # the 500 spent on A1 come back, less the 175 it earned
    assert_ledgers_sound(store, customers=["anna"], now=later)
