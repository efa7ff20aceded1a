"""An in-memory Yandex SmartCaptcha behind an ``httpx.MockTransport`` (``POST /validate``).

Built from the documented contract: form fields ``secret``, ``token`` and
``ip``; the answer ``{"status": "ok", "message": "", "host": …}`` for a token
the widget issued (:meth:`FakeSmartCaptcha.solve`), ``{"status": "failed",
"message": "Invalid or expired Token."}`` for an unknown or already
validated one (a token validates once), and a failed answer for a wrong
server key. Faults for the next calls (:meth:`fail_next`): ``connect``
(refused before sending), ``read_timeout`` (the answer is lost), ``500``.
"""

from __future__ import annotations

import secrets
import threading
from urllib.parse import parse_qs

import httpx

FAULTS = ("connect", "read_timeout", "500")


class FakeSmartCaptcha:
    def __init__(self, *, server_key: str = "test-captcha-server-key", host: str = "shop.example") -> None:
        self.server_key = server_key
        self.host = host
        self.calls = 0  # validations that reached the service
        self.validated: list[dict[str, str]] = []  # the forms it answered
        self._tokens: set[str] = set()
        self._faults: list[str] = []
        self._lock = threading.Lock()

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def solve(self) -> str:
        """A token, as the widget puts it in ``smart-token`` once a human passed."""
        token = "dD0x" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
        return token

    def fail_next(self, fault: str, times: int = 1) -> None:
        assert fault in FAULTS, fault
        with self._lock:
            self._faults.extend([fault] * times)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or request.url.path != "/validate":
            return httpx.Response(404, text="not found")
        with self._lock:
            fault = self._faults.pop(0) if self._faults else None
            if fault == "connect":
                raise httpx.ConnectError("connection refused", request=request)
            self.calls += 1
            form = {k: v[0] for k, v in parse_qs(request.content.decode(), keep_blank_values=True).items()}
            self.validated.append(form)
            if fault == "500":
                return httpx.Response(500, text="Internal Server Error")
            if form.get("secret") != self.server_key:
                answer = {"status": "failed", "message": "Authentication failed. Secret has not provided."}
            elif form.get("token") in self._tokens:
                self._tokens.discard(form["token"])
                answer = {"status": "ok", "message": "", "host": self.host}
            else:
                answer = {"status": "failed", "message": "Invalid or expired Token."}
            if fault == "read_timeout":
                raise httpx.ReadTimeout("the answer was lost", request=request)
            return httpx.Response(200, json=answer)
