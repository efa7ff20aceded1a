"""Who may call the internal routes (sweeps, polling, back-office retries).

Two ways in, checked before anything is read or written:

* **Cloud Scheduler's OIDC token** (``Authorization: Bearer <id token>``),
  verified with :func:`google.oauth2.id_token.verify_oauth2_token` against
  ``settings().sweep_audience`` (comma-separated when one function serves several
  scheduled URLs: Scheduler's default audience is the full target URI). A valid
  Google token is not enough — anyone can mint one for any audience — so its
  verified ``email`` must also be one of ``settings().scheduler_emails`` (the
  scheduler's service account). Either setting empty: OIDC is refused.
* the shared secret header ``X-Kopilka-Sweep-Secret`` (compared in constant
  time), which is how the jobs run locally and from back-office tools.

The verification call is injectable (:func:`set_verifier`): tests have no
network to fetch Google's certificates and check locally signed RS256 tokens.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from shared.domain.errors import Forbidden, Unauthorized
from shared.platform import tokens
from shared.platform.settings import settings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Kopilka-Sweep-Secret"

# (token, audiences) -> verified claims; raises ValueError / google.auth errors when invalid
Verifier = Callable[[str, list[str]], Mapping[str, Any]]

_lock = threading.Lock()
_verifier: Verifier | None = None
_google_request: Any = None


class _TimedRequest:
    """Google's transport with our outgoing timeout instead of its 120 s default."""

    def __init__(self, inner: Any, timeout: float) -> None:
        self.inner = inner
        self.timeout = timeout

    def __call__(self, url: str, method: str = "GET", body: Any = None, headers: Any = None, timeout: float | None = None, **kwargs: Any) -> Any:
        return self.inner(url, method=method, body=body, headers=headers, timeout=timeout or self.timeout, **kwargs)


def google_verifier(token: str, audiences: list[str]) -> Mapping[str, Any]:
    """Verify a Google-signed ID token (fetches Google's public certificates)."""
    global _google_request
    from google.oauth2 import id_token

    with _lock:
        if _google_request is None:
            from google.auth.transport import requests as google_requests

            _google_request = _TimedRequest(google_requests.Request(), settings().http_timeout_seconds)
        request = _google_request
    return id_token.verify_oauth2_token(token, request, audience=audiences)


def set_verifier(verifier: Verifier | None) -> None:
    """Replace the OIDC verification (tests); ``None`` restores Google's."""
    global _verifier
    with _lock:
        _verifier = verifier


def _invalid_token_errors() -> tuple[type[BaseException], ...]:
    import jwt
    from google.auth import exceptions as google_exceptions

    return (ValueError, google_exceptions.GoogleAuthError, jwt.PyJWTError)


def require_scheduler(request: Any) -> str:
    """The authenticated caller (``"secret"`` or the service account), else 401/403."""
    s = settings()
    presented = request.headers.get(SECRET_HEADER)
    if presented is not None:
        if s.sweep_secret and hmac.compare_digest(presented.encode(), s.sweep_secret.encode()):
            return "secret"
        raise Unauthorized("invalid sweep secret", message_ru="Доступ запрещён.")
    token = tokens.bearer(request)
    if token is None:
        raise Unauthorized("a Cloud Scheduler OIDC token or the sweep secret is required", message_ru="Доступ запрещён.")
    audiences = [a.strip() for a in s.sweep_audience.split(",") if a.strip()]
    if not audiences or not s.scheduler_emails:
        log.warning("an OIDC call was refused: KOPILKA_SWEEP_AUDIENCE or KOPILKA_SCHEDULER_EMAILS is not set")
        raise Unauthorized("OIDC callers are not configured", message_ru="Доступ запрещён.")
    with _lock:
        verify = _verifier or google_verifier
    try:
        claims = verify(token, audiences)
    except _invalid_token_errors() as exc:
        raise Unauthorized(f"invalid OIDC token: {exc}", message_ru="Доступ запрещён.") from None
    email = claims.get("email")
    if claims.get("email_verified") is not True or email not in s.scheduler_emails:
        raise Forbidden("this identity may not call internal routes", email=email)
    return str(email)
