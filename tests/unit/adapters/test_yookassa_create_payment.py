"""Kopilka creates the YooKassa payment: the request is one the official SDK accepts, the fake answers it by the
documented contract (its answer parses with the SDK's model), and a 54-FZ receipt adds up to the payment."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from yookassa.domain.request import PaymentRequest
from yookassa.domain.response import PaymentResponse

from shared.adapters import yookassa
from shared.domain.cart import CartLine
from shared.domain.order import Order, OrderStatus, QuotedLine
from shared.presets import load_preset
from shared.services.order_payment import receipt_items
from tests.fakes.yookassa import FakeYooKassa, client_on

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def fake():
    return FakeYooKassa(shop_id="123456", secret_key="test_secret_key")


@pytest.fixture
def client(fake):
    c = client_on(fake)
    yield c
    c.close()


def order(money: dict[str, int], lines: list[CartLine]) -> Order:
    quoted = {line_id: QuotedLine(bonuses=0, money_to_pay=value, points_to_earn=0) for line_id, value in money.items()}
    return Order(order_id="anna:P1", customer_id="anna", lines=tuple(lines), bonuses_requested=0, money_to_pay=sum(money.values()), quoted_lines=quoted, status=OrderStatus.AWAITING_PAYMENT)


def receipt_total(body: dict) -> int:
    return sum(round(Decimal(item["amount"]["value"]) * 100 * Decimal(item["quantity"])) for item in body["receipt"]["items"])


def test_a_payment_is_created_once_per_order_and_parses_with_the_sdk(fake, client):
    new = yookassa.NewPayment(order_id="anna:P1", kopecks=210000, description="Заказ anna:P1", return_url="https://shop.example/thanks")
    created = client.create_payment(new)
    assert (created.status, created.amount.kopecks, created.metadata, created.paid) == ("pending", 210000, {"order_id": "anna:P1"}, False)
    assert created.confirmation is not None and created.confirmation.confirmation_url
    sdk = PaymentResponse(fake.payments[created.id])
    assert (sdk.id, sdk.status, sdk.confirmation.confirmation_url, sdk.confirmation.return_url) == (created.id, "pending", created.confirmation.confirmation_url, "https://shop.example/thanks")
    PaymentRequest(fake.created[-1]).validate()
    assert fake.created[-1]["capture"] is True
    assert client.create_payment(new).id == created.id and len(fake.payments) == 1  # a retry: the same payment
    fake.succeed(created.id)  # capture: true — no hold, no capture call
    assert client.get_payment(created.id).status == "succeeded"


def test_a_receipt_splits_a_line_that_does_not_divide_and_adds_up_to_the_payment(fake, client):
    config = load_preset("biomiq")
    lines = [CartLine(id="serum", name="Сыворотка", price=100000, quantity=3), CartLine(id="gift", name="Пробник", price=0, quantity=1)]
    items = receipt_items(config, order({"serum": 200000, "gift": 0}, lines))  # 2 000 ₽ over 3 units: one at 666.66 ₽, two at 666.67 ₽; nothing for the free one
    assert [(item.quantity, item.kopecks) for item in items] == [(1, 66666), (2, 66667)]
    receipt = yookassa.Receipt(phone="+79000000000", items=items)
    client.create_payment(yookassa.NewPayment(order_id="anna:P1", kopecks=200000, description="Заказ", return_url="https://shop.example/", receipt=receipt))
    body = fake.created[-1]
    assert body["receipt"]["customer"] == {"phone": "79000000000"} and receipt_total(body) == 200000
    assert {item["vat_code"] for item in body["receipt"]["items"]} == {1}
    PaymentRequest(body).validate()


def test_the_fake_refuses_what_yookassa_refuses(fake, client):
    fake.receipts_required = True
    with pytest.raises(yookassa.YooKassaUnavailable):  # a shop that must send receipts: no receipt, no payment
        client.create_payment(yookassa.NewPayment(order_id="anna:P2", kopecks=1000, description="Заказ", return_url="https://shop.example/"))
    wrong = yookassa.Receipt(email="anna@example.ru", items=(yookassa.ReceiptItem(description="Крем", quantity=1, kopecks=999, vat_code=1, payment_subject="commodity", payment_mode="full_payment"),))
    with pytest.raises(yookassa.YooKassaUnavailable):  # the items do not add up
        client.create_payment(yookassa.NewPayment(order_id="anna:P3", kopecks=1000, description="Заказ", return_url="https://shop.example/", receipt=wrong))
    assert fake.payments == {}
