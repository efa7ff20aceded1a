"""The catalog's rules: a row becomes a product through the program's mapping or is refused with a
reason; a cart line takes the catalog's price and flags, or none of the browser's."""

from __future__ import annotations

import pytest

from shared.domain.cart import CartLine
from shared.domain.catalog import Product, RowRefusal, SourceRow, inherit, kopecks, line_keys, price_line, product_of
from shared.domain.config import CatalogSettings, GiftCertificateMarker

MAPPING = CatalogSettings(
    categories={"Велосипеды": "bikes", "Аксессуары": "accessories"},
    brands={"Merida Bikes": "merida"},
    gift_certificate=GiftCertificateMarker(categories=("Подарочные сертификаты",), field="Mark"),
)


def row(**fields) -> SourceRow:
    return SourceRow(**{"row": 2, "uid": "100", "name": "Велосипед", "price": "100000", **fields})


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1990", 199000), ("1 990,50", 199050), ("1990.5", 199050), ("0", 0), ("\u00a012\u00a0000", 1200000), ("", None), ("-5", None), ("1e3", None), ("12.345", None), ("١٢", None)],
)
def test_prices_in_roubles_become_kopecks_exactly(text, expected):
    assert kopecks(text) == expected


def test_a_row_maps_its_category_and_brand_onto_the_program():
    product = product_of(MAPPING, row(categories=("велосипеды",), brand="MERIDA BIKES", sku="BK-1", external_id="ext-1"))
    assert product == Product(uid="100", name="Велосипед", price=10000000, product_group="bikes", brand="merida", sku="BK-1", external_id="ext-1")


def test_the_first_mapped_category_wins_and_an_unmapped_one_is_kept_as_it_is():
    assert product_of(MAPPING, row(categories=("Новинки", "Аксессуары"))).product_group == "accessories"
    assert product_of(MAPPING, row(categories=("service",), brand="Shimano")).product_group == "service"
    assert product_of(MAPPING, row(brand="Shimano")).brand == "Shimano"
    assert product_of(MAPPING, row(categories=("x" * 65,))).product_group is None


def test_an_old_price_above_the_price_is_a_reduction():
    reduced = product_of(MAPPING, row(price="900", old_price="1200"))
    assert (reduced.price, reduced.old_price, reduced.sale) == (90000, 120000, True)
    same = product_of(MAPPING, row(price="900", old_price="900"))
    assert (same.old_price, same.sale) == (None, False)


def test_a_gift_certificate_is_known_by_its_category_or_its_marker_field():
    assert product_of(MAPPING, row(categories=("Подарочные сертификаты",))).gift_certificate is True
    assert product_of(MAPPING, row(marker="сертификат")).gift_certificate is True
    for no in ("", "0", "нет", "false"):
        assert product_of(MAPPING, row(marker=no)).gift_certificate is False
    assert product_of(CatalogSettings(), row(marker="yes")).gift_certificate is False  # no field configured


@pytest.mark.parametrize(
    ("fields", "code", "russian"),
    [
        ({"uid": ""}, "bad_uid", "Tilda UID"),
        ({"uid": "a/b"}, "bad_uid", "Tilda UID"),
        ({"price": "бесплатно"}, "bad_price", "цена"),
        ({"price": ""}, "bad_price", "цена"),
        ({"old_price": "abc"}, "bad_old_price", "старая цена"),
        ({"sku": "s" * 129}, "bad_key", "артикул"),
    ],
)
def test_a_bad_row_is_refused_with_its_row_number_and_a_russian_reason(fields, code, russian):
    refused = product_of(MAPPING, row(row=7, **fields))
    assert isinstance(refused, RowRefusal)
    assert (refused.row, refused.code) == (7, code)
    assert refused.message_ru.startswith("Строка 7: ") and russian in refused.message_ru


def test_a_variant_takes_what_it_leaves_empty_from_its_parent():
    parent = row(uid="1", categories=("Велосипеды",), brand="Merida Bikes", sku="P")
    variant = inherit(SourceRow(row=3, uid="2", price="", sku="V", parent_uid="1"), parent)
    assert (variant.name, variant.price, variant.categories, variant.brand, variant.sku) == ("Велосипед", "100000", ("Велосипеды",), "Merida Bikes", "V")


BIKE = Product(uid="100", name="Велосипед", price=10000000, product_group="bikes", brand="merida", sku="BK-1")


def test_a_line_takes_every_price_and_flag_from_the_catalog():
    sent = CartLine(id="1", product="BK-1", name="x", price=100, original_price=200, quantity=2, product_group="accessories", brand="cheap", sale=True, gift_certificate=True)
    priced = price_line(sent, BIKE)
    assert priced.model_dump() == {
        "id": "1", "sku": "BK-1", "product": "100", "name": "Велосипед", "price": 10000000, "original_price": None, "quantity": 2,
        "product_group": "bikes", "brand": "merida", "sale": False, "gift_certificate": False,
    }


def test_a_line_the_catalog_does_not_know_keeps_its_price_and_loses_its_flags():
    sent = CartLine(id="1", price=500, original_price=900, quantity=1, product_group="accessories", brand="merida", sale=True, gift_certificate=True)
    priced = price_line(sent, None)
    assert (priced.price, priced.original_price, priced.product_group, priced.brand, priced.sale, priced.gift_certificate) == (500, None, None, None, False, False)


def test_a_line_is_looked_up_by_product_then_sku_then_id():
    assert line_keys(CartLine(id="1", product="p", sku="s", price=1, quantity=1)) == ("p", "s", "1")
    assert line_keys(CartLine(id="1", sku="1", price=1, quantity=1)) == ("1",)
