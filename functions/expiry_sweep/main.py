"""expiry_sweep: the scheduled sweep.

    POST /run   Cloud Scheduler (OIDC token) or the sweep secret header. Cancels
                orders left unpaid, writes off expired bonuses, releases stale
                reservations, re-evaluates rolling-window levels, records expiry
                warnings, credits birthday bonuses, takes the dashboards' daily
                snapshot (report_days/{day}, which keeps its own position) and imports the catalog's
                YML feed (``catalog.feed_url``) — each pass bounded, its
                position stored in sweeps/{name}, so the next run continues a
                pass this one did not finish. Answers the counts.
"""

from __future__ import annotations

from typing import Any

from shared.api.expiry_sweep import SweepRequest, SweepResult
from shared.edge import entry, scheduler_auth
from shared.edge.http import Context, Router
from shared.services import sweeps

router = Router("expiry_sweep")


@router.post("/run")
def run_endpoint(request: Any, ctx: Context) -> Any:
    scheduler_auth.require_scheduler(request)
    body = ctx.optional_body(SweepRequest)  # Cloud Scheduler may post nothing
    config = entry.config(ctx.now)
    counts = sweeps.run_sweep(entry.store(), config=config, now=ctx.now, batch=body.batch, max_pages=body.max_pages, feed=entry.feed_loader(config))
    return SweepResult(**counts)


def expiry_sweep(request: Any) -> Any:
    """The functions-framework target."""
    return router.dispatch(request)
