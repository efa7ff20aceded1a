"""The SMS gateway: SMS.ru's HTTP API (``POST /sms/send``, ``json=1``) through httpx.

Sending an SMS is not safe to repeat: a repeated request is a second SMS,
billed and delivered. So the client retries **only** when the request never
left this process (a refused or timed-out connection, no free connection in
the pool). A timeout or a broken connection after the request was written,
a 5xx or an unreadable answer is *ambiguous* — the message may be on its
way — and is never retried; :class:`SmsUnavailable` says which case it was
(``details.sent``: ``"no"`` or ``"unknown"``), because the OTP quota is given
back only for a send that certainly did not happen.

Every request also carries our own message id in an ``Idempotency-Key``
header (SMS.ru itself ignores it; the test fake deduplicates on it), so a
repeat could be told apart in the gateway's logs and in tests.

The instance's client is built from settings on first use by
:mod:`shared.platform.bootstrap`; tests route it through a fake there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx

from shared.adapters.retry import Again, Exhausted, Retry
from shared.domain.sms import SmsReceipt, SmsUnavailable

log = logging.getLogger("kopilka")

SEND_PATH = "/sms/send"
STATUS_OK = 100  # SMS.ru: "the message is accepted"

# Raised before the request was sent: safe to try again.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _mask(phone: str) -> str:
    return phone[:4] + "*" * max(0, len(phone) - 6) + phone[-2:]


class SmsRuClient:
    """``send(phone, text, message_id=...)`` with a timeout; retries only requests that never left."""

    def __init__(
        self,
        *,
        api_id: str,
        base_url: str = "https://sms.ru",
        sender: str = "",
        test: bool = False,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        attempts: int = 3,
        backoff_seconds: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_id = api_id
        self.sender = sender
        self.test = test
        self.retry = Retry(attempts=attempts, backoff_seconds=backoff_seconds, sleep=sleep)
        self._http = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"Accept": "application/json"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def send(self, phone: str, text: str, *, message_id: str) -> SmsReceipt:
        """Send one message to an E.164 number; :class:`SmsUnavailable` when it was not accepted."""
        to = phone.lstrip("+")
        form = {"api_id": self.api_id, "to": to, "msg": text, "json": "1"}
        if self.sender:
            form["from"] = self.sender
        if self.test:
            form["test"] = "1"
        headers = {"Idempotency-Key": message_id}

        def attempt(_: int) -> httpx.Response:
            try:
                return self._http.post(SEND_PATH, data=form, headers=headers)
            except NOT_SENT as exc:
                raise Again(type(exc).__name__) from None
            except httpx.TransportError as exc:  # the request may have reached the gateway
                log.warning("sms outcome unknown", extra={"json_fields": {"to": _mask(phone), "message_id": message_id, "reason": type(exc).__name__}})
                raise SmsUnavailable(f"the SMS gateway did not answer ({type(exc).__name__})", sent="unknown", reason=type(exc).__name__) from None

        try:
            response = self.retry.run(attempt)
        except Exhausted as gave_up:
            log.warning("sms gateway unreachable", extra={"json_fields": {"to": _mask(phone), "message_id": message_id, "reason": gave_up.reason, "attempts": self.retry.attempts}})
            raise SmsUnavailable(f"the SMS gateway could not be reached after {self.retry.attempts} attempts ({gave_up.reason})", sent="no", reason=gave_up.reason) from None
        return self._receipt(response, to, phone, message_id)

    def _receipt(self, response: httpx.Response, to: str, phone: str, message_id: str) -> SmsReceipt:
        fields = {"to": _mask(phone), "message_id": message_id, "http": response.status_code}
        if response.status_code != 200:
            # 4xx: the request was refused as such; 5xx: a proxy or the gateway failed, maybe after accepting
            sent = "no" if 400 <= response.status_code < 500 else "unknown"
            log.warning("sms gateway http error", extra={"json_fields": fields})
            raise SmsUnavailable(f"the SMS gateway answered HTTP {response.status_code}", sent=sent)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            log.warning("sms gateway unreadable answer", extra={"json_fields": fields})
            raise SmsUnavailable("the SMS gateway answered something that is not a JSON object", sent="unknown")
        if data.get("status") != "OK":
            # the whole request refused: a wrong api_id (200), no money (201), a malformed request …
            log.error("sms gateway refused", extra={"json_fields": {**fields, "status_code": data.get("status_code"), "status_text": str(data.get("status_text", ""))[:200]}})
            raise SmsUnavailable(f"the SMS gateway refused the request ({data.get('status_code')})", sent="no")
        numbers = data.get("sms")
        entry = numbers.get(to) if isinstance(numbers, dict) else None
        if entry is None and isinstance(numbers, dict) and len(numbers) == 1:
            entry = next(iter(numbers.values()))
        if not isinstance(entry, dict):
            raise SmsUnavailable("the SMS gateway's answer does not mention the number", sent="unknown")
        if entry.get("status") != "OK":
            # this number refused: invalid, blocked, on a stop list, a forbidden destination …
            log.warning("sms refused for the number", extra={"json_fields": {**fields, "status_code": entry.get("status_code"), "status_text": str(entry.get("status_text", ""))[:200]}})
            raise SmsUnavailable(f"the SMS gateway refused the number ({entry.get('status_code')})", sent="no")
        provider_id = entry.get("sms_id")
        log.info("sms accepted", extra={"json_fields": {**fields, "sms_id": provider_id}})
        return SmsReceipt(message_id=message_id, provider_id=str(provider_id) if provider_id is not None else None)
