"""The program editor's reads: a draft compared with the version in force, one stored version,
and a cart priced with a draft beside the version in force (nothing is written)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, model_validator

from shared.api.admin.common import _In, _Out
from shared.api.admin.program import ConfigChangeView, ScheduledVersion
from shared.domain.cart import Quote
from shared.domain.config import ProgramConfig


class ConfigDraftRequest(_In):
    config: dict[str, Any] = Field(description="A whole ProgramConfig, as for POST /config; validated as a unit (400 names the fields).")


class ConfigDraftResponse(_Out):
    """What a draft changes against the version in force, and whether publishing it waits for approval."""

    program: str
    in_force_version: int
    in_force_from: datetime
    changes: list[ConfigChangeView] = Field(description="The draft's differences from the version in force, field by field.")
    touches_money: bool = Field(description="Publishing it waits for a second admin's approval.")
    scheduled: list[ScheduledVersion] = Field(default_factory=list, description="Versions already published to apply later.")


class VersionPath(_In):
    version: int = Field(ge=1, le=10**9, description="A version number of the program's config.")


class ConfigVersionView(_Out):
    """One stored version of the program's config."""

    program: str
    version: int
    effective_from: datetime
    author: str
    reason: str
    created_at: datetime
    config: ProgramConfig
    in_force: bool = Field(description="This is the version that applies now.")


class PreviewLine(_In):
    """A sample cart line: a product of the catalog (its price and flags), or a price and a product group."""

    product: str | None = Field(default=None, min_length=1, max_length=200, description="A Tilda product UID, SKU or external id of the catalog.")
    name: str = Field(default="", max_length=300)
    price: int | None = Field(default=None, ge=0, le=10**11, description="Unit price, kopecks (a line without a catalog product).")
    product_group: str | None = Field(default=None, min_length=1, max_length=64)
    brand: str | None = Field(default=None, min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=10_000)

    @model_validator(mode="after")
    def _priced(self) -> PreviewLine:
        if self.product is None and self.price is None:
            raise ValueError("a line needs a catalog product or a price")
        return self


class ConfigPreviewRequest(_In):
    config: dict[str, Any] = Field(description="The draft ProgramConfig.")
    lines: list[PreviewLine] = Field(default_factory=list, max_length=50, description="A sample cart (or give order_id).")
    order_id: str | None = Field(default=None, min_length=1, max_length=200, description="A placed order whose lines, promo code and bonuses are priced again, for its customer as they are now.")
    level: str | None = Field(default=None, max_length=64, description="The sample customer's level code (default: the first level).")
    group: str | None = Field(default=None, max_length=64, description="The sample customer's group code (default: the program's default group).")
    bonuses: int = Field(default=0, ge=0, le=10**9, description="Bonuses the sample customer asks to spend.")

    @model_validator(mode="after")
    def _one_cart(self) -> ConfigPreviewRequest:
        if bool(self.lines) == bool(self.order_id):
            raise ValueError("give either sample lines or an order_id")
        return self


class PreviewLineView(_Out):
    id: str
    name: str
    quantity: int
    price: int = Field(description="Unit price the cart is priced on, kopecks.")
    product_group: str | None
    in_catalog: bool


class ConfigPreviewResponse(_Out):
    program: str
    in_force_version: int
    order_id: str | None = None
    lines: list[PreviewLineView]
    in_force: Quote = Field(description="The cart priced with the version in force.")
    draft: Quote = Field(description="The same cart priced with the draft.")
