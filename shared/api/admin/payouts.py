"""Call-centre orders, a manager's "delivered", orders flagged for a manager, and partner payouts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import (
    Field,
)

from shared.api.admin.common import Cursor, CustomerId, IdCursor, Key, Reason, UtcDatetime, _In, _Out
from shared.api.cart_quote import Bonuses, CartLines, PromoCode
from shared.api.checkout import NewOrderId
from shared.domain.payouts import PayoutRequest

# --- orders and payouts -------------------------------------------------------------------


class CallCentreOrderRequest(_In):
    customer_id: CustomerId
    order_id: NewOrderId = Field(description="The idempotency key of the order ('tilda-' ids are reserved).")
    lines: CartLines
    bonuses: Bonuses = 0
    promo_code: PromoCode = None


class CallCentreOrderResponse(_Out):
    order_id: str
    customer_id: str
    status: str
    source: str
    bonuses_requested: int
    bonuses_reserved: int
    discount: int = 0
    money_to_pay: int
    points_to_earn: int = 0
    promo_code: str | None = None
    quote_fingerprint: str


class FlaggedOrdersRequest(_In):
    cursor: Cursor = None
    limit: int = Field(default=50, ge=1, le=200)


class FlaggedOrderView(_Out):
    """An order a payment could not settle: why, for a manager (nothing was spent or earned by that payment)."""

    order_id: str
    customer_id: str
    status: str
    source: str
    money_to_pay: int
    bonuses_reserved: int | None = None
    reason: str = Field(description="Machine-readable: order_token_invalid, order_token_expired, discount_mismatch, cart_mismatch, amount_mismatch, payment_not_found, payment_used …")
    message_ru: str
    payment_id: str | None = None
    details: dict[str, Any] | None = None
    flagged_at: datetime


class FlaggedOrdersResponse(_Out):
    orders: list[FlaggedOrderView]
    next_cursor: str | None


class ManualDeliveryRequest(_In):
    reason: Reason = Field(description="Why the order counts as delivered (picked up, handed over by the shop's courier …); kept in the audit log.")
    delivered_at: UtcDatetime | None = Field(default=None, description="When the customer got it (default: now); not before the payment, not in the future.")


class ManualDeliveryResponse(_Out):
    order_id: str
    status: str
    delivered_at: datetime | None = None
    applied: bool = Field(description="False when the order was delivered (or moved on) before: nothing changed, nothing audited.")


class PayoutApproveRequest(_In):
    reason: str = Field(default="", max_length=500)
    idempotency_key: Key | None = Field(default=None, description="Default: the payout request id.")


class PayoutRejectRequest(_In):
    reason: Reason


class PayoutSearchRequest(_In):
    status: Literal["requested", "approved", "rejected", "paid", "canceled"] = "requested"
    cursor: IdCursor = None
    limit: int = Field(default=50, ge=1, le=200)


class PayoutView(_Out):
    request_id: str
    customer_id: str
    amount: int = Field(description="Bonuses")
    method: str
    details: str = Field(description="The destination, masked (the full one: POST /payouts/{request_id}/destination).")
    status: str
    created_at: datetime
    updated_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    paid_by: str | None = None
    paid_at: datetime | None = None
    replayed: bool | None = Field(default=None, description="The same decision was taken before: nothing changed now.")

    @classmethod
    def of(cls, request: PayoutRequest, *, replayed: bool | None = None) -> PayoutView:
        return cls(
            request_id=request.request_id,
            customer_id=request.customer_id,
            amount=request.amount,
            method=request.method.value,
            details=request.details,
            status=request.status.value,
            created_at=request.created_at,
            updated_at=request.updated_at,
            decided_by=request.decided_by,
            decided_at=request.decided_at,
            reason=request.reason,
            paid_by=request.paid_by,
            paid_at=request.paid_at,
            replayed=replayed,
        )


class PayoutListResponse(_Out):
    payouts: list[PayoutView]
    next_cursor: str | None




class PayoutDestinationView(_Out):
    """A request's full destination, for the role that pays; every reveal is in the audit log."""

    request_id: str
    method: str
    details: str = Field(description="The destination, masked.")
    destination: str = Field(description="The full destination: the card number, the phone (E.164), or the SBP bank and phone.")
