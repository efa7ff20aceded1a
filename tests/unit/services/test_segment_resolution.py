"""How a segment is resolved for mass accruals and triggers, without a store: a customer's facts
from the record, the birthdays a window holds on the Moscow day, and the older inputs as segments."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from msgspec.structs import replace

from shared.domain.clock import MSK
from shared.domain.config import ProgramConfig
from shared.domain.customer import CustomerRecord, facts_of
from shared.domain.errors import ValidationFailed
from shared.domain.segments import Segment, matches
from shared.presets import preset_data
from shared.services.admin import mass_segments


@pytest.fixture
def config() -> ProgramConfig:
    data = preset_data("biomiq")
    data["groups"] = [{"code": "b2c", "name": "Розница"}, {"code": "vip", "name": "Постоянные"}, {"code": "b2b", "name": "Опт", "bonuses_excluded": True}]
    return ProgramConfig.model_validate(data)


def _record(**account: object) -> CustomerRecord:
    record = CustomerRecord.new("anna")
    return record.with_account(replace(record.account, **account))


def test_the_facts_take_the_level_in_effect_the_default_group_and_the_last_paid_day(config):
    record = _record(level="level2", level_override="level3", paid_total=4_000_000, paid_by_day={"2026-01-10": 1_000_000, "2026-02-03": 3_000_000})
    record = record.set_profile(birthday_md="03-04").set_referral(registered_at=datetime(2025, 5, 1, tzinfo=UTC), first_paid_at=datetime(2026, 1, 10, 12, tzinfo=UTC))
    facts = facts_of(config, record)
    assert (facts.level, facts.group, facts.paid_total, facts.paid_orders, facts.birthday_md) == ("level3", "b2c", 4_000_000, 1, "03-04")
    assert facts.last_purchase_at == datetime(2026, 2, 3, tzinfo=UTC)
    assert facts_of(config, _record(group="vip")).group == "vip" and facts_of(config, _record()).level == "level1"


def test_a_birthday_window_holds_the_days_around_the_moscow_date_and_feb_29_on_feb_28():
    late_evening = datetime(2026, 2, 27, 22, 0, tzinfo=UTC)  # already 28 February in Moscow
    assert mass_segments._birthday_days((0, 0), late_evening) == ["02-28", "02-29"]
    assert mass_segments._birthday_days((3, 1), late_evening) == ["02-27", "02-28", "02-29", "03-01", "03-02", "03-03"]
    leap = datetime(2028, 2, 28, 9, 0, tzinfo=UTC)
    assert mass_segments._birthday_days((0, 0), leap) == ["02-28"]  # in a leap year 29 February has its own day


def test_the_older_inputs_are_segments_and_a_segment_is_checked_against_the_program(config):
    assert mass_segments.audience_of(level="level2", birthday_today=False, audience=None) == (Segment(levels=("level2",)), "level")
    assert mass_segments.audience_of(level=None, birthday_today=True, audience=None) == (mass_segments.BIRTHDAY_TODAY, "birthday_today")
    vip = Segment(groups=("vip",), paid_total_min=100)
    assert mass_segments.audience_of(level=None, birthday_today=False, audience=vip) == (vip, "audience")
    mass_segments.check_audience(config, vip)
    with pytest.raises(ValidationFailed) as refused:
        mass_segments.check_audience(config, Segment(levels=("gold",)), field="level")
    assert (refused.value.details["field"], refused.value.message_ru) == ("level", "Такого уровня в программе нет.")
    with pytest.raises(ValidationFailed) as excluded:
        mass_segments.check_audience(config, Segment(groups=("b2b",)))
    assert excluded.value.details["field"] == "audience.groups"


def test_the_birthday_of_today_is_matched_on_the_moscow_day(config):
    record = _record().set_profile(birthday_md="02-28")
    late_evening = datetime(2026, 2, 27, 22, 0, tzinfo=UTC)
    assert matches(mass_segments.BIRTHDAY_TODAY, facts_of(config, record), late_evening.astimezone(MSK))
    assert not matches(mass_segments.BIRTHDAY_TODAY, facts_of(config, record), late_evening)  # the UTC day is still the 27th
