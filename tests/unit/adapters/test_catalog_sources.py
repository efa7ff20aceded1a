"""Reading a Tilda Store CSV export and a YML feed into rows; anything unreadable is a clear 400."""

from __future__ import annotations

import pytest

from shared.adapters.catalog_sources import read_csv, read_yml
from shared.domain.errors import ValidationFailed
from tests.fakes.catalog_feed import yml

HEADER = '"Tilda UID";Brand;SKU;Mark;Category;Title;Description;Text;Photo;Price;Quantity;"Price Old";Editions;Modifications;"External ID";"Parent UID"'


def test_a_tilda_export_with_semicolons_and_a_bom_is_read_row_by_row():
    data = "\n".join([
        HEADER,
        '100;Merida;BK-1;;"Велосипеды;Новинки";"Велосипед Big.Nine";"<p>описание</p>";;https://static.tildacdn.com/a.jpg;100000;3;;;;ext-100;',
        '101;;BK-1-L;;;;;;;;;;Размер:L;;;100',
        '200;;GC-1;сертификат;"Подарочные сертификаты";"Сертификат 1000";;;;1000;;;;;;',
    ]).encode("utf-8-sig")
    rows = read_csv(data, marker_field="Mark")
    assert [(r.row, r.uid, r.sku, r.price, r.categories, r.brand, r.external_id) for r in rows] == [
        (2, "100", "BK-1", "100000", ("Велосипеды", "Новинки"), "Merida", "ext-100"),
        (3, "101", "BK-1-L", "100000", ("Велосипеды", "Новинки"), "Merida", ""),  # the variant completed from its parent
        (4, "200", "GC-1", "1000", ("Подарочные сертификаты",), "", ""),
    ]
    assert rows[0].name == "Велосипед Big.Nine" and rows[2].marker == "сертификат" and rows[0].marker == ""


def test_a_spreadsheets_commas_and_any_column_order_and_case_are_read_too():
    data = 'title,PRICE,tilda uid,price old,sku\n"Фляга, 0,5 л",490,300,590,FL-1\n\n'.encode()
    [row] = read_csv(data)
    assert (row.uid, row.name, row.price, row.old_price, row.sku) == ("300", "Фляга, 0,5 л", "490", "590", "FL-1")


@pytest.mark.parametrize(
    ("data", "russian"),
    [
        (b"", "пуст"),
        (b"Title;Price\nx;1\n", "Tilda UID"),
        ("Tilda UID;Price\n1;1\n".encode("cp1251") + "Цена".encode("cp1251"), "UTF-8"),
    ],
)
def test_a_file_that_is_not_a_tilda_export_is_refused_as_a_whole(data, russian):
    with pytest.raises(ValidationFailed) as refused:
        read_csv(data)
    assert russian in refused.value.message_ru


CATEGORIES = '<category id="1">Велосипеды</category><category id="2" parentId="1">Горные</category><category id="9">Сертификаты</category>'


def test_a_yml_feed_gives_each_offer_with_its_category_chain_most_specific_first():
    data = yml(
        '<offer id="100" available="true"><url>https://velo.example/bike</url><price>100000</price><oldprice>120000</oldprice><currencyId>RUR</currencyId>'
        "<categoryId>2</categoryId><vendor>Merida</vendor><vendorCode>BK-1</vendorCode><name>Велосипед</name></offer>"
        '<offer id="200"><price>1000</price><categoryId>9</categoryId><name>Сертификат</name><param name="Тип">сертификат</param></offer>',
        CATEGORIES,
    )
    rows = read_yml(data, marker_field="тип")
    assert [(r.row, r.uid, r.price, r.old_price, r.categories, r.brand, r.sku, r.marker) for r in rows] == [
        (1, "100", "100000", "120000", ("Горные", "Велосипеды"), "Merida", "BK-1", ""),
        (2, "200", "1000", "", ("Сертификаты",), "", "", "сертификат"),
    ]


def test_a_feed_declaring_entities_is_refused_before_any_expansion():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<yml_catalog><shop><offers><offer id=\"1\"><name>&lol2;</name><price>1</price></offer></offers></shop></yml_catalog>"
    )
    external = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><yml_catalog><shop><offers><offer id="1"><name>&e;</name></offer></offers></shop></yml_catalog>'
    for data in (bomb, external):
        with pytest.raises(ValidationFailed) as refused:
            read_yml(data)
        assert refused.value.message_ru == "Фид товаров не читается: это не корректный YML."


@pytest.mark.parametrize("data", [b"not xml", b"<html><body/></html>", b"<yml_catalog/>"])
def test_what_is_not_a_yml_catalog_is_refused(data):
    with pytest.raises(ValidationFailed):
        read_yml(data)
