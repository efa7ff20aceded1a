"""The checkout function's routes for earning events from the shop's tools (registered by
``functions/checkout/main.py``).

``POST /checkout/events`` — a shop tool (a review widget, a mailing service, a repost checker)
reports an event, signed: ``X-Kopilka-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw body
with ``KOPILKA_EVENTS_SECRET``; a missing or wrong signature is a 403 before the body is read as
JSON. A credit answers ``credited``; the same event again ``already_credited`` (200, nothing
changed, so the tool stops redelivering); the rules' refusals are 422 with their code.

``POST /tilda-events/{token}`` — a Tilda form (a newsletter sign-up, a "my repost" form) sends its
submission here (Site settings → Forms → Webhook). The token names the event and proves the shop
set it: ``<event>-<first 32 hex of HMAC-SHA256(KOPILKA_EVENTS_SECRET, "tilda-events:<event>")>``
(:func:`tilda_token`). The form's ``Phone`` or ``Email`` names the customer, ``url`` / ``sku`` the
post or the product. Tilda's ``test=test`` ping answers "ok"; a submission whose customer is not
known, or that the rules refuse, answers 200 ``ignored`` with the reason (Tilda would only resend it).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from pydantic import ValidationError

from shared.adapters import tilda
from shared.api.events import EventCreditResponse, EventWebhookRequest
from shared.domain.config import EarningEvent
from shared.domain.errors import DomainError, Forbidden, ValidationFailed
from shared.edge import entry
from shared.edge.http import Context, Router
from shared.platform.settings import settings
from shared.services import earning_events

SIGNATURE_HEADER = "X-Kopilka-Signature"
TILDA_EVENTS = ("newsletter", "repost", "review")
_KEY_FIELDS = ("url", "link", "post", "sku", "product")


def signature(secret: str, body: bytes) -> str:
    """The header value a shop tool sends with ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def tilda_token(secret: str, event: str) -> str:
    """The path token of the Tilda form webhook of ``event``."""
    return f"{event}-" + hmac.new(secret.encode(), f"tilda-events:{event}".encode(), hashlib.sha256).hexdigest()[:32]


def _secret() -> str:
    secret = settings().events_secret
    if not secret:
        raise Forbidden("earning events are not configured", message_ru="Доступ запрещён.")
    return secret


def register(router: Router) -> None:
    @router.post("/checkout/events")
    def signed_event(request: Any, ctx: Context) -> EventCreditResponse:
        secret = _secret()
        raw = ctx.raw_body(64 * 1024)
        sent = request.headers.get(SIGNATURE_HEADER) or ""
        if not hmac.compare_digest(sent.encode(), signature(secret, raw).encode()):
            raise Forbidden("wrong or missing event signature", message_ru="Доступ запрещён.")
        body = ctx.body(EventWebhookRequest)
        who = body.customer
        store = entry.store()
        customer_id = earning_events.resolve_customer(store, customer_id=who.id, phone=who.phone, email=who.email)
        try:
            credit = earning_events.credit(store, config=entry.config(ctx.now), customer_id=customer_id, event=EarningEvent(body.event), key=body.key, now=ctx.now, rule_code=body.rule)
        except earning_events.AlreadyCredited as exc:
            return EventCreditResponse(result="already_credited", customer_id=customer_id, event=body.event, rule=exc.details.get("rule"), key=exc.details.get("key"))
        return EventCreditResponse.credited(credit)

    @router.post("/tilda-events/{token}")
    def tilda_event(request: Any, ctx: Context) -> Any:
        secret = _secret()
        token = ctx.params["token"]
        event = token.split("-", 1)[0]
        if event not in TILDA_EVENTS or not hmac.compare_digest(token.encode(), tilda_token(secret, event).encode()):
            raise Forbidden("wrong webhook token", message_ru="Доступ запрещён.")
        fields = tilda.read_fields(ctx.raw_body(), request.headers.get("Content-Type"))
        if tilda.is_ping(fields):
            return "ok"
        lowered = {str(k).lower(): v for k, v in fields.items() if isinstance(v, (str, int))}
        phone, email = (str(lowered[f]).strip() or None if f in lowered else None for f in ("phone", "email"))
        key = next((str(lowered[f]).strip() for f in _KEY_FIELDS if str(lowered.get(f, "")).strip()), None)
        try:
            if phone is None and email is None:
                raise ValidationFailed("the form has no Phone nor Email field", field="phone")
            store = entry.store()
            customer_id = earning_events.resolve_customer(store, phone=phone, email=None if phone else email)
            credit = earning_events.credit(store, config=entry.config(ctx.now), customer_id=customer_id, event=EarningEvent(event), key=key, now=ctx.now)
        except (DomainError, ValidationError) as exc:
            code = exc.code if isinstance(exc, DomainError) else "validation_failed"
            if isinstance(exc, DomainError) and exc.code == "retryable":
                raise
            return {"result": "ignored", "reason": code, "formid": str(lowered.get("formid", ""))[:64] or None}
        return EventCreditResponse.credited(credit).model_dump(mode="json")
