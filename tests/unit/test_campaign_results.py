"""The change in percent of a campaign's results and the console's section for campaigns."""

from __future__ import annotations

from console.app import SECTIONS
from shared.edge.admin_auth import PERMISSIONS
from shared.services.admin.campaign_results import change_percent


def test_the_change_in_percent_to_one_decimal_and_none_without_a_baseline() -> None:
    assert change_percent(570000, 260000) == 119.2
    assert change_percent(570, 130) == 338.5
    assert change_percent(1, 3) == -66.7
    assert change_percent(500, 500) == 0.0
    assert change_percent(5, 0) is None
    assert change_percent(0, 0) is None


def test_campaigns_are_a_section_for_the_roles_that_read_them() -> None:
    assert ("/campaigns", "Кампании", "campaign.read") in SECTIONS
    assert set(PERMISSIONS["campaign.read"]) == {"admin", "marketer", "accountant"}
