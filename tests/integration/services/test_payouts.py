"""Payout requests as typed results: the partner's answer, the back office's pages and outcomes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.adapters import layout
from shared.domain.config import parse_config
from shared.domain.errors import Forbidden, IdempotencyConflict, InsufficientBonuses, InvalidState, ValidationFailed
from shared.domain.history import describe
from shared.domain.ledger import Accrue
from shared.domain.payouts import PayoutMethod, PayoutStatus
from shared.edge.admin_auth import Admin
from shared.platform.sealing import SealBroken, Sealer
from shared.presets import preset_data
from shared.services import orders, partner, payouts, registration
from shared.services.admin import adjustments
from shared.services.admin import payouts as admin_payouts
from shared.services.admin.common import payout_result
from shared.services.ledger import balances, load_account, post, postings
from tests.integration.services.payout_story import BIG_ORDER, REWARD, past_hold, referee_order
from tests.reliability.audit import assert_ledgers_sound

SEALER = Sealer("test-payout-secret-of-at-least-32-bytes!")


def test_requests_decisions_and_pages_are_typed_and_stored_as_before(store, biomiq, now):
    registration.register_customer(store, config=biomiq, customer_id="maria", now=now)
    referee_order(store, biomiq, partner="maria", referee="anna", order_id="A1", at=now - timedelta(days=biomiq.referral_hold_days + 1))  # a 500 reward, payable now
    answer = payouts.request_payout(store, config=biomiq, customer_id="maria", request_id="payout-0001", amount=500, method="phone", details="+7 916 000-00-11", now=now, sealer=SEALER)
    assert (answer.status, answer.amount, answer.replayed, [h.status for h in answer.history]) == ("requested", 500, False, ["requested"])
    assert payouts.request_payout(store, config=biomiq, customer_id="maria", request_id="payout-0001", amount=500, method="phone", details="+7 916 000 00 11", now=now, sealer=SEALER).replayed
    with pytest.raises(IdempotencyConflict):  # the same masked form, another phone
        payouts.request_payout(store, config=biomiq, customer_id="maria", request_id="payout-0001", amount=500, method="phone", details="+7 926 000-00-11", now=now, sealer=SEALER)
    request = payouts.get(store, "payout-0001")
    assert request is not None and (request.method, request.status, request.customer_id) == (PayoutMethod.PHONE, PayoutStatus.REQUESTED, "maria")
    assert payouts.get(store, "../customers/maria") is None and payouts.get(store, "payout-0404") is None
    assert payouts.with_status(store, PayoutStatus.REQUESTED) == ([request], None)
    seen = []
    outcome = payouts.decide_request(store, request_id="payout-0001", decision="reject", actor="manager@shop", now=now, reason="wrong details", then=lambda uow, o: seen.append(o))
    assert (outcome.replayed, outcome.request.status, outcome.request.reason, outcome.request.decided_by) == (False, PayoutStatus.REJECTED, "wrong details", "manager@shop")
    again = payouts.decide_request(store, request_id="payout-0001", decision="reject", actor="manager@shop", now=now, then=lambda uow, o: seen.append(o))
    assert again.replayed and seen == [outcome]
    stored = {k: v for k, v in store.get("payouts/payout-0001").items() if k != "destination"}
    assert payout_result(again) == {**stored, "replayed": True}  # what the back office audits: all but the sealed destination
    with pytest.raises(InvalidState):
        payouts.settle(store, request_id="payout-0001", actor="accountant@shop", now=now)
    assert payouts.with_status(store, PayoutStatus.REQUESTED) == ([], None)
    assert [r.request_id for r in payouts.with_status(store, PayoutStatus.REJECTED, limit=1)[0]] == ["payout-0001"]
    page = payouts.list_requests(store, config=biomiq, customer_id="maria")
    assert [(i.request_id, i.status, [h.reason for h in i.history]) for i in page.root.items] == [("payout-0001", "rejected", [None, "wrong details"])]


# --- what a payout may draw on ------------------------------------------------------------------

MARKETER = Admin("marketer@shop.example", ("marketer",))
MANAGER = Admin("manager@shop.example", ("manager",))


def _ask(store, config, customer_id: str, request_id: str, amount: int, *, at, method: str = "card", details: str = "4111 1111 1111 1111"):
    return payouts.request_payout(store, config=config, customer_id=customer_id, request_id=request_id, amount=amount, method=method, details=details, now=at, sealer=SEALER)


def _nothing_held(store, customer_id: str, request_id: str, at) -> None:
    assert payouts.get(store, request_id) is None
    assert balances(store, customer_id, at).reserved == 0


def test_welcome_bonus_is_never_payable(store, biomiq, now):
    registration.register_customer(store, config=biomiq, customer_id="maria", now=now)
    registration.register_customer(store, config=biomiq, customer_id="olga", now=now, invited_by="maria")  # 1 000 invited welcome bonuses, no purchase
    later = now + timedelta(days=30)
    assert balances(store, "olga", later).available == 1000
    with pytest.raises(InsufficientBonuses) as refused:
        _ask(store, biomiq, "olga", "olga-cashout-1", 1000, at=later)
    assert refused.value.details == {"requested": 1000, "payable": 0} and "к выплате" in refused.value.message_ru
    _nothing_held(store, "olga", "olga-cashout-1", later)
    assert_ledgers_sound(store, customers=["olga", "maria"], now=later, min_accounts=2)


def test_only_referral_rewards_past_their_hold_are_payable(store, biomiq, now):
    registration.register_customer(store, config=biomiq, customer_id="maria", now=now)  # 500 welcome
    adjustments.adjust(store, MARKETER, config=biomiq, customer_id="maria", amount=1000, reason="компенсация", key="m-1", now=now)
    post(store, "maria", "birthday:maria:2026", Accrue(amount=300, source="birthday", ref="2026", activates_at=now, expires_at=now + timedelta(days=30)), now=now)
    post(store, "maria", "mass:spring:maria", Accrue(amount=200, source="mass_accrual", ref="spring", activates_at=now, expires_at=now + timedelta(days=90)), now=now)
    placed, _ = orders.place_order(store, config=biomiq, customer_id="maria", order_id="M1", lines=BIG_ORDER, bonuses=0, now=now)  # her own purchase earns 500
    orders.mark_paid(store, config=biomiq, order_id="M1", payment=orders.PaymentRef(provider="test", id="pay-M1", amount=placed.money_to_pay), now=now)
    orders.mark_delivered(store, config=biomiq, order_id="M1", delivered_at=now, now=now, carrier="test")
    referee_order(store, biomiq, partner="maria", referee="anna", order_id="A1", at=now)  # maria's reward: 500, in its hold

    assert partner.dashboard(store, config=biomiq, partner_id="maria", now=now, shop_url="").payable == 0
    with pytest.raises(InsufficientBonuses):  # 2 000 available, none of it earned as a partner
        _ask(store, biomiq, "maria", "maria-cashout-1", 500, at=now)
    _nothing_held(store, "maria", "maria-cashout-1", now)

    later = past_hold(biomiq, now)  # the reward and her own purchase's points are both spendable now
    assert balances(store, "maria", later).available == 500 + 1000 + 300 + 200 + 500 + REWARD
    dashboard = partner.dashboard(store, config=biomiq, partner_id="maria", now=later, shop_url="")
    assert (dashboard.payable, dashboard.payouts_held) == (REWARD, 0)
    with pytest.raises(InsufficientBonuses) as refused:
        _ask(store, biomiq, "maria", "maria-cashout-1", REWARD + 1, at=later)
    assert refused.value.details == {"requested": REWARD + 1, "payable": REWARD}
    _ask(store, biomiq, "maria", "maria-cashout-1", REWARD, at=later)
    held = load_account(store, "maria").reservations[payouts.reservation_of("maria-cashout-1")]
    assert {a.source for a in held.allocations} == {"referral"} and held.amount == REWARD
    dashboard = partner.dashboard(store, config=biomiq, partner_id="maria", now=later, shop_url="")
    assert (dashboard.payable, dashboard.payouts_held) == (0, REWARD)
    assert_ledgers_sound(store, customers=["maria", "anna"], now=later, min_accounts=2)


def test_the_minimum_payout_is_program_config(store, biomiq, now):
    assert biomiq.payouts.min_amount == 500  # the presets keep the minimum they had
    registration.register_customer(store, config=biomiq, customer_id="maria", now=now)
    referee_order(store, biomiq, partner="maria", referee="anna", order_id="A1", at=now)
    later = past_hold(biomiq, now)
    strict = parse_config({**preset_data("biomiq"), "payouts": {"min_amount": 1000}})
    with pytest.raises(payouts.PayoutBelowMinimum) as refused:
        _ask(store, strict, "maria", "maria-cashout-1", REWARD, at=later)
    assert refused.value.details == {"minimum": 1000, "requested": REWARD} and "1000" in refused.value.message_ru
    _nothing_held(store, "maria", "maria-cashout-1", later)
    lenient = parse_config({**preset_data("biomiq"), "payouts": {"min_amount": 100}})
    assert _ask(store, lenient, "maria", "maria-cashout-2", 200, at=later).status == "requested"
    with pytest.raises(ValidationFailed):
        parse_config({**preset_data("biomiq"), "payouts": {"min_amount": 0}})


def test_a_blocked_customer_cannot_request_a_payout(store, biomiq, now):
    registration.register_customer(store, config=biomiq, customer_id="maria", now=now)
    referee_order(store, biomiq, partner="maria", referee="anna", order_id="A1", at=now)
    later = past_hold(biomiq, now)
    adjustments.set_blocked(store, MANAGER, customer_id="maria", blocked=True, reason="подозрение на мошенничество", now=later)
    with pytest.raises(Forbidden) as refused:
        _ask(store, biomiq, "maria", "maria-cashout-1", REWARD, at=later)
    assert refused.value.message_ru
    _nothing_held(store, "maria", "maria-cashout-1", later)
    adjustments.set_blocked(store, MANAGER, customer_id="maria", blocked=False, reason="проверено", now=later)
    assert _ask(store, biomiq, "maria", "maria-cashout-1", REWARD, at=later).status == "requested"


def test_a_bonus_account_payout_turns_rewards_into_spendable_bonuses(store, biomiq, now):
    registration.register_customer(store, config=biomiq, customer_id="maria", now=now)  # 500 welcome
    referee_order(store, biomiq, partner="maria", referee="anna", order_id="A1", at=now)
    later = past_hold(biomiq, now)
    reward_lot = next(lot for lot in load_account(store, "maria").lots.values() if lot.source == "referral")
    _ask(store, biomiq, "maria", "maria-to-bonus-1", REWARD, at=later, method="bonus_account", details="")
    decided = payouts.decide_request(store, request_id="maria-to-bonus-1", decision="approve", actor="manager@shop", now=later)
    assert decided.request.status is PayoutStatus.APPROVED
    assert payouts.decide_request(store, request_id="maria-to-bonus-1", decision="approve", actor="manager@shop", now=later).replayed

    b = balances(store, "maria", later)
    assert (b.total, b.available, b.reserved) == (500 + REWARD, 500 + REWARD, 0)  # credited, not written off
    account = load_account(store, "maria")
    moved = [lot for lot in account.lots.values() if lot.source not in ("welcome",)]
    assert [(lot.source, lot.remaining, lot.expires_at) for lot in moved] == [("payout", REWARD, reward_lot.expires_at)]  # ordinary bonuses, same lifetime
    assert partner.dashboard(store, config=biomiq, partner_id="maria", now=later, shop_url="").payable == 0
    shown = [entry for entry in (describe(p) for p in postings(store, "maria", limit=5)) if entry is not None]
    assert [(e.kind, e.delta, e.reason) for e in shown[:2]] == [("accrual", REWARD, "Выплата на бонусный счёт"), ("payout", -REWARD, "Выплата по заявке maria-to-bonus-1")]
    with pytest.raises(InsufficientBonuses):  # once moved, never payable again
        _ask(store, biomiq, "maria", "maria-cashout-2", REWARD, at=later)
    placed, _ = orders.place_order(store, config=biomiq, customer_id="maria", order_id="M1", lines=BIG_ORDER, bonuses=1000, now=later)
    assert placed.bonuses_reserved == 1000  # spendable at checkout
    assert_ledgers_sound(store, customers=["maria"], now=later)


# --- where the money goes: the full destination, sealed ------------------------------------------

ACCOUNTANT = Admin("accountant@shop.example", ("accountant",))


def _stored(store, request_id: str) -> str:
    return json.dumps(store.get(layout.payout(request_id)), default=str, ensure_ascii=False)


def _reveals(store) -> list[dict]:
    return [doc for _, doc in store.ordered(layout.ADMIN_AUDIT, order_by="key", limit=100) if doc["action"] == "payout.reveal"]


@pytest.mark.parametrize(
    "method,given,full,masked",
    [
        ("card", "4111 1111 1111 1111", "4111111111111111", "**** 1111"),
        ("phone", "8 (916) 123-45-67", "+79161234567", "+7 *** ***-45-67"),
        ("sbp", "Сбербанк, +7 916 123 45 67", "Сбербанк, +79161234567", "Сбербанк, +7 *** ***-45-67"),
    ],
)
def test_the_full_destination_is_sealed_at_rest_and_revealed_only_to_those_who_pay(store, biomiq, now, method, given, full, masked):
    registration.register_customer(store, config=biomiq, customer_id="maria", now=now)
    referee_order(store, biomiq, partner="maria", referee="anna", order_id="A1", at=now)
    later = past_hold(biomiq, now)
    answer = payouts.request_payout(store, config=biomiq, customer_id="maria", request_id="maria-cashout-1", amount=REWARD, method=method, details=given, now=later, sealer=SEALER)
    assert answer.details == masked
    assert payouts.request_payout(store, config=biomiq, customer_id="maria", request_id="maria-cashout-1", amount=REWARD, method=method, details=given, now=later, sealer=SEALER).replayed

    stored = store.get(layout.payout("maria-cashout-1"))
    assert stored["details"] == masked and stored["destination"].startswith("v1.")
    digits = "".join(ch for ch in full if ch.isdigit())
    assert digits not in "".join(ch for ch in _stored(store, "maria-cashout-1") if ch.isdigit() or ch == '"')  # no clear number at rest
    seen_by_partner = payouts.list_requests(store, config=biomiq, customer_id="maria").root.items[0]
    seen_in_the_list = admin_payouts.list_payouts(store, ACCOUNTANT).payouts[0]
    assert seen_by_partner.details == seen_in_the_list.details == masked
    assert "destination" not in seen_in_the_list.model_dump() and digits not in seen_in_the_list.model_dump_json()

    for who in (ACCOUNTANT, MARKETER):
        with pytest.raises(Forbidden):
            admin_payouts.reveal_destination(store, who, request_id="maria-cashout-1", sealer=SEALER, now=later)
    assert _reveals(store) == []
    shown = admin_payouts.reveal_destination(store, MANAGER, request_id="maria-cashout-1", sealer=SEALER, now=later)
    assert (shown.request_id, shown.method, shown.details, shown.destination) == ("maria-cashout-1", method, masked, full)
    admin_payouts.reveal_destination(store, MANAGER, request_id="maria-cashout-1", sealer=SEALER, now=later + timedelta(minutes=1))
    reveals = _reveals(store)
    assert [(r["actor"], r["target"]) for r in reveals] == [("manager@shop.example", "payout:maria-cashout-1")] * 2  # each reveal is audited
    assert digits not in json.dumps(reveals, default=str)
    with pytest.raises(InvalidState):  # another key opens nothing, and nothing is shown
        admin_payouts.reveal_destination(store, MANAGER, request_id="maria-cashout-1", sealer=Sealer("another-payout-secret-of-at-least-32-b"), now=later)
    with pytest.raises(SealBroken):  # a sealed destination copied onto another request does not open there
        SEALER.open(stored["destination"], context="payout:maria-cashout-2")
    assert len(_reveals(store)) == 2


@pytest.mark.parametrize(
    "method,given",
    [
        ("card", "**** 4242"),  # masked: the manager could not pay it
        ("card", "4111 1111 1111 1112"),  # not a card number (check digit)
        ("card", "4111 1111"),
        ("phone", "+7 *** ***-00-11"),
        ("phone", "+1 202 555 0143"),  # not a Russian mobile
        ("sbp", "+7 916 123-45-67"),  # which bank?
        ("sbp", "Сбербанк"),
        ("card", ""),
    ],
)
def test_a_destination_the_manager_could_not_pay_to_is_refused(store, biomiq, now, method, given):
    registration.register_customer(store, config=biomiq, customer_id="maria", now=now)
    referee_order(store, biomiq, partner="maria", referee="anna", order_id="A1", at=now)
    later = past_hold(biomiq, now)
    with pytest.raises(ValidationFailed) as refused:
        payouts.request_payout(store, config=biomiq, customer_id="maria", request_id="maria-cashout-1", amount=REWARD, method=method, details=given, now=later, sealer=SEALER)
    assert refused.value.details["field"] == "details" and refused.value.message_ru
    _nothing_held(store, "maria", "maria-cashout-1", later)


def test_a_bonus_account_payout_has_no_destination_to_reveal(store, biomiq, now):
    registration.register_customer(store, config=biomiq, customer_id="maria", now=now)
    referee_order(store, biomiq, partner="maria", referee="anna", order_id="A1", at=now)
    later = past_hold(biomiq, now)
    payouts.request_payout(store, config=biomiq, customer_id="maria", request_id="maria-to-bonus-1", amount=REWARD, method="bonus_account", details="", now=later, sealer=SEALER)
    assert "destination" not in store.get(layout.payout("maria-to-bonus-1"))
    with pytest.raises(InvalidState):
        admin_payouts.reveal_destination(store, MANAGER, request_id="maria-to-bonus-1", sealer=SEALER, now=later)
    assert _reveals(store) == []
