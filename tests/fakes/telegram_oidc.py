"""An in-memory Telegram OpenID Connect provider (``oauth.telegram.org``) behind an ``httpx.MockTransport``.

Built from the documented flow (spec INTEGRATIONS §9.2): Authorization Code with PKCE.

* :meth:`FakeTelegramOidc.authorize` is the user approving the login at ``/auth``: it
  returns a single-use ``code`` bound to the ``code_challenge`` (S256), the
  ``redirect_uri`` and the ``nonce``;
* ``POST /token`` (HTTP Basic ``client_id:client_secret``, form body) answers
  ``{"id_token": ...}``: an RS256 JWT with ``iss``, ``aud`` (the client id),
  ``sub``, ``id``, ``preferred_username``, ``iat``, ``exp``, ``nonce``; a wrong
  client is a 401 ``invalid_client``, an unknown or used code or a verifier
  that does not match the challenge a 400 ``invalid_grant``;
* ``GET /.well-known/jwks.json`` publishes the signing key (``kid``);
* ``GET /auth`` (``client_id``, ``redirect_uri``, ``response_type=code``, ``state``,
  ``nonce``, ``code_challenge``, ``code_challenge_method=S256``) is the login page
  approving at once as :attr:`FakeTelegramOidc.login_as` (the local stack's
  Telegram user): a 302 back to ``redirect_uri`` with ``code`` and ``state``, or
  with ``error=invalid_request`` / ``unauthorized_client`` (and ``state``).

:meth:`FakeTelegramOidc.sign` makes arbitrary tokens (other claims, another key) for tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://oauth.telegram.org"


def challenge_of(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class _Grant:
    user_id: int
    username: str | None
    challenge: str
    redirect_uri: str
    nonce: str
    used: bool = False


class FakeTelegramOidc:
    def __init__(self, *, client_id: str, client_secret: str, issuer: str = ISSUER) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.issuer = issuer
        self.key = new_key()
        self.kid = "k1"
        self.login_as: tuple[int, str | None] | None = None  # who approves at /auth: (Telegram id, username)
        self.token_calls = 0
        self.jwks_calls = 0
        self._grants: dict[str, _Grant] = {}
        self._lock = threading.Lock()

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def authorize(self, user_id: int, *, verifier: str, redirect_uri: str, nonce: str, username: str | None = "anna_k") -> str:
        return self.approve(user_id, challenge=challenge_of(verifier), redirect_uri=redirect_uri, nonce=nonce, username=username)

    def approve(self, user_id: int, *, challenge: str, redirect_uri: str, nonce: str, username: str | None = "anna_k") -> str:
        """The user approved a login that presented this S256 ``challenge``: its single-use code."""
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._grants[code] = _Grant(user_id=user_id, username=username, challenge=challenge, redirect_uri=redirect_uri, nonce=nonce)
        return code

    def claims(self, user_id: int, *, nonce: str, username: str | None = "anna_k", iat: float | None = None, ttl: int = 3600) -> dict[str, Any]:
        issued = int(iat if iat is not None else time.time())
        claims: dict[str, Any] = {"iss": self.issuer, "aud": self.client_id, "sub": str(user_id), "id": user_id, "iat": issued, "exp": issued + ttl, "nonce": nonce}
        if username:
            claims["preferred_username"] = username
        return claims

    def sign(self, claims: dict[str, Any], *, key: rsa.RSAPrivateKey | None = None, kid: str | None = None, algorithm: str = "RS256") -> str:
        return jwt.encode(claims, key or self.key, algorithm=algorithm, headers={"kid": kid or self.kid})

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/.well-known/jwks.json":
            self.jwks_calls += 1
            return httpx.Response(200, json=self.jwks())
        if request.method == "POST" and request.url.path == "/token":
            self.token_calls += 1
            return self._token(request)
        if request.method == "GET" and request.url.path == "/auth":
            return self._auth(request)
        return httpx.Response(404, json={"error": "not_found"})

    def _token(self, request: httpx.Request) -> httpx.Response:
        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return httpx.Response(401, json={"error": "invalid_client"})
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        with self._lock:
            grant = self._grants.get(form.get("code", ""))
            if form.get("grant_type") != "authorization_code" or grant is None or grant.used:
                return httpx.Response(400, json={"error": "invalid_grant"})
            if challenge_of(form.get("code_verifier", "")) != grant.challenge or form.get("redirect_uri") != grant.redirect_uri:
                return httpx.Response(400, json={"error": "invalid_grant", "error_description": "PKCE verification failed"})
            grant.used = True
        token = self.sign(self.claims(grant.user_id, nonce=grant.nonce, username=grant.username))
        return httpx.Response(200, json={"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 3600, "id_token": token})

    def _auth(self, request: httpx.Request) -> httpx.Response:
        query = request.url.params
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri.startswith(("https://", "http://")):
            return httpx.Response(400, text="redirect_uri is required")
        back: dict[str, str] = {"state": query.get("state", "")}
        if query.get("client_id") != self.client_id or self.login_as is None:
            back["error"] = "unauthorized_client"
        elif query.get("response_type") != "code" or query.get("code_challenge_method") != "S256" or not query.get("code_challenge") or not query.get("nonce"):
            back["error"] = "invalid_request"
        else:
            user_id, username = self.login_as
            back = {"code": self.approve(user_id, challenge=query["code_challenge"], redirect_uri=redirect_uri, nonce=query["nonce"], username=username), **back}
        joiner = "&" if "?" in redirect_uri else "?"
        return httpx.Response(302, headers={"Location": redirect_uri + joiner + urlencode(back)})
