"""The program editor's form: generated from the config's schema, every field labelled in
Russian, the text typed turned back into the config exactly, refusals mapped to their fields."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from console import program_form as form
from console import program_labels as words
from shared.domain.config import ProgramConfig, parse_config
from shared.domain.errors import ValidationFailed
from shared.presets import PRESETS, preset_data


def _refused(values: dict[str, str]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as refused:
        parse_config(form.raw_of(values))
    return form.errors_at(refused.value.details["errors"], values)


@pytest.fixture
def values() -> dict[str, str]:
    return form.values_of(parse_config(preset_data("biomiq")))


def test_every_field_of_the_schema_has_a_russian_label_and_no_label_is_stale():
    paths = form.schema_paths()
    assert "levels.*.accrual_percent" in paths and "catalog.gift_certificate.field" in paths and "referral.schedule.*.percent" in paths
    missing = [path for path in paths if path not in words.LABELS]
    assert missing == []
    assert sorted(set(words.LABELS) - set(paths)) == []
    for label, _ in words.LABELS.values():
        assert any("а" <= ch.lower() <= "я" or ch == "ё" for ch in label), label  # Russian words, not field names
    assert set(words.ROW_TITLES) == {p for p in paths if any(q.startswith(p + ".*.") for q in paths)}  # every list's rows have a title


def test_every_choice_of_the_schema_reads_in_russian():
    for node in form.walk(form.layout(form.values_of(parse_config(preset_data("biomiq"))))):
        for key, title in node.options:
            assert key == "" or title != key, (node.name, key)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_a_config_survives_the_form_unchanged(preset):
    config = parse_config(preset_data(preset))
    assert parse_config(form.raw_of(form.values_of(config))) == config


def test_money_is_typed_in_roubles_and_kept_in_kopecks(values):
    assert values["levels.1.threshold"] == "30000"  # 3 000 000 kopecks
    values["levels.1.threshold"] = "25 000,50"
    values["redemption.min_order"] = "1990.5"
    config = parse_config(form.raw_of(values))
    assert config.levels[1].threshold == 2500050 and config.redemption.min_order == 199050
    values["levels.1.threshold"] = "много"
    with pytest.raises(form.Unreadable) as refused:
        form.raw_of(values)
    assert refused.value.fields == {"levels.1.threshold": "Введите сумму в рублях, например 30000 или 1990,50."}


def test_dates_are_typed_in_moscow_time_and_kept_in_utc(values):
    values["earning_rules.0.active_from"] = "2026-12-03T10:00"
    config = parse_config(form.raw_of(values))
    assert config.earning_rules[0].active_from == datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
    assert form.values_of(config)["earning_rules.0.active_from"] == "2026-12-03T10:00"


def test_lists_of_words_and_pairs_are_read_from_their_text(values):
    values["exclusions.excluded_brands"] = "acme, other ,"
    values["coefficients.product_groups"] = "masks = 2\n\ncreams = 1,5"
    config = parse_config(form.raw_of(values))
    assert config.exclusions.excluded_brands == ("acme", "other")
    assert {k: str(v) for k, v in config.coefficients.product_groups.items()} == {"masks": "2", "creams": "1.5"}
    values["coefficients.product_groups"] = "masks 2"
    with pytest.raises(form.Unreadable) as refused:
        form.raw_of(values)
    assert refused.value.fields == {"coefficients.product_groups": "Строка 1: нужно «ключ = значение»."}


def test_an_empty_field_takes_its_default_or_is_named_missing(values):
    values["levels.0.max_redeem_percent"] = ""
    values["redemption.max_bonuses"] = ""
    config = parse_config(form.raw_of(values))
    assert config.levels[0].max_redeem_percent == 50 and config.redemption.max_bonuses is None
    values["levels.0.accrual_percent"] = ""
    assert _refused(values) == {"levels.0.accrual_percent": "Заполните поле."}


def test_refusals_land_at_their_fields_in_russian(values):
    values["levels.0.accrual_percent"] = "150"
    values["hold_days"] = "два"
    assert _refused(values) == {"levels.0.accrual_percent": "Допустимо не больше 100.", "hold_days": "Введите целое число."}


def test_a_cross_field_refusal_lands_at_its_list_or_its_row(values):
    values["levels.1.threshold"] = "0"
    assert _refused(values) == {"levels": "Пороги уровней должны строго возрастать."}
    values["levels.1.threshold"] = "30000"
    values["earning_rules.0.groups"] = "vip"
    assert _refused(values) == {"earning_rules.0.groups": "Таких групп нет в программе."}  # the rule is named by its code
    values["earning_rules.0.groups"] = ""
    values["default_group"] = "vip"
    assert _refused(values) == {"default_group": "Такой группы нет в списке групп."}
    values["default_group"] = "b2c"
    values["coefficients.brands"] = "bad code! = 2"
    assert _refused(values) == {"coefficients.brands": "Допустимы латинские буквы, цифры, «_», «-» и «.»."}
    values["coefficients.brands"] = ""
    values["levels.0.threshold"] = "1"
    assert _refused(values) == {"levels": "Порог первого уровня должен быть 0."}


def test_a_triggers_segment_is_typed_in_the_form_and_kept_in_the_config(values):
    assert words.label("messages.winback.segment.groups") == "Группы покупателей" and words.label("messages.birthday.segment") == "Кому отправлять"
    assert values["messages.winback.segment.groups"] == "" and values["messages.winback.segment.paid_total_min"] == ""
    values["messages.winback.segment.groups"] = "b2c"
    values["messages.winback.segment.paid_total_min"] = "5 000"
    values["messages.birthday.segment.levels"] = "level2, level3"
    values["messages.birthday.segment.last_purchase_before"] = "2026-12-01T00:00"
    config = parse_config(form.raw_of(values))
    winback, birthday = config.messages.winback.segment, config.messages.birthday.segment
    assert (winback.groups, winback.paid_total_min, winback.levels) == (("b2c",), 500000, ())
    assert birthday.levels == ("level2", "level3") and birthday.last_purchase_before == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    assert config.messages.level_changed.segment.everyone
    again = form.values_of(config)
    assert again["messages.winback.segment.paid_total_min"] == "5000" and parse_config(form.raw_of(again)) == config
    values["messages.birthday.segment.levels"] = "gold"
    assert _refused(values) == {"messages.birthday.segment.levels": "Таких уровней нет в программе."}
    values["messages.birthday.segment.levels"] = ""
    values["messages.winback.segment.paid_total_max"] = "100"
    assert _refused(values) == {"messages.winback.segment": "Сумма «от» не может быть больше суммы «до»."}


def test_a_money_bound_reads_in_roubles():
    assert form.message_ru({"type": "less_than_equal", "limit": "1000000"}, "payments.refund_lines_tolerance") == "Допустимо не больше 10\u00a0000\u00a0₽."


def test_rows_are_added_at_the_end_and_removed_with_the_rest_moving_up(values):
    added = form.add_row(values, "levels")
    assert form.rows(added, "levels") == [0, 1, 2, 3]
    removed = form.remove_row(values, "levels", 0)
    assert form.rows(removed, "levels") == [0, 1]
    assert (removed["levels.0.code"], removed["levels.1.code"]) == ("level2", "level3")
    assert removed["level_basis.kind"] == values["level_basis.kind"]  # nothing else moves
    assert parse_config(form.raw_of(form.remove_row(values, "referral.schedule", 1))).referral.schedule[-1].from_paying_referees == 0


def test_the_layout_is_built_from_the_fields_with_their_labels_and_rows(values):
    layout = form.layout(values)
    assert [n.label for n in layout][:3] == ["Основное", "Уровни", "Как считается уровень"]
    levels = layout[1]
    assert [row.label for row in levels.children] == ["Уровень 1", "Уровень 2", "Уровень 3"]
    percent = next(n for n in levels.children[0].children if n.name == "levels.0.accrual_percent")
    assert (percent.label, percent.value, percent.required) == ("Начисление, %", "5", True)
    kind = next(n for n in form.walk(layout) if n.name == "level_basis.kind")
    assert kind.kind == "select" and kind.options == [("lifetime", "За всё время"), ("rolling", "За скользящее окно")]
    optional = next(n for n in form.walk(layout) if n.name == "exclusions.promo.accrual_percent")
    assert optional.kind == "input" and not optional.required


def test_a_change_reads_with_russian_labels_and_the_forms_units():
    assert form.change_label("levels.level2.accrual_percent") == "Уровни › level2 › Начисление, %"
    assert form.change_label("coefficients.product_groups.masks") == "Коэффициенты начисления › По группам товаров › masks"
    assert form.shown("levels.level2.threshold", 3000000) == "30\u00a0000\u00a0₽" and form.shown("redemption.min_order", 199050) == "1\u00a0990,50\u00a0₽"
    assert form.shown("exclusions.sale_items_earn", False) == "Нет"
    assert form.shown("clawback.negative_balance", "floor") == "Не уходить ниже нуля (списать, что есть)"
    assert form.shown("referral.schedule", [{"from_paying_referees": 0, "percent": "5"}]) == "С числа покупающих друзей: 0, Вознаграждение, %: 5"
    assert form.shown("levels.level4", None) == "—"
    assert form.shown("earning_rules.birthday.active_from", "2026-12-03T07:00:00Z") == "03.12.2026 10:00 МСК"


def test_the_form_text_of_a_config_is_its_own_model():
    data = preset_data("biomiq")
    data["campaigns"] = [{"code": "bday", "name": "Двойные баллы в день рождения", "active_from": "2027-01-01T00:00:00Z", "active_to": "2030-01-01T00:00:00Z", "multiplier_percent": 200}]
    assert ProgramConfig.model_fields.keys() <= {path.split(".")[0] for path in form.values_of(parse_config(data))}
