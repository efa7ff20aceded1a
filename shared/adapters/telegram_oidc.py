"""Telegram's OpenID Connect provider ("Log in with Telegram", ``oauth.telegram.org``) through httpx.

Authorization Code with PKCE: the storefront sends the user to ``/auth`` with
a ``code_challenge`` and a ``nonce`` and gets a ``code`` back; we exchange it
here (``POST /token``, the client authenticated with HTTP Basic: the bot's id
and the secret BotFather shows) for an ``id_token``, an RS256 JWT signed by a
key of ``/.well-known/jwks.json``. Telegram checks the ``code_verifier``
against the challenge (a mismatch is an ``invalid_grant``).

The token exchange is safe to repeat only when the request never left (a code
is single use), so it is not retried otherwise. The key set is fetched on first
need and again, at most once a minute, when a token names an unknown ``kid``
(a key rotation).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from shared.domain.errors import ProviderUnavailable
from shared.domain.identity import TokenAnswer

log = logging.getLogger("kopilka")

TOKEN_PATH = "/token"
JWKS_PATH = "/.well-known/jwks.json"
KEYS_REFRESH_SECONDS = 60.0
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class TelegramOidcClient:
    """``exchange(...)`` a code for an id_token; ``signing_key(kid)`` from the provider's key set."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        client_secret: str,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._http = httpx.Client(base_url=self.issuer, timeout=httpx.Timeout(timeout), transport=transport, headers={"Accept": "application/json"}, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def exchange(self, *, code: str, code_verifier: str, redirect_uri: str) -> TokenAnswer:
        form = {"grant_type": "authorization_code", "code": code, "code_verifier": code_verifier, "redirect_uri": redirect_uri, "client_id": self.client_id}
        try:
            response = self._http.post(TOKEN_PATH, data=form, auth=(self.client_id, self._secret))
        except NOT_SENT as exc:
            raise ProviderUnavailable(f"Telegram's token endpoint is unreachable: {type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"Telegram's token endpoint did not answer: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise ProviderUnavailable(f"Telegram's token endpoint answered {response.status_code}")
        body = _json(response)
        if response.status_code != 200:
            error = body.get("error") if isinstance(body.get("error"), str) else f"http_{response.status_code}"
            return TokenAnswer(error=str(error)[:64])
        token = body.get("id_token")
        if not isinstance(token, str) or not token:
            return TokenAnswer(error="no_id_token")
        return TokenAnswer(id_token=token)

    def signing_key(self, kid: str | None) -> jwt.PyJWK | None:
        """The provider's key ``kid`` (the only key when the token names none), fetched as needed."""
        with self._lock:
            key = self._find(kid)
            now = self._clock()
            if key is None and (self._fetched_at is None or now - self._fetched_at >= KEYS_REFRESH_SECONDS):
                self._fetched_at = now
                self._keys = self._fetch()
                key = self._find(kid)
            return key

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _fetch(self) -> dict[str, jwt.PyJWK]:
        try:
            response = self._http.get(JWKS_PATH)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"Telegram's signing keys are unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise ProviderUnavailable(f"Telegram's signing keys answered {response.status_code}")
        found: dict[str, jwt.PyJWK] = {}
        for data in _json(response).get("keys") or []:
            if not isinstance(data, dict) or data.get("kty") != "RSA" or data.get("use", "sig") != "sig":
                continue
            try:
                found[str(data.get("kid", ""))] = jwt.PyJWK(data, algorithm="RS256")
            except jwt.PyJWTError:
                log.warning("unusable Telegram signing key skipped", extra={"json_fields": {"kid": data.get("kid")}})
        return found


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
