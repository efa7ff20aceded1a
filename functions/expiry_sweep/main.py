"""expiry_sweep: the scheduled sweep and the messages' dispatcher.

    POST /run       Cloud Scheduler (OIDC token) or the sweep secret header. Cancels
                    orders left unpaid, writes off expired bonuses, releases stale
                    reservations, re-evaluates rolling-window levels, records expiry
                    warnings, credits birthday bonuses, takes the dashboards' daily
                    snapshot (report_days/{day}, which keeps its own position) and imports the catalog's
                    YML feed (``catalog.feed_url``) — each pass bounded, its
                    position stored in sweeps/{name}, so the next run continues a
                    pass this one did not finish. Then sends the outbox's due messages.
                    Answers the counts.
    POST /dispatch  the same callers: sends the outbox's due messages (docs/messages.md).

``dispatch_outbox`` is the entry an Eventarc trigger on the creation of an ``outbox``
document calls (a CloudEvent): it runs the same dispatcher, so a message due now goes
within seconds instead of at the next scheduled run.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import functions_framework

from shared.api.expiry_sweep import DispatchRequest, DispatchResult, SweepRequest, SweepResult
from shared.edge import entry, scheduler_auth
from shared.edge.http import Context, Router
from shared.platform import bootstrap
from shared.services import dispatch, sweeps

router = Router("expiry_sweep")


def _dispatch(now: datetime, limit: int) -> dispatch.DispatchReport:
    return dispatch.dispatch(entry.store(), bootstrap.message_channels(), now=now, owner=uuid.uuid4().hex, limit=limit)


@router.post("/run")
def run_endpoint(request: Any, ctx: Context) -> Any:
    scheduler_auth.require_scheduler(request)
    body = ctx.optional_body(SweepRequest)  # Cloud Scheduler may post nothing
    config = entry.config(ctx.now)
    counts = sweeps.run_sweep(entry.store(), config=config, now=ctx.now, batch=body.batch, max_pages=body.max_pages, feed=entry.feed_loader(config))
    sent = _dispatch(ctx.now, body.batch).sent
    return SweepResult(**counts, messages_sent=sent)


@router.post("/dispatch")
def dispatch_endpoint(request: Any, ctx: Context) -> DispatchResult:
    scheduler_auth.require_scheduler(request)
    body = ctx.optional_body(DispatchRequest)
    report = _dispatch(ctx.now, body.limit)
    return DispatchResult(sent=report.sent, failed=report.failed, skipped=report.skipped, held=report.held)


def expiry_sweep(request: Any) -> Any:
    """The functions-framework target."""
    return router.dispatch(request)


@functions_framework.cloud_event
def dispatch_outbox(cloud_event: Any) -> None:
    """The Eventarc target (``google.cloud.firestore.document.v1.created`` on ``outbox/{key}``)."""
    _dispatch(datetime.now(timezone.utc), 200)
