"""The orders repositories on both stores: an order and a tracking link are stored as they always were."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from shared.adapters import layout
from shared.domain.cart import CartLine, PromoRule
from shared.domain.order import (
    CanceledEvent,
    Delivery,
    Order,
    OrderStatus,
    PaymentRef,
    TrackingLink,
)
from shared.presets import load_preset
from shared.services import delivery, orders, promo, registration
from tests.catalog import seed_lines

CART = [CartLine(id="serum", sku="S-1", name="Serum", price=190000, quantity=1, brand="glow"), CartLine(id="cream", price=60000, quantity=2)]


def _line(line_id: str, price: int, quantity: int, *, sku: str = "", name: str = "", brand: str | None = None, product: str | None = None) -> dict:
    """A stored line; ``product`` (the catalog's UID) only on a line priced on the catalog."""
    return {
        "id": line_id,
        "sku": sku,
        **({"product": product} if product is not None else {}),
        "name": name,
        "price": price,
        "original_price": None,
        "quantity": quantity,
        "product_group": None,
        "brand": brand,
        "sale": False,
        "gift_certificate": False,
    }


LINES = [_line("serum", 190000, 1, sku="S-1", name="Serum", brand="glow", product="serum"), _line("cream", 60000, 2, product="cream")]


def _raw(store, order_id: str) -> dict | None:
    return store.run(lambda uow: uow.get(layout.order(order_id)))


def test_a_placed_order_is_stored_exactly_as_before(store, now):
    config = load_preset("biomiq")
    registration.register_customer(store, config=config, customer_id="anna", now=now)  # 500 welcome bonuses
    promo.create_discount(store, rule=PromoRule(code="Spring10", kind="percent", percent=Decimal(10)), now=now)
    seed_lines(store, CART)  # the serum's brand is the catalog's
    placed, quote = orders.place_order(store, config=config, customer_id="anna", order_id="A1", lines=CART, bonuses=200, promo_code="spring10", now=now)

    assert _raw(store, "A1") == {
        "order_id": "A1",
        "customer_id": "anna",
        "lines": LINES,
        "bonuses_requested": 200,
        "bonuses_reserved": 200,
        "pays_with_gift_certificate": False,
        "promo_code_entered": "SPRING10",
        "promo_code": "SPRING10",
        "promo_rule": {
            "code": "SPRING10",
            "kind": "percent",
            "percent": "10",
            "fixed": 0,
            "min_order": 0,
            "valid_from": None,
            "valid_to": None,
            "product_groups": [],
            "brands": [],
            "combinable_with_bonuses": True,
        },
        "referral_partner_id": None,
        "quote_fingerprint": quote.cart_fingerprint,
        "discount": 31000,
        "money_to_pay": 259000,
        "points_to_earn": 129,
        "quoted_lines": {
            "serum": {"bonuses": 123, "money_to_pay": 158700, "points_to_earn": 79},
            "cream": {"bonuses": 77, "money_to_pay": 100300, "points_to_earn": 50},
        },
        "status": "awaiting_payment",
        "source": "storefront",
        "created_at": now,
        "payment": None,
        "delivery": None,
        "events": [],
    }
    assert store.read(lambda uow: uow.orders.get("A1")) == placed


def test_a_paid_shipped_and_returned_order_keeps_its_document_shape(store, now):
    config = load_preset("biomiq")
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    placed, _ = orders.place_order(store, config=config, customer_id="anna", order_id="A1", lines=CART, bonuses=0, now=now)
    paid_at = now + timedelta(minutes=1)
    orders.mark_paid(store, config=config, order_id="A1", payment=PaymentRef(provider="yookassa", id="p1", amount=placed.money_to_pay), now=paid_at)
    delivery.attach_tracking(store, order_id="A1", carrier="boxberry", tracking="BB1", now=paid_at)
    returned_at = now + timedelta(days=1)
    orders.mark_returned(store, config=config, order_id="A1", return_id="R1", returns={"cream": 1}, now=returned_at)

    raw = _raw(store, "A1")
    assert raw is not None
    assert {k: raw[k] for k in ("status", "payment", "paid_at", "bonuses_spent", "points_earned", "money_paid", "returned_units", "delivery_poll_at")} == {
        "status": "partially_returned",
        "payment": {"provider": "yookassa", "id": "p1", "amount": 310000},
        "paid_at": paid_at,
        "bonuses_spent": 0,
        "points_earned": 155,
        "money_paid": 310000,
        "returned_units": {"cream": 1},
        "delivery_poll_at": paid_at,
    }
    assert "bonuses_shortfall" not in raw and "delivered_at" not in raw
    assert raw["delivery"] == {"carrier": "boxberry", "tracking": "BB1", "attached_at": paid_at, "checked_at": None, "last_state": None, "last_detail": None, "last_status_at": None, "errors": 0}
    assert raw["events"] == [
        {"key": "paid:p1", "type": "paid", "referrer_notified": None, "at": paid_at},
        {"key": "return:R1", "type": "return", "units": {"cream": 1}, "spent_back": 0, "earned_back": 30, "referrer_id": None, "at": returned_at},
    ]
    assert store.run(lambda uow: uow.get(layout.tracking("boxberry", "BB1"))) == {"order_id": "A1", "carrier": "boxberry", "tracking": "BB1", "attached_at": paid_at}


def test_an_order_read_and_written_back_is_unchanged_even_one_from_before_a_field_existed(store, now):
    legacy = {  # no bonuses_reserved, promo_code_entered, quoted_lines …; an unknown field kept as it is
        "order_id": "OLD1",
        "customer_id": "anna",
        "lines": [_line("cream", 60000, 1)],
        "bonuses_requested": 0,
        "promo_code": None,
        "money_to_pay": 60000,
        "status": "canceled",
        "created_at": now,
        "payment": None,
        "delivery": {"carrier": "cdek", "tracking": "X1", "errors": 2, "gave_up_at": None},
        "events": [{"key": "canceled:timeout", "type": "canceled", "reason": "timeout", "at": now}],
        "note": "imported",
    }
    store.run(lambda uow: uow.put(layout.order("OLD1"), legacy))
    order = store.read(lambda uow: uow.orders.get("OLD1"))
    assert order is not None
    assert (order.status, order.reserved, order.entered_code, order.agreement()) == (OrderStatus.CANCELED, 0, None, None)
    assert order.delivery == Delivery(carrier="cdek", tracking="X1", errors=2, gave_up_at=None)
    assert isinstance(order.events[0], CanceledEvent) and order.events[0].reason == "timeout"
    store.run(lambda uow: uow.orders.put(order))
    assert _raw(store, "OLD1") == legacy


def test_absent_orders_and_tracking_links_read_as_none(store):
    assert store.read(lambda uow: uow.orders.get("nope")) is None
    assert store.run(lambda uow: uow.orders.get("nope")) is None
    assert store.read(lambda uow: uow.tracking.get("cdek", "nope")) is None


def test_a_tracking_link_round_trips(store, now):
    link = TrackingLink(order_id="A1", carrier="cdek", tracking="u-1", attached_at=now)
    store.run(lambda uow: uow.tracking.put(link))
    assert store.read(lambda uow: uow.tracking.get("cdek", "u-1")) == link


def test_the_order_queries(store, now):
    config = load_preset("biomiq")
    for customer in ("anna", "boris"):
        registration.register_customer(store, config=config, customer_id=customer, now=now)
    for n, customer in enumerate(("anna", "boris", "anna")):
        orders.place_order(store, config=config, customer_id=customer, order_id=f"A{n}", lines=CART, bonuses=0, now=now + timedelta(minutes=n))
    assert store.read(lambda uow: uow.orders.of_customer("anna", limit=10)) == ["A0", "A2"]
    assert store.read(lambda uow: uow.orders.of_customer("anna", limit=10, after="A0")) == ["A2"]
    placed = store.read(lambda uow: uow.orders.placed_until(until=now + timedelta(minutes=1), limit=10))
    assert [order_id for order_id, _ in placed] == ["A0", "A1"]
    assert store.read(lambda uow: uow.orders.due_for_poll(until=now + timedelta(days=1), limit=10)) == []
    delivery.attach_tracking(store, order_id="A1", carrier="boxberry", tracking="BB1", now=now)
    assert store.read(lambda uow: uow.orders.due_for_poll(until=now, limit=10)) == [("A1", now)]


def test_an_order_is_frozen_and_moves_on_by_returning_a_new_order(now):
    order = Order(order_id="A1", customer_id="anna", lines=tuple(CART), bonuses_requested=0, money_to_pay=310000, status=OrderStatus.AWAITING_PAYMENT, events=())
    canceled = order.cancel("timeout", now=now)
    assert (order.status, canceled.status) == (OrderStatus.AWAITING_PAYMENT, OrderStatus.CANCELED)
    assert canceled.recorded("canceled:timeout") == CanceledEvent(key="canceled:timeout", type="canceled", reason="timeout", at=now)
    assert order.remaining_units() == {"serum": 1, "cream": 2}


def test_a_flagged_order_keeps_its_review_and_is_listed_by_when_it_was_flagged(store, now):
    from shared.domain.order import review_flag

    config = load_preset("biomiq")
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    for order_id in ("T1", "T2", "T3"):
        orders.place_order(store, config=config, customer_id="anna", order_id=order_id, lines=CART, bonuses=100, now=now, source="tilda")
    orders.flag_for_review(store, order_id="T3", review=review_flag("amount_mismatch", at=now, payment_id="pay-3", paid=1, expected=2), now=now)
    orders.flag_for_review(store, order_id="T1", review=review_flag("cart_mismatch", at=now + timedelta(seconds=1)), now=now)
    again = orders.flag_for_review(store, order_id="T3", review=review_flag("payment_used", at=now + timedelta(seconds=2)), now=now)
    assert again.review is not None and again.review.reason == "amount_mismatch"  # the first verdict stays
    raw = _raw(store, "T3")
    assert raw["review"] == {"reason": "amount_mismatch", "message_ru": "Сумма оплаты не совпадает с суммой заказа.", "at": now, "payment_id": "pay-3", "details": {"paid": 1, "expected": 2}}
    assert (raw["status"], raw["flagged_at"]) == ("canceled", now)
    assert store.read(lambda uow: uow.orders.flagged(limit=10)) == [("T3", now), ("T1", now + timedelta(seconds=1))]
    assert store.read(lambda uow: uow.orders.flagged(limit=10, after=(now, "T3"))) == [("T1", now + timedelta(seconds=1))]
    assert "review" not in _raw(store, "T2") and "flagged_at" not in _raw(store, "T2")  # an order never flagged keeps its fields


def test_a_payment_claim_is_created_once_and_read_back(store, now):
    from shared.domain.order import PaymentClaim

    claim = PaymentClaim(provider="yookassa", payment_id="2d9f-1", order_id="anna:K1", at=now)
    store.run(lambda uow: uow.payment_claims.create(claim))
    assert store.read(lambda uow: uow.payment_claims.get("yookassa", "2d9f-1")) == claim
    assert store.read(lambda uow: uow.payment_claims.get("yookassa", "2d9f-2")) is None
    assert store.run(lambda uow: uow.get(layout.payment_claim("yookassa", "2d9f-1")))["order_id"] == "anna:K1"
