"""The checkout function: placing an order from the storefront (optionally with Kopilka taking the
payment), placing the order of a Tilda cart before its payment, and Tilda's post-payment webhook."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.api import Endpoint
from shared.api.cart_quote import Bonuses, CartLines, PromoCode
from shared.api.events import EventCreditResponse, EventWebhookRequest


def _not_tilda(value: str) -> str:
    if value.lower().startswith("tilda-"):
        raise ValueError("ids starting with 'tilda-' are reserved for orders from the Tilda webhook")
    return value


# An order id the storefront or the back office chooses: 'tilda-' ids belong to the Tilda webhook.
NewOrderId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"), AfterValidator(_not_tilda)]


class PaymentRequest(BaseModel):
    """Kopilka takes the payment: a YooKassa payment of the order's money to pay is created and its confirmation page answered."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["yookassa"]
    return_url: str = Field(min_length=8, max_length=2048, pattern=r"^https?://[^\s]+$", description="Where YooKassa sends the customer back after the payment page.")


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
    payment: PaymentRequest | None = Field(default=None, description="Let Kopilka create the YooKassa payment: the answer carries its confirmation_url; the /yookassa notification settles it.")


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


class PaidCheckoutResponse(CheckoutResponse):
    """The order as placed and, when the request asked for it, the YooKassa payment created for it (none when bonuses covered it all)."""

    payment_id: str | None = Field(default=None, description="The YooKassa payment created for the order (only with payment in the request).")
    confirmation_url: str | None = Field(default=None, description="YooKassa's payment page to send the customer to (only with payment in the request).")


class TildaCheckoutRequest(BaseModel):
    """Tilda's cart as the storefront kit reads it, before the customer goes to pay."""

    model_config = ConfigDict(extra="forbid")

    order_id: NewOrderId = Field(description="An id the kit generates per cart (the idempotency key), in the customer's namespace: the order is placed as '<customer id>:<order_id>'.")
    lines: CartLines
    bonuses: Bonuses
    promo_code: PromoCode = None
    quote_fingerprint: str | None = Field(default=None, min_length=1, max_length=64, description="The cart_fingerprint of the quote the customer saw (a changed cart is 409 stale_quote).")
    replaces: NewOrderId | None = Field(default=None, description="The order_id the kit placed before for this cart: still unpaid, it is canceled first and its bonuses and promo use go back.")


class TildaReleaseRequest(BaseModel):
    """The order the kit placed for a cart whose discount it took away."""

    model_config = ConfigDict(extra="forbid")

    order_id: NewOrderId = Field(description="The kit's order_id (in the customer's namespace, as placed).")


class TildaReleaseResponse(BaseModel):
    order_id: str
    status: str | None = Field(description="The order's status now (canceled when it was unpaid); null: no such order of this customer's.")


class TildaCheckoutResponse(BaseModel):
    """The order placed, the one discount to apply in Tilda's cart and the token for the form's kopilka_order field."""

    order_id: str
    status: str
    order_token: str = Field(description="A signed single-purpose token for the hidden form field kopilka_order; only Tilda's webhook accepts it.")
    discount: int = Field(description="The single discount the kit applies in Tilda's cart, kopecks: bonuses spent + the promo discount.")
    discount_roubles: str = Field(description='The same discount as rouble text ("1234.50"), what the kit passes to Tilda\'s cart.')
    money_to_pay: int = Field(description="What the customer pays for the goods, kopecks (Tilda adds its delivery price).")
    bonuses_reserved: int
    points_to_earn: int
    promo_code: str | None = None
    expires_at: datetime = Field(description="Until when the order token is accepted (KOPILKA_ORDER_TOKEN_MINUTES after the order was placed).")


class TildaForm(BaseModel):
    """The fields of Tilda's order form that Kopilka reads (any case; the form's own fields pass through).

    Sent urlencoded (or as a JSON object in some setups) after a successful
    payment. ``payment`` may also arrive as bracketed keys (``payment[orderid]``,
    ``payment[products][0][name]`` …).
    """

    model_config = ConfigDict(extra="allow")

    test: str = Field(default="", description='"test" with no payment: the ping Tilda sends when the webhook is connected (answered with the text "ok")')
    formid: str = ""
    tranid: str = ""
    kopilka_order: str = Field(default="", description="The order token POST /checkout/tilda answered, in a hidden field the kit fills; without one the order is ignored (anonymous)")
    kopilka_token: str = Field(default="", description="Old forms only: a customer token in a form field is never accepted (the submission is ignored as customer_token_in_form)")
    payment: str = Field(
        default="",
        description="The cart as JSON text: {orderid, sys (yakassa), systranid (the YooKassa payment id), amount, products: [...], promocode?, discount?, delivery_price?}; "
        "without it the submission is not an order",
    )


class TildaWebhookResponse(BaseModel):
    """What the Tilda webhook did (the ping is answered with the text "ok")."""

    result: Literal["paid", "flagged", "ignored"]
    order_id: str | None = None
    status: str | None = None
    reason: str | None = Field(
        default=None,
        description="flagged: order_token_invalid, order_token_expired, discount_mismatch, cart_mismatch, amount_mismatch, payment_missing, payment_not_found, payment_not_succeeded, "
        "payment_used, paid_by_another_payment, agreement_lapsed; ignored: anonymous, customer_token_in_form, not_an_order",
    )
    message_ru: str | None = Field(default=None, description="The reason for a manager, in Russian.")


ENDPOINTS = [
    Endpoint(
        function="checkout",
        method="POST",
        path="/checkout",
        summary="Place an order: refuse a stale quote, redeem the promo code, reserve the bonuses (idempotent by order id)",
        request=CheckoutRequest,
        response=PaidCheckoutResponse,
        auth="customer",
        errors=(400, 401, 404, 409, 413, 422, 503),
    ),
    Endpoint(
        function="checkout",
        method="POST",
        path="/checkout/tilda",
        summary="Place the order of a Tilda cart before its payment (idempotent by order id): the discount to apply in Tilda's cart and the form's order token",
        request=TildaCheckoutRequest,
        response=TildaCheckoutResponse,
        auth="customer",
        errors=(400, 401, 404, 409, 413, 422),
    ),
    Endpoint(
        function="checkout",
        method="POST",
        path="/checkout/tilda/release",
        summary="Give back what the kit's unpaid Tilda order holds (its discount left the cart): the order is canceled, its bonuses and promo use return",
        request=TildaReleaseRequest,
        response=TildaReleaseResponse,
        auth="customer",
        errors=(400, 401),
    ),
    Endpoint(
        function="checkout",
        method="POST",
        path="/tilda/{token}",
        summary="Tilda's post-payment webhook (form-encoded or JSON; the secret is the last path segment): settles the order its kopilka_order token names by the YooKassa payment, or flags it",
        request=TildaForm,
        response=TildaWebhookResponse,
        auth="url_secret",
        content_type="application/x-www-form-urlencoded",
        errors=(400, 403, 413, 503),
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
    Endpoint(
        function="checkout",
        method="POST",
        path="/checkout/events",
        summary="A shop tool's earning event (review, newsletter, repost), signed with X-Kopilka-Signature: sha256=<HMAC-SHA256 of the raw body>: "
        "credited once per natural key (the same event again: already_credited)",
        request=EventWebhookRequest,
        response=EventCreditResponse,
        auth="provider",
        errors=(400, 403, 404, 413, 422),
    ),
    Endpoint(
        function="checkout",
        method="POST",
        path="/tilda-events/{token}",
        summary="A Tilda form's submission as an earning event (the token names the event and is signed with KOPILKA_EVENTS_SECRET); "
        "the customer by Phone or Email, the post or product by url / sku; 200 ignored with the reason when nothing is credited",
        request=None,
        response=EventCreditResponse,
        auth="url_secret",
        content_type="application/x-www-form-urlencoded",
        errors=(400, 403, 413),
        body_optional=True,
    ),
]
