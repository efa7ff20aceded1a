"""Campaigns and segments: double points on the birthday, raised cashback for a period, the combination rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from console import program_form as form
from shared.domain.campaigns import Campaign
from shared.domain.cart import CartLine, CustomerView, quote
from shared.domain.config import ProgramConfig, parse_config
from shared.domain.errors import ValidationFailed
from shared.domain.segments import CustomerFacts, Segment, matches

NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)
FROM, TO = NOW - timedelta(days=30), NOW + timedelta(days=30)


def config(*campaigns: dict[str, Any], **extra: Any) -> ProgramConfig:
    return parse_config(
        {
            "program": "shop",
            "name": "Магазин",
            "levels": [
                {"code": "base", "name": "Базовый", "threshold": 0, "accrual_percent": "5"},
                {"code": "gold", "name": "Золотой", "threshold": 5000000, "accrual_percent": "7"},
            ],
            "campaigns": list(campaigns),
            **extra,
        }
    )


BIRTHDAY = {"code": "birthday_x2", "name": "Двойные баллы в день рождения", "active_from": FROM.isoformat(), "active_to": TO.isoformat(),
            "multiplier_percent": 200, "audience": {"birthday_days_before": 3, "birthday_days_after": 3}}
RAISED = {"code": "spring_cashback", "name": "Повышенный кешбэк на Biomiq", "active_from": FROM.isoformat(), "active_to": TO.isoformat(),
          "bonus_percent": "5", "brands": ["biomiq"]}


def customer(birthday_md: str | None = None, *, level: str = "base", paid_orders: int = 1) -> CustomerView:
    facts = CustomerFacts(level=level, group="b2c", birthday_md=birthday_md, paid_orders=paid_orders, paid_total=100000)
    return CustomerView(customer_id="c1", level=level, group="b2c", available=0, facts=facts)


def line(line_id: str = "l1", price: int = 300000, brand: str | None = None, sku: str = "") -> CartLine:
    return CartLine(id=line_id, price=price, quantity=1, brand=brand, sku=sku)


# --- seed: double points on the birthday ------------------------------------------------------


def test_double_points_on_the_birthday_3000_rub_earns_300_instead_of_150():
    cfg = config(BIRTHDAY)
    on_birthday = quote(cfg, customer("03-10"), [line()], now=NOW)
    assert on_birthday.points_to_earn == 300
    assert on_birthday.lines[0].campaign is not None and on_birthday.lines[0].campaign.code == "birthday_x2"
    assert on_birthday.lines[0].campaign.name == "Двойные баллы в день рождения"
    other_day = quote(cfg, customer("05-20"), [line()], now=NOW)
    assert other_day.points_to_earn == 150 and other_day.lines[0].campaign is None


@pytest.mark.parametrize(("birthday", "doubled"), [("03-07", True), ("03-06", False), ("03-13", True), ("03-14", False)])
def test_the_birthday_window_is_three_days_either_side(birthday: str, doubled: bool):
    assert quote(config(BIRTHDAY), customer(birthday), [line()], now=NOW).points_to_earn == (300 if doubled else 150)


def test_the_birthday_window_crosses_the_new_year():
    cfg = config({**BIRTHDAY, "active_from": "2027-12-01T00:00:00+00:00", "active_to": "2028-02-01T00:00:00+00:00"})
    assert quote(cfg, customer("01-01"), [line()], now=datetime(2027, 12, 30, 10, tzinfo=UTC)).points_to_earn == 300
    assert quote(cfg, customer("12-30"), [line()], now=datetime(2028, 1, 2, 10, tzinfo=UTC)).points_to_earn == 300


def test_an_anonymous_visitor_gets_no_birthday_campaign():
    assert quote(config(BIRTHDAY), None, [line()], now=NOW).points_to_earn == 150


def test_the_potential_at_the_top_level_counts_the_campaign_too():
    assert quote(config(BIRTHDAY), customer("03-10"), [line()], now=NOW).potential_points == 420  # 3000 ₽ × 7 % × 2


# --- seed: raised cashback for a period -------------------------------------------------------


def test_raised_cashback_on_a_brand_for_its_period():
    cfg = config(RAISED)
    q = quote(cfg, customer(), [line("a", 1000000, brand="biomiq"), line("b", 1000000, brand="other")], now=NOW)
    assert [ql.points_to_earn for ql in q.lines] == [1000, 500]  # 10 000 ₽ × (5 + 5) %, 10 000 ₽ × 5 %
    assert q.lines[0].campaign is not None and q.lines[0].campaign.code == "spring_cashback" and q.lines[1].campaign is None


@pytest.mark.parametrize(("now", "points"), [(FROM - timedelta(seconds=1), 500), (FROM, 1000), (TO - timedelta(seconds=1), 1000), (TO, 500)])
def test_the_campaign_runs_from_inclusive_to_exclusive(now: datetime, points: int):
    assert quote(config(RAISED), customer(), [line(price=1000000, brand="biomiq")], now=now).points_to_earn == points


def test_raised_cashback_then_the_permanent_coefficient():
    cfg = config(RAISED, coefficients={"brands": {"biomiq": "2"}})
    assert quote(cfg, customer(), [line(price=1000000, brand="biomiq")], now=NOW).points_to_earn == 2000  # (5 + 5) % × 2


# --- the combination rule ---------------------------------------------------------------------


def test_the_best_single_campaign_applies_per_line_never_both():
    cfg = config(RAISED, BIRTHDAY)
    q = quote(cfg, customer("03-10"), [line("a", 1000000, brand="biomiq"), line("b", 1000000, brand="other")], now=NOW)
    # biomiq: raised 5+5 = 10 % equals double 5×2 = 10 %: a tie keeps the first listed; other: double
    assert [ql.points_to_earn for ql in q.lines] == [1000, 1000]
    assert [ql.campaign.code if ql.campaign else None for ql in q.lines] == ["spring_cashback", "birthday_x2"]
    bigger = config({**RAISED, "bonus_percent": "10"}, BIRTHDAY)
    q = quote(bigger, customer("03-10"), [line("a", 1000000, brand="biomiq")], now=NOW)
    assert q.points_to_earn == 1500 and q.lines[0].campaign is not None and q.lines[0].campaign.code == "spring_cashback"


def test_points_floor_once_per_order():
    cfg = config(RAISED)
    q = quote(cfg, customer(), [line("a", 1999, brand="biomiq"), line("b", 1999, brand="biomiq")], now=NOW)
    assert q.points_to_earn == 3  # 2 × 19.99 ₽ × 10 % = 3.998 -> 3, not 1 + 1


def test_a_first_order_campaign():
    cfg = config({"code": "first", "name": "Тройные баллы за первый заказ", "active_from": FROM.isoformat(), "active_to": TO.isoformat(),
                  "multiplier_percent": 300, "audience": {"first_order": True}})
    assert quote(cfg, customer(paid_orders=0), [line()], now=NOW).points_to_earn == 450
    assert quote(cfg, customer(paid_orders=1), [line()], now=NOW).points_to_earn == 150


def test_a_sku_scope_and_a_level_audience():
    cfg = config({**RAISED, "brands": [], "skus": ["SKU-1"], "audience": {"levels": ["gold"]}})
    gold = customer(level="gold")
    q = quote(cfg, gold, [line("a", 100000, sku="SKU-1"), line("b", 100000, sku="SKU-2")], now=NOW)
    assert [ql.points_to_earn for ql in q.lines] == [120, 70]
    assert quote(cfg, customer(), [line("a", 100000, sku="SKU-1")], now=NOW).points_to_earn == 50


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"active_to": FROM.isoformat()}, "campaigns.0"),
        ({"active_from": "2027-01-01T00:00:00"}, "campaigns.0"),
        ({"multiplier_percent": 100}, "campaigns.0"),
        ({"multiplier_percent": 50}, "campaigns.0.multiplier_percent"),
        ({"audience": {"groups": ["vip"]}}, "campaigns.birthday_x2.audience.groups"),
        ({"audience": {"levels": ["platinum"]}}, "campaigns.birthday_x2.audience.levels"),
    ],
)
def test_a_bad_campaign_is_refused_naming_its_field(change: dict[str, Any], field: str):
    with pytest.raises(ValidationFailed) as refused:
        config({**BIRTHDAY, **change})
    assert refused.value.details["errors"][0]["field"] == field


def test_campaign_codes_are_unique():
    with pytest.raises(ValidationFailed) as refused:
        config(BIRTHDAY, BIRTHDAY)
    assert refused.value.details["errors"][0]["field"] == "campaigns"


def test_campaigns_round_trip_through_the_program_form():
    cfg = config(BIRTHDAY, RAISED)
    assert parse_config(form.raw_of(form.values_of(cfg))) == cfg


def test_status():
    campaign = Campaign.model_validate(BIRTHDAY)
    assert [campaign.status(t) for t in (FROM - timedelta(days=1), NOW, TO)] == ["upcoming", "running", "ended"]


# --- segments ---------------------------------------------------------------------------------


def test_segment_conditions():
    facts = CustomerFacts(level="gold", group="b2c", birthday_md="02-29", paid_orders=3, paid_total=600000,
                          last_purchase_at=NOW - timedelta(days=90), registered_at=NOW - timedelta(days=400))
    assert matches(Segment(), facts, NOW) and matches(Segment(), None, NOW)
    assert not matches(Segment(levels=("gold",)), None, NOW)
    assert matches(Segment(levels=("gold",), groups=("b2c",)), facts, NOW)
    assert not matches(Segment(groups=("b2b",)), facts, NOW)
    assert matches(Segment(paid_total_min=500000, paid_total_max=600000), facts, NOW)
    assert not matches(Segment(paid_total_min=600001), facts, NOW)
    assert matches(Segment(last_purchase_before=NOW - timedelta(days=60)), facts, NOW)
    assert not matches(Segment(last_purchase_before=NOW - timedelta(days=120)), facts, NOW)
    assert matches(Segment(registered_from=NOW - timedelta(days=500), registered_to=NOW), facts, NOW)
    assert not matches(Segment(registered_from=NOW - timedelta(days=300)), facts, NOW)
    assert not matches(Segment(first_order=True), facts, NOW)
    assert matches(Segment(birthday_days_before=0, birthday_days_after=0), facts, datetime(2027, 2, 28, 9, tzinfo=UTC))  # 29 Feb -> 28 Feb
    assert matches(Segment(birthday_days_after=0), facts, datetime(2028, 2, 29, 9, tzinfo=UTC))
    assert not matches(Segment(birthday_days_after=0), facts, datetime(2028, 2, 28, 9, tzinfo=UTC))
    with pytest.raises(ValueError, match="paid_total_min"):
        Segment(paid_total_min=2, paid_total_max=1)
