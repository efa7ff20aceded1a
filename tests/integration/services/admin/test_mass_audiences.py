"""Mass accruals to a segment (groups, levels, a paid total, the last purchase, a birthday window),
resolved through the one segment test when the job is defined (on both stores)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.cart import CartLine
from shared.domain.config import ProgramConfig
from shared.domain.errors import IdempotencyConflict, ValidationFailed
from shared.domain.segments import Segment
from shared.edge.admin_auth import Admin
from shared.presets import preset_data
from shared.services import registration
from shared.services.admin import mass_accruals, mass_segments
from shared.services.ledger import balances
from tests.integration.services.admin.test_mass_segments import _birthday
from tests.integration.services.test_levels import BIG, _pay

MARKETER = Admin("marketer@shop.example", ("marketer",))
CHAIR = CartLine(id="chair", price=1_000_000, quantity=1)  # 10 000 ₽


@pytest.fixture
def config() -> ProgramConfig:
    data = preset_data("biomiq")
    data["groups"] = [{"code": "b2c", "name": "Розница"}, {"code": "vip", "name": "Постоянные"}, {"code": "b2b", "name": "Опт", "bonuses_excluded": True}]
    return ProgramConfig.model_validate(data)


def _customers(store, config, now) -> None:
    """vip-big and vip-small are VIPs who paid 100 000 ₽ and 10 000 ₽; retail-big paid 100 000 ₽; vip-none paid nothing."""
    for customer_id, group in (("vip-big", "vip"), ("vip-small", "vip"), ("retail-big", "b2c"), ("vip-none", "vip")):
        registration.register_customer(store, config=config, customer_id=customer_id, now=now, group=group)
    _pay(store, config, "vip-big", "O1", BIG, now)
    _pay(store, config, "vip-small", "O2", [CHAIR], now)
    _pay(store, config, "retail-big", "O3", BIG, now)


def test_a_group_with_a_paid_total_from_credits_exactly_its_customers(store, config, now):
    _customers(store, config, now)
    later = now + timedelta(days=1)
    before = {c: balances(store, c, later).total for c in ("vip-big", "vip-small", "retail-big", "vip-none")}
    audience = Segment(groups=("vip",), paid_total_min=5_000_000)  # 50 000 ₽ and more

    shown = mass_segments.preview(store, MARKETER, config=config, amount=100, audience=audience, now=later)
    assert (shown.segment, shown.customers, shown.bonuses, shown.creditable) == ("segment", 1, 100, 1)

    job = mass_accruals.create_mass_accrual(store, MARKETER, config=config, job_id="seg-1", amount=100, reason="акция", audience=audience, now=later)
    assert job.definition.customer_ids == ("vip-big",) and job.definition.audience == audience and job.definition.segment == "segment"
    done = mass_accruals.run_mass_accrual(store, MARKETER, config=config, job_id="seg-1", now=later)
    assert (done.status, done.credited, done.bonuses) == ("complete", 1, 100)
    assert done.definition.audience == audience  # the stored job says which segment it went to
    after = {c: balances(store, c, later + timedelta(hours=1)).total for c in before}
    assert {c: after[c] - before[c] for c in before} == {"vip-big": 100, "vip-small": 0, "retail-big": 0, "vip-none": 0}

    # the same job id again keeps its list; for another segment it is another job
    again = mass_accruals.create_mass_accrual(store, MARKETER, config=config, job_id="seg-1", amount=100, reason="акция", audience=audience, now=later + timedelta(minutes=5))
    assert again.definition.customer_ids == ("vip-big",) and again.credited == 1
    with pytest.raises(IdempotencyConflict):
        mass_accruals.create_mass_accrual(store, MARKETER, config=config, job_id="seg-1", amount=100, reason="акция", audience=Segment(groups=("vip",)), now=later)


def test_paid_total_up_to_and_last_purchase_before_pick_the_quiet_customers(store, config, now):
    _customers(store, config, now)
    _pay(store, config, "vip-small", "O4", BIG, now + timedelta(days=20))  # bought again later
    at = now + timedelta(days=30)
    lapsed = mass_segments.members(store, config, Segment(last_purchase_before=now + timedelta(days=10)), at)
    assert lapsed == ["retail-big", "vip-big", "vip-none"]  # a customer who never bought counts as lapsed
    small = mass_segments.members(store, config, Segment(groups=("vip",), paid_total_max=0), at)
    assert small == ["vip-none"]
    both = mass_segments.members(store, config, Segment(levels=("level3",), groups=("b2c", "vip")), at)
    assert both == ["retail-big", "vip-big", "vip-small"]


def test_a_birthday_window_is_counted_on_the_moscow_day(store, config, now):
    _customers(store, config, now)
    today = now + timedelta(hours=3)  # Moscow
    _birthday(store, "vip-big", (today + timedelta(days=3)).strftime("%m-%d"))
    _birthday(store, "vip-small", (today - timedelta(days=1)).strftime("%m-%d"))
    _birthday(store, "retail-big", (today + timedelta(days=5)).strftime("%m-%d"))
    window = Segment(birthday_days_before=3, birthday_days_after=1)
    assert mass_segments.members(store, config, window, now) == ["vip-big", "vip-small"]
    assert mass_segments.members(store, config, window.model_copy(update={"groups": ("b2c",)}), now) == []
    # the older inputs are segments too: a level, today's birthdays
    assert mass_segments.level_members(store, config, "level3", now) == ["retail-big", "vip-big"]
    _birthday(store, "vip-none", today.strftime("%m-%d"))
    assert mass_segments.birthday_members(store, config, now) == ["vip-none"]


def test_a_bad_segment_is_refused_at_its_field_in_russian_and_writes_nothing(store, config, now, monkeypatch):
    _customers(store, config, now)
    refusals = []
    for audience in (Segment(groups=("gold",)), Segment(levels=("gold",)), Segment(groups=("vip", "b2b")), Segment(groups=("vip",), paid_total_min=100_000_000)):
        with pytest.raises(ValidationFailed) as refused:
            mass_accruals.create_mass_accrual(store, MARKETER, config=config, job_id="bad", amount=10, reason="акция", audience=audience, now=now)
        refusals.append((refused.value.code, refused.value.details["field"], refused.value.message_ru))
    assert refusals == [
        ("validation_failed", "audience.groups", "Такой группы в программе нет."),
        ("validation_failed", "audience.levels", "Такого уровня в программе нет."),
        ("validation_failed", "audience.groups", "Группа без бонусов не участвует в бонусной программе: начислять ей бонусы нельзя."),
        ("segment_empty", "audience", "В этом сегменте сейчас нет ни одного клиента."),
    ]
    assert store.read(lambda uow: uow.jobs.get("bad")) is None
    monkeypatch.setattr(mass_segments, "MAX_JOB_CUSTOMERS", 2)
    with pytest.raises(ValidationFailed) as too_large:
        mass_segments.members(store, config, Segment(groups=("vip",)), now)
    assert too_large.value.code == "segment_too_large" and too_large.value.details["field"] == "audience"
