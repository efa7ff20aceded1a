"""Mass accruals to a level or to today's birthdays, the preview that counts before anything runs,
a customer list read from a file, and the latest jobs (on both stores)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.config import ProgramConfig
from shared.domain.errors import IdempotencyConflict, ValidationFailed
from shared.domain.identity import Identity, IdentityKind
from shared.edge.admin_auth import Admin
from shared.presets import preset_data
from shared.services import registration
from shared.services.admin import adjustments, mass_accruals, mass_segments
from shared.services.ledger import balances

MARKETER = Admin("marketer@shop.example", ("marketer",))
OWNER = Admin("owner@shop.example", ("admin",))


@pytest.fixture
def config() -> ProgramConfig:
    data = preset_data("biomiq")
    data["groups"] = [{"code": "b2c", "name": "Розница"}, {"code": "b2b", "name": "Опт", "bonuses_excluded": True}]
    return ProgramConfig.model_validate(data)


def _register(store, config, now, *ids: str, group: str | None = None) -> None:
    for customer_id in ids:
        registration.register_customer(store, config=config, customer_id=customer_id, now=now, group=group)


def _birthday(store, customer_id: str, month_day: str) -> None:
    def unit(uow):
        record = uow.accounts.get(customer_id)
        uow.accounts.save(record.set_profile(birthday=f"1990-{month_day}", birthday_md=month_day))

    store.run(unit)


def test_a_level_segment_credits_the_customers_of_that_level_now_batch_by_batch(store, config, now):
    _register(store, config, now, "c1", "c2", "c3", "c4")
    for customer_id in ("c1", "c3", "c4"):
        adjustments.override_level(store, MARKETER, config=config, customer_id=customer_id, level="level2", reason="VIP", key=f"lv-{customer_id}", now=now)

    shown = mass_segments.preview(store, MARKETER, config=config, amount=100, level="level2", now=now)
    assert (shown.segment, shown.customers, shown.bonuses, shown.creditable, shown.needs_approval) == ("level", 3, 300, 3, False)

    job = mass_accruals.create_mass_accrual(store, MARKETER, config=config, job_id="lvl-1", amount=100, reason="акция", level="level2", now=now)
    assert job.definition.customer_ids == ("c1", "c3", "c4") and job.definition.level == "level2"
    # a customer who reaches the level afterwards is not in the job; the same job id again is the same job
    adjustments.override_level(store, MARKETER, config=config, customer_id="c2", level="level2", reason="VIP", key="lv-c2", now=now)
    again = mass_accruals.create_mass_accrual(store, MARKETER, config=config, job_id="lvl-1", amount=100, reason="акция", level="level2", now=now + timedelta(minutes=1))
    assert again.definition.customer_ids == ("c1", "c3", "c4")

    first = mass_accruals.run_mass_accrual(store, MARKETER, config=config, job_id="lvl-1", max_batch=2, now=now)
    assert (first.status, first.credited) == ("running", 2)
    done = mass_accruals.run_mass_accrual(store, MARKETER, config=config, job_id="lvl-1", max_batch=2, now=now)
    assert (done.status, done.credited, done.bonuses, done.definition.level) == ("complete", 3, 300, "level2")
    later = now + timedelta(hours=1)
    assert [balances(store, c, later).total for c in ("c1", "c2", "c3", "c4")] == [600, 500, 600, 600]


def test_the_base_level_counts_customers_who_never_earned_one(store, config, now):
    _register(store, config, now, "a", "b")
    adjustments.override_level(store, MARKETER, config=config, customer_id="b", level="level3", reason="VIP", key="lv-b", now=now)
    assert mass_segments.level_members(store, config, "level1", now) == ["a"]
    with pytest.raises(ValidationFailed) as refused:
        mass_segments.preview(store, MARKETER, config=config, amount=10, level="gold", now=now)
    assert refused.value.message_ru == "Такого уровня в программе нет."


def test_a_birthday_segment_is_today_in_moscow_and_an_empty_one_is_refused(store, config, now):
    _register(store, config, now, "x", "y", "z")
    today = (now + timedelta(hours=3)).strftime("%m-%d")
    _birthday(store, "x", today)
    _birthday(store, "z", today)
    _birthday(store, "y", "01-01" if today != "01-01" else "01-02")

    shown = mass_segments.preview(store, MARKETER, config=config, amount=50, birthday_today=True, now=now)
    assert (shown.segment, shown.customers, shown.bonuses) == ("birthday", 2, 100)
    job = mass_accruals.create_mass_accrual(store, MARKETER, config=config, job_id="bd-1", amount=50, reason="С днём рождения", birthday_today=True, now=now)
    assert job.definition.customer_ids == ("x", "z") and job.definition.birthday == (now + timedelta(hours=3)).date().isoformat()
    # the same job id for another segment is another job
    with pytest.raises(IdempotencyConflict):
        mass_accruals.create_mass_accrual(store, MARKETER, config=config, job_id="bd-1", amount=50, reason="С днём рождения", customer_ids=["x"], now=now)

    with pytest.raises(ValidationFailed) as empty:
        mass_accruals.create_mass_accrual(store, MARKETER, config=config, job_id="bd-2", amount=50, reason="С днём рождения", birthday_today=True, now=now + timedelta(days=2))
    assert empty.value.code == "segment_empty" and empty.value.message_ru == "В этом сегменте сейчас нет ни одного клиента."
    assert store.read(lambda uow: uow.jobs.get("bd-2")) is None  # nothing written


def test_the_preview_counts_who_would_be_skipped_and_whether_it_waits_writing_nothing(store, config, now):
    _register(store, config, now, "ok1", "ok2", "blocked")
    _register(store, config, now, "wholesale", group="b2b")
    adjustments.set_blocked(store, OWNER, customer_id="blocked", blocked=True, reason="fraud", now=now)

    shown = mass_segments.preview(store, MARKETER, config=config, amount=10, customer_ids=["ok1", "ok2", "blocked", "wholesale", "ghost"], now=now)
    assert (shown.customers, shown.creditable, shown.skipped_unknown, shown.skipped_blocked, shown.skipped_excluded) == (5, 2, 1, 1, 1)
    big = mass_segments.preview(store, MARKETER, config=config, amount=2000, group="b2c", now=now)
    assert (big.customers, big.bonuses, big.needs_approval, big.threshold) == (3, 6000, True, 5000)
    assert store.read(lambda uow: uow.jobs.recent(limit=10)) == []
    assert store.read(lambda uow: uow.maker_windows.get(MARKETER.email)) is None


def test_a_customer_list_file_names_customers_by_id_or_phone_and_each_bad_line_says_why(store, config, now):
    _register(store, config, now, "anna", "boris")
    store.run(lambda uow: uow.identities.create(Identity(kind=IdentityKind.PHONE, value="+79001234567", customer_id="boris", created_at=now)))
    data = "Телефон\nanna\n8 (900) 123-45-67\n+79007654321\nнет такого!\n\nanna\n".encode()

    listed = mass_segments.read_customer_list(store, MARKETER, data=data)
    assert listed.customer_ids == ["anna", "boris"]
    assert listed.rows == 5 and listed.error_count == 3
    assert [(e.row, e.code) for e in listed.errors] == [(4, "unknown_phone"), (5, "not_a_customer"), (7, "duplicate")]
    assert listed.errors[0].message_ru == "Строка 4: клиента с телефоном +79007654321 нет."
    assert listed.errors[1].message_ru == "Строка 5: «нет такого!» — не номер телефона и не идентификатор клиента."
    assert listed.errors[2].message_ru == "Строка 7: этот клиент уже есть в строке 2."


def test_the_latest_jobs_come_newest_first(store, config, now):
    _register(store, config, now, "p", "q")
    for n in range(3):
        mass_accruals.create_mass_accrual(store, MARKETER, config=config, job_id=f"job-{n}", amount=5, reason="акция", customer_ids=["p", "q"], now=now + timedelta(minutes=n))
    jobs = mass_segments.recent_jobs(store, MARKETER, limit=2).jobs
    assert [j.job_id for j in jobs] == ["job-2", "job-1"]
    assert jobs[0].definition.customers == 2
