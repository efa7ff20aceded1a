"""YooKassa API v3: the client a payment notification is checked against (the
capture or release of a two-stage payment, the refund of a payment that could not
settle its order), and the networks YooKassa sends notifications from.

YooKassa does not sign its notifications (Basic-auth shops), so a notification
is only a hint: the sender's address must be one of YooKassa's networks, and
the payment or refund it names is fetched again from the API; only the fetched
object is acted upon.

The instance's client is built from settings on first use by
:mod:`shared.platform.bootstrap`; nothing connects at import. Tests hand it an
``httpx`` transport there.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import time
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.adapters.amounts import BadAmount, to_kopecks, to_roubles
from shared.adapters.retry import Again, Exhausted, Retry
from shared.domain.errors import ProviderUnavailable
from shared.platform.settings import settings

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("kopilka")

# The published notification sources (yookassa.ru/developers/using-api/webhooks, "#ip"). The IPv4
# networks are the official SDK's (yookassa 3.13.0, SecurityHelper.YOOKASSA_NETWORKS; compared in
# tests/unit/adapters/test_yookassa_sdk.py). For IPv6 the SDK lists four /64 networks inside
# 2a02:5180::/32 and the page publishes the /32: we allow the /32, YooMoney's own allocation. A
# sender outside the SDK's /64s but inside it is still YooKassa's, and refusing it would hold up
# payments for a day of redeliveries; the allowlist only decides which hints are read at all, the
# re-fetched object decides the money. An IPv4-mapped IPv6 sender (::ffff:a.b.c.d, as a dual-stack
# socket shows an IPv4 peer) is judged by the IPv4 address it maps; no other IPv6 form of an IPv4
# address (NAT64, 6to4, IPv4-compatible) is.
YOOKASSA_NETWORKS: tuple[str, ...] = (
    "185.71.76.0/27",
    "185.71.77.0/27",
    "77.75.153.0/25",
    "77.75.156.11/32",
    "77.75.156.35/32",
    "77.75.154.128/25",
    "2a02:5180::/32",
)

# Payment and refund ids are UUID-like; anything else never reaches a URL path.
_OBJECT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


# --- the sender allowlist ----------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(specs: tuple[str, ...]) -> tuple[Network, ...]:
    # strict: a configured network with host bits set is a typo worth failing on
    return tuple(ipaddress.ip_network(spec, strict=True) for spec in specs)


def networks() -> tuple[Network, ...]:
    """The allowlist in force: ``settings().yookassa_networks`` when set, else the published list."""
    return _networks(settings().yookassa_networks or YOOKASSA_NETWORKS)


def is_yookassa_address(address: str | None, allowed: tuple[Network, ...] | None = None) -> bool:
    """Whether ``address`` (one IP, as :func:`shared.edge.http.client_ip` returns it) is YooKassa's."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in (networks() if allowed is None else allowed))


# --- API objects -------------------------------------------------------------------


class _Object(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Amount(_Object):
    value: str
    currency: str

    @property
    def kopecks(self) -> int:
        return to_kopecks(self.value)


class _Priced(_Object):
    """An API object with an id and an amount (a payment or a refund)."""

    id: str
    amount: Amount


class CancellationDetails(_Object):
    """Who declined a canceled payment and why (``payment_network`` / ``insufficient_funds`` …)."""

    party: str | None = None
    reason: str | None = None


class Confirmation(_Object):
    """Where the customer confirms a payment (``redirect``: YooKassa's payment page)."""

    type: str
    confirmation_url: str | None = None


class Payment(_Priced):
    """The fields of a YooKassa payment this service reads."""

    status: str  # pending | waiting_for_capture | succeeded | canceled
    paid: bool = False
    confirmation: Confirmation | None = None
    refunded_amount: Amount | None = None
    metadata: dict[str, Any] | None = None
    cancellation_details: CancellationDetails | None = None
    test: bool = False


class ReceiptItem(_Object):
    """One 54-FZ receipt line: ``quantity`` units at ``kopecks`` each."""

    description: str
    quantity: int
    kopecks: int
    vat_code: int
    payment_subject: str
    payment_mode: str


class Receipt(_Object):
    """A 54-FZ receipt: the customer's phone (E.164) or e-mail and the items, which add up to the payment."""

    phone: str | None = None
    email: str | None = None
    items: tuple[ReceiptItem, ...]


class NewPayment(_Object):
    """A payment Kopilka creates for an order (``POST /payments``, ``capture: true``, a redirect confirmation)."""

    order_id: str
    kopecks: int
    description: str
    return_url: str
    receipt: Receipt | None = None


def _receipt_body(receipt: Receipt) -> dict[str, Any]:
    customer = {"phone": receipt.phone.lstrip("+")} if receipt.phone else {"email": receipt.email}
    items = [
        {
            "description": item.description[:128],
            "quantity": f"{item.quantity}.00",
            "amount": {"value": to_roubles(item.kopecks), "currency": "RUB"},
            "vat_code": item.vat_code,
            "payment_subject": item.payment_subject,
            "payment_mode": item.payment_mode,
        }
        for item in receipt.items
    ]
    return {"customer": customer, "items": items}


class Refund(_Priced):
    """The fields of a YooKassa refund this service reads."""

    payment_id: str
    status: str  # pending | succeeded | canceled
    metadata: dict[str, Any] | None = None


M = TypeVar("M", bound=_Priced)


class YooKassaUnavailable(ProviderUnavailable):
    """The API could not give an answer (network, timeout, 5xx, 202 after retries, refused credentials).

    A notification that depends on it must be answered with a non-200 so that
    YooKassa delivers it again.
    """

    message_ru = "Платёжный сервис недоступен, повторите попытку позже."


# --- the client --------------------------------------------------------------------


class YooKassaClient:
    """GET payments and refunds with a timeout and bounded retries.

    A GET is safe to repeat, so network errors, timeouts, 5xx and 202
    ("still processing") are retried up to ``attempts`` times with jittered
    exponential backoff. 404 means YooKassa does not know the object: the
    getters return ``None``. Anything else raises :class:`YooKassaUnavailable`.
    """

    def __init__(
        self,
        *,
        base_url: str,
        shop_id: str,
        secret_key: str,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
        attempts: int = 3,
        backoff_seconds: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retry = Retry(attempts=attempts, backoff_seconds=backoff_seconds, sleep=sleep)
        import httpx  # with the first client: a function that only reads YooKassa's models does not load it

        self._transport_error = httpx.TransportError
        self._http = httpx.Client(
            base_url=base_url,
            auth=httpx.BasicAuth(shop_id, secret_key),
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"Accept": "application/json"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def get_payment(self, payment_id: str) -> Payment | None:
        """The payment as YooKassa has it now; ``None`` when YooKassa does not know the id."""
        return self._fetch(Payment, "payments", payment_id)

    def get_refund(self, refund_id: str) -> Refund | None:
        """The refund as YooKassa has it now; ``None`` when YooKassa does not know the id."""
        return self._fetch(Refund, "refunds", refund_id)

    def create_payment(self, payment: NewPayment) -> Payment:
        """Create the order's payment (``POST /payments``), once per order and return address: the
        ``Idempotence-Key`` is derived from the order id and the ``return_url``, so a retried checkout
        answers the same payment. ``metadata.order_id`` names the order for the ``/yookassa``
        notification; a refusal or no answer is :class:`YooKassaUnavailable`."""
        if payment.kopecks <= 0:
            raise ValueError("a payment needs a positive amount")
        body: dict[str, Any] = {
            "amount": {"value": to_roubles(payment.kopecks), "currency": "RUB"},
            "capture": True,
            "confirmation": {"type": "redirect", "return_url": payment.return_url},
            "description": payment.description[:128],
            "metadata": {"order_id": payment.order_id},
        }
        if payment.receipt is not None:
            body["receipt"] = _receipt_body(payment.receipt)
        key = "kopilka-payment-" + hashlib.sha256(f"{payment.order_id}\n{payment.return_url}".encode()).hexdigest()[:48]
        data = self._request("POST", "payments", json=body, headers={"Idempotence-Key": key})
        try:
            created = Payment.model_validate(data)
            _ = created.amount.kopecks
        except (ValidationError, BadAmount) as exc:
            raise YooKassaUnavailable("YooKassa returned an unreadable payment", order_id=payment.order_id, reason=str(exc)[:200]) from None
        if (created.metadata or {}).get("order_id") != payment.order_id or created.amount.kopecks != payment.kopecks:
            raise YooKassaUnavailable("YooKassa returned a payment of another order", order_id=payment.order_id)
        return created

    def create_refund(self, *, payment_id: str, kopecks: int, idempotence_key: str, description: str) -> Refund:
        """Refund ``kopecks`` of a payment (``POST /refunds``), once per ``idempotence_key``.

        The same key with the same body answers the same refund, so the call is
        retried like a GET; a refusal or no answer is :class:`YooKassaUnavailable`.
        """
        if not _OBJECT_ID.fullmatch(payment_id) or kopecks <= 0:
            raise ValueError("a refund needs a payment id and a positive amount")
        body = {"payment_id": payment_id, "amount": {"value": to_roubles(kopecks), "currency": "RUB"}, "description": description[:250]}
        data = self._request("POST", "refunds", json=body, headers={"Idempotence-Key": idempotence_key})
        try:
            refund = Refund.model_validate(data)
            _ = refund.amount.kopecks
        except (ValidationError, BadAmount) as exc:
            raise YooKassaUnavailable("YooKassa returned an unreadable refund", payment_id=payment_id, reason=str(exc)[:200]) from None
        if refund.payment_id != payment_id:
            raise YooKassaUnavailable("YooKassa returned a refund of another payment", payment_id=payment_id)
        return refund

    def capture_payment(self, *, payment_id: str, kopecks: int, idempotence_key: str) -> Payment:
        """Capture ``kopecks`` of a ``waiting_for_capture`` payment (``POST /payments/{id}/capture``), once per key."""
        if kopecks <= 0:
            raise ValueError("a capture needs a positive amount")
        return self._settle_hold(payment_id, "capture", idempotence_key, {"amount": {"value": to_roubles(kopecks), "currency": "RUB"}})

    def cancel_payment(self, *, payment_id: str, idempotence_key: str) -> Payment:
        """Release a ``waiting_for_capture`` payment's hold (``POST /payments/{id}/cancel``), once per key."""
        return self._settle_hold(payment_id, "cancel", idempotence_key, {})

    def _settle_hold(self, payment_id: str, action: str, idempotence_key: str, body: dict[str, Any]) -> Payment:
        # the same key with the same body answers the same payment, so the call is retried like a GET;
        # a refusal (400: it was captured or canceled meanwhile) is YooKassaUnavailable, and the
        # notification's redelivery then sees the payment's new status
        if not _OBJECT_ID.fullmatch(payment_id):
            raise ValueError("not a payment id")
        data = self._request("POST", f"payments/{payment_id}/{action}", json=body, headers={"Idempotence-Key": idempotence_key})
        try:
            payment = Payment.model_validate(data)
            _ = payment.amount.kopecks
        except (ValidationError, BadAmount) as exc:
            raise YooKassaUnavailable(f"YooKassa returned an unreadable payment to {action}", payment_id=payment_id, reason=str(exc)[:200]) from None
        if payment.id != payment_id:
            raise YooKassaUnavailable(f"YooKassa returned another payment to {action}", payment_id=payment_id)
        return payment

    def _fetch(self, model: type[M], collection: str, object_id: str) -> M | None:
        if not isinstance(object_id, str) or not _OBJECT_ID.fullmatch(object_id):
            return None
        data = self._get(f"{collection}/{object_id}")
        if data is None:
            return None
        try:
            found = model.model_validate(data)
            _ = found.amount.kopecks  # an amount we could not compare exactly is refused here
        except (ValidationError, BadAmount) as exc:
            raise YooKassaUnavailable(f"YooKassa returned an unreadable {collection[:-1]}", object_id=object_id, reason=str(exc)[:200]) from None
        if found.id != object_id:
            raise YooKassaUnavailable(f"YooKassa returned another {collection[:-1]}", object_id=object_id)
        return found

    def _get(self, path: str) -> dict[str, Any] | None:
        return self._request("GET", path)

    def _request(self, method: str, path: str, **options: Any) -> dict[str, Any] | None:
        """A GET, or a POST with an ``Idempotence-Key`` (as safe to repeat), with bounded retries."""

        def attempt(_: int) -> dict[str, Any] | None:
            try:
                response = self._http.request(method, path, **options)
            except self._transport_error as exc:  # connect/read/write/pool timeouts and network errors
                raise Again(type(exc).__name__) from None
            status = response.status_code
            if status == 200:
                try:
                    data = response.json()
                except ValueError:
                    data = None
                if not isinstance(data, dict):
                    raise YooKassaUnavailable("YooKassa returned a body that is not a JSON object", path=path)
                return data
            if status == 404 and method == "GET":
                return None
            if status != 202 and status < 500:
                # 400/401/403/429: repeating now does not help; a later redelivery may
                log.error("yookassa refused", extra={"json_fields": {"path": path, "status": status}})
                raise YooKassaUnavailable(f"YooKassa answered {status}", path=path, status=status)
            raise Again(f"http {status}")

        try:
            return self.retry.run(attempt)
        except Exhausted as gave_up:
            log.warning("yookassa unavailable", extra={"json_fields": {"path": path, "reason": gave_up.reason, "attempts": self.retry.attempts}})
            raise YooKassaUnavailable(f"YooKassa did not answer after {self.retry.attempts} attempts ({gave_up.reason})", path=path, reason=gave_up.reason) from None
