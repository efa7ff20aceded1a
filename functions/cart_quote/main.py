"""cart_quote: what a cart costs and earns, for the storefront's scripts (CORS: the shop's origins).

    POST /quote     {lines, promo_code?, bonuses?, pays_with_gift_certificate?} -> Quote
    POST /preview   {products} -> {products: [{id, points, up_to}]}

Both work for an anonymous visitor (who sees what they could earn) or with
``Authorization: Bearer <customer token>``; a bad, expired or non-Bearer
credential is a 401, never a silent fallback to anonymous; a blocked customer
is a 403 and a session a block revoked a 401. An unknown promo
code is a reason in the quote, not an error. The quote's ``cart_fingerprint``
is what checkout compares to refuse a cart that changed since. Nothing is
written.
"""

from __future__ import annotations

from typing import Any

from shared.api.cart_quote import PreviewProduct, PreviewRequest, PreviewResponse, QuoteRequest
from shared.domain.cart import Quote
from shared.domain.identity import CustomerToken
from shared.edge import entry
from shared.edge.http import Context, Router
from shared.services import storefront

router = Router("cart_quote", cors=True)




def _customer(request: Any, ctx: Context) -> CustomerToken | None:
    """The caller's token, ``None`` for a visitor; a bad credential is refused, not ignored.
    Its session epoch is checked in the read of the account the quote makes anyway."""
    return entry.customer_token(request, ctx.now, required=False)


@router.post("/quote")
def quote_endpoint(request: Any, ctx: Context) -> Quote:
    token = _customer(request, ctx)
    body = ctx.body(QuoteRequest)
    return storefront.quote_cart(
        entry.store(),
        config=entry.config(ctx.now),
        customer_id=token.customer_id if token else None,
        session_epoch=token.epoch if token else None,
        lines=body.lines,
        promo_code=body.promo_code,
        bonuses=body.bonuses,
        pays_with_gift_certificate=body.pays_with_gift_certificate,
        now=ctx.now,
    )


@router.post("/preview")
def preview_endpoint(request: Any, ctx: Context) -> PreviewResponse:
    token = _customer(request, ctx)
    body = ctx.body(PreviewRequest)
    points = storefront.preview_catalog(
        entry.store(),
        config=entry.config(ctx.now),
        customer_id=token.customer_id if token else None,
        session_epoch=token.epoch if token else None,
        products=body.products,
        now=ctx.now,
    )
    return PreviewResponse(products=[PreviewProduct(id=product.id, points=points[product.id][0], up_to=points[product.id][1]) for product in body.products])


def cart_quote(request: Any) -> Any:
    """The functions-framework entry point."""
    return router.dispatch(request)
