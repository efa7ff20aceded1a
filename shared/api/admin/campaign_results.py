"""A campaign's results against the weeks before it (``GET /campaigns/{code}/results``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from shared.api.admin.common import _Out


class CampaignSummary(_Out):
    code: str
    name: str
    active_from: datetime
    active_to: datetime
    multiplier_percent: int = Field(description="The line's rate × this / 100")
    bonus_percent: Decimal = Field(description="Percentage points added to the line's rate")
    status: str = Field(description="upcoming, running or ended at as_of")


class WindowFigures(_Out):
    starts: datetime = Field(description="Inclusive")
    ends: datetime = Field(description="Exclusive")


class MetricChange(_Out):
    current: int = Field(description="In the campaign's window")
    before: int = Field(description="In the weeks just before it")
    change_percent: float | None = Field(description="(current - before) × 100 / before, one decimal; null when before is 0")


class CampaignResults(_Out):
    campaign: CampaignSummary
    as_of: datetime
    window: WindowFigures = Field(description="[active_from, min(active_to, as_of))")
    baseline: WindowFigures = Field(description="The weeks × 7 days just before active_from")
    weeks: int = Field(description="The window's days rounded up to whole weeks (at least 1)")
    campaign_earned: int = Field(description="Bonuses accrued on the lines the campaign raised (paid orders placed in the window)")
    orders: MetricChange = Field(description="Paid orders placed in the window")
    revenue: MetricChange = Field(description="Money paid for them, kopecks")
    spent: MetricChange = Field(description="Bonuses that paid for them")
    earned: MetricChange = Field(description="Bonuses they earned, all lines")
    complete: bool = Field(description="False when a window held more orders than one report reads")
