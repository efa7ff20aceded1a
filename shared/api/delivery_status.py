"""delivery_status: carrier statuses move orders on (CDEK webhooks, polling Boxberry and
Russian Post), plus the shop's internal calls: attach a tracking code, record a return."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.api import Endpoint
from shared.domain.ids import ExternalId

OrderId = ExternalId


class CdekRelatedEntity(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = ""
    uuid: str | None = None
    cdek_number: str | None = None


class CdekStatusAttributes(BaseModel):
    """The ``attributes`` of an ``ORDER_STATUS`` event (only hints: the order is fetched again)."""

    model_config = ConfigDict(extra="allow")

    code: str | None = Field(default=None, max_length=64, description="Status code; may carry trailing spaces.")
    is_return: bool = False
    is_client_return: bool = Field(default=False, description="A customer's own return: counted as a return order.")
    deleted: bool = Field(default=False, description="CDEK withdrew this status: acknowledged without effect.")
    number: str | None = Field(default=None, max_length=128, description="The shop's order number.")
    im_number: str | None = Field(default=None, max_length=128)
    cdek_number: str | None = Field(default=None, max_length=64)
    status_date_time: str | None = None
    related_entities: list[CdekRelatedEntity] = Field(default=[], description="direct_order / client_direct_order links of a return order.")


class CdekWebhook(BaseModel):
    """``{"type": "ORDER_STATUS", "date_time": "…+0700", "uuid": "<CDEK order>", "attributes": {…}}``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(min_length=1, max_length=64)
    date_time: str | None = None
    uuid: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    attributes: CdekStatusAttributes = CdekStatusAttributes()


class DeliveryOutcome(BaseModel):
    outcome: str = Field(description="applied | already_applied | in_transit | not_confirmed | ignored | unknown_order")
    order_id: str | None = None
    status: str | None = Field(default=None, description="The order's status afterwards.")
    reason: str | None = None


Carrier = Literal["cdek", "boxberry", "russianpost"]


class TrackingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: OrderId
    carrier: Carrier
    tracking: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$", description="CDEK order uuid, Boxberry ImId, or Russian Post barcode (14 digits or S10).")

    @model_validator(mode="after")
    def _barcode(self) -> TrackingRequest:
        if self.carrier == "russianpost" and not re.fullmatch(r"\d{14}|[A-Z]{2}\d{9}[A-Z]{2}", self.tracking):
            raise ValueError("a Russian Post barcode is 14 digits or an S10 code like RA123456785RU")
        return self


class TrackingResult(BaseModel):
    order_id: str
    carrier: str
    tracking: str
    status: str
    next_poll_at: datetime | None = None


class PollRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch: int = Field(default=50, ge=1, le=200)
    max_pages: int = Field(default=4, ge=1, le=20)


class PollResult(BaseModel):
    checked: int
    applied: int
    in_transit: int
    errors: int
    stopped: int
    pages: int
    complete: int = Field(description="1 when every due order was looked at; 0 when the next run continues.")


class ReturnRequest(BaseModel):
    """A return by line and quantity (units, cumulative over returns)."""

    model_config = ConfigDict(extra="forbid")

    order_id: OrderId
    return_id: ExternalId = Field(description="Identifies this return: the same id again changes nothing.")
    lines: dict[str, int] = Field(min_length=1, max_length=500, description="line id -> units returned")

    @model_validator(mode="after")
    def _units(self) -> ReturnRequest:
        if any(units < 1 for units in self.lines.values()):
            raise ValueError("every returned line needs at least one unit")
        return self


class ReturnResult(BaseModel):
    order_id: str
    status: str
    returned_units: dict[str, int]


ENDPOINTS = [
    Endpoint("delivery_status", "POST", "/cdek/{token}", "CDEK ORDER_STATUS webhook; final statuses are re-read from CDEK's API", CdekWebhook, DeliveryOutcome, auth="url_secret", errors=(400,
        403, 404, 409, 503)),
    Endpoint("delivery_status", "POST", "/poll", "Ask the carriers about orders due a check (Cloud Scheduler)", PollRequest, PollResult, auth="scheduler", errors=(400, 401, 403, 409),
        body_optional=True),
    Endpoint("delivery_status", "POST", "/tracking", "Attach a carrier and tracking code to an order", TrackingRequest, TrackingResult, auth="scheduler", errors=(400, 401, 403, 404, 409)),
    Endpoint("delivery_status", "POST", "/return", "Record a (partial) return by line and quantity", ReturnRequest, ReturnResult, auth="scheduler", errors=(400, 401, 403, 404, 409, 422)),
]
