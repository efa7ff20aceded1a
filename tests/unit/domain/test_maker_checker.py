"""Maker-checker without I/O: the maker's rolling 24 hours against the thresholds, and the config diff."""

from __future__ import annotations

from datetime import timedelta

from shared.domain.config import Approvals, ProgramConfig
from shared.domain.config_diff import config_changes, touches_money
from shared.domain.maker_checker import MAX_CHANGES, DirectChange, MakerWindow, Passed, effect
from shared.presets import preset_data

LIMITS = Approvals(adjustments_per_customer=5000, adjustments_total=20000, mass_accrual_total=5000)


def _window(now, *changes: tuple[int, int, tuple[str, ...] | None]) -> MakerWindow:
    window = MakerWindow("olga@shop.example")
    for n, (each, total, customers) in enumerate(changes):
        window = window.with_change(DirectChange(at=now + timedelta(minutes=n), ref=f"c{n}", each=each, total=total, customers=customers))
    return window


def test_a_change_that_reaches_a_threshold_exactly_is_done_one_past_it_waits(now):
    window = _window(now, (4000, 4000, ("anna",)))
    assert not effect(LIMITS, window, each=1000, customers=("anna",), count=1, now=now).needs_approval
    seen = effect(LIMITS, window, each=-1001, customers=("anna",), count=1, now=now)  # a debit counts like a credit
    assert seen.passed == (Passed.PER_CUSTOMER,) and seen.threshold == 5000
    assert seen.view()["to_customer_after"] == 5001


def test_a_mass_accrual_counts_per_listed_customer_and_in_total(now):
    window = _window(now, (2500, 5000, ("anna", "boris")), (10, 15000, None))  # a list job, then a group job
    assert window.to_customer("anna", now) == 2500 and window.total(now) == 20000
    assert effect(LIMITS, window, each=1, customers=("vera",), count=1, now=now).passed == (Passed.TOTAL,)
    big = effect(LIMITS, MakerWindow("ivan@shop.example"), each=1_000_000, customers=("anna",), count=1, now=now, mass_accrual=True)
    assert big.passed == (Passed.PER_CUSTOMER, Passed.TOTAL, Passed.MASS_ACCRUAL) and big.total == 1_000_000


def test_the_window_rolls_over_24_hours(now):
    window = _window(now, (5000, 5000, ("anna",)))
    assert effect(LIMITS, window, each=1, customers=("anna",), count=1, now=now + timedelta(hours=23, minutes=59)).needs_approval
    assert not effect(LIMITS, window, each=5000, customers=("anna",), count=1, now=now + timedelta(hours=24, minutes=1)).needs_approval


def test_too_many_changes_in_a_day_wait_whatever_their_size(now):
    window = MakerWindow("olga@shop.example", tuple(DirectChange(at=now, ref=f"c{n}", each=0, total=0, customers=("anna",)) for n in range(MAX_CHANGES)))
    assert effect(LIMITS, window, each=1, customers=("boris",), count=1, now=now).passed == (Passed.COUNT,)


def test_only_names_and_privileges_are_changes_that_move_no_money():
    before = ProgramConfig.model_validate(preset_data("biomiq"))
    raw = preset_data("biomiq")
    raw["name"] = "Другое имя"
    raw["levels"][0]["name"] = "Старт"
    raw["levels"][0]["privileges"] = ["Подарок"]
    renamed = ProgramConfig.model_validate(raw)
    assert [c.path for c in config_changes(before, renamed)] == ["name", "levels.level1.name", "levels.level1.privileges"]
    assert not touches_money(config_changes(before, renamed))

    raw["welcome"]["invited"] = 2000
    raw["earning_rules"].append({"code": "first", "event": "first_order", "amount": 100})
    changed = config_changes(before, ProgramConfig.model_validate(raw))
    money = {c.path: (c.before, c.after) for c in changed if c.touches_money}
    assert set(money) == {"welcome.invited", "earning_rules.first"} and touches_money(changed)
    assert money["welcome.invited"] == (1000, 2000)
    added_before, added_after = money["earning_rules.first"]
    assert added_before is None and (added_after["event"], added_after["amount"]) == ("first_order", 100)
