"""checkout: placing orders, from the storefront's scripts and for Tilda's cart, and Tilda's post-payment webhook.

    POST /checkout         customer token; {order_id, lines, bonuses, promo_code?, quote_fingerprint, payment?}
                           -> the order as placed (same request again: the same answer);
                           its order_id is "<customer id>:<the storefront's order_id>"; with
                           payment {provider: "yookassa", return_url} the YooKassa payment is
                           created too and its confirmation_url answered
    POST /checkout/tilda   customer token; {order_id, lines, bonuses, promo_code?, quote_fingerprint?, replaces?}
                           -> the order placed as source "tilda" with the discount the kit applies
                           in Tilda's cart and the order token for the form's kopilka_order field;
                           the unpaid order ``replaces`` names is canceled first
    POST /checkout/tilda/release  customer token; {order_id} -> that unpaid Tilda order canceled
                           (the kit took its discount away): its bonuses and promo use go back
    POST /tilda/{token}    Tilda's webhook after a successful payment; the secret is the last path segment
    POST /checkout/events  a shop tool's signed earning event (review, newsletter, repost), see
                           shared.edge.events_webhook
    POST /tilda-events/{token}  a Tilda form's submission as an earning event (newsletter, repost, review)

Checkout refuses a blocked customer (403 customer_blocked) and a session a
block revoked (401 session_revoked), a cart changed since its quote (409 stale_quote, nothing
reserved), a used-up promo code (422), and an order id reused for another
cart (409). The order id is issued in the customer's namespace
(:func:`~shared.domain.order.customer_order_id`), so another customer can
never take it first; the storefront puts the answer's ``order_id`` in the
payment's ``metadata.order_id`` (YooMoney: the ``label``), or lets checkout
create the YooKassa payment (:mod:`shared.services.order_payment`).

The Tilda webhook answers the ``test=test`` ping with "ok", and settles the
order its ``kopilka_order`` field names by the YooKassa payment
``payment.systranid`` names, or flags the order for a manager
(:mod:`shared.services.tilda_orders`): 200 either way, with ``result`` paid or
flagged and the reason; anonymous submissions, lead forms and old forms that
send a customer token in ``kopilka_token`` (never accepted: Tilda copies form
fields into its Leads and e-mails) are 200 ``ignored``. A YooKassa outage is a
503, so Tilda tries again. A wrong or missing secret is a 403 before the body
is read.
"""

from __future__ import annotations

import hmac
from typing import Any

from shared.adapters import tilda
from shared.api.checkout import CheckoutRequest, CheckoutResponse, PaidCheckoutResponse, TildaCheckoutRequest, TildaCheckoutResponse, TildaReleaseRequest, TildaReleaseResponse, TildaWebhookResponse
from shared.domain.errors import Forbidden
from shared.domain.order import customer_order_id
from shared.edge import entry, events_webhook
from shared.edge.http import Context, Router
from shared.platform import bootstrap
from shared.platform.settings import settings
from shared.services import order_payment, orders, tilda_orders

router = Router("checkout", cors=True)

@router.post("/checkout")
def checkout_endpoint(request: Any, ctx: Context) -> CheckoutResponse:
    token = entry.customer_token(request, ctx.now)  # its session epoch is checked in the checkout's own read of the account
    body = ctx.body(CheckoutRequest)
    placing: dict[str, Any] = {
        "customer_id": token.customer_id,
        "session_epoch": token.epoch,
        "order_id": customer_order_id(token.customer_id, body.order_id),
        "lines": body.lines,
        "bonuses": body.bonuses,
        "promo_code": body.promo_code,
        "quote_fingerprint": body.quote_fingerprint,
        "pays_with_gift_certificate": body.pays_with_gift_certificate,
        "shipping_method": body.shipping_method,
        "now": ctx.now,
    }
    if body.payment is None:
        order, _ = orders.place_order(entry.store(), config=entry.config(ctx.now), **placing)
        return CheckoutResponse.model_validate(order, from_attributes=True)
    paid = order_payment.place_and_create_payment(entry.store(), config=entry.config(ctx.now), gateway=bootstrap.yookassa(), return_url=body.payment.return_url, **placing)
    answer = PaidCheckoutResponse.model_validate(paid.order, from_attributes=True)
    if paid.payment is not None:
        confirmation = paid.payment.confirmation
        answer = answer.model_copy(update={"payment_id": paid.payment.id, "confirmation_url": confirmation.confirmation_url if confirmation else None})
    return answer


@router.post("/checkout/tilda")
def tilda_checkout_endpoint(request: Any, ctx: Context) -> TildaCheckoutResponse:
    token = entry.customer_token(request, ctx.now)
    body = ctx.body(TildaCheckoutRequest)
    s = settings()
    placed = tilda_orders.place(
        entry.store(),
        config=entry.config(ctx.now),
        secret=s.require("token_secret").token_secret,
        token_minutes=s.order_token_minutes,
        customer_id=token.customer_id,
        session_epoch=token.epoch,
        order_id=customer_order_id(token.customer_id, body.order_id),
        lines=body.lines,
        bonuses=body.bonuses,
        promo_code=body.promo_code,
        quote_fingerprint=body.quote_fingerprint,
        replaces=customer_order_id(token.customer_id, body.replaces) if body.replaces else None,
        now=ctx.now,
    )
    order = placed.order
    return TildaCheckoutResponse(
        order_id=order.order_id,
        status=order.status.value,
        order_token=placed.order_token,
        discount=placed.discount,
        discount_roubles=placed.discount_roubles,
        money_to_pay=placed.money_to_pay,
        bonuses_reserved=order.reserved,
        points_to_earn=order.points_to_earn,
        promo_code=order.promo_code,
        expires_at=placed.expires_at,
    )


@router.post("/checkout/tilda/release")
def tilda_release_endpoint(request: Any, ctx: Context) -> TildaReleaseResponse:
    token = entry.customer_token(request, ctx.now)
    body = ctx.body(TildaReleaseRequest)
    order_id = customer_order_id(token.customer_id, body.order_id)
    order = tilda_orders.release(entry.store(), customer_id=token.customer_id, order_id=order_id, now=ctx.now)
    return TildaReleaseResponse(order_id=order_id, status=order.status.value if order else None)


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
        return TildaWebhookResponse(result="ignored", reason="not_an_order").model_dump(exclude_none=True)
    form = tilda.order_from_fields(fields)
    # YooKassaUnavailable is a ProviderUnavailable: the router answers 503 and Tilda tries again
    outcome = tilda_orders.settle(entry.store(), config=entry.config(ctx.now), gateway_of=bootstrap.yookassa, form=form, secret=settings().require("token_secret").token_secret, now=ctx.now)
    answer = TildaWebhookResponse(result=outcome.result.value, order_id=outcome.order_id, status=outcome.status.value if outcome.status else None, reason=outcome.reason, message_ru=outcome.message_ru)
    return answer.model_dump(exclude_none=True)


events_webhook.register(router)  # the shop tools' signed events and Tilda forms' events


def checkout(request: Any) -> Any:
    """The functions-framework entry point."""
    return router.dispatch(request)
