"""Carrier tracking, the pure half: CDEK, Boxberry and Russian Post statuses mapped to one verdict.

Each carrier's statuses become one :class:`CarrierStatus` with a state out of
``in_transit``, ``delivered``, ``not_delivered`` and ``returned`` and the event
time as a tz-aware UTC datetime. No I/O; unit-tested on the carriers'
documented shapes. The HTTP clients that fetch these statuses are in
:mod:`shared.adapters.carrier_clients`.

What counts as final, per carrier:

* **CDEK** — ``DELIVERED`` and ``NOT_DELIVERED`` on a direct order. CDEK has no
  ``RETURNED`` code: goods coming back travel as a separate *return order*
  (``is_return: true``, or ``is_client_return: true`` when the customer sends
  them back) whose own ``DELIVERED`` means "back at the sender" — that is our
  ``returned``. The return order names the order it brings back in the order
  read's top-level ``related_entities`` (``direct_order`` /
  ``client_direct_order``, in either case), next to the entity, as the ``cdek``
  package's ``OrderEntityResponse`` models it. Codes may carry trailing spaces
  (seen in CDEK's samples) and are stripped; a status marked ``deleted`` (CDEK
  withdrew it) does not count.
* **Boxberry** — ``Выдано`` (issued to the customer) is ``delivered``;
  ``Возвращено в ИМ`` / ``Заказ возвращен в Интернет-магазин`` (back at the shop)
  is ``returned``. Boxberry's own status table was not available; these names are
  the final ones every integration we read maps (Bitrix, OpenCart, 1C-style
  modules and typed SDKs agree on them). The intermediate return steps
  (``Готовится к возврату``, ``Отправлено в пункт приема``, ``Возвращено в пункт
  приема``) are not final — the parcel may still be handed over — and any
  unknown name is ``in_transit``. Dates are Moscow time (UTC+3, no DST since 2014).
* **Russian Post** — operation type 2 (*Вручение*) with attribute 1 (*Вручение
  адресату*) is ``delivered``. Type 3 (*Возврат*) is ``returned``: the office has
  turned the item back to the sender (refused or not collected in time); the
  customer will not get it, so we act now instead of weeks later when it reaches
  the shop (type 2 with another attribute). Type 5 (*Невручение*) is
  ``not_delivered``: the item cannot be handed over at all (lost, seized,
  destroyed …). Everything else — acceptance, processing, storage, failed
  attempts (12), customs — is ``in_transit``.

A history's verdict is its **last final event** (a return follows a failed
delivery, never the reverse), or ``in_transit`` at the latest event's time.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from shared.domain.clock import MSK
from shared.domain.errors import ProviderUnavailable


class CarrierState(StrEnum):
    """Where a shipment is, in the carriers' common terms (stored and logged as the value)."""

    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    NOT_DELIVERED = "not_delivered"
    RETURNED = "returned"


IN_TRANSIT = CarrierState.IN_TRANSIT
DELIVERED = CarrierState.DELIVERED
NOT_DELIVERED = CarrierState.NOT_DELIVERED
RETURNED = CarrierState.RETURNED
FINAL_STATES = (DELIVERED, NOT_DELIVERED, RETURNED)
CARRIERS = ("cdek", "boxberry", "russianpost")


@dataclass(frozen=True)
class CarrierStatus:
    """A carrier's verdict on one shipment: the state and when it happened (UTC)."""

    state: CarrierState
    at: datetime | None = None
    detail: str = ""

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


class CarrierError(Exception):
    """The carrier refused or answered something we cannot use (not worth retrying now)."""


class TrackingNotFound(CarrierError):
    """The carrier does not know this tracking code (yet)."""


class CarrierUnavailable(ProviderUnavailable):
    """Network errors or 5xx outlived the bounded retries: try again later.

    A webhook that depends on the carrier's API is answered with a non-200 so
    that the carrier delivers it again; the poller leaves the order for its next run.
    """

    message_ru = "Служба доставки недоступна, повторите попытку позже."


def to_utc(value: Any, *, naive_tz: timezone | None = None) -> datetime | None:
    """An ISO-8601 string (``+0700`` and ``+07:00`` offsets, ``T`` or space) as UTC.

    A value without an offset is read in ``naive_tz`` when given, else refused
    (``None``): guessing a carrier's zone would move a hold by hours.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        if naive_tz is None:
            return None
        moment = moment.replace(tzinfo=naive_tz)
    return moment.astimezone(timezone.utc)


def _verdict(events: Iterable[CarrierStatus]) -> CarrierStatus:
    """The last final event in time order, else the latest event as in transit."""
    ordered = sorted(events, key=lambda e: e.at or datetime.min.replace(tzinfo=timezone.utc))
    finals = [e for e in ordered if e.final]
    if finals:
        return finals[-1]
    if ordered:
        return CarrierStatus(IN_TRANSIT, ordered[-1].at, ordered[-1].detail)
    return CarrierStatus(IN_TRANSIT, None, "no events")


# --- CDEK --------------------------------------------------------------------------


def cdek_status(code: str | None, at: Any, *, is_return: bool = False) -> CarrierStatus:
    """One CDEK status code of a direct or a return order."""
    clean = code.strip().upper() if isinstance(code, str) else ""
    moment = to_utc(at)
    if is_return:
        state = RETURNED if clean == "DELIVERED" else IN_TRANSIT
    elif clean == "DELIVERED":
        state = DELIVERED
    elif clean == "NOT_DELIVERED":
        state = NOT_DELIVERED
    else:
        state = IN_TRANSIT
    return CarrierStatus(state, moment, clean)


DIRECT_ORDER_TYPES = ("direct_order", "client_direct_order")
_CDEK_UUID = re.compile(r"[A-Za-z0-9-]{1,64}")


@dataclass(frozen=True)
class CdekOrder:
    """What we use of a CDEK order entity (``GET /v2/orders/{uuid}``)."""

    uuid: str
    number: str | None  # the shop's order number: our order id
    cdek_number: str | None
    is_return: bool  # a return order: CDEK's (``is_return``) or the customer's (``is_client_return``)
    related_direct: tuple[str, ...]  # uuids of the direct orders a return order belongs to
    status: CarrierStatus


def _list(value: Any) -> list[Any]:
    """A list in an answer, or none when the answer holds something else there."""
    return value if isinstance(value, list) else []


def cdek_direct_links(related: Any) -> tuple[str, ...]:
    """The uuids of the direct orders in a ``related_entities`` list (types in either case)."""
    if not isinstance(related, list):
        return ()
    return tuple(
        r["uuid"]
        for r in related
        if isinstance(r, dict)
        and isinstance(r.get("type"), str)
        and r["type"].strip().lower() in DIRECT_ORDER_TYPES
        and isinstance(r.get("uuid"), str)
        and _CDEK_UUID.fullmatch(r["uuid"])
    )


def cdek_order(entity: dict[str, Any], related: Any = None) -> CdekOrder:
    """Map an order entity and the answer's top-level ``related_entities``: the verdict of its
    statuses (those marked ``deleted`` left out) and the links we need."""
    is_return = bool(entity.get("is_return")) or bool(entity.get("is_client_return"))
    statuses = [
        cdek_status(s.get("code"), s.get("date_time"), is_return=is_return)
        for s in _list(entity.get("statuses"))
        if isinstance(s, dict) and s.get("deleted") is not True
    ]
    links = cdek_direct_links(related)
    number = entity.get("number") or entity.get("im_number")
    return CdekOrder(
        uuid=str(entity.get("uuid") or ""),
        number=str(number) if number else None,
        cdek_number=str(entity["cdek_number"]) if entity.get("cdek_number") else None,
        is_return=is_return,
        related_direct=tuple(dict.fromkeys(links)),
        status=_verdict(statuses),
    )


# --- Boxberry ----------------------------------------------------------------------


def _normal(name: str) -> str:
    return " ".join(name.replace("ё", "е").replace("Ё", "Е").split()).casefold()


BOXBERRY_DELIVERED = frozenset(_normal(n) for n in ("Выдано",))
BOXBERRY_RETURNED = frozenset(_normal(n) for n in ("Возвращено в ИМ", "Заказ возвращен в Интернет-магазин"))


def boxberry_event(name: str | None, date: Any) -> CarrierStatus:
    """One ``ListStatuses`` record: a Russian status name and a Moscow-time date."""
    key = _normal(name or "")
    state = DELIVERED if key in BOXBERRY_DELIVERED else RETURNED if key in BOXBERRY_RETURNED else IN_TRANSIT
    return CarrierStatus(state, to_utc(date, naive_tz=MSK), (name or "").strip())


def boxberry_status(records: list[dict[str, Any]]) -> CarrierStatus:
    return _verdict(boxberry_event(r.get("Name"), r.get("Date")) for r in records if isinstance(r, dict))


def parse_boxberry(payload: Any) -> list[dict[str, Any]]:
    """The records of a ``ListStatuses`` answer, or :class:`CarrierError` for its error shape."""
    if isinstance(payload, dict):
        payload = [payload]
    if not isinstance(payload, list):
        raise CarrierError("Boxberry answered something other than a list")
    errors = [r["err"] for r in payload if isinstance(r, dict) and r.get("err")]
    if errors:
        message = str(errors[0])
        if "не найден" in message.casefold() or "not found" in message.casefold():
            raise TrackingNotFound(f"Boxberry: {message}")
        raise CarrierError(f"Boxberry: {message}")
    return [r for r in payload if isinstance(r, dict)]


# --- Russian Post ------------------------------------------------------------------

SOAP_ENV = "http://www.w3.org/2003/05/soap-envelope"
RP_OPER = "http://russianpost.org/operationhistory"
RP_DATA = "http://russianpost.org/operationhistory/data"
SOAP_CONTENT_TYPE = "application/soap+xml; charset=utf-8"

RP_HANDED_OVER = 2  # Вручение
RP_TO_ADDRESSEE = 1  # Вручение адресату
RP_RETURN = 3  # Возврат
RP_NOT_HANDED = 5  # Невручение


def russianpost_event(oper_type: int | None, oper_attr: int | None, date: Any) -> CarrierStatus:
    if oper_type == RP_HANDED_OVER and oper_attr == RP_TO_ADDRESSEE:
        state = DELIVERED
    elif oper_type == RP_RETURN:
        state = RETURNED
    elif oper_type == RP_NOT_HANDED:
        state = NOT_DELIVERED
    else:
        state = IN_TRANSIT
    return CarrierStatus(state, to_utc(date, naive_tz=MSK), f"{oper_type}/{oper_attr}")


def russianpost_status(records: list[dict[str, Any]]) -> CarrierStatus:
    return _verdict(russianpost_event(r.get("oper_type"), r.get("oper_attr"), r.get("date")) for r in records)


def soap_request(barcode: str, *, login: str, password: str, message_type: int = 0, language: str = "RUS") -> bytes:
    """The SOAP 1.2 ``getOperationHistory`` envelope (values escaped by ElementTree)."""
    ET.register_namespace("soap", SOAP_ENV)
    ET.register_namespace("oper", RP_OPER)
    ET.register_namespace("data", RP_DATA)
    envelope = ET.Element(f"{{{SOAP_ENV}}}Envelope")
    ET.SubElement(envelope, f"{{{SOAP_ENV}}}Header")
    body = ET.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    call = ET.SubElement(body, f"{{{RP_OPER}}}getOperationHistory")
    request = ET.SubElement(call, f"{{{RP_DATA}}}OperationHistoryRequest")
    ET.SubElement(request, f"{{{RP_DATA}}}Barcode").text = barcode
    ET.SubElement(request, f"{{{RP_DATA}}}MessageType").text = str(message_type)
    ET.SubElement(request, f"{{{RP_DATA}}}Language").text = language
    auth = ET.SubElement(call, f"{{{RP_DATA}}}AuthorizationHeader", {f"{{{SOAP_ENV}}}mustUnderstand": "1"})
    ET.SubElement(auth, f"{{{RP_DATA}}}login").text = login
    ET.SubElement(auth, f"{{{RP_DATA}}}password").text = password
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element | None, *names: str) -> ET.Element | None:
    for name in names:
        if element is None:
            return None
        element = next((c for c in element if _local(c.tag) == name), None)
    return element


def _text(element: ET.Element | None, *names: str) -> str:
    found = _child(element, *names) if names else element
    return (found.text or "").strip() if found is not None else ""


def _int(element: ET.Element | None, *names: str) -> int | None:
    try:
        return int(_text(element, *names))
    except ValueError:
        return None


class SoapFault(CarrierError):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"SOAP fault {code}: {reason}")
        self.code = code
        self.reason = reason


def parse_operation_history(xml: bytes | str) -> list[dict[str, Any]]:
    """The ``historyRecord`` list of a ``getOperationHistory`` answer, or :class:`SoapFault`."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise CarrierError(f"Russian Post answered malformed XML: {exc}") from None
    body = _child(root, "Body")
    if body is None:
        raise CarrierError("Russian Post answered without a SOAP body")
    fault = _child(body, "Fault")
    if fault is not None:
        reason = _text(fault, "Reason", "Text")
        detail = _child(fault, "Detail")
        if detail is not None and len(detail):
            reason = " ".join(t.strip() for t in detail[0].itertext() if t.strip()) or reason
        raise SoapFault(_text(fault, "Code", "Value"), reason)
    records = []
    for record in body.iter():
        if _local(record.tag) != "historyRecord":
            continue
        params = _child(record, "OperationParameters")
        records.append(
            {
                "oper_type": _int(params, "OperType", "Id"),
                "oper_type_name": _text(params, "OperType", "Name"),
                "oper_attr": _int(params, "OperAttr", "Id"),
                "date": _text(params, "OperDate") or None,
                "index": _text(record, "AddressParameters", "OperationAddress", "Index"),
            }
        )
    return records
