"""An in-memory SMS.ru behind an ``httpx.MockTransport`` (``POST /sms/send``, ``json=1``).

Built from the documented contract (spec INTEGRATIONS §8):

* ``api_id``, ``to`` (digits, no ``+``), ``msg``, ``json=1``; a wrong
  ``api_id`` is ``{"status": "ERROR", "status_code": 200}``;
* success: ``{"status": "OK", "status_code": 100, "sms": {"7900…": {"status":
  "OK", "status_code": 100, "sms_id": "…"}}, "balance": …}``;
* a request repeating an ``Idempotency-Key`` already delivered gets the first
  answer and sends nothing (``duplicates`` counts them);
* faults for the next calls (:meth:`FakeSmsRu.fail_next`) or until cleared
  (:meth:`FakeSmsRu.outage`): ``connect`` (refused before sending),
  ``read_timeout`` (the message goes out, the answer is lost), ``500``,
  ``low_balance`` (status_code 201), ``bad_number`` (per-number 202).
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx

FAULTS = ("connect", "read_timeout", "500", "low_balance", "bad_number")


@dataclass(frozen=True)
class SentSms:
    to: str  # as the gateway got it: digits without "+"
    text: str
    sms_id: str
    key: str | None  # the Idempotency-Key

    @property
    def code(self) -> str | None:
        found = re.search(r"\b(\d{6})\b", self.text)
        return found.group(1) if found else None


class FakeSmsRu:
    def __init__(self, *, api_id: str = "test-api-id") -> None:
        self.api_id = api_id
        self.messages: list[SentSms] = []
        self.calls = 0  # requests that reached the gateway (faulted ones too)
        self.duplicates = 0  # requests repeating a delivered Idempotency-Key
        self._answers: dict[str, dict[str, Any]] = {}
        self._faults: list[str] = []
        self._outage: str | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def fail_next(self, fault: str, times: int = 1) -> None:
        assert fault in FAULTS, fault
        with self._lock:
            self._faults.extend([fault] * times)

    def outage(self, fault: str | None) -> None:
        assert fault is None or fault in FAULTS, fault
        with self._lock:
            self._outage = fault

    def sent_to(self, phone: str) -> list[SentSms]:
        digits = phone.lstrip("+")
        with self._lock:
            return [m for m in self.messages if m.to == digits]

    def last_code(self, phone: str) -> str:
        sent = self.sent_to(phone)
        assert sent, f"no SMS to {phone}"
        code = sent[-1].code
        assert code is not None
        return code

    # --- the transport ------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or request.url.path != "/sms/send":
            return httpx.Response(404, text="not found")
        with self._lock:
            fault = self._faults.pop(0) if self._faults else self._outage
            if fault == "connect":
                raise httpx.ConnectError("connection refused", request=request)
            self.calls += 1
            form = {k: v[0] for k, v in parse_qs(request.content.decode(), keep_blank_values=True).items()}
            if form.get("api_id") != self.api_id:
                return httpx.Response(200, json={"status": "ERROR", "status_code": 200, "status_text": "Неправильный api_id"})
            if fault == "500":
                return httpx.Response(500, text="Internal Server Error")
            if fault == "low_balance":
                return httpx.Response(200, json={"status": "ERROR", "status_code": 201, "status_text": "Не хватает средств на лицевом счету"})
            to, text, key = form.get("to", ""), form.get("msg", ""), request.headers.get("Idempotency-Key")
            if form.get("json") != "1" or not to.isdigit() or not text:
                return httpx.Response(200, json={"status": "ERROR", "status_code": 202, "status_text": "Неправильно указан получатель"})
            if key is not None and key in self._answers:
                self.duplicates += 1
                return httpx.Response(200, json=self._answers[key])
            if fault == "bad_number":
                refused = {"status": "ERROR", "status_code": 202, "status_text": "Неправильно указан номер телефона получателя"}
                return httpx.Response(200, json={"status": "OK", "status_code": 100, "sms": {to: refused}, "balance": 100.0})
            sms_id = f"{next(self._ids):06d}-{len(self.messages) + 1:06d}"
            self.messages.append(SentSms(to=to, text=text, sms_id=sms_id, key=key))
            answer = {"status": "OK", "status_code": 100, "sms": {to: {"status": "OK", "status_code": 100, "sms_id": sms_id}}, "balance": 100.0}
            if key is not None:
                self._answers[key] = answer
            if fault == "read_timeout":
                raise httpx.ReadTimeout("the answer was lost", request=request)
            return httpx.Response(200, json=answer)
