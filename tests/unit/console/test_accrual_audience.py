"""The mass accrual form's segment by conditions: what a marketer types becomes the segment (kopecks
and UTC inside), a refused field says why in Russian, and a segment reads back as a sentence."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from console.app import FormInvalid
from console.pages.accrual_audience import audience_from, describe
from console.pages.approvals import effect
from shared.api.admin import ApprovalView
from shared.domain.config import ProgramConfig
from shared.domain.segments import Segment
from shared.presets import preset_data


@pytest.fixture
def config() -> ProgramConfig:
    data = preset_data("biomiq")
    data["groups"] = [{"code": "b2c", "name": "Розница"}, {"code": "vip", "name": "Постоянные"}]
    return ProgramConfig.model_validate(data)


def test_the_conditions_typed_become_the_segment(config) -> None:
    fields = {
        "seg_level_level2": "1", "seg_level_level3": "1", "seg_group_vip": "1", "seg_group_ghost": "1",
        "seg_birthday_before": "3", "seg_birthday_after": "", "seg_last_purchase_before": "2026-12-01",
        "seg_paid_from": "5 000", "seg_paid_to": "12000,50",
    }
    segment = audience_from(fields, config)
    assert (segment.levels, segment.groups) == (("level2", "level3"), ("vip",))  # a code the program has not is no box to tick
    assert segment.birthday_window == (3, 0)
    assert segment.last_purchase_before == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)  # the start of the day in Moscow
    assert (segment.paid_total_min, segment.paid_total_max) == (500_000, 1_200_050)


def test_each_refused_condition_says_why_at_its_field(config) -> None:
    with pytest.raises(FormInvalid) as refused:
        audience_from({"seg_birthday_before": "40", "seg_last_purchase_before": "вчера", "seg_paid_from": "много", "seg_paid_to": "10"}, config)
    assert refused.value.fields == {
        "seg_birthday_before": "Целое число дней от 0 до 31.",
        "seg_last_purchase_before": "Введите дату, например 2026-12-01.",
        "seg_paid_from": "Введите сумму в рублях, например 5000 или 1990,50.",
    }
    with pytest.raises(FormInvalid) as upside_down:
        audience_from({"seg_paid_from": "100", "seg_paid_to": "10"}, config)
    assert upside_down.value.fields == {"seg_paid_to": "Сумма «до» не может быть меньше суммы «от»."}
    with pytest.raises(FormInvalid) as nothing:
        audience_from({}, config)
    assert nothing.value.fields == {"segment": "Задайте хотя бы одно условие сегмента."}


def test_a_segment_reads_as_a_russian_sentence(config) -> None:
    names = {"level_names": {lv.code: lv.name for lv in config.levels}, "group_names": {"vip": "Постоянные"}}
    segment = Segment(groups=("vip",), levels=("level2", "level3"), paid_total_min=500_000, last_purchase_before=datetime(2026, 11, 30, 21, 0, tzinfo=UTC))
    assert describe(segment, **names) == (
        "уровни «2-й уровень», «3-й уровень»; группа «Постоянные»; последняя покупка до 01.12.2026; сумма покупок от 5\u202f000,00\u00a0₽"
    )
    assert describe(Segment(birthday_days_before=0, birthday_days_after=0), **names) == "день рождения сегодня"
    assert describe(Segment(birthday_days_before=3, birthday_days_after=1, paid_total_max=100), **names) == "день рождения: за 3 дн. до — 1 дн. после; сумма покупок до 1,00\u00a0₽"


def test_an_approval_of_a_segment_accrual_names_its_conditions() -> None:
    fields = {name: None for name in ApprovalView.model_fields}
    view = ApprovalView.model_construct(
        **{**fields, "action": "mass_accrual.run", "target": "job:seg", "created_at": datetime(2026, 12, 1, tzinfo=UTC),
           "params": {"job_id": "seg", "amount": 100, "customers": 3, "total": 300, "audience": {"groups": ["vip"], "paid_total_min": 500_000}}}
    )
    assert effect(view) == ["Начислить по 100 бонусов 3 клиентам: бюджет не больше 300 бонусов (задание seg)", "Сегмент: группа «vip»; сумма покупок от 5\u202f000,00\u00a0₽"]
