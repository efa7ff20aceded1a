"""settlement.settle: a paid order on its checkout's figures (pure)."""

from __future__ import annotations

import pytest

from shared.domain.cart import CartLine, CustomerView, quote
from shared.domain.config import ProgramConfig
from shared.domain.settlement import settle
from shared.presets import preset_data

CART = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=60000, quantity=2)]  # 3 100 ₽


def biomiq(**level1) -> ProgramConfig:
    data = preset_data("biomiq")
    data["levels"][0].update(level1)
    data["groups"] = [{"code": "b2c", "name": "Розница"}, {"code": "b2b", "name": "Опт", "bonuses_excluded": True}]
    return ProgramConfig.model_validate(data)


def view(level: str = "level1", available: int = 500, group: str = "b2c") -> CustomerView:
    return CustomerView(customer_id="anna", level=level, group=group, available=available)


def agreed_by(q):
    return (
        {ql.id: ql.bonuses_applied for ql in q.lines},
        {ql.id: ql.money_to_pay for ql in q.lines},
        {ql.id: ql.points_to_earn for ql in q.lines},
    )


def _settle(config, customer, q):
    bonuses, money, points = agreed_by(q)
    return settle(config, customer, CART, agreed_bonuses=bonuses, agreed_money=money, agreed_points=points)


def test_nothing_changed_settles_exactly_as_quoted(now):
    config = biomiq()
    q = quote(config, view(), CART, now=now, bonuses_requested=500)
    s = _settle(config, view(), q)
    assert (s.spent, s.paid, s.earned, s.shortfall) == (*agreed_by(q), 0)
    assert (s.bonuses_spent, s.money_paid, s.points_earned) == (500, 260000, 130)


def test_a_program_change_after_checkout_changes_nothing_agreed(now):
    q = quote(biomiq(), view(), CART, now=now, bonuses_requested=500)
    bonuses, money, points = agreed_by(q)
    for changed in (biomiq(max_redeem_percent=10), biomiq(accrual_percent=1), biomiq(accrual_percent=50)):
        s = _settle(changed, view(), q)
        assert (s.spent, s.paid, s.earned, s.shortfall) == (bonuses, money, points, 0)
    higher = _settle(biomiq(), view("level2"), q)  # a level reached since checkout
    assert (higher.bonuses_spent, higher.money_paid, higher.points_earned) == (500, 260000, 130)


def test_only_what_the_customer_holds_cuts_the_bonuses_never_the_money(now):
    q = quote(biomiq(), view(), CART, now=now, bonuses_requested=500)
    bonuses, _, _ = agreed_by(q)
    poorer = _settle(biomiq(), view(available=120), q)
    assert (poorer.bonuses_spent, poorer.shortfall, poorer.money_paid, poorer.points_earned) == (120, 380, 260000, 130)
    assert sum(poorer.spent.values()) == 120 and all(poorer.spent[k] <= bonuses[k] for k in bonuses)


def test_a_group_excluded_since_checkout_earns_nothing(now):
    q = quote(biomiq(), view(), CART, now=now, bonuses_requested=500)
    s = _settle(biomiq(), view(group="b2b"), q)
    assert (s.bonuses_spent, s.money_paid, s.points_earned) == (500, 260000, 0)


def test_agreed_figures_must_name_the_lines(now):
    with pytest.raises(ValueError):
        settle(biomiq(), view(), CART, agreed_bonuses={"serum": 0}, agreed_money={"serum": 190000}, agreed_points={"serum": 0})
    with pytest.raises(ValueError):
        settle(biomiq(), view(), CART, agreed_bonuses={"serum": 0, "cream": 0}, agreed_money={"serum": 1, "cream": 1}, agreed_points={"serum": -1, "cream": 0})
