"""CDEK, Boxberry and Russian Post behind one ``httpx.MockTransport``, and CDEK webhooks as CDEK sends them.

Built from the documented contracts (INTEGRATIONS §4–6 of the spec):

* **CDEK v2** (host ``api.cdek.ru``): ``POST /v2/oauth/token`` (form
  ``grant_type=client_credentials``, ``client_id``, ``client_secret``) answers
  ``{access_token, token_type, expires_in, scope, jti}``; ``GET /v2/orders/{uuid}``
  needs ``Authorization: Bearer`` with a live token (401 otherwise) and answers
  ``{"entity": {…, "statuses": [{code, name, date_time, city}]}, "requests": [...],
  "related_entities": [...]}`` (the shapes of the ``cdek`` package's
  ``OrderEntityResponse``, checked in ``tests/unit/adapters/test_cdek_sdk.py``),
  or 404 with an ``INVALID`` request for an unknown uuid. Status codes carry a
  trailing space and times use ``+0700`` offsets, as in CDEK's own samples; a
  return is a separate order (``is_return: true``, or ``is_client_return: true``
  for a customer's own return) linked to its direct order by the answer's
  top-level ``related_entities`` (not inside the entity); a status CDEK
  withdrew stays listed with ``deleted: true``.
* **Boxberry** (host ``api.boxberry.ru``): ``GET /json.php?method=ListStatuses&token=…&ImId=…``
  answers ``[{"Date": "YYYY-MM-DD HH:MM:SS" (Moscow), "Name": "<Russian>"}]``;
  ``[{"err": "…"}]`` for a bad token or an unknown code.
* **Russian Post** (host ``tracking.russianpost.ru``): ``POST /rtm34`` with a SOAP 1.2
  ``getOperationHistory`` envelope; ``historyRecord`` elements with
  ``OperationParameters/OperType/Id``, ``OperAttr/Id``, ``OperDate``; a SOAP Fault
  (HTTP 500, ``soap:Sender``) for wrong credentials or an unknown barcode.
* faults for the next calls to a host: ``"connect"`` (refused), ``"timeout"``
  (read timeout), ``"500"``, ``"503"``.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid as uuidlib
import xml.etree.ElementTree as ET
import zlib
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import httpx

CDEK_HOST = "api.cdek.ru"
BOXBERRY_HOST = "api.boxberry.ru"
RUSSIANPOST_HOST = "tracking.russianpost.ru"
SOAP = "http://www.w3.org/2003/05/soap-envelope"
DATA = "http://russianpost.org/operationhistory/data"
OPER = "http://russianpost.org/operationhistory"
NOVOSIBIRSK = timezone(timedelta(hours=7))
MSK = timezone(timedelta(hours=3))


def cdek_time(moment: datetime) -> str:
    """CDEK's style: a local offset without a colon, e.g. ``2026-03-05T16:00:00+0700``."""
    return moment.astimezone(NOVOSIBIRSK).strftime("%Y-%m-%dT%H:%M:%S%z")


def boxberry_time(moment: datetime) -> str:
    return moment.astimezone(MSK).strftime("%Y-%m-%d %H:%M:%S")


def russianpost_time(moment: datetime) -> str:
    return moment.astimezone(MSK).isoformat(timespec="milliseconds")


def cdek_webhook(
    uuid: str,
    code: str,
    at: datetime,
    *,
    number: str | None = None,
    is_return: bool = False,
    is_client_return: bool = False,
    related: list[dict[str, Any]] | None = None,
    deleted: bool | None = None,
) -> dict[str, Any]:
    """An ``ORDER_STATUS`` event as CDEK posts it (code with a trailing space); ``related``
    entries are ``{"type": "direct_order", "uuid": …}`` (a ``cdek_number`` is added when missing)."""
    attributes: dict[str, Any] = {
        "is_return": is_return,
        "cdek_number": str(zlib.crc32(uuid.encode())),
        "code": f"{code} ",
        "status_code": "4",
        "status_date_time": cdek_time(at),
        "city_name": "Новосибирск",
        "city_code": "270",
        "is_reverse": False,
        "is_client_return": is_client_return,
    }
    if number is not None:
        attributes["number"] = number
    if related:
        attributes["related_entities"] = [{"cdek_number": str(zlib.crc32(str(r.get("uuid")).encode())), **r} for r in related]
    if deleted is not None:
        attributes["deleted"] = deleted
    return {"type": "ORDER_STATUS", "date_time": cdek_time(at), "uuid": uuid, "attributes": attributes}


class FakeCarriers:
    def __init__(
        self,
        *,
        cdek_client_id: str = "cdek-account",
        cdek_client_secret: str = "cdek-secure",
        boxberry_token: str = "boxberry-token",
        russianpost_login: str = "rp-login",
        russianpost_password: str = "rp-password",
        token_ttl: int = 3600,
    ) -> None:
        self.cdek_client_id = cdek_client_id
        self.cdek_client_secret = cdek_client_secret
        self.boxberry_token = boxberry_token
        self.russianpost_login = russianpost_login
        self.russianpost_password = russianpost_password
        self.token_ttl = token_ttl
        self.cdek_orders: dict[str, dict[str, Any]] = {}
        self.cdek_related: dict[str, list[dict[str, Any]]] = {}  # the answer's top-level related_entities, per order
        self.boxberry: dict[str, list[dict[str, str]]] = {}
        self.russianpost: dict[str, list[tuple[int, int | None, str]]] = {}
        self.requests: list[tuple[str, str, str]] = []  # (host, method, path) of every call, faulted ones too
        self.soap_bodies: list[bytes] = []
        self._tokens: set[str] = set()
        self._faults: dict[str, list[str]] = {}
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.transport = httpx.MockTransport(self.handle)

    def environment(self) -> dict[str, str]:
        """The shop's credentials for these carriers, as the functions read them from the environment."""
        return {
            "CDEK_CLIENT_ID": self.cdek_client_id,
            "CDEK_CLIENT_SECRET": self.cdek_client_secret,
            "BOXBERRY_TOKEN": self.boxberry_token,
            "RUSSIANPOST_LOGIN": self.russianpost_login,
            "RUSSIANPOST_PASSWORD": self.russianpost_password,
        }

    # --- the shop's side ----------------------------------------------------------------

    def add_cdek_order(
        self,
        *,
        number: str | None,
        statuses: list[tuple[str, datetime]],
        uuid: str | None = None,
        is_return: bool = False,
        is_client_return: bool = False,
        related: list[dict[str, Any]] | None = None,
    ) -> str:
        """A CDEK order; ``related`` (e.g. ``[{"type": "direct_order", "uuid": …}]``) is what the
        order read answers at its top level, next to the entity."""
        uuid = uuid or str(uuidlib.uuid4())
        entity: dict[str, Any] = {
            "uuid": uuid,
            "type": 1,
            "is_return": is_return,
            "is_reverse": False,
            "is_client_return": is_client_return,
            "cdek_number": str(1100000000 + next(self._counter)),
            "tariff_code": 136,
            "recipient": {"name": "Анна Покупатель", "phones": [{"number": "+79990000000"}]},
            "statuses": [],
        }
        if number is not None:
            entity["number"] = number
        self.cdek_orders[uuid] = entity
        self.cdek_related[uuid] = [dict(r) for r in related or []]
        for code, at in statuses:
            self.cdek_status(uuid, code, at)
        return uuid

    def cdek_status(self, uuid: str, code: str, at: datetime, *, deleted: bool = False) -> None:
        """A new status on a CDEK order; the API lists the newest first (``deleted``: one CDEK withdrew)."""
        status: dict[str, Any] = {"code": f"{code} ", "name": code.title(), "date_time": cdek_time(at), "city": "Новосибирск"}
        if deleted:
            status["deleted"] = True
        self.cdek_orders[uuid]["statuses"].insert(0, status)

    def add_boxberry(self, im_id: str, events: list[tuple[str, datetime]]) -> None:
        self.boxberry.setdefault(im_id, []).extend({"Date": boxberry_time(at), "Name": name} for name, at in events)

    def add_russianpost(self, barcode: str, events: list[tuple[int, int | None, datetime]]) -> None:
        self.russianpost.setdefault(barcode, []).extend((t, a, russianpost_time(at)) for t, a, at in events)

    def fail(self, host: str, *faults: str) -> None:
        """The next calls to ``host`` fail, one fault each."""
        with self._lock:
            self._faults.setdefault(host, []).extend(faults)

    def calls(self, host: str, path_prefix: str = "") -> int:
        return sum(1 for h, _, p in self.requests if h == host and p.startswith(path_prefix))

    # --- the transport --------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        host, path = request.url.host, request.url.path
        with self._lock:
            self.requests.append((host, request.method, path))
            fault = self._faults.get(host, []).pop(0) if self._faults.get(host) else None
        if fault == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        if fault == "timeout":
            raise httpx.ReadTimeout("read timed out", request=request)
        if fault is not None:
            return httpx.Response(int(fault), text="Service Unavailable")
        if host == CDEK_HOST:
            return self._cdek(request, path)
        if host == BOXBERRY_HOST:
            return self._boxberry(request)
        if host == RUSSIANPOST_HOST:
            return self._russianpost(request)
        return httpx.Response(404, text="unknown host")

    def _cdek(self, request: httpx.Request, path: str) -> httpx.Response:
        if request.method == "POST" and path == "/v2/oauth/token":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            if form.get("grant_type") != "client_credentials" or form.get("client_id") != self.cdek_client_id or form.get("client_secret") != self.cdek_client_secret:
                return httpx.Response(401, json={"error": "invalid_client", "error_description": "Bad credentials"})
            token = uuidlib.uuid4().hex
            self._tokens.add(token)
            return httpx.Response(200, json={"access_token": token, "token_type": "bearer", "expires_in": self.token_ttl, "scope": "order:all payment:all", "jti": uuidlib.uuid4().hex})
        if request.method == "GET" and path.startswith("/v2/orders/"):
            auth = request.headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in self._tokens:
                return httpx.Response(401, json={"requests": [{"state": "INVALID", "errors": [{"code": "v2_token_expired", "message": "token expired"}]}]})
            entity = self.cdek_orders.get(path.rsplit("/", 1)[-1])
            if entity is None:
                not_found = {"code": "v2_entity_not_found", "message": "Entity is not found"}
                return httpx.Response(404, json={"requests": [{"request_uuid": str(uuidlib.uuid4()), "type": "GET", "state": "INVALID", "errors": [not_found]}]})
            uuid = path.rsplit("/", 1)[-1]
            request_made = {"request_uuid": str(uuidlib.uuid4()), "type": "CREATE", "date_time": cdek_time(datetime.now(timezone.utc)), "state": "SUCCESSFUL"}
            answer: dict[str, Any] = {"entity": entity, "requests": [request_made]}
            if self.cdek_related.get(uuid):
                answer["related_entities"] = self.cdek_related[uuid]
            return httpx.Response(200, json=answer)
        return httpx.Response(404, json={"requests": [{"state": "INVALID", "errors": [{"code": "v2_bad_request"}]}]})

    def expire_cdek_tokens(self) -> None:
        self._tokens.clear()

    def _boxberry(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if params.get("method") != "ListStatuses":
            return httpx.Response(200, json=[{"err": "Метод не найден"}])
        if params.get("token") != self.boxberry_token:
            return httpx.Response(200, json=[{"err": "Ключ интеграции не найден"}])
        records = self.boxberry.get(params.get("ImId", ""))
        if records is None:
            return httpx.Response(200, json=[{"err": "Посылка не найдена"}])
        return httpx.Response(200, content=json.dumps(records, ensure_ascii=False).encode(), headers={"Content-Type": "application/json; charset=utf-8"})

    def _russianpost(self, request: httpx.Request) -> httpx.Response:
        self.soap_bodies.append(request.content)
        if not request.headers.get("Content-Type", "").startswith("application/soap+xml"):
            return httpx.Response(415, text="Unsupported Media Type")
        try:
            root = ET.fromstring(request.content)
        except ET.ParseError:
            return self._fault("soap:Sender", "Malformed request")
        auth = root.find(f"{{{SOAP}}}Body/{{{OPER}}}getOperationHistory/{{{DATA}}}AuthorizationHeader")
        req = root.find(f"{{{SOAP}}}Body/{{{OPER}}}getOperationHistory/{{{DATA}}}OperationHistoryRequest")
        if auth is None or req is None or auth.get(f"{{{SOAP}}}mustUnderstand") != "1":
            return self._fault("soap:Sender", "Malformed request")
        if auth.findtext(f"{{{DATA}}}login") != self.russianpost_login or auth.findtext(f"{{{DATA}}}password") != self.russianpost_password:
            return self._fault("soap:Sender", "Ошибка авторизации", detail="AuthorizationFaultReason")
        barcode = req.findtext(f"{{{DATA}}}Barcode") or ""
        events = self.russianpost.get(barcode)
        if events is None:
            return self._fault("soap:Sender", f"Отправление {barcode} не найдено", detail="OperationHistoryFaultReason")
        records = "".join(
            "<ns3:historyRecord>"
            "<ns3:AddressParameters><ns3:OperationAddress><ns3:Index>630000</ns3:Index><ns3:Description>Новосибирск</ns3:Description></ns3:OperationAddress></ns3:AddressParameters>"
            "<ns3:OperationParameters>"
            f"<ns3:OperType><ns3:Id>{oper_type}</ns3:Id><ns3:Name>op{oper_type}</ns3:Name></ns3:OperType>"
            + (f"<ns3:OperAttr><ns3:Id>{attr}</ns3:Id><ns3:Name>attr{attr}</ns3:Name></ns3:OperAttr>" if attr is not None else "")
            + f"<ns3:OperDate>{escape(date)}</ns3:OperDate>"
            "</ns3:OperationParameters>"
            "</ns3:historyRecord>"
            for oper_type, attr, date in events
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<S:Envelope xmlns:S="{SOAP}"><S:Body>'
            f'<ns7:getOperationHistoryResponse xmlns:ns3="{DATA}" xmlns:ns7="{OPER}">'
            f"<ns3:OperationHistoryData>{records}</ns3:OperationHistoryData>"
            "</ns7:getOperationHistoryResponse></S:Body></S:Envelope>"
        )
        return httpx.Response(200, content=body.encode(), headers={"Content-Type": "application/soap+xml; charset=utf-8"})

    @staticmethod
    def _fault(code: str, reason: str, *, detail: str | None = None) -> httpx.Response:
        detail_xml = f'<S:Detail><ns3:{detail} xmlns:ns3="{DATA}">{escape(reason)}</ns3:{detail}></S:Detail>' if detail else ""
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<S:Envelope xmlns:S="{SOAP}" xmlns:soap="{SOAP}"><S:Body><S:Fault>'
            f"<S:Code><S:Value>{code}</S:Value></S:Code>"
            f'<S:Reason><S:Text xml:lang="ru">{escape(reason)}</S:Text></S:Reason>'
            f"{detail_xml}</S:Fault></S:Body></S:Envelope>"
        )
        return httpx.Response(500, content=body.encode(), headers={"Content-Type": "application/soap+xml; charset=utf-8"})
