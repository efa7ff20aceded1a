"""The login function: SMS codes, token refresh and Telegram login, for the storefront's scripts.

A phone may be typed in any usual spelling (``+7 900 123-45-67``,
``8 (900) 123 45 67``, ``79001234567``); only mobile numbers of the
configured countries (Russia by default) are accepted. Limits are answered
with 429 and ``details.retry_after`` (seconds); the Russian message says
when a new code can be requested.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.api import Endpoint

Phone = Annotated[str, Field(min_length=1, max_length=32, description="As typed; normalised to E.164.", examples=["+7 900 123-45-67"])]


class CodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Phone
    invited_by: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[\w-]+$",
        description="A partner's personal code or customer id from the referral link; an unknown one is ignored (see `invited`).",
    )
    captcha: str | None = Field(
        default=None,
        max_length=4096,
        description="The Yandex SmartCaptcha widget's `smart-token`, checked server-side when the request is risky (403 `captcha_required` without it, `captcha_invalid` when it does not pass).",
    )


class CodeSent(BaseModel):
    model_config = ConfigDict(frozen=True)

    sent: Literal[True] = True
    expires_in: int = Field(description="Seconds the code is valid.")
    resend_after: int = Field(description="Seconds until another code may be requested for this phone (0: now).")
    code_length: int = 6
    invited: bool = Field(description="The invitation was recognised; it applies if this phone registers with this code.")


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Phone
    code: str = Field(pattern=r"^[0-9]{6}$", description="The six digits of the SMS.")


class Session(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    access_token: str = Field(description="Bearer token for the customer endpoints (short-lived).")
    refresh_token: str = Field(description="Single use: POST /refresh answers a new pair; a reused one is refused and revokes the session.")
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds the access token is valid.")
    refresh_expires_in: int = Field(description="Seconds the refresh token is valid.")
    registered: bool = Field(default=False, description="This login opened the customer's account.")
    welcome_bonus: int = Field(default=0, description="Bonuses credited by the registration (0 on later logins).")


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=4096)


class LoggedOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    logged_out: Literal[True] = True
    replayed: bool = Field(description="The session had already ended (a repeated logout changes nothing).")


class TelegramAuth(BaseModel):
    """The Telegram Login Widget's data, every field as received (the hash covers them all)."""

    model_config = ConfigDict(extra="allow")

    id: int = Field(gt=0, lt=2**63)
    auth_date: int = Field(gt=0, lt=2**40, description="Unix time; at most one hour old.")
    hash: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    first_name: str | None = Field(default=None, max_length=256)
    last_name: str | None = Field(default=None, max_length=256)
    username: str | None = Field(default=None, max_length=64)
    photo_url: str | None = Field(default=None, max_length=2048)

    @model_validator(mode="after")
    def _scalar_extras(self) -> TelegramAuth:
        extras = self.model_extra or {}
        if len(extras) > 16:
            raise ValueError("too many fields")
        for key, value in extras.items():
            if len(key) > 64 or isinstance(value, bool) or not isinstance(value, (str, int)) or len(str(value)) > 2048:
                raise ValueError(f"field {key!r} must be a string or an integer")
        return self

    def signed_fields(self) -> dict[str, str | int]:
        """The fields the widget signed, as it sent them (absent ones left out)."""
        return {key: value for key, value in self.model_dump(exclude_unset=True).items() if value is not None}


class TelegramOidc(BaseModel):
    """"Log in with Telegram" (OpenID Connect): the authorization code Telegram redirected back
    with, the PKCE verifier and the nonce the storefront started the login with."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=512, pattern=r"^[\x21-\x7e]+$")
    code_verifier: str = Field(min_length=43, max_length=128, pattern=r"^[A-Za-z0-9._~-]+$", description="RFC 7636: its S256 challenge started the login.")
    redirect_uri: str = Field(min_length=8, max_length=512, description="The redirect URI of the login: a page of the shop's origins.")
    nonce: str = Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9._~-]+$", description="Random, once per login: an id_token is accepted once.")


class TelegramLink(BaseModel):
    """Link Telegram to the logged-in account: Telegram's login (the widget's data or an OpenID
    Connect code, one of them) and a fresh proof of the account's phone (a login code requested
    for it by POST /request)."""

    model_config = ConfigDict(extra="forbid")

    telegram: TelegramAuth | None = None
    oidc: TelegramOidc | None = None
    code: str = Field(pattern=r"^[0-9]{6}$", description="The six digits of an SMS code sent to the account's phone.")

    @model_validator(mode="after")
    def _one_login(self) -> TelegramLink:
        if (self.telegram is None) == (self.oidc is None):
            raise ValueError("give exactly one of telegram (the widget's data) and oidc")
        return self


class TelegramResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    telegram_id: int
    linked: bool = Field(description="This call linked the Telegram account to the caller's customer.")
    session: Session | None = Field(default=None, description="Tokens of a login (absent when linking with a customer token).")


class TelegramUnlinked(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    telegram_ids: list[int] = Field(description="The Telegram accounts this call unlinked.")
    unlinked: bool = Field(description="Something was unlinked: every session of the customer is ended, log in again.")


ENDPOINTS = [
    Endpoint(
        function="sms_otp",
        method="POST",
        path="/request",
        summary="Send a login code by SMS (3 per 15 minutes and 10 a day per phone; per-address limits; 429 with retry_after)",
        request=CodeRequest,
        response=CodeSent,
        errors=(400, 403, 409, 413, 429, 503),
    ),
    Endpoint(
        function="sms_otp",
        method="POST",
        path="/verify",
        summary="Check a code and log in; the first login registers the customer (welcome bonus once)",
        request=VerifyRequest,
        response=Session,
        errors=(400, 401, 409, 413, 429),
    ),
    Endpoint(
        function="sms_otp",
        method="POST",
        path="/refresh",
        summary="Exchange a refresh token for a new pair (single use; a reused token is refused)",
        request=RefreshRequest,
        response=Session,
        errors=(400, 401, 409, 413),
    ),
    Endpoint(
        function="sms_otp",
        method="POST",
        path="/logout",
        summary="Log out: the refresh token's family is revoked and every access token issued before ends at once (idempotent)",
        request=RefreshRequest,
        response=LoggedOut,
        errors=(400, 401, 409, 413),
    ),
    Endpoint(
        function="sms_otp",
        method="POST",
        path="/telegram",
        summary="Telegram Login Widget data: log the linked customer in (404 not_linked; with a customer token 403 phone_proof_required: link through /telegram/link)",
        request=TelegramAuth,
        response=TelegramResult,
        auth="customer_optional",
        errors=(400, 401, 403, 404, 409, 413),
    ),
    Endpoint(
        function="sms_otp",
        method="POST",
        path="/telegram/oidc",
        summary="Log in with Telegram (OpenID Connect code + PKCE): log the linked customer in (404 not_linked)",
        request=TelegramOidc,
        response=TelegramResult,
        errors=(400, 401, 403, 404, 409, 413, 503),
    ),
    Endpoint(
        function="sms_otp",
        method="POST",
        path="/telegram/link",
        summary="Link Telegram to the logged-in customer with an SMS code sent to the account's phone; the customer is told by SMS",
        request=TelegramLink,
        response=TelegramResult,
        auth="customer",
        errors=(400, 401, 403, 404, 409, 413, 429, 503),
    ),
    Endpoint(
        function="sms_otp",
        method="POST",
        path="/telegram/unlink",
        summary="Unlink the customer's Telegram; every session of the customer ends (log in again)",
        response=TelegramUnlinked,
        auth="customer",
        errors=(401, 403, 404),
    ),
]
