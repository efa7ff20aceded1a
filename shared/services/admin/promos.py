"""Promo codes in the back office: create, switch off, list, and who used a code."""

from __future__ import annotations

from datetime import datetime

from shared.api.admin import PromoCodeResponse, PromoListResponse, PromoSummary, PromoUsageResponse
from shared.domain.cart import PromoRule
from shared.domain.errors import ValidationFailed
from shared.domain.promos import PromoCode
from shared.edge.admin_auth import Admin
from shared.services import promo
from shared.services.admin import audit as _audit
from shared.services.ports import Store, UnitOfWork


def create_promo(store: Store, admin: Admin, *, rule: PromoRule, total_limit: int | None, per_customer_limit: int | None, now: datetime) -> PromoCodeResponse:
    admin.require("promo.create")

    def record(uow: UnitOfWork, code: PromoCode) -> None:  # only when created: a replay is no new action
        params = {"rule": None if code.rule is None else code.rule.model_dump(mode="json"), "total_limit": total_limit, "per_customer_limit": per_customer_limit}
        _audit.audit_in(uow, admin, action="promo.create", target=f"promo:{code.code}", params=params, result={"code": code.code}, now=now)

    return PromoCodeResponse.of(promo.create_discount(store, rule=rule, now=now, total_limit=total_limit, per_customer_limit=per_customer_limit, then=record))


def _promo_code(code: str) -> str:
    canonical = promo.normalize(code)
    if not promo.is_well_formed(canonical):
        raise ValidationFailed("not a promo code", field="code")
    return canonical


def deactivate_promo(store: Store, admin: Admin, *, code: str, now: datetime) -> PromoCodeResponse:
    """Switch a code off: no new order can use it (orders placed with it keep their rule)."""
    admin.require("promo.deactivate")
    canonical = _promo_code(code)

    def record(uow: UnitOfWork, off: PromoCode) -> None:  # only when this call switched it off
        _audit.audit_in(uow, admin, action="promo.deactivate", target=f"promo:{canonical}", params={}, result={"active": False, "uses": off.uses}, now=now)

    return PromoCodeResponse.of(promo.deactivate(store, code=canonical, actor=admin.email, now=now, then=record))


def promo_usage(store: Store, admin: Admin, *, code: str, cursor: str | None = None, limit: int = 100) -> PromoUsageResponse:
    """A code's figures and a page of the customers who used it (orders per customer)."""
    admin.require("promo.read")
    page = promo.usage(store, code=_promo_code(code), cursor=cursor, limit=limit)
    return PromoUsageResponse.of(page.code, page.customers, page.next_cursor)


def list_promos(store: Store, admin: Admin, *, cursor: str | None = None, limit: int = 100) -> PromoListResponse:
    admin.require("promo.read")
    page = promo.codes(store, cursor=cursor, limit=limit)
    return PromoListResponse(codes=[PromoSummary.of(code) for code in page.codes], next_cursor=page.next_cursor)
