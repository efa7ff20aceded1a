"""The Telegram Bot API's ``sendMessage``, with a timeout and retries.

``POST {base}/bot{token}/sendMessage`` with JSON ``{chat_id, text}`` answers
``{"ok": true, "result": {"message_id": …}}``, or ``{"ok": false, "error_code",
"description"}`` (429 with ``parameters.retry_after``). A request that never left
(connection refused, connect timeout), a 429 and a 5xx are tried again; a 4xx
(a chat that blocked the bot, a wrong chat id) is final. The Bot API takes no
idempotency key: a request whose answer was lost may have been delivered.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from shared.adapters.retry import Again, Exhausted, Retry

NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class TelegramUnavailable(Exception):
    """The Bot API did not take the message."""


class TelegramBotClient:
    def __init__(
        self,
        *,
        token: str,
        base_url: str = "https://api.telegram.org",
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        attempts: int = 3,
        backoff_seconds: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.token = token
        self.retry = Retry(attempts=attempts, backoff_seconds=backoff_seconds, sleep=sleep)
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=httpx.Timeout(timeout), transport=transport, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def send_message(self, chat_id: str, text: str) -> int:
        """The message id Telegram gave the message; :class:`TelegramUnavailable` when not taken."""

        def attempt(_: int) -> httpx.Response:
            try:
                response = self._http.post(f"/bot{self.token}/sendMessage", json={"chat_id": chat_id, "text": text})
            except NOT_SENT as exc:
                raise Again(type(exc).__name__) from None
            except httpx.TransportError as exc:
                raise TelegramUnavailable(f"the Bot API did not answer ({type(exc).__name__})") from None
            if response.status_code == 429 or response.status_code >= 500:
                raise Again(f"HTTP {response.status_code}")
            return response

        try:
            response = self.retry.run(attempt)
        except Exhausted as gave_up:
            raise TelegramUnavailable(f"the Bot API could not be reached ({gave_up.reason})") from None
        try:
            data = response.json()
        except ValueError:
            raise TelegramUnavailable(f"the Bot API answered HTTP {response.status_code} without JSON") from None
        if not isinstance(data, dict) or not data.get("ok"):
            description = data.get("description") if isinstance(data, dict) else None
            raise TelegramUnavailable(f"the Bot API refused the message (HTTP {response.status_code}: {description})")
        return int(data["result"]["message_id"])
