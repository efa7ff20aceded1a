"""sms_otp: phone login with SMS codes, token refresh and Telegram login (CORS: the shop's origins).

    POST /request   {phone, invited_by?, captcha?} -> {sent, expires_in, resend_after, invited}
                    (a risky request needs a passing SmartCaptcha token: 403 captcha_required)
    POST /verify    {phone, code} -> Session (access + refresh token; the first login registers)
    POST /refresh   {refresh_token} -> Session (the refresh token is used up)
    POST /logout    {refresh_token} -> {logged_out, replayed} (the family is revoked, the access tokens end at once)
    POST /telegram  Telegram Login Widget fields -> link (with a customer token) or log in

Limits are 429 with ``details.retry_after`` seconds (``reason``: phone_window,
phone_daily, verify_delay, ip, network_share, daily_budget); an SMS gateway that did not take the message is
503. The caller's address for the per-address limits is the
``X-Forwarded-For`` entry our trusted proxy appended (``shared.edge.http.client_ip``).
"""

from __future__ import annotations

import logging
from typing import Any

from shared.api.sms_otp import (
    CodeRequest,
    CodeSent,
    LoggedOut,
    RefreshRequest,
    Session,
    TelegramAuth,
    TelegramResult,
    VerifyRequest,
)
from shared.edge import entry
from shared.edge.http import Context, Router, client_ip
from shared.platform import bootstrap
from shared.platform.settings import settings
from shared.services import identity

router = Router("sms_otp", cors=True, requires=("token_secret",))
log = logging.getLogger("kopilka")


def _keys() -> identity.IdentityKeys:
    return identity.IdentityKeys.from_settings(settings())


@router.post("/request")
def request_endpoint(request: Any, ctx: Context) -> CodeSent:
    body = ctx.body(CodeRequest)
    return identity.request_code(
        entry.store(),
        gateway=bootstrap.sms(),
        keys=_keys(),
        phone=body.phone,
        ip=client_ip(request),
        invited_by=body.invited_by,
        daily_budget=settings().sms_daily_budget,
        captcha=bootstrap.captcha(),
        captcha_token=body.captcha,
        now=ctx.now,
    )


@router.post("/verify")
def verify_endpoint(request: Any, ctx: Context) -> Session:
    body = ctx.body(VerifyRequest)
    return identity.verify_code(entry.store(), config=entry.config(ctx.now), keys=_keys(), phone=body.phone, code=body.code, ip=client_ip(request), now=ctx.now)


@router.post("/refresh")
def refresh_endpoint(request: Any, ctx: Context) -> Session:
    body = ctx.body(RefreshRequest)
    return identity.refresh_session(entry.store(), keys=_keys(), refresh_token=body.refresh_token, now=ctx.now)


@router.post("/logout")
def logout_endpoint(request: Any, ctx: Context) -> LoggedOut:
    body = ctx.body(RefreshRequest)
    return identity.logout(entry.store(), keys=_keys(), refresh_token=body.refresh_token, now=ctx.now)


@router.post("/telegram")
def telegram_endpoint(request: Any, ctx: Context) -> TelegramResult:
    customer_id = entry.customer_id(request, ctx.now, required=False)  # a bad token is a 401, not an anonymous login
    body = ctx.body(TelegramAuth)
    return identity.telegram_login(entry.store(), keys=_keys(), fields=body.signed_fields(), customer_id=customer_id, now=ctx.now)


def sms_otp(request: Any) -> Any:
    """The functions-framework entry point."""
    return router.dispatch(request)
