"""admin: the back office — the program, promo codes, mass accruals, customers and their
ledgers, manual changes, call-centre orders, payouts, approvals, the audit log, reports.

Credentials are separate from the customers': ``POST /login`` {email, password}
answers an admin token (signed with ``KOPILKA_ADMIN_TOKEN_SECRET``, type
``admin``, with the roles); every other route needs it as ``Authorization:
Bearer``. A customer token is refused here (401) and an admin token by the
customer endpoints. No token, a bad, tampered or expired one: 401; a role that
may not do the action: 403 — both before the body is read.

What each role may do (``shared.edge.admin_auth.PERMISSIONS``):

====================================================  =====  ========  =======  ==========
action (routes)                                       admin  marketer  manager  accountant
====================================================  =====  ========  =======  ==========
read / replace the program config (/config…)            x       x
promo codes: create, deactivate, list, usage            x       x
mass accruals (/mass_accruals…)                          x       x
manual adjustment (/customers/{id}/adjust)              x       x
level override, group change                            x       x
approve / reject payouts, mark paid (/payouts/{id}…)                      x
a payout's full destination (/payouts/{id}/destination, audited)          x
payouts: list, the bank's batch (/payouts/search, /export)                x         x
call-centre orders (/orders)                                              x
mark an order delivered (/orders/{id}/delivered)                          x
record a return by line (/orders/{id}/return)                             x
orders flagged for a manager (/orders/flagged)          x                 x
block / unblock customers                               x                 x
search / view customers, their ledgers, overview       x       x        x         x
liability report, dashboards (/reports/…)               x       x                  x
audit log (/audit/search)                               x                          x
catalog: import, edit a product (/catalog…)             x       x
catalog: pages, one product (GET /catalog…)             x       x        x         x
credit a checked event (/customers/{id}/events)        x       x        x
sticker batches, their export (/stickers…)              x       x
list / view approvals                                   x       x        x
approve / reject an approval                          roles of the approval's action
====================================================  =====  ========  =======  ==========

Maker-checker: an adjustment that would take the maker's bonus changes over a
rolling 24 hours past the program's thresholds (``approvals`` in the config:
per customer and in total), a mass accrual whose amount × customers passes its
threshold, a config change that touches money and every payout approval
answer a pending approval; another admin holding a role of that action
executes it, exactly once, with ``POST /approvals/{id}/approve`` (a comment
optional) — the maker cannot. Every successful action and every approval
decision is in ``audit/{id}`` (refusals are not; see :mod:`shared.services.admin`).
Paged reads are POST routes with a JSON body (``cursor``/``limit``); an empty
body means the defaults.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from shared.api.admin import (
    AdjustRequest,
    AdjustResponse,
    ApprovalListResponse,
    ApprovalRejectRequest,
    ApprovalSearchRequest,
    ApprovalView,
    AuditResponse,
    BlockRequest,
    BlockResponse,
    CallCentreOrderRequest,
    CallCentreOrderResponse,
    ConfigHistoryResponse,
    ConfigReplaceRequest,
    ConfigReplaceResponse,
    ConfigResponse,
    CustomerDetail,
    CustomerSearchRequest,
    CustomerSearchResponse,
    FlaggedOrdersRequest,
    FlaggedOrdersResponse,
    GroupRequest,
    GroupResponse,
    JobResponse,
    LedgerRequest,
    LedgerResponse,
    LevelRequest,
    LevelResponse,
    LiabilityRequest,
    LiabilityResponse,
    LoginRequest,
    LoginResponse,
    ManualDeliveryRequest,
    ManualDeliveryResponse,
    MassAccrualRequest,
    MassAccrualRunRequest,
    MeResponse,
    MfaConfirmRequest,
    MfaConfirmResponse,
    MfaSetupResponse,
    PageRequest,
    PayoutApproveRequest,
    PayoutDestinationView,
    PayoutListResponse,
    PayoutRejectRequest,
    PayoutSearchRequest,
    PayoutView,
    PromoCodeResponse,
    PromoCreateRequest,
    PromoListResponse,
    PromoUsageResponse,
)
from shared.api.admin.approvals import ApprovalApproveRequest
from shared.api.admin.catalog import CatalogImportRequest, CatalogImportResponse, CatalogPage, CatalogQuery, ProductPutRequest, ProductView
from shared.api.admin.customer_view import CustomerOverview, OverviewRequest, ReturnRequest, ReturnResponse
from shared.api.admin.reports import AuditSearchRequest
from shared.domain.admin import ApprovalStatus
from shared.edge import admin_auth, admin_campaign_results, admin_campaigns, admin_events, admin_program, admin_reports, entry
from shared.edge.admin_auth import Admin
from shared.edge.http import Context, Router, client_ip, parse
from shared.platform.settings import settings
from shared.services import admin_mfa, admins
from shared.services.admin import (
    adjustments,
    approvals,
    audit,
    catalog,
    customers,
    mass_accruals,
    orders,
    payouts,
    program,
    promos,
    reports,
)
from shared.services.admin import customer_view as overview
from shared.services.admin.common import valid_customer_id

router = Router("admin", cors=True)
M = TypeVar("M", bound=BaseModel)


def _admin(request: Any, ctx: Context, action: str | None = None) -> Admin:
    """The caller (401 without a valid admin token), allowed ``action`` (else 403)."""
    admin = admin_auth.authenticate(entry.store(), request, ctx.now)
    return admin.require(action) if action else admin


def _body(ctx: Context, model: type[M]) -> M:
    """The JSON body; an empty one means the model's defaults."""
    return ctx.optional_body(model)


def _customer(ctx: Context) -> str:
    return valid_customer_id(ctx.params["customer_id"])


# --- login -------------------------------------------------------------------------------


@router.post("/login")
def login(request: Any, ctx: Context) -> LoginResponse:
    body = ctx.body(LoginRequest)
    return admins.login(entry.store(), email=body.email, password=body.password, otp=body.otp, recovery_code=body.recovery_code, ip=client_ip(request), now=ctx.now)


@router.post("/mfa/setup")
def mfa_setup(request: Any, ctx: Context) -> MfaSetupResponse:
    admin = admin_auth.authenticate(entry.store(), request, ctx.now, enrolling=True)
    return admin_mfa.setup_totp(entry.store(), email=admin.email, now=ctx.now)


@router.post("/mfa/confirm")
def mfa_confirm(request: Any, ctx: Context) -> MfaConfirmResponse:
    admin = admin_auth.authenticate(entry.store(), request, ctx.now, enrolling=True)
    body = ctx.body(MfaConfirmRequest)
    return admin_mfa.confirm_totp(entry.store(), email=admin.email, code=body.otp, now=ctx.now)


@router.get("/me")
def me(request: Any, ctx: Context) -> MeResponse:
    admin = admin_auth.authenticate(entry.store(), request, ctx.now, enrolling=True)
    return MeResponse.model_validate({"email": admin.email, "roles": list(admin.roles), "permissions": sorted(a for a in admin_auth.PERMISSIONS if admin.can(a))})


# --- the program ---------------------------------------------------------------------------


@router.get("/config")
def config_view(request: Any, ctx: Context) -> ConfigResponse:
    admin = _admin(request, ctx, "config.read")
    return program.config_view(entry.store(), admin, program_name=settings().program, now=ctx.now)


@router.post("/config")
def config_replace(request: Any, ctx: Context) -> ConfigReplaceResponse:
    admin = _admin(request, ctx, "config.replace")
    body = ctx.body(ConfigReplaceRequest)
    return program.replace_config(entry.store(), admin, program_name=settings().program, raw=body.config, reason=body.reason, effective_from=body.effective_from, key=body.idempotency_key, now=ctx.now)


@router.get("/config/history")
def config_history(request: Any, ctx: Context) -> ConfigHistoryResponse:
    admin = _admin(request, ctx, "config.read")
    return program.config_history(entry.store(), admin, program_name=settings().program)


# --- promo codes ---------------------------------------------------------------------------


@router.post("/promo_codes")
def promo_create(request: Any, ctx: Context) -> PromoCodeResponse:
    admin = _admin(request, ctx, "promo.create")
    body = ctx.body(PromoCreateRequest)
    return promos.create_promo(entry.store(), admin, rule=body.rule, total_limit=body.total_limit, per_customer_limit=body.per_customer_limit, now=ctx.now)


@router.post("/promo_codes/search")
def promo_list(request: Any, ctx: Context) -> PromoListResponse:
    admin = _admin(request, ctx, "promo.read")
    body = _body(ctx, PageRequest)
    return promos.list_promos(entry.store(), admin, cursor=body.cursor, limit=body.limit)


@router.post("/promo_codes/{code}/deactivate")
def promo_deactivate(request: Any, ctx: Context) -> PromoCodeResponse:
    admin = _admin(request, ctx, "promo.deactivate")
    return promos.deactivate_promo(entry.store(), admin, code=ctx.params["code"], now=ctx.now)


@router.post("/promo_codes/{code}/usage")
def promo_usage(request: Any, ctx: Context) -> PromoUsageResponse:
    admin = _admin(request, ctx, "promo.read")
    body = _body(ctx, PageRequest)
    return promos.promo_usage(entry.store(), admin, code=ctx.params["code"], cursor=body.cursor, limit=body.limit)


# --- mass accruals ---------------------------------------------------------------------------


@router.post("/mass_accruals")
def mass_accrual_start(request: Any, ctx: Context) -> JobResponse:
    admin = _admin(request, ctx, "mass_accrual.run")
    body = ctx.body(MassAccrualRequest)
    store = entry.store()
    config = entry.config(ctx.now)
    job = mass_accruals.create_mass_accrual(store, admin, config=config, job_id=body.job_id, amount=body.amount, reason=body.reason, lifetime_days=body.lifetime_days,
                                            activation_days=body.activation_days, now=ctx.now, **body.segment())  # fmt: skip
    if not job.runnable:  # waits for its approval (or was rejected): nothing is credited now
        return JobResponse.of(job)
    return mass_accruals.run_mass_accrual(store, admin, config=config, job_id=body.job_id, max_batch=body.max_batch, now=ctx.now)


@router.get("/mass_accruals/{job_id}")
def mass_accrual_view(request: Any, ctx: Context) -> JobResponse:
    admin = _admin(request, ctx, "mass_accrual.read")
    return mass_accruals.get_job(entry.store(), admin, ctx.params["job_id"])


@router.post("/mass_accruals/{job_id}/run")
def mass_accrual_run(request: Any, ctx: Context) -> JobResponse:
    admin = _admin(request, ctx, "mass_accrual.run")
    body = _body(ctx, MassAccrualRunRequest)
    return mass_accruals.run_mass_accrual(entry.store(), admin, config=entry.config(ctx.now), job_id=ctx.params["job_id"], max_batch=body.max_batch, now=ctx.now)


# --- customers ---------------------------------------------------------------------------------


@router.post("/customers/search")
def customers_search(request: Any, ctx: Context) -> CustomerSearchResponse:
    admin = _admin(request, ctx, "customer.read")
    body = _body(ctx, CustomerSearchRequest)
    if body.query is not None:
        return overview.find_customers(entry.store(), admin, config=entry.config(ctx.now), query=body.query, now=ctx.now)
    return customers.search_customers(entry.store(), admin, config=entry.config(ctx.now), prefix=body.prefix, phone=body.phone, cursor=body.cursor, limit=body.limit, now=ctx.now)


@router.get("/customers/{customer_id}")
def customer_view(request: Any, ctx: Context) -> CustomerDetail:
    admin = _admin(request, ctx, "customer.read")
    return customers.customer_detail(entry.store(), admin, config=entry.config(ctx.now), customer_id=_customer(ctx), now=ctx.now)


@router.post("/customers/{customer_id}/overview")
def customer_overview(request: Any, ctx: Context) -> CustomerOverview:
    admin, page = _admin(request, ctx, "customer.read"), _body(ctx, OverviewRequest).model_dump()  # before_seq, orders_after, limit
    return overview.customer_overview(entry.store(), admin, config=entry.config(ctx.now), customer_id=_customer(ctx), now=ctx.now, **page)


@router.post("/customers/{customer_id}/ledger")
def customer_ledger(request: Any, ctx: Context) -> LedgerResponse:
    admin = _admin(request, ctx, "ledger.read")
    body = _body(ctx, LedgerRequest)
    return customers.customer_ledger(entry.store(), admin, customer_id=_customer(ctx), before_seq=body.before_seq, limit=body.limit)


@router.post("/customers/{customer_id}/adjust")
def customer_adjust(request: Any, ctx: Context) -> AdjustResponse:
    admin = _admin(request, ctx, "ledger.adjust")
    body = ctx.body(AdjustRequest)
    return adjustments.adjust(
        entry.store(), admin, config=entry.config(ctx.now), customer_id=_customer(ctx), amount=body.amount, reason=body.reason, key=body.idempotency_key, lifetime_days=body.lifetime_days, now=ctx.now
    )


@router.post("/customers/{customer_id}/level")
def customer_level(request: Any, ctx: Context) -> LevelResponse:
    admin = _admin(request, ctx, "customer.level")
    body = ctx.body(LevelRequest)
    return adjustments.override_level(entry.store(), admin, config=entry.config(ctx.now), customer_id=_customer(ctx), level=body.level, reason=body.reason, key=body.idempotency_key, now=ctx.now)


@router.post("/customers/{customer_id}/group")
def customer_group(request: Any, ctx: Context) -> GroupResponse:
    admin = _admin(request, ctx, "customer.group")
    body = ctx.body(GroupRequest)
    return adjustments.change_group(entry.store(), admin, config=entry.config(ctx.now), customer_id=_customer(ctx), group=body.group, reason=body.reason, key=body.idempotency_key, now=ctx.now)


@router.post("/customers/{customer_id}/block")
def customer_block(request: Any, ctx: Context) -> BlockResponse:
    return _set_blocked(request, ctx, blocked=True)


@router.post("/customers/{customer_id}/unblock")
def customer_unblock(request: Any, ctx: Context) -> BlockResponse:
    return _set_blocked(request, ctx, blocked=False)


def _set_blocked(request: Any, ctx: Context, *, blocked: bool) -> BlockResponse:
    admin, body = _admin(request, ctx, "customer.block"), ctx.body(BlockRequest)
    return adjustments.set_blocked(entry.store(), admin, customer_id=_customer(ctx), blocked=blocked, reason=body.reason, now=ctx.now)


# --- orders and payouts --------------------------------------------------------------------------


@router.post("/orders")
def call_centre_order(request: Any, ctx: Context) -> CallCentreOrderResponse:
    admin = _admin(request, ctx, "order.call_centre")
    body = ctx.body(CallCentreOrderRequest)
    return orders.call_centre_order(
        entry.store(), admin, config=entry.config(ctx.now), customer_id=body.customer_id, order_id=body.order_id, lines=body.lines, bonuses=body.bonuses, promo_code=body.promo_code, now=ctx.now
    )


@router.post("/orders/flagged")
def orders_flagged(request: Any, ctx: Context) -> FlaggedOrdersResponse:
    admin = _admin(request, ctx, "order.review")
    body = _body(ctx, FlaggedOrdersRequest)
    return orders.flagged_orders(entry.store(), admin, cursor=body.cursor, limit=body.limit)


@router.post("/orders/{order_id}/delivered")
def order_delivered(request: Any, ctx: Context) -> ManualDeliveryResponse:
    admin = _admin(request, ctx, "order.deliver")
    body = ctx.body(ManualDeliveryRequest)
    return orders.mark_delivered(
        entry.store(),
        admin,
        config=entry.config(ctx.now),
        order_id=orders.valid_order_id(ctx.params["order_id"]),
        reason=body.reason,
        delivered_at=body.delivered_at,
        now=ctx.now,
    )


@router.post("/orders/{order_id}/return")
def order_return(request: Any, ctx: Context) -> ReturnResponse:
    admin, body = _admin(request, ctx, "order.return"), ctx.body(ReturnRequest)
    order_id = orders.valid_order_id(ctx.params["order_id"])
    return overview.return_lines(entry.store(), admin, config=entry.config(ctx.now), order_id=order_id, return_id=body.return_id, lines=body.lines, reason=body.reason, now=ctx.now)


@router.post("/payouts/search")
def payouts_search(request: Any, ctx: Context) -> PayoutListResponse:
    admin = _admin(request, ctx, "payout.read")
    body = _body(ctx, PayoutSearchRequest)
    return payouts.list_payouts(entry.store(), admin, status=body.status, cursor=body.cursor, limit=body.limit)


@router.post("/payouts/{request_id}/approve")
def payout_approve(request: Any, ctx: Context) -> ApprovalView:
    admin = _admin(request, ctx, "payout.approve")
    body = _body(ctx, PayoutApproveRequest)
    return payouts.request_payout_approval(entry.store(), admin, request_id=ctx.params["request_id"], reason=body.reason, key=body.idempotency_key, now=ctx.now)


@router.post("/payouts/{request_id}/reject")
def payout_reject(request: Any, ctx: Context) -> PayoutView:
    admin = _admin(request, ctx, "payout.reject")
    body = ctx.body(PayoutRejectRequest)
    return payouts.reject_payout(entry.store(), admin, request_id=ctx.params["request_id"], reason=body.reason, now=ctx.now, config=entry.config(ctx.now))


@router.post("/payouts/{request_id}/paid")
def payout_paid(request: Any, ctx: Context) -> PayoutView:
    admin = _admin(request, ctx, "payout.mark_paid")
    return payouts.mark_payout_paid(entry.store(), admin, request_id=ctx.params["request_id"], now=ctx.now, config=entry.config(ctx.now))


@router.post("/payouts/{request_id}/destination")
def payout_destination(request: Any, ctx: Context) -> PayoutDestinationView:
    admin = _admin(request, ctx, "payout.reveal")
    from shared.platform import sealing  # the cipher loads with the first reveal, not at a cold start

    return payouts.reveal_destination(entry.store(), admin, request_id=ctx.params["request_id"], sealer=sealing.payout_sealer(), now=ctx.now)


# --- approvals, audit, reports ----------------------------------------------------------------


@router.post("/approvals/search")
def approvals_search(request: Any, ctx: Context) -> ApprovalListResponse:
    admin = _admin(request, ctx, "approval.read")
    body = _body(ctx, ApprovalSearchRequest)
    return approvals.list_approvals(entry.store(), admin, status=ApprovalStatus(body.status), cursor=body.cursor, limit=body.limit)


@router.get("/approvals/{approval_id}")
def approval_view(request: Any, ctx: Context) -> ApprovalView:
    admin = _admin(request, ctx, "approval.read")
    return approvals.get_approval(entry.store(), admin, ctx.params["approval_id"])


@router.post("/approvals/{approval_id}/approve")
def approval_approve(request: Any, ctx: Context) -> ApprovalView:
    admin = _admin(request, ctx)  # the role needed is the approval's action's: checked by the use case
    return approvals.approve(entry.store(), admin, ctx.params["approval_id"], config=entry.config(ctx.now), now=ctx.now, comment=_body(ctx, ApprovalApproveRequest).comment)


@router.post("/approvals/{approval_id}/reject")
def approval_reject(request: Any, ctx: Context) -> ApprovalView:
    admin = _admin(request, ctx)
    body = ctx.body(ApprovalRejectRequest)
    return approvals.reject(entry.store(), admin, ctx.params["approval_id"], reason=body.reason, now=ctx.now)


@router.post("/audit/search")
def audit_search(request: Any, ctx: Context) -> AuditResponse:
    admin = _admin(request, ctx, "audit.read")
    body = _body(ctx, AuditSearchRequest)
    return audit.search_audit(entry.store(), admin, **body.model_dump())


@router.post("/reports/liability")
def liability(request: Any, ctx: Context) -> LiabilityResponse:
    admin = _admin(request, ctx, "report.liability")
    body = _body(ctx, LiabilityRequest)
    return reports.liability_report(entry.store(), admin, config=entry.config(ctx.now), now=ctx.now, cursor=body.cursor, limit=body.limit)


# --- the product catalog ------------------------------------------------------------------------

CATALOG_FILE_BYTES = 16 * 1024 * 1024  # an uploaded export; a bigger catalog is imported from its feed


@router.post("/catalog/import")
def catalog_import(request: Any, ctx: Context) -> CatalogImportResponse:
    admin = _admin(request, ctx, "catalog.import")
    config = entry.config(ctx.now)
    kind = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if kind in entry.CATALOG_FILES:  # the file itself is the body
        rows = entry.catalog_file_rows(kind, ctx.raw_body(CATALOG_FILE_BYTES), config)
        return catalog.import_rows(entry.store(), admin, config=config, rows=rows, source=entry.CATALOG_FILES[kind], now=ctx.now)
    body = _body(ctx, CatalogImportRequest)
    return catalog.import_feed(entry.store(), admin, config=config, feed_url=body.feed_url, load=entry.feed_loader(config), now=ctx.now)


@router.get("/catalog")
def catalog_page(request: Any, ctx: Context) -> CatalogPage:
    admin = _admin(request, ctx, "catalog.read")
    query = parse(CatalogQuery, {key: request.args.get(key) for key in request.args})
    return catalog.list_products(entry.store(), admin, query=query.q, cursor=query.cursor, limit=query.limit)


@router.get("/catalog/products/{uid}")
def catalog_product(request: Any, ctx: Context) -> ProductView:
    admin = _admin(request, ctx, "catalog.read")
    return catalog.get_product(entry.store(), admin, uid=ctx.params["uid"])


@router.route("PUT", "/catalog/products/{uid}")
def catalog_product_put(request: Any, ctx: Context) -> ProductView:
    admin = _admin(request, ctx, "catalog.edit")
    body = ctx.body(ProductPutRequest)
    return catalog.put_product(entry.store(), admin, product=body.product(ctx.params["uid"]), reason=body.reason, now=ctx.now)


admin_campaigns.register(router)  # a mass accrual's preview, customer list and recent jobs; an import's report
admin_campaign_results.register(router)  # a campaign's results against the weeks before it
admin_program.register(router)  # a draft program checked, compared and priced; one stored version
admin_reports.register(router)  # the dashboards and the bank's payout batch
admin_events.register(router)  # an event credited by hand; sticker batches and their export


def admin(request: Any) -> Any:
    """The functions-framework entry point."""
    return router.dispatch(request)
