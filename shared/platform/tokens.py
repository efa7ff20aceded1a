"""Short-lived signed customer tokens (HS256 JWT).

The SMS/Telegram login (identity) issues them; customer-facing endpoints
verify them. Tampered, expired or wrongly-typed tokens are refused, and so is
a token whose ``exp`` is not a whole number (a string, a float, ``true``):
every refusal is :class:`~shared.domain.errors.Unauthorized`, a 401. A
customer's tokens carry the session epoch they were issued in (``ep``,
:func:`epoch`), which a block moves on.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import jwt

from shared.domain.errors import Unauthorized

ISSUER = "kopilka"


def issue(secret: str, *, subject: str, now: datetime, ttl_seconds: int, kind: str = "customer", **claims: Any) -> str:
    if not secret:
        raise RuntimeError("the token secret is not configured")
    payload = {"iss": ISSUER, "sub": subject, "typ": kind, "iat": int(now.timestamp()), "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()), **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


def verify(secret: str, token: str, *, now: datetime, kind: str = "customer") -> dict[str, Any]:
    """The token's claims, or :class:`Unauthorized` (clock passed in, no leeway)."""
    if not secret:
        raise Unauthorized("customer tokens are not configured")
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "sub", "iat"], "verify_exp": False})
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}", message_ru="Сессия недействительна, войдите снова.") from None
    expires = claims["exp"]
    if not isinstance(expires, int) or isinstance(expires, bool):  # we issue whole seconds; "1e9", 1.5, inf are forged
        raise Unauthorized("invalid token: exp is not a whole number", message_ru="Сессия недействительна, войдите снова.")
    if expires <= now.timestamp():
        raise Unauthorized("the token has expired", message_ru="Сессия истекла, войдите снова.")
    if claims.get("typ") != kind:
        raise Unauthorized("wrong token type", message_ru="Сессия недействительна, войдите снова.")
    return claims


def epoch(claims: dict[str, Any]) -> int:
    """The session epoch a customer token was issued in (``ep``; none: the first, 0)."""
    value = claims.get("ep", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else -1  # -1: matches no epoch


def fingerprint(secret: str) -> str:
    """A secret's SHA-256 (hex): what a function that does not hold a secret compares another against."""
    return hashlib.sha256(secret.encode()).hexdigest()


def bearer(request: Any) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None
