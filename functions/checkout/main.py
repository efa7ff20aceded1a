"""checkout: placing orders, from the storefront's scripts and from Tilda's order form.

    POST /checkout        customer token; {order_id, lines, bonuses, promo_code?, quote_fingerprint}
                          -> the order as placed (same request again: the same answer);
                          its order_id is "<customer id>:<the storefront's order_id>"
    POST /tilda/{token}   Tilda's form webhook; the secret is the last path segment

Checkout refuses a blocked customer (403 customer_blocked) and a session a
block revoked (401 session_revoked), a cart changed since its quote (409 stale_quote, nothing
reserved), a used-up promo code (422), and an order id reused for another
cart (409). The order id is issued in the customer's namespace
(:func:`~shared.domain.order.customer_order_id`), so another customer can
never take it first; the storefront puts the answer's ``order_id`` in the
payment's ``metadata.order_id`` (YooMoney: the ``label``). The Tilda webhook answers the ``test=test`` ping with "ok",
places the order of the customer named by the form's ``kopilka_token``
field (see :mod:`shared.adapters.tilda`) as ``tilda-<orderid>``, and ignores
anonymous orders and lead forms (200 with ``ignored``). A wrong or missing
secret is a 403 before the body is read.
"""

from __future__ import annotations

import hmac
from typing import Any

from shared.adapters import tilda
from shared.api.checkout import CheckoutRequest, CheckoutResponse, TildaWebhookResponse
from shared.domain.errors import Forbidden
from shared.domain.order import customer_order_id
from shared.edge import entry
from shared.edge.http import Context, Router
from shared.platform.settings import settings
from shared.services import orders

router = Router("checkout", cors=True)




@router.post("/checkout")
def checkout_endpoint(request: Any, ctx: Context) -> CheckoutResponse:
    token = entry.customer_token(request, ctx.now)  # its session epoch is checked in the checkout's own read of the account
    body = ctx.body(CheckoutRequest)
    order, _ = orders.place_order(
        entry.store(),
        config=entry.config(ctx.now),
        customer_id=token.customer_id,
        session_epoch=token.epoch,
        order_id=customer_order_id(token.customer_id, body.order_id),
        lines=body.lines,
        bonuses=body.bonuses,
        promo_code=body.promo_code,
        quote_fingerprint=body.quote_fingerprint,
        pays_with_gift_certificate=body.pays_with_gift_certificate,
        shipping_method=body.shipping_method,
        now=ctx.now,
    )
    return CheckoutResponse.model_validate(order, from_attributes=True)


def _refused() -> Forbidden:
    return Forbidden("wrong webhook secret", message_ru="Доступ запрещён.")


@router.post("/tilda")
def tilda_without_secret(request: Any, ctx: Context) -> None:
    raise _refused()


@router.post("/tilda/{token}")
def tilda_webhook(request: Any, ctx: Context) -> Any:
    expected = settings().tilda_token
    if not expected or not hmac.compare_digest(ctx.params["token"].encode(), expected.encode()):
        raise _refused()
    fields = tilda.read_fields(ctx.raw_body(), request.headers.get("Content-Type"))
    if tilda.is_ping(fields):
        return "ok"
    if not tilda.has_order(fields):
        return TildaWebhookResponse(ignored="not_an_order").model_dump(exclude_none=True)
    token = tilda.customer_token(fields)
    if token is None:
        return TildaWebhookResponse(ignored="anonymous").model_dump(exclude_none=True)
    customer = entry.verified_token(token, ctx.now)
    order = tilda.order_from_fields(fields)
    placed, _ = orders.place_order(
        entry.store(),
        config=entry.config(ctx.now),
        customer_id=customer.customer_id,
        session_epoch=customer.epoch,
        order_id=order.kopilka_order_id,
        lines=order.lines,
        bonuses=order.kopilka_bonuses,
        promo_code=order.promo_code,
        now=ctx.now,
        source="tilda",
    )
    return TildaWebhookResponse(order_id=placed.order_id, status=placed.status.value, bonuses_reserved=placed.bonuses_reserved, money_to_pay=placed.money_to_pay).model_dump(exclude_none=True)


def checkout(request: Any) -> Any:
    """The functions-framework entry point."""
    return router.dispatch(request)
