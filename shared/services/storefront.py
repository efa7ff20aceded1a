"""Read-only storefront use cases: the cart quote and the catalog preview.

Both work for a logged-in customer (their level, group and available
bonuses) or an anonymous visitor (the first level, and "up to" the top
level). Neither writes anything; placing the order is
:func:`shared.services.orders.place_order`.
"""

from __future__ import annotations

from datetime import datetime

from shared.domain.cart import (
    CartLine,
    CustomerView,
    Quote,
    Reason,
    catalog_preview,
    quote,
    require_unique_line_ids,
)
from shared.domain.config import ProgramConfig
from shared.domain.errors import NotFound, ValidationFailed
from shared.domain.ledger import require_utc
from shared.services import catalog, customer_orders, promo, trigger_sweeps
from shared.services.ledger import AccountSession
from shared.services.ports import Store, UnitOfWork

PARTNER_CODE = Reason(
    code="partner_code",
    message="this is a partner's personal code: it gives the invited welcome bonus on registration, not a discount",
    message_ru="Это код партнёра: он даёт приветственный бонус при регистрации, а не скидку.",
)


def _customer(store: Store, config: ProgramConfig, customer_id: str, now: datetime, session_epoch: int | None) -> CustomerView:
    def unit(uow: UnitOfWork) -> CustomerView:
        session = AccountSession(uow, customer_id)
        session.require_active(session_epoch)
        if not session.exists:
            raise NotFound("unknown customer", customer_id=customer_id, message_ru="Покупатель не найден.")
        return customer_orders.customer_view(config, session, now)

    return store.read(unit)


def quote_cart(
    store: Store,
    *,
    config: ProgramConfig,
    customer_id: str | None,
    lines: list[CartLine],
    now: datetime,
    promo_code: str | None = None,
    bonuses: int = 0,
    pays_with_gift_certificate: bool = False,
    session_epoch: int | None = None,
) -> Quote:
    """Price a cart for a customer (``None``: an anonymous visitor, who sees what they could earn).

    A blocked customer is refused, and so is the session epoch of a token a block
    revoked (``session_epoch``: the caller's token's), in the one read of the account.

    The promo code is looked up in any case; an unknown or inactive code is
    a reason in the quote, not an error. The quote's ``cart_fingerprint`` is
    what checkout compares to refuse a cart changed since.

    Every line is priced on the shop's catalog (:func:`catalog.price_lines`),
    whatever price and flags the browser sent. A logged-in customer's cart is
    remembered for the abandoned-cart reminder when that trigger is on
    (:func:`trigger_sweeps.remember_cart`: one blind write).
    """
    require_utc(now)
    priced = catalog.price_lines(store, config=config, lines=lines)
    offer = promo.offer(store, promo_code)
    view = _customer(store, config, customer_id, now, session_epoch) if customer_id is not None else None
    try:
        result = quote(
            config,
            view,
            priced.lines,
            now=now,
            promo=offer.rule,
            promo_code=offer.quote_code,
            bonuses_requested=bonuses,
            pays_with_gift_certificate=pays_with_gift_certificate,
        )
    except ValueError as exc:  # an empty cart, duplicate line ids, negative bonuses
        raise ValidationFailed(str(exc), message_ru="Некорректная корзина.") from None
    if offer.partner_id:
        result.reasons.append(PARTNER_CODE)
    if customer_id is not None:
        trigger_sweeps.remember_cart(store, config, customer_id=customer_id, lines=priced.lines, now=now)
    return priced.annotate(result)


def preview_catalog(
    store: Store, *, config: ProgramConfig, customer_id: str | None, products: list[CartLine], now: datetime, session_epoch: int | None = None
) -> dict[str, tuple[int, int]]:
    """Points one unit of each product would earn: ``{id: (points, up_to)}``.

    ``points`` is for this customer (an anonymous visitor: the first level);
    ``up_to`` is at the top level, what a visitor could reach. Each product
    is priced on the catalog, as a cart's lines are; one the catalog does not
    know earns at the base rate, or nothing (``(0, 0)``) when the program
    refuses such products at checkout.
    """
    require_utc(now)
    try:
        require_unique_line_ids(products)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="products") from None
    priced = catalog.price_lines(store, config=config, lines=products, refuse=False)
    view = _customer(store, config, customer_id, now, session_epoch) if customer_id is not None else None
    points = catalog_preview(config, view, priced.lines, now=now)
    if config.catalog.missing_product == "refuse":
        points.update(dict.fromkeys(priced.missing, (0, 0)))
    return points
