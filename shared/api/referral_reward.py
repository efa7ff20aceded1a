"""referral_reward: credit a partner's reward on a delivered order again (an idempotent retry path)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.api import Endpoint
from shared.domain.ids import ExternalId


class CreditRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: ExternalId


class CreditResult(BaseModel):
    order_id: str
    partner_id: str | None = Field(default=None, description="None: the order has no referring partner.")
    reward: int = Field(description="Bonuses credited to the partner for this order (now or before).")


ENDPOINTS = [
    Endpoint("referral_reward", "POST", "/credit", "(Re)credit the partner reward of a delivered order", CreditRequest, CreditResult, auth="scheduler", errors=(400, 401, 403, 404, 409)),
]
