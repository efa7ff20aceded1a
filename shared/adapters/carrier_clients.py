"""Carrier tracking clients: CDEK (REST + OAuth), Boxberry (JSON) and Russian Post (SOAP 1.2).

Small httpx clients with a timeout and a bounded retry on network errors and
5xx. Each takes an optional ``transport`` so tests route them through fakes
(``httpx.MockTransport``). What a carrier's answer means is decided by the pure
mapping in :mod:`shared.adapters.carriers`; the instance's clients are built
from settings, on first use, by :mod:`shared.platform.bootstrap`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from shared.adapters.carriers import (
    SOAP_CONTENT_TYPE,
    CarrierError,
    CarrierStatus,
    CarrierUnavailable,
    CdekOrder,
    SoapFault,
    TrackingNotFound,
    boxberry_status,
    cdek_order,
    parse_boxberry,
    parse_operation_history,
    russianpost_status,
    soap_request,
)
from shared.adapters.retry import Again, Exhausted, Retry

log = logging.getLogger(__name__)


class CarrierClient(Protocol):
    """What every carrier's client answers: its verdict on one shipment."""

    http: _Http

    def track(self, tracking: str) -> CarrierStatus: ...


class _Http:
    """One lazily built httpx client with a bounded retry on network errors and 5xx."""

    def __init__(
        self,
        *,
        name: str,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
        attempts: int = 3,
        backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        retry_if: Callable[[httpx.Response], bool] = lambda response: response.status_code >= 500,
    ) -> None:
        self.name = name
        self.retry_if = retry_if
        self.timeout = timeout
        self.transport = transport
        self.retry = Retry(attempts=max(1, attempts), backoff_seconds=backoff, sleep=sleep, jitter=False)
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=httpx.Timeout(self.timeout), transport=self.transport, follow_redirects=False)
            return self._client

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        def attempt(number: int) -> httpx.Response:
            try:
                response = self.client.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.info("carrier call failed", extra={"json_fields": {"carrier": self.name, "attempt": number, "error": error}})
                raise Again(error) from None
            if not self.retry_if(response) or number == self.retry.attempts:
                return response  # on the last attempt the caller may read a fault from it
            log.info("carrier call failed", extra={"json_fields": {"carrier": self.name, "attempt": number, "error": f"HTTP {response.status_code}"}})
            raise Again(f"HTTP {response.status_code}")

        try:
            return self.retry.run(attempt)
        except Exhausted as gave_up:
            raise CarrierUnavailable(f"{self.name} unreachable after {self.retry.attempts} attempts: {gave_up.reason}") from None

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


class CdekClient:
    """CDEK API v2: an OAuth client-credentials token (cached until shortly before it
    expires, renewed once on a 401) and the order read."""

    def __init__(self, *, base_url: str, client_id: str, client_secret: str, timeout: float, transport: httpx.BaseTransport | None = None, **http: Any) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.http = _Http(name="cdek", timeout=timeout, transport=transport, **http)
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def _fetch_token(self) -> str:
        if not self.client_id or not self.client_secret:
            raise CarrierError("CDEK credentials are not configured")
        response = self.http.request(
            "POST",
            f"{self.base_url}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret},
        )
        if response.status_code >= 500:
            raise CarrierUnavailable(f"CDEK token endpoint answered {response.status_code}")
        if response.status_code != 200:
            raise CarrierError(f"CDEK refused the credentials ({response.status_code})")
        data = response.json()
        ttl = float(data.get("expires_in") or 0)
        token = str(data["access_token"])
        self._token = (token, time.monotonic() + max(ttl - 60, ttl / 2))
        return token

    def token(self, *, renew: bool = False) -> str:
        with self._lock:
            if not renew and self._token is not None and self._token[1] > time.monotonic():
                return self._token[0]
            return self._fetch_token()

    def _get(self, path: str) -> httpx.Response:
        response = self.http.request("GET", f"{self.base_url}{path}", headers={"Authorization": f"Bearer {self.token()}"})
        if response.status_code == 401:
            response = self.http.request("GET", f"{self.base_url}{path}", headers={"Authorization": f"Bearer {self.token(renew=True)}"})
        return response

    def get_order(self, uuid: str) -> CdekOrder:
        response = self._get(f"/orders/{quote(uuid, safe='')}")
        if response.status_code >= 500:
            raise CarrierUnavailable(f"CDEK answered {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise CarrierError(f"CDEK answered non-JSON ({response.status_code})") from None
        entity = data.get("entity") if isinstance(data, dict) else None
        if response.status_code == 404 or (response.status_code == 200 and not entity):
            raise TrackingNotFound(f"CDEK does not know order {uuid}")
        if response.status_code != 200:
            raise CarrierError(f"CDEK answered {response.status_code}")
        if not isinstance(entity, dict):
            raise CarrierError("CDEK answered an entity that is not an object")
        # a return order's link to its direct order is answered next to the entity, not in it
        return cdek_order(entity, data.get("related_entities"))

    def track(self, tracking: str) -> CarrierStatus:
        return self.get_order(tracking).status


class BoxberryClient:
    """Boxberry ``ListStatuses`` by ``ImId`` (a tracking code or the shop's order number)."""

    def __init__(self, *, base_url: str, token: str, timeout: float, transport: httpx.BaseTransport | None = None, **http: Any) -> None:
        self.base_url = base_url
        self.api_token = token
        self.http = _Http(name="boxberry", timeout=timeout, transport=transport, **http)

    def list_statuses(self, im_id: str) -> list[dict[str, Any]]:
        if not self.api_token:
            raise CarrierError("the Boxberry token is not configured")
        response = self.http.request("GET", self.base_url, params={"method": "ListStatuses", "token": self.api_token, "ImId": im_id})
        if response.status_code >= 500:
            raise CarrierUnavailable(f"Boxberry answered {response.status_code}")
        if response.status_code != 200:
            raise CarrierError(f"Boxberry answered {response.status_code}")
        try:
            return parse_boxberry(response.json())
        except ValueError:
            raise CarrierError("Boxberry answered non-JSON") from None

    def track(self, tracking: str) -> CarrierStatus:
        return boxberry_status(self.list_statuses(tracking))


class RussianPostClient:
    """Russian Post single-item tracking (``getOperationHistory``, SOAP 1.2)."""

    def __init__(self, *, url: str, login: str, password: str, timeout: float, transport: httpx.BaseTransport | None = None, **http: Any) -> None:
        self.url = url
        self.login = login
        self.password = password
        # A fault the sender caused (bad credentials, unknown barcode) comes with a 500 from
        # some SOAP stacks: asking again will not change it.
        http.setdefault("retry_if", lambda response: response.status_code >= 500 and b"Sender" not in response.content)
        self.http = _Http(name="russianpost", timeout=timeout, transport=transport, **http)

    def operation_history(self, barcode: str) -> list[dict[str, Any]]:
        if not self.login or not self.password:
            raise CarrierError("Russian Post credentials are not configured")
        response = self.http.request(
            "POST",
            self.url,
            content=soap_request(barcode, login=self.login, password=self.password),
            headers={"Content-Type": SOAP_CONTENT_TYPE, "Accept": "application/soap+xml, text/xml"},
        )
        try:
            return parse_operation_history(response.content)
        except SoapFault as fault:
            if response.status_code >= 500 and "receiver" in fault.code.casefold():
                raise CarrierUnavailable(str(fault)) from None
            raise
        except CarrierError:
            if response.status_code >= 500:
                raise CarrierUnavailable(f"Russian Post answered {response.status_code}") from None
            raise

    def track(self, tracking: str) -> CarrierStatus:
        return russianpost_status(self.operation_history(tracking))
