"""The Tilda order path as use cases, on both stores, with YooKassa faked in memory: placed with an order
token, settled by the fetched payment once, flagged (nothing spent or earned) on any mismatch."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from shared.adapters import tilda
from shared.domain.cart import CartLine
from shared.domain.order import OrderStatus
from shared.platform import order_tokens
from shared.services import orders, registration, tilda_orders
from shared.services.ledger import audit_account, balances
from tests.reliability.audit import assert_ledgers_sound

SECRET = "a-token-secret-of-at-least-thirty-two-bytes"
CART = [CartLine(id="uid-1", sku="SER-30", name="Сыворотка", price=100000, quantity=2), CartLine(id="uid-2", sku="CR-50", name="Крем", price=60000, quantity=1)]


def place(store, config, now, order_id="anna:K1", bonuses=500):
    if store.read(lambda uow: uow.accounts.get("anna")) is None:
        registration.register_customer(store, config=config, customer_id="anna", now=now)
    return tilda_orders.place(store, config=config, secret=SECRET, token_minutes=60, customer_id="anna", session_epoch=0, order_id=order_id, lines=CART, bonuses=bonuses, now=now)


def tilda_json(placed, payment_id: str, *, delivery=30000, discount=None, quantity=2) -> tilda.TildaOrder:
    """Tilda's JSON webhook with object products, a delivery block and Members fields."""
    body = {
        "ma_id": "1234567",
        "ma_email": "anna@example.ru",
        "kopilka_order": placed.order_token,
        "payment": {
            "sys": "yakassa",
            "systranid": payment_id,
            "orderid": "1300546412",
            "products": [{"name": "Сыворотка", "quantity": quantity, "price": "1000", "amount": 1000 * quantity, "sku": "SER-30"}, {"name": "Крем", "quantity": 1, "price": 600, "sku": "CR-50"}],
            "discount": tilda_orders.roubles(placed.discount if discount is None else discount),
            "delivery": "Курьер",
            "delivery_price": delivery // 100,
            "amount": (placed.money_to_pay + delivery) / 100,
        },
    }
    return tilda.parse_form(json.dumps(body, ensure_ascii=False).encode(), "application/json")


def paid_by_tilda(fake, amount: int) -> str:
    return fake.succeed(fake.create_payment(amount=amount, metadata={"orderNumber": "1300546412"})["id"])["id"]


def settle(store, config, gateway, form, now):
    return tilda_orders.settle(store, config=config, gateway_of=lambda: gateway, form=form, secret=SECRET, now=now)


def test_a_tilda_order_is_settled_by_its_payment_once(store, now, biomiq, fake, gateway):
    placed = place(store, biomiq, now)
    assert (placed.discount, placed.discount_roubles, placed.money_to_pay, placed.expires_at) == (50000, "500.00", 210000, order_tokens.expiry(now, 60))
    assert place(store, biomiq, now + timedelta(seconds=5)).order_token == placed.order_token  # a replay: the same token
    payment_id = paid_by_tilda(fake, 240000)
    form = tilda_json(placed, payment_id)
    outcome = settle(store, biomiq, gateway, form, now)
    assert (outcome.result, outcome.order_id, outcome.status) == (tilda_orders.Result.PAID, "anna:K1", OrderStatus.PAID)
    assert settle(store, biomiq, gateway, form, now) == outcome
    order = orders.get_order(store, "anna:K1")
    assert (order.bonuses_spent, order.money_paid, order.points_earned, order.payment.amount) == (500, 210000, 105, 240000)
    assert store.read(lambda uow: uow.payment_claims.get("yookassa", payment_id)).order_id == "anna:K1"
    assert audit_account(store, "anna") == []


@pytest.mark.parametrize(
    ("reason", "change"),
    [("discount_mismatch", {"discount": 0}), ("cart_mismatch", {"quantity": 3}), ("amount_mismatch", {"delivery": 0})],
)
def test_a_mismatch_flags_the_order_and_gives_its_bonuses_back(store, now, biomiq, fake, gateway, reason, change):
    placed = place(store, biomiq, now)
    outcome = settle(store, biomiq, gateway, tilda_json(placed, paid_by_tilda(fake, 240000), **change), now)
    assert (outcome.result, outcome.reason) == (tilda_orders.Result.FLAGGED, reason) and outcome.message_ru
    order = orders.get_order(store, "anna:K1")
    assert order.status is OrderStatus.CANCELED and order.review is not None and order.review.reason == reason and order.bonuses_spent is None
    b = balances(store, "anna", now)
    assert (b.available, b.reserved, b.pending) == (500, 0, 0)
    assert audit_account(store, "anna") == []
    assert_ledgers_sound(store, customers=["anna"], now=now)


def test_one_payment_for_two_orders_at_once_settles_one(store, now, biomiq, fake, gateway):
    first = place(store, biomiq, now, "anna:K1", bonuses=0)
    second = place(store, biomiq, now, "anna:K2", bonuses=0)
    payment_id = paid_by_tilda(fake, first.money_to_pay + 30000)
    forms = [tilda_json(first, payment_id), tilda_json(second, payment_id)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda form: settle(store, biomiq, gateway, form, now), forms))
    assert sorted(o.result.value for o in outcomes) == ["flagged", "paid"]
    assert [o.reason for o in outcomes if o.result is tilda_orders.Result.FLAGGED] == ["payment_used"]
    assert sorted(orders.get_order(store, k).status.value for k in ("anna:K1", "anna:K2")) == ["canceled", "paid"]
    assert audit_account(store, "anna") == []
