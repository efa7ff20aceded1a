"""The cart function: a quote for a cart and a catalog preview, for the storefront's scripts.

Both routes take an optional customer token (``Authorization: Bearer …``):
without one the caller is an anonymous visitor; a bad or expired one is
refused (401), never silently treated as anonymous.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.api import Endpoint
from shared.domain.cart import MAX_LINES, CartLine, Quote, require_unique_line_ids

CartLines = Annotated[list[CartLine], Field(min_length=1, max_length=MAX_LINES), AfterValidator(require_unique_line_ids)]
PromoCode = Annotated[str | None, Field(max_length=64, description="As typed; case does not matter.")]
Bonuses = Annotated[int, Field(ge=0, le=10**9, description="Whole bonuses the customer wants to pay with.")]


class QuoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: CartLines
    promo_code: PromoCode = None
    bonuses: Bonuses = 0
    pays_with_gift_certificate: bool = False


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    products: CartLines


class PreviewProduct(BaseModel):
    id: str
    points: int = Field(description="Points one unit earns for this customer (a visitor: the first level).")
    up_to: int = Field(description="Points one unit earns at the top level.")


class PreviewResponse(BaseModel):
    products: list[PreviewProduct]


ENDPOINTS = [
    Endpoint(
        function="cart_quote",
        method="POST",
        path="/quote",
        summary="Quote a cart: discounts, bonuses payable and applied, money to pay, points to earn, reasons (optional customer token)",
        request=QuoteRequest,
        response=Quote,
        auth="customer_optional",
        errors=(400, 401, 404, 413),
    ),
    Endpoint(
        function="cart_quote",
        method="POST",
        path="/preview",
        summary="Catalog preview: points each product would earn for this customer or a visitor (optional customer token)",
        request=PreviewRequest,
        response=PreviewResponse,
        auth="customer_optional",
        errors=(400, 401, 404, 413),
    ),
]
