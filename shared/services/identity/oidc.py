"""Telegram's "Log in with Telegram" (OpenID Connect, Authorization Code with PKCE), beside the
legacy Login Widget (:mod:`.telegram`).

The storefront sends the user to Telegram with a ``code_challenge`` and a
``nonce`` of its own; the ``code`` it gets back is exchanged here, with the
``code_verifier`` (Telegram refuses a verifier that does not match the
challenge), for an ``id_token``. The token is accepted only when:

* it is an RS256 JWT signed by a key of Telegram's key set (no other algorithm);
* ``iss`` is Telegram's issuer and ``aud`` our client id (the bot's id);
* ``exp`` is in the future and ``iat`` at most :data:`TELEGRAM_MAX_AGE` old
  (the clock is passed in);
* its ``nonce`` is the one presented, and that nonce was never used before:
  a used nonce is recorded (``oidc_nonces``) until after any token carrying
  it is too old, so an id_token is never taken twice.

The verified Telegram account then logs in like a widget login (its customer
must have linked it) or is linked with a fresh proof of the phone
(:func:`~shared.services.identity.linking.link_telegram`).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import jwt

from shared.domain.identity import TelegramUser, TokenAnswer, UsedNonce
from shared.domain.ledger import require_utc
from shared.services.identity.errors import TelegramLoginInvalid
from shared.services.identity.telegram import TELEGRAM_MAX_AGE, TELEGRAM_MAX_SKEW
from shared.services.ports import Store, UnitOfWork

NONCE_KEPT = TELEGRAM_MAX_AGE + timedelta(hours=1)


class OidcProvider(Protocol):
    issuer: str
    client_id: str

    def exchange(self, *, code: str, code_verifier: str, redirect_uri: str) -> TokenAnswer: ...

    def signing_key(self, kid: str | None) -> jwt.PyJWK | None: ...


def _refused(reason: str, message: str) -> TelegramLoginInvalid:
    return TelegramLoginInvalid(message, reason=reason)


def verify_id_token(provider: OidcProvider, id_token: str, *, nonce: str, now: datetime) -> TelegramUser:
    """The Telegram account of a valid id_token (see the module), or :class:`TelegramLoginInvalid`."""
    require_utc(now)
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError:
        raise _refused("malformed", "the id_token is not a JWT") from None
    if header.get("alg") != "RS256":
        raise _refused("algorithm", f"the id_token is signed with {header.get('alg')!r}, not RS256")
    kid = header.get("kid")
    key = provider.signing_key(kid if isinstance(kid, str) else None)
    if key is None:
        raise _refused("unknown_key", "the id_token is signed by a key Telegram does not publish")
    try:
        claims: dict[str, Any] = jwt.decode(
            id_token,
            key=key.key,
            algorithms=["RS256"],
            audience=provider.client_id,
            issuer=provider.issuer,
            options={"require": ["iss", "aud", "exp", "iat", "sub"], "verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.InvalidAudienceError:
        raise _refused("audience", "the id_token is for another client") from None
    except jwt.InvalidIssuerError:
        raise _refused("issuer", "the id_token is not Telegram's") from None
    except jwt.PyJWTError as exc:
        raise _refused("invalid", f"the id_token failed verification: {type(exc).__name__}") from None
    exp, iat = claims["exp"], claims["iat"]
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise _refused("invalid", "the id_token's times are not numbers")
    issued = datetime.fromtimestamp(iat, UTC)
    if exp <= now.timestamp():
        raise _refused("expired", "the id_token has expired")
    if now - issued > TELEGRAM_MAX_AGE or issued - now > TELEGRAM_MAX_SKEW:
        raise _refused("stale", "the id_token was issued too long ago or in the future")
    presented = claims.get("nonce")
    if not isinstance(presented, str) or not hmac.compare_digest(presented.encode(), nonce.encode()):
        raise _refused("nonce", "the id_token's nonce is not the one this login started with")
    user_id = claims.get("id", claims["sub"])
    try:
        telegram_id = int(user_id)
    except (TypeError, ValueError):
        raise _refused("invalid", "the id_token names no Telegram user") from None
    if isinstance(user_id, bool) or not 0 < telegram_id < 2**63:
        raise _refused("invalid", "the id_token names no Telegram user")
    username = claims.get("preferred_username")
    return TelegramUser(id=telegram_id, username=username if isinstance(username, str) and username else None, auth_date=issued)


def nonce_key(nonce: str) -> str:
    return hashlib.sha256(f"telegram-oidc\x00{nonce}".encode()).hexdigest()[:40]


def oidc_user(store: Store, *, provider: OidcProvider, code: str, code_verifier: str, redirect_uri: str, nonce: str, now: datetime) -> TelegramUser:
    """The Telegram account an authorization code proves: exchanged, verified, its nonce used up."""
    require_utc(now)
    answer = provider.exchange(code=code, code_verifier=code_verifier, redirect_uri=redirect_uri)
    if answer.id_token is None:
        raise _refused(answer.error or "refused", f"Telegram refused the authorization code ({answer.error})")
    user = verify_id_token(provider, answer.id_token, nonce=nonce, now=now)
    key = nonce_key(nonce)

    def use(uow: UnitOfWork) -> bool:
        if uow.oidc_nonces.get(key) is not None:
            return False
        uow.oidc_nonces.create(key, UsedNonce(telegram_id=user.id, used_at=now, expires_at=now + NONCE_KEPT))
        return True

    if not store.run(use):
        raise _refused("replayed", "the nonce of this login was used before")
    return user
