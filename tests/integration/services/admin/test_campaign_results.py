"""A campaign's results against a baseline of its own length, on both stores, time passed in as ``now``.

Biomiq's first level earns 5 %: one serum (1 900 ₽) earns 95, and 190 on a double-points campaign.
The window is the campaign's elapsed part; the baseline is the periods of that length just before it
that cover four weeks, each figure "before" their average per period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.campaigns import Campaign
from shared.domain.cart import CartLine
from shared.edge.admin_auth import Admin
from shared.services import orders, registration
from shared.services.admin import campaign_results

MARKETER = Admin("marketer@shop.example", ("marketer",))
C0 = datetime(2027, 4, 5, 9, tzinfo=UTC)  # the campaign starts
SERUM = 190000


def with_campaign(config, code: str, days: int):
    campaign = Campaign(code=code, name="Двойные баллы", active_from=C0, active_to=C0 + timedelta(days=days), multiplier_percent=200)
    return config.model_copy(update={"campaigns": (campaign,)})


def buy(store, config, customer: str, order_id: str, at: datetime, serums: int = 1) -> int:
    """A paid order of ``serums`` serums placed and paid at ``at``; the points it earned."""
    placed, _ = orders.place_order(store, config=config, customer_id=customer, order_id=order_id, lines=[CartLine(id="serum", price=SERUM, quantity=serums)], bonuses=0, now=at)
    paid = orders.mark_paid(store, config=config, order_id=order_id, payment=orders.PaymentRef(provider="test", id=f"p-{order_id}", amount=placed.money_to_pay), now=at)
    return paid.points_earned or 0


def figures(report) -> dict[str, tuple[int, int, int, float | None]]:
    return {name: (m.current, m.before, m.before_total, m.change_percent) for name, m in
            (("orders", report.orders), ("revenue", report.revenue), ("spent", report.spent), ("earned", report.earned))}


def customers(store, config) -> None:
    for name in ("anna", "boris", "vera"):
        registration.register_customer(store, config=config, customer_id=name, now=C0 - timedelta(days=60))


def test_a_three_day_campaign_is_compared_with_the_average_three_days_of_the_month_before(store, biomiq):
    config = with_campaign(biomiq, "flash3", days=3)
    customers(store, config)
    assert buy(store, config, "anna", "X0", C0 - timedelta(days=31)) == 95  # before the baseline's ten periods
    for order_id, days_before in (("B1", 29), ("B2", 16), ("B3", 2)):  # in the 30 days before: 3 orders, 5 700 ₽, 285 points
        assert buy(store, config, "boris", order_id, C0 - timedelta(days=days_before)) == 95
    assert buy(store, config, "vera", "W1", C0 + timedelta(hours=1)) == 190
    assert buy(store, config, "anna", "W2", C0 + timedelta(days=1), serums=2) == 380
    assert buy(store, config, "boris", "W3", C0 + timedelta(days=2, hours=23)) == 190  # 4 serums, 7 600 ₽, 760 points in the window
    buy(store, config, "vera", "A1", C0 + timedelta(days=3))  # the campaign's end is exclusive: after it

    report = campaign_results.results(store, MARKETER, config=config, code="flash3", now=C0 + timedelta(days=5))
    assert report.campaign.status == "ended"
    assert (report.window.starts, report.window.ends) == (C0, C0 + timedelta(days=3))
    assert report.period_seconds == 3 * 86400 and report.periods == 10  # ten 3-day periods cover four weeks
    assert (report.baseline.starts, report.baseline.ends) == (C0 - timedelta(days=30), C0)
    assert report.campaign_earned == 760 and report.complete is True
    assert figures(report) == {
        "orders": (3, 0, 3, 900.0),  # 0.3 a period, shown rounded; the change is against 0.3: (30 − 3) × 100 / 3
        "revenue": (760000, 57000, 570000, 1233.3),  # (7 600 000 − 570 000) × 100 / 570 000
        "spent": (0, 0, 0, None),
        "earned": (760, 29, 285, 2566.7),  # 28.5 rounds half up; (7 600 − 285) × 100 / 285
    }


def test_a_running_campaign_is_compared_over_its_elapsed_part(store, biomiq):
    config = with_campaign(biomiq, "long10", days=10)
    customers(store, config)
    buy(store, config, "anna", "X0", C0 - timedelta(days=31))  # outside every baseline below
    buy(store, config, "boris", "B1", C0 - timedelta(days=29))
    buy(store, config, "anna", "B2", C0 - timedelta(days=1), serums=2)  # before: 2 orders, 5 700 ₽, 285 points
    buy(store, config, "vera", "W1", C0 + timedelta(days=1))
    buy(store, config, "boris", "W2", C0 + timedelta(days=2))
    buy(store, config, "anna", "W3", C0 + timedelta(days=2, hours=13))  # after the first report's moment

    running = campaign_results.results(store, MARKETER, config=config, code="long10", now=C0 + timedelta(days=2, hours=12))
    assert running.campaign.status == "running"
    assert running.window.ends == C0 + timedelta(days=2, hours=12)
    assert running.period_seconds == 60 * 3600 and running.periods == 12  # 672 h / 60 h = 11.2: twelve periods
    assert running.baseline.starts == C0 - timedelta(hours=720)
    assert running.campaign_earned == 380
    assert figures(running) == {
        "orders": (2, 0, 2, 1100.0),  # (2 × 12 − 2) × 100 / 2
        "revenue": (380000, 47500, 570000, 700.0),  # 570 000 / 12; (4 560 000 − 570 000) × 100 / 570 000
        "spent": (0, 0, 0, None),
        "earned": (380, 24, 285, 1500.0),  # 23.75 rounds to 24; (4 560 − 285) × 100 / 285
    }

    later = campaign_results.results(store, MARKETER, config=config, code="long10", now=C0 + timedelta(days=5))
    assert later.period_seconds == 5 * 86400 and later.periods == 6 and later.baseline.starts == C0 - timedelta(days=30)
    assert figures(later)["orders"] == (3, 0, 2, 800.0)  # 2 / 6 a period; (3 × 6 − 2) × 100 / 2
    assert figures(later)["revenue"] == (570000, 95000, 570000, 500.0)

    upcoming = campaign_results.results(store, MARKETER, config=config, code="long10", now=C0 - timedelta(hours=1))
    assert (upcoming.period_seconds, upcoming.periods, upcoming.baseline.starts) == (0, 0, C0)
    assert figures(upcoming)["orders"] == (0, 0, 0, None)
