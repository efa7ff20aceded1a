"""The partner program on the emulator: binding rules, the Biomiq rate schedule, the hold and
the clawback on returns, and referral_reward's retry path through functions-framework."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.cart import CartLine
from shared.domain.errors import ValidationFailed
from shared.services import orders, referral
from shared.services.ledger import audit_account, balances, fold_rewards, load_account, postings
from tests.conftest import load_function
from tests.functions.shop import CART, SWEEP, config, customer, now, paid_order, posting_kinds

THOUSAND = [CartLine(id="box", price=100000, quantity=1)]  # 1 000 ₽


@pytest.fixture
def client(function_env):
    return load_function("referral_reward")


@pytest.fixture
def store(function_env):
    return function_env


def deliver(store, order_id, at):
    return orders.mark_delivered(store, config=config(at), order_id=order_id, delivered_at=at, now=at, carrier="test")


def referral_lots(store, partner):
    return [lot for lot in load_account(store, partner).lots.values() if lot.source == "referral"]


def credit(client, order_id, headers=SWEEP):
    return client.post("/credit", json={"order_id": order_id}, headers=headers)


# --- binding rules -----------------------------------------------------------------------


def test_no_self_referral(store):
    with pytest.raises(ValidationFailed) as refused:
        customer(store, "anna", invited_by="anna")
    assert refused.value.details["field"] == "invited_by"
    assert load_account(store, "anna") is None


def test_an_existing_customer_is_not_bound_by_a_later_invitation(client, store):
    t0 = now()
    customer(store, "maria", at=t0)
    customer(store, "anna", at=t0)
    again = customer(store, "anna", at=t0, invited_by="maria")
    assert (again.registered, again.welcome) == (False, 0)
    assert store.get("customers/anna")["invited_by"] is None
    assert posting_kinds(store, "anna")["accrue"] == 1  # the first welcome only
    paid_order(store, "A1", "anna", bonuses=0, register=False, at=t0)
    deliver(store, "A1", t0)
    assert store.get("customers/anna")["referrer_id"] is None
    assert store.get("customers/maria")["paying_referees"] == 0
    assert referral_lots(store, "maria") == []
    assert credit(client, "A1").get_json() == {"order_id": "A1", "partner_id": None, "reward": 0}


# --- the rate schedule --------------------------------------------------------------------


def test_five_percent_below_three_paying_referees_ten_from_three(client, store):
    t0 = now()
    customer(store, "maria", at=t0)
    rewards = []
    for n in range(4):
        friend = f"friend{n}"
        customer(store, friend, at=t0, invited_by="maria")
        paid_order(store, f"F{n}", friend, lines=THOUSAND, bonuses=0, register=False, at=t0)
        assert store.get("customers/maria")["paying_referees"] == n + 1
        rewards.append(deliver(store, f"F{n}", t0).events[-1].referral_reward)
    assert rewards == [50, 50, 100, 100]  # 5 % of 1 000 ₽ with 1 and 2 paying referees, 10 % from the third
    for n, reward in enumerate(rewards):
        assert credit(client, f"F{n}").get_json() == {"order_id": f"F{n}", "partner_id": "maria", "reward": reward}
    assert [lot.amount for lot in referral_lots(store, "maria")] == [300]  # one day's rewards are one lot
    books = [store.get(f"customers/maria/orders/ref-friend{n}-F{n}") for n in range(4)]
    assert [sum(line["earned"] for line in book["lines"].values()) for book in books] == [50, 50, 100, 100]  # each keeps its own part
    # a second order of the same referee does not count the referee again
    paid_order(store, "F0b", "friend0", lines=THOUSAND, bonuses=0, register=False, at=t0)
    assert store.get("customers/maria")["paying_referees"] == 4
    assert audit_account(store, "maria") == []


# --- hold and clawback -----------------------------------------------------------------------


def test_the_reward_is_held_for_the_hold_days_and_taken_back_on_return(client, store):
    t0 = now()
    customer(store, "maria", at=t0)
    customer(store, "anna", at=t0, invited_by="maria")
    paid_order(store, "A1", "anna", bonuses=0, register=False, at=t0)  # 3 100 ₽ paid
    delivered = t0 + timedelta(days=3)
    assert deliver(store, "A1", delivered).events[-1].referral_reward == 155  # 5 %
    hold = timedelta(days=config(t0).referral_hold_days)
    before = balances(store, "maria", delivered + hold - timedelta(seconds=1))
    assert (before.available, before.pending) == (500, 155)
    after = balances(store, "maria", delivered + hold)
    assert (after.available, after.pending) == (655, 0)

    one_cream = orders.mark_returned(store, config=config(delivered), order_id="A1", return_id="R1", returns={"cream": 1}, now=delivered + timedelta(days=1))
    assert one_cream.status == "partially_returned"
    assert balances(store, "maria", delivered + timedelta(days=1)).pending == 155 - 30  # 5 % of one 600 ₽ cream
    orders.mark_returned(store, config=config(delivered), order_id="A1", return_id="R2", returns=None, now=delivered + timedelta(days=2))
    assert balances(store, "maria", delivered + timedelta(days=2)).total == 500
    reversals = [p for p in postings(store, "maria") if p.kind == "reverse"]
    assert sum(-p.delta for p in reversals) == 155
    # crediting again after the return changes nothing: the reward was credited once and taken back
    assert credit(client, "A1").get_json()["reward"] == 155
    assert balances(store, "maria", delivered + timedelta(days=2)).total == 500
    assert audit_account(store, "maria") == []
    assert audit_account(store, "anna") == []


# --- the retry path ----------------------------------------------------------------------------


def test_credit_completes_a_delivery_whose_partner_transaction_did_not_commit(client, store, monkeypatch):
    t0 = now()
    customer(store, "maria", at=t0)
    customer(store, "anna", at=t0, invited_by="maria")
    paid_order(store, "A1", "anna", lines=CART, bonuses=0, register=False, at=t0)
    real = referral.credit_referral_reward

    def lost(*args, **kwargs):
        raise RuntimeError("the instance died between the two transactions")

    monkeypatch.setattr(referral, "credit_referral_reward", lost)
    with pytest.raises(RuntimeError):
        deliver(store, "A1", t0)
    monkeypatch.setattr(referral, "credit_referral_reward", real)
    assert store.get("customers/anna/orders/A1")["delivered_at"] is not None  # the referee's side committed
    assert referral_lots(store, "maria") == []

    assert credit(client, "A1", headers={}).status_code == 401
    first = credit(client, "A1")
    assert first.status_code == 200, first.get_json()
    assert first.get_json() == {"order_id": "A1", "partner_id": "maria", "reward": 155}
    assert credit(client, "A1").get_json()["reward"] == 155
    lots = referral_lots(store, "maria")
    assert [(lot.amount, lot.activates_at) for lot in lots] == [(155, t0 + timedelta(days=14))]
    # the delivery webhook delivered again finishes the order and credits nothing twice
    assert deliver(store, "A1", t0).status == "delivered"
    assert fold_rewards(store, "maria") == 1  # the reward waited in the partner's inbox, once
    assert posting_kinds(store, "maria")["accrue"] == 2  # welcome + one reward
    assert audit_account(store, "maria") == []


def test_credit_refusals(client, store):
    t0 = now()
    customer(store, "maria", at=t0)
    customer(store, "anna", at=t0, invited_by="maria")
    paid_order(store, "A1", "anna", bonuses=0, register=False, at=t0)
    assert credit(client, "NOPE").status_code == 404
    not_yet = credit(client, "A1")
    assert (not_yet.status_code, not_yet.get_json()["error"]["code"]) == (409, "invalid_state")
    assert client.post("/credit", json={"order_id": "A1", "extra": 1}, headers=SWEEP).status_code == 400
    assert referral_lots(store, "maria") == []
