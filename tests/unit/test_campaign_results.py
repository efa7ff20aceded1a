"""The change in percent of a campaign's results against its baseline's average per period, the
baseline's periods, how the console states a period, and the console's section for campaigns."""

from __future__ import annotations

from datetime import timedelta

from console.app import SECTIONS
from console.pages.campaign_results import per_period, period_ru
from shared.edge.admin_auth import PERMISSIONS
from shared.services.admin.campaign_results import average, baseline_periods, change_percent


def test_the_change_in_percent_to_one_decimal_and_none_without_a_baseline() -> None:
    assert change_percent(570000, 260000) == 119.2
    assert change_percent(570, 130) == 338.5
    assert change_percent(1, 3) == -66.7
    assert change_percent(500, 500) == 0.0
    assert change_percent(5, 0) is None
    assert change_percent(0, 0) is None
    # against the average of ``periods`` periods: 3 orders now, 3 in ten periods before (0.3 a period)
    assert change_percent(3, 3, 10) == 900.0
    assert change_percent(1, 30, 10) == -66.7  # 1 against 3 a period
    assert change_percent(1, 0, 10) is None


def test_the_baseline_holds_as_many_periods_of_the_windows_length_as_cover_four_weeks() -> None:
    assert baseline_periods(timedelta(days=3)) == 10  # 30 days
    assert baseline_periods(timedelta(days=7)) == 4  # exactly four weeks
    assert baseline_periods(timedelta(hours=60)) == 12  # 672 h / 60 h = 11.2
    assert baseline_periods(timedelta(days=90)) == 1  # a long campaign: one period of its length
    assert baseline_periods(timedelta(0)) == 0  # not started: nothing to compare
    assert (average(285, 10), average(285, 12), average(1, 3), average(2, 3), average(0, 0)) == (29, 24, 0, 1, 0)  # half up


def test_the_console_states_a_period_and_an_average_in_russian() -> None:
    assert period_ru(3 * 86400) == "3 дн."
    assert period_ru(73 * 3600) == "3 дн. 1 ч"
    assert period_ru(5 * 3600 + 30 * 60) == "5 ч 30 мин"
    assert period_ru(12 * 60 + 59) == "12 мин"
    assert period_ru(30) == "меньше минуты"
    assert (per_period(3, 10), per_period(2, 3), per_period(0, 0)) == ("0,3", "0,7", "0")


def test_campaigns_are_a_section_for_the_roles_that_read_them() -> None:
    assert ("/campaigns", "Кампании", "campaign.read") in SECTIONS
    assert set(PERMISSIONS["campaign.read"]) == {"admin", "marketer", "accountant"}
