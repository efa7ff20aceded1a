"""Sign-in (e-mail, password, the authenticator's code), enrolling the second factor, sign-out.

The sign-in form is protected against login CSRF by a double-submitted value: a
short-lived ``__Host-`` cookie and the same value in the form."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from pydantic import BaseModel, Field

from console.app import NOTICES, FormInvalid, Page, page, page_reply, parse_form, redirect, router, session_cookie
from shared.domain import errors
from shared.edge import entry
from shared.edge.http import Context, Reply, client_ip
from shared.services import admin_mfa, admins, console_sessions

LOGIN_COOKIE = "__Host-kopilka_console_login"


class SignIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)
    otp: str | None = Field(default=None, max_length=16)
    recovery_code: str | None = Field(default=None, max_length=64)


def _safe_next(value: str | None) -> str:
    """Only a path of the console itself (never another site: ``//evil`` or ``https://…``)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _login_page(next_path: str, *, email: str = "", ask_code: bool = False, message: str | None = None, done: str | None = None, fields: dict[str, str] | None = None, status: int = 200) -> Reply:
    nonce = secrets.token_urlsafe(24)
    reply = page_reply("login.html", status=status, me=None, nav=[], current="/login", csrf=nonce, next=next_path, email=email, ask_code=ask_code, message=message, done=done, fields=fields or {})
    reply.headers["Set-Cookie"] = f"{LOGIN_COOKIE}={nonce}; Path=/; Max-Age=900; HttpOnly; Secure; SameSite=Strict"
    return reply


@router.get("/login")
def login_form(request: Any, ctx: Context) -> Reply:
    return _login_page(_safe_next(request.args.get("next")), done=NOTICES.get(request.args.get("done", "")))


@router.post("/login")
def login(request: Any, ctx: Context) -> Reply:
    fields = {k: str(v) for k, v in request.form.items()}
    next_path = _safe_next(fields.get("next"))
    sent, kept = fields.get("csrf") or "", request.cookies.get(LOGIN_COOKIE) or ""
    if not sent or not hmac.compare_digest(sent, kept):
        return _login_page(next_path, email=fields.get("email", ""), message="Форма устарела: введите данные ещё раз.", status=403)
    try:
        body = parse_form(SignIn, fields)
    except FormInvalid as exc:
        return _login_page(next_path, email=fields.get("email", ""), fields=exc.fields, status=400)
    try:
        issued = admins.login(entry.store(), email=body.email, password=body.password, otp=body.otp, recovery_code=body.recovery_code, ip=client_ip(request), now=ctx.now)
    except admin_mfa.OtpRequired:
        return _login_page(next_path, email=body.email, ask_code=True, fields={"otp": "Введите код из приложения-аутентификатора и пароль ещё раз."})
    except admin_mfa.OtpInvalid:
        return _login_page(next_path, email=body.email, ask_code=True, fields={"otp": "Код не подошёл. Введите новый код из приложения."}, status=401)
    except errors.TooManyRequests as exc:
        return _login_page(next_path, email=body.email, message=exc.message_ru or "Слишком много попыток. Попробуйте позже.", status=429)
    except errors.Unauthorized as exc:
        return _login_page(next_path, email=body.email, message=exc.message_ru or "Неверный адрес или пароль.", status=401)
    sid = console_sessions.start(entry.store(), token=issued.token, email=issued.email, expires_at=issued.expires_at, now=ctx.now)
    target = "/mfa" if issued.mfa_setup_required else next_path
    return redirect(target, cookie=session_cookie(sid))


@page("POST", "/logout", enrolling=True)
def logout(p: Page) -> Reply:
    console_sessions.end(entry.store(), p.session, now=p.now)
    return redirect("/login?done=signed_out", cookie=session_cookie(None))


@page("GET", "/mfa", enrolling=True)
def mfa_form(p: Page) -> Reply:
    setup = admin_mfa.setup_totp(entry.store(), email=p.admin.email, now=p.now)
    return p.render("mfa.html", secret=setup.secret, uri=setup.otpauth_uri, fields={}, codes=None)


class MfaCode(BaseModel):
    otp: str = Field(min_length=6, max_length=8)


@page("POST", "/mfa", enrolling=True)
def mfa_confirm(p: Page) -> Reply:
    fields = p.form()
    try:
        body = parse_form(MfaCode, fields)
        confirmed = admin_mfa.confirm_totp(entry.store(), email=p.admin.email, code=body.otp, now=p.now)
    except FormInvalid as exc:
        return p.render("mfa.html", status=400, secret=fields.get("secret", ""), uri="", fields=exc.fields, codes=None)
    except errors.DomainError as exc:
        return p.render("mfa.html", status=400, secret=fields.get("secret", ""), uri="", fields={"otp": exc.message_ru or "Код не подошёл."}, codes=None)
    console_sessions.end(entry.store(), p.session, now=p.now)
    sid = console_sessions.start(entry.store(), token=confirmed.token, email=confirmed.email, expires_at=confirmed.expires_at, now=p.now)
    p.session = sid
    reply = p.render("mfa.html", secret="", uri="", fields={}, codes=list(confirmed.recovery_codes))
    reply.headers["Set-Cookie"] = session_cookie(sid)
    return reply
