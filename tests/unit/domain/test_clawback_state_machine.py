"""Stateful property test of clawbacks through the use cases: no bonus escapes a return.

Beside the ledger's own machine (``test_ledger_state_machine.py``, which drives
single commands), this one drives the real use cases on a :class:`MemoryStore`:
a partner (Maria) and two referees (Anna, Olga) check out with bonuses, pay,
are delivered, return all or part of an order, cancel, let time pass and the
sweep expire lots and release stale reservations; Maria asks for payouts (to a
card or to the bonus account) that are approved, rejected or paid. Every
interleaving runs under both clawback policies.

After every step the machine asserts the clawback invariant:

* a clawback forgives (``floor``) or leaves owed (``allow_negative``) only what
  the account could not pay — right after the step in which it did, the account
  held nothing pending, available or reserved, by a checkout or a payout request;
* a partner's reward is taken back from rewards first — right after a step in
  which a reward's clawback took any other bonus or forgave any, the partner held
  no reward: none pending, none payable, none held for a payout;
* a debt is outstanding only while nothing pending, available or held could pay it;

and what payouts may draw on: a payout request holds, and a payout spends, only
referral rewards; each open request holds exactly its amount and a closed one
nothing; the ledger audit is clean on every account.

``KOPILKA_HYPOTHESIS_EXAMPLES`` sets the number of examples (default
:data:`DEFAULT_EXAMPLES`; ``make test`` runs the default, a deeper run sets more).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from shared.adapters.memory_store import MemoryStore
from shared.domain.cart import CartLine
from shared.domain.config import ProgramConfig, parse_config
from shared.domain.errors import InsufficientBonuses, InvalidState
from shared.domain.history import PAYOUT_PREFIX, REFERRAL_PREFIX
from shared.domain.ledger import Account, Debit, Posting, Seize, apply_posting
from shared.domain.order import OrderStatus
from shared.domain.payouts import PAYABLE_SOURCE, PayoutStatus, payable
from shared.platform.sealing import Sealer
from shared.presets import preset_data
from shared.services import account_sweep, orders, payouts, registration
from shared.services.ledger import all_postings, audit_account, load_account
from tests.reliability.audit import assert_ledgers_sound

DEFAULT_EXAMPLES = 40
EXAMPLES = int(os.environ.get("KOPILKA_HYPOTHESIS_EXAMPLES", DEFAULT_EXAMPLES))

UTC = timezone.utc
T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
PARTNER = "maria"
REFEREES = ("anna", "olga")
CUSTOMERS = (PARTNER, *REFEREES)
MIN_PAYOUT = 50
SEALER = Sealer("state-machine-payout-secret-of-32-bytes")
CARD = "4111 1111 1111 1111"


def program(policy: str) -> ProgramConfig:
    raw = preset_data("biomiq")
    raw["clawback"] = {"negative_balance": policy}
    raw["payouts"] = {"min_amount": MIN_PAYOUT}
    return parse_config(raw)


def holds_nothing(account: Account, now: datetime) -> bool:
    b = account.balances(now)
    return b.available == b.pending == b.reserved == 0


def rewards_left(account: Account, now: datetime) -> int:
    """Rewards pending or payable, and what payout requests hold."""
    free = sum(lot.remaining for lot in account.lots.values() if lot.source == PAYABLE_SOURCE and lot.state(now) in ("pending", "active"))
    return free + sum(r.amount for r in account.reservations.values() if r.id.startswith(PAYOUT_PREFIX))


def took_other_than_rewards(before: Account, posting: Posting) -> bool:
    for m in posting.movements:
        if isinstance(m, Debit) and before.lots[m.lot_id].source != PAYABLE_SOURCE:
            return True
        if isinstance(m, Seize) and any(a.source != PAYABLE_SOURCE for a in m.taken):
            return True
    return False


class ClawbackMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = MemoryStore()
        self.now = T0
        self.config = program("floor")
        self.orders: dict[str, str] = {}  # order id -> customer
        self.requests: dict[str, str] = {}  # payout request id -> method
        self.seen: dict[str, int] = dict.fromkeys(CUSTOMERS, 0)  # postings checked so far, by seq
        self.n = 0

    def next_id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n:06d}"

    def account(self, customer_id: str) -> Account:
        account = load_account(self.store, customer_id)
        assert account is not None
        return account

    def status(self, order_id: str) -> OrderStatus:
        return orders.get_order(self.store, order_id).status

    def with_status(self, *statuses: OrderStatus) -> list[str]:
        return [o for o in self.orders if self.status(o) in statuses]

    def open_requests(self, *statuses: PayoutStatus) -> list[str]:
        return [r for r in self.requests if payouts.get(self.store, r).status in statuses]

    # --- the program, the people, the clock ---------------------------------------------

    @initialize(policy=st.sampled_from(["floor", "allow_negative"]), bought=st.lists(st.tuples(st.sampled_from(REFEREES), st.integers(1000, 6000)), min_size=1, max_size=3))
    def open_accounts(self, policy: str, bought: list[tuple[str, int]]) -> None:
        """The program under one policy; Maria's referees received their first orders a hold ago,
        so Maria starts with payable rewards."""
        self.config = program(policy)
        registration.register_customer(self.store, config=self.config, customer_id=PARTNER, now=self.now)
        for referee in REFEREES:
            registration.register_customer(self.store, config=self.config, customer_id=referee, now=self.now, invited_by=PARTNER)
        for referee, price in bought:
            self.delivered_order(referee, price, bonuses=0)
        self.now += timedelta(days=self.config.referral_hold_days, hours=1)
        event(f"policy: {policy}")

    def delivered_order(self, customer: str, price: int, bonuses: int) -> None:
        order_id = self.next_id("O")
        lines = [CartLine(id="kit", price=price * 100, quantity=2), CartLine(id="gift", price=90000, quantity=1)]
        placed, _ = orders.place_order(self.store, config=self.config, customer_id=customer, order_id=order_id, lines=lines, bonuses=bonuses, now=self.now)
        self.orders[order_id] = customer
        orders.mark_paid(self.store, config=self.config, order_id=order_id, payment=orders.PaymentRef(provider="test", id=f"pay-{order_id}", amount=placed.money_to_pay), now=self.now)
        orders.mark_delivered(self.store, config=self.config, order_id=order_id, delivered_at=self.now, now=self.now, carrier="test")

    @rule(days=st.one_of(st.integers(0, 3), st.just(15), st.integers(10, 20), st.just(400)), hours=st.integers(0, 23))
    def time_passes(self, days: int, hours: int) -> None:
        self.now += timedelta(days=days, hours=hours)

    @rule(customer=st.sampled_from(CUSTOMERS))
    def sweep(self, customer: str) -> None:
        swept = account_sweep.sweep_account(self.store, config=self.config, customer_id=customer, now=self.now)
        event(f"sweep: expired {bool(swept.expired)}, released {bool(swept.released)}")

    # --- orders -------------------------------------------------------------------------

    @rule(customer=st.sampled_from(CUSTOMERS), price=st.integers(500, 4000), quantity=st.integers(1, 3), bonuses=st.one_of(st.just(0), st.integers(1, 3000)))
    def check_out(self, customer: str, price: int, quantity: int, bonuses: int) -> None:
        order_id = self.next_id("O")
        lines = [CartLine(id="kit", price=price * 100, quantity=quantity), CartLine(id="gift", price=90000, quantity=1)]
        placed, _ = orders.place_order(self.store, config=self.config, customer_id=customer, order_id=order_id, lines=lines, bonuses=bonuses, now=self.now)
        self.orders[order_id] = customer
        event("checkout with bonuses" if placed.bonuses_reserved else "checkout")

    @rule(referee=st.sampled_from(REFEREES), price=st.integers(1000, 6000), bonuses=st.one_of(st.just(0), st.integers(1, 1000)))
    def referee_order_delivered(self, referee: str, price: int, bonuses: int) -> None:
        """A referee's order checked out, paid and delivered in a row: Maria's reward starts its hold."""
        self.delivered_order(referee, price, bonuses)

    @precondition(lambda self: self.with_status(OrderStatus.AWAITING_PAYMENT))
    @rule(data=st.data())
    def pay(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(self.with_status(OrderStatus.AWAITING_PAYMENT)), label="order")
        order = orders.get_order(self.store, order_id)
        paid = orders.mark_paid(self.store, config=self.config, order_id=order_id, payment=orders.PaymentRef(provider="test", id=f"pay-{order_id}", amount=order.money_to_pay), now=self.now)
        event("paid, fewer bonuses than agreed" if paid.bonuses_shortfall else "paid")

    @precondition(lambda self: self.with_status(OrderStatus.AWAITING_PAYMENT))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(self.with_status(OrderStatus.AWAITING_PAYMENT)), label="order")
        orders.mark_canceled(self.store, order_id=order_id, now=self.now, reason="timeout")

    @precondition(lambda self: self.with_status(OrderStatus.PAID))
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(self.with_status(OrderStatus.PAID)), label="order")
        orders.mark_delivered(self.store, config=self.config, order_id=order_id, delivered_at=self.now, now=self.now, carrier="test")

    @precondition(lambda self: self.with_status(OrderStatus.PAID, OrderStatus.DELIVERED, OrderStatus.PARTIALLY_RETURNED))
    @rule(data=st.data(), everything=st.booleans())
    def give_back(self, data: st.DataObject, everything: bool) -> None:
        order_id = data.draw(st.sampled_from(self.with_status(OrderStatus.PAID, OrderStatus.DELIVERED, OrderStatus.PARTIALLY_RETURNED)), label="order")
        kept = orders.get_order(self.store, order_id).remaining_units()
        units = None if everything else {line: data.draw(st.integers(1, left), label=f"units of {line}") for line, left in kept.items() if data.draw(st.booleans(), label=f"return {line}")}
        if units == {}:
            units = None
        orders.mark_returned(self.store, config=self.config, order_id=order_id, return_id=self.next_id("R"), returns=units, now=self.now)
        event("return: all" if units is None else "return: part")

    # --- payouts ------------------------------------------------------------------------

    @rule(share=st.integers(1, 130), method=st.sampled_from(["card", "bonus_account"]))
    def ask_for_a_payout(self, share: int, method: str) -> None:
        """Maria asks for ``share`` % of her payable balance (over 100 %: more than she may)."""
        can_pay = payable(self.account(PARTNER), self.now)
        amount = max(1, can_pay * share // 100) if can_pay else MIN_PAYOUT * share // 10
        request_id = self.next_id("payout-")
        details = CARD if method == "card" else ""
        if amount < MIN_PAYOUT or amount > can_pay:
            before = self.account(PARTNER).to_dict()
            try:
                payouts.request_payout(self.store, config=self.config, customer_id=PARTNER, request_id=request_id, amount=amount, method=method, details=details, now=self.now, sealer=SEALER)
            except (InsufficientBonuses, payouts.PayoutBelowMinimum):
                event("payout refused")
            else:
                raise AssertionError(f"a payout of {amount} with {can_pay} payable was accepted")
            assert self.account(PARTNER).to_dict() == before and payouts.get(self.store, request_id) is None
            return
        payouts.request_payout(self.store, config=self.config, customer_id=PARTNER, request_id=request_id, amount=amount, method=method, details=details, now=self.now, sealer=SEALER)
        self.requests[request_id] = method
        event(f"payout requested: {method}")

    @precondition(lambda self: self.requests)
    @rule(data=st.data(), decision=st.sampled_from(["approve", "reject"]))
    def decide(self, data: st.DataObject, decision: str) -> None:
        request_id = data.draw(st.sampled_from(sorted(self.requests)), label="request")
        status = payouts.get(self.store, request_id).status
        try:
            outcome = payouts.decide_request(self.store, request_id=request_id, decision=decision, actor="manager@shop", now=self.now, reason="проверено")  # type: ignore[arg-type]
        except InvalidState:
            assert status is not PayoutStatus.REQUESTED, f"an open request refused {decision}"
            event(f"{decision}: refused, request {status.value}")
            return
        event(f"{decision}: " + ("replayed" if outcome.replayed else "done"))

    @precondition(lambda self: self.open_requests(PayoutStatus.APPROVED))
    @rule(data=st.data())
    def settle(self, data: st.DataObject) -> None:
        request_id = data.draw(st.sampled_from(self.open_requests(PayoutStatus.APPROVED)), label="request")
        payouts.settle(self.store, request_id=request_id, actor="accountant@shop", now=self.now)

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def clawbacks_leave_nothing_they_could_take(self) -> None:
        """Checked on the postings of the step just taken, against the accounts as that step left them."""
        for customer in CUSTOMERS:
            history = sorted(all_postings(self.store, customer), key=lambda p: p.seq)
            now_state = self.account(customer)
            folded = Account(customer_id=customer)
            for posting in history:
                before, folded = folded, apply_posting(folded, posting)
                if posting.seq <= self.seen[customer] or posting.kind != "reverse":
                    continue
                outcome = posting.outcome
                short = int(outcome["forgiven"]) + int(outcome["debt"])
                if short:
                    event("clawback: forgiven or owed")
                    assert holds_nothing(now_state, self.now), f"{customer}: {short} forgiven or owed while {now_state.balances(self.now)} was held"
                if (posting.order_id or "").startswith(REFERRAL_PREFIX) and (short or took_other_than_rewards(before, posting)):
                    event("reward clawback: beyond the rewards")
                    assert rewards_left(now_state, self.now) == 0, f"{customer}: a reward's clawback took other bonuses while rewards were left"
                if outcome.get("from_holds"):
                    event("clawback: reached a reservation")
            self.seen[customer] = history[-1].seq if history else 0

    @invariant()
    def a_debt_is_owed_only_while_nothing_could_pay_it(self) -> None:
        for customer in CUSTOMERS:
            account = self.account(customer)
            if account.debt:
                assert holds_nothing(account, self.now), f"{customer}: a debt of {account.debt} beside {account.balances(self.now)}"

    @invariant()
    def payouts_draw_only_on_rewards_and_hold_exactly_their_amount(self) -> None:
        account = self.account(PARTNER)
        held = {r.id: r for r in account.reservations.values() if r.id.startswith(PAYOUT_PREFIX)}
        for reservation in held.values():
            assert {a.source for a in reservation.allocations} == {PAYABLE_SOURCE}, reservation
        for request_id in self.requests:
            request = payouts.get(self.store, request_id)
            reservation = held.pop(payouts.reservation_of(request_id), None)
            if request.status is PayoutStatus.REQUESTED:
                assert reservation is not None and reservation.amount == request.amount, request
            else:
                assert reservation is None, request
        assert held == {}, f"reservations of no open request: {sorted(held)}"
        for posting in all_postings(self.store, PARTNER):
            if posting.kind == "spend" and (posting.order_id or "").startswith(PAYOUT_PREFIX):
                assert {a["source"] for a in posting.outcome["allocations"]} == {PAYABLE_SOURCE}, posting.key

    @invariant()
    def every_ledger_is_the_fold_of_its_postings(self) -> None:
        for customer in CUSTOMERS:
            assert audit_account(self.store, customer) == []
        assert_ledgers_sound(self.store, customers=list(CUSTOMERS), now=self.now, min_accounts=len(CUSTOMERS))

    def teardown(self) -> None:
        statuses: dict[str, Any] = {}
        for request_id in self.requests:
            status = payouts.get(self.store, request_id).status.value
            statuses[status] = statuses.get(status, 0) + 1
        for status in statuses:
            event(f"payout ended {status}")


ClawbackMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestClawbackStateMachine = ClawbackMachine.TestCase
