"""The seed programs run by configuration alone: each preset loads, and each seed's numbers hold."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from shared.domain.cart import CartLine, CustomerView, PromoRule, catalog_preview, quote
from shared.domain.config import EarningEvent, LevelBasisKind, ProgramConfig, parse_config
from shared.domain.errors import NotFound, ValidationFailed
from shared.domain.referral import referral_reward
from shared.presets import PRESETS, load_preset, preset_data, preset_names

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
RUB = 100  # kopecks


def customer(level: str, available: int = 0, group: str = "b2c", customer_id: str = "c1") -> CustomerView:
    return CustomerView(customer_id=customer_id, level=level, group=group, available=available)


def line(line_id: str = "1", rub: int = 1000, **fields: object) -> CartLine:
    return CartLine(id=line_id, price=rub * RUB, quantity=fields.pop("quantity", 1), **fields)


def codes(reasons: list) -> list[str]:
    return [reason.code for reason in reasons]


def rules_by_event(config: ProgramConfig) -> dict[EarningEvent, list]:
    found: dict[EarningEvent, list] = {}
    for rule in config.earning_rules:
        found.setdefault(rule.event, []).append(rule)
    return found


# --- every preset -------------------------------------------------------------------


def test_every_seed_program_has_a_preset() -> None:
    assert preset_names() == [
        "biomiq",
        "maxma_cosmetics",
        "maxma_b2b",
        "veloprobeg",
        "sportferma",
        "stroyservis",
        "luchshiy_malyar",
    ]


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_loads_validates_and_round_trips(name: str) -> None:
    config = load_preset(name)
    assert isinstance(config, ProgramConfig)
    assert config.program == name
    assert (Path(__file__).parents[3] / "shared" / "presets" / PRESETS[name]).is_file()
    # What the store keeps (JSON) validates back to the same program.
    assert parse_config(json.loads(json.dumps(config.model_dump(mode="json")))) == config


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_quotes_a_cart_for_every_level_and_an_anonymous_visitor(name: str) -> None:
    config = load_preset(name)
    cart = [line("1", 1000), line("2", 250, quantity=2)]
    for level in config.levels:
        q = quote(config, customer(level.code, available=10_000, group=config.default_group), cart, now=NOW, bonuses_requested=100)
        assert q.level == level.code
        assert q.money_to_pay == q.subtotal - q.discount - q.bonuses_applied * RUB
    anonymous = quote(config, None, cart, now=NOW)
    assert anonymous.anonymous and anonymous.potential_level == config.top_level.code


def test_preset_data_is_a_fresh_copy_and_unknown_names_are_refused() -> None:
    data = preset_data("biomiq")
    data["levels"].clear()
    assert load_preset("biomiq").levels
    with pytest.raises(NotFound) as exc:
        load_preset("no_such_shop")
    assert exc.value.details["preset"] == "no_such_shop"


# --- broken copies are refused, naming the field --------------------------------------


def _fields(exc: ValidationFailed) -> list[str]:
    return [error["field"] for error in exc.details["errors"]]


def test_descending_level_thresholds_are_refused() -> None:
    data = preset_data("veloprobeg")
    data["levels"][1]["threshold"], data["levels"][2]["threshold"] = data["levels"][2]["threshold"], data["levels"][1]["threshold"]
    with pytest.raises(ValidationFailed) as exc:
        parse_config(data)
    assert _fields(exc.value) == ["levels"]
    assert "ascending" in exc.value.details["errors"][0]["error"]


def test_an_unknown_default_group_is_refused() -> None:
    data = preset_data("maxma_b2b")
    data["default_group"] = "retail"
    with pytest.raises(ValidationFailed) as exc:
        parse_config(data)
    # Cross-field checks report the field as "(root)" and name it in the message.
    assert any("default_group" in e["field"] or "default_group" in e["error"] for e in exc.value.details["errors"])


def test_a_negative_percent_is_refused() -> None:
    data = preset_data("sportferma")
    data["levels"][3]["max_redeem_percent"] = -5
    with pytest.raises(ValidationFailed) as exc:
        parse_config(data)
    assert _fields(exc.value) == ["levels.3.max_redeem_percent"]


def test_an_unknown_field_and_a_bad_coefficient_are_both_named() -> None:
    data = preset_data("veloprobeg")
    data["notes"] = "fitted to the seed"
    data["coefficients"]["product_groups"]["apparel"] = -0.86
    with pytest.raises(ValidationFailed) as exc:
        parse_config(data)
    assert sorted(_fields(exc.value)) == ["coefficients.product_groups.apparel", "notes"]


def test_a_referral_schedule_not_starting_at_zero_is_refused() -> None:
    data = preset_data("biomiq")
    data["referral"]["schedule"][0]["from_paying_referees"] = 1
    with pytest.raises(ValidationFailed) as exc:
        parse_config(data)
    assert _fields(exc.value) == ["referral.schedule"]


def test_redemption_max_below_min_is_refused() -> None:
    data = preset_data("stroyservis")
    data["redemption"]["max_bonuses"] = 50
    with pytest.raises(ValidationFailed) as exc:
        parse_config(data)
    assert _fields(exc.value) == ["redemption"]


# --- Biomiq (seed 000) ------------------------------------------------------------------


@pytest.fixture(scope="module")
def biomiq() -> ProgramConfig:
    return load_preset("biomiq")


def test_biomiq_program_shape(biomiq: ProgramConfig) -> None:
    assert [lv.accrual_percent for lv in biomiq.levels] == [5, 10, 15]
    assert [lv.threshold for lv in biomiq.levels] == [0, 30_000 * RUB, 100_000 * RUB]
    assert biomiq.level_basis.kind is LevelBasisKind.LIFETIME
    assert biomiq.hold_days == 14 and biomiq.lot_lifetime_days == 365
    assert EarningEvent.BIRTHDAY in rules_by_event(biomiq)


@pytest.mark.parametrize(("level", "points"), [("level1", 50), ("level2", 100), ("level3", 150)])
def test_biomiq_1000_rub_purchase_earns_by_level(biomiq: ProgramConfig, level: str, points: int) -> None:
    q = quote(biomiq, customer(level), [line("1", 1000)], now=NOW)
    assert q.points_to_earn == points


def test_biomiq_at_most_half_an_order_is_payable_with_bonuses(biomiq: ProgramConfig) -> None:
    q = quote(biomiq, customer("level2", available=5000), [line("1", 2000), line("2", 1000)], now=NOW, bonuses_requested=5000)
    assert q.max_bonuses_by_rules == 1500 and q.max_bonuses == 1500
    assert q.bonuses_applied == 1500
    assert q.money_to_pay == 1500 * RUB
    assert codes(q.reasons) == ["bonus_cap"]
    assert sum(ql.bonuses_applied for ql in q.lines) == 1500
    # The part paid with bonuses earns nothing: 1 500 RUB money at 10 %.
    assert q.points_to_earn == 150


def test_biomiq_welcome_bonuses(biomiq: ProgramConfig) -> None:
    assert biomiq.welcome.standard == 500
    assert biomiq.welcome.invited == 1000
    assert biomiq.welcome.activation_days == 0


@pytest.mark.parametrize(("paying_referees", "reward"), [(0, 105), (1, 105), (2, 105), (3, 210), (10, 210)])
def test_biomiq_partner_reward_schedule(biomiq: ProgramConfig, paying_referees: int, reward: int) -> None:
    # Anna pays 2 100 RUB for two items; Maria is her partner.
    by_line = referral_reward(biomiq, paying_referees=paying_referees, paid_by_line={"a": 1300 * RUB, "b": 800 * RUB})
    assert sum(by_line.values()) == reward


# --- Велопробег (seed 002) --------------------------------------------------------------


@pytest.fixture(scope="module")
def velo() -> ProgramConfig:
    return load_preset("veloprobeg")


JACKET = dict(name="Куртка", product_group="apparel")


def test_veloprobeg_program_shape(velo: ProgramConfig) -> None:
    assert [(lv.code, lv.accrual_percent) for lv in velo.levels] == [
        ("silver", Decimal("1.5")),
        ("gold", Decimal("2.5")),
        ("platinum", Decimal("3.5")),
        ("vip", Decimal("4.9")),
    ]
    assert velo.coefficients.product_groups["apparel"] == Decimal("0.86")
    assert velo.hold_days == 14 and velo.lot_lifetime_days == 365


def test_veloprobeg_dmitry_pays_500_bonuses_for_the_jacket_and_earns_305(velo: ProgramConfig) -> None:
    q = quote(velo, customer("gold", available=500), [line("jacket", 14_700, **JACKET)], now=NOW, bonuses_requested=500)
    assert q.reasons == []
    assert q.bonuses_applied == 500
    assert q.money_to_pay == 1_420_000
    assert q.points_to_earn == 305  # floor(14 200 * 2.5 % * 0.86) = floor(305.3)
    assert q.potential_points == 598  # at VIP on the same money: floor(598.36)


def test_veloprobeg_anonymous_visitor_sees_up_to_619(velo: ProgramConfig) -> None:
    q = quote(velo, None, [line("jacket", 14_700, **JACKET)], now=NOW)
    assert q.anonymous
    assert q.potential_level == "vip"
    assert q.potential_points == 619  # floor(14 700 * 4.9 % * 0.86) = floor(619.458)
    preview = catalog_preview(velo, customer("gold"), [line("jacket", 14_700, **JACKET)], now=NOW)
    assert preview == {"jacket": (316, 619)}  # gold without bonuses: floor(316.05)


def test_veloprobeg_second_order_cannot_spend_the_spent_bonuses(velo: ProgramConfig) -> None:
    q = quote(velo, customer("gold", available=0), [line("gloves", 2_000, product_group="apparel")], now=NOW, bonuses_requested=500)
    assert q.bonuses_applied == 0
    assert q.max_bonuses == 0
    assert codes(q.reasons) == ["insufficient_bonuses"]


def test_veloprobeg_margin_groups_weight_earning(velo: ProgramConfig) -> None:
    def earned(group: str) -> int:
        return quote(velo, customer("gold"), [line("1", 20_000, product_group=group)], now=NOW).points_to_earn

    assert earned("bikes") == 250  # 20 000 * 2.5 % * 0.5
    assert earned("accessories") == 750  # 20 000 * 2.5 % * 1.5
    assert earned("bikes") < earned("apparel") < earned("service") < earned("accessories")
    assert earned("unlisted") == 500  # coefficient 1


# --- Maxma: Korean cosmetics (seed 001, first shop) ---------------------------------------


@pytest.fixture(scope="module")
def cosmetics() -> ProgramConfig:
    return load_preset("maxma_cosmetics")


def test_maxma_cosmetics_program_shape(cosmetics: ProgramConfig) -> None:
    assert {EarningEvent.FIRST_ORDER, EarningEvent.BIRTHDAY} <= set(rules_by_event(cosmetics))
    assert cosmetics.exclusions.gift_certificates_with_bonuses is False


def test_maxma_cosmetics_sale_items_neither_earn_nor_burn(cosmetics: ProgramConfig) -> None:
    cart = [line("cream", 1000), line("mask", 500, sale=True)]
    q = quote(cosmetics, customer("friend", available=5000), cart, now=NOW, bonuses_requested=5000)
    cream, mask = q.lines
    assert codes(mask.reasons) == ["sale_item_no_burn", "sale_item_no_earn"]
    assert not mask.earn_eligible and not mask.burn_eligible
    assert mask.bonuses_applied == 0 and mask.points_to_earn == 0 and mask.money_to_pay == 500 * RUB
    # Bonuses cover the regular line only (this shop allows paying it in full).
    assert q.eligible_for_bonuses == 1000 * RUB
    assert q.bonuses_applied == 1000 and cream.bonuses_applied == 1000
    assert q.points_to_earn == 0  # the cream was paid with bonuses, the mask is on sale


def test_maxma_cosmetics_reduced_price_line_is_also_a_sale_line(cosmetics: ProgramConfig) -> None:
    q = quote(cosmetics, customer("start"), [line("serum", 800, original_price=1200 * RUB)], now=NOW)
    assert codes(q.lines[0].reasons) == ["sale_item_no_burn", "sale_item_no_earn"]
    assert q.points_to_earn == 0 and q.max_bonuses_by_rules == 0


def test_maxma_cosmetics_no_promo_discount_on_a_reduced_price(cosmetics: ProgramConfig) -> None:
    promo = PromoRule(code="SPRING10", kind="percent", percent=Decimal(10))
    cart = [line("cream", 1000), line("serum", 800, original_price=1200 * RUB)]
    q = quote(cosmetics, customer("start"), cart, now=NOW, promo=promo)
    cream, serum = q.lines
    assert q.promo_applied
    assert cream.discount == 100 * RUB
    assert serum.discount == 0 and serum.amount_after_discount == 800 * RUB
    assert q.discount == 100 * RUB


def test_maxma_cosmetics_promo_on_reduced_items_only_applies_to_nothing(cosmetics: ProgramConfig) -> None:
    promo = PromoRule(code="SPRING10", kind="percent", percent=Decimal(10))
    q = quote(cosmetics, customer("start"), [line("serum", 800, sale=True)], now=NOW, promo=promo)
    assert not q.promo_applied and q.discount == 0
    assert codes(q.reasons) == ["promo_no_eligible_items"]


def test_maxma_cosmetics_gift_certificate_payment_blocks_bonuses(cosmetics: ProgramConfig) -> None:
    q = quote(cosmetics, customer("friend", available=5000), [line("cream", 1000)], now=NOW, bonuses_requested=300, pays_with_gift_certificate=True)
    assert q.bonuses_applied == 0 and q.max_bonuses == 0
    assert codes(q.reasons) == ["gift_certificate_payment"]
    assert q.points_to_earn == 50  # earning is untouched: 1 000 RUB at 5 %


def test_maxma_cosmetics_gift_certificate_line_is_not_payable_with_bonuses(cosmetics: ProgramConfig) -> None:
    q = quote(cosmetics, customer("friend", available=5000), [line("gc", 3000, gift_certificate=True)], now=NOW, bonuses_requested=100)
    assert q.bonuses_applied == 0 and q.points_to_earn == 0
    assert codes(q.lines[0].reasons) == ["gift_certificate_no_bonuses", "gift_certificate_no_earn"]


# --- Maxma: B2C and B2B (seed 001, second shop) ------------------------------------------


@pytest.fixture(scope="module")
def b2b() -> ProgramConfig:
    return load_preset("maxma_b2b")


def test_maxma_b2b_groups(b2b: ProgramConfig) -> None:
    assert b2b.default_group == "b2c"
    assert b2b.group("b2b").bonuses_excluded is True
    assert b2b.group("b2c").bonuses_excluded is False
    assert b2b.group("unknown").code == "b2c"
    (birthday,) = rules_by_event(b2b)[EarningEvent.BIRTHDAY]
    assert birthday.groups == ("b2c",)


def test_maxma_b2b_customer_gets_no_bonus_data(b2b: ProgramConfig) -> None:
    wholesale = customer("gold", available=900, group="b2b")
    q = quote(b2b, wholesale, [line("1", 10_000)], now=NOW)
    assert q.bonuses_excluded is True
    assert q.points_to_earn == 0 and q.potential_points == 0
    assert q.max_bonuses == 0 and q.max_bonuses_by_rules == 0 and q.available_bonuses == 0
    assert q.eligible_for_bonuses == 0
    assert q.reasons == []
    # The level stays visible as a label; no potential earning is advertised.
    assert (q.level, q.level_name) == ("gold", "Золотой")
    assert q.potential_level is None


def test_maxma_b2b_customer_asking_for_bonuses_is_told_why(b2b: ProgramConfig) -> None:
    q = quote(b2b, customer("gold", available=900, group="b2b"), [line("1", 10_000)], now=NOW, bonuses_requested=500)
    assert q.bonuses_applied == 0
    assert codes(q.reasons) == ["group_excluded"]


def test_maxma_b2b_retail_customer_earns_and_burns(b2b: ProgramConfig) -> None:
    q = quote(b2b, customer("gold", available=900), [line("1", 10_000)], now=NOW, bonuses_requested=500)
    assert not q.bonuses_excluded and q.level == "gold"
    assert q.bonuses_applied == 500
    assert q.points_to_earn == 665  # 9 500 RUB at 7 %


# --- SPORTFERMA (seed 003) --------------------------------------------------------------


@pytest.fixture(scope="module")
def sportferma() -> ProgramConfig:
    return load_preset("sportferma")


def test_sportferma_program_shape(sportferma: ProgramConfig) -> None:
    assert len(sportferma.levels) == 6
    assert sportferma.level_basis.kind is LevelBasisKind.ROLLING
    assert sportferma.level_basis.window_days == 365 and sportferma.level_basis.downgrade
    accrual = [lv.accrual_percent for lv in sportferma.levels]
    redeem = [lv.max_redeem_percent for lv in sportferma.levels]
    assert accrual == sorted(set(accrual)) and redeem == sorted(set(redeem))


def test_sportferma_max_payable_share_rises_with_level(sportferma: ProgramConfig) -> None:
    cart = [line("skis", 10_000)]
    max_by_level = {
        lv.code: quote(sportferma, customer(lv.code, available=100_000), cart, now=NOW, bonuses_requested=100_000).bonuses_applied
        for lv in sportferma.levels
    }
    assert max_by_level == {"start": 1000, "amateur": 1500, "athlete": 2000, "pro": 2500, "master": 3000, "champion": 5000}


def test_sportferma_brand_cashback_raises_earning(sportferma: ProgramConfig) -> None:
    plain = quote(sportferma, customer("athlete"), [line("1", 5000, brand="noname")], now=NOW)
    swix = quote(sportferma, customer("athlete"), [line("1", 5000, brand="swix")], now=NOW)
    own = quote(sportferma, customer("athlete"), [line("1", 5000, brand="sportferma")], now=NOW)
    assert (plain.points_to_earn, swix.points_to_earn, own.points_to_earn) == (200, 300, 400)


def test_sportferma_sale_items_earn_nothing_but_may_be_paid_with_bonuses(sportferma: ProgramConfig) -> None:
    q = quote(sportferma, customer("champion", available=10_000), [line("1", 4000, sale=True)], now=NOW, bonuses_requested=2000)
    assert q.bonuses_applied == 2000
    assert q.points_to_earn == 0
    assert codes(q.lines[0].reasons) == ["sale_item_no_earn"]


def test_sportferma_promo_code_orders_earn_at_the_promo_rate_and_cannot_burn(sportferma: ProgramConfig) -> None:
    promo = PromoRule(code="RUN10", kind="percent", percent=Decimal(10))
    q = quote(sportferma, customer("champion", available=10_000), [line("1", 10_000)], now=NOW, promo=promo, bonuses_requested=500)
    assert q.promo_applied and q.discount == 1000 * RUB
    assert q.bonuses_applied == 0 and q.max_bonuses == 0
    assert codes(q.reasons) == ["promo_no_burn"]
    assert q.money_to_pay == 9000 * RUB
    assert q.points_to_earn == 270  # 9 000 RUB at the promo 3 %, not the champion's 7 %
    without = quote(sportferma, customer("champion"), [line("1", 10_000)], now=NOW)
    assert without.points_to_earn == 700


# --- Стройсервис and «Лучший маляр» (seed 004) ------------------------------------------


@pytest.fixture(scope="module")
def stroyservis() -> ProgramConfig:
    return load_preset("stroyservis")


@pytest.fixture(scope="module")
def malyar() -> ProgramConfig:
    return load_preset("luchshiy_malyar")


def test_stroyservis_program_shape(stroyservis: ProgramConfig) -> None:
    assert stroyservis.welcome.standard == 150 and stroyservis.welcome.activation_days == 0
    rules = rules_by_event(stroyservis)
    assert {EarningEvent.REVIEW, EarningEvent.NEWSLETTER, EarningEvent.REPOST} <= set(rules)
    (review,) = rules[EarningEvent.REVIEW]
    assert review.activation_days > 0 and review.lifetime_days is not None and review.active_from is not None
    (repost,) = rules[EarningEvent.REPOST]
    assert repost.active_from is not None and repost.active_to is not None and repost.active_from < repost.active_to
    for rule in stroyservis.earning_rules:
        for moment in (rule.active_from, rule.active_to):
            assert moment is None or moment.utcoffset().total_seconds() == 0


def test_stroyservis_welcome_bonuses_pay_the_first_purchase(stroyservis: ProgramConfig) -> None:
    newcomer = customer("base", available=stroyservis.welcome.standard)
    q = quote(stroyservis, newcomer, [line("1", 1000)], now=NOW, bonuses_requested=150)
    assert q.bonuses_applied == 150 and q.reasons == []
    assert q.money_to_pay == 850 * RUB


def test_stroyservis_minimum_bonus_payment(stroyservis: ProgramConfig) -> None:
    q = quote(stroyservis, customer("base", available=500), [line("1", 1000)], now=NOW, bonuses_requested=50)
    assert q.bonuses_applied == 0
    assert codes(q.reasons) == ["below_min_bonuses"]
    assert q.money_to_pay == 1000 * RUB


def test_stroyservis_maximum_bonus_payment(stroyservis: ProgramConfig) -> None:
    q = quote(stroyservis, customer("contractor", available=50_000), [line("1", 100_000)], now=NOW, bonuses_requested=20_000)
    assert q.max_bonuses_by_rules == 5000  # 30 % would be 30 000; the absolute cap wins
    assert q.bonuses_applied == 5000
    assert "bonus_cap" in codes(q.reasons)


def test_stroyservis_max_bonuses_is_zero_when_the_cap_is_below_the_minimum(stroyservis: ProgramConfig) -> None:
    q = quote(stroyservis, customer("base", available=500), [line("1", 200)], now=NOW)
    assert q.max_bonuses == 0  # 30 % of 200 RUB is 60, below the 100 minimum: nothing is payable


def test_bonus_cap_message_shows_the_percent_plainly(biomiq: ProgramConfig) -> None:
    q = quote(biomiq, customer("level1", available=5000), [line("1", 3000)], now=NOW, bonuses_requested=5000)
    (reason,) = q.reasons
    assert "50%" in reason.message and "50%" in reason.message_ru


def test_luchshiy_malyar_program_shape(malyar: ProgramConfig) -> None:
    (sticker,) = rules_by_event(malyar)[EarningEvent.STICKER_CODE]
    assert sticker.amount > 0
    assert all(lv.max_redeem_percent == 100 for lv in malyar.levels)


def test_luchshiy_malyar_bonuses_pay_the_whole_order(malyar: ProgramConfig) -> None:
    q = quote(malyar, customer("member", available=5000), [line("paint", 1500), line("roller", 500)], now=NOW, bonuses_requested=2000)
    assert q.bonuses_applied == 2000 and q.reasons == []
    assert q.money_to_pay == 0
    assert q.points_to_earn == 0


def test_luchshiy_malyar_full_payment_stops_at_whole_bonuses(malyar: ProgramConfig) -> None:
    q = quote(malyar, customer("member", available=5000), [CartLine(id="1", price=199_950, quantity=1)], now=NOW, bonuses_requested=5000)
    assert q.bonuses_applied == 1999
    assert q.money_to_pay == 50
