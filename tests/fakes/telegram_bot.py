"""An in-memory Telegram Bot API behind an ``httpx.MockTransport``: ``POST /bot<token>/sendMessage``.

Built from the documented contract: JSON ``{chat_id, text}``; success ``{"ok": true,
"result": {"message_id", "chat": {"id"}, "text"}}``; a wrong token is 401
``{"ok": false, "error_code": 401, "description": "Unauthorized"}``; a chat in
``blocked`` is 403 (the user blocked the bot). ``fail_next("500" | "429" | "connect")``.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class SentTelegram:
    chat_id: str
    text: str
    message_id: int


class FakeTelegramBot:
    def __init__(self, *, token: str = "123:test-bot-token") -> None:
        self.token = token
        self.messages: list[SentTelegram] = []
        self.blocked: set[str] = set()
        self.calls = 0
        self._faults: list[str] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def fail_next(self, fault: str, times: int = 1) -> None:
        with self._lock:
            self._faults.extend([fault] * times)

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            fault = self._faults.pop(0) if self._faults else None
            if fault == "connect":
                raise httpx.ConnectError("connection refused", request=request)
            self.calls += 1
            if request.url.path != f"/bot{self.token}/sendMessage":
                return httpx.Response(401, json={"ok": False, "error_code": 401, "description": "Unauthorized"})
            if fault == "500":
                return httpx.Response(500, json={"ok": False, "error_code": 500, "description": "Internal Server Error"})
            if fault == "429":
                return httpx.Response(429, json={"ok": False, "error_code": 429, "description": "Too Many Requests", "parameters": {"retry_after": 1}})
            body = json.loads(request.content)
            chat_id, text = str(body["chat_id"]), str(body["text"])
            if chat_id in self.blocked:
                return httpx.Response(403, json={"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
            sent = SentTelegram(chat_id=chat_id, text=text, message_id=next(self._ids))
            self.messages.append(sent)
            return httpx.Response(200, json={"ok": True, "result": {"message_id": sent.message_id, "chat": {"id": int(chat_id)}, "text": text}})
