"""Seeding the shop's catalog in tests: the products a cart's lines name, with the price and flags
the test means the catalog to have (the storefront's prices and flags count for nothing)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.domain.cart import CartLine
from shared.domain.catalog import Product
from shared.services.ports import Store, UnitOfWork


def product_of_line(line: CartLine | Mapping[str, Any]) -> Product:
    """The product a line describes: UID its ``product`` (else its ``id``), its price and flags."""
    cart_line = line if isinstance(line, CartLine) else CartLine.model_validate(line)
    reduced = cart_line.original_price is not None and cart_line.original_price > cart_line.price
    return Product(
        uid=cart_line.product or cart_line.id,
        name=cart_line.name,
        price=cart_line.price,
        old_price=cart_line.original_price if reduced else None,
        sale=cart_line.sale or reduced,
        product_group=cart_line.product_group,
        brand=cart_line.brand,
        gift_certificate=cart_line.gift_certificate,
        sku=cart_line.sku or None,
    )


def seed(store: Store, *products: Product) -> None:
    """Put these products in the catalog (replacing any with the same UID)."""

    def unit(uow: UnitOfWork) -> None:
        before = uow.products.get_many(p.uid for p in products)
        for product in products:
            uow.products.put(product, before.get(product.uid))

    store.run(unit)


def seed_lines(store: Store, lines: Iterable[CartLine | Mapping[str, Any]]) -> None:
    """Put in the catalog the products these lines describe, as they describe them."""
    seed(store, *(product_of_line(line) for line in lines))
