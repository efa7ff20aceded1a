"""The checkout function: placing an order from the storefront, and Tilda's order-form webhook."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.api import Endpoint
from shared.api.cart_quote import Bonuses, CartLines, PromoCode


def _not_tilda(value: str) -> str:
    if value.lower().startswith("tilda-"):
        raise ValueError("ids starting with 'tilda-' are reserved for orders from the Tilda webhook")
    return value


# An order id the storefront or the back office chooses: 'tilda-' ids belong to the Tilda webhook.
NewOrderId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"), AfterValidator(_not_tilda)]


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: NewOrderId = Field(
        description=(
            "The storefront's reference for the order and the idempotency key of the checkout, in the customer's namespace: the order is placed as "
            "'<customer id>:<order_id>' (the answer's order_id, for the payment's metadata.order_id or YooMoney label). 'tilda-' references belong to the Tilda webhook."
        ),
    )
    lines: CartLines
    bonuses: Bonuses
    promo_code: PromoCode = None
    quote_fingerprint: str = Field(min_length=1, max_length=64, description="The cart_fingerprint of the quote the customer saw.")
    pays_with_gift_certificate: bool = Field(default=False, description="The order is paid (partly) with a gift certificate; the program may then refuse bonuses.")
    shipping_method: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.\-]{1,64}$",
        description="How the customer gets the order (pickup, courier, cdek …): with a fallback in the program (shipping.fallback_days) it counts as delivered that many days after payment.",
    )


class CheckoutResponse(BaseModel):
    """The order as placed (the same answer for a repeated request)."""

    model_config = ConfigDict(extra="ignore")

    order_id: str = Field(description="The order's id, issued in the customer's namespace: '<customer id>:<the request's order_id>'.")
    status: str
    bonuses_requested: int
    bonuses_reserved: int
    discount: int = 0
    money_to_pay: int
    points_to_earn: int = 0
    promo_code: str | None = Field(default=None, description="The promo code applied to the order, if any.")
    quote_fingerprint: str


class TildaForm(BaseModel):
    """The fields of Tilda's order form that Kopilka reads (any case; the form's own fields pass through).

    Sent urlencoded (or as a JSON object in some setups). ``payment`` may also
    arrive as bracketed keys (``payment[orderid]``, ``payment[products][0][name]`` …).
    """

    model_config = ConfigDict(extra="allow")

    test: str = Field(default="", description='"test" with no payment: the ping Tilda sends when the webhook is connected (answered with the text "ok")')
    formid: str = ""
    tranid: str = ""
    kopilka_token: str = Field(default="", description="The logged-in customer's token, put in a hidden field by the storefront script; without one the order is ignored (anonymous)")
    kopilka_bonuses: str = Field(default="", description="Whole bonuses to spend (default 0), a hidden field")
    payment: str = Field(default="", description="The cart as JSON text: {orderid, amount, products: [...], promocode?, systranid?}; without it the submission is not an order")


class TildaWebhookResponse(BaseModel):
    """What the Tilda webhook did: the order placed, or why it was ignored. (The ping is answered with text "ok".)"""

    ignored: str | None = Field(default=None, description="anonymous (no kopilka_token) or not_an_order (a form without a cart)")
    order_id: str | None = None
    status: str | None = None
    bonuses_reserved: int | None = None
    money_to_pay: int | None = None


ENDPOINTS = [
    Endpoint(
        function="checkout",
        method="POST",
        path="/checkout",
        summary="Place an order: refuse a stale quote, redeem the promo code, reserve the bonuses (idempotent by order id)",
        request=CheckoutRequest,
        response=CheckoutResponse,
        auth="customer",
        errors=(400, 401, 404, 409, 413, 422),
    ),
    Endpoint(
        function="checkout",
        method="POST",
        path="/tilda/{token}",
        summary="Tilda order-form webhook (form-encoded or JSON; the secret is the last path segment); places the order of a customer named by kopilka_token",
        request=TildaForm,
        response=TildaWebhookResponse,
        auth="url_secret",
        content_type="application/x-www-form-urlencoded",
        errors=(400, 401, 403, 404, 409, 413, 422),
        body_optional=True,  # an empty submission is not an order (200, ignored)
    ),
    Endpoint(
        function="checkout",
        method="POST",
        path="/tilda",
        summary="The Tilda webhook without its secret: always refused",
        auth="url_secret",
        errors=(403,),
    ),
]
