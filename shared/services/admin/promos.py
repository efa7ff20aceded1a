"""Promo codes in the back office: create, switch off, list, and who used a code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.api.admin import PromoCodeResponse, PromoListResponse, PromoUsageResponse
from shared.domain.cart import PromoRule
from shared.domain.errors import NotFound, ValidationFailed
from shared.edge.admin_auth import Admin
from shared.services import promo
from shared.services.admin import _foreign
from shared.services.admin import audit as _audit
from shared.services.ports import Store, UnitOfWork

SUMMARY_FIELDS = ("code", "kind", "active", "uses", "total_limit", "per_customer_limit", "partner_id", "created_at", "last_used_at")


def create_promo(store: Store, admin: Admin, *, rule: PromoRule, total_limit: int | None, per_customer_limit: int | None, now: datetime) -> PromoCodeResponse:
    admin.require("promo.create")

    def record(uow: UnitOfWork, doc: dict[str, Any]) -> None:  # only when created: a replay is no new action
        params = {"rule": doc["rule"], "total_limit": total_limit, "per_customer_limit": per_customer_limit}
        _audit.audit_in(uow, admin, action="promo.create", target=f"promo:{doc['code']}", params=params, result={"code": doc["code"]}, now=now)

    return PromoCodeResponse.model_validate(promo.create_code(store, rule=rule, now=now, total_limit=total_limit, per_customer_limit=per_customer_limit, then=record))


def _promo_code(code: str) -> str:
    canonical = promo.normalize(code)
    if not promo.is_well_formed(canonical):
        raise ValidationFailed("not a promo code", field="code")
    return canonical


def deactivate_promo(store: Store, admin: Admin, *, code: str, now: datetime) -> PromoCodeResponse:
    """Switch a code off: no new order can use it (orders placed with it keep their rule)."""
    admin.require("promo.deactivate")
    canonical = _promo_code(code)

    def unit(uow: UnitOfWork) -> dict[str, Any]:
        doc = _foreign.promo_code_in(uow, canonical)
        if doc is None:
            raise NotFound("unknown promo code", code=canonical)
        if not doc.get("active", False):
            return doc
        updated = {**doc, "active": False, "deactivated_at": now, "deactivated_by": admin.email}
        _foreign.put_promo_code(uow, canonical, updated)
        _audit.audit_in(uow, admin, action="promo.deactivate", target=f"promo:{canonical}", params={}, result={"active": False, "uses": doc.get("uses", 0)}, now=now)
        return updated

    return PromoCodeResponse.model_validate(store.run(unit))


def promo_usage(store: Store, admin: Admin, *, code: str, cursor: str | None = None, limit: int = 100) -> PromoUsageResponse:
    """A code's figures and a page of the customers who used it (orders per customer)."""
    admin.require("promo.read")
    canonical = _promo_code(code)
    doc = _foreign.promo_code(store, canonical)
    if doc is None:
        raise NotFound("unknown promo code", code=canonical)
    rows = _foreign.promo_customers_page(store, canonical, limit=limit, start_after=cursor)
    uses = int(doc.get("uses", 0))
    total_limit = doc.get("total_limit")
    return PromoUsageResponse.model_validate(
        {
            "code": canonical,
            "kind": doc.get("kind"),
            "active": bool(doc.get("active")),
            "rule": doc.get("rule"),
            "partner_id": doc.get("partner_id"),
            "uses": uses,
            "total_limit": total_limit,
            "remaining": None if total_limit is None else max(0, total_limit - uses),
            "per_customer_limit": doc.get("per_customer_limit"),
            "created_at": doc.get("created_at"),
            "last_used_at": doc.get("last_used_at"),
            "customers": [{"customer_id": data["customer_id"], "uses": len(data.get("orders", [])), "orders": list(data.get("orders", []))} for data in rows],
            "next_cursor": rows[-1]["customer_id"] if len(rows) == limit else None,
        }
    )


def list_promos(store: Store, admin: Admin, *, cursor: str | None = None, limit: int = 100) -> PromoListResponse:
    admin.require("promo.read")
    rows = _foreign.promo_codes_page(store, limit=limit, start_after=cursor)
    codes = [{k: data.get(k) for k in SUMMARY_FIELDS} for data in rows]
    return PromoListResponse.model_validate({"codes": codes, "next_cursor": rows[-1]["code"] if len(rows) == limit else None})
