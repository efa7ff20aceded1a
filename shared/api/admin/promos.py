"""Promo codes: creation, pages, deactivation and usage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import (
    Field,
)

from shared.api.admin.common import Cursor, _In, _Out
from shared.domain.cart import PromoRule
from shared.domain.promos import PromoCode as StoredPromoCode
from shared.domain.promos import PromoUse

# --- promo codes ----------------------------------------------------------------------


class PromoCreateRequest(_In):
    rule: PromoRule
    total_limit: int | None = Field(default=None, ge=1)
    per_customer_limit: int | None = Field(default=None, ge=1)


def _rule(code: StoredPromoCode) -> dict[str, Any] | None:
    return None if code.rule is None else code.rule.model_dump(mode="json")


class PromoCodeResponse(_Out):
    code: str
    kind: str
    active: bool
    rule: dict[str, Any] | None = None
    partner_id: str | None = None
    total_limit: int | None = None
    per_customer_limit: int | None = None
    uses: int = 0
    created_at: datetime | None = None
    deactivated_at: datetime | None = None
    deactivated_by: str | None = None

    @classmethod
    def of(cls, code: StoredPromoCode) -> PromoCodeResponse:
        return cls(
            code=code.code,
            kind=code.kind.value,
            active=code.active,
            rule=_rule(code),
            partner_id=code.partner_id,
            total_limit=code.total_limit,
            per_customer_limit=code.per_customer_limit,
            uses=code.uses,
            created_at=code.created_at,
            deactivated_at=code.deactivated_at,
            deactivated_by=code.deactivated_by,
        )


class PageRequest(_In):
    cursor: Cursor = None
    limit: int = Field(default=100, ge=1, le=200)


class PromoSummary(_Out):
    code: str
    kind: str | None = None
    active: bool | None = None
    uses: int | None = None
    total_limit: int | None = None
    per_customer_limit: int | None = None
    partner_id: str | None = None
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    rule: dict[str, Any] | None = Field(default=None, description="A discount code's rule (None for a partner's code).")

    @classmethod
    def of(cls, code: StoredPromoCode) -> PromoSummary:
        return cls(
            code=code.code,
            kind=code.kind.value,
            rule=_rule(code),
            active=code.active,
            uses=code.uses,
            total_limit=code.total_limit,
            per_customer_limit=code.per_customer_limit,
            partner_id=code.partner_id,
            created_at=code.created_at,
            last_used_at=code.last_used_at,
        )


class PromoListResponse(_Out):
    codes: list[PromoSummary]
    next_cursor: str | None


class PromoCustomerUse(_Out):
    customer_id: str
    uses: int
    orders: list[str]

    @classmethod
    def of(cls, use: PromoUse) -> PromoCustomerUse:
        return cls(customer_id=use.customer_id, uses=use.count, orders=list(use.orders))


class PromoUsageResponse(_Out):
    code: str
    kind: str | None
    active: bool
    rule: dict[str, Any] | None
    partner_id: str | None
    uses: int
    total_limit: int | None
    remaining: int | None
    per_customer_limit: int | None
    created_at: datetime | None
    last_used_at: datetime | None
    customers: list[PromoCustomerUse] = Field(description="A page of the customers who used the code, in id order.")
    next_cursor: str | None

    @classmethod
    def of(cls, code: StoredPromoCode, uses: list[PromoUse], next_cursor: str | None) -> PromoUsageResponse:
        return cls(
            code=code.code,
            kind=code.kind.value,
            active=code.active,
            rule=_rule(code),
            partner_id=code.partner_id,
            uses=code.uses,
            total_limit=code.total_limit,
            remaining=code.remaining,
            per_customer_limit=code.per_customer_limit,
            created_at=code.created_at,
            last_used_at=code.last_used_at,
            customers=[PromoCustomerUse.of(use) for use in uses],
            next_cursor=next_cursor,
        )


