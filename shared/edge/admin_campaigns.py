"""The admin function's routes for a mass accrual's preview, its customer list read from a file and the
recent jobs, and a catalog import's report (registered by ``functions/admin/main.py`` on its router,
under the same token and role checks)."""

from __future__ import annotations

from typing import Any

from shared.api.admin.catalog import CatalogImportResponse
from shared.api.admin.mass_accruals import CustomerListResponse, JobListRequest, JobListResponse, MassAccrualPreview, MassAccrualPreviewRequest
from shared.edge import admin_auth, entry
from shared.edge.http import Context, Router
from shared.services.admin import catalog, mass_segments


def register(router: Router) -> None:
    @router.post("/mass_accruals/preview")
    def mass_accrual_preview(request: Any, ctx: Context) -> MassAccrualPreview:
        admin = admin_auth.authenticate(entry.store(), request, ctx.now).require("mass_accrual.run")
        body = ctx.body(MassAccrualPreviewRequest)
        return mass_segments.preview(entry.store(), admin, config=entry.config(ctx.now), amount=body.amount, now=ctx.now, **body.segment())

    @router.post("/mass_accruals/customer_list")
    def mass_accrual_customer_list(request: Any, ctx: Context) -> CustomerListResponse:
        admin = admin_auth.authenticate(entry.store(), request, ctx.now).require("mass_accrual.run")
        return mass_segments.read_customer_list(entry.store(), admin, data=ctx.raw_body(1024 * 1024))  # a list of 5000 phones is some 80 KB

    @router.post("/mass_accruals/search")
    def mass_accrual_list(request: Any, ctx: Context) -> JobListResponse:
        admin = admin_auth.authenticate(entry.store(), request, ctx.now).require("mass_accrual.read")
        return mass_segments.recent_jobs(entry.store(), admin, limit=ctx.optional_body(JobListRequest).limit)

    @router.get("/catalog/import/{import_id}")
    def catalog_import_view(request: Any, ctx: Context) -> CatalogImportResponse:
        admin = admin_auth.authenticate(entry.store(), request, ctx.now).require("catalog.read")
        return catalog.import_report(entry.store(), admin, import_id=None if ctx.params["import_id"] == "last" else ctx.params["import_id"])
