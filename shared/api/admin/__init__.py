"""The back-office function: admin login, the program, promo codes, mass accruals, customers,
manual ledger changes, call-centre orders, payouts, approvals, the audit log and reports.

Every route but ``/login`` takes an admin token (``Authorization: Bearer``,
issued by ``/login``); what each role may do is in ``functions/admin/main.py``.
Paged reads are ``POST …/search``-style routes with a JSON body (cursor, limit).
"""


from __future__ import annotations

from pydantic import BaseModel

from shared.api import Endpoint
from shared.api.admin.approvals import (  # noqa: F401  (the models, importable from here)
    ApprovalApproveRequest,
    ApprovalListResponse,
    ApprovalRejectRequest,
    ApprovalSearchRequest,
    ApprovalView,
    AuditEntry,
    AuditResponse,
    LiabilityRequest,
    LiabilityResponse,
)
from shared.api.admin.campaign_results import CampaignResults
from shared.api.admin.catalog import (  # noqa: F401  (the models, importable from here)
    CatalogImportRequest,
    CatalogImportResponse,
    CatalogPage,
    CatalogQuery,
    ProductPutRequest,
    ProductView,
    RefusedRow,
)
from shared.api.admin.config_tools import (  # noqa: F401  (the models, importable from here)
    ConfigDraftRequest,
    ConfigDraftResponse,
    ConfigPreviewRequest,
    ConfigPreviewResponse,
    ConfigVersionView,
    PreviewLine,
    PreviewLineView,
)
from shared.api.admin.customer_view import CustomerOverview, OverviewRequest, ReturnRequest, ReturnResponse  # noqa: F401  (the models, importable from here)
from shared.api.admin.customers import (  # noqa: F401  (the models, importable from here)
    AdjustRequest,
    AdjustResponse,
    BlockRequest,
    BlockResponse,
    CustomerDetail,
    CustomerSearchRequest,
    CustomerSearchResponse,
    CustomerSummary,
    GroupRequest,
    GroupResponse,
    JobDefinition,
    JobResponse,
    LedgerRequest,
    LedgerResponse,
    LevelRequest,
    LevelResponse,
    LotView,
    MassAccrualRequest,
    MassAccrualRunRequest,
    PostingView,
    ReservationView,
)
from shared.api.admin.mass_accruals import (  # noqa: F401  (the models, importable from here)
    CustomerListResponse,
    JobListRequest,
    JobListResponse,
    ListRowError,
    MassAccrualPreview,
    MassAccrualPreviewRequest,
)
from shared.api.admin.payouts import (  # noqa: F401  (the models, importable from here)
    CallCentreOrderRequest,
    CallCentreOrderResponse,
    FlaggedOrdersRequest,
    FlaggedOrdersResponse,
    FlaggedOrderView,
    ManualDeliveryRequest,
    ManualDeliveryResponse,
    PayoutApproveRequest,
    PayoutDestinationView,
    PayoutListResponse,
    PayoutRejectRequest,
    PayoutSearchRequest,
    PayoutView,
)
from shared.api.admin.program import (  # noqa: F401  (the models, importable from here)
    ConfigChangeView,
    ConfigHistoryResponse,
    ConfigReplaceRequest,
    ConfigReplaceResponse,
    ConfigResponse,
    LoginRequest,
    LoginResponse,
    MeResponse,
    MfaConfirmRequest,
    MfaConfirmResponse,
    MfaSetupResponse,
    PublicationEntry,
    ScheduledVersion,
)
from shared.api.admin.promos import (  # noqa: F401  (the models, importable from here)
    PageRequest,
    PromoCodeResponse,
    PromoCreateRequest,
    PromoCustomerUse,
    PromoListResponse,
    PromoSummary,
    PromoUsageResponse,
)
from shared.api.admin.reports import (  # noqa: F401  (the models, importable from here)
    AuditSearchRequest,
    DashboardRequest,
    DashboardResponse,
    PayoutExportRequest,
    PayoutExportResponse,
)
from shared.api.events import AdminEventRequest, EventCreditResponse, StickerBatchList, StickerBatchRequest, StickerBatchView

_E = (400, 401, 403, 404, 409, 413, 422)


def _ep(
    method: str,
    path: str,
    summary: str,
    request: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    auth: str = "admin",
    body_optional: bool = False,
    errors: tuple[int, ...] = _E,
    query: type[BaseModel] | None = None,
) -> Endpoint:
    return Endpoint(function="admin", method=method, path=path, summary=summary, request=request, response=response, auth=auth, errors=errors, body_optional=body_optional, query=query)


ENDPOINTS = [
    _ep(
        "POST",
        "/login",
        "Admin login: e-mail, password and (with two-factor login) the authenticator's code or a recovery code -> an admin token with the roles; throttled per address (429)",
        LoginRequest,
        LoginResponse,
        auth="none",
        errors=(*_E, 429),
    ),
    _ep("GET", "/me", "The admin behind the token: e-mail, roles, permitted actions", None, MeResponse),
    _ep("POST", "/mfa/setup", "Start two-factor login: a new authenticator secret, pending until confirmed (every role; 409 once it is on)", None, MfaSetupResponse),
    _ep("POST", "/mfa/confirm", "Confirm the authenticator with a code: two-factor login on, ten recovery codes (once) and a token with the second factor", MfaConfirmRequest, MfaConfirmResponse),
    _ep("GET", "/config", "The program config in force and the versions scheduled (admin, marketer)", None, ConfigResponse),
    _ep(
        "POST",
        "/config",
        "Replace the program config: validated as a unit (400 names the fields), versioned, effective date, audited; a change that touches money waits for a second admin (admin, marketer)",
        ConfigReplaceRequest,
        ConfigReplaceResponse,
    ),
    _ep("GET", "/config/history", "The program's publication log (admin, marketer)", None, ConfigHistoryResponse),
    _ep("POST", "/config/draft", "What a draft config changes against the version in force, field by field, and whether publishing it waits for approval; writes nothing (admin, marketer)",
        ConfigDraftRequest, ConfigDraftResponse),
    _ep("POST", "/config/preview", "A sample cart or a placed order priced with a draft config beside the version in force; writes nothing (admin, marketer)",
        ConfigPreviewRequest, ConfigPreviewResponse),
    _ep("GET", "/config/versions/{version}", "One stored version of the program config (admin, marketer)", None, ConfigVersionView),
    _ep("POST", "/promo_codes", "Create a marketing promo code (idempotent for the same definition; admin, marketer)", PromoCreateRequest, PromoCodeResponse),
    _ep("POST", "/promo_codes/search", "List promo codes in code order, paged (admin, marketer)", PageRequest, PromoListResponse, body_optional=True),
    _ep("POST", "/promo_codes/{code}/deactivate", "Switch a promo code off (admin, marketer)", None, PromoCodeResponse),
    _ep("POST", "/promo_codes/{code}/usage", "A promo code's uses, limits and a page of its customers (admin, marketer)", PageRequest, PromoUsageResponse, body_optional=True),
    _ep("POST", "/mass_accruals", "Start a mass accrual to listed customers, a group, a level or today's birthdays; idempotent by job_id, "
        "credits up to max_batch now, or waits for approval past the threshold (admin, marketer)",
        MassAccrualRequest, JobResponse),
    _ep("POST", "/mass_accruals/preview", "Count a mass accrual's customers and bonuses (a list, a group, a level or today's birthdays), who would be skipped "
        "and whether it would wait for approval, writing nothing (admin, marketer)", MassAccrualPreviewRequest, MassAccrualPreview),
    _ep("POST", "/mass_accruals/customer_list", "Read a customer list (text/csv body: a phone or a customer id per line) into customer ids, "
        "each line that names no customer reported with a Russian reason (admin, marketer)", None, CustomerListResponse),
    _ep("POST", "/mass_accruals/search", "The latest mass accruals, newest first (admin, marketer)", JobListRequest, JobListResponse, body_optional=True),
    _ep("GET", "/mass_accruals/{job_id}", "A mass accrual's progress (admin, marketer)", None, JobResponse),
    _ep("POST", "/mass_accruals/{job_id}/run", "Continue a mass accrual from its cursor (resumable; a customer is never credited twice; admin, marketer)",
        MassAccrualRunRequest, JobResponse, body_optional=True),
    _ep("POST", "/customers/search", "Find customers by one search text (phone, e-mail, customer id, order id, partner code, name prefix), by phone, or by customer id prefix, paged (every role)",
        CustomerSearchRequest, CustomerSearchResponse, body_optional=True),
    _ep("POST", "/customers/{customer_id}/overview", "A customer's whole picture: balances, lots, a page of the ledger with Russian reasons, a page of orders with per-line bonuses and "
        "their timeline, level progress, referral counts, payouts, notices and (admin, accountant) the audit trail (every role)", OverviewRequest, CustomerOverview, body_optional=True),
    _ep("GET", "/customers/{customer_id}", "A customer: balances, level, group, lots, reservations, profile (every role)", None, CustomerDetail),
    _ep("POST", "/customers/{customer_id}/ledger", "A page of the customer's postings, newest first (every role)", LedgerRequest, LedgerResponse, body_optional=True),
    _ep("POST", "/customers/{customer_id}/adjust", "Manual adjustment with a reason; once the maker's 24 hours pass the thresholds it waits for a second admin (admin, marketer)",
        AdjustRequest, AdjustResponse),
    _ep("POST", "/customers/{customer_id}/level", "Override the customer's level, or lift the override (admin, marketer)", LevelRequest, LevelResponse),
    _ep("POST", "/customers/{customer_id}/group", "Move the customer to another group (admin, marketer)", GroupRequest, GroupResponse),
    _ep("POST", "/customers/{customer_id}/block", "Block the customer: every session revoked, no login, earning, spending or credit but an admin's adjustment (admin, manager)",
        BlockRequest, BlockResponse),
    _ep("POST", "/customers/{customer_id}/unblock", "Unblock the customer; sessions from before the block stay revoked (admin, manager)", BlockRequest, BlockResponse),
    _ep("POST", "/orders", "A call-centre order placed for a customer: bonuses reserved like a checkout, source call_centre (manager)", CallCentreOrderRequest, CallCentreOrderResponse),
    _ep("POST", "/orders/flagged", "Orders a payment could not settle (a Tilda webhook's mismatch), oldest first, paged: why, in Russian too (admin, manager)",
        FlaggedOrdersRequest, FlaggedOrdersResponse, body_optional=True),
    _ep("POST", "/orders/{order_id}/delivered", "Mark a paid order delivered (pickup, own courier, an untracked carrier): its bonuses' hold starts; once, audited (manager)",
        ManualDeliveryRequest, ManualDeliveryResponse),
    _ep("POST", "/orders/{order_id}/return", "Record a return by line and quantity: spent bonuses refunded, earned ones taken back; idempotent by return_id, audited (manager)",
        ReturnRequest, ReturnResponse),
    _ep("POST", "/payouts/search", "Payout requests by status, paged (manager, accountant)", PayoutSearchRequest, PayoutListResponse, body_optional=True),
    _ep("POST", "/payouts/{request_id}/approve", "Approve a payout request: it waits for a second manager (maker-checker; manager)", PayoutApproveRequest, ApprovalView, body_optional=True),
    _ep("POST", "/payouts/{request_id}/reject", "Reject a payout request: its held bonuses are released (manager)", PayoutRejectRequest, PayoutView),
    _ep("POST", "/payouts/{request_id}/paid", "Mark an approved payout paid (manager)", None, PayoutView),
    _ep("POST", "/payouts/{request_id}/destination", "The full destination of an open or approved request, to pay it; every reveal is audited (manager)", None, PayoutDestinationView),
    _ep("POST", "/approvals/search", "Approvals by status, paged (admin, marketer, manager)", ApprovalSearchRequest, ApprovalListResponse, body_optional=True),
    _ep("GET", "/approvals/{approval_id}", "One approval (admin, marketer, manager)", None, ApprovalView),
    _ep("POST", "/approvals/{approval_id}/approve", "Approve and execute, exactly once, with an optional comment; another admin holding a role of the action, never the maker",
        ApprovalApproveRequest, ApprovalView, body_optional=True),
    _ep("POST", "/approvals/{approval_id}/reject", "Reject a pending approval (a checker, or the maker withdrawing it)", ApprovalRejectRequest, ApprovalView),
    _ep("POST", "/audit/search", "The audit log, newest first, paged; filtered by actor, action, customer and Moscow days (admin, accountant)", AuditSearchRequest, AuditResponse, body_optional=True),
    _ep("POST", "/reports/dashboard", "The dashboards the caller's roles open: liability by day, expiring by month, activity by week (report.liability), payouts due (payout.read)",
        DashboardRequest, DashboardResponse, body_optional=True),
    _ep("GET", "/payouts/{request_id}", "One payout request, its destination masked (manager, accountant)", None, PayoutView),
    _ep("POST", "/payouts/export", "The bank's batch: approved payouts not yet paid, amounts in kopecks; full destinations with reveal (manager); audited (manager, accountant)",
        PayoutExportRequest, PayoutExportResponse, body_optional=True),
    _ep("POST", "/catalog/import", "Import the catalog: a Tilda CSV export (text/csv body) or YML file (application/xml body), or the YML feed at feed_url (JSON body; none: the program's); "
        "validated first, refused rows reported and skipped, the rest applied in batches under one import id; the same import again changes nothing (admin, marketer)",
        CatalogImportRequest, CatalogImportResponse, body_optional=True, errors=(*_E, 503)),
    _ep("GET", "/catalog/import/{import_id}", "One catalog import's report, or with 'last' the last import applied: counts and refused rows with their reasons (every role)",
        None, CatalogImportResponse),
    _ep("GET", "/catalog", "A page of the catalog in UID order, or the one product a UID, SKU or external id (q) names (every role)", None, CatalogPage, query=CatalogQuery),
    _ep("GET", "/catalog/products/{uid}", "One product of the catalog (every role)", None, ProductView),
    _ep("PUT", "/catalog/products/{uid}", "Create or replace a product (price, old price, flags, group, brand, SKU, external id) with a reason; audited (admin, marketer)",
        ProductPutRequest, ProductView),
    _ep("GET", "/campaigns/{code}/results", "A campaign's results: its accrual, and paid orders, revenue and bonuses spent in its window against the weeks before (admin, marketer, accountant)",
        None, CampaignResults),
    _ep("POST", "/reports/liability", "Bonus liability over a page of accounts: outstanding, pending, expiring in 30 days (admin, marketer, accountant)",
        LiabilityRequest, LiabilityResponse, body_optional=True),
    _ep("POST", "/customers/{customer_id}/events", "Credit an earning event checked by hand (a review of a product, a repost, a newsletter subscription) once per natural key; "
        "409 already_credited, 422 rule_inactive / condition_not_met (admin, marketer, manager)", AdminEventRequest, EventCreditResponse),
    _ep("POST", "/stickers", "Create a sticker batch and generate its codes (idempotent by batch_id: the same id again finishes its generation; admin, marketer)",
        StickerBatchRequest, StickerBatchView),
    _ep("GET", "/stickers", "The latest sticker batches with their generated and redeemed counts (admin, marketer)", None, StickerBatchList),
    _ep("GET", "/stickers/{batch_id}", "One sticker batch with its generated and redeemed counts (admin, marketer)", None, StickerBatchView),
    _ep("POST", "/stickers/{batch_id}/generate", "Generate the batch's missing codes (resumes a generation that stopped; admin, marketer)", None, StickerBatchView),
    _ep("GET", "/stickers/{batch_id}/export", "The batch's codes as CSV for the printer (text/csv: index;code;points;valid_until; admin, marketer)", None, None),
]
