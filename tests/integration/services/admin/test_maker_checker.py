"""Maker-checker that cannot be split or bypassed (on both stores).

A maker's manual adjustments count over a rolling 24 hours, per customer and
in total, with the mass accruals they started: once they would pass the
program's thresholds (``approvals`` in the config) the next one waits for a
second person, whatever its size and however it is split. A mass accrual
whose amount × customers passes its threshold waits, and never credits more
than was checked. A program change that touches money waits, and the checker
sees exactly what it changes. An approval shows the checker the effect.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from shared.domain.config import ProgramConfig
from shared.domain.errors import Forbidden, InvalidState, Retryable
from shared.edge.admin_auth import Admin
from shared.presets import preset_data
from shared.services import program, registration
from shared.services.admin import adjustments, approvals, mass_accruals
from shared.services.admin import program as admin_program
from shared.services.ledger import balances, postings
from tests.reliability.audit import assert_ledgers_sound

MARKETER = Admin("marketer@shop.example", ("marketer",))
MARKETER2 = Admin("marketer2@shop.example", ("marketer",))
OWNER = Admin("owner@shop.example", ("admin",))


def _config(**approvals_) -> ProgramConfig:
    data = preset_data("biomiq")
    data["groups"] = [{"code": "b2c", "name": "Розница"}, {"code": "vip", "name": "VIP"}]
    if approvals_:
        data["approvals"] = approvals_
    return ProgramConfig.model_validate(data)


@pytest.fixture
def config() -> ProgramConfig:
    """Biomiq with a VIP group and the default thresholds: 5 000 per customer, 20 000 in all, 5 000 per mass accrual."""
    return _config()


def _register(store, config, now, *customer_ids: str) -> None:
    for customer_id in customer_ids:
        registration.register_customer(store, config=config, customer_id=customer_id, now=now)


def _adjust(store, admin, config, customer_id, amount, key, now):
    return adjustments.adjust(store, admin, config=config, customer_id=customer_id, amount=amount, reason="компенсация", key=key, now=now)


def test_the_default_thresholds_are_program_config():
    limits = ProgramConfig.model_validate(preset_data("biomiq")).approvals
    assert (limits.adjustments_per_customer, limits.adjustments_total, limits.mass_accrual_total) == (5000, 20000, 5000)


# --- adjustments ----------------------------------------------------------------------------------


def test_adjustments_split_for_one_customer_wait_for_approval_once_they_pass_the_threshold(store, config, now):
    _register(store, config, now, "anna")
    answers = [_adjust(store, MARKETER, config, "anna", 5000, f"split-{n}", now + timedelta(minutes=n)) for n in range(4)]

    assert [a.status for a in answers] == ["done", "pending_approval", "pending_approval", "pending_approval"]
    assert balances(store, "anna", now + timedelta(hours=1)).total == 5500  # 500 welcome + the one that fitted
    pending = approvals.get_approval(store, MARKETER2, answers[1].approval_id or "")
    assert pending.params["customer_id"] == "anna" and pending.params["amount"] == 5000
    effect = pending.params["effect"]
    assert (effect["to_customer_24h"], effect["to_customer_after"], effect["per_customer_threshold"]) == (5000, 10000, 5000)
    assert effect["passed"] == ["per_customer"]
    assert _adjust(store, MARKETER, config, "anna", 5000, "split-1", now + timedelta(minutes=9)).approval_id == answers[1].approval_id  # a replay
    assert_ledgers_sound(store, customers=["anna"])


def test_debits_count_like_credits(store, config, now):
    _register(store, config, now, "anna")
    assert _adjust(store, MARKETER, config, "anna", 3000, "up", now).status == "done"
    assert _adjust(store, MARKETER, config, "anna", -2000, "down", now + timedelta(minutes=1)).status == "done"  # 5 000 moved
    assert _adjust(store, MARKETER, config, "anna", 1, "up-again", now + timedelta(minutes=2)).status == "pending_approval"
    assert balances(store, "anna", now + timedelta(minutes=3)).total == 1500
    assert_ledgers_sound(store, customers=["anna"])


def test_concurrent_adjustments_cannot_slip_past_the_threshold_together(store, config, now):
    _register(store, config, now, "anna")

    def attempt(n: int) -> str:
        for _ in range(20):
            try:
                return _adjust(store, MARKETER, config, "anna", 5000, f"race-{n}", now).status
            except Retryable:
                continue
        return "contended"

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(attempt, range(4)))
    assert outcomes == ["done", "pending_approval", "pending_approval", "pending_approval"]
    assert balances(store, "anna", now).total == 5500
    assert_ledgers_sound(store, customers=["anna"])


def test_a_makers_adjustments_to_many_customers_count_in_total_over_a_rolling_day(store, config, now):
    customers = [f"c{n}" for n in range(6)]
    _register(store, config, now, *customers)
    done = [_adjust(store, MARKETER, config, c, 4000, f"t-{c}", now + timedelta(hours=n)).status for n, c in enumerate(customers[:5])]
    assert done == ["done"] * 5  # 20 000 in all: at the threshold, not past it

    sixth = _adjust(store, MARKETER, config, "c5", 4000, "t-c5", now + timedelta(hours=5))
    assert sixth.status == "pending_approval"
    effect = approvals.get_approval(store, OWNER, sixth.approval_id or "").params["effect"]
    assert (effect["total_24h"], effect["total_after"], effect["passed"]) == (20000, 24000, ["total"])
    other = _adjust(store, MARKETER2, config, "c5", 4000, "other-maker", now + timedelta(hours=5))
    assert other.status == "done"  # the window is the maker's

    # 24 hours after the first one it has left the window: 16 000 + 4 000 fit again
    later = _adjust(store, MARKETER, config, "c5", 4000, "t-c5-later", now + timedelta(hours=24, minutes=1))
    assert later.status == "done"
    assert_ledgers_sound(store, customers=customers)


def test_the_thresholds_come_from_the_program_config(store, now):
    strict = _config(adjustments_per_customer=100, adjustments_total=1000, mass_accrual_total=100)
    _register(store, strict, now, "anna")
    assert _adjust(store, MARKETER, strict, "anna", 100, "a", now).status == "done"
    assert _adjust(store, MARKETER, strict, "anna", 1, "b", now).status == "pending_approval"


def test_an_approved_adjustment_runs_once_by_another_person_and_adds_nothing_to_their_window(store, config, now):
    _register(store, config, now, "anna", "boris")
    pending = _adjust(store, MARKETER, config, "anna", 6000, "big", now)
    assert pending.status == "pending_approval" and pending.threshold == 5000
    with pytest.raises(Forbidden):
        approvals.approve(store, MARKETER, pending.approval_id or "", config=config, now=now)
    executed = approvals.approve(store, MARKETER2, pending.approval_id or "", config=config, now=now)
    assert executed.status == "executed"
    assert approvals.approve(store, OWNER, pending.approval_id or "", config=config, now=now).replayed is True
    assert balances(store, "anna", now).total == 6500
    replay = _adjust(store, MARKETER, config, "anna", 6000, "big", now + timedelta(minutes=1))
    assert (replay.status, replay.approval_id, replay.replayed) == ("done", pending.approval_id, True)
    assert _adjust(store, MARKETER, config, "boris", 5000, "small", now).status == "done"  # the approved 6 000 were checked
    assert [p.key for p in postings(store, "anna") if p.kind == "adjust"] == [f"approval:{pending.approval_id}"]
    assert_ledgers_sound(store, customers=["anna", "boris"])


# --- mass accruals -------------------------------------------------------------------------------------


def _job(store, admin, config, now, job_id, amount, *, customer_ids=None, group=None):
    return mass_accruals.create_mass_accrual(store, admin, config=config, job_id=job_id, amount=amount, reason="акция", customer_ids=customer_ids, group=group, now=now)


def test_a_mass_accrual_of_a_million_to_one_customer_waits_for_approval(store, config, now):
    _register(store, config, now, "anna")
    job = _job(store, MARKETER, config, now, "million", 1_000_000, customer_ids=["anna"])

    assert job.status.value == "pending_approval" and job.approval_id is not None
    with pytest.raises(InvalidState):
        mass_accruals.run_mass_accrual(store, MARKETER, config=config, job_id="million", now=now)
    assert balances(store, "anna", now).total == 500
    shown = approvals.get_approval(store, OWNER, job.approval_id)
    assert (shown.action, shown.target, shown.maker) == ("mass_accrual.run", "job:million", "marketer@shop.example")
    assert (shown.params["amount"], shown.params["customers"], shown.params["total"], shown.params["customer_ids"]) == (1_000_000, 1, 1_000_000, ["anna"])
    with pytest.raises(Forbidden):
        approvals.approve(store, MARKETER, job.approval_id, config=config, now=now)

    assert approvals.approve(store, MARKETER2, job.approval_id, config=config, now=now).status == "executed"
    ran = mass_accruals.run_mass_accrual(store, MARKETER, config=config, job_id="million", now=now)
    assert (ran.status, ran.credited, ran.bonuses) == ("complete", 1, 1_000_000)
    assert mass_accruals.run_mass_accrual(store, MARKETER, config=config, job_id="million", now=now).bonuses == 1_000_000
    assert balances(store, "anna", now).total == 1_000_500
    assert_ledgers_sound(store, customers=["anna"])


def test_a_rejected_mass_accrual_never_runs(store, config, now):
    _register(store, config, now, "anna", "boris")
    job = _job(store, MARKETER, config, now, "too-much", 3000, customer_ids=["anna", "boris"])
    assert job.status.value == "pending_approval"
    approvals.reject(store, MARKETER2, job.approval_id or "", reason="слишком много", now=now)
    with pytest.raises(InvalidState):
        mass_accruals.run_mass_accrual(store, MARKETER, config=config, job_id="too-much", now=now)
    assert mass_accruals.get_job(store, MARKETER, "too-much").status == "rejected"
    assert balances(store, "anna", now).total == balances(store, "boris", now).total == 500


def test_a_small_mass_accrual_runs_at_once_and_counts_in_the_makers_window(store, config, now):
    _register(store, config, now, "anna", "boris")
    job = _job(store, MARKETER, config, now, "small", 2500, customer_ids=["anna", "boris"])
    assert job.status.value == "running"
    assert mass_accruals.run_mass_accrual(store, MARKETER, config=config, job_id="small", now=now).credited == 2
    # 2 500 to Anna by this maker already: another 2 600 by hand passes 5 000 for her
    assert _adjust(store, MARKETER, config, "anna", 2600, "more", now).status == "pending_approval"
    assert _adjust(store, MARKETER, config, "anna", 2500, "fits", now).status == "done"
    assert_ledgers_sound(store, customers=["anna", "boris"])


def test_a_group_accrual_never_credits_more_than_was_checked(store, config, now):
    _register(store, config, now, "v1", "v2", "v3", "v4", "v5")
    for customer_id in ("v1", "v2"):
        adjustments.change_group(store, OWNER, config=config, customer_id=customer_id, group="vip", reason="VIP", key=f"g-{customer_id}", now=now)
    job = _job(store, MARKETER, config, now, "vip-gift", 2000, group="vip")
    assert (job.status.value, job.budget) == ("running", 4000)  # 2 members × 2 000, within 5 000
    for customer_id in ("v3", "v4", "v5"):  # moved into the group after the check
        adjustments.change_group(store, OWNER, config=config, customer_id=customer_id, group="vip", reason="VIP", key=f"g-{customer_id}", now=now)

    ran = mass_accruals.run_mass_accrual(store, MARKETER, config=config, job_id="vip-gift", now=now)
    assert (ran.status, ran.credited, ran.bonuses) == ("complete", 2, 4000)
    assert sum(balances(store, c, now).total for c in ("v1", "v2", "v3", "v4", "v5")) == 5 * 500 + 4000
    assert_ledgers_sound(store, customers=["v1", "v2", "v3", "v4", "v5"])


# --- program changes ------------------------------------------------------------------------------------


@pytest.fixture
def published(store, now):
    return program.publish(store, raw=preset_data("biomiq"), author="test", reason="fixture", effective_from=now, now=now)


def _replace(store, admin, raw, now, reason="изменение программы"):
    key = hashlib.sha256(json.dumps([raw, reason], sort_keys=True, default=str).encode()).hexdigest()[:24]  # one key per request, as the back office sends
    return admin_program.replace_config(store, admin, program_name="biomiq", raw=raw, reason=reason, effective_from=None, key=key, now=now)


def test_a_program_change_that_touches_money_waits_with_its_exact_diff(store, published, now):
    raw = preset_data("biomiq")
    raw["welcome"]["standard"] = 5000
    raw["levels"][1]["accrual_percent"] = 25

    answer = _replace(store, MARKETER, raw, now + timedelta(minutes=1))

    assert (answer.status, answer.version) == ("pending_approval", None)
    assert program.in_force(store, "biomiq", now + timedelta(minutes=2)).config.welcome.standard == 500
    shown = approvals.get_approval(store, OWNER, answer.approval_id or "")
    assert (shown.action, shown.params["base_version"]) == ("config.replace", 1)
    assert {(c["path"], c["before"], c["after"]) for c in shown.params["changes"]} == {("welcome.standard", 500, 5000), ("levels.level2.accrual_percent", "10", "25")}
    with pytest.raises(Forbidden):
        approvals.approve(store, MARKETER, answer.approval_id or "", config=published.config, now=now + timedelta(minutes=2))

    approvals.approve(store, MARKETER2, answer.approval_id or "", config=published.config, now=now + timedelta(minutes=3))
    in_force = program.in_force(store, "biomiq", now + timedelta(minutes=4))
    assert (in_force.version, in_force.author, in_force.config.welcome.standard) == (2, "marketer@shop.example", 5000)


@pytest.mark.parametrize(
    "change",
    [
        lambda raw: raw["levels"][0].update(max_redeem_percent=90),  # a cap
        lambda raw: raw.update(lot_lifetime_days=3000),
        lambda raw: raw.update(hold_days=0),
        lambda raw: raw["referral"]["schedule"].append({"from_paying_referees": 10, "percent": 50}),
        lambda raw: raw.update(coefficients={"product_groups": {"serums": "3"}}),
        lambda raw: raw["earning_rules"][0].update(amount=100000),
        lambda raw: raw.update(approvals={"adjustments_per_customer": 1000000}),  # the thresholds themselves
    ],
)
def test_every_change_that_touches_money_waits(store, published, now, change):
    raw = preset_data("biomiq")
    change(raw)
    assert _replace(store, MARKETER, raw, now).status == "pending_approval"
    assert program.head(store, "biomiq").latest.version == 1


def test_a_change_of_names_only_is_published_at_once(store, published, now):
    raw = preset_data("biomiq")
    raw["name"] = "Biomiq — клуб"
    raw["levels"][0]["name"] = "Старт"
    answer = _replace(store, MARKETER, raw, now)
    assert (answer.status, answer.version, answer.approval_id) == ("published", 2, None)


def test_an_approval_of_a_program_change_fails_when_the_program_changed_since(store, published, now):
    first, second = preset_data("biomiq"), preset_data("biomiq")
    first["hold_days"], second["hold_days"] = 7, 21
    one = _replace(store, MARKETER, first, now, reason="короче")
    two = _replace(store, OWNER, second, now, reason="длиннее")
    approvals.approve(store, MARKETER2, one.approval_id or "", config=published.config, now=now)

    with pytest.raises(InvalidState):
        approvals.approve(store, MARKETER2, two.approval_id or "", config=published.config, now=now)  # its diff was against version 1
    assert program.in_force(store, "biomiq", now + timedelta(minutes=1)).config.hold_days == 7
