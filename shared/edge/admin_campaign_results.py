"""The admin function's route for a campaign's results (registered by ``functions/admin/main.py`` on its
router, under the same token and role checks)."""

from __future__ import annotations

from typing import Any

from shared.api.admin.campaign_results import CampaignResults
from shared.edge import admin_auth, entry
from shared.edge.http import Context, Router
from shared.services.admin import campaign_results


def register(router: Router) -> None:
    @router.get("/campaigns/{code}/results")
    def results(request: Any, ctx: Context) -> CampaignResults:
        admin = admin_auth.authenticate(entry.store(), request, ctx.now).require("campaign.read")
        return campaign_results.results(entry.store(), admin, config=entry.config(ctx.now), code=ctx.params["code"], now=ctx.now)
