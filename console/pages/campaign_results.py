"""Campaigns: the program's campaigns with their status and window, and one campaign's results against
the average of periods of its length before it."""

from __future__ import annotations

from console.app import Page, Reply, page
from shared.edge import entry
from shared.services.admin import campaign_results

STATUS_RU = {"upcoming": ("Скоро", "warn"), "running": ("Идёт", "ok"), "ended": ("Завершена", "")}


def period_ru(seconds: int) -> str:
    """A period's length as the page states it: ``3 дн. 1 ч``, ``5 ч 30 мин``, ``12 мин`` (whole minutes)."""
    minutes = seconds // 60
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    parts = [f"{days} дн." if days else "", f"{hours} ч" if hours else "", f"{minutes} мин" if minutes and not days else ""]
    return " ".join(p for p in parts if p) or "меньше минуты"


def per_period(total: int, periods: int) -> str:
    """An average per period to one decimal, with the Russian decimal comma (orders: ``1,3``)."""
    return f"{total / periods:.1f}".replace(".", ",") if periods else "0"


@page("GET", "/campaigns")
def campaign_list(p: Page) -> Reply:
    p.require("campaign.read")
    campaigns = [campaign_results.summary(c, p.now) for c in entry.config(p.now).campaigns]
    return p.render("campaigns_list.html", campaigns=campaigns, statuses=STATUS_RU)


@page("GET", "/campaigns/{code}")
def campaign_view(p: Page) -> Reply:
    p.require("campaign.read")
    result = campaign_results.results(entry.store(), p.admin, config=entry.config(p.now), code=p.ctx.params["code"], now=p.now)
    return p.render("campaigns_results.html", r=result, statuses=STATUS_RU, period=period_ru(result.period_seconds), per_period=per_period)
