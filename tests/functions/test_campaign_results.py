"""A campaign's results over HTTP on the emulator: orders placed and paid before, inside and after a
campaign's window, the report as of a moment inside it and after it, figure by figure.

Biomiq (5 %, a welcome of 500 bonuses available at once) runs "double points" for ten days: a
3 100 ₽ cart earns 310 instead of 155, and 260 instead of 130 when 500 bonuses pay part of it.
The baseline is the periods of the window's length just before it that cover four weeks, each
figure "before" their average per period.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import time_machine

from tests.functions.test_admin import call, client, env, ok, staff  # noqa: F401
from tests.functions.test_campaigns import publish
from tests.functions.test_seed_stories_http import BIOMIQ_CART, register, shop  # noqa: F401

UTC = timezone.utc
C0 = datetime(2027, 4, 5, 9, tzinfo=UTC)  # the campaign starts
CAMPAIGN = {"code": "spring_x2", "name": "Весенние двойные баллы", "active_from": C0.isoformat(), "active_to": (C0 + timedelta(days=10)).isoformat(), "multiplier_percent": 200}


def buy(shop, when: datetime, customer: str, ref: str, *, bonuses: int = 0, paid: bool = True) -> dict:  # noqa: F811
    quote = shop.quote(when, BIOMIQ_CART, customer, bonuses=bonuses)
    placed = shop.checkout(when + timedelta(minutes=1), customer, ref, BIOMIQ_CART, bonuses=bonuses, fingerprint=quote["cart_fingerprint"])
    if paid:
        shop.pay(when + timedelta(minutes=10), ref, placed["money_to_pay"])
    return placed


def report(client, staff, who: str, at: datetime, code: str = "spring_x2"):  # noqa: F811
    with time_machine.travel(at, tick=False):
        return call(client, "GET", f"/campaigns/{code}/results", token=staff[who])


def test_the_results_of_a_campaign_against_periods_of_its_length_before(shop, client, staff):  # noqa: F811
    store = shop.store
    publish(store, "biomiq", [CAMPAIGN], C0 - timedelta(days=45))
    for name in ("anna", "boris", "vera"):
        register(store, name, C0 - timedelta(days=40))

    assert buy(shop, C0 - timedelta(days=35), "boris", "B0")["points_to_earn"] == 155  # before every baseline: not counted
    before = buy(shop, C0 - timedelta(days=10), "anna", "B1", bonuses=500)  # in the baselines: 1 order
    assert (before["money_to_pay"], before["points_to_earn"]) == (260000, 130)
    inside = buy(shop, C0 + timedelta(days=1), "boris", "W1")
    assert (inside["money_to_pay"], inside["points_to_earn"]) == (310000, 310)
    spending = buy(shop, C0 + timedelta(days=2), "vera", "W2", bonuses=500)
    assert (spending["money_to_pay"], spending["points_to_earn"]) == (260000, 260)
    buy(shop, C0 + timedelta(days=3), "anna", "W3", paid=False)  # placed, never paid: not counted

    # three days and an hour in: ten periods of 73 hours (730 hours) before it, averaged
    running = ok(report(client, staff, "marketer", C0 + timedelta(days=3, hours=1)))
    campaign = running["campaign"]
    assert (campaign["code"], campaign["name"], campaign["multiplier_percent"], float(campaign["bonus_percent"]), campaign["status"]) == ("spring_x2", "Весенние двойные баллы", 200, 0.0, "running")
    assert (running["period_seconds"], running["periods"]) == (73 * 3600, 10)
    assert running["baseline"]["starts"].startswith("2027-03-05T23:00:00")  # 730 hours before the start
    assert running["campaign_earned"] == 570 and running["complete"] is True
    assert (running["orders"], running["revenue"], running["spent"], running["earned"]) == (
        {"current": 2, "before": 0, "before_total": 1, "change_percent": 1900.0},  # (2 × 10 − 1) × 100 / 1
        {"current": 570000, "before": 26000, "before_total": 260000, "change_percent": 2092.3},  # (5 700 000 − 260 000) × 100 / 260 000
        {"current": 500, "before": 50, "before_total": 500, "change_percent": 900.0},
        {"current": 570, "before": 13, "before_total": 130, "change_percent": 4284.6},  # (5 700 − 130) × 100 / 130
    )

    buy(shop, C0 + timedelta(days=11), "vera", "A1")  # after the campaign: outside its window
    ended = ok(report(client, staff, "accountant", C0 + timedelta(days=12)))
    assert ended["campaign"]["status"] == "ended" and (ended["period_seconds"], ended["periods"]) == (10 * 86400, 3)  # three 10-day periods
    assert ended["window"]["starts"].startswith("2027-04-05T09:00:00") and ended["window"]["ends"].startswith("2027-04-15T09:00:00")
    assert ended["baseline"]["starts"].startswith("2027-03-06T09:00:00") and ended["baseline"]["ends"].startswith("2027-04-05T09:00:00")
    assert ended["campaign_earned"] == 570
    assert (ended["orders"], ended["revenue"], ended["spent"], ended["earned"]) == (
        {"current": 2, "before": 0, "before_total": 1, "change_percent": 500.0},  # a third of an order a period: (2 × 3 − 1) × 100 / 1
        {"current": 570000, "before": 86667, "before_total": 260000, "change_percent": 557.7},  # (1 710 000 − 260 000) × 100 / 260 000
        {"current": 500, "before": 167, "before_total": 500, "change_percent": 200.0},
        {"current": 570, "before": 43, "before_total": 130, "change_percent": 1215.4},  # (1 710 − 130) × 100 / 130
    )

    missing = report(client, staff, "marketer2", C0 + timedelta(days=12), code="no_such")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert report(client, staff, "manager", C0 + timedelta(days=12)).status_code == 403
