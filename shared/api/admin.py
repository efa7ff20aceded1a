"""The back-office function: admin login, the program, promo codes, mass accruals, customers,
manual ledger changes, call-centre orders, payouts, approvals, the audit log and reports.

Every route but ``/login`` takes an admin token (``Authorization: Bearer``,
issued by ``/login``); what each role may do is in ``functions/admin/main.py``.
Paged reads are ``POST …/search``-style routes with a JSON body (cursor, limit).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from shared.api import Endpoint
from shared.api.cart_quote import Bonuses, CartLines, PromoCode
from shared.api.checkout import NewOrderId
from shared.domain.admin import Approval, AuditRecord, MassAccrualJob
from shared.domain.cart import PromoRule
from shared.domain.config import ProgramConfig
from shared.domain.payouts import PayoutRequest
from shared.domain.program import Publication
from shared.domain.promos import PromoCode as StoredPromoCode
from shared.domain.promos import PromoUse


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]
Key = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", description="Chosen by the caller; the same key repeats the request instead of doing it twice.")]
CustomerId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:@+\-]{1,128}$")]
Reason = Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]
Cursor = Annotated[str | None, Field(default=None, max_length=300, description="next_cursor of the previous page")]
# a page that continues after a document id (approvals, payout requests): a cursor is such an id
IdCursor = Annotated[str | None, Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$", description="next_cursor of the previous page")]
Role = Literal["admin", "marketer", "manager", "accountant"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- login -----------------------------------------------------------------------------


class LoginRequest(_In):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class LoginResponse(_Out):
    token: str = Field(description="An admin token (typ admin); send it as Authorization: Bearer.")
    expires_at: datetime
    email: str
    roles: list[Role]


class MeResponse(_Out):
    email: str
    roles: list[Role]
    permissions: list[str] = Field(description="The actions these roles may perform.")


# --- the program ----------------------------------------------------------------------


class ScheduledVersion(_Out):
    version: int
    effective_from: datetime


class ConfigResponse(_Out):
    program: str
    version: int
    effective_from: datetime
    author: str
    reason: str
    created_at: datetime
    config: ProgramConfig
    scheduled: list[ScheduledVersion] = Field(description="Versions published to apply later.")


class ConfigReplaceRequest(_In):
    config: dict[str, Any] = Field(description="A whole ProgramConfig (see the ProgramConfig schema); validated as a unit: fields of errors are paths inside it.")
    reason: Reason
    effective_from: UtcDatetime | None = Field(default=None, description="When it applies; default now. Never in the past.")


class ConfigReplaceResponse(_Out):
    program: str
    version: int
    effective_from: datetime


class PublicationEntry(_Out):
    """One publication of the program's config: who published which version, when and why."""

    action: str
    actor: str
    at: datetime
    version: int
    effective_from: datetime
    reason: str
    changed: list[str] = Field(description="The config's top-level fields this version changed.")

    @classmethod
    def of(cls, publication: Publication) -> PublicationEntry:
        p = publication
        return cls(action=p.action, actor=p.actor, at=p.at, version=p.version, effective_from=p.effective_from, reason=p.reason, changed=list(p.changed))


class ConfigHistoryResponse(_Out):
    program: str
    entries: list[PublicationEntry] = Field(description="The program's publication log, newest first: actor, at, version, effective_from, reason, changed fields.")


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

    @classmethod
    def of(cls, code: StoredPromoCode) -> PromoSummary:
        return cls(
            code=code.code,
            kind=code.kind.value,
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


# --- mass accruals ---------------------------------------------------------------------


class MassAccrualRequest(_In):
    job_id: Key
    amount: int = Field(ge=1, le=1_000_000, description="Bonuses credited to each customer.")
    reason: Reason
    customer_ids: list[CustomerId] | None = Field(default=None, min_length=1, max_length=5000)
    group: str | None = Field(default=None, min_length=1, max_length=64, description="Every customer of this group (instead of customer_ids).")
    lifetime_days: int | None = Field(default=None, ge=1, le=3660, description="Default: the program's lot lifetime.")
    activation_days: int = Field(default=0, ge=0, le=365)
    max_batch: int = Field(default=200, ge=1, le=1000, description="Customers credited by this call; the rest by /run.")

    @model_validator(mode="after")
    def _one_source(self) -> MassAccrualRequest:
        if (self.customer_ids is None) == (self.group is None):
            raise ValueError("give either customer_ids or group")
        return self


class MassAccrualRunRequest(_In):
    max_batch: int = Field(default=200, ge=1, le=1000)


class JobDefinition(_Out):
    amount: int
    reason: str
    group: str | None
    customers: int | None = Field(description="How many ids the list holds (None for a group).")
    lifetime_days: int
    activation_days: int


class JobResponse(_Out):
    job_id: str
    kind: str
    status: Literal["running", "complete"]
    cursor: int | str | None
    credited: int = Field(description="Customers credited by the job (each once).")
    bonuses: int
    skipped_unknown: int
    skipped_blocked: int
    replayed: int = Field(description="Credits found already made (a resumed or overlapping run).")
    batches: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    definition: JobDefinition

    @classmethod
    def of(cls, job: MassAccrualJob) -> JobResponse:
        d = job.definition
        return cls(
            job_id=job.job_id,
            kind=job.kind,
            status=job.status.value,
            cursor=job.cursor,
            credited=job.credited,
            bonuses=job.bonuses,
            skipped_unknown=job.skipped_unknown,
            skipped_blocked=job.skipped_blocked,
            replayed=job.replayed,
            batches=job.batches,
            created_by=job.created_by,
            created_at=job.created_at,
            updated_at=job.updated_at,
            completed_at=job.completed_at,
            definition=JobDefinition(
                amount=d.amount, reason=d.reason, group=d.group, customers=d.customers, lifetime_days=d.lifetime_days, activation_days=d.activation_days
            ),
        )


# --- customers -------------------------------------------------------------------------


class CustomerSearchRequest(_In):
    prefix: str | None = Field(default=None, max_length=128, description="Customer id prefix; empty lists everyone in id order.")
    phone: str | None = Field(default=None, max_length=32, description="A phone number (any usual form); finds its customer.")
    cursor: Cursor = None
    limit: int = Field(default=50, ge=1, le=200)


class CustomerSummary(_Out):
    customer_id: str
    phone: str | None = None
    level: str
    group: str
    blocked: bool
    total: int
    available: int
    pending: int
    reserved: int
    debt: int


class CustomerSearchResponse(_Out):
    customers: list[CustomerSummary]
    next_cursor: str | None


class LotView(_Out):
    id: str
    amount: int
    remaining: int
    source: str
    ref: str | None = None
    accrued_at: datetime
    activates_at: datetime | None
    expires_at: datetime
    state: Literal["pending", "active", "expired"]


class ReservationView(_Out):
    id: str
    amount: int
    created_at: datetime
    release_after: datetime


class CustomerDetail(CustomerSummary):
    earned_level: str | None
    level_override: str | None
    paid_total: int = Field(description="Lifetime paid purchases, kopecks.")
    profile: dict[str, Any]
    lots: list[LotView]
    reservations: list[ReservationView]


class LedgerRequest(_In):
    before_seq: int | None = Field(default=None, ge=1, description="next_before_seq of the previous page")
    limit: int = Field(default=50, ge=1, le=200)


class PostingView(_Out):
    seq: int
    kind: str
    key: str
    at: datetime
    delta: int
    order_id: str | None
    actor: str | None
    reason: str | None
    outcome: dict[str, Any]
    movements: list[dict[str, Any]]


class LedgerResponse(_Out):
    customer_id: str
    postings: list[PostingView]
    next_before_seq: int | None


class AdjustRequest(_In):
    amount: int = Field(ge=-10_000_000, le=10_000_000, description="Bonuses: positive credits a new active lot, negative takes available bonuses.")
    reason: Reason
    idempotency_key: Key
    lifetime_days: int | None = Field(default=None, ge=1, le=3660)

    @model_validator(mode="after")
    def _non_zero(self) -> AdjustRequest:
        if self.amount == 0:
            raise ValueError("amount must not be 0")
        return self


class AdjustResponse(_Out):
    status: Literal["done", "pending_approval"]
    customer_id: str
    amount: int
    replayed: bool | None = None
    approval_id: str | None = Field(default=None, description="Set when the adjustment waits for a second admin.")
    threshold: int | None = None


class LevelRequest(_In):
    level: str | None = Field(max_length=64, description="A level code of the program; null lifts the override.")
    reason: Reason
    idempotency_key: Key


class LevelResponse(_Out):
    customer_id: str
    level_override: str | None
    effective_level: str
    replayed: bool


class GroupRequest(_In):
    group: str = Field(min_length=1, max_length=64)
    reason: Reason
    idempotency_key: Key


class GroupResponse(_Out):
    customer_id: str
    group: str
    replayed: bool


class BlockRequest(_In):
    reason: Reason


class BlockResponse(_Out):
    customer_id: str
    blocked: bool
    changed: bool


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


class PayoutApproveRequest(_In):
    reason: str = Field(default="", max_length=500)
    idempotency_key: Key | None = Field(default=None, description="Default: the payout request id.")


class PayoutRejectRequest(_In):
    reason: Reason


class PayoutSearchRequest(_In):
    status: Literal["requested", "approved", "rejected", "paid"] = "requested"
    cursor: IdCursor = None
    limit: int = Field(default=50, ge=1, le=200)


class PayoutView(_Out):
    request_id: str
    customer_id: str
    amount: int = Field(description="Bonuses")
    method: str
    details: str = Field(description="Masked destination, as the partner gave it.")
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


# --- approvals, audit, reports ------------------------------------------------------------


class ApprovalView(_Out):
    id: str
    action: str
    target: str
    params: dict[str, Any]
    maker: str
    maker_roles: list[str]
    reason: str
    status: Literal["pending", "approved", "executed", "rejected", "failed"]
    created_at: datetime
    checker: str | None
    decided_at: datetime | None
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    replayed: bool | None = None

    @classmethod
    def of(cls, approval: Approval, *, replayed: bool | None = None) -> ApprovalView:
        return cls(
            id=approval.id,
            action=approval.action,
            target=approval.target,
            params=dict(approval.params),
            maker=approval.maker,
            maker_roles=list(approval.maker_roles),
            reason=approval.reason,
            status=approval.status.value,
            created_at=approval.created_at,
            checker=approval.checker,
            decided_at=approval.decided_at,
            result=None if approval.result is None else dict(approval.result),
            error=None if approval.error is None else dict(approval.error),
            replayed=replayed,
        )


class ApprovalSearchRequest(_In):
    status: Literal["pending", "approved", "executed", "rejected", "failed"] = "pending"
    cursor: IdCursor = None
    limit: int = Field(default=50, ge=1, le=200)


class ApprovalListResponse(_Out):
    approvals: list[ApprovalView]
    next_cursor: str | None


class ApprovalRejectRequest(_In):
    reason: Reason


class AuditEntry(_Out):
    id: str
    actor: str
    roles: list[str]
    action: str
    target: str
    params: dict[str, Any]
    at: datetime
    result: Any
    key: str

    @classmethod
    def of(cls, record: AuditRecord) -> AuditEntry:
        return cls(
            id=record.id,
            actor=record.actor,
            roles=list(record.roles),
            action=record.action,
            target=record.target,
            params=dict(record.params),
            at=record.at,
            result=record.result,
            key=record.key,
        )


class AuditResponse(_Out):
    entries: list[AuditEntry]
    next_cursor: str | None


class LiabilityRequest(_In):
    cursor: Cursor = None
    limit: int = Field(default=200, ge=1, le=500)


class LiabilityResponse(_Out):
    as_of: datetime
    horizon_days: int
    accounts: int
    outstanding: int = Field(description="pending + available + reserved - debt of the page's accounts")
    available: int
    pending: int
    reserved: int
    debt: int
    expiring_30d: int = Field(description="Unreserved bonuses whose lots expire within 30 days")
    expired_unswept: int
    next_cursor: str | None = Field(description="Ask again with it and add the pages up; null on the last page.")


_E = (400, 401, 403, 404, 409, 413, 422)


def _ep(method: str, path: str, summary: str, request: type[BaseModel] | None = None, response: type[BaseModel] | None = None, auth: str = "admin", body_optional: bool = False) -> Endpoint:
    return Endpoint(function="admin", method=method, path=path, summary=summary, request=request, response=response, auth=auth, errors=_E, body_optional=body_optional)


ENDPOINTS = [
    _ep("POST", "/login", "Admin login: e-mail and password -> an admin token with the roles (customer credentials do not work here)", LoginRequest, LoginResponse, auth="none"),
    _ep("GET", "/me", "The admin behind the token: e-mail, roles, permitted actions", None, MeResponse),
    _ep("GET", "/config", "The program config in force and the versions scheduled (admin, marketer)", None, ConfigResponse),
    _ep(
        "POST",
        "/config",
        "Replace the program config: validated as a unit (400 names the fields, the old one stays), versioned, effective date, audited (admin, marketer)",
        ConfigReplaceRequest,
        ConfigReplaceResponse,
    ),
    _ep("GET", "/config/history", "The program's publication log (admin, marketer)", None, ConfigHistoryResponse),
    _ep("POST", "/promo_codes", "Create a marketing promo code (idempotent for the same definition; admin, marketer)", PromoCreateRequest, PromoCodeResponse),
    _ep("POST", "/promo_codes/search", "List promo codes in code order, paged (admin, marketer)", PageRequest, PromoListResponse, body_optional=True),
    _ep("POST", "/promo_codes/{code}/deactivate", "Switch a promo code off (admin, marketer)", None, PromoCodeResponse),
    _ep("POST", "/promo_codes/{code}/usage", "A promo code's uses, limits and a page of its customers (admin, marketer)", PageRequest, PromoUsageResponse, body_optional=True),
    _ep("POST", "/mass_accruals", "Start a mass accrual to a list of customers or a group; idempotent by job_id, credits up to max_batch now (admin, marketer)", MassAccrualRequest, JobResponse),
    _ep("GET", "/mass_accruals/{job_id}", "A mass accrual's progress (admin, marketer)", None, JobResponse),
    _ep("POST", "/mass_accruals/{job_id}/run", "Continue a mass accrual from its cursor (resumable; a customer is never credited twice; admin, marketer)", MassAccrualRunRequest, JobResponse, body_optional=True),
    _ep("POST", "/customers/search", "Find customers by phone or customer id prefix, paged (every role)", CustomerSearchRequest, CustomerSearchResponse, body_optional=True),
    _ep("GET", "/customers/{customer_id}", "A customer: balances, level, group, lots, reservations, profile (every role)", None, CustomerDetail),
    _ep("POST", "/customers/{customer_id}/ledger", "A page of the customer's postings, newest first (every role)", LedgerRequest, LedgerResponse, body_optional=True),
    _ep("POST", "/customers/{customer_id}/adjust", "Manual adjustment with a reason; above the threshold it waits for a second admin (admin, marketer)", AdjustRequest, AdjustResponse),
    _ep("POST", "/customers/{customer_id}/level", "Override the customer's level, or lift the override (admin, marketer)", LevelRequest, LevelResponse),
    _ep("POST", "/customers/{customer_id}/group", "Move the customer to another group (admin, marketer)", GroupRequest, GroupResponse),
    _ep("POST", "/customers/{customer_id}/block", "Block the customer (manager)", BlockRequest, BlockResponse),
    _ep("POST", "/customers/{customer_id}/unblock", "Unblock the customer (manager)", BlockRequest, BlockResponse),
    _ep("POST", "/orders", "A call-centre order placed for a customer: bonuses reserved like a checkout, source call_centre (manager)", CallCentreOrderRequest, CallCentreOrderResponse),
    _ep("POST", "/payouts/search", "Payout requests by status, paged (manager, accountant)", PayoutSearchRequest, PayoutListResponse, body_optional=True),
    _ep("POST", "/payouts/{request_id}/approve", "Approve a payout request: it waits for a second manager (maker-checker; manager)", PayoutApproveRequest, ApprovalView, body_optional=True),
    _ep("POST", "/payouts/{request_id}/reject", "Reject a payout request: its held bonuses are released (manager)", PayoutRejectRequest, PayoutView),
    _ep("POST", "/payouts/{request_id}/paid", "Mark an approved payout paid (manager)", None, PayoutView),
    _ep("POST", "/approvals/search", "Approvals by status, paged (admin, marketer, manager)", ApprovalSearchRequest, ApprovalListResponse, body_optional=True),
    _ep("GET", "/approvals/{approval_id}", "One approval (admin, marketer, manager)", None, ApprovalView),
    _ep("POST", "/approvals/{approval_id}/approve", "Approve and execute, exactly once; another admin holding a role of the action, never the maker", None, ApprovalView),
    _ep("POST", "/approvals/{approval_id}/reject", "Reject a pending approval (a checker, or the maker withdrawing it)", ApprovalRejectRequest, ApprovalView),
    _ep("POST", "/audit/search", "The audit log, newest first, paged (admin, accountant)", PageRequest, AuditResponse, body_optional=True),
    _ep("POST", "/reports/liability", "Bonus liability over a page of accounts: outstanding, pending, expiring in 30 days (admin, marketer, accountant)", LiabilityRequest, LiabilityResponse, body_optional=True),
]
