"""The case studies end to end over HTTP, through functions-framework, on the emulator.

Every step a customer, a payment provider, a carrier or the scheduler takes is a
request to the real function (cart_quote, checkout, order_paid, delivery_status,
expiry_sweep) at a moment set with time-machine (the functions read the clock
once per request). Payments arrive as YooKassa notifications (the fake API is
asked again, the sender is an allowlisted address), deliveries as CDEK
ORDER_STATUS webhooks (the fake CDEK API confirms them). Only what happened
before a story starts (registration, earlier purchases) goes through the
services directly. Balances are read from the ledger at the instant in
question, and every account must equal the fold of its postings.

Stories and their numbers:

* 000 Biomiq: an invited friend's 1 000 welcome bonuses, the 50 % cap on a
  3 100 ₽ cart, the partner's 10 % of 2 100 ₽ once she has three paying referees.
* 002 Велопробег: "total" vs "available", 500 bonuses on a 14 700 ₽ jacket
  leave 14 200 ₽ and earn 305, a visitor sees "up to 619", the 14-day hold and
  the one-year lifetime.
* 003 SPORTFERMA: a level reached the moment a paid order crosses its
  threshold, lost by the rolling window.
* 001 Maxma shops: sale items, reduced prices and promo codes, gift
  certificates, and wholesale customers who see only their level.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from shared.adapters.layout import line_book as line_book_path
from shared.domain.cart import CartLine, PromoRule
from shared.edge import entry
from shared.platform import bootstrap
from shared.platform.settings import reload
from shared.presets import preset_data
from shared.services import orders, program, promo, registration
from shared.services.ledger import audit_account, balances, load_account, postings
from tests.catalog import seed_lines
from tests.conftest import SHOP_ORIGIN, TEST_ENV, customer_token, load_function
from tests.fakes.carriers import FakeCarriers, cdek_webhook
from tests.fakes.yookassa import FakeYooKassa, notification
from tests.functions.shop import SWEEP

UTC = timezone.utc
YOOKASSA_PEER = "185.71.76.5"  # inside YooKassa's 185.71.76.0/27
CDEK_URL = f"/cdek/{TEST_ENV['KOPILKA_CDEK_TOKEN']}"


# --- the shop's side of the conversation ---------------------------------------------------


class Shop:
    """The storefront's scripts, YooKassa, CDEK and Cloud Scheduler, each talking HTTP to a function."""

    def __init__(self, store, kassa: FakeYooKassa, cdek: FakeCarriers) -> None:
        self.store = store
        self.kassa = kassa
        self.cdek = cdek
        self.cart_quote = load_function("cart_quote")
        self.checkout_fn = load_function("checkout")
        self.order_paid = load_function("order_paid")
        self.delivery_status = load_function("delivery_status")
        self.expiry_sweep = load_function("expiry_sweep")
        self.issued: dict[str, str] = {}  # the storefront's order reference -> the order id checkout issued

    def id(self, reference: str) -> str:
        """The order id checkout issued for the storefront's ``reference`` (orders placed otherwise: as given)."""
        return self.issued.get(reference, reference)

    @staticmethod
    def _headers(customer: str | None) -> dict[str, str]:
        headers = {"Origin": SHOP_ORIGIN}
        if customer is not None:
            headers["Authorization"] = f"Bearer {customer_token(customer)}"  # issued on the travelled clock
        return headers

    def quote_response(self, when: datetime, lines: list[dict[str, Any]], customer: str | None = None, **body: Any):
        with time_machine.travel(when, tick=True):
            return self.cart_quote.post("/quote", json={"lines": lines, **body}, headers=self._headers(customer))

    def quote(self, when: datetime, lines: list[dict[str, Any]], customer: str | None = None, **body: Any) -> dict[str, Any]:
        response = self.quote_response(when, lines, customer, **body)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def checkout_response(self, when: datetime, customer: str, order_id: str, lines: list[dict[str, Any]], *, fingerprint: str, bonuses: int = 0, promo_code: str | None = None, **extra: Any):
        body: dict[str, Any] = {"order_id": order_id, "lines": lines, "bonuses": bonuses, "quote_fingerprint": fingerprint, **extra}
        if promo_code is not None:
            body["promo_code"] = promo_code
        with time_machine.travel(when, tick=True):
            response = self.checkout_fn.post("/checkout", json=body, headers=self._headers(customer))
        if response.status_code == 200:
            self.issued[order_id] = response.get_json()["order_id"]
        return response

    def checkout(self, when: datetime, customer: str, order_id: str, lines: list[dict[str, Any]], *, fingerprint: str, bonuses: int = 0, promo_code: str | None = None) -> dict[str, Any]:
        response = self.checkout_response(when, customer, order_id, lines, fingerprint=fingerprint, bonuses=bonuses, promo_code=promo_code)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def pay(self, when: datetime, order_id: str, amount: int, *, deliveries: int = 1) -> list[dict[str, Any]]:
        """The customer pays ``amount`` kopecks at YooKassa; YooKassa notifies ``deliveries`` times."""
        with time_machine.travel(when, tick=True):
            payment = self.kassa.create_payment(amount=amount, order_id=self.id(order_id))
            body = notification("payment.succeeded", self.kassa.succeed(payment["id"]))
            replies = [self.order_paid.post("/yookassa", json=body, headers={"X-Forwarded-For": YOOKASSA_PEER}) for _ in range(deliveries)]
        assert [r.status_code for r in replies] == [200] * deliveries, [r.get_data(as_text=True) for r in replies]
        return [r.get_json() for r in replies]

    def deliver(self, when: datetime, order_id: str) -> dict[str, Any]:
        """CDEK hands the parcel over at ``when`` and posts its webhook right away."""
        number = self.id(order_id)
        uuid = self.cdek.add_cdek_order(number=number, statuses=[("ACCEPTED", when - timedelta(days=2)), ("DELIVERED", when)])
        with time_machine.travel(when, tick=True):
            response = self.delivery_status.post(CDEK_URL, json=cdek_webhook(uuid, "DELIVERED", when, number=number))
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def sweep(self, when: datetime) -> dict[str, Any]:
        with time_machine.travel(when, tick=True):
            response = self.expiry_sweep.post("/run", json={}, headers=SWEEP)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()


@pytest.fixture
def shop(function_env, monkeypatch):
    kassa = FakeYooKassa(shop_id=TEST_ENV["YOOKASSA_SHOP_ID"], secret_key=TEST_ENV["YOOKASSA_SECRET_KEY"])
    cdek = FakeCarriers()
    for name, value in cdek.environment().items():
        monkeypatch.setenv(name, value)
    reload()
    bootstrap.set_transport("yookassa", kassa.transport)
    bootstrap.set_transport("carriers", cdek.transport)
    yield Shop(function_env, kassa, cdek)
    bootstrap.set_transport("yookassa", None)
    bootstrap.set_transport("carriers", None)


def use_program(store, name: str, effective_from: datetime) -> None:
    """Publish a seed preset (its ``program`` field is the program id) and point the functions at it."""
    program.publish(store, raw=preset_data(name), author="test", reason=f"seed story: {name}", effective_from=effective_from, now=effective_from - timedelta(seconds=1))
    os.environ["KOPILKA_PROGRAM"] = name  # function_env removes it again
    reload()


def register(store, customer_id: str, at: datetime, *, invited_by: str | None = None, group: str | None = None) -> registration.Registration:
    return registration.register_customer(store, config=entry.config(at), customer_id=customer_id, now=at, invited_by=invited_by, group=group)


def earlier_purchase(store, customer_id: str, order_id: str, lines: list[dict[str, Any]], *, paid_at: datetime, delivered_at: datetime | None = None) -> dict[str, Any]:
    """History before the story: an order placed, paid and (optionally) delivered through the services."""
    cfg = entry.config(paid_at)
    cart = [CartLine.model_validate(line) for line in lines]
    record, _ = orders.place_order(store, config=cfg, customer_id=customer_id, order_id=order_id, lines=cart, bonuses=0, now=paid_at)
    paid = orders.mark_paid(store, config=cfg, order_id=order_id, payment=orders.PaymentRef(provider="history", id=f"h-{order_id}", amount=record.money_to_pay), now=paid_at)
    if delivered_at is not None:
        paid = orders.mark_delivered(store, config=entry.config(delivered_at), order_id=order_id, delivered_at=delivered_at, now=delivered_at, carrier="cdek")
    return paid


def wallet(store, customer_id: str, at: datetime) -> dict[str, int]:
    b = balances(store, customer_id, at)
    return {"total": b.total, "available": b.available, "pending": b.pending, "reserved": b.reserved}


def codes(reasons: list[dict[str, Any]]) -> list[str]:
    return [reason["code"] for reason in reasons]


def kinds(store, customer_id: str) -> Counter:
    return Counter(p.kind for p in postings(store, customer_id, limit=1000))


def by_line(quote: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["id"]: line for line in quote["lines"]}


def assert_sound(store, *customers: str) -> None:
    for customer_id in customers:
        assert audit_account(store, customer_id) == [], customer_id


# --- 000 Biomiq: Anna and Maria ---------------------------------------------------------------

BIOMIQ_CART = [
    {"id": "serum", "name": "Сыворотка", "price": 190000, "quantity": 1},
    {"id": "cream", "name": "Крем", "price": 120000, "quantity": 1},
]  # 3 100 ₽


def test_anna_invited_by_maria(shop):
    store = shop.store
    t0 = datetime(2027, 1, 11, 9, tzinfo=UTC)
    # Maria is a customer with two friends who already paid for their first orders.
    register(store, "maria", t0 - timedelta(days=60))
    for n in (1, 2):
        register(store, f"friend{n}", t0 - timedelta(days=40), invited_by="maria")
        earlier_purchase(store, f"friend{n}", f"F{n}", [{"id": "soap", "price": 100000, "quantity": 1}], paid_at=t0 - timedelta(days=40))
    assert store.get("customers/maria")["paying_referees"] == 2

    # Anna follows Maria's link: the invited welcome bonus, usable at once.
    assert register(store, "anna", t0, invited_by="maria").welcome == 1000
    assert wallet(store, "anna", t0) == {"total": 1000, "available": 1000, "pending": 0, "reserved": 0}

    # Before logging in she sees what the cart earns now and at best.
    visitor = shop.quote(t0 + timedelta(minutes=1), BIOMIQ_CART)
    assert (visitor["anonymous"], visitor["money_to_pay"], visitor["points_to_earn"], visitor["potential_points"], visitor["potential_level"]) == (True, 310000, 155, 465, "level3")

    # Logged in: at most half of the order is payable with bonuses.
    greedy = shop.quote(t0 + timedelta(minutes=2), BIOMIQ_CART, "anna", bonuses=2000)
    assert (greedy["max_bonuses_by_rules"], greedy["available_bonuses"], greedy["max_bonuses"], greedy["bonuses_applied"]) == (1550, 1000, 1000, 1000)
    assert {"bonus_cap", "insufficient_bonuses"} <= set(codes(greedy["reasons"]))
    quote = shop.quote(t0 + timedelta(minutes=3), BIOMIQ_CART, "anna", bonuses=1000)
    assert (quote["anonymous"], quote["level"], quote["max_bonuses_by_rules"], quote["bonuses_applied"], quote["money_to_pay"], quote["points_to_earn"]) == (False, "level1", 1550, 1000, 210000, 105)
    assert quote["reasons"] == []

    # Checkout reserves the bonuses: they are no longer available for another tab.
    placed = shop.checkout(t0 + timedelta(minutes=4), "anna", "A1", BIOMIQ_CART, bonuses=1000, fingerprint=quote["cart_fingerprint"])
    assert (placed["status"], placed["bonuses_reserved"], placed["money_to_pay"], placed["points_to_earn"]) == ("awaiting_payment", 1000, 210000, 105)
    assert wallet(store, "anna", t0 + timedelta(minutes=5)) == {"total": 1000, "available": 0, "pending": 0, "reserved": 1000}

    # She pays 2 100 ₽ online; YooKassa notifies twice, it counts once.
    paid_at = t0 + timedelta(minutes=10)
    replies = shop.pay(paid_at, "A1", 210000, deliveries=2)
    assert replies == [{"result": "paid", "order_id": "anna:A1", "status": "paid", "ignored": None}] * 2
    order = orders.get_order(store, "anna:A1")
    assert (order.status, order.bonuses_spent, order.points_earned, order.money_paid) == ("paid", 1000, 105, 210000)
    assert [(e.type, e.referrer_notified) for e in order.events] == [("paid", "maria")]  # Maria hears of her new referee
    assert (kinds(store, "anna")["spend"], kinds(store, "anna")["accrue"]) == (1, 2)  # the welcome and this order
    assert wallet(store, "anna", paid_at + timedelta(minutes=1)) == {"total": 105, "available": 0, "pending": 105, "reserved": 0}
    assert store.get("customers/maria")["paying_referees"] == 3

    # CDEK delivers: Maria's 10 % of 2 100 ₽ and Anna's 5 % are held for 14 days.
    delivered_at = t0 + timedelta(days=3)
    assert shop.deliver(delivered_at, "A1") == {"outcome": "applied", "order_id": "anna:A1", "status": "delivered", "reason": None}
    assert orders.get_order(store, "anna:A1").events[-1].referral_reward == 210
    assert wallet(store, "maria", delivered_at + timedelta(minutes=1)) == {"total": 710, "available": 500, "pending": 210, "reserved": 0}
    assert wallet(store, "anna", delivered_at + timedelta(minutes=1)) == {"total": 105, "available": 0, "pending": 105, "reserved": 0}
    released = delivered_at + timedelta(days=14)
    assert (wallet(store, "maria", released - timedelta(seconds=1))["pending"], wallet(store, "anna", released - timedelta(seconds=1))["pending"]) == (210, 105)
    assert wallet(store, "maria", released) == {"total": 710, "available": 710, "pending": 0, "reserved": 0}
    assert wallet(store, "anna", released) == {"total": 105, "available": 105, "pending": 0, "reserved": 0}
    assert shop.quote(released + timedelta(hours=1), BIOMIQ_CART, "anna")["available_bonuses"] == 105

    # A year later the scheduler's sweep writes off whatever was not spent.
    year = delivered_at + timedelta(days=366)
    swept = shop.sweep(year)
    friends_left = 2 * (1000 + 50)  # their welcome bonuses and their own (never delivered) accruals
    assert (swept["accounts"], swept["expired"], swept["expiry_complete"]) == (4, 710 + 105 + friends_left, 1)
    for who in ("anna", "maria", "friend1", "friend2"):
        assert wallet(store, who, year) == {"total": 0, "available": 0, "pending": 0, "reserved": 0}, who
    assert shop.sweep(year + timedelta(minutes=5))["expired"] == 0
    assert_sound(store, "anna", "maria", "friend1", "friend2")


# --- 002 Велопробег: Dmitry's jacket ---------------------------------------------------------

JACKET = [{"id": "jacket", "name": "Куртка", "price": 1470000, "quantity": 1, "product_group": "apparel"}]  # 14 700 ₽
PUMP = [{"id": "pump", "name": "Насос", "price": 150000, "quantity": 1, "product_group": "accessories"}]  # 1 500 ₽


def test_dmitry_pays_500_bonuses_for_a_jacket(shop):
    store = shop.store
    h0 = datetime(2027, 2, 1, 10, tzinfo=UTC)
    use_program(store, "veloprobeg", h0 - timedelta(days=1))
    # His history: a bike and a helmet (62 223 ₽) made him a gold card holder and earned 500 at silver.
    register(store, "dmitry", h0)
    history = [
        {"id": "bike", "price": 6000000, "quantity": 1, "product_group": "bikes"},  # 60 000 × 1.5 % × 0.5 = 450
        {"id": "helmet", "price": 222300, "quantity": 1, "product_group": "accessories"},  # 2 223 × 1.5 % × 1.5 = 50.02
    ]
    seed_lines(store, [*history, *JACKET, *PUMP])  # the shop's catalog: the groups are its
    earlier_purchase(store, "dmitry", "V0", history, paid_at=h0, delivered_at=h0 + timedelta(days=2))
    assert load_account(store, "dmitry").level == "gold"

    # "Total" and "available now": a week after delivery the 500 are still held.
    week = h0 + timedelta(days=9)
    assert wallet(store, "dmitry", week) == {"total": 500, "available": 0, "pending": 500, "reserved": 0}
    held = shop.quote(week, JACKET, "dmitry", bonuses=500)
    assert (held["level"], held["available_bonuses"], held["bonuses_applied"], held["money_to_pay"]) == ("gold", 0, 0, 1470000)
    assert "insufficient_bonuses" in codes(held["reasons"])

    # 14 days after delivery they are available.
    t1 = h0 + timedelta(days=2 + 14, hours=1)
    assert wallet(store, "dmitry", t1) == {"total": 500, "available": 500, "pending": 0, "reserved": 0}

    # A visitor who is not logged in sees "up to 619" for the same jacket.
    visitor = shop.quote(t1, JACKET)
    assert (visitor["points_to_earn"], visitor["potential_points"], visitor["potential_level"]) == (189, 619, "vip")

    # Dmitry pays 500 of the 14 700 ₽ with bonuses: 14 200 ₽ to pay, 305 to earn at gold.
    quote = shop.quote(t1 + timedelta(minutes=1), JACKET, "dmitry", bonuses=500)
    assert (quote["level"], quote["level_name"], quote["available_bonuses"], quote["max_bonuses_by_rules"]) == ("gold", "Золотой", 500, 7350)
    assert (quote["bonuses_applied"], quote["money_to_pay"], quote["points_to_earn"]) == (500, 1420000, 305)
    placed = shop.checkout(t1 + timedelta(minutes=2), "dmitry", "V1", JACKET, bonuses=500, fingerprint=quote["cart_fingerprint"])
    assert (placed["bonuses_reserved"], placed["money_to_pay"], placed["points_to_earn"]) == (500, 1420000, 305)
    assert wallet(store, "dmitry", t1 + timedelta(minutes=3)) == {"total": 500, "available": 0, "pending": 0, "reserved": 500}

    # A second order right after: the bonuses are gone from the account.
    again = shop.quote(t1 + timedelta(minutes=4), PUMP, "dmitry", bonuses=500)
    assert (again["available_bonuses"], again["bonuses_applied"], again["money_to_pay"]) == (0, 0, 150000)
    second = shop.checkout(t1 + timedelta(minutes=5), "dmitry", "V2", PUMP, bonuses=500, fingerprint=again["cart_fingerprint"])
    assert (second["bonuses_reserved"], second["money_to_pay"]) == (0, 150000)

    # The jacket is paid: 305 accrued, held until delivery + 14 days.
    paid_at = t1 + timedelta(minutes=20)
    assert shop.pay(paid_at, "V1", 1420000)[0]["status"] == "paid"
    assert wallet(store, "dmitry", paid_at + timedelta(minutes=1)) == {"total": 305, "available": 0, "pending": 305, "reserved": 0}
    delivered_at = t1 + timedelta(days=3)
    assert shop.deliver(delivered_at, "V1")["status"] == "delivered"
    active = delivered_at + timedelta(days=14)
    assert wallet(store, "dmitry", active - timedelta(seconds=1))["pending"] == 305
    assert wallet(store, "dmitry", active) == {"total": 305, "available": 305, "pending": 0, "reserved": 0}
    partly = shop.quote(active + timedelta(hours=1), PUMP, "dmitry", bonuses=305)
    assert (partly["bonuses_applied"], partly["money_to_pay"]) == (305, 119500)

    # Each accrual lives one year from the accrual.
    before = shop.sweep(paid_at + timedelta(days=365) - timedelta(hours=1))
    assert (before["canceled"], before["expired"]) == (1, 0)  # V2 was never paid: the timeout canceled it
    assert orders.get_order(store, "dmitry:V2").status == "canceled"
    assert wallet(store, "dmitry", paid_at + timedelta(days=365) - timedelta(minutes=30))["available"] == 305
    after = shop.sweep(paid_at + timedelta(days=365, hours=1))
    assert (after["accounts"], after["expired"]) == (1, 305)
    assert wallet(store, "dmitry", paid_at + timedelta(days=365, hours=2))["total"] == 0
    assert_sound(store, "dmitry")


# --- 003 SPORTFERMA: six levels on a rolling year ------------------------------------------

GLOVES = [{"id": "gloves", "name": "Перчатки", "price": 200000, "quantity": 1}]  # 2 000 ₽, no brand coefficient
SKIS = [{"id": "skis", "name": "Лыжи", "price": 1600000, "quantity": 1, "brand": "fischer"}]  # 16 000 ₽ × 1.25


def test_sportferma_levels_follow_the_rolling_year(shop):
    store = shop.store
    s0 = datetime(2027, 1, 10, 18, tzinfo=UTC)  # 21:00 in Moscow, the same calendar day
    use_program(store, "sportferma", s0 - timedelta(days=1))
    seed_lines(store, [*GLOVES, *SKIS])  # the shop's catalog: the brand is its
    register(store, "oleg", s0 - timedelta(hours=1))

    start = shop.quote(s0, GLOVES, "oleg")
    assert (start["level"], start["points_to_earn"], start["max_bonuses_by_rules"]) == ("start", 40, 200)  # 2 %, 10 % payable

    # The paid skis cross 15 000 ₽: the next level applies at once, before delivery.
    quote = shop.quote(s0 + timedelta(minutes=1), SKIS, "oleg")
    assert quote["points_to_earn"] == 400  # 16 000 × 2 % × 1.25 (brand cashback)
    placed = shop.checkout(s0 + timedelta(minutes=2), "oleg", "S1", SKIS, fingerprint=quote["cart_fingerprint"])
    paid_at = s0 + timedelta(minutes=10)
    assert shop.pay(paid_at, "S1", placed["money_to_pay"])[0]["status"] == "paid"
    assert load_account(store, "oleg").level == "amateur"
    upgraded = shop.quote(paid_at + timedelta(minutes=1), GLOVES, "oleg")
    assert (upgraded["level"], upgraded["level_name"], upgraded["points_to_earn"], upgraded["max_bonuses_by_rules"]) == ("amateur", "Любитель", 60, 300)  # 3 %, 15 %

    # Once the 400 are available, 15 % of the next order is payable with them.
    delivered_at = s0 + timedelta(days=2)
    assert shop.deliver(delivered_at, "S1")["status"] == "delivered"
    spend = shop.quote(delivered_at + timedelta(days=14, hours=1), GLOVES, "oleg", bonuses=400)
    assert (spend["available_bonuses"], spend["bonuses_applied"], spend["money_to_pay"], spend["points_to_earn"]) == (400, 300, 170000, 51)
    assert "bonus_cap" in codes(spend["reasons"])

    # No purchases for a year: the day before the skis leave the window the level holds ...
    eve = datetime(2028, 1, 9, 12, tzinfo=UTC)
    kept = shop.sweep(eve)
    assert (kept["levels_reviewed"], kept["levels_changed"], kept["expired"]) == (1, 0, 0)
    assert load_account(store, "oleg").level == "amateur"
    # ... the next day's sweep moves Oleg down (his 400 bonuses expire only at 18:10 UTC).
    window_passed = datetime(2028, 1, 10, 12, tzinfo=UTC)
    assert window_passed < paid_at + timedelta(days=365)
    dropped = shop.sweep(window_passed)
    assert (dropped["levels_reviewed"], dropped["levels_changed"], dropped["expired"]) == (1, 1, 0)
    account = load_account(store, "oleg")
    assert (account.level, account.paid_by_day) == ("start", {})
    down = shop.quote(window_passed + timedelta(minutes=5), GLOVES, "oleg", bonuses=400)
    assert (down["level"], down["max_bonuses_by_rules"], down["bonuses_applied"], down["points_to_earn"]) == ("start", 200, 200, 36)
    assert_sound(store, "oleg")


# --- 001 Maxma shops ---------------------------------------------------------------------------

CREAM = {"id": "cream", "name": "Крем", "price": 200000, "quantity": 1}  # 2 000 ₽
TONER = {"id": "toner", "name": "Тонер", "price": 100000, "quantity": 1, "sale": True}  # in a sale
MASK = {"id": "mask", "name": "Маска", "price": 80000, "original_price": 100000, "quantity": 1}  # reduced from 1 000 ₽
CERTIFICATE = {"id": "certificate", "name": "Сертификат", "price": 300000, "quantity": 1, "gift_certificate": True}


@pytest.fixture
def cosmetics(shop):
    """Sofia of the Korean cosmetics shop, with 300 bonuses from an earlier 10 000 ₽ order and the
    200 first-order bonus; a 10 % promo code."""
    c0 = datetime(2027, 3, 1, 9, tzinfo=UTC)
    use_program(shop.store, "maxma_cosmetics", c0 - timedelta(days=40))
    seed_lines(shop.store, [CREAM, TONER, MASK, CERTIFICATE])  # the shop's catalog: the sale, the reduction, the certificate are its
    register(shop.store, "sofia", c0 - timedelta(days=30))
    earlier_purchase(shop.store, "sofia", "K0", [{"id": "set", "price": 1000000, "quantity": 1}], paid_at=c0 - timedelta(days=30), delivered_at=c0 - timedelta(days=28))
    promo.create_discount(shop.store, rule=PromoRule(code="GLOW10", kind="percent", percent=Decimal(10)), now=c0 - timedelta(days=1))
    assert wallet(shop.store, "sofia", c0)["available"] == 300 + 200
    return c0


def test_maxma_sale_and_reduced_items_neither_earn_nor_burn_and_get_no_promo_discount(shop, cosmetics):
    store, c0 = shop.store, cosmetics
    cart = [CREAM, TONER, MASK]
    quote = shop.quote(c0, cart, "sofia", bonuses=300, promo_code="glow10")
    assert (quote["promo_code"], quote["promo_applied"], quote["discount"]) == ("GLOW10", True, 20000)  # 10 % of the cream only
    lines = by_line(quote)
    assert {k: (v["discount"], v["burn_eligible"], v["earn_eligible"]) for k, v in lines.items()} == {
        "cream": (20000, True, True),
        "toner": (0, False, False),
        "mask": (0, False, False),
    }
    for reduced in ("toner", "mask"):
        assert codes(lines[reduced]["reasons"]) == ["sale_item_no_burn", "sale_item_no_earn"]
    assert (quote["eligible_for_bonuses"], quote["max_bonuses_by_rules"], quote["bonuses_applied"]) == (180000, 1800, 300)  # bonuses may pay it all
    assert (lines["cream"]["bonuses_applied"], lines["toner"]["bonuses_applied"], lines["mask"]["bonuses_applied"]) == (300, 0, 0)
    assert (quote["money_to_pay"], quote["points_to_earn"]) == (330000, 45)  # 3 % of the 1 500 ₽ paid for the cream

    placed = shop.checkout(c0 + timedelta(minutes=1), "sofia", "C1", cart, bonuses=300, promo_code="glow10", fingerprint=quote["cart_fingerprint"])
    assert (placed["promo_code"], placed["discount"], placed["bonuses_reserved"], placed["money_to_pay"], placed["points_to_earn"]) == ("GLOW10", 20000, 300, 330000, 45)
    assert promo.get(store, "GLOW10").uses == 1
    assert shop.pay(c0 + timedelta(minutes=5), "C1", 330000)[0]["status"] == "paid"
    book = store.get(line_book_path("sofia", shop.id("C1")))["lines"]
    assert {k: (v["paid"], v["spent"], v["earned"]) for k, v in book.items()} == {"cream": (150000, 300, 45), "toner": (100000, 0, 0), "mask": (80000, 0, 0)}
    delivered_at = c0 + timedelta(days=2)
    assert shop.deliver(delivered_at, "C1")["status"] == "delivered"
    # the 200 first-order bonus is untouched (the earliest-expiring earned bonuses paid first) and the 45 are now available
    assert wallet(store, "sofia", delivered_at + timedelta(days=14)) == {"total": 245, "available": 245, "pending": 0, "reserved": 0}
    assert_sound(store, "sofia")


def test_maxma_gift_certificates_and_bonuses_do_not_mix(shop, cosmetics):
    c0 = cosmetics
    with_bonuses = shop.quote(c0, [CREAM], "sofia", bonuses=300)
    assert (with_bonuses["bonuses_applied"], with_bonuses["money_to_pay"]) == (300, 170000)
    # paying with a gift certificate: no bonus payment on the same order (the cream still earns)
    by_certificate = shop.quote(c0, [CREAM], "sofia", bonuses=300, pays_with_gift_certificate=True)
    assert (by_certificate["max_bonuses_by_rules"], by_certificate["bonuses_applied"], by_certificate["money_to_pay"], by_certificate["points_to_earn"]) == (0, 0, 200000, 60)
    assert codes(by_certificate["reasons"]) == ["gift_certificate_payment"]
    assert by_certificate["cart_fingerprint"] != with_bonuses["cart_fingerprint"]
    # buying a gift certificate: it is neither paid with bonuses nor earns
    buying = by_line(shop.quote(c0, [CREAM, CERTIFICATE], "sofia", bonuses=300))
    assert (buying["certificate"]["burn_eligible"], buying["certificate"]["earn_eligible"], buying["certificate"]["points_to_earn"]) == (False, False, 0)
    assert codes(buying["certificate"]["reasons"]) == ["gift_certificate_no_bonuses", "gift_certificate_no_earn"]
    assert (buying["cream"]["bonuses_applied"], buying["cream"]["points_to_earn"]) == (300, 51)


def test_maxma_an_order_quoted_for_a_gift_certificate_payment_checks_out_without_bonuses(shop, cosmetics):
    c0 = cosmetics
    quote = shop.quote(c0, [CREAM], "sofia", bonuses=300, pays_with_gift_certificate=True)
    body = {"bonuses": 300, "fingerprint": quote["cart_fingerprint"]}
    assert quote["bonuses_applied"] == 0 and "gift_certificate_payment" in codes(quote["reasons"])
    flagged = shop.checkout_response(c0 + timedelta(minutes=1), "sofia", "G1", [CREAM], pays_with_gift_certificate=True, **body)
    assert flagged.status_code == 200, flagged.get_json()
    assert flagged.get_json()["bonuses_reserved"] == 0  # the rule holds on the order, not only in the quote
    assert wallet(shop.store, "sofia", c0 + timedelta(minutes=1))["reserved"] == 0
    # the same quote checked out without the certificate is another cart: recomputed, not accepted
    unflagged = shop.checkout_response(c0 + timedelta(minutes=1), "sofia", "G2", [CREAM], **body)
    assert unflagged.status_code == 409 and unflagged.get_json()["error"]["code"] == "stale_quote"


def test_maxma_first_paid_order_gets_the_first_order_bonus(shop):
    c0 = datetime(2027, 3, 1, 9, tzinfo=UTC)
    use_program(shop.store, "maxma_cosmetics", c0 - timedelta(days=1))
    register(shop.store, "lena", c0)
    quote = shop.quote(c0, [CREAM], "lena")
    placed = shop.checkout(c0 + timedelta(minutes=1), "lena", "L1", [CREAM], fingerprint=quote["cart_fingerprint"])
    assert shop.pay(c0 + timedelta(minutes=5), "L1", placed["money_to_pay"])[0]["status"] == "paid"
    assert wallet(shop.store, "lena", c0 + timedelta(minutes=6))["total"] == 200 + 60  # the first-order bonus and 3 % of 2 000 ₽


B2B_CART = [{"id": "serum-box", "name": "Сыворотки, коробка", "price": 3500000, "quantity": 1}]  # 35 000 ₽


def test_maxma_wholesale_customers_see_their_level_but_no_bonuses(shop):
    store = shop.store
    b0 = datetime(2027, 4, 5, 9, tzinfo=UTC)
    use_program(store, "maxma_b2b", b0 - timedelta(days=1))
    register(store, "vostok", b0, group="b2b")
    register(store, "irina", b0)  # retail, the default group

    retail = shop.quote(b0, B2B_CART, "irina")
    assert (retail["bonuses_excluded"], retail["level"], retail["points_to_earn"], retail["potential_points"], retail["max_bonuses_by_rules"]) == (False, "bronze", 1050, 2450, 17500)

    wholesale = shop.quote(b0, B2B_CART, "vostok", bonuses=500)
    assert (wholesale["bonuses_excluded"], wholesale["level"], wholesale["level_name"], wholesale["money_to_pay"]) == (True, "bronze", "Бронзовый", 3500000)
    figures = ("eligible_for_bonuses", "max_bonuses_by_rules", "available_bonuses", "max_bonuses", "bonuses_applied", "points_to_earn", "potential_points")
    assert {name: wholesale[name] for name in figures} == dict.fromkeys(figures, 0)
    assert wholesale["potential_level"] is None
    assert [(line["earn_eligible"], line["burn_eligible"], line["points_to_earn"]) for line in wholesale["lines"]] == [(False, False, 0)]
    assert codes(wholesale["reasons"]) == ["group_excluded"]
    assert shop.quote(b0, B2B_CART, "vostok")["reasons"] == []  # nothing to explain when no bonuses were asked for

    # The order is paid and delivered: the level label moves on, no bonus is ever accrued.
    placed = shop.checkout(b0 + timedelta(minutes=1), "vostok", "B1", B2B_CART, bonuses=500, fingerprint=wholesale["cart_fingerprint"])
    assert (placed["bonuses_reserved"], placed["money_to_pay"], placed["points_to_earn"]) == (0, 3500000, 0)
    assert shop.pay(b0 + timedelta(minutes=5), "B1", 3500000)[0]["status"] == "paid"
    assert shop.deliver(b0 + timedelta(days=2), "B1")["status"] == "delivered"
    after = shop.quote(b0 + timedelta(days=20), B2B_CART, "vostok")
    assert (after["bonuses_excluded"], after["level"], after["level_name"], after["points_to_earn"], after["available_bonuses"]) == (True, "silver", "Серебряный", 0, 0)
    assert wallet(store, "vostok", b0 + timedelta(days=20)) == {"total": 0, "available": 0, "pending": 0, "reserved": 0}
    assert kinds(store, "vostok")["accrue"] == 0
    assert_sound(store, "vostok", "irina")
