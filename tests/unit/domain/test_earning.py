"""When an earning rule applies, and the keys events are credited once under."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.config import EarningEvent, EarningRule, ProgramConfig, parse_config
from shared.domain.earning import CustomerFacts, OrderFacts, ProductFacts, normalized_key, period_counter, posting_key, refusal
from shared.domain.errors import ValidationFailed

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
CONFIG = ProgramConfig.model_validate(
    {
        "program": "p",
        "name": "P",
        "levels": [{"code": "base", "name": "База", "threshold": 0, "accrual_percent": 5}],
        "groups": [{"code": "b2c", "name": "Розница"}, {"code": "pro", "name": "Мастера"}],
    }
)
ANNA = CustomerFacts(group="b2c", registered_at=NOW - timedelta(days=100), paid_total=500_000)


def rule(**fields: object) -> EarningRule:
    return EarningRule.model_validate({"code": "r", "event": "review", "amount": 50, **fields})


def test_a_rule_applies_inside_its_window_only():
    windowed = rule(active_from=NOW - timedelta(days=1), active_to=NOW + timedelta(days=1))
    assert refusal(windowed, config=CONFIG, customer=ANNA, now=NOW) is None
    assert refusal(windowed, config=CONFIG, customer=ANNA, now=NOW + timedelta(days=1)) == "rule_inactive"
    assert refusal(windowed, config=CONFIG, customer=ANNA, now=NOW - timedelta(days=2)) == "rule_inactive"


@pytest.mark.parametrize(
    ("fields", "verdict"),
    [
        ({"groups": ["pro"]}, "condition_not_met"),
        ({"groups": ["b2c"]}, None),
        ({"registered_after": (NOW - timedelta(days=50)).isoformat()}, "condition_not_met"),
        ({"registered_after": (NOW - timedelta(days=100)).isoformat()}, None),
        ({"registered_before": (NOW - timedelta(days=100)).isoformat()}, "condition_not_met"),
        ({"registered_before": (NOW - timedelta(days=99)).isoformat()}, None),
        ({"paid_total_min": 500_001}, "condition_not_met"),
        ({"paid_total_min": 500_000}, None),
        ({"paid_total_max": 499_999}, "condition_not_met"),
        ({"paid_total_max": 500_000}, None),
    ],
)
def test_customer_conditions(fields, verdict):
    assert refusal(rule(**fields), config=CONFIG, customer=ANNA, now=NOW) == verdict


def test_order_and_product_conditions():
    paint = ProductFacts(sku="PAINT-1", category="paints")
    brush = ProductFacts(sku="BRUSH-2", category="tools")
    assert refusal(rule(min_order_total=300_000), config=CONFIG, customer=ANNA, now=NOW) == "condition_not_met"
    assert refusal(rule(min_order_total=300_000), config=CONFIG, customer=ANNA, now=NOW, order=OrderFacts(total=299_999)) == "condition_not_met"
    assert refusal(rule(min_order_total=300_000), config=CONFIG, customer=ANNA, now=NOW, order=OrderFacts(total=300_000)) is None
    assert refusal(rule(skus=["PAINT-1"]), config=CONFIG, customer=ANNA, now=NOW, product=paint) is None
    assert refusal(rule(skus=["PAINT-1"]), config=CONFIG, customer=ANNA, now=NOW, product=brush) == "condition_not_met"
    assert refusal(rule(categories=["tools"]), config=CONFIG, customer=ANNA, now=NOW, product=brush) is None
    assert refusal(rule(categories=["tools"]), config=CONFIG, customer=ANNA, now=NOW, order=OrderFacts(total=1, products=(paint,))) == "condition_not_met"
    assert refusal(rule(categories=["tools"]), config=CONFIG, customer=ANNA, now=NOW, order=OrderFacts(total=1, products=(paint, brush))) is None


def test_an_unregistered_date_fails_a_registration_condition():
    unknown = CustomerFacts(group=None, registered_at=None, paid_total=0)
    assert refusal(rule(registered_after=NOW.isoformat()), config=CONFIG, customer=unknown, now=NOW) == "condition_not_met"
    assert refusal(rule(), config=CONFIG, customer=unknown, now=NOW) is None


@pytest.mark.parametrize(
    "fields",
    [
        {"active_from": NOW.isoformat(), "active_to": NOW.isoformat()},
        {"registered_after": NOW.isoformat(), "registered_before": (NOW - timedelta(days=1)).isoformat()},
        {"paid_total_min": 10, "paid_total_max": 9},
    ],
)
def test_contradicting_conditions_are_refused(fields):
    data = {**CONFIG.model_dump(mode="json"), "earning_rules": [{"code": "r", "event": "review", "amount": 50, **fields}]}
    with pytest.raises(ValidationFailed):
        parse_config(data)


def test_natural_keys():
    assert normalized_key(EarningEvent.REPOST, "https://www.VK.com/wall-1_2/?utm=x#top") == "vk.com/wall-1_2"
    assert normalized_key(EarningEvent.REPOST, "vk.com/wall-1_2") == "vk.com/wall-1_2"
    assert normalized_key(EarningEvent.NEWSLETTER, "whatever") == ""
    assert normalized_key(EarningEvent.REVIEW, " PAINT-1 ") == "PAINT-1"
    r = rule()
    assert posting_key(r, "c1", "PAINT-1") != posting_key(r, "c1", "BRUSH-2") != posting_key(r, "c2", "BRUSH-2")
    assert posting_key(r, "c1", "") == "event:r:c1:once"
    capped = rule(max_per_period=2, period_days=30)
    assert period_counter(capped, NOW) == period_counter(capped, NOW + timedelta(seconds=1))
