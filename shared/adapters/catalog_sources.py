"""What a Tilda shop can give us of its catalog, read into :class:`~shared.domain.catalog.SourceRow`.

* **The Tilda Store CSV export** (Products -> Export): a header line naming
  the columns (``Tilda UID``, ``Brand``, ``SKU``, ``Mark``, ``Category``,
  ``Title``, ``Description``, ``Text``, ``Photo``, ``Price``, ``Quantity``,
  ``Price Old``, ``Editions``, ``Modifications``, ``External ID``, ``Parent UID``
  and ``Characteristics:…``); ``;`` (Tilda's own) or ``,`` (a spreadsheet's)
  between fields, UTF-8 with or without a BOM. Column names are matched
  without regard to case; only ``Tilda UID`` and ``Price`` are required.
  ``Category`` may list several categories separated by ``;``. A variant row
  (``Parent UID`` set) takes what it leaves empty from its parent's row.
* **A YML feed** (the marketplace format): ``yml_catalog/shop/categories/category``
  (``id``, ``parentId``) and ``shop/offers/offer`` (``id``, ``group_id``) with
  ``name``, ``price``, ``oldprice``, ``categoryId``, ``vendor``, ``vendorCode``
  and ``param`` elements. The offer's ``id`` is the product's UID, its
  ``vendorCode`` the SKU; the categories are the offer's category and its
  parents, most specific first. Parsed with ``defusedxml``: entity
  declarations and external references are refused, so no entity expansion
  or outside fetch can happen.

The configured gift-certificate field (``catalog.gift_certificate.field``) is
a CSV column or a YML ``param`` name (or a child element of the offer).
Anything unreadable as a whole is :class:`~shared.domain.errors.ValidationFailed`;
a bad row is left to :func:`shared.domain.catalog.product_of` to refuse.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from shared.domain.catalog import SourceRow, inherit
from shared.domain.errors import ValidationFailed

MAX_ROWS = 50_000

_UID, _PRICE = "tilda uid", "price"


def _invalid(message: str, message_ru: str) -> ValidationFailed:
    return ValidationFailed(message, message_ru=message_ru, field="catalog")


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _invalid("the file is not UTF-8 text", "Файл должен быть в кодировке UTF-8.") from None


def _delimiter(header: str) -> str:
    return max((";", ",", "\t"), key=header.count)


def _categories(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(";") if part.strip())


def read_csv(data: bytes, *, marker_field: str | None = None) -> list[SourceRow]:
    """The rows of a Tilda Store CSV export (see the module's description)."""
    text = _text(data)
    header = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(header))
    try:
        names = [name.strip().casefold() for name in next(reader)]
    except StopIteration:
        raise _invalid("the file is empty", "Файл пуст.") from None
    except csv.Error:
        raise _invalid("the file is not CSV", "Файл не похож на выгрузку товаров в CSV.") from None
    if _UID not in names or _PRICE not in names:
        raise _invalid("the header needs the columns 'Tilda UID' and 'Price'", "В первой строке файла нужны колонки «Tilda UID» и «Price».")
    marker = marker_field.strip().casefold() if marker_field else None
    rows: list[SourceRow] = []
    try:
        for line_number, fields in enumerate(reader, start=2):
            if not any(field.strip() for field in fields):
                continue
            if len(rows) >= MAX_ROWS:
                raise _invalid(f"a file has at most {MAX_ROWS} products", f"В файле может быть не больше {MAX_ROWS} товаров.")
            cell = dict(zip(names, fields, strict=False))

            def get(name: str, cell: dict[str, str] = cell) -> str:
                return (cell.get(name) or "").strip()

            rows.append(
                SourceRow(
                    row=line_number,
                    uid=get(_UID),
                    name=get("title"),
                    price=get(_PRICE),
                    old_price=get("price old"),
                    categories=_categories(get("category")),
                    brand=get("brand"),
                    sku=get("sku"),
                    external_id=get("external id"),
                    parent_uid=get("parent uid"),
                    marker=get(marker) if marker else "",
                )
            )
    except csv.Error as exc:
        raise _invalid(f"the file is not valid CSV: {exc}", "Файл повреждён: не удаётся прочитать строки CSV.") from None
    return with_parents(rows)


def with_parents(rows: list[SourceRow]) -> list[SourceRow]:
    """Each variant row completed from its parent product's row (when the file has it)."""
    by_uid = {row.uid: row for row in rows if not row.parent_uid}
    return [inherit(row, by_uid.get(row.parent_uid)) if row.parent_uid else row for row in rows]


# --- YML -----------------------------------------------------------------------------------------


def _child(element: Any, tag: str) -> str:
    found = element.find(tag)
    return (found.text or "").strip() if found is not None and found.text else ""


def _chain(categories: dict[str, tuple[str, str]], category_id: str) -> tuple[str, ...]:
    names: list[str] = []
    seen: set[str] = set()
    while category_id and category_id in categories and category_id not in seen and len(names) < 20:
        seen.add(category_id)
        name, parent = categories[category_id]
        if name:
            names.append(name)
        category_id = parent
    return tuple(names)


def _marker(offer: Any, field: str | None) -> str:
    if not field:
        return ""
    for param in offer.findall("param"):
        if (param.get("name") or "").strip().casefold() == field.strip().casefold():
            return (param.text or "").strip()
    return _child(offer, field) if field.isidentifier() else ""


def read_yml(data: bytes, *, marker_field: str | None = None) -> list[SourceRow]:
    """The offers of a YML feed (see the module's description)."""
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError):
        raise _invalid("the feed is not well-formed YML (XML without entity declarations)", "Фид товаров не читается: это не корректный YML.") from None
    shop = root.find("shop") if root.tag == "yml_catalog" else None
    if shop is None:
        raise _invalid("the feed has no yml_catalog/shop element", "В фиде нет раздела yml_catalog/shop.")
    categories = {
        (c.get("id") or "").strip(): ((c.text or "").strip(), (c.get("parentId") or "").strip())
        for c in shop.findall("categories/category")
    }
    offers = shop.findall("offers/offer")
    if len(offers) > MAX_ROWS:
        raise _invalid(f"a feed has at most {MAX_ROWS} offers", f"В фиде может быть не больше {MAX_ROWS} товаров.")
    rows = []
    for position, offer in enumerate(offers, start=1):
        name = _child(offer, "name") or " ".join(part for part in (_child(offer, "typePrefix"), _child(offer, "vendor"), _child(offer, "model")) if part)
        rows.append(
            SourceRow(
                row=position,
                uid=(offer.get("id") or "").strip(),
                name=name,
                price=_child(offer, "price"),
                old_price=_child(offer, "oldprice"),
                categories=_chain(categories, _child(offer, "categoryId")),
                brand=_child(offer, "vendor"),
                sku=_child(offer, "vendorCode"),
                parent_uid=(offer.get("group_id") or "").strip(),
                marker=_marker(offer, marker_field),
            )
        )
    return with_parents(rows)
