"""Campaigns: time-boxed raised accruals for some lines and some customers.

A :class:`Campaign` runs from ``active_from`` (inclusive) to ``active_to``
(exclusive). It raises a line's accrual rate by ``bonus_percent`` percentage
points (raised cashback) and/or multiplies it by ``multiplier_percent`` / 100
(200: double points). It applies to the lines in its scope (product groups,
brands, SKUs; all empty: every line) of customers in its audience
(:class:`shared.domain.segments.Segment`).

The combination rule, the one place it is decided (:func:`best_campaign`):
for each line, of the campaigns active at ``now``, in scope and whose audience
matches, the single one giving the most points applies (a tie: the first in the
program's list); campaigns never stack with each other. The line's rate is then

    (base rate + bonus_percent) × multiplier_percent / 100 × permanent coefficients

where the base rate is the level's accrual percent (or the promo's fixed
accrual percent). Points are still computed exactly and floored once per
order (:mod:`shared.domain.money`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.domain.segments import CustomerFacts, Segment, matches

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Campaign(_Model):
    code: Code
    name: str = Field(min_length=1, max_length=120, description="Russian name the shop's customers see.")
    active_from: datetime
    active_to: datetime
    multiplier_percent: int = Field(default=100, ge=100, le=10_000, description="Accrual rate × this / 100: 200 is double points.")
    bonus_percent: Annotated[Decimal, Field(ge=0, le=100, max_digits=6, decimal_places=3)] = Field(
        default=Decimal(0), description="Percentage points added to the line's accrual rate (raised cashback)."
    )
    product_groups: tuple[Code, ...] = ()
    brands: tuple[Code, ...] = ()
    skus: tuple[str, ...] = ()
    audience: Segment = Segment()

    @model_validator(mode="after")
    def _shape(self) -> Campaign:
        if self.active_from.tzinfo is None or self.active_to.tzinfo is None:
            raise ValueError("active_from and active_to must carry a time zone")
        if self.active_from >= self.active_to:
            raise ValueError("active_from must be before active_to")
        if self.multiplier_percent == 100 and self.bonus_percent == 0:
            raise ValueError("a campaign needs a multiplier_percent above 100 or a positive bonus_percent")
        return self

    def active(self, now: datetime) -> bool:
        return self.active_from <= now < self.active_to

    def status(self, now: datetime) -> str:
        """``upcoming``, ``running`` or ``ended`` at ``now``."""
        if now < self.active_from:
            return "upcoming"
        return "running" if now < self.active_to else "ended"

    def in_scope(self, *, product_group: str | None, brand: str | None, sku: str) -> bool:
        if not (self.product_groups or self.brands or self.skus):
            return True
        return (product_group in self.product_groups) or (brand in self.brands) or (bool(sku) and sku in self.skus)

    def rate(self, base: Fraction) -> Fraction:
        """The raised rate (a fraction, 0.05 for 5 %) for a line whose rate is ``base``."""
        return (base + Fraction(self.bonus_percent) / 100) * Fraction(self.multiplier_percent, 100)


def best_campaign(
    campaigns: tuple[Campaign, ...], *, product_group: str | None, brand: str | None, sku: str, facts: CustomerFacts | None, base: Fraction, now: datetime
) -> Campaign | None:
    """The one campaign that applies to a line (see the module's combination rule), or ``None``."""
    best: Campaign | None = None
    for campaign in campaigns:
        if not (campaign.active(now) and campaign.in_scope(product_group=product_group, brand=brand, sku=sku) and matches(campaign.audience, facts, now)):
            continue
        if best is None or campaign.rate(base) > best.rate(base):
            best = campaign
    return best
