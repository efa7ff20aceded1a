"""An in-memory YooKassa API v3 behind an ``httpx.MockTransport``, and notifications as YooKassa sends them.

Built from the documented contract (docs/INTEGRATIONS §2 in the spec):

* HTTP Basic ``shopId:secretKey`` on every call, else 401 with an error body;
* ``GET /payments/{id}``, ``GET /refunds/{id}`` (404 for an unknown id);
* ``POST /payments`` (:meth:`FakeYooKassa._create_payment`): ``amount`` in
  RUB with two decimals, ``capture`` (default ``false``, two-stage), a
  ``redirect`` confirmation with its ``return_url`` (answered with a
  ``confirmation_url``), ``metadata``, ``description`` of at most 128
  characters, and a 54-FZ ``receipt`` (``customer.phone`` or
  ``customer.email``; items with description, quantity, amount, vat_code 1–12,
  payment_subject, payment_mode) whose items add up to the amount; a shop that
  must send receipts (``receipts_required``) is refused a payment without one;
* ``POST /payments``, ``POST /refunds``, ``POST /payments/{id}/capture`` and
  ``POST /payments/{id}/cancel`` need an ``Idempotence-Key``; the same key
  returns the same object, the same key with another request is a 400; only a
  ``waiting_for_capture`` payment is captured (all of it, or less) or canceled;
* injected faults for the next N calls: ``timeout`` (a read timeout),
  ``connect`` (a refused connection), ``500``/``503`` and ``202`` (processing);
* the shop's side of a payment's life: :meth:`FakeYooKassa.succeed`,
  :meth:`FakeYooKassa.authorize` (a ``capture: false`` payment the customer
  confirmed), :meth:`FakeYooKassa.capture`, :meth:`FakeYooKassa.cancel`,
  :meth:`FakeYooKassa.refund`.

Objects carry the fields of the SDK's ``PaymentResponse``/``RefundResponse``
that a notification carries too, with the SDK's cancellation codes (checked
against the ``yookassa`` SDK in ``tests/unit/adapters/test_yookassa_sdk.py``);
amounts are strings in roubles.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import os
import threading
import uuid
from datetime import datetime, timezone
from typing import Any

import httpx

from shared.adapters.amounts import to_kopecks, to_roubles
from shared.adapters.yookassa import YooKassaClient

FAULTS = ("timeout", "connect", "500", "503", "202")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _money(kopecks: int) -> dict[str, str]:
    return {"value": to_roubles(kopecks), "currency": "RUB"}


def _error(status: int, code: str, description: str) -> httpx.Response:
    return httpx.Response(status, json={"type": "error", "id": str(uuid.uuid4()), "code": code, "description": description})


class FakeYooKassa:
    """The API under any URL prefix ending in ``base_path`` (``/v3``); credentials default to the
    environment's ``YOOKASSA_SHOP_ID``/``YOOKASSA_SECRET_KEY`` (what ``scripts/fakes.py`` runs with)."""

    def __init__(self, *, shop_id: str | None = None, secret_key: str | None = None, base_path: str = "/v3") -> None:
        self.shop_id = os.environ.get("YOOKASSA_SHOP_ID", "") if shop_id is None else shop_id
        self.secret_key = os.environ.get("YOOKASSA_SECRET_KEY", "") if secret_key is None else secret_key
        self.base_path = "/" + base_path.strip("/")
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []  # (method, URL path) of every call, faulted ones too
        self.captured: dict[str, str] = {}  # payment id → the Idempotence-Key its capture came with
        self._idempotence: dict[str, tuple[str, dict[str, Any]]] = {}
        self._capture_later: dict[str, bool] = {}  # created with capture=false
        self._faults: list[str] = []
        self.receipts_required = False  # the shop's 54-FZ setting in its YooKassa account
        self.created: list[dict[str, Any]] = []  # the bodies of every payment created through the API
        self._outage: str | None = None
        self._outage_only: str | None = None
        self._lock = threading.RLock()  # a capture or cancel holds it through the whole call
        self._ids = itertools.count(1)

    # --- the switches -------------------------------------------------------------

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def fail_next(self, fault: str, times: int = 1) -> None:
        """The next ``times`` calls fail with ``fault``."""
        assert fault in FAULTS, fault
        with self._lock:
            self._faults.extend([fault] * times)

    def outage(self, fault: str | None, *, only: str | None = None) -> None:
        """Every call (or only those to ``only``: "payments" or "refunds") fails with ``fault`` until ``outage(None)``."""
        assert fault is None or fault in FAULTS, fault
        with self._lock:
            self._outage = fault
            self._outage_only = only

    # --- the shop's side ------------------------------------------------------------

    def _new_id(self) -> str:
        # the shape of YooKassa ids: 8-4-4-4-12 hex, "5000" as the third group
        n = next(self._ids)
        return f"{uuid.uuid4().hex[:8]}-000f-5000-8000-{n:012x}"

    def create_payment(
        self, *, amount: int, order_id: str | None = None, metadata: dict[str, Any] | None = None, description: str = "", capture: bool = True, return_url: str | None = None
    ) -> dict[str, Any]:
        """A payment as ``POST /payments`` creates it (pending; ``capture=False``: two-stage)."""
        meta = dict(metadata or {})
        if order_id is not None:
            meta["order_id"] = order_id
        payment = {
            "id": self._new_id(),
            "status": "pending",
            "paid": False,
            "amount": _money(amount),
            "description": description or (f"Заказ №{order_id}" if order_id else ""),
            "recipient": {"account_id": self.shop_id, "gateway_id": "100700"},
            "created_at": _now(),
            "confirmation": {"type": "redirect", "confirmation_url": "https://yoomoney.ru/checkout/payments/v2/contract?orderId=fake", **({"return_url": return_url} if return_url else {})},
            "test": True,
            "refunded_amount": _money(0),
            "refundable": False,
            "metadata": meta,
        }
        with self._lock:
            self.payments[payment["id"]] = payment
            self._capture_later[payment["id"]] = not capture
            return copy.deepcopy(payment)

    def _card(self, payment_id: str) -> dict[str, Any]:
        return {
            "type": "bank_card",
            "id": payment_id,
            "saved": False,
            "title": "Bank card *4477",
            "card": {"first6": "555555", "last4": "4477", "expiry_month": "07", "expiry_year": "2030", "card_type": "MasterCard"},
        }

    def authorize(self, payment_id: str) -> dict[str, Any]:
        """The customer confirmed a two-stage payment: the money is held, ``waiting_for_capture``."""
        with self._lock:
            p = self.payments[payment_id]
            assert p["status"] == "pending" and self._capture_later.get(payment_id), "only a pending capture=false payment waits for capture"
            p.update(status="waiting_for_capture", paid=True, expires_at=_now(), payment_method=self._card(payment_id))
            return copy.deepcopy(p)

    def capture(self, payment_id: str, amount: int | None = None) -> dict[str, Any]:
        """Capture a held payment (all of it, or ``amount`` kopecks of it): ``succeeded``."""
        with self._lock:
            p = self.payments[payment_id]
            assert p["status"] == "waiting_for_capture", p["status"]
            total = to_kopecks(p["amount"]["value"])
            assert amount is None or 0 < amount <= total, "a capture of more than was held"
            captured = total if amount is None else amount
            p.pop("expires_at", None)
            p.update(status="succeeded", amount=_money(captured), captured_at=_now(), refundable=True, income_amount=_money(captured * 965 // 1000))
            return copy.deepcopy(p)

    def succeed(self, payment_id: str) -> dict[str, Any]:
        with self._lock:
            p = self.payments[payment_id]
            assert p["status"] in ("pending", "waiting_for_capture"), p["status"]
            assert p["status"] == "pending" or not self._capture_later.get(payment_id), "a two-stage payment succeeds by its capture"
            p.update(
                status="succeeded",
                paid=True,
                refundable=True,
                captured_at=_now(),
                income_amount=_money(to_kopecks(p["amount"]["value"]) * 965 // 1000),
                payment_method=self._card(payment_id),
            )
            return copy.deepcopy(p)

    def cancel(self, payment_id: str, *, party: str = "yoo_money", reason: str = "expired_on_confirmation") -> dict[str, Any]:
        """A payment declined or abandoned (``party``: ``yoo_money`` for YooKassa itself, ``payment_network``,
        ``merchant``), or a held one released."""
        with self._lock:
            p = self.payments[payment_id]
            assert p["status"] in ("pending", "waiting_for_capture"), p["status"]
            p.pop("expires_at", None)
            p.update(status="canceled", paid=False, cancellation_details={"party": party, "reason": reason})
            return copy.deepcopy(p)

    def refund(self, payment_id: str, amount: int, *, metadata: dict[str, Any] | None = None, status: str = "succeeded") -> dict[str, Any]:
        """A refund of ``amount`` kopecks (YooKassa refuses more than is left of the payment)."""
        with self._lock:
            p = self.payments[payment_id]
            assert p["status"] == "succeeded", "only a succeeded payment is refunded"
            refunded = to_kopecks(p["refunded_amount"]["value"])
            assert 0 < amount <= to_kopecks(p["amount"]["value"]) - refunded, "refund exceeds the payment"
            refund = {
                "id": self._new_id().replace("-000f-5000-", "-0015-5000-"),
                "payment_id": payment_id,
                "status": status,
                "amount": _money(amount),
                "created_at": _now(),
                "description": "",
                "metadata": dict(metadata or {}),
            }
            self.refunds[refund["id"]] = refund
            if status == "succeeded":
                p["refunded_amount"] = _money(refunded + amount)
                p["refundable"] = refunded + amount < to_kopecks(p["amount"]["value"])
            return copy.deepcopy(refund)

    # --- the API ----------------------------------------------------------------

    def _authorized(self, request: httpx.Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.shop_id}:{self.secret_key}".encode()).decode()
        return request.headers.get("Authorization") == expected

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append((request.method, request.url.path))
            fault = self._faults.pop(0) if self._faults else None
            if fault is None and (self._outage_only is None or f"/{self._outage_only}" in request.url.path):
                fault = self._outage
        if fault == "timeout":
            raise httpx.ReadTimeout("fake: read timed out", request=request)
        if fault == "connect":
            raise httpx.ConnectError("fake: connection refused", request=request)
        if fault in ("500", "503"):
            return _error(int(fault), "internal_server_error", "Internal server error")
        if fault == "202":
            return httpx.Response(202, json={"type": "processing", "description": "The request is being processed", "retry_after": 1800})
        if not self._authorized(request):
            return _error(401, "invalid_credentials", "Login or password is incorrect")
        path = request.url.path
        at = path.find(self.base_path + "/")
        if at < 0:
            return _error(404, "not_found", "Unknown path")
        parts = path[at + len(self.base_path) + 1 :].split("/")
        with self._lock:
            if request.method == "GET" and len(parts) == 2 and parts[0] in ("payments", "refunds"):
                found = (self.payments if parts[0] == "payments" else self.refunds).get(parts[1])
                if found is None:
                    return _error(404, "not_found", f"{parts[0][:-1].capitalize()} not found")
                return httpx.Response(200, json=copy.deepcopy(found))
        if request.method == "POST" and len(parts) == 1 and parts[0] in ("payments", "refunds"):
            return self._create(parts[0], request)
        if request.method == "POST" and len(parts) == 3 and parts[0] == "payments" and parts[2] in ("capture", "cancel"):
            return self._settle_hold(parts[1], parts[2], request)
        return _error(404, "not_found", "Unknown path")

    handler = handle  # the name scripts/fakes.py serves

    def _settle_hold(self, payment_id: str, action: str, request: httpx.Request) -> httpx.Response:
        """``POST /payments/{id}/capture`` (body ``{"amount": …}`` optional) or ``/cancel`` of a held payment."""
        key = request.headers.get("Idempotence-Key")
        if not key:
            return _error(400, "invalid_request", "Idempotence-Key header is required")
        with self._lock:  # one at a time, as YooKassa serialises requests under one key
            return self._settle_hold_locked(payment_id, action, key, request)

    def _settle_hold_locked(self, payment_id: str, action: str, key: str, request: httpx.Request) -> httpx.Response:
        fingerprint = f"{request.url.path} {request.content.decode()}"
        seen = self._idempotence.get(key)
        found = self.payments.get(payment_id)
        if seen is not None:
            if seen[0] != fingerprint:
                return _error(400, "invalid_request", "Idempotence key duplicated with other parameters")
            return httpx.Response(200, json=copy.deepcopy(seen[1]))
        if found is None:
            return _error(404, "not_found", "Payment not found")
        if found["status"] != "waiting_for_capture":
            return _error(400, "invalid_request", f"Payment in status {found['status']} cannot be {'captured' if action == 'capture' else 'canceled'}")
        if action == "capture":
            try:
                body = json.loads(request.content) if request.content else {}
                amount = to_kopecks(body["amount"]["value"]) if "amount" in body else None
            except (ValueError, KeyError, TypeError):
                return _error(400, "invalid_request", "Invalid amount")
            if amount is not None and not 0 < amount <= to_kopecks(found["amount"]["value"]):
                return _error(400, "invalid_request", "The capture amount exceeds the held amount")
            done = self.capture(payment_id, amount)
            self.captured[payment_id] = key
        else:
            done = self.cancel(payment_id, party="merchant", reason="canceled_by_merchant")
        self._idempotence[key] = (fingerprint, done)
        return httpx.Response(200, json=done)

    def _create(self, collection: str, request: httpx.Request) -> httpx.Response:
        key = request.headers.get("Idempotence-Key")
        if not key:
            return _error(400, "invalid_request", "Idempotence-Key header is required")
        try:
            body = json.loads(request.content)
            amount = to_kopecks(body["amount"]["value"])
        except (ValueError, KeyError, TypeError):
            return _error(400, "invalid_request", "Invalid amount")
        with self._lock:
            seen = self._idempotence.get(key)
        if seen is not None:
            if seen[0] != request.content.decode():
                return _error(400, "invalid_request", "Idempotence key duplicated with other parameters")
            return httpx.Response(200, json=copy.deepcopy(seen[1]))
        if collection == "payments":
            problem = self._payment_problem(body, amount)
            if problem is not None:
                return _error(400, "invalid_request", problem)
            confirmation = body.get("confirmation") or {}
            capture = body.get("capture") is True
            created = self.create_payment(amount=amount, metadata=body.get("metadata"), description=body.get("description", ""), capture=capture, return_url=confirmation.get("return_url"))
            created["confirmation"]["confirmation_url"] = f"https://yoomoney.ru/checkout/payments/v2/contract?orderId={created['id']}"
            with self._lock:
                self.payments[created["id"]]["confirmation"] = copy.deepcopy(created["confirmation"])
                self.created.append(body)
        else:
            payment = self.payments.get(body.get("payment_id"))
            if payment is None:
                return _error(400, "invalid_request", "Payment not found")
            left = to_kopecks(payment["amount"]["value"]) - to_kopecks(payment["refunded_amount"]["value"])
            if payment["status"] != "succeeded" or not 0 < amount <= left:
                return _error(400, "invalid_request", "The refund amount exceeds what is left of the payment")
            created = self.refund(body["payment_id"], amount, metadata=body.get("metadata"))
        with self._lock:
            self._idempotence[key] = (request.content.decode(), created)
        return httpx.Response(200, json=created)


    def _payment_problem(self, body: dict[str, Any], amount: int) -> str | None:
        """Why YooKassa would refuse this ``POST /payments`` body (``None``: it would not)."""
        money = body.get("amount") or {}
        if money.get("currency") != "RUB" or not isinstance(money.get("value"), str) or "." not in money["value"] or len(money["value"].split(".")[1]) != 2 or amount <= 0:
            return "Invalid amount"
        if "capture" in body and not isinstance(body["capture"], bool):
            return "Invalid capture"
        confirmation = body.get("confirmation")
        if confirmation is not None and (confirmation.get("type") != "redirect" or not str(confirmation.get("return_url", "")).startswith(("http://", "https://"))):
            return "Invalid confirmation: a redirect needs a return_url"
        if len(body.get("description", "")) > 128:
            return "Invalid description"
        metadata = body.get("metadata") or {}
        if not isinstance(metadata, dict) or len(metadata) > 16 or any(not isinstance(v, str) or len(v) > 512 for v in metadata.values()):
            return "Invalid metadata"
        receipt = body.get("receipt")
        if receipt is None:
            return "Receipt is missing or illegal" if self.receipts_required else None
        customer = receipt.get("customer") or {}
        if not (customer.get("phone") or customer.get("email")):
            return "Receipt customer needs a phone or an email"
        items = receipt.get("items") or []
        if not items:
            return "Receipt needs items"
        total = 0
        for item in items:
            try:
                quantity = float(item["quantity"])
                unit = to_kopecks(item["amount"]["value"])
            except (KeyError, TypeError, ValueError):
                return "Invalid receipt item"
            if item["amount"].get("currency") != "RUB" or not item.get("description") or not 1 <= item.get("vat_code", 0) <= 12 or quantity <= 0:
                return "Invalid receipt item"
            if not item.get("payment_subject") or not item.get("payment_mode"):
                return "Invalid receipt item: payment_subject and payment_mode are required"
            total += round(unit * quantity)
        if total != amount:
            return "Receipt items do not add up to the payment amount"
        return None


def client_on(fake: FakeYooKassa) -> YooKassaClient:
    """The production client on the fake, with the fake's credentials and no pause between retries."""
    return YooKassaClient(base_url="https://api.yookassa.ru/v3", shop_id=fake.shop_id, secret_key=fake.secret_key, timeout=1, transport=fake.transport, backoff_seconds=0)


def notification(event: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The body YooKassa POSTs: the whole object as it was at the status change."""
    return {"type": "notification", "event": event, "object": copy.deepcopy(obj)}
