"""The catalog is the truth: every cart line is priced on the shop's catalog, whatever the browser said.

:func:`price_lines` looks each line up by its ``product`` (the Tilda product
UID, a SKU or an external id, as the browser's cart carries it), then its
``sku``, then its ``id`` — each as a UID, then a SKU, then an external id —
and gives it the catalog's price, old price, reduced-price flag, product
group, brand, gift-certificate flag and name. A line the catalog does not know
follows the program's ``catalog.missing_product``: ``refuse`` is an
:class:`~shared.domain.catalog.UnknownProduct` (422) naming the line;
``base_rate`` keeps the browser's price but none of its flags (no reduction,
group, brand or gift certificate: the level's base rate, no coefficient) and
puts the reason ``not_in_catalog`` on the line of the quote.

The storefront's quote and preview and every order placed (the storefront's
checkout, Tilda's order path, the call centre) call it, so a quote, the order
it becomes and its settlement all stand on the catalog's figures: the order
keeps the priced lines, and payment settles on what the order keeps.

The lookup is one read of each line's first key as a product UID (what the kit
sends), and only for the lines not found so, one read of their keys as UIDs,
one of the SKU / external id index and one of the products it names.
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec import Struct

from shared.domain.cart import CartLine, Quote, Reason
from shared.domain.catalog import NOT_IN_CATALOG, Product, line_keys, price_line, unknown_products
from shared.domain.config import ProgramConfig
from shared.domain.errors import NotFound
from shared.services.ports import Store, UnitOfWork


class PricedLines(Struct, frozen=True):
    """The lines as the catalog prices them, and the reasons to show per line id."""

    lines: list[CartLine]
    reasons: dict[str, list[Reason]]
    missing: tuple[str, ...]  # the ids of the lines the catalog does not know

    def annotate(self, quote: Quote) -> Quote:
        """The quote with each line's catalog reason (a line the catalog does not know) added."""
        for quote_line in quote.lines:
            quote_line.reasons[:0] = self.reasons.get(quote_line.id, [])
        return quote


def resolve(uow: UnitOfWork, lines: list[CartLine]) -> list[Product | None]:
    """Each line's product (``None``: not in the catalog), by ``product``, then ``sku``, then ``id``.

    First each line's first key as a UID (what the kit sends: one document read per line); only
    the lines that missed are looked up by every key (which is what decides them: a first key
    found as a UID comes first in that order too)."""
    keys = [line_keys(line) for line in lines]
    first = uow.products.get_many(k[0] for k in keys if k)
    products: list[Product | None] = [first.get(k[0]) if k else None for k in keys]
    rest = [i for i, product in enumerate(products) if product is None]
    if rest:
        found = uow.products.resolve(key for i in rest for key in keys[i])
        for i in rest:
            products[i] = next((found[key] for key in keys[i] if key in found), None)
    return products


def price_lines(store: Store, *, config: ProgramConfig, lines: list[CartLine], refuse: bool = True) -> PricedLines:
    """The lines with the catalog's prices and flags (see the module's description); ``refuse=False``
    prices an unknown line at the base rate whatever the program says (a preview, which places nothing)."""
    products = store.read(lambda uow: resolve(uow, lines))
    missing = [line for line, product in zip(lines, products, strict=True) if product is None]
    if missing and refuse and config.catalog.missing_product == "refuse":
        raise unknown_products(missing)
    priced = [price_line(line, product) for line, product in zip(lines, products, strict=True)]
    return PricedLines(lines=priced, reasons={line.id: [NOT_IN_CATALOG] for line in missing}, missing=tuple(line.id for line in missing))


# --- the back office's reads and edits -------------------------------------------------------------


class ProductPage(Struct, frozen=True):
    products: list[Product]
    next_cursor: str | None


def product(store: Store, uid: str) -> Product:
    found = store.read(lambda uow: uow.products.get(uid))
    if found is None:
        raise NotFound("no such product", uid=uid, message_ru="Товар не найден в каталоге.")
    return found


def products(store: Store, *, query: str | None = None, cursor: str | None = None, limit: int = 50) -> ProductPage:
    """A page of the catalog in UID order; ``query``: the product a UID, SKU or external id names."""
    if query:
        found = store.read(lambda uow: uow.products.resolve([query.strip()]))
        return ProductPage(products=list(found.values()), next_cursor=None)
    page = store.read(lambda uow: uow.products.page(limit=limit + 1, after=cursor))
    return ProductPage(products=page[:limit], next_cursor=page[limit - 1].uid if len(page) > limit else None)


def put_product(store: Store, product: Product, *, then: Callable[[UnitOfWork, tuple[Product | None, Product]], None] | None = None) -> tuple[Product | None, Product]:
    """Create or replace one product; ``then`` runs in the same transaction only when it changed.
    Answers (the product before, the product now)."""

    def unit(uow: UnitOfWork) -> tuple[Product | None, Product]:
        before = uow.products.get(product.uid)
        if before != product:
            uow.products.put(product, before)
            if then is not None:
                then(uow, (before, product))
        return before, product

    return store.run(unit)
