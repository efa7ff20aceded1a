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
    return ProgramConfig.model_validate(data)


def view(level: str = "level1", available: int = 500) -> CustomerView:
    return CustomerView(customer_id="anna", level=level, group="b2c", available=available)


def agreed_by(q):
    return {ql.id: ql.bonuses_applied for ql in q.lines}, {ql.id: ql.money_to_pay for ql in q.lines}


def test_nothing_changed_settles_exactly_as_quoted(now):
    config = biomiq()
    q = quote(config, view(), CART, now=now, bonuses_requested=500)
    bonuses, money = agreed_by(q)
    s = settle(config, view(), CART, now=now, promo=None, agreed_bonuses=bonuses, agreed_money=money)
    assert (s.spent, s.paid, s.earned, s.shortfall) == (bonuses, money, {ql.id: ql.points_to_earn for ql in q.lines}, 0)
    assert (s.bonuses_spent, s.money_paid, s.points_earned, s.level) == (500, 260000, 130, "level1")


def test_a_higher_level_at_payment_changes_the_points_not_the_money_or_the_bonuses(now):
    config = biomiq(max_redeem_percent=10)
    q = quote(config, view(), CART, now=now, bonuses_requested=500)
    assert (q.bonuses_applied, q.money_to_pay) == (310, 279000)
    bonuses, money = agreed_by(q)
    s = settle(config, view("level2", available=310), CART, now=now, promo=None, agreed_bonuses=bonuses, agreed_money=money)
    assert (s.bonuses_spent, s.money_paid, s.points_earned, s.level, s.shortfall) == (310, 279000, 279, "level2", 0)


def test_a_lower_cap_or_balance_at_payment_cuts_the_bonuses_never_the_money(now):
    q = quote(biomiq(), view(), CART, now=now, bonuses_requested=500)
    bonuses, money = agreed_by(q)
    stricter = biomiq(max_redeem_percent=10)  # a new program version since checkout
    s = settle(stricter, view(), CART, now=now, promo=None, agreed_bonuses=bonuses, agreed_money=money)
    assert (s.bonuses_spent, s.shortfall, s.money_paid) == (310, 190, 260000)
    assert all(s.spent[k] <= bonuses[k] for k in bonuses)
    assert s.points_earned == 130  # on the money paid
    poorer = settle(biomiq(), view(available=120), CART, now=now, promo=None, agreed_bonuses=bonuses, agreed_money=money)
    assert (poorer.bonuses_spent, poorer.shortfall, poorer.money_paid) == (120, 380, 260000)
    assert sum(poorer.spent.values()) == 120 and all(poorer.spent[k] <= bonuses[k] for k in bonuses)


def test_agreed_figures_must_name_the_lines(now):
    with pytest.raises(ValueError):
        settle(biomiq(), view(), CART, now=now, promo=None, agreed_bonuses={"serum": 0}, agreed_money={"serum": 190000})
