"""The promo code and product forms of the console: what a person types becomes the rule or product, or a
Russian message at each refused field."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from console.app import FormInvalid
from console.pages.catalog import product_from_form
from console.pages.promo import describe, parse_rubles, rule_from_form


@pytest.mark.parametrize(("typed", "kopecks"), [("500", 50000), ("499,90", 49990), ("1 500.5", 150050), ("0", 0)])
def test_roubles_are_read_as_people_type_them(typed: str, kopecks: int) -> None:
    assert parse_rubles(typed) == kopecks


@pytest.mark.parametrize("typed", ["", "abc", "1,234", "-5", "1.999"])
def test_what_is_not_an_amount_of_roubles_is_refused(typed: str) -> None:
    with pytest.raises(ValueError):
        parse_rubles(typed)


def test_a_full_promo_form_is_every_option_of_the_rule() -> None:
    rule, total, per_customer = rule_from_form({
        "code": " vesna-5 ", "kind": "combined", "percent": "7,5", "fixed": "300", "min_order": "3000",
        "valid_from": "2026-03-01T00:00", "valid_to": "2026-03-31T23:59", "product_groups": "face, body,face", "brands": "biomiq",
        "total_limit": "100", "per_customer_limit": "1",
    })
    assert (rule.code, rule.kind, rule.percent, rule.fixed, rule.min_order) == ("VESNA-5", "combined", Decimal("7.5"), 30000, 300000)
    assert rule.valid_from == datetime(2026, 2, 28, 21, 0, tzinfo=UTC) and rule.valid_to == datetime(2026, 3, 31, 20, 59, tzinfo=UTC)  # Moscow time
    assert (rule.product_groups, rule.brands, rule.combinable_with_bonuses) == (("face", "body"), ("biomiq",), False)
    assert (total, per_customer) == (100, 1)
    assert describe(rule) == "7,5\u00a0% + 300,00\u00a0₽"


def test_each_refused_promo_field_has_its_own_message() -> None:
    with pytest.raises(FormInvalid) as refused:
        rule_from_form({"code": "два слова", "kind": "fixed", "fixed": "0", "valid_from": "2026-03-02T00:00", "valid_to": "2026-03-01T00:00", "brands": "Бренд!", "total_limit": "0"})
    assert set(refused.value.fields) == {"code", "fixed", "valid_to", "brands", "total_limit"}
    assert refused.value.fields["valid_to"] == "Окончание должно быть позже начала."
    with pytest.raises(FormInvalid) as no_percent:
        rule_from_form({"code": "X", "kind": "percent", "percent": "0"})
    assert no_percent.value.fields == {"percent": "Процент — число больше 0 и не больше 100."}


def test_a_product_form_is_read_in_roubles_and_an_old_price_below_the_price_is_refused_at_its_field() -> None:
    body = product_from_form({"name": "Маска", "price": "950", "old_price": "1200", "sale": "", "gift_certificate": "on", "reason": "новая цена"})
    product = body.product("42")
    assert (product.price, product.old_price, product.sale, product.gift_certificate) == (95000, 120000, True, True)
    with pytest.raises(FormInvalid) as refused:
        product_from_form({"name": "Маска", "price": "1300", "old_price": "1200", "reason": "новая цена"})
    assert refused.value.fields == {"old_price": "Старая цена должна быть больше цены (или пусто)."}
    with pytest.raises(FormInvalid) as missing:
        product_from_form({"price": "дорого"})
    assert set(missing.value.fields) == {"price"}
