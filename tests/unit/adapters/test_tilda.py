"""Tilda's order-form webhook body: both encodings, string and object products, exact kopecks."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from shared.adapters import tilda
from shared.domain.errors import ValidationFailed

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def form(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


def lines_of(order: tilda.TildaOrder) -> list[tuple[str, str, int, int]]:
    return [(line.id, line.name, line.price, line.quantity) for line in order.lines]


def test_bracketed_form_with_string_products():
    body = form(
        {
            "Name": "Анна",
            "Phone": "+7 (900) 000-00-00",
            "Email": "anna@example.ru",
            "formid": "form42581206",
            "tranid": "1234567:89",
            "kopilka_order": "order-token-from-the-kit",
            "payment[sys]": "yookassa",
            "payment[systranid]": "2d1e-0001",
            "payment[orderid]": "1869817991",
            "payment[products][0]": "Сыворотка (Объём: 30 мл) x 2 ≡ 960",
            "payment[products][1]": "Крем=1399",
            "payment[promocode]": "spring10",
            "payment[discount]": "485.1",
            "payment[amount]": "1873.9",
        }
    )
    order = tilda.parse_form(body, FORM)
    assert order.order_id == "1869817991"
    assert lines_of(order) == [("1", "Сыворотка (Объём: 30 мл)", 48000, 2), ("2", "Крем", 139900, 1)]
    assert (order.promo_code, order.discount, order.amount) == ("spring10", 48510, 187390)
    assert (order.name, order.phone, order.email, order.form_id, order.tran_id) == ("Анна", "+7 (900) 000-00-00", "anna@example.ru", "form42581206", "1234567:89")
    assert (order.kopilka_order, order.sent_customer_token, order.delivery_price) == ("order-token-from-the-kit", False, None)
    assert (order.payment_system, order.systranid, order.paid) == ("yookassa", "2d1e-0001", True)


def test_bracketed_form_with_object_products():
    body = form(
        {
            "payment[orderid]": "77",
            "payment[systranid]": "0",
            "payment[products][0][name]": "Сыворотка",
            "payment[products][0][quantity]": "3",
            "payment[products][0][price]": "485.10",
            "payment[products][0][amount]": "1455.3",
            "payment[products][0][sku]": "SER-30",
            "payment[products][1][name]": "Пробник",
            "payment[products][1][amount]": "0",
        }
    )
    order = tilda.parse_form(body, FORM)
    assert lines_of(order) == [("1", "Сыворотка", 48510, 3), ("2", "Пробник", 0, 1)]
    assert order.lines[0].sku == "SER-30"
    assert (order.paid, order.kopilka_order, order.sent_customer_token) == (False, None, False)


def test_form_with_payment_as_a_json_string():
    payment = {"sys": "cloudpayments", "systranid": "3521002298", "orderid": "1869817991", "products": ["5 км Весна 2027 (Vesna5b-2027)=490"], "promocode": "TEST", "discount": "485.1",
        "amount": "4.9"}
    order = tilda.parse_form(form({"Email": "a@b.ru", "payment": json.dumps(payment, ensure_ascii=False)}), FORM + "; charset=UTF-8")
    assert lines_of(order) == [("1", "5 км Весна 2027 (Vesna5b-2027)", 49000, 1)]
    assert (order.discount, order.amount, order.paid) == (48510, 490, True)


def test_json_body_with_object_products_and_json_numbers_kept_exact():
    body = json.dumps(
        {
            "phone": "+79000000000",
            "payment": {"orderid": 501, "products": [{"name": "Крем", "quantity": 2, "price": 0.1, "amount": 0.2}, {"name": "Маска", "quantity": "1", "price": "1 399,50"}]},
        }
    ).encode()
    order = tilda.parse_form(body, JSON)
    assert order.order_id == "501"
    assert lines_of(order) == [("1", "Крем", 10, 2), ("2", "Маска", 139950, 1)]


def test_json_body_with_payment_as_a_json_string_and_string_products():
    body = json.dumps({"payment": json.dumps({"orderid": "9", "products": ["Носки x 3 ≡ 1 050 ₽"]})}).encode()
    order = tilda.parse_form(body, JSON)
    assert lines_of(order) == [("1", "Носки", 35000, 3)]


def test_content_type_missing_is_sniffed():
    assert tilda.parse_form(json.dumps({"payment": {"orderid": "1", "products": ["A=1"]}}).encode(), None).lines[0].price == 100
    assert tilda.parse_form(form({"payment[orderid]": "1", "payment[products][0]": "A=1"}), "").lines[0].price == 100


def test_ping_and_non_orders_and_the_order_token():
    assert tilda.is_ping(tilda.read_fields(b"test=test", FORM))
    assert tilda.is_ping(tilda.read_fields(b'{"test": "test"}', JSON))
    lead = tilda.read_fields(form({"Name": "Анна", "Phone": "+79000000000"}), FORM)
    assert not tilda.is_ping(lead) and not tilda.has_order(lead)
    order = tilda.read_fields(form({"payment[orderid]": "1", "payment[products][0]": "A=1", "KOPILKA_ORDER": " t "}), FORM)
    assert tilda.has_order(order) and not tilda.is_ping(order) and tilda.order_token(order) == "t" and not tilda.sent_customer_token(order)
    old_form = tilda.read_fields(form({"payment[orderid]": "1", "payment[products][0]": "A=1", "kopilka_token": "an-access-token"}), FORM)
    assert tilda.sent_customer_token(old_form) and tilda.order_token(old_form) is None
    assert tilda.order_from_fields(old_form).sent_customer_token  # noted, never read as a token


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        (b"payment=%7Bnot-json", FORM, "payment"),
        (b'{"payment": ', JSON, "(body)"),
        (b"[1, 2]", JSON, "(body)"),
        (b'{"payment": {"orderid": "1", "products": ["A=NaN"]}}', JSON, "payment.products.0"),
        (b'{"payment": {"orderid": "1", "products": [{"name": "A", "price": NaN}]}}', JSON, "(body)"),
        (form({"Name": "lead form only"}), FORM, "payment"),
        (form({"payment[orderid]": "1"}), FORM, "payment.products"),
        (form({"payment[products][0]": "A=1"}), FORM, "payment.orderid"),
        (form({"payment[orderid]": "1/2", "payment[products][0]": "A=1"}), FORM, None),
        (form({"payment[orderid]": "1", "payment[products][0]": "just a name"}), FORM, "payment.products.0"),
        (form({"payment[orderid]": "1", "payment[products][0]": "A=1.005"}), FORM, "payment.products.0"),
        (form({"payment[orderid]": "1", "payment[products][0]": "A=-5"}), FORM, "payment.products.0"),
        (form({"payment[orderid]": "1", "payment[products][0]": "A x 3 ≡ 100"}), FORM, "payment.products.0"),
        (form({"payment[orderid]": "1", "payment[products][0]": "A x 0 ≡ 100"}), FORM, "payment.products.0"),
        (form({"payment[orderid]": "1", "payment[products][0][name]": "A", "payment[products][0][price]": "10", "payment[products][0][amount]": "25", "payment[products][0][quantity]": "2"}),
            FORM, "payment.products.0.amount"),
        (form({"payment[orderid]": "1", "payment[products][0][name]": "A"}), FORM, "payment.products.0.price"),
        (form({"payment[orderid]": "1", "payment[products][0][name]": "A", "payment[products][0][price]": "1", "payment[products][0][quantity]": "1.5"}), FORM, "payment.products.0.quantity"),
        (form({"payment[orderid]": "1", "payment[products][0]": "A=1", "payment[delivery_price]": "-3"}), FORM, "payment.delivery_price"),
        (form({"payment[orderid]": "1", "payment[products][0]": "A=1", "payment[delivery_price]": "lots"}), FORM, "payment.delivery_price"),
        (b"payment=x&payment[orderid]=1", FORM, "payment[orderid]"),
        (b"payment[a][b][c][d][e][f]=1", FORM, "payment[a][b][c][d][e][f]"),
        (b"payment[products][99999]=A%3D1", FORM, "payment[products][99999]"),
        (b"\xff\xfe", FORM, "(body)"),
        (b"<xml/>", "application/xml", "(body)"),
    ],
)
def test_bad_input_is_validation_failed(body, content_type, field):
    with pytest.raises(ValidationFailed) as caught:
        tilda.parse_form(body, content_type)
    if field is not None:
        assert caught.value.details.get("field") == field
    assert caught.value.message_ru


def test_too_many_products_or_fields():
    many = {f"payment[products][{n}]": "A=1" for n in range(501)}
    with pytest.raises(ValidationFailed):
        tilda.parse_form(form({"payment[orderid]": "1", **many}), FORM)
    with pytest.raises(ValidationFailed):
        tilda.read_fields("&".join(f"f{n}=1" for n in range(tilda.MAX_FIELDS + 1)).encode(), FORM)


@pytest.mark.parametrize(
    ("text", "kopecks"),
    [("485.1", 48510), ("0.01", 1), ("1 399,50", 139950), ("1\u00a0200", 120000), ("960", 96000), ("10.00", 1000)],
)
def test_amounts_are_exact_kopecks(text, kopecks):
    assert tilda.kopecks(text, "x") == kopecks


def test_long_product_names_are_shortened_not_refused():
    order = tilda.parse_form(form({"payment[orderid]": "1", "payment[products][0]": "Я" * 400 + "=10"}), FORM)
    assert len(order.lines[0].name) == tilda.NAME_LENGTH


@pytest.mark.parametrize("digit", ["²", "٣", "①", "𝟡"])  # str.isdigit() says yes to each; none is an ASCII digit
@pytest.mark.parametrize(
    "body",
    [
        lambda d: form({"payment[orderid]": "1", f"payment[products][{d}]": "A=1"}),  # an index in brackets
        lambda d: json.dumps({"payment[orderid]": "1", "payment[products][0]": "A=1", f"payment[products][{d}]": "B=2"}).encode(),  # in JSON
        lambda d: form({"payment[orderid]": "1", "payment[products][0]": "A=1", "payment[delivery_price]": d}),  # an amount
    ],
)
def test_only_ascii_digits_are_numbers_in_tilda_bodies(body, digit):
    content_type = JSON if body(digit).startswith(b"{") else FORM
    with pytest.raises(ValidationFailed) as caught:
        tilda.parse_form(body(digit), content_type)
    assert caught.value.message_ru


@pytest.mark.parametrize("body", [b"0=x", b"0=x&1=y", b"[]=", b"0[a]=1"])
def test_top_level_fields_named_by_numbers_stay_fields(body):
    with pytest.raises(ValidationFailed) as caught:  # no payment block: not a cart order
        tilda.parse_form(body, FORM)
    assert caught.value.details.get("field") == "payment"


@pytest.mark.parametrize("product", ["Крем=١٣٩٩", "Крем x 2 ≡ ٩٦٠", "Крем=𝟏𝟎"])
def test_amounts_and_quantities_are_ascii_digits_only(product):
    with pytest.raises(ValidationFailed):
        tilda.parse_form(form({"payment[orderid]": "1", "payment[products][0]": product}), FORM)
    with pytest.raises(ValidationFailed):
        tilda.kopecks("١٢", "x")


# --- the five shapes of real captures (TILDA.md) ----------------------------------------------


def test_capture_json_body_with_object_products_a_delivery_block_and_members_fields():
    body = {
        "Name": "Анна",
        "Email": "anna@example.ru",
        "ma_id": "1234567",
        "ma_name": "Анна",
        "ma_email": "anna@example.ru",
        "ma_phone": "+79000000000",
        "formid": "form555",
        "formname": "Cart",
        "kopilka_order": "tok",
        "payment": {
            "sys": "yakassa",
            "systranid": "2c5a3b1e-000f-5000-8000-1d3e4f5a6b7c",
            "orderid": "1300546412",
            "products": [{"name": "Крем", "quantity": 2, "amount": 2400, "price": "1200", "sku": "CR-50", "externalid": "ext-1", "img": "https://static.tildacdn.com/x.jpg"}],
            "amount": "2700",
            "subtotal": "2400",
            "delivery": "Курьер",
            "delivery_price": 300,
            "delivery_fio": "Анна",
            "delivery_address": "Москва, Тверская, 1",
            "delivery_city": "Москва",
            "delivery_zip": "125009",
        },
    }
    order = tilda.parse_form(json.dumps(body, ensure_ascii=False).encode(), JSON)
    assert lines_of(order) == [("1", "Крем", 120000, 2)] and order.lines[0].sku == "CR-50"
    assert (order.amount, order.delivery_price, order.payment_system, order.kopilka_order) == (270000, 30000, "yakassa", "tok")


def test_capture_tildas_yookassa_with_a_uuid_systranid_and_a_float_amount():
    body = json.dumps({"payment": {"sys": "yakassa", "systranid": "2d9f1c7e-000f-5000-9000-1b6b4a6c1f11", "orderid": "42", "amount": 1873.9, "products": ["Крем=1873.9"]}}).encode()
    order = tilda.parse_form(body, JSON)
    assert (order.systranid, order.paid, order.amount, order.lines[0].price) == ("2d9f1c7e-000f-5000-9000-1b6b4a6c1f11", True, 187390, 187390)


def test_capture_urlencoded_with_payment_as_json_text_and_a_percent_promo_code():
    payment = {"sys": "yakassa", "systranid": "2d9f-1", "orderid": "77", "products": ["Маска x 2 ≡ 1000"], "promocode": "HALF", "discount": "500", "discountvalue": "50%", "amount": "500"}
    order = tilda.parse_form(form({"Phone": "+79000000000", "kopilka_order": "tok", "payment": json.dumps(payment, ensure_ascii=False)}), FORM)
    assert (order.promo_code, order.discount, order.amount) == ("HALF", 50000, 50000)
    assert lines_of(order) == [("1", "Маска", 50000, 2)]


def test_capture_object_products_with_an_integer_amount_and_a_string_price():
    body = form({"payment[orderid]": "5", "payment[products][0][name]": "Носки", "payment[products][0][quantity]": "3", "payment[products][0][amount]": "1050", "payment[products][0][price]": "350"})
    order = tilda.parse_form(body, FORM)
    assert lines_of(order) == [("1", "Носки", 35000, 3)]
    json_order = tilda.parse_form(json.dumps({"payment": {"orderid": "5", "products": [{"name": "Носки", "quantity": 3, "amount": 1050, "price": "350"}]}}).encode(), JSON)
    assert lines_of(json_order) == lines_of(order)


def test_capture_a_string_product_with_nested_parentheses_in_its_options():
    product = "Кольцо (RING-7, Размер: 17, Гравировка: Надпись (470 руб.)) x 1 ≡ 960"
    order = tilda.parse_form(form({"payment[orderid]": "9", "payment[products][0]": product}), FORM)
    assert lines_of(order) == [("1", "Кольцо (RING-7, Размер: 17, Гравировка: Надпись (470 руб.))", 96000, 1)]
