"""Campaigns over HTTP on the emulator: the quote shows the campaign, checkout agrees its points,
payment earns exactly them (a campaign that ends in between changes nothing).

* 001 Maxma shops: double points on the birthday (Biomiq's 5 %: a 3 100 ₽ cart earns 310, not 155).
* 003 SPORTFERMA: raised cashback on Fischer for a period (+2 points of percent, then the
  brand's ×1.25: 16 000 ₽ skis earn 800, not 400).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.adapters.layout import line_book as line_book_path
from shared.api.account import ProfileUpdate
from shared.platform.settings import reload
from shared.presets import preset_data
from shared.services import account, orders, program
from tests.catalog import seed_lines
from tests.functions.test_seed_stories_http import BIOMIQ_CART, SKIS, assert_sound, by_line, register, shop  # noqa: F401

UTC = timezone.utc


def publish(store, name: str, campaigns: list[dict[str, Any]], effective_from: datetime) -> None:
    program.publish(store, raw={**preset_data(name), "campaigns": campaigns}, author="test", reason="campaign", effective_from=effective_from, now=effective_from - timedelta(seconds=1))
    os.environ["KOPILKA_PROGRAM"] = name  # function_env removes it again
    reload()


def test_double_points_on_the_birthday(shop):  # noqa: F811
    store = shop.store
    t0 = datetime(2027, 3, 10, 9, tzinfo=UTC)
    ends = t0 + timedelta(hours=1)  # the campaign ends between checkout and payment
    publish(store, "biomiq", [{"code": "birthday_x2", "name": "Двойные баллы в день рождения", "active_from": (t0 - timedelta(days=10)).isoformat(),
                               "active_to": ends.isoformat(), "multiplier_percent": 200, "audience": {"birthday_days_before": 0, "birthday_days_after": 2}}], t0 - timedelta(days=30))
    register(store, "anna", t0 - timedelta(days=20))
    register(store, "boris", t0 - timedelta(days=20))
    account.update_profile(store, customer_id="anna", update=ProfileUpdate(birthday="1990-03-09"), now=t0 - timedelta(days=5))
    account.update_profile(store, customer_id="boris", update=ProfileUpdate(birthday="1990-06-01"), now=t0 - timedelta(days=5))

    visitor = shop.quote(t0, BIOMIQ_CART)
    assert visitor["points_to_earn"] == 155 and all(line["campaign"] is None for line in visitor["lines"])
    other = shop.quote(t0, BIOMIQ_CART, "boris")
    assert other["points_to_earn"] == 155
    quote = shop.quote(t0, BIOMIQ_CART, "anna")  # the day after her birthday: within the window
    assert quote["points_to_earn"] == 310
    assert {line["id"]: (line["points_to_earn"], line["campaign"]) for line in quote["lines"]} == {
        "serum": (190, {"code": "birthday_x2", "name": "Двойные баллы в день рождения"}),
        "cream": (120, {"code": "birthday_x2", "name": "Двойные баллы в день рождения"}),
    }

    placed = shop.checkout(t0 + timedelta(minutes=5), "anna", "A1", BIOMIQ_CART, fingerprint=quote["cart_fingerprint"])
    assert (placed["money_to_pay"], placed["points_to_earn"]) == (310000, 310)
    assert shop.quote(ends, BIOMIQ_CART, "anna")["points_to_earn"] == 155  # the campaign is over ...
    shop.pay(ends + timedelta(hours=1), "A1", 310000)
    order = orders.get_order(store, "anna:A1")
    assert (order.status, order.points_earned, order.money_paid) == ("paid", 310, 310000)  # ... the order keeps what checkout promised
    book = store.get(line_book_path("anna", "anna:A1"))["lines"]
    assert {line_id: (line["earned"], line["campaign"]) for line_id, line in book.items()} == {"serum": (190, "birthday_x2"), "cream": (120, "birthday_x2")}
    assert_sound(store, "anna")


def test_raised_cashback_on_a_brand_for_a_period(shop):  # noqa: F811
    store = shop.store
    s0 = datetime(2027, 2, 1, 9, tzinfo=UTC)
    publish(store, "sportferma", [{"code": "fischer_week", "name": "Повышенный кешбэк на Fischer", "active_from": s0.isoformat(),
                                   "active_to": (s0 + timedelta(days=7)).isoformat(), "bonus_percent": "2", "brands": ["fischer"]}], s0 - timedelta(days=1))
    seed_lines(store, SKIS)
    register(store, "oleg", s0 - timedelta(hours=1))

    before = shop.quote(s0 - timedelta(minutes=1), SKIS, "oleg")
    assert before["points_to_earn"] == 400 and before["lines"][0]["campaign"] is None  # 16 000 × 2 % × 1.25
    quote = shop.quote(s0 + timedelta(minutes=1), SKIS, "oleg")
    assert quote["points_to_earn"] == 800  # 16 000 × (2 + 2) % × 1.25
    assert by_line(quote)["skis"]["campaign"] == {"code": "fischer_week", "name": "Повышенный кешбэк на Fischer"}
    placed = shop.checkout(s0 + timedelta(minutes=2), "oleg", "S1", SKIS, fingerprint=quote["cart_fingerprint"])
    assert placed["points_to_earn"] == 800
    shop.pay(s0 + timedelta(minutes=10), "S1", placed["money_to_pay"])
    order = orders.get_order(store, shop.id("S1"))
    assert (order.status, order.points_earned) == ("paid", 800)
    assert store.get(line_book_path("oleg", shop.id("S1")))["lines"]["skis"]["campaign"] == "fischer_week"
    assert shop.quote(s0 + timedelta(days=7), SKIS, "oleg")["points_to_earn"] == 600  # the week is over: 3 % (the paid skis raised his level) × 1.25
    assert_sound(store, "oleg")
