"""A campaign's results against the average of periods of its length before it (``GET /campaigns/{code}/results``)."""

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
    before: int = Field(description="The average per baseline period (a period is the window's length), rounded half up")
    before_total: int = Field(description="The total over all the baseline's periods")
    change_percent: float | None = Field(
        description="(current − the exact average) × 100 / the exact average, one decimal: (current × periods − before_total) × 100 / before_total; null when before_total is 0"
    )


class CampaignResults(_Out):
    campaign: CampaignSummary
    as_of: datetime
    window: WindowFigures = Field(description="[active_from, min(active_to, as_of))")
    baseline: WindowFigures = Field(description="The periods × period_seconds just before active_from")
    period_seconds: int = Field(description="The period: the window's length (the elapsed part of a running campaign)")
    periods: int = Field(description="Periods of that length in the baseline: as many as cover four weeks (at least 1; 0 for an empty window)")
    campaign_earned: int = Field(description="Bonuses accrued on the lines the campaign raised (paid orders placed in the window)")
    orders: MetricChange = Field(description="Paid orders placed in the window")
    revenue: MetricChange = Field(description="Money paid for them, kopecks")
    spent: MetricChange = Field(description="Bonuses that paid for them")
    earned: MetricChange = Field(description="Bonuses they earned, all lines")
    complete: bool = Field(description="False when a window held more orders than one report reads")
