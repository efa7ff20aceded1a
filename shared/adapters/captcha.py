"""The captcha check: Yandex SmartCaptcha's server-side validation through httpx.

``POST {base_url}/validate`` with ``secret`` (the server key), ``token`` (the
widget's one-time ``smart-token``, valid five minutes) and ``ip`` (the
caller's address) form-encoded; the answer is JSON ``{"status": "ok" |
"failed", "message": …, "host": …}`` — ``ok`` is a human, ``failed`` a wrong,
used or expired token (a token validates once).

A token is used up by the check, so only a request that never left this
process (a refused or timed-out connection, no free connection in the pool)
is tried again; a timeout after the request was written, a non-200 answer or
an unreadable one is :class:`~shared.domain.captcha.CaptchaUnavailable`
(503), and the code request sends nothing.

The instance's client is built from settings on first use by
:mod:`shared.platform.bootstrap` (``SMARTCAPTCHA_SERVER_KEY``); tests route
it through the fake in ``tests/fakes/captcha.py``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx

from shared.adapters.retry import Again, Exhausted, Retry
from shared.domain.captcha import CaptchaUnavailable

log = logging.getLogger("kopilka")

VALIDATE_PATH = "/validate"
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class SmartCaptchaClient:
    """``validate(token, ip)`` with a timeout; retries only requests that never left."""

    def __init__(
        self,
        *,
        server_key: str,
        base_url: str = "https://smartcaptcha.yandexcloud.net",
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        attempts: int = 3,
        backoff_seconds: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.server_key = server_key
        self.retry = Retry(attempts=attempts, backoff_seconds=backoff_seconds, sleep=sleep)
        self._http = httpx.Client(base_url=base_url, timeout=httpx.Timeout(timeout), transport=transport, headers={"Accept": "application/json"}, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def validate(self, token: str, ip: str | None) -> bool:
        """Whether the token passed (``False``: wrong, used or expired); :class:`CaptchaUnavailable`."""
        form = {"secret": self.server_key, "token": token}
        if ip:
            form["ip"] = ip

        def attempt(_: int) -> httpx.Response:
            try:
                return self._http.post(VALIDATE_PATH, data=form)
            except NOT_SENT as exc:
                raise Again(type(exc).__name__) from None
            except httpx.TransportError as exc:
                log.warning("captcha check without an answer", extra={"json_fields": {"reason": type(exc).__name__}})
                raise CaptchaUnavailable(f"the captcha service did not answer ({type(exc).__name__})", reason=type(exc).__name__) from None

        try:
            response = self.retry.run(attempt)
        except Exhausted as gave_up:
            log.warning("captcha service unreachable", extra={"json_fields": {"reason": gave_up.reason, "attempts": self.retry.attempts}})
            raise CaptchaUnavailable(f"the captcha service could not be reached after {self.retry.attempts} attempts ({gave_up.reason})", reason=gave_up.reason) from None
        return self._verdict(response)

    @staticmethod
    def _verdict(response: httpx.Response) -> bool:
        if response.status_code != 200:
            log.warning("captcha service http error", extra={"json_fields": {"http": response.status_code}})
            raise CaptchaUnavailable(f"the captcha service answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or data.get("status") not in ("ok", "failed"):
            raise CaptchaUnavailable("the captcha service answered something that is not its verdict")
        if data["status"] == "failed":
            log.info("captcha failed", extra={"json_fields": {"message": str(data.get("message", ""))[:200]}})
        return bool(data["status"] == "ok")
