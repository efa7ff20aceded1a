"""The admin function's routes for the dashboards, one payout request and the bank's payout batch (registered by
``functions/admin/main.py`` on its router, under the same token and role checks)."""

from __future__ import annotations

from typing import Any

from shared.api.admin import PayoutView
from shared.api.admin.reports import DashboardRequest, DashboardResponse, PayoutExportRequest, PayoutExportResponse
from shared.edge import admin_auth, entry
from shared.edge.http import Context, Router
from shared.services.admin import dashboards, payouts


def register(router: Router) -> None:
    @router.post("/reports/dashboard")
    def dashboard(request: Any, ctx: Context) -> DashboardResponse:
        admin = admin_auth.authenticate(entry.store(), request, ctx.now)
        body = ctx.optional_body(DashboardRequest)
        return dashboards.dashboard(entry.store(), admin, now=ctx.now, weeks=body.weeks)

    @router.get("/payouts/{request_id}")
    def payout_view(request: Any, ctx: Context) -> PayoutView:
        admin = admin_auth.authenticate(entry.store(), request, ctx.now).require("payout.read")
        return payouts.get_payout(entry.store(), admin, request_id=ctx.params["request_id"])

    @router.post("/payouts/export")
    def payouts_export(request: Any, ctx: Context) -> PayoutExportResponse:
        admin = admin_auth.authenticate(entry.store(), request, ctx.now).require("payout.read")
        body = ctx.optional_body(PayoutExportRequest)
        if body.reveal:
            admin.require("payout.reveal")
        from shared.platform import sealing  # the cipher loads with the first export, not at a cold start

        return payouts.export_approved(entry.store(), admin, reveal=body.reveal, sealer=sealing.payout_sealer() if body.reveal else None, now=ctx.now)
