"""A customer's whole picture for the back office (balances, lots, ledger, orders with their lines
and timeline, level progress, referral counts, payouts, notices, audit) and a manager's return."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from shared.api.admin.approvals import AuditEntry
from shared.api.admin.common import Key, Reason, _In, _Out
from shared.api.admin.customers import CustomerDetail, PostingView
from shared.api.admin.payouts import PayoutView


class OverviewRequest(_In):
    before_seq: int | None = Field(default=None, ge=1, description="The ledger's page: next_before_seq of the previous answer.")
    orders_after: str | None = Field(default=None, max_length=300, description="The orders' page: next_orders_after of the previous answer.")
    limit: int = Field(default=20, ge=1, le=100, description="Postings and orders per page.")


class LevelProgressView(_Out):
    level: str
    level_name: str
    qualifying_total: int = Field(description="The paid total the level counts, kopecks.")
    next_level: str | None
    next_level_name: str | None
    remaining_to_next: int | None = Field(description="Kopecks still to pay for the next level; null at the top.")


class LedgerEntryView(PostingView):
    reason_ru: str = Field(description="What the posting did, in Russian (a label per posting kind).")
    change: int = Field(description="The change of the customer's bonuses as their history shows it (a spend's, unlike its delta, too).")


class OrderLineView(_Out):
    id: str
    name: str
    quantity: int
    price: int = Field(description="Unit price, kopecks.")
    paid: int | None = Field(description="Money paid for the line, kopecks (null: not paid yet).")
    earned: int = Field(description="Bonuses the line earned.")
    spent: int = Field(description="Bonuses that paid for the line.")
    returned: int = Field(description="Units returned.")


class OrderEventView(_Out):
    type: str
    at: datetime
    label_ru: str
    details: dict[str, Any]


class CustomerOrderView(_Out):
    order_id: str
    status: str
    source: str
    created_at: datetime | None
    paid_at: datetime | None
    delivered_at: datetime | None
    money_to_pay: int
    money_paid: int | None
    bonuses_spent: int | None
    points_earned: int | None
    lines: list[OrderLineView]
    events: list[OrderEventView]


class ReferralView(_Out):
    invited_by: str | None
    referrer_id: str | None
    referral_bound_at: datetime | None
    partner_code: str | None
    invited: int = Field(description="Accounts opened through the customer's link or code (counted up to invited_capped).")
    invited_capped: bool
    paying_referees: int


class NoticeView(_Out):
    key: str
    kind: str
    amount: int
    expires_at: datetime
    created_at: datetime
    sent_at: datetime | None


class CustomerOverview(_Out):
    customer: CustomerDetail
    progress: LevelProgressView
    ledger: list[LedgerEntryView]
    next_before_seq: int | None
    orders: list[CustomerOrderView]
    next_orders_after: str | None
    referral: ReferralView
    payouts: list[PayoutView]
    notices: list[NoticeView]
    audit: list[AuditEntry] | None = Field(description="This customer's back-office actions, newest first (null: the role may not read the audit log).")


class ReturnRequest(_In):
    return_id: Key = Field(description="The return's id: the same id again changes nothing.")
    lines: dict[str, int] = Field(min_length=1, max_length=200, description="Line id -> units returned.")
    reason: Reason


class ReturnResponse(_Out):
    order_id: str
    status: str
    returned_units: dict[str, int]
    spent_back: int = Field(description="Bonuses given back to the customer by this return.")
    earned_back: int = Field(description="Bonuses earned on the returned units, taken back.")
    applied: bool = Field(description="False when this return id was recorded before: nothing changed now.")
