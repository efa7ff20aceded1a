"""A group excluded from bonuses accrues nothing, by any path, and the liability report counts what customers see.

Its members see their level as a label and no bonus data; a bonus credited
to them would be a hidden lot the shop still owes. These scenarios try every
path that credits bonuses: the welcome bonus (invited or not), the
first-order bonus, the purchase accrual, a partner's reward, a mass accrual
and a manual credit.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.cart import CartLine
from shared.domain.config import ProgramConfig
from shared.domain.errors import DomainError, ValidationFailed
from shared.edge.admin_auth import ROLES, Admin
from shared.presets import preset_data
from shared.services import orders, registration
from shared.services.admin import adjustments, approvals, mass_accruals, reports
from shared.services.ledger import balances, postings
from tests.reliability.audit import assert_ledgers_sound

OWNER = Admin("owner@shop.example", ROLES)
CART = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=60000, quantity=2)]  # 3 100 ₽


def program(default_group: str = "b2c") -> ProgramConfig:
    data = preset_data("biomiq")
    data["groups"] = [{"code": "b2c", "name": "Розница"}, {"code": "b2b", "name": "Опт", "bonuses_excluded": True}]
    data["default_group"] = default_group
    data["earning_rules"] = [*data["earning_rules"], {"code": "first", "event": "first_order", "amount": 200}]
    return ProgramConfig.model_validate(data)


@pytest.fixture
def config() -> ProgramConfig:
    return program()


def _to_b2b(store, config, customer_id, now) -> None:
    adjustments.change_group(store, OWNER, config=config, customer_id=customer_id, group="b2b", reason="оптовик", key=f"b2b-{customer_id}", now=now)


def _pay(store, config, customer_id, order_id, now, bonuses=0):
    order, _ = orders.place_order(store, config=config, customer_id=customer_id, order_id=order_id, lines=CART, bonuses=bonuses, now=now)
    return orders.mark_paid(store, config=config, order_id=order_id, payment=orders.PaymentRef(provider="test", id=f"p-{order_id}", amount=order.money_to_pay), now=now)


def _credits(store, customer_id) -> list[str]:
    return sorted(p.key.split(":")[0] for p in postings(store, customer_id, limit=100) if p.kind in ("accrue", "adjust") and p.delta > 0)


def test_an_excluded_customer_gets_no_welcome_bonus_invited_or_not(store, config, now):
    registration.register_customer(store, config=config, customer_id="maria", now=now)
    invited = registration.register_customer(store, config=config, customer_id="anna", now=now, invited_by="maria", group="b2b")
    plain = registration.register_customer(store, config=config, customer_id="boris", now=now, group="b2b")
    assert (invited.registered, invited.welcome, plain.welcome) == (True, 0, 0)
    wholesale_only = program(default_group="b2b")  # a shop whose new customers are all wholesale
    assert registration.register_customer(store, config=wholesale_only, customer_id="vera", now=now, invited_by="maria").welcome == 0
    for customer_id in ("anna", "boris", "vera"):
        assert balances(store, customer_id, now).total == 0 and _credits(store, customer_id) == []
    assert store.read(lambda uow: uow.accounts.get("anna")).referral.invited_by == "maria"  # the invitation itself still counts
    assert_ledgers_sound(store, customers=["maria", "anna", "boris", "vera"])


def test_an_excluded_customer_gets_no_first_order_bonus_and_no_purchase_points(store, config, now):
    registration.register_customer(store, config=config, customer_id="anna", now=now)  # 500 while still retail
    _to_b2b(store, config, "anna", now)
    paid = _pay(store, config, "anna", "A1", now)
    assert (paid.status, paid.points_earned) == ("paid", 0)
    assert _credits(store, "anna") == ["welcome"]
    assert balances(store, "anna", now).total == 500
    assert_ledgers_sound(store, customers=["anna"])


def test_a_customer_moved_to_an_excluded_group_after_checkout_earns_nothing_at_payment(store, config, now):
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    placed, _ = orders.place_order(store, config=config, customer_id="anna", order_id="A1", lines=CART, bonuses=500, now=now)
    assert (placed.bonuses_reserved, placed.points_to_earn) == (500, 130)
    _to_b2b(store, config, "anna", now)
    paid = orders.mark_paid(store, config=config, order_id="A1", payment=orders.PaymentRef(provider="test", id="p-A1", amount=placed.money_to_pay), now=now)
    assert (paid.money_paid, paid.bonuses_spent, paid.points_earned) == (260000, 500, 0)  # the agreed spend stands; nothing accrues
    assert _credits(store, "anna") == ["welcome"] and balances(store, "anna", now).total == 0
    assert_ledgers_sound(store, customers=["anna"])


def test_an_excluded_partner_earns_no_referral_reward(store, config, now):
    registration.register_customer(store, config=config, customer_id="maria", now=now)
    registration.register_customer(store, config=config, customer_id="anna", now=now, invited_by="maria")
    _to_b2b(store, config, "maria", now)
    _pay(store, config, "anna", "A1", now)
    delivered = orders.mark_delivered(store, config=config, order_id="A1", delivered_at=now + timedelta(days=2), now=now + timedelta(days=2), carrier="cdek")
    assert delivered.recorded("delivered").referral_reward == 0
    assert _credits(store, "maria") == ["welcome"] and balances(store, "maria", now + timedelta(days=2)).total == 500
    # a return of the order has no reward to take back
    orders.mark_returned(store, config=config, order_id="A1", return_id="R1", returns=None, now=now + timedelta(days=3))
    assert balances(store, "maria", now + timedelta(days=3)).total == 500
    assert_ledgers_sound(store, customers=["maria", "anna"])


def test_a_mass_accrual_credits_no_excluded_customer(store, config, now):
    for customer_id in ("anna", "boris"):
        registration.register_customer(store, config=config, customer_id=customer_id, now=now)
    _to_b2b(store, config, "boris", now)
    with pytest.raises(ValidationFailed) as refused:
        mass_accruals.create_mass_accrual(store, OWNER, config=config, job_id="wholesale", amount=100, reason="опт", group="b2b", now=now)
    assert refused.value.details["field"] == "group" and store.read(lambda uow: uow.jobs.get("wholesale")) is None
    mass_accruals.create_mass_accrual(store, OWNER, config=config, job_id="spring", amount=100, reason="весна", customer_ids=["anna", "boris"], now=now)
    job = mass_accruals.run_mass_accrual(store, OWNER, config=config, job_id="spring", now=now)
    assert (job.status, job.credited, job.bonuses, job.skipped_excluded) == ("complete", 1, 100, 1)
    assert [balances(store, c, now).total for c in ("anna", "boris")] == [600, 500]
    assert_ledgers_sound(store, customers=["anna", "boris"])


def test_a_manual_credit_to_an_excluded_customer_is_refused(store, config, now):
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    _to_b2b(store, config, "anna", now)
    with pytest.raises(DomainError) as refused:
        adjustments.adjust(store, OWNER, config=config, customer_id="anna", amount=100, reason="подарок", key="gift", now=now)
    assert refused.value.code == "bonuses_excluded"
    # writing the hidden bonuses off is still possible
    adjustments.adjust(store, OWNER, config=config, customer_id="anna", amount=-500, reason="списание", key="off", now=now)
    assert balances(store, "anna", now).total == 0
    assert_ledgers_sound(store, customers=["anna"])


def test_the_liability_report_counts_only_bonuses_customers_can_see(store, config, now):
    for customer_id in ("anna", "boris"):
        registration.register_customer(store, config=config, customer_id=customer_id, now=now)  # 500 each
    _to_b2b(store, config, "boris", now)  # his 500 are hidden from him now
    report = reports.liability_report(store, OWNER, config=config, now=now)
    assert (report.accounts, report.outstanding, report.available) == (2, 500, 500)
    assert (report.excluded_accounts, report.excluded_hidden) == (1, 500)
    assert_ledgers_sound(store, customers=["anna", "boris"])


def test_an_approved_credit_is_not_executed_once_the_customer_is_in_an_excluded_group(store, config, now):
    marketer = Admin("marketer@shop.example", ("marketer",))
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    asked = adjustments.adjust(store, marketer, config=config, customer_id="anna", amount=6000, reason="компенсация", key="big", now=now)
    assert asked.status == "pending_approval"  # past the per-customer threshold: a second admin decides
    _to_b2b(store, config, "anna", now + timedelta(minutes=1))  # moved to the excluded group meanwhile
    with pytest.raises(DomainError) as refused:
        approvals.approve(store, OWNER, asked.approval_id, config=config, now=now + timedelta(minutes=2))
    assert refused.value.code == "bonuses_excluded"
    assert _credits(store, "anna") == ["welcome"] and balances(store, "anna", now).total == 500
    assert_ledgers_sound(store, customers=["anna"])
