"""delivery_status: carriers' final statuses move orders on.

    POST /cdek/{token}  CDEK ORDER_STATUS webhook. The token is the secret path
                        segment of the subscribed URL (compared in constant time;
                        otherwise 403 and nothing is read or written). A final
                        status is acted upon as CDEK's API reports it, not as
                        the body claims; 503 (``provider_unavailable``, with
                        ``Retry-After``) asks CDEK to deliver again when its API
                        cannot be reached or refuses our credentials.
    POST /poll          Cloud Scheduler: ask Boxberry, Russian Post (and CDEK, as
                        a fallback) about orders due a check, bounded per run.
    POST /tracking      internal: attach {order_id, carrier, tracking} to an order.
    POST /return        internal: a (partial) return {order_id, return_id, lines}.

Internal routes take Cloud Scheduler's OIDC token or the sweep secret header.
"""

from __future__ import annotations

import hmac
from typing import Any

from shared.adapters import carriers
from shared.api.delivery_status import (
    CdekWebhook,
    DeliveryOutcome,
    PollRequest,
    ReturnRequest,
    ReturnResult,
    TrackingRequest,
    TrackingResult,
)
from shared.domain.errors import Forbidden
from shared.edge import entry, scheduler_auth
from shared.edge.http import Context, Router
from shared.platform import bootstrap
from shared.platform.settings import settings
from shared.services import delivery, orders

router = Router("delivery_status")


@router.post("/cdek/{token}")
def cdek_webhook(request: Any, ctx: Context) -> Any:
    expected = settings().cdek_token
    if not expected or not hmac.compare_digest(ctx.params["token"].encode(), expected.encode()):
        raise Forbidden("unknown webhook URL")
    event = ctx.body(CdekWebhook)
    if event.type != "ORDER_STATUS" or not event.uuid:
        return DeliveryOutcome(outcome="ignored", reason=f"not an order status: {event.type}")
    try:
        result = delivery.cdek_event(
            entry.store(),
            config=entry.config(ctx.now),
            cdek=bootstrap.carrier("cdek"),
            uuid=event.uuid,
            code=event.attributes.code,
            is_return=event.attributes.is_return or event.attributes.is_client_return,
            related=carriers.cdek_direct_links([r.model_dump() for r in event.attributes.related_entities]),
            deleted=event.attributes.deleted,
            now=ctx.now,
        )
    except carriers.CarrierError as exc:  # misconfigured or refused credentials: let CDEK retry later
        raise carriers.CarrierUnavailable(str(exc)) from exc
    # CarrierUnavailable is a ProviderUnavailable: the router answers 503 and CDEK delivers again
    return result


@router.post("/poll")
def poll_endpoint(request: Any, ctx: Context) -> Any:
    scheduler_auth.require_scheduler(request)
    body = ctx.optional_body(PollRequest)  # Cloud Scheduler may post nothing
    return delivery.poll(entry.store(), config=entry.config(ctx.now), now=ctx.now, track=bootstrap.track, batch=body.batch, max_pages=body.max_pages)


@router.post("/tracking")
def tracking_endpoint(request: Any, ctx: Context) -> Any:
    scheduler_auth.require_scheduler(request)
    body = ctx.body(TrackingRequest)
    order = delivery.attach_tracking(entry.store(), order_id=body.order_id, carrier=body.carrier, tracking=body.tracking, now=ctx.now)
    return TrackingResult(order_id=body.order_id, carrier=body.carrier, tracking=body.tracking, status=order.status.value, next_poll_at=order.delivery_poll_at)


@router.post("/return")
def return_endpoint(request: Any, ctx: Context) -> Any:
    scheduler_auth.require_scheduler(request)
    body = ctx.body(ReturnRequest)
    order = orders.mark_returned(entry.store(), config=entry.config(ctx.now), order_id=body.order_id, return_id=body.return_id, returns=dict(body.lines), now=ctx.now)
    return ReturnResult(order_id=body.order_id, status=order.status.value, returned_units=order.returned_units or {})


def delivery_status(request: Any) -> Any:
    """The functions-framework target."""
    return router.dispatch(request)
