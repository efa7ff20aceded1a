"""sms_otp: phone login with SMS codes, token refresh and Telegram login (CORS: the shop's origins).

    POST /request   {phone, invited_by?, captcha?} -> {sent, expires_in, resend_after, invited}
                    (a risky request needs a passing SmartCaptcha token: 403 captcha_required)
    POST /verify    {phone, code} -> Session (access + refresh token; the first login registers)
    POST /refresh   {refresh_token} -> Session (the refresh token is used up)
    POST /logout    {refresh_token} -> {logged_out, replayed} (the family is revoked, the access tokens end at once)
    POST /telegram  Telegram Login Widget fields -> log the linked customer in
    POST /telegram/oidc    {code, code_verifier, redirect_uri, nonce} ("Log in with Telegram", OpenID Connect) -> log in
    POST /telegram/link    {telegram | oidc, code} with a customer token -> link (code: an SMS code sent to the account's phone)
    POST /telegram/unlink  with a customer token -> unlink; every session of the customer ends
    POST /telegram/bot     the shop bot's webhook (X-Telegram-Bot-Api-Secret-Token): a shared own
                           contact registers the customer, phone verified by Telegram, no SMS

Limits are 429 with ``details.retry_after`` seconds (``reason``: phone_window,
phone_daily, verify_delay, ip, network_share, daily_budget); an SMS gateway that did not take the message is
503. The caller's address for the per-address limits is the
``X-Forwarded-For`` entry our trusted proxy appended (``shared.edge.http.client_ip``).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from shared.api.sms_otp import (
    CodeRequest,
    CodeSent,
    LoggedOut,
    RefreshRequest,
    Session,
    TelegramAuth,
    TelegramLink,
    TelegramOidc,
    TelegramResult,
    TelegramUnlinked,
    VerifyRequest,
)
from shared.api.telegram_bot import BotUpdate
from shared.domain.errors import ValidationFailed
from shared.edge import entry
from shared.edge.http import Context, Router, client_ip
from shared.platform import bootstrap
from shared.platform.settings import settings
from shared.services import identity

router = Router("sms_otp", cors=True, requires=("token_secret",))
log = logging.getLogger("kopilka")
LOOPBACK = ("127.0.0.1", "localhost", "::1")  # a shop on this machine may redirect over plain HTTP (RFC 8252 §7.3)


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
    if entry.customer_id(request, ctx.now, required=False) is not None:  # a bad token is a 401, not an anonymous login
        raise identity.PhoneProofRequired("a customer token alone does not link Telegram: POST /telegram/link with a code sent to the account's phone")
    body = ctx.body(TelegramAuth)
    return identity.telegram_login(entry.store(), keys=_keys(), fields=body.signed_fields(), now=ctx.now)


@router.post("/telegram/oidc")
def telegram_oidc_endpoint(request: Any, ctx: Context) -> TelegramResult:
    body = ctx.body(TelegramOidc)
    user = _oidc_user(body, ctx)
    return identity.login_linked(entry.store(), keys=_keys(), telegram_id=user.id, now=ctx.now)


@router.post("/telegram/link")
def telegram_link_endpoint(request: Any, ctx: Context) -> TelegramResult:
    customer_id = entry.customer_id(request, ctx.now)
    body = ctx.body(TelegramLink)
    keys = _keys()
    if body.oidc is not None:
        user = _oidc_user(body.oidc, ctx)
    else:
        assert body.telegram is not None  # the model requires one of them
        user = identity.verify_telegram(body.telegram.signed_fields(), bot_token=keys.telegram_bot_token, now=ctx.now)
    return identity.link_telegram(
        entry.store(), keys=keys, gateway=bootstrap.sms(), user=user, customer_id=customer_id, code=body.code, now=ctx.now, daily_budget=settings().sms_daily_budget
    )


def _oidc_user(body: TelegramOidc, ctx: Context) -> identity.TelegramUser:
    """The Telegram account an OpenID Connect login proves; its redirect must be a page of the shop
    (HTTPS, or plain HTTP only on this machine's loopback address)."""
    try:
        target = urlsplit(body.redirect_uri)
        secure = target.scheme == "https" or (target.scheme == "http" and target.hostname in LOOPBACK)
        origin = f"{target.scheme}://{target.netloc}" if secure else None
    except ValueError:  # e.g. a malformed IPv6 host
        origin = None
    if origin is None or origin not in settings().allowed_origins:
        raise ValidationFailed("the redirect URI is not a page of the shop's origins", field="redirect_uri")
    return identity.oidc_user(
        entry.store(), provider=bootstrap.telegram_oidc(), code=body.code, code_verifier=body.code_verifier, redirect_uri=body.redirect_uri, nonce=body.nonce, now=ctx.now
    )


@router.post("/telegram/unlink")
def telegram_unlink_endpoint(request: Any, ctx: Context) -> TelegramUnlinked:
    return identity.unlink_telegram(entry.store(), customer_id=entry.customer_id(request, ctx.now), now=ctx.now)


@router.post("/telegram/bot")
def telegram_bot_endpoint(request: Any, ctx: Context) -> dict[str, Any]:
    keys = _keys()
    identity.check_bot_secret(keys, request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
    update = ctx.body(BotUpdate)
    answer = identity.handle_update(
        entry.store(), config=entry.config(ctx.now), keys=keys, gateway=bootstrap.sms(), update=update, now=ctx.now, daily_budget=settings().sms_daily_budget
    )
    return answer.model_dump(mode="json", exclude_none=True)  # a Bot API call Telegram makes for us, or nothing


def sms_otp(request: Any) -> Any:
    """The functions-framework entry point."""
    return router.dispatch(request)
