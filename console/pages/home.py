"""The overview: the dashboards the signed-in roles open (charts rendered on the server as SVG,
each with a table of its figures), then a card for every section."""

from __future__ import annotations

from datetime import date
from typing import Any

from console import charts
from console.app import SECTIONS, Page, Reply, bonuses, page
from shared.edge import entry
from shared.services.admin import dashboards

MONTHS = ("янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек")


def month_label(month: str) -> str:
    year, number = month.split("-")
    return f"{MONTHS[int(number) - 1]} {year}"


def day_label(day: date) -> str:
    return day.strftime("%d.%m")


def _charts(p: Page) -> dict[str, Any]:
    if not (p.can("report.liability") or p.can("payout.read")):
        return {"board": None, "charts": {}, "partner_rows": []}
    board = dashboards.dashboard(entry.store(), p.admin, now=p.now)
    found: dict[str, Any] = {}
    if board.liability is not None:
        days = [day_label(point.day) for point in board.liability]
        found["liability"] = charts.lines(
            "ch-liability", "Бонусные обязательства по дням", "Остаток бонусов у покупателей (всего и в холде) по дням снимков; цифры — в таблице ниже.",
            days, [charts.Series("Всего", "chart__s1", [x.outstanding for x in board.liability]), charts.Series("В холде", "chart__s2", [x.pending for x in board.liability])], bonuses,
        )
    if board.expiring is not None:
        found["expiring"] = charts.bars(
            "ch-expiring", "Сгорание бонусов по месяцам", "Сколько бонусов сгорит в каждом месяце, если их не потратят; цифры — в таблице ниже.",
            [month_label(m.month) for m in board.expiring], [charts.Series("Сгорит", "chart__s3", [m.amount for m in board.expiring])], bonuses,
        )
    if board.activity is not None:
        weeks = [day_label(w.week) for w in board.activity]
        found["activity"] = charts.bars(
            "ch-activity", "Начислено и списано бонусов по неделям", "Бонусы, начисленные и потраченные заказами каждой недели; цифры — в таблице ниже.",
            weeks, [charts.Series("Начислено", "chart__s1", [w.earned for w in board.activity]), charts.Series("Списано", "chart__s4", [w.spent for w in board.activity])], bonuses,
        )
        found["orders"] = charts.bars(
            "ch-orders", "Заказы с бонусами по неделям", "Заказы каждой недели: все и оплаченные частично бонусами; цифры — в таблице ниже.",
            weeks, [charts.Series("Все заказы", "chart__s2", [w.orders for w in board.activity]), charts.Series("С бонусами", "chart__s1", [w.orders_with_bonuses for w in board.activity])],
        )
    partners = board.partners
    rows = [(short, title, value) for short, title, value in (
        ("Награды в холде", "Награды партнёров в холде", partners.rewards_pending),
        ("Награды доступны", "Награды партнёров, доступные сейчас", partners.rewards_available),
        ("Ждут решения", "Заявки на выплату ждут решения", partners.payouts_requested_amount),
        ("Одобрено", "Одобрено к выплате, ещё не выплачено", partners.payouts_approved_amount),
    ) if value is not None]
    found["partners"] = charts.bars(
        "ch-partners", "Награды партнёров и выплаты", "Бонусы партнёров в холде и доступные, суммы заявок на выплату; цифры — в таблице ниже.",
        [short for short, _, _ in rows], [charts.Series("Бонусы", "chart__s2", [v or 0 for _, _, v in rows])], bonuses,
    )
    return {"board": board, "charts": found, "partner_rows": rows}


@page("GET", "/")
def home(p: Page) -> Reply:
    sections = [(path, title) for path, title, action in SECTIONS[1:] if p.can(action)]
    return p.render("home.html", sections=sections, month_label=month_label, **_charts(p))
