"""The shop's product catalog: the one source of every price and product flag a cart is priced on.

A :class:`Product` is keyed by its Tilda product UID and also found by its SKU
and its external id. An import (the Tilda Store CSV export, a YML feed) gives
:class:`SourceRow` values; :func:`product_of` turns one into a product through
the program's ``catalog`` mapping (shop categories -> product groups, brands
-> program brands, the gift-certificate marker) or refuses it with a reason in
English and Russian. :func:`price_line` gives a browser's cart line the
catalog's price and flags, whatever the browser said.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

from msgspec import Struct

from shared.domain.cart import CartLine, Reason
from shared.domain.config import CatalogSettings
from shared.domain.errors import BusinessRefusal
from shared.domain.ids import is_external_id

NAME_LENGTH = 300
GROUP_LENGTH = 64
KEY_LENGTH = 128
MAX_PRICE = 10**11

_FALSE = frozenset({"", "0", "no", "false", "нет", "n"})
_MONEY = re.compile(r"[0-9]{1,11}(?:[.,][0-9]{1,2})?")


class Product(Struct, frozen=True, kw_only=True):
    """One product as the shop sells it; prices in kopecks."""

    uid: str
    name: str
    price: int
    old_price: int | None = None  # the price before the shop's reduction
    sale: bool = False  # the reduced-price flag: set by an old price above the price, or by hand
    product_group: str | None = None
    brand: str | None = None
    gift_certificate: bool = False
    sku: str | None = None
    external_id: str | None = None

    @property
    def keys(self) -> tuple[tuple[str, str], ...]:
        """The other keys it is found by: ``("sku", …)`` and ``("external", …)``."""
        found = []
        if self.sku:
            found.append(("sku", self.sku))
        if self.external_id:
            found.append(("external", self.external_id))
        return tuple(found)


class SourceRow(Struct, frozen=True, kw_only=True):
    """One product row of an import as the source wrote it (a CSV line, a YML offer)."""

    row: int  # 1-based: the CSV line (the header is line 1) or the offer's position
    uid: str
    name: str = ""
    price: str = ""
    old_price: str = ""
    categories: tuple[str, ...] = ()  # the shop's categories of the product, as listed
    brand: str = ""
    sku: str = ""
    external_id: str = ""
    parent_uid: str = ""
    marker: str = ""  # the value of the configured gift-certificate field


class RowRefusal(Struct, frozen=True, kw_only=True):
    """An import row that was not applied, and why."""

    row: int
    uid: str
    code: str
    message: str
    message_ru: str


def _refusal(row: SourceRow, code: str, message: str, message_ru: str) -> RowRefusal:
    return RowRefusal(row=row.row, uid=row.uid, code=code, message=message, message_ru=f"Строка {row.row}: {message_ru}")


def kopecks(text: str) -> int | None:
    """``"1 990,50"`` or ``"1990.5"`` roubles -> kopecks; ``None`` when it is no such amount."""
    cleaned = text.replace("\u00a0", "").replace(" ", "").strip()
    if not _MONEY.fullmatch(cleaned):
        return None
    try:
        value = int(Decimal(cleaned.replace(",", ".")) * 100)
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain decimals
        return None
    return value if value <= MAX_PRICE else None


def _mapped(mapping: dict[str, str], value: str) -> str | None:
    wanted = value.strip().casefold()
    for key, code in mapping.items():
        if key.strip().casefold() == wanted:
            return code
    return None


def _group(settings: CatalogSettings, categories: tuple[str, ...]) -> str | None:
    """The first category the mapping names; else the first category itself when it is short."""
    for category in categories:
        code = _mapped(settings.categories, category)
        if code is not None:
            return code
    raw = categories[0].strip() if categories else ""
    return raw if 0 < len(raw) <= GROUP_LENGTH else None


def _brand(settings: CatalogSettings, brand: str) -> str | None:
    code = _mapped(settings.brands, brand) if brand.strip() else None
    raw = brand.strip()
    return code if code is not None else (raw if 0 < len(raw) <= GROUP_LENGTH else None)


def _gift(settings: CatalogSettings, row: SourceRow) -> bool:
    marker = settings.gift_certificate
    wanted = {c.strip().casefold() for c in marker.categories}
    if wanted and any(c.strip().casefold() in wanted for c in row.categories):
        return True
    return bool(marker.field) and row.marker.strip().casefold() not in _FALSE


def inherit(row: SourceRow, parent: SourceRow | None) -> SourceRow:
    """A variant row (``Parent UID``) takes what it leaves empty from its parent product's row."""
    if parent is None:
        return row
    return SourceRow(
        row=row.row,
        uid=row.uid,
        name=row.name or parent.name,
        price=row.price or parent.price,
        old_price=row.old_price or parent.old_price,
        categories=row.categories or parent.categories,
        brand=row.brand or parent.brand,
        sku=row.sku,
        external_id=row.external_id,
        parent_uid=row.parent_uid,
        marker=row.marker or parent.marker,
    )


def product_of(settings: CatalogSettings, row: SourceRow) -> Product | RowRefusal:
    """The product a row describes, through the program's mapping, or why it is refused."""
    if not is_external_id(row.uid):
        return _refusal(row, "bad_uid", f"the product id {row.uid!r} is missing or not a well-formed id", "нет идентификатора товара (Tilda UID) или он некорректен.")
    price = kopecks(row.price)
    if price is None:
        return _refusal(row, "bad_price", f"the price {row.price!r} is not an amount in roubles", f"цена «{row.price}» не является суммой в рублях.")
    old_price = kopecks(row.old_price) if row.old_price.strip() else None
    if row.old_price.strip() and old_price is None:
        return _refusal(row, "bad_old_price", f"the old price {row.old_price!r} is not an amount in roubles", f"старая цена «{row.old_price}» не является суммой в рублях.")
    if len(row.sku) > KEY_LENGTH or len(row.external_id) > KEY_LENGTH:
        return _refusal(row, "bad_key", f"the SKU or external id is longer than {KEY_LENGTH} characters", f"артикул или внешний код длиннее {KEY_LENGTH} символов.")
    if old_price is not None and old_price <= price:
        old_price = None  # an old price that is no higher is no reduction
    return Product(
        uid=row.uid,
        name=(row.name.strip() or row.uid)[:NAME_LENGTH],
        price=price,
        old_price=old_price,
        sale=old_price is not None,
        product_group=_group(settings, row.categories),
        brand=_brand(settings, row.brand),
        gift_certificate=_gift(settings, row),
        sku=row.sku.strip() or None,
        external_id=row.external_id.strip() or None,
    )


def duplicate(row: SourceRow, kind: str, value: str) -> RowRefusal:
    what, what_ru = {"uid": ("product id", "Tilda UID"), "sku": ("SKU", "артикул"), "external": ("external id", "внешний код")}[kind]
    return _refusal(row, f"duplicate_{kind}", f"the {what} {value!r} appears on an earlier row", f"{what_ru} «{value}» уже встречается выше в файле.")


# --- pricing a cart line -------------------------------------------------------------------------

NOT_IN_CATALOG = Reason(
    code="not_in_catalog",
    message="this item is not in the shop's catalog: it earns at the base rate, and no product flag sent with it counts",
    message_ru="Этого товара нет в каталоге магазина: бонусы начисляются по базовой ставке.",
)


class UnknownProduct(BusinessRefusal):
    """A cart line the catalog does not know, under ``catalog.missing_product: refuse`` (a 422)."""

    code = "unknown_product"
    message_ru = "Товара нет в каталоге магазина."


def unknown_products(lines: list[CartLine]) -> UnknownProduct:
    first = lines[0]
    label = first.name or first.product or first.sku or first.id
    return UnknownProduct(
        f"the catalog has no product for line {first.id!r}" + (f" and {len(lines) - 1} more" if len(lines) > 1 else ""),
        message_ru=f"Товара «{label}» нет в каталоге магазина: обновите страницу или удалите его из корзины.",
        lines=[line.id for line in lines],
    )


def line_keys(line: CartLine) -> tuple[str, ...]:
    """What a line is looked up by, in order: its ``product``, its ``sku``, its ``id``."""
    return tuple(dict.fromkeys(key for key in (line.product, line.sku, line.id) if key))


def price_line(line: CartLine, product: Product | None) -> CartLine:
    """The line with the catalog's price and flags; with no product, the browser's price and no flag
    (no reduction, no group or brand, no gift certificate): the base rate."""
    if product is None:
        return line.model_copy(update={"original_price": None, "sale": False, "product_group": None, "brand": None, "gift_certificate": False})
    return line.model_copy(
        update={
            "product": product.uid,
            "sku": product.sku or "",
            "name": product.name,
            "price": product.price,
            "original_price": product.old_price,
            "sale": product.sale,
            "product_group": product.product_group,
            "brand": product.brand,
            "gift_certificate": product.gift_certificate,
        }
    )


# --- an import's record ---------------------------------------------------------------------------

MAX_REFUSALS_KEPT = 200  # refused rows the import's record lists (the count is always exact)


class ImportCounts(Struct, frozen=True, kw_only=True):
    added: int = 0
    changed: int = 0
    unchanged: int = 0

    def plus(self, other: ImportCounts) -> ImportCounts:
        return ImportCounts(added=self.added + other.added, changed=self.changed + other.changed, unchanged=self.unchanged + other.unchanged)


class CatalogImport(Struct, frozen=True, kw_only=True):
    """One import: what it was, how far it got (batches written) and its report."""

    import_id: str
    source: str  # "csv" or "feed"
    actor: str
    status: str  # "running" until its last batch is written, then "done"
    products: int  # the rows it applies (refused rows excluded)
    batches: int
    batches_done: int
    counts: ImportCounts
    refused_count: int
    refused: tuple[RowRefusal, ...]
    started_at: datetime
    finished_at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.status == "done"
