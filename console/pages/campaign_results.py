"""Campaigns: the program's campaigns with their status and window, and one campaign's results against
the weeks before it."""

from __future__ import annotations

from console.app import Page, Reply, page
from shared.edge import entry
from shared.services.admin import campaign_results

STATUS_RU = {"upcoming": ("Скоро", "warn"), "running": ("Идёт", "ok"), "ended": ("Завершена", "")}


@page("GET", "/campaigns")
def campaign_list(p: Page) -> Reply:
    p.require("campaign.read")
    campaigns = [campaign_results.summary(c, p.now) for c in entry.config(p.now).campaigns]
    return p.render("campaigns_list.html", campaigns=campaigns, statuses=STATUS_RU)


@page("GET", "/campaigns/{code}")
def campaign_view(p: Page) -> Reply:
    p.require("campaign.read")
    result = campaign_results.results(entry.store(), p.admin, config=entry.config(p.now), code=p.ctx.params["code"], now=p.now)
    return p.render("campaigns_results.html", r=result, statuses=STATUS_RU)
