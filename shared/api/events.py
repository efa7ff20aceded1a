"""Earning events and sticker codes: the shop tools' signed event webhook (checkout), a manager's
credit of a checked event (admin), sticker batches (admin) and a customer's redemption (account)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.domain.stickers import MAX_BATCH

CreditableEvent = Literal["review", "newsletter", "repost"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventCustomer(_In):
    """Who the event is about: a customer id, or a phone, or an e-mail (exactly one)."""

    id: str | None = Field(default=None, min_length=1, max_length=128)
    phone: str | None = Field(default=None, min_length=5, max_length=32)
    email: str | None = Field(default=None, min_length=3, max_length=254)

    @model_validator(mode="after")
    def _one(self) -> EventCustomer:
        if sum(v is not None for v in (self.id, self.phone, self.email)) != 1:
            raise ValueError("name the customer by exactly one of id, phone, email")
        return self


class EventWebhookRequest(_In):
    """A shop tool's event, signed: ``X-Kopilka-Signature: sha256=<hex HMAC-SHA256 of the raw body>``."""

    event: CreditableEvent
    customer: EventCustomer
    key: str | None = Field(default=None, min_length=1, max_length=2000, description="review: the product's SKU; repost: the post's URL or id; newsletter: none")
    occurred_at: datetime | None = Field(default=None, description="When it happened (informational; the credit is dated when it arrives)")
    rule: str | None = Field(default=None, min_length=1, max_length=64, description="The earning rule's code, if the program has several for the event")


class EventCreditResponse(BaseModel):
    """``credited``: the bonus was credited now; ``already_credited``: the same event was credited before (nothing changed)."""

    result: Literal["credited", "already_credited"]
    customer_id: str
    event: str
    rule: str | None = None
    key: str | None = None
    amount: int = 0
    activates_at: datetime | None = None
    expires_at: datetime | None = None

    @classmethod
    def credited(cls, credit: Any) -> EventCreditResponse:
        """The answer of an event credited now (an :class:`~shared.services.earning_events.EventCredit`)."""
        return cls(result="credited", **{f: getattr(credit, f) for f in ("customer_id", "event", "rule", "key", "amount", "activates_at", "expires_at")})


class AdminEventRequest(_In):
    """A manager checked the event by hand (a review, a repost) and credits it."""

    event: CreditableEvent
    key: str | None = Field(default=None, min_length=1, max_length=2000, description="review: the product's SKU; repost: the post's URL; newsletter: none")
    rule: str | None = Field(default=None, min_length=1, max_length=64)
    note: str = Field(default="", max_length=500)


class StickerBatchRequest(_In):
    batch_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", description="The caller's id of the batch: the same id again is the same batch")
    name: str = Field(min_length=1, max_length=120)
    count: int = Field(ge=1, le=MAX_BATCH)
    points: int = Field(ge=1, le=1_000_000)
    valid_until: datetime


class StickerBatchView(BaseModel):
    id: str
    name: str
    count: int
    generated: int
    redeemed: int
    points: int
    valid_until: datetime
    created_at: datetime
    created_by: str


class StickerBatchList(BaseModel):
    batches: list[StickerBatchView]


class StickerRedeemRequest(_In):
    code: str = Field(min_length=1, max_length=64)


class StickerRedeemResponse(BaseModel):
    points: int
    activates_at: datetime
    expires_at: datetime
    message_ru: str
